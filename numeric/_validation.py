"""One validation helper for every public function of :mod:`numeric` (inputs of eq. (1)-(13)).

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

__all__ = ["Sizes", "check_array", "check_choice", "check_keys", "check_params", "is_batched"]


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


def _all_finite(array: np.ndarray) -> bool:
    """Whether every entry is finite, checked a block of rows at a time (memory flat in T)."""
    if array.ndim == 0:
        return bool(np.isfinite(array))
    return all(
        np.isfinite(array[start : start + _FINITE_CHUNK]).all()
        for start in range(0, len(array), _FINITE_CHUNK)
    )


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
    if kind != "O" and not _all_finite(array):
        raise ValueError(f"{name} must be finite, got NaN or inf")
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
