r"""Evidence shared by the claims: exact proofs with their sizes, and the model examples of the
RNN (1)-(2) and the LSTM (8)-(13) written as :class:`~bptt_check.evidence.Example`.

>>> symbol("W_f")
'W_{f}'
>>> model = rnn_model({"W": [[1.0]]}, [[0.0]], [0.5])
>>> [q.key for q in model["params"]], [q.key for q in model["inputs"]]
(['W'], ['xs', 's0', 'T'])
"""

from __future__ import annotations

from typing import Any

from .evidence import Column, Named, Proved, Quantity, Table, confirm

__all__ = [
    "GROWTH_LSTM",
    "GROWTH_RNN",
    "TOLERANCES",
    "lstm_model",
    "numerical_checks",
    "proved",
    "rnn_model",
    "symbol",
]

#: The growth of a counterexample, as the JSON's ``growth`` (eq. (5)-(7) and (14)).
GROWTH_RNN = r"\left\|\partial S_T / \partial S_0\right\|_2"
GROWTH_LSTM = r"\left\|\partial (C_T, h_T) / \partial (C_0, h_0)\right\|_2"

#: What each exact proof of :mod:`derivations.proofs` shows (LaTeX text).
STATEMENTS = {
    "rnn_bptt": r"the derived BPTT gradients of $W$, $U$, $V$ and $S_0$ equal SymPy's "
    r"derivatives of the unrolled loss (3)",
    "lstm_bptt": r"the derived LSTM backward program equals SymPy's derivatives of the unrolled "
    r"loss",
    "state_jacobian": r"the derived state Jacobian equals SymPy's Jacobian of the cell",
    "total_cell": r"the derived one-step partial $\mathrm{d}C_t/\mathrm{d}C_{t-1}$ (with "
    r"$o_{t-1}$ held fixed) equals SymPy's derivative through "
    r"$h_{t-1} = o_{t-1} \odot \tanh(C_{t-1})$",
    "delta_derived": r"the $\delta$ recursion with the derived "
    r"$\operatorname{diag}(\sigma'(a_t))\,W$ gives $\partial L/\partial S_0$",
    "delta_written": r"the $\delta$ recursion with the article's $W \operatorname{diag}(\sigma')$ "
    r"gives $\partial L/\partial S_0$",
}


def proved(proof: Any, what: str, **sizes: int) -> Proved:
    """A proof of :mod:`derivations.proofs` as evidence: ``what`` names its statement in
    :data:`STATEMENTS`, ``sizes`` the explicit sizes it was run at."""
    return Proved(proof.name, STATEMENTS[what], dict(sizes), proof.holds)


def symbol(name: str) -> str:
    """A parameter's name as a LaTeX symbol: ``W_f`` is :math:`W_{f}`."""
    head, _, tail = name.partition("_")
    return f"{head}_{{{tail}}}" if tail else head


Model = dict[str, tuple[Quantity, ...]]


def _params(params: dict[str, Any]) -> tuple[Quantity, ...]:
    return tuple(Quantity(k, v, symbol(k), "parameter") for k, v in params.items())


def rnn_model(params: dict[str, Any], xs: list, s0: list) -> Model:
    """The ``params`` and ``inputs`` of an RNN example (keyword arguments of
    :class:`~bptt_check.evidence.Example`): ``xs`` (T, m), ``s0`` (n,), ``T``."""
    return {
        "params": _params(params),
        "inputs": (
            Quantity("xs", xs, r"X_1, \dots, X_T", "inputs"),
            Quantity("s0", s0, "S_0", "initial state"),
            Quantity("T", len(xs), "T", "time steps"),
        ),
    }


def lstm_model(params: dict[str, Any], xs: list, h0: list, c0: list) -> Model:
    """The ``params`` and ``inputs`` of an LSTM example: ``xs`` (T, m), ``h0``, ``c0`` (n,),
    ``T``."""
    return {
        "params": _params(params),
        "inputs": (
            Quantity("xs", xs, r"x_1, \dots, x_T", "inputs"),
            Quantity("h0", h0, "h_0", "initial hidden state"),
            Quantity("c0", c0, "C_0", "initial cell state"),
            Quantity("T", len(xs), "T", "time steps"),
        ),
    }


#: Each check of :mod:`numeric.checks`: its name in words, and its tolerance as math (g the
#: gradient, L the loss, ε the float64 machine epsilon 2^{-52}, h the step; the relative
#: factors are those of numeric.checks, whose reason text ``why`` states them in plain text).
TOLERANCES = {
    "complex-step": (
        "complex step",
        r"$10^{-12} \max|g| + \varepsilon (20|L| + 4|g|) + O(h^2)$",
    ),
    "central-difference": (
        "central difference",
        r"$10\,(|D(h) - D(2h)| + \varepsilon|L|/h) + \varepsilon(20|L| + 4|g|)$",
    ),
    "direction": (
        "one random direction $d$",
        r"$10^{-12} \sum_i |g_i d_i| + \varepsilon (20|L| + 4|g|) + O(h^2)$",
    ),
    "taylor": ("Taylor remainder rate", r"rate $\ge 1.8$ against $2$"),
    "per-step": (
        "each step's share $g_t$",
        r"$10^{-10} \max|g_t| + 20\varepsilon|L| \sum_b |x_b| + 4\varepsilon|g_t|$",
    ),
    "high-precision": (
        "mpmath, 50 digits",
        r"$10^{-40} \max|g| + 10^{-50} \max(1, |L|)$",
    ),
}


def numerical_checks(model: str, seed: int) -> Table:
    """Every check of :mod:`numeric.checks` on a seeded ``model`` (``"rnn"``: (1)-(3) with
    binary cross-entropy; ``"lstm"``: (8)-(13)), n = 3, m = 2, T = 5, B = 2: the worst
    comparison of each against its tolerance, as an appendix table.  A check that fails is an
    independent confirmation disagreeing with the derived gradients: it raises."""
    import numpy as np

    from numeric import checks, lstm, rnn

    rng = np.random.default_rng(seed)
    n, m, k, T, B = 3, 2, 2, 5, 2
    if model == "rnn":
        name = "RNN (1)-(3)"
        problem = rnn.problem(
            {
                "W": rng.uniform(-1, 1, (n, n)),
                "U": rng.uniform(-1, 1, (n, m)),
                "V": rng.uniform(-1, 1, (k, n)),
            },
            rng.uniform(-1, 1, (T, B, m)),
            rng.uniform(0, 1, (T, B, k)),
            rng.uniform(-1, 1, (B, n)),
        )
    elif model == "lstm":
        name = "LSTM (8)-(13)"
        problem = lstm.problem(
            {
                **{f"W_{g}": rng.uniform(-1, 1, (n, n + m)) for g in "ifco"},
                **{f"b_{g}": rng.uniform(-1, 1, n) for g in "ifco"},
            },
            rng.uniform(-1, 1, (T, B, m)),
            rng.uniform(-1, 1, (B, n)),
            rng.uniform(-1, 1, (B, n)),
            rng.normal(size=(T, B, n)),
        )
    else:
        raise ValueError(f"model must be 'rnn' or 'lstm', got {model!r}")
    rows = []
    for check in (
        checks.complex_step,
        checks.central_difference,
        checks.direction,
        checks.taylor,
        checks.per_step,
        checks.high_precision,
    ):
        report = check(problem)
        worst = report.worst
        confirm(report.passed, f"{name}: {worst}")
        words, rule = TOLERANCES[report.check]
        rows.append(
            (
                Named(report.check, words),
                len(report.comparisons),
                float(f"{worst.abs_error:.2e}"),
                float(f"{worst.tolerance:.2e}"),
                Named(worst.why, rule),
            )
        )
    return Table(
        f"numerical_checks_{model}",
        rf"The derived gradients of the {name}, $n = {n}$, $m = {m}$, $T = {T}$, batch "
        rf"$B = {B}$, seed {seed}, checked numerically: each check's number of comparisons and "
        r"its worst comparison $|a - r|$ (the analytic value $a$ against its reference $r$; "
        r"for the Taylor check, $a$ is the rate at which the first-order remainder falls and "
        r"$r = 2$) against its tolerance.  In the tolerances $g$ is the gradient entry, $L$ "
        r"the loss, $h$ the step and $\varepsilon = 2^{-52}$.  Every check passed.",
        (
            Column("check", "check"),
            Column("comparisons", "comparisons"),
            Column("worst_error", r"largest $|a - r|$"),
            Column("tolerance", "tolerance"),
            Column("rule", "tolerance rule"),
        ),
        tuple(rows),
        appendix=True,
    )
