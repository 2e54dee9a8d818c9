r"""Values of a derivation's sides: mpmath matrices (a vector is a column), the zero of any
shape (quantities beyond the last step, the δ_{T+1} = 0 of the derived eq. (5)), the
activations and their derivatives (σ' = σ(1 - σ) of eq. (7)), products read as written or with
a vector as its diagonal, and the comparison of two sides.
"""

from __future__ import annotations

import mpmath

__all__ = [
    "FUNCTIONS",
    "ZERO",
    "broadcast",
    "close",
    "diag",
    "difference",
    "entrywise",
    "is_vector",
    "matmul_readings",
    "matrix",
]


class _Zero:
    """The zero of any shape: quantities beyond the last step (δ_{T+1})."""

    def __repr__(self) -> str:
        return "ZERO"


ZERO = _Zero()


def matrix(rows) -> mpmath.matrix:
    return mpmath.matrix(rows)


def diag(v: mpmath.matrix) -> mpmath.matrix:
    entries = [v[i, 0] for i in range(v.rows)] if v.cols == 1 else [v[0, j] for j in range(v.cols)]
    out = mpmath.zeros(len(entries))
    for i, e in enumerate(entries):
        out[i, i] = e
    return out


def is_vector(v) -> bool:
    return v is not ZERO and (v.cols == 1 or v.rows == 1) and v.rows * v.cols > 1


def entrywise(v: mpmath.matrix, fn) -> mpmath.matrix:
    out = mpmath.matrix(v.rows, v.cols)
    for i in range(v.rows):
        for j in range(v.cols):
            out[i, j] = fn(v[i, j])
    return out


def _sigma(x):
    return 1 / (1 + mpmath.exp(-x))


FUNCTIONS = {
    "sigma": (_sigma, lambda x: _sigma(x) * (1 - _sigma(x))),
    "tanh": (mpmath.tanh, lambda x: 1 - mpmath.tanh(x) ** 2),
    "log": (mpmath.log, lambda x: 1 / x),
    "exp": (mpmath.exp, mpmath.exp),
}


def matmul_readings(a, b) -> list[tuple[object, str]]:
    """Matrix products of a and b: as written, and with a vector beside a matrix read as its
    diagonal."""
    if a is ZERO or b is ZERO:
        return [(ZERO, "")]
    out = []
    if a.rows * a.cols == 1:
        out.append((b * a[0, 0], ""))
    elif b.rows * b.cols == 1:
        out.append((a * b[0, 0], ""))
    elif a.cols == b.rows:
        out.append((a * b, ""))
    elif a.cols == 1 and b.cols == 1 and a.rows == b.rows:
        out.append((a.T * b, "two vectors side by side read as their inner product"))
    if is_vector(b) and not is_vector(a) and a.cols == b.rows * b.cols:
        out.append((a * diag(b), "a vector beside a matrix read as its diagonal"))
    if is_vector(a) and not is_vector(b) and a.rows * a.cols == b.rows:
        out.append((diag(a) * b, "a vector beside a matrix read as its diagonal"))
    return out


def broadcast(a, b, op):
    if a is ZERO or b is ZERO:
        return None
    if a.rows == b.rows and a.cols == b.cols:
        out = mpmath.matrix(a.rows, a.cols)
        for i in range(a.rows):
            for j in range(a.cols):
                out[i, j] = op(a[i, j], b[i, j])
        return out
    if a.rows * a.cols == 1:
        return entrywise(b, lambda x: op(a[0, 0], x))
    if b.rows * b.cols == 1:
        return entrywise(a, lambda x: op(x, b[0, 0]))
    return None


def close(a, b) -> bool:
    """Equal to 12 digits relative to the larger (a shape mismatch is not equal)."""
    return difference(a, b) is not None and difference(a, b) <= 1e-12 * max(
        1.0, _scale(a), _scale(b)
    )


def _scale(v) -> float:
    if v is ZERO:
        return 0.0
    return float(max(abs(v[i, j]) for i in range(v.rows) for j in range(v.cols)))


def _flat(v) -> list:
    return [v[i, j] for i in range(v.rows) for j in range(v.cols)]


def difference(a, b) -> float | None:
    """max |a - b| entry by entry, None when the shapes cannot be compared.  A vector against
    a square matrix is its diagonal; vectors (and gradients) of equal size compare entry by
    entry whatever their orientation."""
    if a is ZERO and b is ZERO:
        return 0.0
    if a is ZERO or b is ZERO:
        return _scale(b if a is ZERO else a)
    if a.rows == b.rows and a.cols == b.cols:
        return float(max(abs(x - y) for x, y in zip(_flat(a), _flat(b), strict=True)))
    if is_vector(b) and a.rows == a.cols == b.rows * b.cols:
        return difference(a, diag(b))
    if is_vector(a) and b.rows == b.cols == a.rows * a.cols:
        return difference(diag(a), b)
    if a.rows * a.cols == b.rows * b.cols and (is_vector(a) or is_vector(b) or a.rows == 1):
        return float(max(abs(x - y) for x, y in zip(_flat(a), _flat(b), strict=True)))
    return None
