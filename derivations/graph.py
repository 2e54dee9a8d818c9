"""A recurrent cell s_t = F(s_{t-1}, x_t; θ) as a short list of affine and elementwise steps.

Every model of the article has this shape: eq. (1) is one affine map ``a = W S_{t-1} + U X_t``
followed by an elementwise σ; eq. (2)-(3) are an affine map ``V S_t`` followed by elementwise
maps; eq. (8)-(13) are four affine maps of ``[h_{t-1}; x_t]`` followed by elementwise gates.
Describing a cell this way keeps every derivative dimension-free: the elementwise parts are
exact SymPy scalars, the affine parts contribute their matrices (see :mod:`derivations.adjoint`).

A loss that couples the entries of O_t (the softmax cross-entropy) needs two reductions to a
length-1 node: :class:`Sum` (Σ_i u_i) and :class:`MaxShift` (max_i u_i, a shift the outputs
provably do not depend on).  An elementwise step may mix length-1 nodes with vectors of one
length; the length-1 nodes are broadcast over the entries.

A :class:`Graph` is validated when it is built, so a malformed cell fails with a message that
names the offending step instead of a SymPy traceback deep inside a derivation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

__all__ = ["Affine", "Elementwise", "Graph", "MaxShift", "NON_DIFFERENTIABLE", "Sum"]

#: SymPy functions without a derivative everywhere on the real line; a cell using them is refused.
NON_DIFFERENTIABLE: tuple[type, ...] = (
    sp.Abs,
    sp.Max,
    sp.Min,
    sp.sign,
    sp.Heaviside,
    sp.Piecewise,
    sp.floor,
    sp.ceiling,
    sp.re,
    sp.im,
)


@dataclass(frozen=True)
class Affine:
    r"""``out = Σ_j weight_j · [operands_j] + bias`` (each weight acts on a concatenation).

    ``terms`` pairs each weight name with the names of the vectors it multiplies, stacked in
    order: eq. (1) is ``(("W", ("S_prev",)), ("U", ("X",)))``, eq. (9) is
    ``(("W_f", ("h_prev", "x")),)`` with bias ``"b_f"``.  ``size`` is the length of ``out``.
    """

    out: str
    terms: tuple[tuple[str, tuple[str, ...]], ...]
    size: sp.Expr
    bias: str | None = None

    @property
    def weights(self) -> tuple[str, ...]:
        return tuple(weight for weight, _ in self.terms)


@dataclass(frozen=True)
class Elementwise:
    """``out = expr`` entry by entry (the σ of eq. (1), the gates and products of (8)-(13));
    ``expr`` is a SymPy scalar in the symbols of earlier nodes."""

    out: str
    expr: sp.Expr


@dataclass(frozen=True)
class Sum:
    """``out = Σ_i operand_i``, a node of length 1: the sum over the entries that the loss of
    eq. (3) takes, inside a step (the normaliser Σ_i e^{O_i} of a softmax)."""

    out: str
    operand: str


@dataclass(frozen=True)
class MaxShift:
    """``out = max_i operand_i``, a node of length 1 that the derivation holds constant.

    It is the shift of a stable log-sum-exp, log Σ_i e^{O_i} = c + log Σ_i e^{O_i - c} for every
    c, in the loss of eq. (3): the graph's outputs do not depend on its value, so its derivative
    (a max has none at ties) is never needed.  :func:`derivations.adjoint.backward` proves that
    independence, dimension-free, and refuses a graph whose outputs depend on the shift.
    """

    out: str
    operand: str


Step = Affine | Elementwise | Sum | MaxShift


@dataclass(frozen=True)
class Graph:
    """One time step of a recurrent cell s_t = F(s_{t-1}, x_t; θ) — eq. (1), (8)-(13) — or a
    readout (eq. (2)-(3)), as steps in evaluation order.

    ``inputs`` maps each input vector (previous state, x_t, targets) to its length; ``outputs``
    names the nodes that leave the step.  ``state`` pairs each new-state output with the input
    that holds its previous value (empty for a readout).  ``latex_names`` gives the article's
    symbol for a node name when printed.
    """

    name: str
    inputs: tuple[tuple[str, sp.Expr], ...]
    steps: tuple[Step, ...]
    outputs: tuple[str, ...]
    state: tuple[tuple[str, str], ...] = ()
    latex_names: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        sizes = dict(self.inputs)
        if len(sizes) != len(self.inputs):
            raise ValueError(f"{self.name}: input names must be unique, got {self.input_names}")
        shapes: dict[str, tuple[sp.Expr, sp.Expr]] = {}
        for step in self.steps:
            if step.out in sizes or step.out in shapes:
                raise ValueError(f"{self.name}: node {step.out!r} is defined twice")
            if step.out.startswith("bar_"):
                raise ValueError(f"{self.name}: node names starting 'bar_' are kept for adjoints")
            if isinstance(step, Affine):
                sizes[step.out] = self._check_affine(step, sizes, shapes)
            elif isinstance(step, Sum | MaxShift):
                if step.operand not in sizes:
                    raise ValueError(
                        f"{self.name}: step {step.out!r} reduces {step.operand!r}, which is not "
                        "an earlier node or input"
                    )
                sizes[step.out] = sp.S.One
            else:
                sizes[step.out] = self._check_elementwise(step, sizes)
        if len(set(self.outputs)) != len(self.outputs):
            raise ValueError(f"{self.name}: outputs {list(self.outputs)} repeat a node")
        if len({new for new, _ in self.state}) != len(self.state) or len(
            {prev for _, prev in self.state}
        ) != len(self.state):
            raise ValueError(f"{self.name}: state pairs {list(self.state)} repeat a node")
        for out in self.outputs:
            if out not in sizes:
                raise ValueError(f"{self.name}: output {out!r} is not a node of the graph")
        for new, prev in self.state:
            if new not in self.outputs or prev not in dict(self.inputs):
                raise ValueError(
                    f"{self.name}: state pair ({new!r}, {prev!r}) must pair an output with an input"
                )
            if sp.simplify(sizes[new] - sizes[prev]) != 0:
                raise ValueError(
                    f"{self.name}: the update of state {prev!r} has length {sizes[new]}, "
                    f"but the state has length {sizes[prev]}"
                )
        object.__setattr__(self, "_sizes", sizes)
        object.__setattr__(self, "_shapes", shapes)

    def _check_affine(
        self, step: Affine, sizes: dict[str, sp.Expr], shapes: dict[str, tuple[sp.Expr, sp.Expr]]
    ) -> sp.Expr:
        if not step.terms:
            raise ValueError(f"{self.name}: affine step {step.out!r} has no terms")
        for weight, operands in step.terms:
            if weight in shapes or weight in sizes:
                raise ValueError(f"{self.name}: parameter {weight!r} is used twice")
            if len(set(operands)) != len(operands):
                raise ValueError(
                    f"{self.name}: {weight} in step {step.out!r} stacks {list(operands)}; "
                    "name each vector once (add the repeated vector as its own step)"
                )
            for operand in operands:
                if operand not in sizes:
                    raise ValueError(
                        f"{self.name}: {weight} in step {step.out!r} multiplies {operand!r}, "
                        "which is not an earlier node or input"
                    )
            shapes[weight] = (step.size, sp.Add(*(sizes[o] for o in operands)))
        if step.bias is not None:
            if step.bias in shapes or step.bias in sizes:
                raise ValueError(f"{self.name}: parameter {step.bias!r} is used twice")
            shapes[step.bias] = (step.size, sp.S.One)
        return sp.sympify(step.size)

    def _check_elementwise(self, step: Elementwise, sizes: dict[str, sp.Expr]) -> sp.Expr:
        expr = sp.sympify(step.expr)
        bad = sorted({type(f).__name__ for f in expr.atoms(*NON_DIFFERENTIABLE)})
        if bad:
            raise ValueError(
                f"{self.name}: step {step.out!r} = {expr} uses {', '.join(bad)}, which is not "
                "differentiable everywhere; write the cell with smooth functions"
            )
        names = sorted(s.name for s in expr.free_symbols)
        unknown = [n for n in names if n not in sizes]
        if unknown:
            raise ValueError(
                f"{self.name}: step {step.out!r} = {expr} refers to {unknown}, which are not "
                "earlier nodes or inputs"
            )
        if not names:
            raise ValueError(f"{self.name}: step {step.out!r} = {expr} depends on no node")
        lengths = {sizes[n] for n in names}
        if len(lengths) > 1:
            lengths.discard(sp.S.One)  # a length-1 node is broadcast over the entries
        if len(lengths) > 1:
            detail = ", ".join(f"{n}: {sizes[n]}" for n in names)
            raise ValueError(
                f"{self.name}: step {step.out!r} = {expr} combines vectors of different "
                f"lengths ({detail}); elementwise steps need equal lengths (or length 1)"
            )
        return lengths.pop()

    # ---- read-only views ------------------------------------------------------------------
    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.inputs)

    @property
    def sizes(self) -> Mapping[str, sp.Expr]:
        """Length of every node and input."""
        return self._sizes  # type: ignore[attr-defined]

    @property
    def parameter_shapes(self) -> Mapping[str, tuple[sp.Expr, sp.Expr]]:
        """Shape (rows, columns) of every weight and bias, in order of appearance."""
        return self._shapes  # type: ignore[attr-defined]

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self.parameter_shapes)

    def symbol(self, name: str) -> sp.Symbol:
        """The scalar symbol that stands for one entry of node ``name`` in elementwise steps."""
        return sp.Symbol(name)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.out == name:
                return step
        raise KeyError(name)

    def latex_name(self, name: str) -> str:
        return dict(self.latex_names).get(name, sp.latex(sp.Symbol(name)))
