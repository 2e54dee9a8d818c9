"""numeric.lyapunov against closed forms, an independent mpmath computation, per-point runs and
a memory budget: the Lyapunov exponents of the state-Jacobian products (eq. (5)-(7), (14))."""

import tracemalloc

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations import cells
from derivations.dims import m, n
from derivations.graph import Affine, Elementwise, Graph
from numeric import Model, Spectrum, lyapunov


def _with_spectrum(eigenvalues, seed=0):
    """A real matrix S diag(eigenvalues) S⁻¹ with a well-conditioned random S."""
    rng = np.random.default_rng(seed)
    S = np.eye(len(eigenvalues)) + 0.3 * rng.normal(size=(len(eigenvalues),) * 2)
    return S @ np.diag(eigenvalues) @ np.linalg.inv(S)


def _linear_cell() -> Graph:
    """S_t = W S_{t-1} + U X_t: eq. (1) without the activation, J_t = W at every step."""
    return Graph(
        "linear",
        (("S_prev", n), ("X", m)),
        (Affine("a", (("W", ("S_prev",)), ("U", ("X",))), n), Elementwise("S", sp.Symbol("a"))),
        ("S",),
        (("S", "S_prev"),),
    )


# ---- closed forms ---------------------------------------------------------------------------


def test_tanh_rnn_at_its_equilibrium_gives_the_log_spectral_radius():
    """x = 0, s_0 = 0 is an equilibrium of S_t = tanh(W S_{t-1} + U x_t): J* = diag(1 - 0²) W."""
    W = _with_spectrum([0.8, -0.5, 0.3])
    params = {"W": W, "U": np.ones((3, 2))}
    xs, state0 = np.zeros((300, 2, 2)), {"S": np.zeros((2, 3))}
    result = lyapunov(Model(cells.elman("tanh")), params, xs, state0, warmup=100)
    assert result.exponents.shape == (2, 1)
    np.testing.assert_allclose(result.lambda_max, np.log(0.8), rtol=0, atol=1e-10)


def test_autonomous_tanh_rnn_gives_log_rho_from_any_start():
    """h_t = tanh(W h_{t-1}) with ρ(W) < 1: every start is drawn to 0, λ_max = ln ρ(W)."""
    W = _with_spectrum([-0.85, 0.6, 0.2, -0.1], seed=1)
    starts = np.random.default_rng(2).uniform(-2, 2, size=(5, 4))
    result = lyapunov(
        Model(cells.elman("tanh")),
        {"W": W, "U": np.zeros((4, 1))},
        np.zeros((500, 5, 1)),
        {"S": starts},
        warmup=250,
    )
    np.testing.assert_allclose(result.lambda_max, np.log(0.85), rtol=0, atol=1e-9)
    assert result.se()[0] < 1e-9
    assert str(result.classify()) == "vanishes"


def test_lstm_equilibrium_over_a_grid_of_w_c_gives_ln_of_half_plus_w_c_over_4():
    """The issue's 1-unit LSTM: x = 0, every weight 0 but w_c, biases 0, start (0, 0).  Then
    i = f = o = ½ and J* = [[½, w_c/2], [¼, w_c/4]] with eigenvalues 0 and ½ + w_c/4, so
    λ_max = ln|½ + w_c/4|: non-exploding exactly for w_c in (-6, 2).  One batched run."""
    w_c = np.array([-7.0, -5.0, -1.0, 0.5, 1.9, 3.0])
    G = len(w_c)
    model = Model(cells.lstm())
    params = {name: np.zeros((G, *shape)) for name, shape in model.parameter_shapes(1, 1).items()}
    params["W_c"][:, 0, 0] = w_c
    state0 = {"C": np.zeros((1, 1)), "h": np.zeros((1, 1))}
    result = lyapunov(model, params, np.zeros((200, 1, 1)), state0, growth=False)
    assert result.exponents.shape == (G, 1, 1)
    np.testing.assert_allclose(result.lambda_max[:, 0], np.log(np.abs(0.5 + w_c / 4)), atol=1e-12)
    labels = result.classify()
    assert list(labels) == ["explodes", "vanishes", "vanishes", "vanishes", "vanishes", "explodes"]


def test_linear_cell_gives_the_top_k_log_moduli_of_its_eigenvalues():
    """A driven linear cell has J_t = W for every input: λ_i = ln|μ_i(W)|, sorted."""
    eigenvalues = [1.1, 0.7, -0.4, 0.2]
    W = _with_spectrum(eigenvalues, seed=3)
    rng = np.random.default_rng(4)
    params = {"W": W, "U": rng.normal(size=(4, 2))}
    result = lyapunov(
        Model(_linear_cell()), params, rng.normal(size=(300, 3, 2)), {"S": np.zeros((3, 4))}, k=3
    )
    expected = np.log([1.1, 0.7, 0.4])
    np.testing.assert_allclose(result.exponents, np.broadcast_to(expected, (3, 3)), atol=1e-10)
    assert str(result.classify()) == "explodes"
    # the finite-T growth of the same product: ‖W^T‖₂ computed directly
    direct = np.log(np.linalg.norm(np.linalg.matrix_power(W, 300), 2))
    np.testing.assert_allclose(result.log_growth, direct, rtol=1e-12)


# ---- an independent computation in mpmath ---------------------------------------------------


def _mp_lstm_step(params, s, x):
    """One LSTM step (eq. (8)-(13)) written out in mpmath, s = [C; h]."""
    size = len(s) // 2
    C, h = s[:size], s[size:]
    z = {
        g: [
            sum(params[f"W_{g}"][r][j] * v for j, v in enumerate(h + x)) + params[f"b_{g}"][r]
            for r in range(size)
        ]
        for g in "ifco"
    }
    sig = [[1 / (1 + mpmath.exp(-v)) for v in z[g]] for g in "ifo"]
    i, f, o = sig
    g = [mpmath.tanh(v) for v in z["c"]]
    C_new = [i[r] * g[r] + f[r] * C[r] for r in range(size)]
    return C_new + [o[r] * mpmath.tanh(C_new[r]) for r in range(size)]


def test_short_run_agrees_with_mpmath_products_of_finite_difference_jacobians():
    """T = 10, warmup 0: T·λ_i = ln R_ii of the QR of (J_10 ⋯ J_1) G₀ minus that of G₀ (G₀ the
    seeded starting frame), and ln ‖J_10 ⋯ J_1‖₂ — with every J_t by central differences of
    a hand-written LSTM step at 50 digits."""
    mpmath.mp.dps = 50
    model, size, T, k = Model(cells.lstm()), 2, 10, 3
    params = {name: 1.5 * value for name, value in model.init(size, 1, seed=5).items()}
    rng = np.random.default_rng(6)
    xs, C0, h0 = rng.normal(size=(T, 1)), rng.normal(size=size), rng.normal(size=size)
    result = lyapunov(model, params, xs, {"C": C0, "h": h0}, k=k, warmup=0, seed=7)

    mp_params = {name: np.atleast_2d(v.T).T.tolist() for name, v in params.items()}
    mp_params = {
        name: [[mpmath.mpf(e) for e in row] for row in v]
        if params[name].ndim == 2
        else [mpmath.mpf(e) for e in params[name]]
        for name, v in mp_params.items()
    }
    s = [mpmath.mpf(v) for v in (*C0, *h0)]
    N, step = 2 * size, mpmath.mpf(10) ** -20
    product = mpmath.eye(N)
    for t in range(T):
        x = [mpmath.mpf(xs[t, 0])]
        J = mpmath.matrix(N, N)
        for j in range(N):
            up = _mp_lstm_step(mp_params, [v + step * (i == j) for i, v in enumerate(s)], x)
            down = _mp_lstm_step(mp_params, [v - step * (i == j) for i, v in enumerate(s)], x)
            for i in range(N):
                J[i, j] = (up[i] - down[i]) / (2 * step)
        product = J * product
        s = _mp_lstm_step(mp_params, s, x)
    G0 = mpmath.matrix(np.random.default_rng(7).standard_normal((N, k)).tolist())
    _, R = mpmath.qr(product * G0)
    _, R0 = mpmath.qr(G0)
    expected = [float((mpmath.log(abs(R[i, i])) - mpmath.log(abs(R0[i, i]))) / T) for i in range(k)]
    np.testing.assert_allclose(result.exponents, expected, rtol=0, atol=1e-13)
    growth = mpmath.log(max(mpmath.svd_r(product, compute_uv=False)))
    assert result.log_growth == pytest.approx(float(growth), abs=1e-12)


# ---- every cell, against products of the engine's state Jacobians ---------------------------


def _benettin(J: np.ndarray, frame: np.ndarray, warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """Benettin's method on materialised Jacobians J (T, B, N, N), numpy's QR, and the norm of
    the full product: the reference for the streaming, batched implementation."""
    T, B, N, _ = J.shape
    Q, sums, product = np.broadcast_to(frame, (B, *frame.shape)), 0.0, np.eye(N)
    for t in range(T):
        Q, R = np.linalg.qr(J[t] @ Q)
        if t >= warmup:
            sums = sums + np.log(np.abs(np.diagonal(R, axis1=-2, axis2=-1)))
        product = J[t] @ product
    return sums / (T - warmup), np.log(np.linalg.norm(product, 2, axis=(-2, -1)))


@pytest.mark.parametrize(
    "cell",
    [
        cells.elman("sigmoid", bias=True),
        cells.lstm(),
        cells.lstm(forget_gate=False),
        cells.gru("cho"),
        cells.gru("torch"),
    ],
    ids=lambda cell: cell.name,
)
def test_every_cell_matches_benettin_on_its_materialised_state_jacobians(cell):
    model, size, B, T = Model(cell), 3, 2, 30
    params = {name: 2 * value for name, value in model.init(size, 2, seed=20).items()}
    rng = np.random.default_rng(21)
    xs = rng.normal(size=(T, B, 2))
    state0 = {name: rng.normal(size=(B, size)) / 2 for name, _ in model.states}
    N = size * len(model.states)
    result = lyapunov(model, params, xs, state0, k=N, warmup=5, seed=22)
    frame, R = np.linalg.qr(np.random.default_rng(22).standard_normal((N, N)))
    frame = frame * np.sign(np.diag(R))  # the same frame: R with a positive diagonal
    expected, growth = _benettin(model.state_jacobians(params, xs, state0), frame, 5)
    np.testing.assert_allclose(result.exponents, expected, rtol=0, atol=1e-11)
    np.testing.assert_allclose(result.log_growth, growth, rtol=1e-12)


# ---- the grid axis and memory ---------------------------------------------------------------


def test_a_grid_run_equals_the_runs_of_its_points():
    model = Model(cells.lstm())
    G, size, B, T = 3, 3, 2, 40
    points = [model.init(size, 2, seed=10 + g) for g in range(G)]
    params = {
        name: np.stack([p[name] * (1 + g) for g, p in enumerate(points)]) for name in points[0]
    }
    params["W_o"] = points[0]["W_o"]  # shared by the grid
    rng = np.random.default_rng(11)
    xs = rng.normal(size=(T, B, 2))
    state0 = {"C": rng.normal(size=(G, B, size)), "h": rng.normal(size=(B, size))}
    grid = lyapunov(model, params, xs, state0, k=2)
    assert grid.exponents.shape == (G, B, 2) and grid.log_growth.shape == (G, B)
    for g in range(G):
        point = {name: value if name == "W_o" else value[g] for name, value in params.items()}
        one = lyapunov(model, point, xs, {"C": state0["C"][g], "h": state0["h"]}, k=2)
        np.testing.assert_allclose(grid.exponents[g], one.exponents, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(grid.log_growth[g], one.log_growth, rtol=1e-12, atol=1e-14)
    assert len({round(float(v), 6) for v in grid.lambda_max[:, 0]}) == G  # the points differ


def _peak(model, params, xs, state0) -> int:
    tracemalloc.start()
    try:
        lyapunov(model, params, xs, state0, k=2)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_T():
    """Peak memory at T = 2,000 within 5% (+ 8 KiB) of T = 100: a (T, B, N, N) array of
    Jacobians alone would add 2,000 · 2 · 3 · 3 · 8 bytes = 288 KB per grid point."""
    model = Model(cells.elman("tanh"))
    params = {name: np.stack([v, -v]) for name, v in model.init(3, 1, seed=12).items()}
    state0 = {"S": np.zeros((2, 3))}
    short = np.random.default_rng(13).normal(size=(100, 2, 1))
    long = np.random.default_rng(13).normal(size=(2000, 2, 1))
    lyapunov(model, params, short, state0)  # compile first
    small, large = _peak(model, params, short, state0), _peak(model, params, long, state0)
    assert large <= 1.05 * small + 8192, (small, large)


# ---- results, classification and validation ------------------------------------------------


def test_classify_uses_the_spread_over_the_batch():
    exponents = np.array(
        [
            [[0.30], [0.26], [0.28]],  # explodes
            [[-0.2], [-0.25], [-0.3]],  # vanishes
            [[1e-5], [-1e-5], [0.0]],  # preserved
            [[0.5], [-0.5], [0.0]],  # undetermined: the runs disagree
        ]
    )
    result = Spectrum(exponents, None, 100, 10, grid=True, batched=True)
    assert list(result.classify()) == ["explodes", "vanishes", "preserved", "undetermined"]
    np.testing.assert_allclose(result.se()[0, 0], np.std([0.30, 0.26, 0.28], ddof=1) / np.sqrt(3))
    assert list(result.classify(z=0.0, tol=0.1)) == [
        "explodes",
        "vanishes",
        "preserved",
        "preserved",
    ]
    underflow = Spectrum(np.array([[[-np.inf], [-2.0]]]), None, 100, 10, grid=True, batched=True)
    assert underflow.mean()[0, 0] == -np.inf and np.isnan(underflow.se()[0, 0])
    assert list(underflow.classify()) == ["vanishes"]
    single = Spectrum(np.array([[0.2]]), None, 100, 10, grid=False, batched=True)
    assert np.isnan(single.se()).all() and str(single.classify()) == "explodes"


ELMAN = Model(cells.elman("tanh"))
GOOD = {
    "model": ELMAN,
    "params": {"W": np.eye(2) / 2, "U": np.ones((2, 1))},
    "xs": np.zeros((20, 3, 1)),
    "state0": {"S": np.zeros((3, 2))},
}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"model": cells.elman("tanh")}, "model must be a numeric.Model"),
        ({"k": 3}, r"k must be in \[1, 2\]"),
        ({"k": 0}, r"k must be in \[1, 2\]"),
        ({"k": 1.0}, "k must be an integer"),
        ({"warmup": 20}, r"warmup must be in \[0, 19\]"),
        ({"warmup": -1}, "warmup must be"),
        ({"seed": -1}, "seed must be"),
        ({"growth": 1}, "growth must be True or False"),
        ({"xs": np.zeros((20, 3, 1), np.float32)}, "xs has dtype float32"),
        ({"xs": np.full((20, 3, 1), np.nan)}, "xs must be finite"),
        ({"xs": np.zeros((20, 3, 2))}, r"params\['U'\] must have shape"),
        ({"xs": np.zeros((0, 3, 1))}, "xs must have shape"),
        ({"params": {"W": np.eye(2)}}, r"params must have keys \['U', 'W'\]: missing \['U'\]"),
        ({"params": {"W": np.zeros((2, 2, 2, 2)), "U": np.ones((2, 1))}}, r"params\['W'\]"),
        (
            {"params": {"W": np.zeros((4, 2, 2)), "U": np.ones((3, 2, 1))}},
            r"params\['U'\] must have shape \(G, n, m\) = \(4, 2, 1\)",
        ),
        ({"state0": {"S": np.zeros((4, 2))}}, r"state0\['S'\] must have shape \(B, n\)"),
        ({"state0": {"h": np.zeros((3, 2))}}, r"state0 must have keys \['S'\]"),
        ({"state0": np.zeros((3, 2))}, "state0 must be a dict"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(changes, match):
    call = {**GOOD, **changes}
    options = {key: call.pop(key) for key in ("k", "warmup", "seed", "growth") if key in call}
    with pytest.raises(ValueError, match=match):
        lyapunov(*call.values(), **options)


def test_the_good_call_and_its_unbatched_form():
    batched = lyapunov(*GOOD.values(), k=2)
    assert batched.exponents.shape == (3, 2) and batched.log_growth.shape == (3,)
    unbatched = lyapunov(ELMAN, GOOD["params"], np.zeros((20, 1)), {"S": np.zeros(2)}, k=2)
    assert unbatched.exponents.shape == (2,) and unbatched.log_growth.shape == ()
    np.testing.assert_allclose(unbatched.exponents, batched.exponents[0])
    np.testing.assert_allclose(unbatched.exponents, np.log([0.5, 0.5]), atol=1e-12)
