"""Array functions generated from :mod:`derivations` (NumPy + mpmath).

Placeholder for issue #3: the RNN of eq. (1)-(3) and the LSTM of eq. (8)-(13) as compiled
NumPy kernels, the BPTT time loop, finite differences, complex step and mpmath checks.
"""
