"""Array functions generated from :mod:`derivations` (NumPy + mpmath).

* :mod:`numeric.rnn` — the RNN of eq. (1)-(3): ``forward``, ``value_and_grad``,
  ``state_jacobians``, ``problem``;
* :mod:`numeric.lstm` — the LSTM of eq. (8)-(13): ``forward``, ``vjp``, ``state_jacobians``,
  ``problem``;
* :mod:`numeric.interop` — PyTorch's ``nn.RNN``, ``nn.GRU`` and ``nn.LSTM`` as :class:`Model` s
  (torch optional, never imported);
* :mod:`numeric.checks` — gradient checks against complex step, central differences, a random
  direction, the Taylor remainder, mpmath, and step by step through time.

No derivative is written here: kernels are lambdified from the derived SymPy expressions and
the time loop interprets the derived backward program.  The same program also runs as fused
loops compiled by numba (``Model(..., backend="numba")``, the ``fast`` extra), generated from
the derived expressions and cached on disk; ``backend="auto"``, the default, uses them where
they pay (small steps, code already compiled) and the NumPy interpreter, the reference,
everywhere else.  :class:`VJP` and :class:`ValueAndGrad` are the named results of
:meth:`Model.vjp` and :meth:`Model.value_and_grad`.
"""

from . import checks, interop, lstm, rnn
from ._compiled import pinned as backend
from ._jacobian import product_norms
from .lyapunov import Spectrum, lyapunov
from .model import VJP, Model, ValueAndGrad

__all__ = [
    "VJP",
    "Model",
    "Spectrum",
    "ValueAndGrad",
    "backend",
    "checks",
    "interop",
    "lstm",
    "lyapunov",
    "product_norms",
    "rnn",
]
