"""Cells of the derivations under examples/ that the library does not name, as derivations
Graphs (``cell = "cells:NAME"`` in a derivation file beside this one: a module the checker cannot
import is looked for as a file in the derivation file's folder).
"""

import sympy as sp

from derivations import Affine, Elementwise, Graph, m, n

__all__ = ["d2l_identity_rnn", "d2l_tanh_rnn", "forum_rnn"]

_a = sp.Symbol("a")


def _rnn(name: str, activation, weights: tuple[str, str], bias: str | None) -> Graph:
    w_h, w_x = weights
    return Graph(
        name=name,
        inputs=(("h_prev", n), ("x", m)),
        steps=(
            Affine("a", ((w_h, ("h_prev",)), (w_x, ("x",))), n, bias),
            Elementwise("h", activation(_a)),
        ),
        outputs=("h",),
        state=(("h", "h_prev"),),
        latex_names=(("h_prev", "h_{t-1}"), ("h", "h_{t}"), ("x", "x_{t}"), ("a", "a_{t}")),
    )


#: d2l.ai's RNN of its 2019 BPTT section: h_t = W_hx x_t + W_hh h_{t-1}, the identity activation.
d2l_identity_rnn = _rnn("d2l-identity", lambda a: a, ("W_hh", "W_hx"), None)
#: The same RNN with tanh, as the readers of its discussion thread expected.
d2l_tanh_rnn = _rnn("d2l-tanh", sp.tanh, ("W_hh", "W_hx"), None)
#: The forum question's RNN δ(t) = tanh(⟨w, f(t)⟩ + b + u δ(t-1)).
forum_rnn = _rnn("forum-tanh", sp.tanh, ("u", "w"), "b")
