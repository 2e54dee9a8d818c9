r""" "经过多次连乘(训练)" — "after many multiplications (training)" (after eq. (14)): the article
equates the product over time steps inside one backward pass with training.

The product ∂(C_T, h_T)/∂(C_0, h_0) = J_T ⋯ J_1 (eq. (14), and (5)-(7) for the RNN) has one
factor per time step of the sequence, all at the same parameters θ: its number of factors is T,
the sequence length.  Training is θ_{k+1} = θ_k − η ∇_θ L(θ_k): each step runs a new backward
pass with its own product at its own θ_k; nothing multiplies Jacobians across passes.  The
verdict is computed from a short SGD run of an LSTM, in the parenthesis' two readings: read
literally (the product runs over training steps), the gradient of SGD step k would multiply
(k + 1)·T factors, and it multiplies T — the literal reading fails; read as the T
multiplications of one backward pass, which training runs, it is a harmless aside (a wording
finding).
"""

from __future__ import annotations

import numpy as np

from numeric import lstm

from .claims_common import GROWTH_LSTM, lstm_model
from .evidence import Column, Example, Named, Quantity, Statement, Table, Text, Verdict

__all__ = ["sgd_run"]

T_RUN, STEPS, RATE, TARGET = 20, 6, 1.0, 0.5


def _initial(seed: int, n: int = 1, m: int = 1) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {f"W_{g}": rng.normal(size=(n, n + m)) * 0.5 for g in "ifco"}
    params |= {f"b_{g}": np.zeros(n) for g in "ico"}
    params["b_f"] = np.ones(n)
    return params, rng.normal(size=(T_RUN, m))


def _pass(params: dict, xs: np.ndarray, T: int) -> dict:
    """One forward and backward pass at ``params``: the loss ½(h_T − y)², its gradient by the
    derived program, and the product of the derived state Jacobians over the T steps."""
    n = params["W_i"].shape[0]
    h0 = c0 = np.zeros(n)
    H, _ = lstm.forward(params, xs[:T], h0, c0)
    dH = np.zeros_like(H)
    dH[-1] = H[-1] - TARGET  # the loss ½‖h_T − y‖² seeds the last step
    grads = lstm.vjp(params, xs[:T], h0, c0, dH)
    J = lstm.state_jacobians(params, xs[:T], h0, c0)
    product = np.eye(2 * n)
    for step in J:
        product = step @ product
    return {
        "loss": float(0.5 * np.sum((H[-1] - TARGET) ** 2)),
        "grads": {k: grads[k] for k in params},
        "factors": int(J.shape[0]),
        "cell_path": float(np.prod([np.diag(step)[:n].prod() for step in J])),  # ∏ f_t
        "norm": float(np.linalg.norm(product, 2)),
    }


def sgd_run(seed: int, steps: int = STEPS, rate: float = RATE) -> list[dict]:
    """``steps`` SGD steps θ_{k+1} = θ_k − rate ∇L(θ_k) from a seeded LSTM (n = m = 1) on one
    sequence of T_RUN inputs: each pass's loss, gradient norm, number of Jacobian factors and
    products, and the parameters it ran at."""
    params, xs = _initial(seed)
    out = []
    for _ in range(steps + 1):
        result = _pass(params, xs, T_RUN)
        result["params"] = {k: v.copy() for k, v in params.items()}
        result["grad_norm"] = float(np.sqrt(sum(np.sum(g**2) for g in result["grads"].values())))
        out.append(result)
        params = {k: v - rate * result["grads"][k] for k, v in params.items()}
    return out


#: The two readings of the parenthesis: its words (LaTeX text, the Chinese quoted) and what
#: each predicts for the number of factors the gradient of SGD step k multiplies.
READINGS = {
    "literal": (
        r"literal: the product runs over training steps",
        lambda k: (k + 1) * T_RUN,
    ),
    "one_pass": (
        r"an aside: the $T$ multiplications of one backward pass, done during training",
        lambda k: T_RUN,
    ),
}


def product_is_training(seed: int) -> Verdict:
    """ "经过多次连乘(训练)": the product over time steps equated with training (after eq. (14)),
    in its two readings: literally (the product runs over the training steps) and as an aside
    (the T multiplications of one backward pass, which training runs)."""
    run = sgd_run(seed)
    params0, xs = _initial(seed)
    by_length = {T: _pass(params0, xs, T)["factors"] for T in (5, 10, T_RUN)}
    literal, aside = (READINGS[key][1] for key in ("literal", "one_pass"))
    rows = tuple(
        (k, r["loss"], r["grad_norm"], literal(k), r["factors"], r["cell_path"], r["norm"])
        for k, r in enumerate(run)
    )
    table = Table(
        "training_steps",
        rf"An LSTM ($n = m = 1$) trained by {STEPS} SGD steps (rate {RATE:g}) on one sequence "
        rf"of $T = {T_RUN}$ inputs, loss $\tfrac12 (h_T - {TARGET:g})^2$: the number of step "
        r"Jacobians the gradient of step $k$ would multiply if the product ran over training "
        r"steps, and the number the derived backward pass multiplies, at its own parameters "
        r"$\theta_k$.",
        (
            Column("step", "SGD step $k$"),
            Column("loss", "loss"),
            Column("grad_norm", r"$\|\nabla L\|$"),
            Column("factors_literal", "factors, literal reading"),
            Column("factors", "factors, measured"),
            Column("cell_path", r"$\prod_t f_t$"),
            Column("norm", r"$\|P_T(\theta_k)\|_2$"),
        ),
        rows,
    )
    length = Table(
        "factors_by_length",
        r"The number of state Jacobians the derived program multiplies in one pass, at fixed "
        r"parameters $\theta_0$, by sequence length $T$.",
        (Column("T", "$T$"), Column("factors", "factors")),
        tuple(by_length.items()),
        layout="columns",
    )
    last = run[-1]
    agree = {
        key: all(r["factors"] == predict(k) for k, r in enumerate(run))
        for key, (_, predict) in READINGS.items()
    }
    readings = Table(
        "readings",
        r"The two readings of 经过多次连乘(训练), ``after many multiplications (training)'', "
        rf"each against the {STEPS + 1} backward passes of the training run below.",
        (
            Column("reading", "reading"),
            Column("predicted_after_training", f"factors at step {STEPS}, predicted"),
            Column("measured_after_training", "measured"),
            Column("agrees", "agrees at every step"),
        ),
        tuple(
            (Named(key, words), predict(STEPS), last["factors"], agree[key])
            for key, (words, predict) in READINGS.items()
        ),
    )
    example = Example(
        "training_is_not_the_product",
        rf"after {STEPS} training steps the gradient's product still has $T = {T_RUN}$ factors, "
        rf"not the ${(STEPS + 1) * T_RUN}$ the literal reading predicts",
        rf"an LSTM (8)-(13) with $n = m = 1$ at its initial parameters $\theta_0$, trained by "
        rf"SGD at rate {RATE:g}",
        **lstm_model(
            {k: v.tolist() for k, v in run[0]["params"].items()},
            xs.tolist(),
            [0.0],
            [0.0],
        ),
        quantities=(
            Quantity("sgd_steps", STEPS, "K", "training steps"),
            Quantity(
                "factors_literal_reading",
                literal(STEPS),
                "(K + 1)\\,T",
                "factors in the last pass if the product ran over training steps",
            ),
            Quantity("factors_after_training", last["factors"], "", "factors in the last pass"),
            Quantity("norm_after_training", last["norm"], GROWTH_LSTM, "the last pass's product"),
        ),
    )
    statement = Statement(
        "training",
        Text(
            "training is θ_(k+1) = θ_k − η ∇_θ L(θ_k): each step runs one backward pass whose "
            "product J_T ⋯ J_1 has T factors, all at θ_k; steps change θ between passes and "
            "multiply no Jacobians across them",
            r"training is $\theta_{k+1} = \theta_k - \eta \nabla_\theta L(\theta_k)$: each step "
            r"runs one backward pass whose product has $T$ factors, all at $\theta_k$; steps "
            r"change $\theta$ between passes and multiply no Jacobians across them",
        ),
        r"P_T(\theta_k) = \prod_{t=T}^{1} J_t(\theta_k),\qquad "
        r"\theta_{k+1} = \theta_k - \eta \nabla_\theta L(\theta_k)",
    )
    counts_are_lengths = all(factors == T for T, factors in by_length.items())
    moved = any(
        not np.array_equal(run[0]["params"][k], last["params"][k]) for k in run[0]["params"]
    )
    literal_fails = counts_are_lengths and moved and agree["one_pass"] and not agree["literal"]
    verdict = "fails" if literal_fails else "holds"
    return Verdict(
        "product-is-training",
        verdict,
        Text(
            "read literally (the product runs over training steps) it is wrong: after K "
            "training steps a backward pass still multiplies T factors, one per time step, not "
            "(K + 1)T; read as the T multiplications of one backward pass, which training runs, "
            "it is a harmless aside",
            r"read literally (the product runs over training steps) it is wrong: after $K$ "
            r"training steps a backward pass still multiplies $T$ factors, one per time step, "
            r"not $(K + 1)T$; read as the $T$ multiplications of one backward pass, which "
            r"training runs, it is a harmless aside",
        ),
        14,
        (readings, statement, length, table),
        finding="wording" if verdict == "fails" else "sound",
        counterexample=(example,),
        takeaway=Text(
            "The product of step Jacobians runs over the T time steps of one sequence, inside "
            "one backward pass; training repeats that pass at new parameters and multiplies "
            "nothing across passes.",
            r"The product of step Jacobians runs over the $T$ time steps of one sequence, "
            r"inside one backward pass; training repeats that pass at new parameters and "
            r"multiplies nothing across passes.",
        ),
    )
