r"""PyTorch's recurrent layers as :class:`numeric.Model` s: eq. (1) and eq. (8)-(13) in torch's
layout.

* :func:`from_torch` — a single-layer, unidirectional ``nn.RNN`` (tanh), ``nn.GRU`` or
  ``nn.LSTM`` as ``(Model, params)``; :func:`from_state_dict` the same from its state dict
  (any arrays; torch is never imported by this module);
* :func:`inputs_from_torch` — torch's ``input`` and ``hx`` as the Model's ``xs`` and ``state0``;
* :func:`outputs_to_torch` — the Model's trajectories as torch's ``(output, h_n)`` (LSTM:
  ``(output, (h_n, c_n))``);
* :func:`cotangents_from_torch` — cotangents of torch's outputs as the Model's cotangents,
  for :meth:`numeric.Model.vjp`;
* :func:`grads_to_torch` — the Model's parameter gradients as gradients of the state dict.

The conventions (pinned by ``tests/data/*.npz``, recorded with torch by
``benchmarks/torch_conventions.py``):

* ``"rnn"``: ``cells.elman("tanh", bias=True)``, S_t = tanh(W S_{t-1} + U x_t + b) (eq. (1))
  with W = weight_hh_l0, U = weight_ih_l0, b = bias_ih_l0 + bias_hh_l0; without bias
  ``cells.elman("tanh")``.  The state is ``"S"``.
* ``"gru"``: ``cells.gru("torch")``; the rows of weight_ih_l0 and weight_hh_l0 are the gates
  [r, z, n]; b_r = b_ir + b_hr, b_z = b_iz + b_hz, while b_in and b_hn stay apart (b_hn sits
  inside r ⊙ (W_hn h + b_hn)).  The state is ``"h"``; a GRU without bias gets zero biases.
* ``"lstm"``: ``cells.lstm()`` (eq. (8)-(13)); the rows are the gates [i, f, g, o] and
  torch's g is the article's C̃ (gate ``"c"``).  Our W_g is n × (n+m) acting on [h; x], h first:
  W_g = [weight_hh_g | weight_ih_g]; b_g = bias_ih_g + bias_hh_g.  The states are
  ``("C", "h")``; torch's ``hx`` is ``(h_0, c_0)``.  An LSTM without bias gets zero biases.

The Model is time-major, (T, B, ·); torch's ``batch_first=True`` input is (B, T, ·), while its
``hx`` is (1, B, n) either way.  Every value is converted to float64.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> n, m = 4, 3
>>> state_dict = {
...     "weight_ih_l0": rng.normal(size=(4 * n, m)),
...     "weight_hh_l0": rng.normal(size=(4 * n, n)),
...     "bias_ih_l0": rng.normal(size=4 * n),
...     "bias_hh_l0": rng.normal(size=4 * n),
... }
>>> model, params = from_state_dict("lstm", state_dict)
>>> model, params["W_c"].shape
(Model(lstm), (4, 7))
>>> x = rng.normal(size=(2, 5, m))  # batch_first: (B, T, m)
>>> xs, state0 = inputs_from_torch("lstm", x, batch_first=True, hidden_size=n)
>>> xs.shape, sorted(state0)
((5, 2, 3), ['C', 'h'])
>>> output, (h_n, c_n) = outputs_to_torch("lstm", model.forward(params, xs, state0),
...                                       batch_first=True)
>>> output.shape, h_n.shape, c_n.shape
((2, 5, 4), (1, 2, 4), (1, 2, 4))
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from derivations import cells

from ._validation import Sizes, check_array, check_keys
from .model import Model, _parameter_specs

__all__ = [
    "KINDS",
    "SUPPORTED",
    "cotangents_from_torch",
    "from_state_dict",
    "from_torch",
    "grads_to_torch",
    "inputs_from_torch",
    "outputs_to_torch",
]

#: The torch layers this module reads, by the ``kind`` name, with their number of gates.
KINDS: dict[str, int] = {"rnn": 1, "gru": 3, "lstm": 4}

#: What is supported, quoted by every refusal.
SUPPORTED = (
    "supported: a single-layer (num_layers=1), unidirectional torch nn.RNN with "
    "nonlinearity='tanh', nn.GRU or nn.LSTM with proj_size=0, with or without bias; its state "
    "dict has weight_ih_l0, weight_hh_l0 and, with bias, bias_ih_l0 and bias_hh_l0"
)

_CLASSES = {"RNN": "rnn", "GRU": "gru", "LSTM": "lstm"}
_WEIGHTS = ("weight_ih_l0", "weight_hh_l0")
_BIASES = ("bias_ih_l0", "bias_hh_l0")
_TORCH_GATES = {"gru": ("r", "z", "n"), "lstm": ("i", "f", "c", "o")}  # torch's g is our "c"


def _model(kind: str, bias: bool) -> Model:
    if kind == "rnn":
        return Model(cells.elman("tanh", bias=bias))
    return Model(cells.gru("torch") if kind == "gru" else cells.lstm())


def _check_kind(kind: Any) -> str:
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}; {SUPPORTED}")
    return kind


def _array(label: str, value: Any) -> np.ndarray:
    """A tensor (duck-typed: ``.detach().cpu().double().numpy()``) or anything
    ``np.asarray`` reads, as a fresh float64 array."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().double().numpy()
    if isinstance(value, str | bytes) or value is None:
        raise ValueError(f"{label} must be a real numeric array, got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ValueError(f"{label} must be a real numeric array: {error}") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{label} must be a real numeric array, got dtype {array.dtype}")
    return array.astype(np.float64)


def _why(key: str) -> str:
    """What an unsupported torch state-dict key says about its module."""
    if key.endswith("_reverse"):
        return "bidirectional=True"
    if key.startswith("weight_hr"):
        return "proj_size > 0"
    if re.fullmatch(r"(weight|bias)_(ih|hh|hr)_l\d+", key):
        return "num_layers > 1"
    return "not a key of a torch recurrent layer"


def from_state_dict(
    kind: str, state_dict: Mapping[str, Any], *, nonlinearity: str = "tanh"
) -> tuple[Model, dict[str, np.ndarray]]:
    """The :class:`numeric.Model` of a torch recurrent layer and its parameters, from the
    layer's state dict: eq. (1) for ``"rnn"``, eq. (8)-(13) for ``"lstm"``, the GRU for
    ``"gru"`` (see the module's conventions).

    ``state_dict`` maps ``weight_ih_l0`` (G·n, m), ``weight_hh_l0`` (G·n, n) and, with bias,
    ``bias_ih_l0`` and ``bias_hh_l0`` (G·n,) — G = 1, 3, 4 gates — to tensors or arrays;
    ``nonlinearity`` is the RNN's (only ``"tanh"``: a state dict does not record it).
    Anything else raises a ValueError saying what is supported.
    """
    kind = _check_kind(kind)
    if nonlinearity != "tanh":
        raise ValueError(
            f"nonlinearity must be 'tanh' (kind {kind!r}), got {nonlinearity!r}; {SUPPORTED}"
        )
    if not isinstance(state_dict, Mapping):
        raise ValueError(
            f"state_dict must be a dict of arrays, got {type(state_dict).__name__}; {SUPPORTED}"
        )
    unknown = sorted((k for k in state_dict if k not in (*_WEIGHTS, *_BIASES)), key=str)
    if unknown:
        reasons = ", ".join(f"{key!r} ({_why(str(key))})" for key in unknown)
        raise ValueError(f"state_dict has unsupported keys {reasons}; {SUPPORTED}")
    missing = [key for key in _WEIGHTS if key not in state_dict]
    if missing:
        raise ValueError(f"state_dict is missing {missing}; {SUPPORTED}")
    biases = [key for key in _BIASES if key in state_dict]
    if len(biases) == 1:
        (other,) = set(_BIASES) - set(biases)
        raise ValueError(
            f"state_dict has {biases[0]!r} but not {other!r}: a layer with bias has both; "
            f"{SUPPORTED}"
        )
    bias = bool(biases)
    gates = KINDS[kind]
    rows = "n" if gates == 1 else f"{gates}n"
    specs = {"weight_hh_l0": (rows, "n"), "weight_ih_l0": (rows, "m")}
    specs |= {key: (rows,) for key in biases}
    sizes = Sizes()
    arrays = {
        key: check_array(
            f"state_dict[{key!r}]", _array(f"state_dict[{key!r}]", state_dict[key]), spec, sizes
        )
        for key, spec in specs.items()
    }
    n = sizes["n"]
    zeros = np.zeros(gates * n)
    w_ih, w_hh = arrays["weight_ih_l0"], arrays["weight_hh_l0"]
    b_ih, b_hh = arrays.get("bias_ih_l0", zeros), arrays.get("bias_hh_l0", zeros)
    model = _model(kind, bias)
    if kind == "rnn":
        params = {"W": w_hh, "U": w_ih} | ({"b": b_ih + b_hh} if bias else {})
        return model, params
    ih, hh = np.split(w_ih, gates), np.split(w_hh, gates)
    bi, bh = np.split(b_ih, gates), np.split(b_hh, gates)
    params = {}
    if kind == "gru":
        for j, gate in enumerate(_TORCH_GATES[kind]):
            params[f"W_i{gate}"], params[f"W_h{gate}"] = ih[j].copy(), hh[j].copy()
        params |= {"b_r": bi[0] + bh[0], "b_z": bi[1] + bh[1]}
        params |= {"b_in": bi[2].copy(), "b_hn": bh[2].copy()}
    else:
        for j, gate in enumerate(_TORCH_GATES[kind]):
            params[f"W_{gate}"] = np.hstack([hh[j], ih[j]])  # acts on [h; x], h first
            params[f"b_{gate}"] = bi[j] + bh[j]
    return model, {name: params[name] for name in model.parameters}


def _inner_layers(module: Any) -> str:
    """For a wrapper module (a model holding an nn.LSTM as ``self.lstm``): how to reach the
    recurrent layers inside it, for the error message."""
    named = getattr(module, "named_modules", None)
    if not callable(named):
        return ""
    try:
        inner = [
            (name, type(layer).__name__)
            for name, layer in named()
            if name and any(cls.__name__ in _CLASSES for cls in type(layer).__mro__)
        ]
    except Exception:  # noqa: BLE001 - only a hint: a module that cannot list itself gets none
        return ""
    if not inner:
        return ""
    paths = ", ".join(f"module.{name} ({kind})" for name, kind in inner)
    return f" (a wrapper: pass the recurrent layer inside it, {paths})"


def _module_kind(module: Any) -> str:
    """The kind of a torch recurrent layer (duck-typed by class name), checked to be one that
    the Model can stand for."""
    classes = [cls.__name__ for cls in type(module).__mro__]
    kind = next((_CLASSES[name] for name in classes if name in _CLASSES), None)
    if kind is None or not callable(getattr(module, "state_dict", None)):
        raise ValueError(
            f"module must be a torch nn.RNN, nn.GRU or nn.LSTM, got {type(module).__name__}"
            f"{_inner_layers(module)}; {SUPPORTED}"
        )
    required = {"num_layers": 1, "bidirectional": False}
    if kind == "rnn":
        required["nonlinearity"] = "tanh"
    for attribute, supported in required.items():
        if not hasattr(module, attribute):
            raise ValueError(f"module has no attribute {attribute!r}; {SUPPORTED}")
        value = getattr(module, attribute)
        if value != supported:
            raise ValueError(
                f"module.{attribute} must be {supported!r}, got {value!r}; {SUPPORTED}"
            )
    proj_size = getattr(module, "proj_size", 0)
    if proj_size != 0:
        raise ValueError(f"module.proj_size must be 0, got {proj_size!r}; {SUPPORTED}")
    return kind


def from_torch(module: Any) -> tuple[Model, dict[str, np.ndarray]]:
    """The :class:`numeric.Model` standing for a torch ``nn.RNN`` (eq. (1)), ``nn.GRU`` or
    ``nn.LSTM`` (eq. (8)-(13)) and its parameters as float64 arrays (copies).

    The module is read through its attributes (``num_layers``, ``bidirectional``,
    ``proj_size``, ``nonlinearity``) and ``state_dict()``; torch itself is not imported.
    A layer the Model cannot stand for raises a ValueError saying what is supported.
    """
    kind = _module_kind(module)
    return from_state_dict(kind, module.state_dict())


def _resolve(
    module_or_kind: Any, batch_first: bool | None, hidden_size: int | None = None
) -> tuple[str, bool, Sizes]:
    """The kind, the input layout and the sizes known from a module (or a kind name)."""
    if batch_first is not None and not isinstance(batch_first, bool):
        raise ValueError(f"batch_first must be True, False or None, got {batch_first!r}")
    if hidden_size is not None and (
        isinstance(hidden_size, bool) or not isinstance(hidden_size, int) or hidden_size < 1
    ):
        raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
    sizes = Sizes()
    if isinstance(module_or_kind, str):
        kind = _check_kind(module_or_kind)
        layout = bool(batch_first)
    else:
        kind = _module_kind(module_or_kind)
        layout = bool(getattr(module_or_kind, "batch_first", False))
        if batch_first is not None and batch_first != layout:
            raise ValueError(
                f"batch_first={batch_first} contradicts the module's batch_first={layout}"
            )
        for name, attribute in (("n", "hidden_size"), ("m", "input_size")):
            value = getattr(module_or_kind, attribute, None)
            if isinstance(value, int) and value >= 1:
                sizes[name] = value
    if hidden_size is not None:
        if sizes.get("n", hidden_size) != hidden_size:
            raise ValueError(
                f"hidden_size={hidden_size} contradicts the module's hidden_size={sizes['n']}"
            )
        sizes["n"] = hidden_size
    return kind, layout, sizes


def _sequence(label: str, value: Any, size: str, batch_first: bool, sizes: Sizes):
    """A torch sequence, (B, T, ·) or (T, B, ·) or unbatched (T, ·), as time-major."""
    array = _array(label, value)
    batched_spec = ("B", "T", size) if batch_first else ("T", "B", size)
    if array.ndim not in (2, 3):
        layout = ", ".join(batched_spec)
        raise ValueError(
            f"{label} must have shape ({layout}) (batch_first={batch_first}) or (T, {size}) "
            f"unbatched, got shape {array.shape}"
        )
    batched = array.ndim == 3
    array = check_array(label, array, batched_spec if batched else ("T", size), sizes)
    if batched and batch_first:
        array = np.ascontiguousarray(array.transpose(1, 0, 2))
    return array, batched


def _state_names(kind: str) -> tuple[str, ...]:
    return ("h", "C") if kind == "lstm" else ("S",) if kind == "rnn" else ("h",)


def _torch_states(label: str, value: Any, kind: str) -> tuple[tuple[str, Any], ...]:
    """Torch's ``hx`` (LSTM: the pair (h_0, c_0)) as (label, array) pairs."""
    if kind != "lstm":
        return ((label, value),)
    if isinstance(value, str | bytes) or not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(
            f"{label} of an LSTM must be a pair (h, c) of arrays (1, B, n), "
            f"got {type(value).__name__}"
        )
    return ((f"{label}[0]", value[0]), (f"{label}[1]", value[1]))


def inputs_from_torch(
    module_or_kind: Any,
    x: Any,
    hx: Any = None,
    *,
    batch_first: bool | None = None,
    hidden_size: int | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Torch's ``input`` and ``hx`` as the Model's time-major ``(xs, state0)`` for eq. (1),
    (8)-(13).

    ``x`` is (B, T, m) if ``batch_first`` else (T, B, m), or (T, m) unbatched; ``hx`` is
    (1, B, n) (unbatched (1, n)), for an LSTM the pair (h_0, c_0); ``None`` means zeros and
    then needs ``hidden_size`` unless ``module_or_kind`` is a module.  ``batch_first`` defaults
    to the module's (False for a kind name).  Returns ``xs`` (T, B, m) and ``state0``
    {"S" | "h" [, "C"]: (B, n)}.
    """
    kind, batch_first, sizes = _resolve(module_or_kind, batch_first, hidden_size)
    xs, batched = _sequence("x", x, "m", batch_first, sizes)
    lead = ("1", "B") if batched else ("1",)
    names = _state_names(kind)
    if hx is None:
        if "n" not in sizes:
            raise ValueError("hidden_size is needed when hx is None and no module is given")
        shape = (sizes["B"], sizes["n"]) if batched else (sizes["n"],)
        return xs, {name: np.zeros(shape) for name in names}
    state0 = {
        name: check_array(label, _array(label, value), (*lead, "n"), sizes)[0]
        for name, (label, value) in zip(names, _torch_states("hx", hx, kind), strict=True)
    }
    return xs, state0


def outputs_to_torch(
    module_or_kind: Any, trajectory: Mapping[str, Any], *, batch_first: bool | None = None
) -> tuple[np.ndarray, Any]:
    """The Model's trajectories (:meth:`numeric.Model.forward`) as torch's ``(output, h_n)``,
    for an LSTM ``(output, (h_n, c_n))``: output (B, T, n) if ``batch_first`` else (T, B, n),
    h_n and c_n (1, B, n) — the last step of eq. (1), (13), (11)."""
    kind, batch_first, sizes = _resolve(module_or_kind, batch_first)
    names = _state_names(kind)
    if not isinstance(trajectory, Mapping):
        raise ValueError(
            f"trajectory must be a dict keyed by {sorted(names)} (Model.forward's), "
            f"got {type(trajectory).__name__}"
        )
    check_keys("trajectory", trajectory, names)
    first = _array(f"trajectory[{names[0]!r}]", trajectory[names[0]])
    spec = ("T", "B", "n") if first.ndim == 3 else ("T", "n")
    arrays = {
        name: check_array(
            f"trajectory[{name!r}]", _array(f"trajectory[{name!r}]", trajectory[name]), spec, sizes
        )
        for name in names
    }
    main = arrays[names[0]]
    output = main.transpose(1, 0, 2).copy() if batch_first and main.ndim == 3 else main
    finals = tuple(arrays[name][-1][None] for name in names)
    return output, finals if kind == "lstm" else finals[0]


def cotangents_from_torch(
    module_or_kind: Any,
    grad_output: Any,
    grad_hx: Any = None,
    *,
    batch_first: bool | None = None,
) -> dict[str, np.ndarray]:
    """Cotangents of torch's outputs as the Model's cotangents for :meth:`numeric.Model.vjp`
    (the seeds ∂L/∂s_t of eq. (4)): ``grad_output`` of ``output`` (layout as in
    :func:`outputs_to_torch`) and ``grad_hx`` of ``h_n`` (LSTM: the pair for (h_n, c_n)),
    (1, B, n), added at the last step; ``None`` means no cotangent of the final states."""
    kind, batch_first, sizes = _resolve(module_or_kind, batch_first)
    seed, batched = _sequence("grad_output", grad_output, "n", batch_first, sizes)
    names = _state_names(kind)
    cotangents = {names[0]: seed}
    if grad_hx is None:
        return cotangents
    lead = ("1", "B") if batched else ("1",)
    for name, (label, value) in zip(names, _torch_states("grad_hx", grad_hx, kind), strict=True):
        final = check_array(label, _array(label, value), (*lead, "n"), sizes)[0]
        cotangents.setdefault(name, np.zeros_like(seed))[-1] += final
    return cotangents


def grads_to_torch(
    module_or_kind: Any, grads: Mapping[str, Any], *, bias: bool | None = None
) -> dict[str, np.ndarray]:
    """The Model's parameter gradients (:meth:`numeric.Model.vjp`) as the gradients of the
    torch layer's state dict, keyed ``weight_ih_l0`` ... — the transpose of
    :func:`from_state_dict`'s map (eq. (1), (8)-(13)): a summed bias b = bias_ih + bias_hh
    gives its gradient to both.  ``bias`` defaults to the module's (whether its state dict has
    biases; True for a kind name); without bias the bias gradients are dropped (a GRU or LSTM
    without bias has zero biases in the Model)."""
    if bias is not None and not isinstance(bias, bool):
        raise ValueError(f"bias must be True, False or None, got {bias!r}")
    if isinstance(module_or_kind, str):
        kind = _check_kind(module_or_kind)
        bias = True if bias is None else bias
    else:
        kind = _module_kind(module_or_kind)
        has_bias = all(key in module_or_kind.state_dict() for key in _BIASES)
        if bias is not None and bias != has_bias:
            raise ValueError(f"bias={bias} contradicts the module's bias={has_bias}")
        bias = has_bias
    model = _model(kind, bias)
    specs = _parameter_specs(model.cell)
    if not isinstance(grads, Mapping):
        raise ValueError(
            f"grads must be a dict with keys {sorted(specs)}, got {type(grads).__name__}"
        )
    check_keys("grads", grads, specs)
    sizes = Sizes()
    g = {
        key: check_array(f"grads[{key!r}]", _array(f"grads[{key!r}]", grads[key]), spec, sizes)
        for key, spec in specs.items()
    }
    if kind == "rnn":
        out = {"weight_ih_l0": g["U"], "weight_hh_l0": g["W"]}
        if bias:
            out |= {"bias_ih_l0": g["b"], "bias_hh_l0": g["b"].copy()}
        return out
    gates = _TORCH_GATES[kind]
    if kind == "gru":
        out = {
            "weight_ih_l0": np.vstack([g[f"W_i{gate}"] for gate in gates]),
            "weight_hh_l0": np.vstack([g[f"W_h{gate}"] for gate in gates]),
            "bias_ih_l0": np.concatenate([g["b_r"], g["b_z"], g["b_in"]]),
            "bias_hh_l0": np.concatenate([g["b_r"], g["b_z"], g["b_hn"]]),
        }
    else:
        n = g["b_i"].shape[0]
        out = {
            "weight_ih_l0": np.vstack([g[f"W_{gate}"][:, n:] for gate in gates]),
            "weight_hh_l0": np.vstack([g[f"W_{gate}"][:, :n] for gate in gates]),
            "bias_ih_l0": np.concatenate([g[f"b_{gate}"] for gate in gates]),
        }
        out["bias_hh_l0"] = out["bias_ih_l0"].copy()
    return out if bias else {key: out[key] for key in _WEIGHTS}
