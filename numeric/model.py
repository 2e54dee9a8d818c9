r"""Any recurrent cell of the graph language as array functions: :class:`Model`.

A :class:`derivations.graph.Graph` for one step s_t = F(s_{t-1}, x_t; θ) — the article's RNN
(eq. (1)) and LSTM (eq. (8)-(13)), a cell of :mod:`derivations.cells`, or your own — compiled
once into a forward pass, the derived BPTT (eq. (4)-(6) corrected: the adjoint recursion
δ_t = ∂L_t/∂s_t + (∂s_{t+1}/∂s_t)ᵀ δ_{t+1}), state Jacobians (eq. (7), (14)) and, with a readout
and a loss (eq. (2)-(3)), the loss and its gradient.

Arrays are time-major: a sequence input is (T, B, m), a state (B, size), a trajectory
(T, B, size); unbatched xs (T, m) with states (size,) give unbatched results.  States and
cotangents are dicts keyed by the cell's state names (:attr:`Model.states`).

>>> import numpy as np
>>> from derivations import cells
>>> model = Model(cells.gru("torch"))
>>> model.states
(('h', n),)
>>> params = model.init(n=4, m=3, seed=0)
>>> xs = np.random.default_rng(0).normal(size=(5, 2, 3))
>>> trajectory = model.forward(params, xs, {"h": np.zeros((2, 4))})
>>> trajectory["h"].shape
(5, 2, 4)
>>> grads, initial = model.vjp(params, xs, {"h": np.zeros((2, 4))}, {"h": np.ones((5, 2, 4))})
>>> grads["W_hn"].shape, initial["h"].shape
((4, 4), (2, 4))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

from derivations import cells
from derivations.graph import Graph

from . import _compiled, _jacobian
from ._engine import Plan, Trace, plan
from ._pool import Pool, scratch
from ._validation import (
    Sizes,
    agree_call_sizes,
    check_choice,
    check_cotangents,
    check_keys,
    check_params,
    check_sequence,
    check_states,
    check_targets,
)
from .checks import BPTT, Problem

__all__ = ["VJP", "Model", "ValueAndGrad"]

#: Losses that take the logarithm of the target (or of one minus it): targets lie in [0, 1].
_PROBABILITY_TARGETS = ("bce", "literal", "ce-article")


@cache
def _dim(size: sp.Expr) -> str:
    """A symbolic size as the validation helper reads it: ``n``, ``n+m``, ``2n+1``."""
    size = sp.sympify(size)
    order = {"n": 0, "m": 1, "k": 2}
    terms = []
    for symbol in sorted(size.free_symbols, key=lambda s: (order.get(s.name, 3), s.name)):
        coefficient = size.coeff(symbol)
        if not coefficient.is_Integer or coefficient < 1:
            raise ValueError(f"size {size} is not a sum of sizes with positive integer factors")
        terms.append(symbol.name if coefficient == 1 else f"{coefficient}{symbol.name}")
    constant = size.subs({s: 0 for s in size.free_symbols})
    if constant != 0:
        terms.append(str(constant))
    return "+".join(terms)


def _parameter_specs(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Each weight and bias of ``graph`` with its shape as size names (a bias is a vector)."""
    return {
        name: (_dim(rows),) if columns == 1 else (_dim(rows), _dim(columns))
        for name, (rows, columns) in graph.parameter_shapes.items()
    }


class VJP(NamedTuple):
    """What :meth:`Model.vjp` returns: the gradients of the cell's parameters and of the
    initial states (keyed by state name), each the shape of its argument (eq. (4)-(6))."""

    grads: dict[str, np.ndarray]
    state0: dict[str, np.ndarray]


class ValueAndGrad(NamedTuple):
    """What :meth:`Model.value_and_grad` returns: the loss L of eq. (3), the gradients of
    every parameter, and those of the initial states (keyed by state name)."""

    value: float
    grads: dict[str, np.ndarray]
    state0: dict[str, np.ndarray]


@dataclass(frozen=True)
class _Call:
    """One checked call: parameters, sequence inputs (T, B, ·), previous states (B, ·) keyed by
    the cell's input names, whether the caller's arrays had a batch axis, and the sizes."""

    params: dict[str, np.ndarray]
    sequence: dict[str, np.ndarray]
    initial: dict[str, np.ndarray]
    batched: bool
    sizes: Sizes


class Model:
    """A recurrent cell compiled for arrays, with an optional readout and loss (eq. (1)-(13)).

    ``cell`` is a :class:`~derivations.graph.Graph` with a state (see :mod:`derivations.cells`).
    ``readout`` is a readout graph (:func:`derivations.cells.readout`) or its kind
    (``"linear"``, ``"sigmoid"``); ``loss`` a loss graph, a name of
    :data:`derivations.cells.LOSSES` or a SymPy expression in ``cells.O`` and ``cells.y``.
    A loss without a readout is taken on the state itself (O_t = s_t).  The readout reads the
    cell's last state (h_t for the LSTM and GRU, S_t for Elman) unless ``reads`` names another.

    Compilation happens once per cell and process (the first call); a model is cheap to make.

    ``backend`` runs the forward and backward passes on the NumPy interpreter (``"numpy"``, the
    reference), on fused loops compiled by numba from the same derived program (``"numba"``,
    needs the ``fast`` extra) or on the compiled loops only where they pay (``"auto"``: small
    steps, and machine code cached on disk or a cell this process has already interpreted for
    about as long as compiling takes).  Without it, ``BPTT_CHECK_BACKEND`` from the
    environment, else ``"auto"``; each call may pin another with its own ``backend=``.
    ``labels`` renames arguments in error messages for a wrapper with its own signature
    (``{"state0['h']": "h0"}``, as :mod:`numeric.lstm` does).
    """

    def __init__(
        self,
        cell: Graph,
        readout: Graph | str | None = None,
        loss: Graph | str | sp.Expr | None = None,
        *,
        reads: str | None = None,
        backend: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(cell, Graph) or not cell.state:
            raise ValueError(
                "cell must be a derivations Graph with a state (see derivations.cells), "
                f"got {getattr(cell, 'name', type(cell).__name__)}"
            )
        self.cell = cell
        self.backend = None if backend is None else _backend(backend)
        self.states: tuple[tuple[str, sp.Expr], ...] = tuple(
            (new, cell.sizes[prev]) for new, prev in cell.state
        )
        self._previous = dict(cell.state)  # state name -> the input holding its previous value
        self.sequence = tuple(i for i in cell.input_names if i not in self._previous.values())
        if isinstance(readout, str):
            readout = cells.readout(readout)
        if loss is not None and not isinstance(loss, Graph):
            loss = cells.loss(loss)
        if readout is not None and loss is None:
            raise ValueError("a readout needs a loss: pass loss='mse', 'bce' or an expression")
        if loss is not None and readout is None:
            readout = cells.readout("identity")
        self.readout, self.loss = readout, loss
        self.head = None if loss is None else cells.head(readout, loss)
        state_names = [name for name, _ in self.states]
        self.reads = state_names[-1] if reads is None else reads
        if self.reads not in state_names:
            raise ValueError(f"reads must be one of the states {state_names}, got {reads!r}")
        # argument names in messages, for wrappers with their own signatures ("h0" for
        # state0['h']); empty for a Model used directly
        self._labels: dict[str, str] = dict(labels or {})
        self._cell_specs = _parameter_specs(cell)
        self._head_specs = {} if self.head is None else _parameter_specs(self.head)
        clash = sorted(set(self._cell_specs) & set(self._head_specs))
        if clash:
            raise ValueError(f"the cell and the readout both have parameters {clash}")

    # ---- the typed interface of the siblings (numeric.lyapunov, numeric.rnn, numeric.lstm) ----
    @property
    def cell_parameters(self) -> Mapping[str, tuple[str, ...]]:
        """Each of the cell's parameters with its shape as size names (``("n", "n+m")``)."""
        return self._cell_specs

    @property
    def head_parameters(self) -> Mapping[str, tuple[str, ...]]:
        """The readout's parameters likewise (empty without a loss)."""
        return self._head_specs

    @property
    def previous(self) -> Mapping[str, str]:
        """Each state's name to the cell input that holds its previous value (h -> h_prev)."""
        return self._previous

    def label(self, argument: str) -> str:
        """The name a message gives ``argument`` (``"state0['h']"``): the wrapper's own name
        for it when the model was made with ``labels``."""
        return self._label(argument)

    def check_sequence(self, xs: Any, sizes: Sizes) -> tuple[dict[str, np.ndarray], bool]:
        """The model's own check of ``xs`` (float64): the sequence inputs by name and whether
        they had a batch axis, their sizes bound into ``sizes``."""
        return self._check_sequence(xs, sizes, False)

    def forward_and_outputs(
        self, params: dict, xs: Any, state0: Mapping[str, Any], *, backend: str | None = None
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """:meth:`forward` and :meth:`outputs` from one forward pass (eq. (1)-(2))."""
        backend = self._pinned(backend)
        self._require_head("forward_and_outputs")
        call = self._check(params, xs, state0, head="required")
        trace = self._run(call, backend=backend)
        return self._trajectories(trace.values, call.batched), self._outputs(call, trace)

    @cached_property
    def _cell_plan(self) -> Plan:
        return plan(self.cell)  # cached per graph; kept here to skip hashing the graph per call

    @cached_property
    def _head_plan(self) -> Plan:
        return plan(self.head)

    def __repr__(self) -> str:
        parts = [self.cell.name] + ([] if self.head is None else [self.head.name])
        return f"Model({', '.join(parts)})"

    # ---- sizes and initial values ------------------------------------------------------------
    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter name: the cell's, then the readout's."""
        return (*self._cell_specs, *self._head_specs)

    def parameter_shapes(self, n: int, m: int, k: int | None = None) -> dict[str, tuple[int, ...]]:
        """The shape of every parameter at hidden size ``n``, input size ``m`` and, with a
        readout, output size ``k`` (for a loss on the state itself, k = n)."""
        sizes = Sizes(n=_size("n", n), m=_size("m", m))
        if self.head is not None:
            if self.readout.name == "readout[identity]":
                k = n if k is None else k
            if k is None:
                raise ValueError("k (the output size) is needed: this model has a readout")
            sizes["k"] = _size("k", k)
        elif k is not None:
            sizes["k"] = _size("k", k)
        shapes = {}
        for name, spec in {**self._cell_specs, **self._head_specs}.items():
            values = [sizes.value(d) for d in spec]
            if None in values:
                missing = sorted({d for d, v in zip(spec, values, strict=True) if v is None})
                raise ValueError(f"params[{name!r}] needs the size(s) {missing}: not n, m or k")
            shapes[name] = tuple(values)
        return shapes

    def init(self, n: int, m: int, k: int | None = None, *, seed: int = 0) -> dict[str, np.ndarray]:
        """Parameters drawn uniformly from [-1/√n, 1/√n], PyTorch's default for its recurrent
        cells and for a linear readout of an n-vector; the same seed gives the same arrays."""
        shapes = self.parameter_shapes(n, m, k)  # checks the sizes first
        rng = np.random.default_rng(seed)
        bound = 1 / np.sqrt(n)
        return {name: rng.uniform(-bound, bound, size=shape) for name, shape in shapes.items()}

    # ---- checking a call ---------------------------------------------------------------------
    def _check(
        self,
        params: Any,
        xs: Any,
        state0: Any,
        *,
        head: str = "optional",
        allow_complex: bool = False,
    ) -> _Call:
        """Validate a call: xs fixes T, B and the input sizes; the weights fix n (and k), so a
        state one unit too wide is blamed, not the weight.  ``head`` is ``"required"``,
        ``"optional"`` (checked when given) or ``"ignored"``."""
        sizes = Sizes()
        sequence, batched = self._check_sequence(xs, sizes, allow_complex)
        if head == "required":
            expected, optional = {**self._cell_specs, **self._head_specs}, {}
        else:
            expected, optional = self._cell_specs, self._head_specs
        if isinstance(params, Mapping):  # n, m, k from every argument at once
            check_keys("params", params, expected, optional)
            self._agree_sizes(
                xs, sequence, params, {**expected, **optional}, state0, batched, sizes
            )
        p = check_params(params, expected, sizes, allow_complex=allow_complex, optional=optional)
        initial = self._check_states(
            "state0", state0, ("B",) if batched else (), sizes, allow_complex
        )
        if not batched:
            sequence = {k: v[:, None, :] for k, v in sequence.items()}
            initial = {k: v[None, :] for k, v in initial.items()}
        previous = {self._previous[name]: value for name, value in initial.items()}
        return _Call(p, sequence, previous, batched, sizes)

    def _agree_sizes(self, xs, sequence, params, specs, state0, batched, sizes) -> None:
        """n, m and k voted over xs, the parameters and the states: see
        :func:`numeric._validation.agree_call_sizes`."""
        agree_call_sizes(
            xs, sequence, self._sequence_dims(), params, specs, state0, self._state_dims(),
            batched, sizes, self._label,
        )  # fmt: skip

    def _label(self, argument: str) -> str:
        return self._labels.get(argument, argument)

    def _sequence_dims(self) -> dict[str, str]:
        return {name: _dim(self.cell.sizes[name]) for name in self.sequence}

    def _state_dims(self) -> dict[str, str]:
        return {name: _dim(size) for name, size in self.states}

    def _check_sequence(self, xs: Any, sizes: Sizes, allow_complex: bool):
        return check_sequence(xs, self._sequence_dims(), sizes, allow_complex=allow_complex)

    def _check_states(
        self, label: str, values: Any, lead: tuple[str, ...], sizes: Sizes, allow_complex: bool
    ) -> dict[str, np.ndarray]:
        return check_states(
            label, values, self._state_dims(), lead, sizes, self._label, allow_complex=allow_complex
        )

    def _check_cotangents(self, cotangents: Any, call: _Call) -> dict[str, np.ndarray]:
        return check_cotangents(
            cotangents, self._state_dims(), call.batched, call.sizes, self._label
        )

    def _check_targets(self, ys: Any, call: _Call) -> np.ndarray:
        name = self.loss.name.removeprefix("loss[").removesuffix("]")
        return check_targets(
            ys, _dim(self.head.sizes["y"]), name, call.batched, call.sizes,
            probabilities=name in _PROBABILITY_TARGETS,
        )  # fmt: skip

    # ---- running -----------------------------------------------------------------------------
    def _run(self, call: _Call, pool: Pool | None = None, offsets=None, backend=None) -> Trace:
        cell_params = {k: call.params[k] for k in self._cell_specs}
        return _compiled.forward(
            self._cell_plan,
            cell_params,
            call.sequence,
            call.initial,
            self._pinned(None) if backend is None else backend,
            offsets,
            pool,
        )

    def _trajectories(self, values: Mapping[str, np.ndarray], batched: bool) -> dict:
        out = {name: values[name] for name, _ in self.states}
        return out if batched else {k: v[:, 0] for k, v in out.items()}

    def forward(
        self, params: dict, xs: Any, state0: Mapping[str, Any], *, backend: str | None = None
    ) -> dict[str, np.ndarray]:
        """The state trajectories, {state name: (T, B, size)}, of the cell over t = 1..T
        (eq. (1), (8)-(13)).  Accepts complex128 and mpmath arrays too."""
        backend = self._pinned(backend)
        call = self._check(params, xs, state0, allow_complex=True)
        return self._trajectories(self._run(call, backend=backend).values, call.batched)

    def _pinned(self, backend: str | None) -> str:
        """The backend of a call: its own, the model's, or the process default."""
        if backend is not None:
            return _backend(backend)
        return self.backend or _backend(_compiled.default_backend())

    def _backward(
        self, call: _Call, trace: Trace, cotangents, per_step=False, pool=None, backend=None
    ):
        cell_params = {k: call.params[k] for k in self._cell_specs}
        back = _compiled.backward(
            self._cell_plan,
            cell_params,
            trace,
            cotangents,
            self._pinned(None) if backend is None else backend,
            per_step=per_step,
            pool=pool,
        )
        initial = {name: back.adjoints[self._previous[name]] for name, _ in self.states}
        return dict(back.grads), initial, back

    def vjp(
        self,
        params: dict,
        xs: Any,
        state0: Mapping[str, Any],
        cotangents: Mapping[str, Any],
        *,
        backend: str | None = None,
    ) -> VJP:
        """Gradients of Σ_t Σ_s ⟨cotangents[s]_t, s_t⟩ by the derived BPTT: ``VJP(grads,
        state0)``, the cell's parameters and the initial states (a state without a cotangent
        contributes none)."""
        backend = self._pinned(backend)
        call = self._check(params, xs, state0)
        seeds = self._check_cotangents(cotangents, call)
        with scratch() as pool:  # the trace and per-step adjoints live only inside this call
            trace = self._run(call, pool, backend=backend)
            grads, initial, _ = self._backward(call, trace, seeds, pool=pool, backend=backend)
        if not call.batched:
            initial = {k: v[0] for k, v in initial.items()}
        return VJP(grads, initial)

    def _require_head(self, what: str) -> None:
        if self.head is None:
            raise ValueError(f"{what} needs a loss: make the model with Model(cell, readout, loss)")

    def _head_trace(self, call: _Call, states: np.ndarray, y: np.ndarray, pool=None):
        T, B, size = states.shape
        flat = {"s": states.reshape(1, T * B, size), "y": y.reshape(1, T * B, -1)}
        head_params = {k: call.params[k] for k in self._head_specs}
        return self._head_plan.forward(head_params, flat, {}, pool=pool), head_params

    def _value_and_grad(self, call: _Call, y: np.ndarray, per_step=False, backend=None):
        with scratch() as pool:  # nothing borrowed leaves: per-step results are fresh arrays
            lend = None if per_step else pool
            trace = self._run(call, lend, backend=backend)
            states = trace.values[self.reads]
            read, head_params = self._head_trace(call, states, y, lend)
            value = read.values["ell"].sum()
            ones = np.ones_like(read.values["ell"])
            back = self._head_plan.backward(head_params, read, {"ell": ones}, ("s",), pool=lend)
            direct = {self.reads: back.adjoints["s"].reshape(states.shape)}  # ∂L_t/∂s_t
            grads, initial, cell_back = self._backward(call, trace, direct, per_step, lend, backend)
            grads |= back.grads
        return value, grads, initial, cell_back

    def value_and_grad(
        self,
        params: dict,
        xs: Any,
        ys: Any,
        state0: Mapping[str, Any],
        *,
        backend: str | None = None,
    ) -> ValueAndGrad:
        """The loss L = Σ_t Σ_j ℓ(O_t, y_t)_j (eq. (2)-(3)) and its gradient by the derived
        BPTT: ``ValueAndGrad(value, grads, state0)``."""
        backend = self._pinned(backend)
        self._require_head("value_and_grad")
        call = self._check(params, xs, state0, head="required")
        y = self._check_targets(ys, call)
        value, grads, initial, _ = self._value_and_grad(call, y, backend=backend)
        if not call.batched:
            initial = {k: v[0] for k, v in initial.items()}
        return ValueAndGrad(float(value), grads, initial)

    def loss_cotangents(
        self, params: dict, xs: Any, ys: Any, state0: Mapping[str, Any]
    ) -> dict[str, np.ndarray]:
        """∂L_t/∂s_t for every t: the loss's own dependence on each step's state (eq. (4)),
        {state: (T, B, size)} for the state the readout reads.  :meth:`vjp` of these
        cotangents is the gradient of the loss (without the readout's parameters)."""
        self._require_head("loss_cotangents")
        call = self._check(params, xs, state0, head="required")
        y = self._check_targets(ys, call)
        states = self._run(call).values[self.reads]
        read, head_params = self._head_trace(call, states, y)
        ones = np.ones_like(read.values["ell"])
        back = self._head_plan.backward(head_params, read, {"ell": ones}, ("s",))
        direct = back.adjoints["s"].reshape(states.shape)
        return {self.reads: direct if call.batched else direct[:, 0]}

    def step_shares(
        self,
        params: dict,
        xs: Any,
        state0: Mapping[str, Any],
        cotangents: Mapping[str, Any],
    ) -> dict[str, np.ndarray]:
        """Each step's share of each parameter gradient of :meth:`vjp`, {name: (T, *shape)}:
        the terms ā_t [operands_t]ᵀ of eq. (4)-(6) before the sum over t."""
        call = self._check(params, xs, state0)
        seeds = self._check_cotangents(cotangents, call)
        _, _, back = self._backward(call, self._run(call), seeds, per_step=True)
        return dict(back.contributions)

    def loss_value(
        self,
        params: dict,
        xs: Any,
        ys: Any,
        state0: Mapping[str, Any],
        *,
        backend: str | None = None,
    ) -> Any:
        """The loss alone; accepts complex128 or mpmath arrays (complex step, high precision)."""
        backend = self._pinned(backend)
        self._require_head("loss_value")
        call = self._check(params, xs, state0, head="required", allow_complex=True)
        y = self._check_targets(ys, call)
        trace = self._run(call, backend=backend)
        return self._head_trace(call, trace.values[self.reads], y)[0].values["ell"].sum()

    def outputs(self, params: dict, xs: Any, state0: Mapping[str, Any]) -> np.ndarray:
        """The readout's outputs O_t (T, B, k) along the trajectory (eq. (2))."""
        self._require_head("outputs")
        call = self._check(params, xs, state0, head="required", allow_complex=True)
        return self._outputs(call, self._run(call))

    def _outputs(self, call: _Call, trace: Trace) -> np.ndarray:
        states = trace.values[self.reads]
        # O_t does not depend on the targets: zeros stand in for them
        y = np.zeros((*states.shape[:2], call.sizes.value(_dim(self.head.sizes["y"]))))
        read, _ = self._head_trace(call, states, y)
        out = read.values["O"].reshape(*states.shape[:2], -1)
        return out if call.batched else out[:, 0]

    def state_jacobians(
        self, params: dict, xs: Any, state0: Mapping[str, Any], *, backend: str | None = None
    ) -> np.ndarray:
        """∂s_t/∂s_{t-1} for every t, (T, B, N, N) with N the total state size, blocks in
        :attr:`states` order: diag(act'(a_t)) W for eq. (1), (7); the 2n × 2n LSTM Jacobian
        behind eq. (14).  The trajectory runs on ``backend``; the Jacobian terms on NumPy."""
        backend = self._pinned(backend)
        call = self._check(params, xs, state0)
        cell_params = {k: call.params[k] for k in self._cell_specs}
        trace = self._run(call, backend=backend)
        J = _jacobian.state_jacobians(self.cell, cell_params, trace)
        return J if call.batched else J[:, 0]

    # ---- checks ------------------------------------------------------------------------------
    def problem(
        self,
        params: dict,
        xs: Any,
        state0: Mapping[str, Any],
        *,
        cotangents: Mapping[str, Any] | None = None,
        ys: Any = None,
        names: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> Problem:
        """A :class:`numeric.checks.Problem` at this point: with ``ys``, the model's loss;
        with ``cotangents``, L = Σ_t Σ_s ⟨cotangents[s]_t, s_t⟩.  Its arrays are the parameters
        and the initial states, batched, under the names ``f"{state}0"`` (or ``names[state]``);
        ``name`` overrides the problem's name.  Its ``bptt`` attachment
        (:class:`numeric.checks.BPTT`: per-step node adjoints and shares, the derived gradient
        on any arrays, the loss with offsets) is what :func:`numeric.checks.per_step` and
        :func:`numeric.checks.high_precision` use."""
        if (ys is None) == (cotangents is None):
            raise ValueError("problem needs exactly one of ys (the model's loss) or cotangents")
        if ys is not None:
            self._require_head("problem(ys=...)")
        call = self._check(params, xs, state0, head="required" if ys is not None else "ignored")
        renamed = {state: f"{state}0" for state, _ in self.states} | dict(names or {})
        names = {renamed[state]: self._previous[state] for state, _ in self.states}
        used = self._cell_specs if ys is None else {**self._cell_specs, **self._head_specs}
        if ys is None:
            seeds = self._check_cotangents(cotangents, call)
        else:
            y = self._check_targets(ys, call)
        plan_ = self._cell_plan
        sequence = call.sequence

        def split(arrays):
            params_ = {k: arrays[k] for k in used}
            initial = {prev: arrays[name] for name, prev in names.items()}
            return params_, initial

        def loss_of(arrays, offsets=None):
            params_, initial = split(arrays)
            cell_params = {k: params_[k] for k in self._cell_specs}
            backend = self._pinned(None)
            trace = _compiled.forward(plan_, cell_params, sequence, initial, backend, offsets)
            if ys is None:
                return sum((seeds[s] * trace.values[s]).sum() for s in seeds)
            head_params = {k: params_[k] for k in self._head_specs}
            states = trace.values[self.reads]
            T, B, size = states.shape
            flat = {"s": states.reshape(1, T * B, size), "y": y.reshape(1, T * B, -1)}
            return self._head_plan.forward(head_params, flat, {}).values["ell"].sum()

        def gradient_of(arrays):
            params_, initial = split(arrays)
            point_call = _Call(params_, sequence, initial, True, call.sizes)
            if ys is None:
                grads, init, _ = self._backward(point_call, self._run(point_call), seeds)
            else:
                _, grads, init, _ = self._value_and_grad(point_call, y)
            return {**grads, **{renamed[s]: v for s, v in init.items()}}

        point = {k: call.params[k] for k in used}
        point |= {name: call.initial[prev] for name, prev in names.items()}
        # the per-step adjoints come from the interpreter; the gradient from the backend that
        # vjp and value_and_grad run on, so that the problem's gradient is theirs exactly
        if ys is None:
            trace = self._run(call)
            grads, init, back = self._backward(call, trace, seeds, per_step=True)
            if trace.compiled is not None:
                grads, init, _ = self._backward(call, trace, seeds)
        else:
            _, grads, init, back = self._value_and_grad(call, y, per_step=True)
            trace = self._run(call)
            if trace.compiled is not None:
                _, grads, init, _ = self._value_and_grad(call, y)
        gradient = {**grads, **{renamed[s]: v for s, v in init.items()}}
        outer, bias = plan_.references(trace)
        bptt = BPTT(
            gradient_of,
            lambda offsets: loss_of(point, offsets),
            back.nodes,
            back.contributions,
            outer,
            bias,
        )
        title = f"{self.cell.name}" + (
            "" if self.head is None or ys is None else f", {self.head.name}"
        )
        return Problem(title if name is None else name, point, loss_of, gradient, bptt)


def _backend(backend: Any) -> str:
    """A ``backend=`` argument, checked: numba pinned without numba installed is an error."""
    check_choice("backend", backend, dict.fromkeys(_compiled.BACKENDS))
    if backend == "numba" and not _compiled.available():
        raise ValueError(
            "backend='numba' needs numba and scipy: pip install 'bptt-check[fast]' "
            "(or use backend='auto', which falls back to NumPy)"
        )
    return backend


def _size(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
