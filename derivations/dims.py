"""The size symbols shared by every derivation: hidden n, input m, output k, steps T."""

import sympy as sp

__all__ = ["T", "k", "m", "n"]

n = sp.Symbol("n", integer=True, positive=True)  #: hidden size (S_t, h_t, C_t)
m = sp.Symbol("m", integer=True, positive=True)  #: input size (X_t, x_t)
k = sp.Symbol("k", integer=True, positive=True)  #: output size (O_t)
T = sp.Symbol("T", integer=True, positive=True)  #: sequence length
