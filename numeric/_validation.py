"""One validation helper for every public function of :mod:`numeric` (inputs of eq. (1)-(13)):
every argument check of :class:`numeric.Model` (xs, params, states, cotangents, ys) is here.

Arrays are checked against symbolic shapes such as ``("T", "B", "m")``: the first array that
uses a size name binds it, later arrays must agree.  Every failure is a ValueError that names
the argument, what it got and what was expected — never a NumPy traceback from inside a kernel.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import mpmath
import numpy as np

__all__ = [
    "Sizes",
    "agree_call_sizes",
    "agree_sizes",
    "batch_first_hint",
    "check_array",
    "check_choice",
    "check_cotangents",
    "check_keys",
    "check_params",
    "check_sequence",
    "check_states",
    "check_targets",
    "first_nonfinite",
    "is_batched",
    "not_finite",
]


@cache
def _linear(dim: str) -> tuple[tuple[tuple[int, str], ...], int]:
    """A size written as ``"n"``, ``"n+m"`` or ``"2n+1"``: its (coefficient, name) terms and
    its constant."""
    terms, constant = [], 0
    for part in dim.replace(" ", "").split("+"):
        match = re.fullmatch(r"(\d*)([A-Za-z_]\w*)?", part)
        if not match or not part:
            raise ValueError(f"cannot read the size {dim!r}")
        coefficient, size = match.groups()
        if size is None:
            constant += int(coefficient)
        else:
            terms.append((int(coefficient or 1), size))
    return tuple(terms), constant


class Sizes(dict):
    """Sizes bound so far (``{"T": 5, "B": 2, "n": 4, ...}``) while checking one call."""

    def value(self, dim: str) -> int | None:
        """The size ``dim`` (``"n+m"`` too) when every name in it is bound, else None."""
        terms, constant = _linear(dim)
        if any(size not in self for _, size in terms):
            return None
        return constant + sum(c * self[size] for c, size in terms)

    def describe(self, spec: tuple[str, ...]) -> str:
        values = [self.value(d) for d in spec]
        dims = ", ".join(d if v is None else str(v) for d, v in zip(spec, values, strict=True))
        names = ", ".join(spec)
        return f"({names})" if dims == names else f"({names}) = ({dims})"


#: Rows (first axis) checked for NaN and inf at a time: no mask as large as a long sequence.
_FINITE_CHUNK = 256


def first_nonfinite(array: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN or inf entry (None when every entry is finite), checked a
    block of rows at a time (memory flat in T)."""
    if array.ndim == 0:
        return None if np.isfinite(array) else ()
    for start in range(0, len(array), _FINITE_CHUNK):
        block = np.isfinite(array[start : start + _FINITE_CHUNK])
        if not block.all():
            index = np.unravel_index(int(np.argmin(block)), block.shape)
            return (start + int(index[0]), *(int(i) for i in index[1:]))
    return None


def not_finite(name: str, array: np.ndarray, index: tuple[int, ...]) -> str:
    """``xs must be finite: xs[3, 0, 1] is nan`` (the first bad entry, and how many there are)."""
    value = array[index]
    count = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    where = f"{name}[{', '.join(map(str, index))}]" if index else name
    more = f" (one of {count} NaN/inf entries)" if count > 1 else ""
    return f"{name} must be finite: {where} is {value}{more}"


def _bind(name: str, spec: tuple[str, ...], shape: tuple[int, ...], sizes: Sizes) -> None:
    """Check ``shape`` against ``spec``, binding each size name the first time it can be solved
    for (a dimension with one unbound name); a mismatch or an unsolvable size names ``name``."""
    pending = list(zip(spec, shape, strict=True))
    while pending:
        unsolved = []
        for dim, actual in pending:
            terms, constant = _linear(dim)
            unknown = [(c, size) for c, size in terms if size not in sizes]
            known = constant + sum(c * sizes[size] for c, size in terms if size in sizes)
            if not unknown:
                if known != actual:
                    raise ValueError(
                        f"{name} must have shape {sizes.describe(spec)}, got shape {shape}"
                    )
            elif len(unknown) == 1:
                coefficient, size = unknown[0]
                solved, remainder = divmod(actual - known, coefficient)
                if remainder or solved < 1:
                    raise ValueError(
                        f"{name} must have shape {sizes.describe(spec)} with {size} >= 1, "
                        f"got shape {shape}"
                    )
                sizes[size] = solved
            else:
                unsolved.append((dim, actual))
        if len(unsolved) == len(pending):  # two unknown sizes in one dimension: leave them
            return
        pending = unsolved


def check_array(
    name: str, value: Any, spec: tuple[str, ...], sizes: Sizes, *, allow_complex: bool = False
) -> np.ndarray:
    """``value`` as a float64 (or complex128 / mpmath object) array of shape ``spec``."""
    if isinstance(value, str | bytes) or value is None:
        raise ValueError(
            f"{name} must be a numeric array of shape {sizes.describe(spec)}, "
            f"got {type(value).__name__}"
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ValueError(
            f"{name} must be a numeric array of shape {sizes.describe(spec)}: {error}"
        ) from None
    kind = array.dtype.kind
    if kind == "O" and allow_complex:  # mpmath numbers for the high-precision path
        for entry in array.flat:
            if not isinstance(entry, numbers.Real | mpmath.mpf):
                raise ValueError(
                    f"{name} must be a numeric array of shape "
                    f"{sizes.describe(spec)}, got a {type(entry).__name__} entry"
                )
            if not mpmath.isfinite(entry):
                raise ValueError(f"{name} must be finite, got NaN or inf")
    elif kind == "c" and allow_complex:
        array = array.astype(np.complex128)
    elif kind == "f" and array.dtype != np.float64:
        # computing in float64 what was given in float32 would hide the float32 behaviour the
        # caller may mean to check; numeric verifies float64 only
        raise ValueError(
            f"{name} has dtype {array.dtype}; numeric computes and verifies in "
            f"float64 only: pass {name}.astype(numpy.float64)"
        )
    elif kind in "iuf":
        array = array.astype(np.float64, copy=False)  # float64 input is used as it is
    else:
        raise ValueError(
            f"{name} must be a numeric array of shape {sizes.describe(spec)}, "
            f"got dtype {array.dtype}"
        )
    if array.ndim != len(spec):
        raise ValueError(f"{name} must have shape {sizes.describe(spec)}, got shape {array.shape}")
    _bind(name, spec, array.shape, sizes)
    if kind != "O" and (bad := first_nonfinite(array)) is not None:
        raise ValueError(not_finite(name, array, bad))
    return array


def check_params(
    params: Any,
    expected: Mapping[str, tuple[str, ...]],
    sizes: Sizes,
    *,
    allow_complex: bool = False,
    optional: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, np.ndarray]:
    """Every expected parameter present, no other but the ``optional`` ones (checked too when
    given), each of its expected shape."""
    optional = optional or {}
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a dict with keys {sorted(expected)}, got {type(params).__name__}"
        )
    check_keys("params", params, expected, optional)
    present = {**expected, **{k: v for k, v in optional.items() if k in params}}
    return {
        key: check_array(f"params[{key!r}]", params[key], spec, sizes, allow_complex=allow_complex)
        for key, spec in present.items()
    }


def check_keys(
    name: str, given: Mapping, expected: Iterable[str], optional: Iterable[str] = ()
) -> None:
    """``given`` has every key of ``expected`` and no other but the ``optional`` ones."""
    expected = list(expected)
    missing = sorted(set(expected) - set(given), key=str)
    extra = sorted(set(given) - set(expected) - set(optional), key=str)
    if missing or extra:
        detail = "; ".join(
            part
            for part in (missing and f"missing {missing}", extra and f"unknown {extra}")
            if part
        )
        raise ValueError(f"{name} must have keys {sorted(expected)}: {detail}")


def is_batched(name: str, value: Any, shapes: tuple[str, str]) -> bool:
    """Whether ``value`` has a batch axis: anything but the unbatched ``shapes[1]``'s number of
    dimensions is taken as batched (``shapes[0]``) and its shape is checked as such."""
    try:
        return np.ndim(value) != shapes[1].count(",") + 1
    except ValueError:  # ragged nested lists
        raise ValueError(
            f"{name} must be a numeric array of shape {shapes[0]} or "
            f"{shapes[1]}, got ragged nested sequences"
        ) from None


def check_choice(name: str, value: Any, options: Mapping) -> None:
    """``value`` is one of the names in ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")


def _shape(spec: tuple[str, ...], value: Any) -> tuple[int, ...] | None:
    """The shape of an argument, or None when its own check will refuse it (a string, None,
    ragged lists, the wrong number of dimensions)."""
    if isinstance(value, str | bytes) or value is None:
        return None
    try:
        shape = np.shape(value)
    except ValueError:  # ragged nested lists
        return None
    return shape if len(shape) == len(spec) else None


def _votes(
    spec: tuple[str, ...], shape: tuple[int, ...], names: tuple[str, ...], known: Mapping
) -> dict[str, set[int]]:
    """The values an argument of this shape shows the sizes ``names``: from each dimension
    that is one of them alone (``"n"``, or ``"4n"`` read as rows / 4); then, given the
    ``known`` sizes, from a sum such as ``"n+m"`` for a size no single dimension shows."""
    votes: dict[str, set[int]] = {}
    sums = []
    for dim, actual in zip(spec, shape, strict=True):
        terms, constant = _linear(dim)
        if constant or len(terms) != 1:
            sums.append((terms, constant, actual))
            continue
        coefficient, size = terms[0]
        if size in names and actual % coefficient == 0 and actual // coefficient >= 1:
            votes.setdefault(size, set()).add(actual // coefficient)
    for terms, constant, actual in sums:
        unknown = [(c, size) for c, size in terms if size not in votes and size in names]
        if len(unknown) != 1 or any(s not in known for c, s in terms if (c, s) not in unknown):
            continue
        coefficient, size = unknown[0]
        rest = actual - constant - sum(c * known[s] for c, s in terms if s != size)
        if rest % coefficient == 0 and rest // coefficient >= 1:
            votes.setdefault(size, set()).add(rest // coefficient)
    return votes


def _listed(labels: list[str], limit: int = 3) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _elect(ballots, names, authority) -> dict[str, tuple[int, dict[int, list[str]]]]:
    """Each size's winning value and its voters (value -> labels)."""
    out = {}
    for size in names:
        voters: dict[int, list[str]] = {}
        square: set[int] = set()
        for label, spec, _, votes in ballots:
            for shown in sorted(votes.get(size, ())):
                voters.setdefault(shown, []).append(label)
                if spec.count(size) == len(spec) == 2:
                    square.add(shown)
        if voters:
            preferred = {v for v, labels in voters.items() if authority & set(labels)}
            winner = max(
                sorted(voters), key=lambda v: (len(voters[v]), v in preferred, v in square)
            )
            out[size] = (winner, voters)
    return out


def agree_sizes(
    items: Iterable[tuple[str, tuple[str, ...], Any]],
    specs: Iterable[tuple[str, ...]],
    sizes: Sizes,
    *,
    authority: Iterable[str] = (),
) -> None:
    """Decide the sizes the parameter ``specs`` use (n, m, k) from every argument at once,
    before any is checked on its own, and bind them in ``sizes``.

    ``items`` are (label, spec, value) in the caller's order.  Each argument votes once for
    each value it shows a size; the value most arguments show wins (on a tie, the one an
    ``authority`` shows — the sequence inputs for m — then the one a square block such as W
    (n, n) shows).  The first argument that shows another value is blamed: the ValueError
    gives its expected and actual shape and which arguments the winning sizes come from; on a
    tie, both arguments with their shapes.  Without this, the first array checked would fix
    the size and a correct argument checked later would be blamed."""
    authority = set(authority)
    names = tuple(sorted({size for spec in specs for dim in spec for _, size in _linear(dim)[0]}))
    shaped = [(label, spec, _shape(spec, value)) for label, spec, value in items]
    shaped = [(label, spec, shape) for label, spec, shape in shaped if shape is not None]
    ballots = [(lb, sp, sh, _votes(sp, sh, names, {})) for lb, sp, sh in shaped]
    first = {size: winner for size, (winner, _) in _elect(ballots, names, authority).items()}
    ballots = [(lb, sp, sh, _votes(sp, sh, names, first)) for lb, sp, sh in shaped]
    elected = _elect(ballots, names, authority)
    winners = {size: winner for size, (winner, _) in elected.items()}
    for label, spec, shape, votes in ballots:
        wrong = {s: sorted(v - {winners[s]}) for s, v in votes.items() if v - {winners[s]}}
        if wrong:
            _blame(label, spec, shape, wrong, elected, ballots, sizes, winners)
    for size, winner in winners.items():
        sizes.setdefault(size, winner)


def _blame(label, spec, shape, wrong, elected, ballots, sizes, winners) -> None:
    expected = Sizes({**sizes, **winners})
    reasons = []
    for size, theirs in wrong.items():
        winner, voters = elected[size]
        support = [other for other in dict.fromkeys(voters[winner]) if other != label]
        shown = ", ".join(map(str, theirs))
        if any(len(voters[v]) == len(voters[winner]) for v in voters if v != winner):
            rival = support[0]
            rival_shape = next(sh for lb, _, sh, _ in ballots if lb == rival)
            reasons.append(
                f"{rival} has shape {rival_shape}, so {size} = {winner}, and {label} has "
                f"{size} = {shown}: nothing else fixes {size}, so one of the two is wrong "
                f"({size} is taken from {rival})"
            )
        else:
            reasons.append(
                f"{size} = {winner} from {_listed(support)}; {label} has {size} = {shown}"
            )
    hint = _shape_hint(spec, shape, expected)
    raise ValueError(
        f"{label} must have shape {expected.describe(spec)}, got shape {shape} "
        f"({'; '.join(reasons)}){hint}"
    )


def _shape_hint(spec, shape, expected: Sizes) -> str:
    """What the wrong shape looks like: a transposed matrix, or 3 or 4 blocks stacked by rows
    (torch's weight_ih_l0 of a GRU or an LSTM)."""
    want = tuple(expected.value(d) for d in spec)
    if len(shape) == 2 and shape[::-1] == want and shape != want:
        return "; it is transposed: pass its .T"
    stacked = len(shape) == len(want) and None not in want and shape[1:] == want[1:]
    if stacked and want[0] and shape[0] in (3 * want[0], 4 * want[0]):  # a GRU's, an LSTM's gates
        return (
            f"; it is {shape[0] // want[0]} blocks of the expected shape stacked (torch stacks a "
            "layer's gates in weight_ih_l0 / weight_hh_l0: numeric.interop.from_torch splits them)"
        )
    return ""


# ---- the arguments of numeric.Model's functions: xs, params, states, cotangents, ys ---------


def check_sequence(
    xs: Any, dims: Mapping[str, str], sizes: Sizes, *, allow_complex: bool = False
) -> tuple[dict[str, np.ndarray], bool]:
    """The sequence inputs ``xs`` of a cell with sequence inputs ``dims`` (name -> size, e.g.
    ``{"x": "m"}``): one array (T, B, m) or (T, m), or a dict of them; binds T, B and m.
    Returns the arrays keyed by input name and whether they have a batch axis."""
    names = list(dims)
    if len(names) == 1 and not isinstance(xs, Mapping):
        items = {names[0]: ("xs", xs)}
    else:
        if not isinstance(xs, Mapping):
            raise ValueError(
                f"xs must be a dict with keys {names} (this cell has {len(names)} sequence "
                f"inputs), got {type(xs).__name__}"
            )
        check_keys("xs", xs, names)
        items = {name: (f"xs[{name!r}]", xs[name]) for name in names}
    batched = None
    sequence = {}
    for name, (label, value) in items.items():
        dim = dims[name]
        if batched is None:
            batched = is_batched(label, value, (f"(T, B, {dim})", f"(T, {dim})"))
        spec = ("T", "B", dim) if batched else ("T", dim)
        sequence[name] = check_array(label, value, spec, sizes, allow_complex=allow_complex)
    return sequence, bool(batched)


def agree_call_sizes(
    xs: Any,
    sequence: Mapping[str, np.ndarray],
    sequence_dims: Mapping[str, str],
    params: Mapping,
    specs: Mapping[str, tuple[str, ...]],
    state0: Any,
    state_dims: Mapping[str, str],
    batched: bool,
    sizes: Sizes,
    label: Any = str,
) -> None:
    """:func:`agree_sizes` over one call's xs (already checked: ``sequence``), parameters and
    states: m from xs on a tie, n from the recurrent blocks jointly.  ``label`` maps an
    argument's name to the caller's (``state0['h']`` -> ``h0``)."""
    one = len(sequence_dims) == 1 and not isinstance(xs, Mapping)
    labels = {name: "xs" if one else f"xs[{name!r}]" for name in sequence_dims}
    items = [
        (labels[name], (*("T", "B")[: value.ndim - 1], sequence_dims[name]), value)
        for name, value in sequence.items()
    ]
    items += [(f"params[{k!r}]", spec, params[k]) for k, spec in specs.items() if k in params]
    if isinstance(state0, Mapping):
        lead = ("B",) if batched else ()
        items += [
            (label(f"state0[{name!r}]"), (*lead, dim), state0[name])
            for name, dim in state_dims.items()
            if name in state0
        ]
    agree_sizes(items, specs.values(), sizes, authority=labels.values())


def check_states(
    label: str,
    values: Any,
    dims: Mapping[str, str],
    lead: tuple[str, ...],
    sizes: Sizes,
    label_of: Any = str,
    *,
    allow_complex: bool = False,
) -> dict[str, np.ndarray]:
    """The states ``values`` (a dict keyed by the state names of ``dims``), each of shape
    (*lead, size); checked in the caller's order, so a message blames the first bad one."""
    names = list(dims)
    if not isinstance(values, Mapping):
        raise ValueError(
            f"{label} must be a dict keyed by the state names {names}, got {type(values).__name__}"
        )
    check_keys(label, values, names)
    checked = {}
    for name in values:
        try:
            checked[name] = check_array(
                label_of(f"{label}[{name!r}]"),
                values[name],
                (*lead, dims[name]),
                sizes,
                allow_complex=allow_complex,
            )
        except ValueError as error:
            raise ValueError(f"{error}{batch_first_hint(values[name], lead, sizes)}") from None
    return {name: checked[name] for name in names}


def check_cotangents(
    cotangents: Any, dims: Mapping[str, str], batched: bool, sizes: Sizes, label_of: Any = str
) -> dict[str, np.ndarray]:
    """∂L/∂s_t for some of the states of ``dims``, each (T, B, size) (or (T, size)), returned
    batched."""
    names = list(dims)
    if not isinstance(cotangents, Mapping):
        raise ValueError(
            f"cotangents must be a dict keyed by state names (some of {names}), "
            f"got {type(cotangents).__name__}"
        )
    unknown = sorted(set(cotangents) - set(names), key=str)
    if unknown or not cotangents:
        raise ValueError(
            f"cotangents must be a dict keyed by state names (some of {names}): "
            + (f"unknown {unknown}" if unknown else "got none")
        )
    lead = ("T", "B") if batched else ("T",)
    out = {}
    for name, dim in dims.items():
        if name in cotangents:
            label = label_of(f"cotangents[{name!r}]")
            value = check_array(label, cotangents[name], (*lead, dim), sizes)
            out[name] = value if batched else value[:, None, :]
    return out


def check_targets(
    ys: Any, dim: str, loss: str, batched: bool, sizes: Sizes, *, probabilities: bool = False
) -> np.ndarray:
    """The targets ``ys`` (T, B, k) of the loss named ``loss``, returned batched: in [0, 1]
    for a loss that takes their logarithm (``probabilities``), probability vectors for
    ``"ce"``."""
    spec = ("T", "B", dim) if batched else ("T", dim)
    y = check_array("ys", ys, spec, sizes)
    if probabilities and (np.any(y < 0) or np.any(y > 1)):
        raise ValueError("ys must be targets in [0, 1]")
    if loss == "ce":  # softmax cross-entropy: each y_t a distribution
        if np.any(y < 0) or not np.allclose(y.sum(axis=-1), 1, rtol=0, atol=1e-9):
            raise ValueError(
                f"ys must hold probability vectors for the loss 'ce': shape "
                f"{sizes.describe(spec)}, every entry >= 0 and every row (the last axis, k "
                "entries) summing to 1"
            )
    return y if batched else y[:, None, :]


def batch_first_hint(value: Any, lead: tuple[str, ...], sizes: Sizes) -> str:
    """A batch-first xs (B, T, m) is read as T = B and B = T: a state whose batch size is the
    'T' read from xs then seems wrong.  Say so."""
    try:
        shape = np.shape(value)
    except ValueError:  # ragged nested lists: the message already says so
        return ""
    if lead and shape and "T" in sizes and shape[0] == sizes["T"] != sizes.get("B"):
        return (
            f"; xs is time-major, (T, B, m) = ({sizes['T']}, {sizes.get('B')}, …): "
            "a batch-first xs (B, T, m) would need xs.transpose(1, 0, 2)"
        )
    return ""
