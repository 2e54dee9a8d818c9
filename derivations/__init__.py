"""Symbolic core of bptt-check (SymPy only, no NumPy).

The article's equations (1)-(14) in two readings (:mod:`derivations.equations`), the generic
derivation of the backward pass and state Jacobian of any recurrent cell
(:mod:`derivations.adjoint`), the RNN of eq. (1)-(3) and the LSTM of eq. (8)-(13) as instances
of it, and the explicit-size machinery that proves the derivations exact
(:mod:`derivations.explicit`, :mod:`derivations.proofs`).
"""
