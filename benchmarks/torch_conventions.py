"""Record PyTorch's recurrent-layer conventions as data: ``tests/data/torch_<case>.npz``.

    pip install -e ".[torch]"        # torch==2.13.0, the CPU wheel
    python benchmarks/torch_conventions.py

CI never installs torch, so ``tests/test_interop.py`` checks :mod:`numeric.interop` against
these files.  For each case (``nn.RNN`` tanh with and without bias, ``nn.GRU`` with and without
bias, ``nn.LSTM``, and an ``nn.LSTM`` with ``batch_first=True``), seeded and in float64 at
T=5, B=3, n=4, m=3, a file holds

* ``kind``, ``bias``, ``batch_first``; ``state.<key>``: the module's state dict;
* ``x`` (torch's layout), ``h0`` (and ``c0``) (1, B, n): the inputs;
* ``output``, ``h_n`` (and ``c_n``): torch's outputs;
* ``cot_output``, ``cot_h_n`` (and ``cot_c_n``): random cotangents, and ``loss``
  L = Σ output·cot_output + Σ h_n·cot_h_n (+ Σ c_n·cot_c_n);
* ``grad.<key>``, ``grad_x``, ``grad_h0`` (and ``grad_c0``): torch autograd's gradient of L.

The files are written byte for byte the same on every run (fixed zip timestamps, sorted
entries); the script then checks :func:`numeric.interop.from_torch` on the live modules,
prints the largest differences from torch, and checks that the unsupported layers are refused.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import hashlib  # noqa: E402
import sys  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from numeric import interop  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

T, B, N, M = 5, 3, 4, 3
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
#: case name -> (torch class, bias, batch_first, seed)
CASES = {
    "rnn": ("RNN", True, False, 1),
    "rnn_nobias": ("RNN", False, False, 2),
    "gru": ("GRU", True, False, 3),
    "gru_nobias": ("GRU", False, False, 4),
    "lstm": ("LSTM", True, False, 5),
    "lstm_batch_first": ("LSTM", True, True, 6),
}


def savez_deterministic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's format (one ``<name>.npy`` a zip entry, stored) with fixed timestamps and
    sorted entries, so the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asarray(arrays[name]), allow_pickle=False)


def record(cls: str, bias: bool, batch_first: bool, seed: int):
    """Run one seeded module forward and backward; its arrays and the module."""
    torch.manual_seed(seed)
    module = getattr(torch.nn, cls)(M, N, bias=bias, batch_first=batch_first).double()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, M) if batch_first else (T, B, M))
    states = {"h0": rng.normal(size=(1, B, N)) / 2}
    if cls == "LSTM":
        states["c0"] = rng.normal(size=(1, B, N)) / 2
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in {"x": x, **states}.items()}
    hx = (leaves["h0"], leaves["c0"]) if cls == "LSTM" else leaves["h0"]
    output, finals = module(leaves["x"], hx)
    finals = dict(zip(("h_n", "c_n"), finals if cls == "LSTM" else (finals,), strict=False))
    outputs = {"output": output, **finals}
    cotangents = {f"cot_{k}": rng.normal(size=tuple(v.shape)) for k, v in outputs.items()}
    loss = sum((v * torch.from_numpy(cotangents[f"cot_{k}"])).sum() for k, v in outputs.items())
    loss.backward()
    arrays = {
        "kind": np.array(cls.lower()),
        "bias": np.array(bias),
        "batch_first": np.array(batch_first),
        "x": x,
        **states,
        **{k: v.detach().numpy() for k, v in outputs.items()},
        **cotangents,
        "loss": np.array(loss.item()),
        **{f"grad_{k}": v.grad.numpy() for k, v in leaves.items()},
    }
    for key, value in module.named_parameters():
        arrays[f"state.{key}"] = value.detach().numpy()
        arrays[f"grad.{key}"] = value.grad.numpy()
    return {k: np.array(v) for k, v in arrays.items()}, module


def check(arrays: dict[str, np.ndarray], module) -> tuple[float, float]:
    """numeric.interop on the live module: the largest differences from torch's outputs and
    from its parameter and initial-state gradients."""
    model, params = interop.from_torch(module)
    lstm = module.mode == "LSTM"
    hx = (arrays["h0"], arrays["c0"]) if lstm else arrays["h0"]
    xs, state0 = interop.inputs_from_torch(module, arrays["x"], hx)
    output, finals = interop.outputs_to_torch(module, model.forward(params, xs, state0))
    finals = finals if lstm else (finals,)
    ours = {"output": output, **dict(zip(("h_n", "c_n"), finals, strict=False))}
    forward = max(np.abs(ours[k] - arrays[k]).max() for k in ours)
    seeds = (arrays["cot_h_n"], arrays["cot_c_n"]) if lstm else arrays["cot_h_n"]
    cotangents = interop.cotangents_from_torch(module, arrays["cot_output"], seeds)
    grads, initial = model.vjp(params, xs, state0, cotangents)
    grads = interop.grads_to_torch(module, grads)
    errors = [np.abs(grads[k] - arrays[f"grad.{k}"]).max() for k in grads]
    errors.append(np.abs(initial["h" if "h" in initial else "S"] - arrays["grad_h0"][0]).max())
    if lstm:
        errors.append(np.abs(initial["C"] - arrays["grad_c0"][0]).max())
    return float(forward), float(max(errors))


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"torch {torch.__version__}, numpy {np.__version__}; T={T} B={B} n={N} m={M}")
    print(f"{'case':<18} {'bytes':>6} {'sha256':<16} {'forward err':>12} {'grad err':>10}")
    for name, spec in CASES.items():
        arrays, module = record(*spec)
        path = DATA / f"torch_{name}.npz"
        savez_deterministic(path, arrays)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        forward, gradient = check(arrays, module)
        size = path.stat().st_size
        print(f"{name:<18} {size:>6} {digest:<16} {forward:>12.1e} {gradient:>10.1e}")
    print("from_torch refuses what the Model cannot stand for:")
    nn = torch.nn
    for module in (
        nn.RNN(M, N, nonlinearity="relu"),
        nn.GRU(M, N, num_layers=2),
        nn.LSTM(M, N, bidirectional=True),
        nn.LSTM(M, N, proj_size=2),
        nn.LSTMCell(M, N),
    ):
        try:
            interop.from_torch(module)
        except ValueError as error:
            print(f"  {type(module).__name__:<9} {str(error).split(';')[0]}")
        else:
            raise SystemExit(f"from_torch accepted {module}")


if __name__ == "__main__":
    main()
