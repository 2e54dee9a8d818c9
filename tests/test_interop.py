"""numeric.interop against PyTorch's conventions, pinned by data recorded with torch 2.13.0
(``benchmarks/torch_conventions.py`` writes ``tests/data/torch_*.npz``): forward trajectories,
the gradients of every weight, of the initial states and of the inputs agree to 1e-12.  Torch
itself is never imported: from_torch is checked on duck-typed stand-ins for its modules."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numeric import interop

DATA = Path(__file__).parent / "data"
CASES = ("rnn", "rnn_nobias", "gru", "gru_nobias", "lstm", "lstm_batch_first")
CELLS = {
    "rnn": "elman[tanh, bias]",
    "rnn_nobias": "elman[tanh]",
    "gru": "gru[torch]",
    "gru_nobias": "gru[torch]",  # with zero biases
    "lstm": "lstm",
    "lstm_batch_first": "lstm",
}
TOL = 1e-12


def load(case: str) -> dict[str, np.ndarray]:
    with np.load(DATA / f"torch_{case}.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def prefixed(data: dict, prefix: str) -> dict[str, np.ndarray]:
    return {k.removeprefix(prefix): v for k, v in data.items() if k.startswith(prefix)}


def torch_pair(data: dict, h: str, c: str):
    """torch's hx-shaped argument: one array, or (h, c) for the LSTM."""
    return (data[h], data[c]) if c in data else data[h]


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOL)


class Recorded:
    """One recorded case mapped to the Model through the public interop functions."""

    def __init__(self, case: str, module=None):
        d = self.data = load(case)
        self.kind, self.bias = str(d["kind"]), bool(d["bias"])
        self.batch_first = bool(d["batch_first"])
        if module is None:
            self.model, self.params = interop.from_state_dict(self.kind, prefixed(d, "state."))
            layout, self.where = {"batch_first": self.batch_first}, self.kind
        else:
            self.model, self.params = interop.from_torch(module)
            layout, self.where = {}, module  # the module's own batch_first
        self.layout = layout
        self.xs, self.state0 = interop.inputs_from_torch(
            self.where, d["x"], torch_pair(d, "h0", "c0"), **layout
        )
        self.cotangents = interop.cotangents_from_torch(
            self.where, d["cot_output"], torch_pair(d, "cot_h_n", "cot_c_n"), **layout
        )


@pytest.mark.parametrize("case", CASES)
def test_forward_agrees_with_torch(case):
    r = Recorded(case)
    assert r.model.cell.name == CELLS[case]
    trajectory = r.model.forward(r.params, r.xs, r.state0)
    output, finals = interop.outputs_to_torch(r.kind, trajectory, **r.layout)
    assert_close(output, r.data["output"])
    if r.kind == "lstm":
        assert_close(finals[0], r.data["h_n"])
        assert_close(finals[1], r.data["c_n"])
    else:
        assert_close(finals, r.data["h_n"])


@pytest.mark.parametrize("case", CASES)
def test_gradients_agree_with_torch(case):
    r = Recorded(case)
    grads, initial = r.model.vjp(r.params, r.xs, r.state0, r.cotangents)
    torch_grads = interop.grads_to_torch(r.kind, grads, bias=r.bias)
    expected = prefixed(r.data, "grad.")
    assert sorted(torch_grads) == sorted(expected)
    for key in expected:
        assert_close(torch_grads[key], expected[key])
    state = "S" if r.kind == "rnn" else "h"
    assert_close(initial[state], r.data["grad_h0"][0])
    if r.kind == "lstm":
        assert_close(initial["C"], r.data["grad_c0"][0])


@pytest.mark.parametrize("case", CASES)
def test_input_gradient_agrees_with_torch(case):
    """∂L/∂x by complex step through the Model's forward (exact to rounding): one step per
    (t, j) entry, all batch rows at once (they do not interact)."""
    r = Recorded(case)
    step = 1e-30
    T, B, m = r.xs.shape
    ours = np.empty_like(r.xs)
    for t in range(T):
        for j in range(m):
            xs = r.xs.astype(complex)
            xs[t, :, j] += 1j * step
            trajectory = r.model.forward(r.params, xs, r.state0)
            per_row = sum((r.cotangents[s] * trajectory[s]).sum(axis=(0, 2)) for s in r.cotangents)
            ours[t, :, j] = per_row.imag / step
    expected = r.data["grad_x"]
    assert_close(ours, expected.transpose(1, 0, 2) if r.batch_first else expected)


class FakeTensor:
    """What from_torch uses of a torch tensor: detach().cpu().double().numpy()."""

    def __init__(self, array):
        self.array = np.asarray(array)

    def detach(self):
        return self

    def cpu(self):
        return self

    def double(self):
        return FakeTensor(self.array.astype(np.float64))

    def numpy(self):
        return self.array


class FakeModule:
    def __init__(self, state_dict, **attributes):
        self._state = {k: FakeTensor(v) for k, v in state_dict.items()}
        self.__dict__.update(attributes)

    def state_dict(self):
        return dict(self._state)


def fake(cls: str, state_dict, **attributes):
    """A stand-in for torch's nn.RNN / nn.GRU / nn.LSTM (or any class name) with its defaults."""
    defaults = {"num_layers": 1, "bidirectional": False, "batch_first": False}
    if cls == "RNN":
        defaults["nonlinearity"] = "tanh"
    if cls == "LSTM":
        defaults["proj_size"] = 0
    if state_dict:
        defaults["hidden_size"] = np.shape(state_dict["weight_hh_l0"])[1]
        defaults["input_size"] = np.shape(state_dict["weight_ih_l0"])[1]
    return type(cls, (FakeModule,), {})(state_dict, **{**defaults, **attributes})


def fake_of(case: str):
    d = load(case)
    cls = str(d["kind"]).upper()
    return fake(cls, prefixed(d, "state."), batch_first=bool(d["batch_first"]))


@pytest.mark.parametrize("case", CASES)
def test_from_torch_reads_a_duck_typed_module(case):
    module = fake_of(case)
    by_module, by_dict = Recorded(case, module), Recorded(case)
    assert by_module.model.cell.name == by_dict.model.cell.name
    assert sorted(by_module.params) == sorted(by_dict.params)
    for name, value in by_module.params.items():
        assert value.dtype == np.float64
        np.testing.assert_array_equal(value, by_dict.params[name])
        for tensor in module._state.values():  # copies, not views of the module's weights
            assert not np.shares_memory(value, tensor.array)
    np.testing.assert_array_equal(by_module.xs, by_dict.xs)  # the module's batch_first is used
    r = by_module
    output, _ = interop.outputs_to_torch(module, r.model.forward(r.params, r.xs, r.state0))
    assert_close(output, r.data["output"])
    grads, _ = r.model.vjp(r.params, r.xs, r.state0, r.cotangents)
    torch_grads = interop.grads_to_torch(module, grads)  # the module's bias is used
    expected = prefixed(r.data, "grad.")
    assert sorted(torch_grads) == sorted(expected)
    for key in expected:
        assert_close(torch_grads[key], expected[key])


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_grads_to_torch_is_the_transpose_of_from_state_dict(kind, bias):
    """from_state_dict is linear in the state dict, so for any g and d:
    ⟨grads_to_torch(g), d⟩ = ⟨g, from_state_dict(d)⟩."""
    rng = np.random.default_rng(len(kind) + bias)
    d = state_dict(kind, n=3, m=2, bias=bias, seed=int(bias))
    model, params = interop.from_state_dict(kind, d)
    g = {name: rng.normal(size=value.shape) for name, value in params.items()}
    back = interop.grads_to_torch(kind, g, bias=bias)
    assert sorted(back) == sorted(d)
    left = sum(np.vdot(back[key], d[key]) for key in d)
    right = sum(np.vdot(g[name], params[name]) for name in params)
    assert abs(left - right) <= 1e-12 * abs(right)


def test_values_are_converted_to_float64():
    d = {k: v.astype(np.float32) for k, v in state_dict("gru", n=2, m=2).items()}
    _, params = interop.from_state_dict("gru", d)
    assert {v.dtype for v in params.values()} == {np.dtype(np.float64)}
    np.testing.assert_array_equal(params["W_hn"], d["weight_hh_l0"][4:].astype(np.float64))


def test_missing_hx_means_zero_states():
    x = np.ones((3, 2, 5))  # batch_first: B=3, T=2, m=5
    xs, state0 = interop.inputs_from_torch("lstm", x, batch_first=True, hidden_size=4)
    assert xs.shape == (2, 3, 5)
    assert {k: v.shape for k, v in state0.items()} == {"h": (3, 4), "C": (3, 4)}
    assert not any(v.any() for v in state0.values())


def test_unbatched_inputs_stay_unbatched():
    x, hx = np.ones((6, 2)), np.full((1, 3), 0.5)
    xs, state0 = interop.inputs_from_torch("gru", x, hx, batch_first=True)
    assert xs.shape == (6, 2)
    np.testing.assert_array_equal(state0["h"], np.full(3, 0.5))


def state_dict(kind="lstm", *, n=2, m=3, bias=True, seed=0, **changes):
    """A valid torch-style state dict of random arrays; ``changes`` replace (None: drop) or add
    keys."""
    rng = np.random.default_rng(seed)
    rows = interop.KINDS[kind] * n
    d = {"weight_ih_l0": rng.normal(size=(rows, m)), "weight_hh_l0": rng.normal(size=(rows, n))}
    if bias:
        d |= {"bias_ih_l0": rng.normal(size=rows), "bias_hh_l0": rng.normal(size=rows)}
    d |= changes
    return {k: v for k, v in d.items() if v is not None}


X, HX = np.zeros((5, 2, 3)), np.zeros((1, 2, 2))  # (T, B, m), (1, B, n) for n=2, m=3
module = fake("GRU", state_dict("gru"))  # n=2, m=3, batch_first=False
# (call, pattern the message must match, whether it must quote interop.SUPPORTED)
REFUSALS = [
    pytest.param(lambda: interop.from_state_dict("transformer", state_dict()),
                 r"kind must be one of \['rnn', 'gru', 'lstm'\], got 'transformer'", True,
                 id="kind-unknown"),
    pytest.param(lambda: interop.from_state_dict("LSTM", state_dict()),
                 r"kind must be one of", True, id="kind-class-name"),
    pytest.param(lambda: interop.from_state_dict("lstm", [1, 2]),
                 r"state_dict must be a dict of arrays, got list", True, id="state-dict-list"),
    pytest.param(lambda: interop.from_state_dict("lstm", state_dict(weight_hh_l0=None)),
                 r"state_dict is missing \['weight_hh_l0'\]", True, id="state-dict-missing-key"),
    pytest.param(lambda: interop.from_state_dict("lstm", state_dict(weight_ih_l1=np.ones((8, 2)))),
                 r"'weight_ih_l1' \(num_layers > 1\)", True, id="state-dict-second-layer"),
    pytest.param(lambda: interop.from_state_dict("gru", state_dict(
                     "gru", weight_hh_l0_reverse=np.ones((6, 2)))),
                 r"'weight_hh_l0_reverse' \(bidirectional=True\)", True,
                 id="state-dict-bidirectional"),
    pytest.param(lambda: interop.from_state_dict("lstm", state_dict(weight_hr_l0=np.ones((1, 2)))),
                 r"'weight_hr_l0' \(proj_size > 0\)", True, id="state-dict-proj-size"),
    pytest.param(lambda: interop.from_state_dict("rnn", state_dict("rnn", weight=np.ones(2))),
                 r"'weight' \(not a key of a torch recurrent layer\)", True,
                 id="state-dict-foreign-key"),
    pytest.param(lambda: interop.from_state_dict("rnn", state_dict("rnn", bias_hh_l0=None)),
                 r"has 'bias_ih_l0' but not 'bias_hh_l0'", True, id="state-dict-one-bias"),
    pytest.param(lambda: interop.from_state_dict("gru", state_dict("lstm")),
                 r"state_dict\['weight_hh_l0'\] must have shape \(3n, n\)", False,
                 id="state-dict-lstm-read-as-gru"),
    pytest.param(lambda: interop.from_state_dict("lstm", state_dict(weight_ih_l0=np.ones((12, 3)))),
                 r"state_dict\['weight_ih_l0'\] must have shape \(4n, m\) = \(8, m\)", False,
                 id="state-dict-weight-ih-rows"),
    pytest.param(lambda: interop.from_state_dict("lstm", state_dict(bias_ih_l0=np.ones(7))),
                 r"state_dict\['bias_ih_l0'\] must have shape \(4n\) = \(8\)", False,
                 id="state-dict-bias-length"),
    pytest.param(lambda: interop.from_state_dict("rnn", state_dict("rnn", weight_hh_l0=[["a"]])),
                 r"state_dict\['weight_hh_l0'\] must be a real numeric array", False,
                 id="state-dict-strings"),
    pytest.param(lambda: interop.from_state_dict("rnn", state_dict(
                     "rnn", weight_hh_l0=np.full((2, 2), np.nan))),
                 r"state_dict\['weight_hh_l0'\] must be finite", False, id="state-dict-nan"),
    pytest.param(lambda: interop.from_state_dict("rnn", state_dict("rnn"), nonlinearity="relu"),
                 r"nonlinearity must be 'tanh' \(kind 'rnn'\), got 'relu'", True,
                 id="state-dict-relu"),
    pytest.param(lambda: interop.from_torch(fake("LSTM", state_dict(), num_layers=2)),
                 r"module.num_layers must be 1, got 2", True, id="module-two-layers"),
    pytest.param(lambda: interop.from_torch(fake("GRU", state_dict("gru"), bidirectional=True)),
                 r"module.bidirectional must be False, got True", True,
                 id="module-bidirectional"),
    pytest.param(lambda: interop.from_torch(fake("LSTM", state_dict(), proj_size=1)),
                 r"module.proj_size must be 0, got 1", True, id="module-proj-size"),
    pytest.param(lambda: interop.from_torch(fake("RNN", state_dict("rnn"), nonlinearity="relu")),
                 r"module.nonlinearity must be 'tanh', got 'relu'", True, id="module-relu"),
    pytest.param(lambda: interop.from_torch(object()),
                 r"module must be a torch nn.RNN, nn.GRU or nn.LSTM, got object", True,
                 id="module-unknown-type"),
    pytest.param(lambda: interop.from_torch(fake("LSTMCell", state_dict())),
                 r"module must be a torch nn.RNN, nn.GRU or nn.LSTM, got LSTMCell", True,
                 id="module-lstm-cell"),
    pytest.param(lambda: interop.from_torch(fake("GRU", state_dict("gru"), num_layers=None)),
                 r"module.num_layers must be 1, got None", True, id="module-num-layers-none"),
    pytest.param(lambda: interop.from_torch(type("GRU", (), {"state_dict": dict})()),
                 r"module has no attribute 'num_layers'", True, id="module-no-attributes"),
    pytest.param(lambda: interop.from_torch(fake("LSTM", state_dict(
                     weight_ih_l1=np.ones((8, 2)), weight_hh_l1=np.ones((8, 2))))),
                 r"'weight_hh_l1' \(num_layers > 1\)", True, id="module-state-dict-extra-keys"),
    pytest.param(lambda: interop.inputs_from_torch("gru", np.zeros((1, 5, 2, 3)), HX),
                 r"x must have shape \(T, B, m\) \(batch_first=False\) or \(T, m\) unbatched, "
                 r"got shape \(1, 5, 2, 3\)", False, id="inputs-x-4d"),
    pytest.param(lambda: interop.inputs_from_torch(module, np.zeros((5, 2, 4)), HX),
                 r"x must have shape \(T, B, m\) = \(5, 2, 3\), got shape \(5, 2, 4\)", False,
                 id="inputs-x-not-the-module-input-size"),
    pytest.param(lambda: interop.inputs_from_torch("gru", X, np.zeros((2, 2, 2))),
                 r"hx must have shape \(1, B, n\) = \(1, 2, n\), got shape \(2, 2, 2\)", False,
                 id="inputs-hx-two-layers"),
    pytest.param(lambda: interop.inputs_from_torch("gru", X, np.zeros((1, 3, 2))),
                 r"hx must have shape \(1, B, n\) = \(1, 2, n\), got shape \(1, 3, 2\)", False,
                 id="inputs-hx-batch"),
    pytest.param(lambda: interop.inputs_from_torch("lstm", X, HX),
                 r"hx of an LSTM must be a pair \(h, c\) of arrays \(1, B, n\), got ndarray",
                 False, id="inputs-lstm-hx-not-a-pair"),
    pytest.param(lambda: interop.inputs_from_torch("lstm", X, (HX, np.zeros((1, 2, 3)))),
                 r"hx\[1\] must have shape \(1, B, n\) = \(1, 2, 2\), got shape \(1, 2, 3\)",
                 False, id="inputs-lstm-c0-width"),
    pytest.param(lambda: interop.inputs_from_torch("gru", X),
                 r"hidden_size is needed when hx is None", False, id="inputs-no-hidden-size"),
    pytest.param(lambda: interop.inputs_from_torch(module, X, HX, batch_first=True),
                 r"batch_first=True contradicts the module's batch_first=False", False,
                 id="inputs-batch-first-contradiction"),
    pytest.param(lambda: interop.inputs_from_torch("gru", X, HX, batch_first="yes"),
                 r"batch_first must be True, False or None, got 'yes'", False,
                 id="inputs-batch-first-not-bool"),
    pytest.param(lambda: interop.inputs_from_torch(module, X, hidden_size=5),
                 r"hidden_size=5 contradicts the module's hidden_size=2", False,
                 id="inputs-hidden-size-contradiction"),
    pytest.param(lambda: interop.outputs_to_torch("lstm", {"h": np.zeros((5, 2, 2))}),
                 r"trajectory must have keys \['C', 'h'\]: missing \['C'\]", False,
                 id="outputs-lstm-without-C"),
    pytest.param(lambda: interop.outputs_to_torch("gru", np.zeros((5, 2, 2))),
                 r"trajectory must be a dict keyed by \['h'\]", False, id="outputs-not-a-dict"),
    pytest.param(lambda: interop.cotangents_from_torch("gru", np.zeros((5, 2, 2)),
                                                       np.zeros((1, 2, 3))),
                 r"grad_hx must have shape \(1, B, n\) = \(1, 2, 2\), got shape \(1, 2, 3\)",
                 False, id="cotangents-final-width"),
    pytest.param(lambda: interop.grads_to_torch(module, {}, bias=False),
                 r"bias=False contradicts the module's bias=True", False,
                 id="grads-bias-contradiction"),
    pytest.param(lambda: interop.grads_to_torch("gru", {"W_ir": np.zeros((2, 3))}),
                 r"grads must have keys .*: missing \['W_hn'", False, id="grads-missing"),
    pytest.param(lambda: interop.grads_to_torch("rnn", {"W": np.zeros((2, 2)),
                                                        "U": np.zeros((3, 3))}, bias=False),
                 r"grads\['U'\] must have shape \(n, m\) = \(2, m\), got shape \(3, 3\)", False,
                 id="grads-shape"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "pattern", "says_supported"), REFUSALS)
def test_refusals(call, pattern, says_supported):
    with pytest.raises(ValueError, match=pattern) as error:
        call()
    assert (interop.SUPPORTED in str(error.value)) == says_supported


def test_importing_interop_imports_no_torch():
    """A fresh interpreter in which importing torch raises (not ImportError: a guarded import
    would swallow that) imports numeric.interop and runs from_torch on a stand-in."""
    code = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise RuntimeError("torch was imported")
sys.meta_path.insert(0, NoTorch())
import numpy as np
import numeric.interop
class GRU:  # a stand-in for torch.nn.GRU(3, 2)
    num_layers, bidirectional, batch_first = 1, False, False
    def state_dict(self):
        return {"weight_ih_l0": np.ones((6, 3)), "weight_hh_l0": np.ones((6, 2))}
model, params = numeric.interop.from_torch(GRU())
print(model, sorted(m for m in sys.modules if m.split(".")[0] == "torch"))
"""
    root = Path(__file__).parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Model(gru[torch]) []"
