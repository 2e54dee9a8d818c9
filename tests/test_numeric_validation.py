"""numeric.rnn and numeric.lstm reject bad calls with a ValueError that names the argument.

One table of bad calls (in the style of Hypothesis' tests/numpy/test_argument_validation.py):
each entry is a public function, its keyword arguments with one of them spoiled, and the
pattern the ValueError must match — the argument's name plus a distinctive part of the message
(the expected shape, "finite", "missing", "unknown", ...).  Then a few calls that must succeed:
integer arrays and nested lists are read as float64, and unbatched calls drop the batch axis.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from derivations import cells
from numeric import Model, lstm, rnn

n, m, k, T, B = 3, 2, 2, 4, 2

_rng = np.random.default_rng(0)
RNN_PARAMS = {
    "W": _rng.normal(size=(n, n)) / 3,
    "U": _rng.normal(size=(n, m)),
    "V": _rng.normal(size=(k, n)),
}
XS = _rng.normal(size=(T, B, m))
S0 = _rng.normal(size=(B, n))
YS = _rng.uniform(size=(T, B, k))
LSTM_PARAMS = {f"W_{g}": _rng.normal(size=(n, n + m)) / 3 for g in "ifco"} | {
    f"b_{g}": _rng.normal(size=n) for g in "ifco"
}
H0 = _rng.normal(size=(B, n))
C0 = _rng.normal(size=(B, n))
DH = _rng.normal(size=(T, B, n))
DC = _rng.normal(size=(T, B, n))

NO_V = {key: value for key, value in RNN_PARAMS.items() if key != "V"}

#: A good call of every public function, as keyword arguments.
GOOD: dict[Callable, dict[str, Any]] = {
    rnn.forward: {"params": RNN_PARAMS, "xs": XS, "s0": S0},
    rnn.value_and_grad: {"params": RNN_PARAMS, "xs": XS, "ys": YS, "s0": S0},
    rnn.state_jacobians: {"params": NO_V, "xs": XS, "s0": S0},
    lstm.forward: {"params": LSTM_PARAMS, "xs": XS, "h0": H0, "c0": C0},
    lstm.vjp: {"params": LSTM_PARAMS, "xs": XS, "h0": H0, "c0": C0, "dH": DH, "dC": DC},
    lstm.state_jacobians: {"params": LSTM_PARAMS, "xs": XS, "h0": H0, "c0": C0},
}
RNN_FUNCTIONS = [rnn.forward, rnn.value_and_grad, rnn.state_jacobians]
LSTM_FUNCTIONS = [lstm.forward, lstm.vjp, lstm.state_jacobians]


def _name(function: Callable) -> str:
    return f"{function.__module__.rsplit('.', 1)[-1]}.{function.__name__}"


def _spoiled(array: np.ndarray, value: float) -> np.ndarray:
    """A copy of ``array`` with ``value`` (NaN or inf) in one entry."""
    out = array.copy()
    out.flat[1] = value
    return out


def _with(params: dict, key: Any, value: Any) -> dict:
    return {**params, key: value}


def _without(params: dict, key: str) -> dict:
    return {name: value for name, value in params.items() if name != key}


def bad(function: Callable, match: str, id: str, **changes: Any):
    """The good call of ``function`` with ``changes``; it must raise ValueError(match)."""
    return pytest.param(function, {**GOOD[function], **changes}, match, id=id)


RAGGED = [[[1.0, 2.0], [3.0]]] * T  # (T, B, m) with one row of B too short

# Checks that apply to xs and params of every function alike.
EVERY_FUNCTION = [
    case
    for function in RNN_FUNCTIONS + LSTM_FUNCTIONS
    for case in (
        bad(
            function,
            r"xs must be a numeric array of shape \(T, B, m\).*got str",
            id=f"{_name(function)}-xs-str",
            xs="not an array",
        ),
        bad(
            function,
            r"xs must be a numeric array of shape \(T, B, m\).*got NoneType",
            id=f"{_name(function)}-xs-None",
            xs=None,
        ),
        bad(
            function, r"xs must .*shape \(T, B, m\)", id=f"{_name(function)}-xs-object", xs=object()
        ),
        bad(
            function,
            r"xs must have shape \(T, B, m\).* with T >= 1, got shape \(0, 2, 2\)",
            id=f"{_name(function)}-xs-T0",
            xs=XS[:0],
        ),
        bad(
            function,
            r"xs must have shape \(T, B, m\).* with B >= 1, got shape \(4, 0, 2\)",
            id=f"{_name(function)}-xs-B0",
            xs=XS[:, :0],
        ),
        bad(
            function,
            r"xs must have shape \(T, B, m\).*, got shape \(4, 2, 2, 1\)",
            id=f"{_name(function)}-xs-ndim4",
            xs=XS[..., None],
        ),
        bad(
            function, r"xs must be finite", id=f"{_name(function)}-xs-nan", xs=_spoiled(XS, np.nan)
        ),
        bad(
            function, r"xs must be finite", id=f"{_name(function)}-xs-inf", xs=_spoiled(XS, np.inf)
        ),
        bad(
            function,
            r"params must be a dict .*got list",
            id=f"{_name(function)}-params-list",
            params=[XS],
        ),
        bad(
            function,
            r"params must be a dict .*got NoneType",
            id=f"{_name(function)}-params-None",
            params=None,
        ),
    )
]

BAD_CALLS = [
    # --- rnn: ndim and sizes -------------------------------------------------------------------
    bad(
        rnn.forward,
        r"xs must have shape \(T, B, m\), got shape \(4,\)",
        id="rnn.forward-xs-ndim1",
        xs=np.ones(T),
    ),
    bad(
        rnn.forward,
        r"params\['U'\] must have shape \(n, m\) = \(3, 2\), got shape \(3, 3\)",
        id="rnn.forward-U-one-column-too-wide-blames-U",
        params=_with(RNN_PARAMS, "U", np.ones((n, m + 1))),
    ),
    bad(
        rnn.forward,
        r"s0 must have shape \(B, n\) = \(2, 3\), got shape \(2, 4\)",
        id="rnn.forward-s0-n4-with-W-3x3",
        s0=np.zeros((B, 4)),
    ),
    bad(
        rnn.forward,
        r"s0 must have shape \(B, n\) = \(2, 3\), got shape \(3, 3\)",
        id="rnn.forward-s0-B-mismatch",
        s0=np.zeros((3, n)),
    ),
    bad(
        rnn.forward,
        r"s0 must have shape \(B, n\) = \(2, 3\), got shape \(3,\)",
        id="rnn.forward-s0-unbatched-with-batched-xs",
        s0=np.zeros(n),
    ),
    bad(
        rnn.forward,
        r"s0 must have shape \(n\) = \(3\), got shape \(2, 3\)",
        id="rnn.forward-s0-batched-with-unbatched-xs",
        xs=XS[:, 0],
    ),
    bad(
        rnn.forward,
        r"params\[.W.\] must have shape \(n, n\) = \(3, 3\), got shape \(3,\)",
        id="rnn.forward-W-ndim1",
        params=_with(RNN_PARAMS, "W", np.ones(n)),
    ),
    bad(
        rnn.forward,
        r"params\['U'\] must have shape \(n, m\) = \(3, 2\), got shape \(4, 2\)",
        id="rnn.forward-U-rows-not-n",
        params=_with(RNN_PARAMS, "U", np.ones((4, m))),
    ),
    bad(
        rnn.forward,
        r"params\['W'\] must have shape \(n, n\) = \(3, 3\), got shape \(3, 4\)",
        id="rnn.forward-W-not-square",
        params=_with(RNN_PARAMS, "W", np.ones((3, 4))),
    ),
    bad(
        rnn.value_and_grad,
        r"params\['V'\] must have shape \(k, n\) = \(2, 3\), got shape \(2, 4\)",
        id="rnn.value_and_grad-V-cols-not-n",
        params=_with(RNN_PARAMS, "V", np.ones((k, 4))),
    ),
    bad(
        rnn.value_and_grad,
        r"ys must have shape \(T, B, k\) = \(4, 2, 2\), got shape \(4, 2, 1\)",
        id="rnn.value_and_grad-ys-k-mismatch-V",
        ys=YS[..., :1],
    ),
    bad(
        rnn.value_and_grad,
        r"ys must have shape \(T, B, k\) = \(4, 2, 2\), got shape \(3, 2, 2\)",
        id="rnn.value_and_grad-ys-wrong-T",
        ys=YS[:-1],
    ),
    bad(
        rnn.value_and_grad,
        r"ys must have shape \(T, B, k\) = \(4, 2, 2\), got shape \(4, 2\)",
        id="rnn.value_and_grad-ys-ndim2",
        ys=YS[:, 0],
    ),
    bad(
        rnn.state_jacobians,
        r"s0 must have shape \(B, n\) = \(2, 3\), got shape \(2, 4\)",
        id="rnn.state_jacobians-s0-n4-with-W-3x3",
        s0=np.zeros((B, 4)),
    ),
    # --- rnn: keys ---------------------------------------------------------------------------
    bad(
        rnn.value_and_grad,
        r"params must have keys \['U', 'V', 'W'\]: missing \['V'\]",
        id="rnn.value_and_grad-params-missing-V",
        params=NO_V,
    ),
    bad(
        rnn.forward,
        r"params must have keys \['U', 'V', 'W'\]: missing \['U'\]",
        id="rnn.forward-params-missing-U",
        params=_without(RNN_PARAMS, "U"),
    ),
    bad(
        rnn.forward,
        r"params must have keys \['U', 'V', 'W'\]: missing \['V'\]",
        id="rnn.forward-params-missing-V",
        params=NO_V,
    ),
    bad(
        rnn.state_jacobians,
        r"params must have keys \['U', 'W'\]: missing \['W'\]",
        id="rnn.state_jacobians-params-missing-W",
        params=_without(NO_V, "W"),
    ),
    bad(
        rnn.forward,
        r"params must have keys \['U', 'V', 'W'\]: unknown \['b'\]",
        id="rnn.forward-params-unknown-b",
        params=_with(RNN_PARAMS, "b", np.zeros(n)),
    ),
    bad(
        rnn.value_and_grad,
        r"params must have keys .*missing \['W'\]; unknown \['w'\]",
        id="rnn.value_and_grad-params-missing-and-unknown",
        params=_with(_without(RNN_PARAMS, "W"), "w", RNN_PARAMS["W"]),
    ),
    bad(
        rnn.forward,
        r"params must have keys \['U', 'V', 'W'\]: unknown",
        id="rnn.forward-params-unknown-non-str-keys",
        params=_with(_with(RNN_PARAMS, 0, 1.0), "b", 1.0),
    ),
    bad(
        rnn.forward,
        r"params must be a dict .*got ndarray",
        id="rnn.forward-params-ndarray",
        params=RNN_PARAMS["W"],
    ),
    # --- rnn: values -------------------------------------------------------------------------
    bad(
        rnn.forward,
        r"params\['W'\] must be finite",
        id="rnn.forward-W-nan",
        params=_with(RNN_PARAMS, "W", _spoiled(RNN_PARAMS["W"], np.nan)),
    ),
    bad(
        rnn.value_and_grad,
        r"params\['V'\] must be finite",
        id="rnn.value_and_grad-V-inf",
        params=_with(RNN_PARAMS, "V", _spoiled(RNN_PARAMS["V"], np.inf)),
    ),
    bad(
        rnn.state_jacobians,
        r"params\['U'\] must be finite",
        id="rnn.state_jacobians-U-neg-inf",
        params=_with(NO_V, "U", _spoiled(NO_V["U"], -np.inf)),
    ),
    bad(rnn.forward, r"s0 must be finite", id="rnn.forward-s0-nan", s0=_spoiled(S0, np.nan)),
    bad(
        rnn.value_and_grad,
        r"s0 must be finite",
        id="rnn.value_and_grad-s0-inf",
        s0=_spoiled(S0, np.inf),
    ),
    bad(
        rnn.value_and_grad,
        r"ys must be finite",
        id="rnn.value_and_grad-ys-nan",
        ys=_spoiled(YS, np.nan),
    ),
    bad(
        rnn.value_and_grad,
        r"ys must be targets in \[0, 1\]",
        id="rnn.value_and_grad-ys-above-1",
        ys=YS + 1,
    ),
    bad(
        rnn.value_and_grad,
        r"ys must be targets in \[0, 1\]",
        id="rnn.value_and_grad-ys-below-0",
        ys=YS - 1,
    ),
    bad(
        rnn.value_and_grad,
        r"ys must be targets in \[0, 1\]",
        id="rnn.value_and_grad-ys-int-2",
        ys=np.full((T, B, k), 2),
    ),
    bad(
        rnn.forward,
        r"params\['W'\] must be a numeric array .*got str",
        id="rnn.forward-W-str",
        params=_with(RNN_PARAMS, "W", "W"),
    ),
    bad(
        rnn.forward,
        r"params\['U'\] must be a numeric array .*got NoneType",
        id="rnn.forward-U-None",
        params=_with(RNN_PARAMS, "U", None),
    ),
    bad(
        rnn.forward,
        r"xs must be a numeric array .*got dtype complex128",
        id="rnn.forward-xs-complex",
        xs=XS + 0j,
    ),
    bad(
        rnn.value_and_grad,
        r"ys must be a numeric array .*got dtype bool",
        id="rnn.value_and_grad-ys-bool",
        ys=YS > 0.5,
    ),
    bad(
        rnn.value_and_grad,
        r"ys must be a numeric array .*got NoneType",
        id="rnn.value_and_grad-ys-None",
        ys=None,
    ),
    bad(rnn.forward, r"s0 must be a numeric array .*got str", id="rnn.forward-s0-str", s0="s0"),
    bad(
        rnn.forward,
        r"s0 must be a numeric array of shape \(B, n\)",
        id="rnn.forward-s0-ragged",
        s0=[[1.0, 2.0, 3.0], [1.0]],
    ),
    bad(
        rnn.value_and_grad,
        r"ys must be a numeric array of shape \(T, B, k\)",
        id="rnn.value_and_grad-ys-ragged",
        ys=RAGGED,
    ),
    bad(
        rnn.forward,
        r"xs must be a numeric array of shape \(T, B, m\)",
        id="rnn.forward-xs-ragged",
        xs=RAGGED,
    ),
    # --- rnn: options ------------------------------------------------------------------------
    bad(
        rnn.forward,
        r"activation must be one of \['sigmoid', 'tanh'\], got 'relu'",
        id="rnn.forward-activation-unknown",
        activation="relu",
    ),
    bad(
        rnn.value_and_grad,
        r"activation must be one of .*got 'Sigmoid'",
        id="rnn.value_and_grad-activation-case",
        activation="Sigmoid",
    ),
    bad(
        rnn.state_jacobians,
        r"activation must be one of .*got None",
        id="rnn.state_jacobians-activation-None",
        activation=None,
    ),
    bad(
        rnn.forward,
        r"activation must be one of",
        id="rnn.forward-activation-list",
        activation=["tanh"],
    ),
    bad(
        rnn.value_and_grad,
        r"loss must be one of \['bce', 'ce', 'literal'\], got 'mse'",
        id="rnn.value_and_grad-loss-unknown",
        loss="mse",
    ),
    bad(
        rnn.value_and_grad,
        r"loss must be one of .*got None",
        id="rnn.value_and_grad-loss-None",
        loss=None,
    ),
    # --- lstm: ndim and sizes ----------------------------------------------------------------
    bad(
        lstm.forward,
        r"xs must have shape \(T, B, m\), got shape \(4,\)",
        id="lstm.forward-xs-ndim1",
        xs=np.ones(T),
    ),
    bad(
        lstm.forward,
        r"h0 must have shape \(B, n\) = \(2, 3\), got shape \(3, 3\)",
        id="lstm.forward-h0-B-mismatch",
        h0=np.zeros((3, n)),
    ),
    bad(
        lstm.forward,
        r"c0 must have shape \(B, n\) = \(2, 3\), got shape \(2, 4\)",
        id="lstm.forward-c0-n-mismatch-h0",
        c0=np.zeros((B, 4)),
    ),
    bad(
        lstm.forward,
        r"h0 must have shape \(B, n\) = \(2, 3\), got shape \(3,\)",
        id="lstm.forward-h0-unbatched-with-batched-xs",
        h0=np.zeros(n),
    ),
    bad(
        lstm.forward,
        r"h0 must have shape \(n\) = \(3\), got shape \(2, 3\)",
        id="lstm.forward-h0-batched-with-unbatched-xs",
        xs=XS[:, 0],
    ),
    bad(
        lstm.forward,
        r"params\['W_f'\] must have shape \(n, n\+m\) = \(3, 5\), got shape \(3, 6\)",
        id="lstm.forward-W_f-cols-not-n+m",
        params=_with(LSTM_PARAMS, "W_f", np.ones((n, n + m + 1))),
    ),
    bad(
        lstm.vjp,
        r"params\['W_i'\] must have shape \(n, n\+m\) = \(3, 5\), got shape \(3, 3\)",
        id="lstm.vjp-W_i-cols-n-only",
        params=_with(LSTM_PARAMS, "W_i", np.ones((n, n))),
    ),
    bad(
        lstm.state_jacobians,
        r"params\['W_o'\] must have shape \(n, n\+m\) = \(3, 5\), got shape \(4, 5\)",
        id="lstm.state_jacobians-W_o-rows-not-n",
        params=_with(LSTM_PARAMS, "W_o", np.ones((4, n + m))),
    ),
    bad(
        lstm.forward,
        r"params\['W_c'\] must have shape \(n, n\+m\) = \(3, 5\), got shape \(5,\)",
        id="lstm.forward-W_c-ndim1",
        params=_with(LSTM_PARAMS, "W_c", np.ones(n + m)),
    ),
    bad(
        lstm.vjp,
        r"params\['b_o'\] must have shape \(n\) = \(3\), got shape \(4,\)",
        id="lstm.vjp-b_o-length",
        params=_with(LSTM_PARAMS, "b_o", np.ones(n + 1)),
    ),
    bad(
        lstm.forward,
        r"params\['b_i'\] must have shape \(n\) = \(3\), got shape \(1, 3\)",
        id="lstm.forward-b_i-ndim2",
        params=_with(LSTM_PARAMS, "b_i", np.ones((1, n))),
    ),
    bad(
        lstm.vjp,
        r"dH must have shape \(T, B, n\) = \(4, 2, 3\), got shape \(3, 2, 3\)",
        id="lstm.vjp-dH-wrong-T",
        dH=DH[:-1],
    ),
    bad(
        lstm.vjp,
        r"dH must have shape \(T, B, n\) = \(4, 2, 3\), got shape \(4, 2, 2\)",
        id="lstm.vjp-dH-wrong-n",
        dH=DH[..., :2],
    ),
    bad(
        lstm.vjp,
        r"dH must have shape \(T, B, n\) = \(4, 2, 3\), got shape \(2, 3\)",
        id="lstm.vjp-dH-ndim2",
        dH=DH[0],
    ),
    bad(
        lstm.vjp,
        r"dH must have shape \(T, n\) = \(4, 3\), got shape \(4, 2, 3\)",
        id="lstm.vjp-dH-batched-with-unbatched-xs",
        xs=XS[:, 0],
        h0=H0[0],
        c0=C0[0],
        dC=None,
    ),
    bad(
        lstm.vjp,
        r"dC must have shape \(T, B, n\) = \(4, 2, 3\), got shape \(4, 1, 3\)",
        id="lstm.vjp-dC-wrong-B",
        dC=DC[:, :1],
    ),
    bad(
        lstm.vjp,
        r"dH must have shape \(T, B, n\) = \(4, 2, 3\), got shape \(0, 2, 3\)",
        id="lstm.vjp-dH-T0",
        dH=DH[:0],
    ),
    # --- lstm: keys --------------------------------------------------------------------------
    bad(
        lstm.forward,
        r"params must have keys \['W_c', .*\]: missing \['b_c'\]",
        id="lstm.forward-params-missing-b_c",
        params=_without(LSTM_PARAMS, "b_c"),
    ),
    bad(
        lstm.vjp,
        r"params must have keys .*: missing \['W_f', 'b_f'\]",
        id="lstm.vjp-params-missing-forget-gate",
        params=_without(_without(LSTM_PARAMS, "W_f"), "b_f"),
    ),
    bad(
        lstm.state_jacobians,
        r"params must have keys .*: unknown \['b_x'\]",
        id="lstm.state_jacobians-params-unknown-b_x",
        params=_with(LSTM_PARAMS, "b_x", np.zeros(n)),
    ),
    bad(
        lstm.forward,
        r"params must have keys .*: unknown \['W', 'b'\]",
        id="lstm.forward-params-unknown-stacked",
        params=_with(_with(LSTM_PARAMS, "W", np.ones((4 * n, n + m))), "b", np.zeros(4 * n)),
    ),
    bad(
        lstm.forward,
        r"params must have keys .*: missing .*'W_i'.*unknown \['W_in'\]",
        id="lstm.forward-params-misspelt",
        params=_with(_without(LSTM_PARAMS, "W_i"), "W_in", LSTM_PARAMS["W_i"]),
    ),
    bad(
        lstm.vjp,
        r"params must be a dict .*got tuple",
        id="lstm.vjp-params-tuple",
        params=tuple(LSTM_PARAMS.values()),
    ),
    # --- lstm: values ------------------------------------------------------------------------
    bad(
        lstm.forward,
        r"params\['W_f'\] must be finite",
        id="lstm.forward-W_f-nan",
        params=_with(LSTM_PARAMS, "W_f", _spoiled(LSTM_PARAMS["W_f"], np.nan)),
    ),
    bad(
        lstm.vjp,
        r"params\['b_o'\] must be finite",
        id="lstm.vjp-b_o-inf",
        params=_with(LSTM_PARAMS, "b_o", _spoiled(LSTM_PARAMS["b_o"], np.inf)),
    ),
    bad(lstm.forward, r"h0 must be finite", id="lstm.forward-h0-nan", h0=_spoiled(H0, np.nan)),
    bad(
        lstm.state_jacobians,
        r"c0 must be finite",
        id="lstm.state_jacobians-c0-inf",
        c0=_spoiled(C0, np.inf),
    ),
    bad(lstm.vjp, r"dH must be finite", id="lstm.vjp-dH-nan", dH=_spoiled(DH, np.nan)),
    bad(lstm.vjp, r"dH must be finite", id="lstm.vjp-dH-inf", dH=_spoiled(DH, -np.inf)),
    bad(lstm.vjp, r"dC must be finite", id="lstm.vjp-dC-nan", dC=_spoiled(DC, np.nan)),
    bad(lstm.forward, r"xs must be finite", id="lstm.forward-xs-complex-nan", xs=XS + 1j * np.nan),
    bad(
        lstm.forward,
        r"xs must be finite",
        id="lstm.forward-xs-object-nan",
        xs=XS.astype(object) * np.nan,
    ),
    bad(
        lstm.forward,
        r"xs must be a numeric array",
        id="lstm.forward-xs-object-None",
        xs=np.full((T, B, m), None),
    ),
    bad(lstm.vjp, r"dH must be a numeric array .*got NoneType", id="lstm.vjp-dH-None", dH=None),
    bad(lstm.vjp, r"dH must be a numeric array .*got str", id="lstm.vjp-dH-str", dH="dH"),
    bad(
        lstm.vjp,
        r"dH must be a numeric array of shape \(T, B, n\)",
        id="lstm.vjp-dH-ragged",
        dH=[[[1.0, 2.0, 3.0], [1.0]]] * T,
    ),
    bad(
        lstm.forward,
        r"h0 must be a numeric array .*got NoneType",
        id="lstm.forward-h0-None",
        h0=None,
    ),
    bad(
        lstm.state_jacobians,
        r"c0 must be a numeric array .*got bytes",
        id="lstm.state_jacobians-c0-bytes",
        c0=b"c0",
    ),
    bad(
        lstm.forward,
        r"params\['b_f'\] must be a numeric array .*got NoneType",
        id="lstm.forward-b_f-None",
        params=_with(LSTM_PARAMS, "b_f", None),
    ),
    bad(
        lstm.vjp,
        r"xs must be a numeric array of shape \(T, B, m\)",
        id="lstm.vjp-xs-ragged",
        xs=RAGGED,
    ),
    *EVERY_FUNCTION,
]


@pytest.mark.parametrize(("function", "kwargs", "match"), BAD_CALLS)
def test_bad_call_raises_value_error_naming_the_argument(function, kwargs, match):
    with pytest.raises(ValueError, match=match):
        function(**kwargs)


# --- sizes from every argument at once: the wrong argument is blamed, never a correct one ----
# n is voted by the recurrent blocks, biases and states jointly, m by xs and the input blocks;
# the message names the argument that disagrees and where the winning size comes from.
GRU = Model(cells.gru("torch"))
ELMAN = Model(cells.elman("tanh", bias=True))
LSTM = Model(cells.lstm())
_X3 = _rng.normal(size=(T, B, 3))
_GRU_P = GRU.init(n=4, m=3)
_ELMAN_P = ELMAN.init(n=4, m=3)
_LSTM_P = LSTM.init(n=4, m=3)
_H = {"h": np.zeros((B, 4))}
_S = {"S": np.zeros((B, 4))}
_HC = {"h": np.zeros((B, 4)), "C": np.zeros((B, 4))}


def model_bad(model, params, xs, state0, match, id):
    return pytest.param(model.forward, {"params": params, "xs": xs, "state0": state0}, match, id=id)


MODEL_BAD_CALLS = [
    bad(
        rnn.forward,
        r"params\['U'\] must have shape \(n, m\) = \(3, 1\), got shape \(3, 2\) \(xs has "
        r"shape \(4, 2, 1\), so m = 1, and params\['U'\] has m = 2: nothing else fixes m, so "
        r"one of the two is wrong \(m is taken from xs\)\)$",
        id="rnn.forward-xs-too-narrow-names-xs-and-U",
        xs=XS[..., :1],
    ),
    model_bad(
        GRU,
        _with(_GRU_P, "W_ir", np.ones((12, 3))),
        _X3,
        _H,
        r"params\['W_ir'\] must have shape \(n, m\) = \(4, 3\), got shape \(12, 3\) "
        r"\(n = 4 from params\['W_hr'\].*; params\['W_ir'\] has n = 12\); it is 3 blocks",
        id="gru-W_ir-torch-stacked-weight_ih_l0-blames-W_ir",
    ),
    model_bad(
        GRU,
        _with(_GRU_P, "W_ir", _GRU_P["W_ir"].T),
        _X3,
        _H,
        r"params\['W_ir'\] must have shape \(n, m\) = \(4, 3\), got shape \(3, 4\).*"
        r"m = 3 from xs.*it is transposed",
        id="gru-W_ir-transposed-blames-W_ir",
    ),
    model_bad(
        GRU,
        _GRU_P,
        _X3[..., :2],
        _H,
        r"xs must have shape \(T, B, m\) = \(4, 2, 3\), got shape \(4, 2, 2\) "
        r"\(m = 3 from params\['W_ir'\], params\['W_iz'\], params\['W_in'\]; xs has m = 2\)",
        id="gru-xs-too-narrow-blames-xs",
    ),
    model_bad(
        ELMAN,
        _with(_ELMAN_P, "W", np.ones((5, 5))),
        _X3,
        _S,
        r"params\['W'\] must have shape \(n, n\) = \(4, 4\), got shape \(5, 5\) "
        r"\(n = 4 from params\['U'\], params\['b'\], state0\['S'\]",
        id="elman-W-5x5-at-n4-blames-W-not-U",
    ),
    model_bad(
        ELMAN,
        _ELMAN_P,
        _X3[..., :2],
        _S,
        r"params\['U'\] must have shape \(n, m\) = \(4, 2\), got shape \(4, 3\) "
        r"\(xs has shape \(4, 2, 2\), so m = 2, and params\['U'\] has m = 3: nothing else "
        r"fixes m, so one of the two is wrong",
        id="elman-xs-too-narrow-names-xs-and-U",
    ),
    model_bad(
        LSTM,
        _with(_LSTM_P, "W_i", np.ones((16, 7))),
        _X3,
        _HC,
        r"params\['W_i'\] must have shape \(n, n\+m\) = \(4, 7\), got shape \(16, 7\) "
        r"\(n = 4 from .*; it is 4 blocks",
        id="lstm-W_i-16x7-blames-W_i-as-4x7",
    ),
    model_bad(
        LSTM,
        _LSTM_P,
        _X3[..., :2],
        _HC,
        r"xs must have shape \(T, B, m\) = \(4, 2, 3\), got shape \(4, 2, 2\) "
        r"\(m = 3 from params\['W_i'\]",
        id="lstm-xs-too-narrow-blames-xs-from-n+m",
    ),
    model_bad(
        LSTM,
        _LSTM_P,
        _X3,
        {"h": np.zeros((B, 5)), "C": np.zeros((B, 4))},
        r"state0\['h'\] must have shape \(B, n\) = \(2, 4\), got shape \(2, 5\) "
        r"\(n = 4 from params",
        id="lstm-h0-n5-blames-h0",
    ),
    model_bad(
        GRU,
        _GRU_P,
        _spoiled(_X3, np.nan),
        _H,
        r"xs must be finite: xs\[0, 0, 1\] is nan",
        id="gru-xs-nan-says-where",
    ),
    model_bad(
        GRU,
        _with(_GRU_P, "b_z", np.array([0.0, 0.0, np.inf, 0.0])),
        _X3,
        _H,
        r"params\['b_z'\] must be finite: params\['b_z'\]\[2\] is inf",
        id="gru-b_z-inf-says-where",
    ),
]


@pytest.mark.parametrize(("function", "kwargs", "match"), MODEL_BAD_CALLS)
def test_a_size_is_decided_by_every_argument_and_the_wrong_one_is_blamed(function, kwargs, match):
    with pytest.raises(ValueError, match=match):
        function(**kwargs)


def test_the_good_calls_of_the_table_succeed():
    for function, kwargs in GOOD.items():
        function(**kwargs)


# --- accepted input types: integers and nested lists are read as float64 -------------------


def _as_ints(params: dict) -> dict:
    return {key: np.round(3 * value).astype(np.int64) for key, value in params.items()}


def _as_lists(params: dict) -> dict:
    return {key: value.tolist() for key, value in params.items()}


def _assert_same(got, expected):
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected)
        for key in expected:
            _assert_same(got[key], expected[key])
    elif isinstance(expected, tuple):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _assert_same(g, e)
    elif isinstance(expected, float):
        assert type(got) is float
        assert got == expected
    else:
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, expected)


def _floats(value):
    return np.asarray(value, dtype=np.float64)


INT_XS = np.round(2 * XS).astype(np.int64)
INT_S0 = np.round(2 * S0).astype(np.int32)
INT_YS = (YS > 0.5).astype(np.int8)


@pytest.mark.parametrize(
    ("function", "kwargs"),
    [
        pytest.param(
            rnn.forward,
            {"params": _as_ints(RNN_PARAMS), "xs": INT_XS, "s0": INT_S0},
            id="rnn.forward",
        ),
        pytest.param(
            rnn.value_and_grad,
            {"params": _as_ints(RNN_PARAMS), "xs": INT_XS, "ys": INT_YS, "s0": INT_S0},
            id="rnn.value_and_grad",
        ),
        pytest.param(
            rnn.state_jacobians,
            {"params": _as_ints(NO_V), "xs": INT_XS, "s0": INT_S0},
            id="rnn.state_jacobians",
        ),
        pytest.param(
            lstm.forward,
            {"params": _as_ints(LSTM_PARAMS), "xs": INT_XS, "h0": INT_S0, "c0": INT_S0},
            id="lstm.forward",
        ),
        pytest.param(
            lstm.vjp,
            {
                "params": _as_ints(LSTM_PARAMS),
                "xs": INT_XS,
                "h0": INT_S0,
                "c0": INT_S0,
                "dH": np.ones((T, B, n), dtype=np.int64),
                "dC": np.zeros((T, B, n), dtype=np.uint8),
            },
            id="lstm.vjp",
        ),
        pytest.param(
            lstm.state_jacobians,
            {"params": _as_ints(LSTM_PARAMS), "xs": INT_XS, "h0": INT_S0, "c0": INT_S0},
            id="lstm.state_jacobians",
        ),
    ],
)
def test_integer_arrays_give_the_float_result(function, kwargs):
    floats = {key: _floats(value) for key, value in kwargs.items() if key != "params"}
    floats["params"] = {key: _floats(value) for key, value in kwargs["params"].items()}
    _assert_same(function(**kwargs), function(**floats))


@pytest.mark.parametrize("function", RNN_FUNCTIONS + LSTM_FUNCTIONS, ids=_name)
def test_nested_lists_give_the_array_result(function):
    arrays = GOOD[function]
    lists = {
        key: _as_lists(value) if key == "params" else value.tolist()
        for key, value in arrays.items()
    }
    _assert_same(function(**lists), function(**arrays))


# --- unbatched calls: no batch axis in the results -----------------------------------------


def _unbatched(function: Callable, b: int = 0) -> dict[str, Any]:
    """The good call of ``function`` for batch element ``b`` alone, without the batch axis."""
    return {
        key: value if key == "params" else value[:, b] if value.ndim == 3 else value[b]
        for key, value in GOOD[function].items()
    }


def test_unbatched_rnn_forward_shapes():
    S, O = rnn.forward(**_unbatched(rnn.forward))
    assert S.shape == (T, n)
    assert O.shape == (T, k)


def test_unbatched_rnn_value_and_grad_shapes():
    L, grads = rnn.value_and_grad(**_unbatched(rnn.value_and_grad))
    assert isinstance(L, float)
    assert {key: g.shape for key, g in grads.items()} == {
        "W": (n, n),
        "U": (n, m),
        "V": (k, n),
        "s0": (n,),
    }


def test_unbatched_rnn_state_jacobians_shape():
    assert rnn.state_jacobians(**_unbatched(rnn.state_jacobians)).shape == (T, n, n)


def test_unbatched_lstm_forward_shapes():
    H, C = lstm.forward(**_unbatched(lstm.forward))
    assert H.shape == (T, n)
    assert C.shape == (T, n)


def test_unbatched_lstm_vjp_shapes():
    grads = lstm.vjp(**_unbatched(lstm.vjp))
    expected = {key: value.shape for key, value in LSTM_PARAMS.items()} | {
        "h0": (n,),
        "c0": (n,),
    }
    assert {key: g.shape for key, g in grads.items()} == expected


def test_unbatched_lstm_state_jacobians_shape():
    assert lstm.state_jacobians(**_unbatched(lstm.state_jacobians)).shape == (T, 2 * n, 2 * n)


@pytest.mark.parametrize("b", range(B))
@pytest.mark.parametrize("function", [rnn.forward, lstm.forward], ids=_name)
def test_unbatched_forward_is_one_row_of_the_batched(function, b):
    batched = function(**GOOD[function])
    unbatched = function(**_unbatched(function, b))
    for whole, row in zip(batched, unbatched, strict=True):
        np.testing.assert_allclose(row, whole[:, b], rtol=1e-13, atol=0)


@pytest.mark.parametrize("function", [rnn.state_jacobians, lstm.state_jacobians], ids=_name)
def test_unbatched_state_jacobians_are_one_row_of_the_batched(function):
    batched = function(**GOOD[function])
    for b in range(B):
        np.testing.assert_allclose(
            function(**_unbatched(function, b)), batched[:, b], rtol=1e-13, atol=0
        )
