r"""The terms the report uses, defined once for a reader who knows calculus but not this code:
each entry a symbol or word (LaTeX) and its definition (:class:`~bptt_check.evidence.Text`).
Every renderer (the PDF's glossary, a web page) reads this table.

>>> [term for term, _ in GLOSSARY][:3]
['$\\sigma$, $\\delta$', '$\\gamma$', '$S_t$, $X_t$, $O_t$, $y_t$']
"""

from __future__ import annotations

from .evidence import Text

__all__ = ["FINDING_NAMES", "GLOSSARY"]


def _same(text: str) -> Text:
    return Text(text, text)


#: (term as LaTeX, its definition), in the order a reader meets them.
GLOSSARY: tuple[tuple[str, Text], ...] = (
    (
        r"$\sigma$, $\delta$",
        Text(
            "the sigmoid σ(x) = 1/(1 + e^(−x)); the article writes δ for it in (1)-(2)",
            r"the sigmoid $\sigma(x) = 1/(1 + e^{-x})$; the article writes $\delta$ for it in "
            r"(1)--(2)",
        ),
    ),
    (
        r"$\gamma$",
        Text(
            "γ = sup σ' = 1/4, the largest slope of σ (at x = 0)",
            r"$\gamma = \sup \sigma' = 1/4$, the largest slope of $\sigma$ (at $x = 0$)",
        ),
    ),
    (
        r"$S_t$, $X_t$, $O_t$, $y_t$",
        Text(
            "the RNN's state, input, output and target at time step t = 1, …, T; W, U, V its "
            "weights; n the size of the state, T the length of the sequence",
            r"the RNN's state, input, output and target at time step $t = 1, \dots, T$; $W$, "
            r"$U$, $V$ its weights; $n$ the size of the state, $T$ the length of the sequence",
        ),
    ),
    (
        "step Jacobian, $P_T$",
        Text(
            "J_t = ∂S_t/∂S_(t−1) for the RNN, ∂(C_t, h_t)/∂(C_(t−1), h_(t−1)) for the LSTM; "
            "P_T = J_T ⋯ J_1 their product, the factor by which the gradient at step T reaches "
            "step 0",
            r"$J_t = \partial S_t/\partial S_{t-1}$ for the RNN, $\partial (C_t, h_t)/\partial "
            r"(C_{t-1}, h_{t-1})$ for the LSTM; $P_T = J_T \cdots J_1$ their product, the factor "
            r"by which the gradient at step $T$ reaches step 0",
        ),
    ),
    (
        r"$\partial^+$",
        Text(
            "the immediate partial derivative: ∂⁺S_k/∂W holds S_(k−1) fixed",
            r"the immediate partial derivative: $\partial^+ S_k/\partial W$ holds $S_{k-1}$ "
            r"fixed",
        ),
    ),
    (
        "BPTT",
        _same(
            "backpropagation through time: the chain rule applied to the network unrolled over "
            "its time steps"
        ),
    ),
    (
        r"$f_t$, $z_f$",
        Text(
            "the LSTM's forget gate f_t = σ(z_f), with the pre-activation "
            "z_f = W_f [h_(t−1); x_t] + b_f",
            r"the LSTM's forget gate $f_t = \sigma(z_f)$, with the pre-activation "
            r"$z_f = W_f [h_{t-1}; x_t] + b_f$",
        ),
    ),
    (
        r"$W_g^{(h)}$",
        Text(
            "the block of gate g's weights W_g (g one of i, f, c, o) that multiplies h_(t−1); "
            "W_g^(x) multiplies x_t",
            r"the block of gate $g$'s weights $W_g$ ($g$ one of $i, f, c, o$) that multiplies "
            r"$h_{t-1}$; $W_g^{(x)}$ multiplies $x_t$",
        ),
    ),
    (
        r"$\rho$",
        Text(
            "the share of the gradient the cell path must keep over T steps: ∏ f_t ≥ ρ",
            r"the share of the gradient the cell path must keep over $T$ steps: "
            r"$\prod_t f_t \ge \rho$",
        ),
    ),
    (
        r"$\lambda_{\max}$",
        Text(
            "the top Lyapunov exponent: the growth rate of ‖P_T‖₂ per step, "
            "λ_max = lim (1/T) ln ‖P_T‖₂, in nats per step (e^λ_max is the average factor per "
            "step; above 0 the gradient grows exponentially, below 0 it shrinks)",
            r"the top Lyapunov exponent: the growth rate of $\|P_T\|_2$ per step, "
            r"$\lambda_{\max} = \lim_{T\to\infty} \frac{1}{T} \ln \|P_T\|_2$, in nats per step "
            r"($e^{\lambda_{\max}}$ is the average factor per step; above 0 the gradient grows "
            r"exponentially, below 0 it shrinks)",
        ),
    ),
    (
        "explodes, vanishes",
        Text(
            "the 2-standard-error rule: over independent runs, a model explodes when the mean "
            "λ_max minus two standard errors is above 10⁻³ nats per step, vanishes when the "
            "mean plus two standard errors is below −10⁻³, is preserved when both lie within "
            "±10⁻³; otherwise the runs cannot tell (undetermined)",
            r"the 2-standard-error rule: over independent runs, a model explodes when the mean "
            r"$\lambda_{\max}$ minus two standard errors is above $10^{-3}$ nats per step, "
            r"vanishes when the mean plus two standard errors is below $-10^{-3}$, is preserved "
            r"when both lie within $\pm 10^{-3}$; otherwise the runs cannot tell (undetermined)",
        ),
    ),
    (
        r"$\kappa$",
        Text(
            "a certificate's bound on one step's growth in the ∞-norm, computed exactly from "
            "the largest slopes of the gates and the recurrent weights W_g^(h); κ ≤ 1 proves "
            "‖P_T‖_∞ ≤ 1 for every T (no explosion)",
            r"a certificate's bound on one step's growth in the $\infty$-norm, computed exactly "
            r"from the largest slopes of the gates and the recurrent weights $W_g^{(h)}$; "
            r"$\kappa \le 1$ proves $\|P_T\|_\infty \le 1$ for every $T$ (no explosion)",
        ),
    ),
    (
        "holds, holds-if, fails",
        _same(
            "the verdict on a statement: right as written, right only under a condition the "
            "article does not state, or wrong; each verdict also says what kind of finding it "
            "is (a definition, a missing condition, a wrong formula, a wording slip, …)"
        ),
    ),
    (
        "mpmath, 30 digits",
        _same(
            "every counterexample is recomputed with the arbitrary-precision library mpmath at "
            "30 significant digits, by code written independently of the code that found it"
        ),
    ),
)


#: Each kind of finding (:data:`bptt_check.evidence.FINDINGS`) as a noun, singular and plural,
#: for the counts of a summary ("2 wrong derivations").
FINDING_NAMES: dict[str, tuple[str, str]] = {
    "definition": ("definition", "definitions"),
    "sound": ("sound statement", "sound statements"),
    "missing-condition": ("missing condition", "missing conditions"),
    "wrong-formula": ("wrong formula", "wrong formulas"),
    "wrong-derivation": ("wrong derivation", "wrong derivations"),
    "invalid-inference": ("invalid inference", "invalid inferences"),
    "wording": ("wording slip", "wording slips"),
}
