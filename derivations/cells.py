r"""A library of recurrent cells, readouts and losses, written in the graph language.

Each cell is a :class:`~derivations.graph.Graph` for one step s_t = F(s_{t-1}, x_t; θ), so the
generic derivation (:mod:`derivations.adjoint`) gives its backward program and state Jacobian,
:func:`derivations.prove` checks both exactly at small sizes, and :class:`numeric.Model`
compiles it.  The article's models are two of them: eq. (1) is ``elman("sigmoid")`` and
eq. (8)-(13) is ``lstm()``.

* :func:`elman` — S_t = act(W S_{t-1} + U X_t (+ b)), eq. (1) (Elman 1990);
* :func:`lstm` — eq. (8)-(13) (Gers, Schmidhuber & Cummins 2000); without the forget gate, the
  LSTM of Hochreiter & Schmidhuber 1997, whose cell path is the constant error carousel;
* :func:`gru` — Cho et al. 2014 (r applied to h_{t-1} before the matmul) or PyTorch's
  ``nn.GRU`` (r applied after it);
* :func:`readout` — O_t = V s_t (+ c), or σ of it as in eq. (2);
* :func:`loss` — a loss ℓ(O, y) summed over entries, eq. (3): ``"bce"``, ``"mse"``, the
  article's readings, any per-entry SymPy expression in :data:`O` and :data:`y`, or ``"ce"``,
  the softmax cross-entropy over the k logits O_t (:func:`softmax_cross_entropy`);
* :func:`head` — a readout and a loss as one graph, the part of eq. (2)-(3) after the cell.

Every cell's state names are its outputs: ``("S",)`` for Elman, ``("C", "h")`` for the LSTM,
``("h",)`` for the GRU; a readout reads the last of them (h_t, or S_t).

>>> [name for name, _ in gru("torch").state]
['h']
>>> lstm(forget_gate=False).parameters
('W_i', 'b_i', 'W_c', 'b_c', 'W_o', 'b_o')
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import sympy as sp

from .activations import sigma
from .dims import k, m, n
from .graph import Affine, Elementwise, Graph, MaxShift, Sum

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "O",
    "elman",
    "gru",
    "head",
    "loss",
    "lstm",
    "readout",
    "softmax_cross_entropy",
    "y",
]

#: State activations of eq. (1): the article's δ is the logistic sigmoid; tanh is the usual one.
ACTIVATIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {"sigmoid": sigma, "tanh": sp.tanh}

#: One entry of the output O_t and of the target y_t: the symbols a loss of eq. (3) is written in.
O, y = sp.Symbol("O"), sp.Symbol("y")  # noqa: E741 - the article names its output O_t


@cache
def softmax_cross_entropy() -> Graph:
    r"""The softmax cross-entropy of eq. (3) over the k logits O_t, targets y_t probabilities:
    ℓ_t = -Σ_j y_j log softmax(O_t)_j = Σ_j y_j (log Σ_i e^{O_i} - O_j).

    Written stably, with the shift μ = max_i O_i (node ``shift``, a
    :class:`~derivations.graph.MaxShift`, which the derivation proves the loss independent of):
    e_i = e^{O_i - μ} ≤ 1, Z = Σ_i e_i ≥ 1, ℓ_j = y_j (log Z - (O_j - μ)).  The derived
    adjoint is Ō_j = (Σ_i ℓ̄_i y_i / Z) e_j - ℓ̄_j y_j, the familiar softmax(O) - y when ℓ̄ = 1 and
    Σ y = 1.

    >>> [type(step).__name__ for step in softmax_cross_entropy().steps]
    ['MaxShift', 'Elementwise', 'Sum', 'Elementwise']
    """
    shift, e, Z = sp.symbols("shift e Z")  # not c: that is the readout's bias
    return Graph(
        name="loss[ce]",
        inputs=(("O", k), ("y", k)),
        steps=(
            MaxShift("shift", "O"),
            Elementwise("e", sp.exp(O - shift)),
            Sum("Z", "e"),
            Elementwise("ell", y * (sp.log(Z) - (O - shift))),
        ),
        outputs=("ell",),
        latex_names=(("O", "O_{t}"), ("y", "y_{t}"), ("ell", r"\ell_{t}")),
    )


#: Losses of eq. (3), summed over entries and time steps: per-entry expressions ℓ(O, y), and the
#: softmax cross-entropy ``"ce"``, which couples the entries (a graph of its own).
LOSSES: dict[str, sp.Expr | Graph] = {
    # binary cross-entropy: the proper loss for the sigmoid outputs of eq. (2)
    "bce": -(y * sp.log(O) + (1 - y) * sp.log(1 - O)),
    # squared error, halved so that ∂ℓ/∂O = O - y
    "mse": (O - y) ** 2 / 2,
    # the article's eq. (3) read literally: -O log Ô with O the output and Ô = y the target
    "literal": -O * sp.log(y),
    # the article's eq. (3) with the roles swapped: -y log O
    "ce-article": -y * sp.log(O),
    # softmax cross-entropy over the k logits of a linear readout: -Σ_j y_j log softmax(O)_j
    "ce": softmax_cross_entropy(),
}


def _choice(name: str, value: object, options) -> None:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")


_ELMAN_LATEX = (("S_prev", "S_{t-1}"), ("S", "S_{t}"), ("X", "X_{t}"), ("a", "a_{t}"))


def elman(activation: str = "sigmoid", bias: bool = False) -> Graph:
    """Eq. (1), S_t = act(W S_{t-1} + U X_t + b): Elman's simple recurrent network.

    ``elman("sigmoid")`` is the article's cell (its δ is σ); ``bias`` adds b (n,).  Parameters
    keep the article's names W (n, n) and U (n, m); the state is S.
    """
    _choice("activation", activation, ACTIVATIONS)
    _flag("bias", bias)
    return _elman(activation, bias)


def _flag(name: str, value: object) -> None:
    # checked before the cache: 1 == True would otherwise return the cached True graph
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


@cache
def _elman(activation: str, bias: bool) -> Graph:
    a = sp.Symbol("a")
    return Graph(
        name=f"elman[{activation}{', bias' if bias else ''}]",
        inputs=(("S_prev", n), ("X", m)),
        steps=(
            Affine("a", (("W", ("S_prev",)), ("U", ("X",))), n, "b" if bias else None),
            Elementwise("S", ACTIVATIONS[activation](a)),
        ),
        outputs=("S",),
        state=(("S", "S_prev"),),
        latex_names=_ELMAN_LATEX,
    )


_LSTM_LATEX = (
    ("h_prev", "h_{t-1}"),
    ("C_prev", "C_{t-1}"),
    ("o_prev", "o_{t-1}"),
    ("x", "x_{t}"),
    ("i", "i_{t}"),
    ("f", "f_{t}"),
    ("g", r"\tilde{C}_{t}"),
    ("o", "o_{t}"),
    ("C", "C_{t}"),
    ("h", "h_{t}"),
    *((f"z_{g}", f"z_{{{g},t}}") for g in "ifco"),
)


def lstm(forget_gate: bool = True) -> Graph:
    """Eq. (8)-(13): gates of [h_{t-1}; x_t], C_t = i_t ⊙ C̃_t + f_t ⊙ C_{t-1}, h_t = o_t ⊙ tanh C_t.

    Each W_g (g ∈ i, f, c, o) is n × (n+m) and acts on [h_{t-1}; x_t], h first as the article
    writes; the state is (C_t, h_t), in that order.  ``forget_gate=False`` is the LSTM of
    Hochreiter & Schmidhuber (1997): C_t = C_{t-1} + i_t ⊙ C̃_t, the constant error carousel
    (∂C_t/∂C_{t-1} = I on the cell path).
    """
    _flag("forget_gate", forget_gate)
    return _lstm(forget_gate)


@cache
def _lstm(forget_gate: bool) -> Graph:
    gates = ("i", "f", "c", "o") if forget_gate else ("i", "c", "o")
    z = {g: sp.Symbol(f"z_{g}") for g in gates}
    i, f, g, o, C, C_prev = sp.symbols("i f g o C C_prev")
    forget = (Elementwise("f", sigma(z["f"])),) if forget_gate else ()  # (9)
    return Graph(
        name="lstm" if forget_gate else "lstm[no forget gate]",
        inputs=(("h_prev", n), ("C_prev", n), ("x", m)),
        steps=(
            *(
                Affine(f"z_{gate}", ((f"W_{gate}", ("h_prev", "x")),), n, f"b_{gate}")
                for gate in gates
            ),
            Elementwise("i", sigma(z["i"])),  # (8)
            *forget,
            Elementwise("g", sp.tanh(z["c"])),  # (10), the article's C̃_t
            Elementwise("C", i * g + (f if forget_gate else 1) * C_prev),  # (11)
            Elementwise("o", sigma(z["o"])),  # (12)
            Elementwise("h", o * sp.tanh(C)),  # (13)
        ),
        outputs=("C", "h"),
        state=(("C", "C_prev"), ("h", "h_prev")),
        latex_names=_LSTM_LATEX,
    )


_GRU_LATEX = (
    ("h_prev", "h_{t-1}"),
    ("x", "x_{t}"),
    ("r", "r_{t}"),
    ("z", "z_{t}"),
    ("nc", r"\tilde{h}_{t}"),
    ("h", "h_{t}"),
)


def gru(variant: str = "torch") -> Graph:
    r"""The gated recurrent unit, in the same family as eq. (8)-(13), in two variants.

    ``"cho"`` (Cho et al. 2014): r_t = σ(W_r [h_{t-1}; x_t] + b_r), z_t likewise,
    h̃_t = tanh(W_n [r_t ⊙ h_{t-1}; x_t] + b_n), h_t = (1 − z_t) ⊙ h̃_t + z_t ⊙ h_{t-1}.

    ``"torch"`` (PyTorch's ``nn.GRU``): r applied after the recurrent matmul,
    h̃_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn)), with r_t = σ(W_ir x_t + W_hr
    h_{t-1} + b_r) and z_t likewise (b_r = b_ir + b_hr: torch's two biases of r add up).
    """
    _choice("variant", variant, ("torch", "cho"))
    return _gru(variant)


@cache
def _gru(variant: str) -> Graph:
    r, z, nc, h_prev = sp.symbols("r z nc h_prev")
    a_r, a_z = sp.symbols("a_r a_z")
    update = Elementwise("h", (1 - z) * nc + z * h_prev)
    if variant == "cho":
        a_n, rh = sp.symbols("a_n rh")
        steps = (
            Affine("a_r", (("W_r", ("h_prev", "x")),), n, "b_r"),
            Affine("a_z", (("W_z", ("h_prev", "x")),), n, "b_z"),
            Elementwise("r", sigma(a_r)),
            Elementwise("z", sigma(a_z)),
            Elementwise("rh", r * h_prev),
            Affine("a_n", (("W_n", ("rh", "x")),), n, "b_n"),
            Elementwise("nc", sp.tanh(a_n)),
            update,
        )
    else:
        a_in, a_hn = sp.symbols("a_in a_hn")
        steps = (
            Affine("a_r", (("W_ir", ("x",)), ("W_hr", ("h_prev",))), n, "b_r"),
            Affine("a_z", (("W_iz", ("x",)), ("W_hz", ("h_prev",))), n, "b_z"),
            Affine("a_in", (("W_in", ("x",)),), n, "b_in"),
            Affine("a_hn", (("W_hn", ("h_prev",)),), n, "b_hn"),
            Elementwise("r", sigma(a_r)),
            Elementwise("z", sigma(a_z)),
            Elementwise("nc", sp.tanh(a_in + r * a_hn)),
            update,
        )
    return Graph(
        name=f"gru[{variant}]",
        inputs=(("h_prev", n), ("x", m)),
        steps=steps,
        outputs=("h",),
        state=(("h", "h_prev"),),
        latex_names=_GRU_LATEX,
    )


# ---- after the cell: readouts and losses of eq. (2)-(3) -------------------------------------

_READOUTS = ("identity", "linear", "sigmoid")


def readout(kind: str = "sigmoid", bias: bool = False) -> Graph:
    """O_t = V s_t (+ c) (``"linear"``), σ of it (``"sigmoid"``, eq. (2)), or O_t = s_t
    (``"identity"``: a loss taken on the state itself, k = n).

    V is k × n; ``bias`` adds c (k,).  The input ``s`` is the state the readout reads.
    """
    _choice("kind", kind, _READOUTS)
    _flag("bias", bias)
    if bias and kind == "identity":
        raise ValueError("bias must be False for the identity readout (O_t = s_t)")
    return _readout(kind, bias)


@cache
def _readout(kind: str, bias: bool) -> Graph:
    c = "c" if bias else None
    if kind == "identity":
        steps: tuple = (Elementwise("O", sp.Symbol("s")),)
    elif kind == "linear":
        steps = (Affine("O", (("V", ("s",)),), k, c),)
    else:
        steps = (Affine("o", (("V", ("s",)),), k, c), Elementwise("O", sigma(sp.Symbol("o"))))
    return Graph(
        name=f"readout[{kind}{', bias' if bias else ''}]",
        inputs=(("s", n),),
        steps=steps,
        outputs=("O",),
        latex_names=(("s", "s_{t}"), ("o", "o_{t}"), ("O", "O_{t}")),
    )


def _loss_expr(spec: str | sp.Expr) -> tuple[str, sp.Expr | Graph]:
    if isinstance(spec, str):
        _choice("loss", spec, LOSSES)
        return spec, LOSSES[spec]
    try:
        expr = sp.sympify(spec, strict=True)
    except (sp.SympifyError, TypeError):
        raise ValueError(
            f"loss must be one of {sorted(LOSSES)} or a SymPy expression in "
            f"derivations.cells.O and derivations.cells.y, got {type(spec).__name__}"
        ) from None
    if not isinstance(expr, sp.Expr) or not expr.free_symbols or not expr.free_symbols <= {O, y}:
        raise ValueError(
            f"loss must be a SymPy expression in derivations.cells.O (the output) and "
            f"derivations.cells.y (the target), got {spec} with symbols "
            f"{sorted(str(s) for s in getattr(expr, 'free_symbols', ()))}"
        )
    if O not in expr.free_symbols:
        raise ValueError(f"loss {spec} does not depend on the output O: it has no gradient")
    return sp.sstr(expr), expr


@cache
def _loss_graph(name: str, expr: sp.Expr) -> Graph:
    return Graph(
        name=f"loss[{name}]",
        inputs=(("O", k), ("y", k)),
        steps=(Elementwise("ell", expr),),
        outputs=("ell",),
        latex_names=(("O", "O_{t}"), ("y", "y_{t}"), ("ell", r"\ell_{t}")),
    )


def loss(spec: str | sp.Expr = "bce") -> Graph:
    """Eq. (3) entry by entry: ℓ_t = ℓ(O_t, y_t), the loss L = Σ_t Σ_j ℓ_tj.

    ``spec`` is a name of :data:`LOSSES` or a SymPy expression in :data:`O` and :data:`y`,
    such as ``(O - y)**2`` or ``-y * sympy.log(O)``; ``"ce"`` is the softmax cross-entropy
    (:func:`softmax_cross_entropy`), which is not entry by entry.

    >>> loss((O - y) ** 2).steps[0].expr
    (O - y)**2
    >>> loss("ce").name
    'loss[ce]'
    """
    name, expr = _loss_expr(spec)
    return expr if isinstance(expr, Graph) else _loss_graph(name, expr)


@cache
def head(readout_graph: Graph, loss_graph: Graph) -> Graph:
    """A readout (eq. (2)) followed by a loss (eq. (3)) as one graph: inputs ``s`` (n) and the
    target ``y`` (as long as O_t: k, or n for the identity readout), output ℓ_t (summed by the
    caller)."""
    for part, needs in ((readout_graph, ("s",)), (loss_graph, ("O", "y"))):
        if not isinstance(part, Graph) or part.state or part.input_names != needs:
            raise ValueError(
                f"head needs a readout graph with input s and a loss graph with inputs O, y; "
                f"got {getattr(part, 'name', type(part).__name__)}"
            )
    if readout_graph.outputs != ("O",):
        raise ValueError(f"the readout {readout_graph.name} must have the one output O")
    return Graph(
        name=f"{readout_graph.name}+{loss_graph.name}",
        inputs=(("s", n), ("y", readout_graph.sizes["O"])),
        steps=readout_graph.steps + loss_graph.steps,
        outputs=loss_graph.outputs,
        latex_names=readout_graph.latex_names + loss_graph.latex_names,
    )
