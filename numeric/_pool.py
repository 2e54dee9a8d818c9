"""Reused work arrays for the BPTT engine.

A fresh NumPy array of a few megabytes is mapped lazily by the operating system: the first
write to each page faults.  At RNN sizes the engine writes every kept node once per step, so
fresh arrays make page faults cost more than the arithmetic.  A :class:`Pool` hands out arrays
by shape and dtype and takes them all back when its ``with`` block ends; the next call of the
same shapes reuses them.  Only arrays that do not leave the call may come from a pool.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import numpy as np

__all__ = ["Pool", "scratch"]


class Pool:
    """Arrays by (shape, dtype), reused across ``with`` blocks of one thread."""

    def __init__(self) -> None:
        self._free: dict[tuple, list[np.ndarray]] = defaultdict(list)
        self._lent: list[tuple[tuple, np.ndarray]] = []
        self.depth = 0

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An array of ``shape`` and ``dtype``, contents arbitrary, lent until the block ends."""
        key = (tuple(shape), np.dtype(dtype).str)
        free = self._free[key]
        array = free.pop() if free else np.empty(shape, dtype)
        self._lent.append((key, array))
        return array

    def __enter__(self) -> Pool:
        self.depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
        if self.depth == 0:
            for key, array in self._lent:
                self._free[key].append(array)
            self._lent.clear()


_local = threading.local()


def scratch() -> Pool:
    """This thread's pool."""
    if not hasattr(_local, "pool"):
        _local.pool = Pool()
    return _local.pool
