r"""A localized verdict on a hand-written BPTT: :func:`check_vjp`.

Your ``vjp(params, xs, state0, cotangents) -> (grads, state0_grads)`` (the signature of
:meth:`numeric.Model.vjp`) gives only totals.  The derived program knows more: each step's
share ā_t [operands_t]ᵀ of every parameter gradient (eq. (4)-(6)) and the adjoint δ_t of every
state (the recursion δ_t = ∂L_t/∂s_t + (∂s_{t+1}/∂s_t)ᵀ δ_{t+1}).  Your function is called on
the windows t..T of the sequence, each started from the true state s_{t-1}, with the
cotangents of those steps: the difference of two consecutive windows is your share of step t,
and each window's state gradient is your δ_{t-1}.  Compared with the derived ones, they say
where the backward pass first goes wrong — its own term at a step (∂s_t/∂θ), the recurrent
pull-back (∂s_t/∂s_{t-1})ᵀ, or a step left out of the sum over t.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import numpy as np

from .problem import check_gradient_arrays
from .report import Comparison, Report, row
from .tolerance import EPS, FLOOR, OWN, PATH, bptt_rounding, dtype_name, eps_of, rtol_for

__all__ = ["check_vjp"]

Arrays = Mapping[str, np.ndarray]


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: np.array(v, copy=True) for k, v in value.items()}
    return np.array(value, copy=True)


def _window(value: Any, start: int) -> Any:
    if isinstance(value, Mapping):
        return {k: np.asarray(v)[start:] for k, v in value.items()}
    return np.asarray(value)[start:]


def _user(vjp: Callable, args: tuple, expected: tuple[Arrays, Arrays], what: str):
    """Call the user's vjp on copies and validate its (grads, state0_grads)."""
    out = vjp(*(_copy(a) if isinstance(a, Mapping) or hasattr(a, "shape") else a for a in args))
    if not isinstance(out, tuple | list) or len(out) != 2:
        if isinstance(out, Mapping):  # the gradients alone: a dict's length says nothing here
            got = f"a dict with keys {sorted(map(str, out))} (the gradients alone?)"
        elif isinstance(out, tuple | list):
            got = f"a {type(out).__name__} of length {len(out)}"
        else:
            got = type(out).__name__
        raise ValueError(
            f"vjp must return (grads, state0_grads) like numeric.Model.vjp, got {got}"
            + (f" ({what})" if what else "")
        )
    grads = check_gradient_arrays(out[0], expected[0], "vjp(...)[0]")
    initial = check_gradient_arrays(out[1], expected[1], "vjp(...)[1]")
    return grads, initial


def _scaled(values: Arrays) -> dict[str, float]:
    return {k: float(np.abs(v).max(initial=0)) for k, v in values.items()}


def check_vjp(
    model: Any,
    vjp: Callable,
    params: Mapping[str, Any],
    xs: Any,
    state0: Mapping[str, Any],
    cotangents: Mapping[str, Any],
    *,
    rtol: float | None = None,
) -> Report:
    """Compare a hand-written ``vjp`` (signature of :meth:`numeric.Model.vjp`) with the derived
    BPTT of ``model`` (a :class:`numeric.Model`) at this point, total by total and step by step,
    and localize the first wrong parameter, entry and time step (``report.first``) with the
    pattern (``report.summary``); ``report.by_step()`` is the per-step table.

    Tolerance: ``rtol`` (1e-10) × the largest derived entry of that parameter (of that step,
    for a share) + the rounding floor (16 ε64 + 4 ε) × Σ_t |share_t| (the magnitudes summed
    into the total); a float32/float16 result is judged at its own precision by a first-order
    rounding model of BPTT (:func:`tolerance.bptt_rounding`): a total gets
    + 2 ε Σ_t (T − t + 1)|share_t| + ε Σ_t max|share_t| (2 roundings per backward step, the
    depth T − t + 1 step t's share went through, its magnitude, and the inputs' rounding), a
    share 2 × 2 ε Σ_(t'≥t) (T − t' + 1) max|share_t'| (normwise: each window starts from a
    rounded state, and a matmul spreads its rounding over its output; two windows' totals are
    subtracted).  The summary names the precision it was judged at."""
    from ..model import Model

    if not isinstance(model, Model):
        raise ValueError(f"model must be a numeric.Model, got {type(model).__name__}")
    if not callable(vjp):
        raise ValueError(f"vjp must be a function like numeric.Model.vjp, got {type(vjp).__name__}")
    ref_grads, ref_init = model.vjp(params, xs, state0, cotangents)  # validates the inputs
    trajectory = model.forward(params, xs, state0)
    T = next(iter(trajectory.values())).shape[0]
    shares = model.step_shares(params, xs, state0, cotangents)
    grads, initial = _user(vjp, (params, xs, state0, cotangents), (ref_grads, ref_init), "")
    magnitude = {p: np.abs(s).sum(axis=0) for p, s in shares.items()}
    tail = {p: np.flip(np.cumsum(np.flip(np.abs(s), 0), 0), 0) for p, s in shares.items()}
    # the low-precision budget (× ε): of a total, entry by entry (tolerance.bptt_rounding);
    # of a share, normwise (a window starts from a rounded state, and a matmul spreads its
    # rounding over its whole output): Σ_(t'≥t) (T − t' + 1) max|share_t'|
    total_rounding = {p: bptt_rounding(s, 1.0) for p, s in shares.items()}
    step_max = {p: np.abs(s).reshape(T, -1).max(axis=1, initial=0) for p, s in shares.items()}
    depths = np.arange(T, 0, -1, dtype=float)
    deep_tail = {p: np.flip(np.cumsum(np.flip(depths * v))) for p, v in step_max.items()}
    r_user = rtol_for(rtol, 1e-10, EPS)  # a lower precision has its own term, not 100 ε
    precisions: set[float] = set()

    def budget(eps: float) -> tuple[float, float, float]:
        """(rtol, the floor's factor, the precision model's factor: 0 in float64)."""
        precisions.add(eps)
        return r_user, FLOOR * EPS + OWN * eps, PATH * eps if eps > EPS else 0.0

    rows: list[Comparison] = []
    for p, ref in ref_grads.items():
        r, c, d = budget(eps_of(grads[p]))
        scale = r * np.abs(ref).max(initial=0)
        why = f"{r:g} × max |∂L/∂{p}| + rounding ({c:.2g}) × Σ_t |share_t|" + (
            f" + {dtype_name(d / PATH)} BPTT {PATH:g}ε Σ_t (T−t+1)|share_t| + ε Σ_t max|share_t|"
            if d
            else ""
        )
        for i in np.ndindex(ref.shape):
            terms = {"relative": scale, "rounding": c * magnitude[p][i] + OWN * EPS * abs(ref[i])}
            if d:
                terms["precision"] = d / PATH * total_rounding[p][i]
            rows.append(row("vjp", p, i, None, grads[p][i], ref[i], terms, why))
    for s, ref in ref_init.items():
        r, c, _ = budget(eps_of(initial[s]))
        scale = np.abs(ref).max(initial=0)
        why = f"{r:g} × max |∂L/∂{s}_0| + rounding ({c:.2g}) × T max |∂L/∂{s}_0|"
        for i in np.ndindex(ref.shape):
            terms = {"relative": r * scale, "rounding": c * T * scale}
            rows.append(row("vjp", f"state0[{s!r}]", i, None, initial[s][i], ref[i], terms, why))
    totals_pass = all(c.passed for c in rows)

    # windows t..T started from the true s_{t-1}: the user's share of step t and δ_{t-1}
    windows: list[tuple[dict, dict, dict]] = []
    for t in range(1, T + 1):
        start = state0 if t == 1 else {k: v[t - 2] for k, v in trajectory.items()}
        args = (params, _window(xs, t - 1), start, _window(cotangents, t - 1))
        derived = model.vjp(*args)
        windows.append((*_user(vjp, args, derived, f"window {t}..{T}"), derived[1]))
    step_rows: list[Comparison] = []
    for t in range(T, 0, -1):
        user_g, user_init, ref_adjoint = windows[t - 1]
        later = windows[t][0] if t < T else {p: 0.0 for p in user_g}
        for p, share in shares.items():
            mine = np.asarray(user_g[p], np.float64) - np.asarray(later[p], np.float64)
            r, c, d = budget(eps_of(user_g[p]))
            scale = r * np.abs(share[t - 1]).max(initial=0)
            why = f"step {t}'s share of ∂L/∂{p}: {r:g} × its max + rounding × Σ_(t'≥t)|share|"
            if d:  # the difference of two windows' totals, each with its rounding
                why += (
                    f" + {dtype_name(d / PATH)} BPTT 2 × {PATH:g}ε Σ_(t'≥t)(T−t'+1) max|share_t'|"
                )
            for i in _indices(share.shape[1:]):
                terms = {"relative": scale, "rounding": c * tail[p][(t - 1, *i)]}
                if d:
                    terms["precision"] = 2 * d * deep_tail[p][t - 1]
                step_rows.append(row("vjp", p, i, t, mine[i], share[(t - 1, *i)], terms, why))
        for s, ref in ref_adjoint.items():
            r, c, _ = budget(eps_of(user_init[s]))
            scale = np.abs(ref).max(initial=0)
            why = f"δ_{t - 1} = ∂L/∂{s}_{t - 1} from steps {t}..{T}: {r:g} × its max + rounding"
            for i in _indices(ref.shape):
                terms = {"relative": r * scale, "rounding": c * (T - t + 1) * scale}
                name = f"∂L/∂{s}_{t - 1}"
                step_rows.append(row("vjp", name, i, t, user_init[s][i], ref[i], terms, why))
    if totals_pass and all(c.passed for c in step_rows):
        summary = (
            f"passed at {_judged(precisions)}: every total, every step's share and every δ_t "
            "match the derived BPTT"
        )
        return Report("vjp", tuple(rows + step_rows), summary)
    missing = _missing_step(rows, grads, ref_grads, shares)
    if missing is not None:
        k, k_rows = missing
        first = max((c for c in k_rows if not c.passed), key=lambda c: c.ratio)
        which = {1: " (the first step's term is missing)", T: " (the last step's term is missing)"}
        summary = (
            f"step {k}'s term is missing from the sum over t{which.get(k, '')}: the totals equal "
            f"the derived ones minus step {k}'s share; first wrong: {first.where} at step {k}"
        )
        return Report("vjp", tuple(rows + k_rows), summary, first)
    summary, first = _localize(step_rows, T)
    if first is None:
        first = max((c for c in rows if not c.passed), key=lambda c: c.ratio)
    return Report("vjp", tuple(rows + step_rows), summary, first)


@cache
def _indices(shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Every index of ``shape``, made once: the rows of every step share these tuples."""
    return tuple(np.ndindex(shape))


def _judged(precisions: set[float]) -> str:
    """The precision a result was judged at: ``float64``, or ``float16 (the rounding of BPTT
    in it, 2ε per step of depth, ε = 0.000977)``."""
    low = [e for e in sorted(precisions, reverse=True) if e > EPS]
    if not low:
        return "float64"
    names = " and ".join(dtype_name(e) for e in low)
    return f"{names} (the rounding of BPTT in it, {PATH:g}ε per step of depth, ε = " + (
        ", ".join(f"{e:.3g}" for e in low) + ")"
    )


def _missing_step(rows, grads, ref_grads, shares):
    """The step k whose share, subtracted from the derived totals, gives the user's totals.

    Decided on arrays for every k at once; rows are built only for the step found."""
    tolerance: dict[str, np.ndarray] = {p: np.empty(ref.shape) for p, ref in ref_grads.items()}
    for c in rows:
        if c.parameter in tolerance:
            tolerance[c.parameter][c.index] = c.tolerance
    missing_all, nonzero = None, None
    for p, share in shares.items():
        implied = ref_grads[p] - np.asarray(grads[p], np.float64)  # the user's missing part
        axes = tuple(range(1, share.ndim))
        fits = (np.abs(share - implied) <= tolerance[p]).all(axis=axes)  # (T,)
        big = (np.abs(share) > tolerance[p]).any(axis=axes)
        missing_all = fits if missing_all is None else missing_all & fits
        nonzero = big if nonzero is None else nonzero | big
    for k in np.flatnonzero(missing_all & nonzero)[:3] + 1:  # a few candidates at most
        k = int(k)
        why = f"step {k}'s share as your totals imply it (the derived total minus yours)"
        k_rows = []
        for p, share in shares.items():
            implied = ref_grads[p] - np.asarray(grads[p], np.float64)
            for i in np.ndindex(share.shape[1:]):
                terms = {"of the total": tolerance[p][i]}
                mine = share[(k - 1, *i)] - implied[i]
                k_rows.append(row("vjp", p, i, k, mine, share[(k - 1, *i)], terms, why))
        if any(not c.passed for c in k_rows):  # the missing part is visible in some total
            return k, k_rows
    return None


def _localize(step_rows: list[Comparison], T: int) -> tuple[str, Comparison | None]:
    """The pattern, walking back from the last step: where the first failure appears."""
    failing = [c for c in step_rows if not c.passed]
    if not failing:
        return (
            "every step's share and every δ_t is right on its own, but the totals are not: "
            "the shares are combined wrongly (the sum over t, or the cotangents of several steps)",
            None,
        )
    latest = max(c.step for c in failing)
    at = [c for c in failing if c.step == latest]
    shares_wrong = [c for c in at if not c.parameter.startswith("∂L/∂")]
    adjoint_wrong = [c for c in at if c.parameter.startswith("∂L/∂")]
    share_rows = [c for c in failing if not c.parameter.startswith("∂L/∂")]
    first_share = None
    if share_rows:  # the worst share at the latest step with a wrong share
        latest_share = max(c.step for c in share_rows)
        first_share = max((c for c in share_rows if c.step == latest_share), key=lambda c: c.ratio)
    if latest == T and shares_wrong:
        first = max(shares_wrong, key=lambda c: c.ratio)
        return (
            f"wrong for the last step alone: step {T}'s own term (∂s_t/∂θ with δ_T = ∂L_T/∂s_T) "
            f"is wrong; first wrong: {first.where} at step {T}",
            first,
        )
    if latest == T and adjoint_wrong or latest == T - 1 and shares_wrong:
        first = first_share or max(adjoint_wrong, key=lambda c: c.ratio)
        return (
            f"step {T}'s own shares are right and the δ it hands back is wrong, so every step "
            "before it is: the recurrent pull-back (∂s_t/∂s_(t-1))ᵀ δ_t; first wrong: "
            f"{first.where} at step {first.step}",
            first,
        )
    first = first_share or max(at, key=lambda c: c.ratio)
    return (
        f"right for steps {latest + 1}..{T}, wrong from step {latest}: "
        f"first wrong: {first.where} at step {first.step}",
        first,
    )
