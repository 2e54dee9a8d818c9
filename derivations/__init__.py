"""Symbolic core of bptt-check (SymPy only, no NumPy).

The article's equations (1)-(14) in two readings (:mod:`derivations.equations`); the graph
language for a recurrent cell s_t = F(s_{t-1}, x_t; θ) (:class:`Affine` and
:class:`Elementwise` steps in a :class:`Graph`); the generic derivation of its backward pass
and state Jacobian (:mod:`derivations.adjoint`); a library of cells, readouts and losses
(:mod:`derivations.cells`: the article's RNN of eq. (1)-(3) and LSTM of eq. (8)-(13), Elman,
the 1997 LSTM, two GRUs); and exact proofs at small sizes (:func:`prove`,
:mod:`derivations.proofs`).

A cell in a few lines, proved exact:

>>> import sympy as sp
>>> from derivations import Affine, Elementwise, Graph, m, n, prove, sigma
>>> a = sp.Symbol("a")
>>> cell = Graph(
...     name="my-rnn",
...     inputs=(("h_prev", n), ("x", m)),
...     steps=(Affine("a", (("W", ("h_prev", "x")),), n, "b"), Elementwise("h", sigma(a))),
...     outputs=("h",),
...     state=(("h", "h_prev"),),
... )
>>> prove(cell).holds
True
"""

from . import cells
from .activations import sigma
from .dims import k, m, n
from .graph import Affine, Elementwise, Graph
from .proofs import CellProofs, Proof, prove

__all__ = [
    "Affine",
    "CellProofs",
    "Elementwise",
    "Graph",
    "Proof",
    "cells",
    "k",
    "m",
    "n",
    "prove",
    "sigma",
]
