"""Shared Hypothesis strategies: models and points where the activations do not saturate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from derivations.rnn import ACTIVATIONS, LOSSES


def unit(shape, low=-1.0, high=1.0):
    """Arrays of floats in [low, high]: with sizes up to 4 + 3, pre-activations stay below 7."""
    return arrays(
        np.float64,
        shape,
        elements=st.floats(low, high, allow_subnormal=False, allow_nan=False, allow_infinity=False),
    )


@dataclass
class RNNCase:
    params: dict
    xs: np.ndarray
    ys: np.ndarray
    s0: np.ndarray
    activation: str
    loss: str


@dataclass
class LSTMCase:
    params: dict
    xs: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    dH: np.ndarray
    dC: np.ndarray


@st.composite
def rnn_cases(draw, max_n=4, max_m=3, max_k=3, max_T=6, max_B=3, losses=tuple(LOSSES)):
    n, m, k = draw(st.integers(1, max_n)), draw(st.integers(1, max_m)), draw(st.integers(1, max_k))
    T, B = draw(st.integers(1, max_T)), draw(st.integers(1, max_B))
    loss = draw(st.sampled_from(losses))
    # the literal reading takes log of the target: keep targets away from 0 there
    ys = draw(unit((T, B, k), 0.05 if loss == "literal" else 0.0, 1.0))
    return RNNCase(
        params={"W": draw(unit((n, n))), "U": draw(unit((n, m))), "V": draw(unit((k, n)))},
        xs=draw(unit((T, B, m))),
        ys=ys,
        s0=draw(unit((B, n))),
        activation=draw(st.sampled_from(tuple(ACTIVATIONS))),
        loss=loss,
    )


@st.composite
def lstm_cases(draw, max_n=4, max_m=3, max_T=6, max_B=3):
    n, m = draw(st.integers(1, max_n)), draw(st.integers(1, max_m))
    T, B = draw(st.integers(1, max_T)), draw(st.integers(1, max_B))
    params = {f"W_{g}": draw(unit((n, n + m))) for g in "ifco"}
    params |= {f"b_{g}": draw(unit((n,))) for g in "ifco"}
    return LSTMCase(
        params,
        draw(unit((T, B, m))),
        draw(unit((B, n))),
        draw(unit((B, n))),
        draw(unit((T, B, n))),
        draw(unit((T, B, n))),
    )


def seeded_rnn(n=3, m=2, k=2, T=4, B=2, seed=0, scale=1.0, activation="sigmoid", loss="bce"):
    rng = np.random.default_rng(seed)
    params = {
        "W": scale * rng.uniform(-1, 1, (n, n)),
        "U": rng.uniform(-1, 1, (n, m)),
        "V": rng.uniform(-1, 1, (k, n)),
    }
    return RNNCase(
        params,
        rng.uniform(-1, 1, (T, B, m)),
        rng.uniform(0, 1, (T, B, k)),
        rng.uniform(-1, 1, (B, n)),
        activation,
        loss,
    )


def seeded_lstm(n=3, m=2, T=4, B=2, seed=0):
    rng = np.random.default_rng(seed)
    params = {f"W_{g}": rng.uniform(-1, 1, (n, n + m)) for g in "ifco"}
    params |= {f"b_{g}": rng.uniform(-1, 1, n) for g in "ifco"}
    return LSTMCase(
        params,
        rng.uniform(-1, 1, (T, B, m)),
        rng.uniform(-1, 1, (B, n)),
        rng.uniform(-1, 1, (B, n)),
        rng.normal(size=(T, B, n)),
        rng.normal(size=(T, B, n)),
    )
