"""Reused work arrays for the BPTT engine.

A fresh NumPy array of a few megabytes is mapped lazily by the operating system: the first
write to each page faults.  At RNN sizes the engine writes every kept node once per step, so
fresh arrays make page faults cost more than the arithmetic.  A :class:`Pool` hands out arrays
by shape and dtype and takes them all back when its ``with`` block ends; the next call of the
same shapes reuses them.  Only arrays that do not leave the call may come from a pool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

__all__ = ["Pool", "scratch"]


class Pool:
    """Arrays by (shape, dtype), reused across ``with`` blocks of one thread; at most
    ``capacity`` bytes are kept between blocks, the shapes used least recently going first."""

    def __init__(self, capacity: int = 256 * 2**20) -> None:
        self.capacity = capacity
        self._free: OrderedDict[tuple, list[np.ndarray]] = OrderedDict()
        self._lent: list[tuple[tuple, np.ndarray]] = []
        self.depth = 0

    @property
    def kept_bytes(self) -> int:
        return sum(a.nbytes for arrays in self._free.values() for a in arrays)

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An array of ``shape`` and ``dtype``, contents arbitrary, lent until the block ends."""
        key = (tuple(shape), np.dtype(dtype).str)
        free = self._free.get(key)
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
                self._free.setdefault(key, []).append(array)
                self._free.move_to_end(key)
            self._lent.clear()
            kept = self.kept_bytes
            while kept > self.capacity and self._free:
                _, arrays = self._free.popitem(last=False)
                kept -= sum(a.nbytes for a in arrays)


_local = threading.local()


def scratch() -> Pool:
    """This thread's pool."""
    if not hasattr(_local, "pool"):
        _local.pool = Pool()
    return _local.pool
