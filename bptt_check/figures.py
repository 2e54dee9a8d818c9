"""The report's four figures, as vector PDFs with fixed metadata (same seed → same bytes).

1. ‖∂S_t/∂S_k‖₂ against t − k for ‖W‖₂ below, near and above 1/γ, with (γ‖W‖₂)^(t−k) beside
   each curve (eq. (5)-(7));
2. for the LSTM counterexample, ∏ f_t (the cell path eq. (14) looks at) against the full
   ‖∂(C_t, h_t)/∂(C_0, h_0)‖₂;
3. ∏ f_t over T for several forget-gate biases, with the ρ line;
4. σ, σ' and tanh' with γ marked, and where σ rounds to 1 in float16/32/64.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from numeric import lstm, product_norms, rnn
from numeric.floating import saturation_threshold

from .claims_lstm import _params as lstm_params
from .claims_lstm import exploding_lstm

__all__ = ["FIGURES", "grid_figure", "write_figures", "write_grid"]

#: File name and caption of each figure, in order.
FIGURES = {
    "rnn-jacobian-norms.pdf": r"$\|\partial S_t/\partial S_k\|_2$ of a sigmoid RNN ($n = 8$) "
    r"against $t-k$ for three scales of $W$, with the bound $(\gamma\|W\|_2)^{t-k}$ dashed "
    r"($\gamma = 1/4$).",
    "lstm-cell-path.pdf": r"The LSTM counterexample: the cell path $\prod f_t$ that eq.~(14) "
    r"looks at, against the full $\|\partial(C_t,h_t)/\partial(C_0,h_0)\|_2$.",
    "forget-products.pdf": r"$\prod_{t\le T} f_t$ for constant forget pre-activations $z_f$, "
    r"with the line $\rho = 0.5$.",
    "activations.pdf": r"$\sigma$, $\sigma'$ and $\tanh'$ with $\gamma = \sup\sigma' = 1/4$, "
    r"and the first $x$ at which the computed $\sigma(x)$ is exactly 1.",
}

_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
_STYLE = {
    "figure.figsize": (5.2, 3.0),
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "pdf.fonttype": 42,
    "svg.hashsalt": "bptt-check",
}


def _rnn_norms(axes, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, T = 8, 60
    W0 = rng.normal(size=(n, n))
    xs, s0 = rng.normal(size=(T, 2)), rng.uniform(0, 1, n)
    U = rng.normal(size=(n, 2)) / 2
    for scale, colour in ((0.8, "tab:blue"), (1.0, "tab:orange"), (1.25, "tab:red")):
        W = W0 * scale / (0.25 * np.linalg.norm(W0, 2))
        norms = product_norms(rnn.state_jacobians({"W": W, "U": U}, xs, s0))
        lag = np.arange(1, T + 1)
        axes.semilogy(lag, norms, color=colour, label=rf"$\gamma\|W\|_2 = {scale}$")
        axes.semilogy(lag, scale**lag, color=colour, linestyle="--", linewidth=0.9)
    axes.set_xlabel(r"$t-k$")
    axes.set_ylabel(r"$\|\partial S_t/\partial S_k\|_2$")
    axes.legend(loc="lower left", fontsize=8)


def _lstm_path(axes, seed: int) -> None:
    found = exploding_lstm()
    params = lstm_params(found["values"])
    T = 40
    J = lstm.state_jacobians(params, np.zeros((T, 1)), np.zeros(1), np.zeros(1))
    t = np.arange(1, T + 1)
    axes.semilogy(t, np.cumprod(J[:, 0, 0]), label=r"cell path $\prod f_t$")
    axes.semilogy(t, product_norms(J), label=r"$\|\partial(C_t,h_t)/\partial(C_0,h_0)\|_2$")
    axes.set_xlabel(r"$t$")
    axes.set_ylabel("factor from step 0 to step $t$")
    axes.legend(loc="center left", fontsize=8)


def _forget_products(axes, seed: int) -> None:
    T = np.arange(1, 1001)
    for z in (1, 2, 3, 5, 7):
        f = 1 / (1 + np.exp(-z))
        axes.semilogx(T, f**T, label=rf"$z_f = {z}$")
    axes.axhline(0.5, color="black", linewidth=0.8, linestyle=":")
    axes.set_xlabel(r"$T$")
    axes.set_ylabel(r"$\prod_{t \leq T} f_t$")
    axes.legend(loc="lower left", fontsize=8)


def _activations(axes, seed: int) -> None:
    x = np.linspace(-8, 40, 2001)
    s = 1 / (1 + np.exp(-x))
    axes.plot(x, s, label=r"$\sigma$")
    axes.plot(x, s * (1 - s), label=r"$\sigma'$")
    axes.plot(x, 1 - np.tanh(x) ** 2, label=r"$\tanh'$")
    axes.axhline(0.25, color="grey", linewidth=0.8, linestyle="--")
    axes.annotate(r"$\gamma = 1/4$", (-7.5, 0.28), fontsize=8)
    for dtype, marker in ((np.float16, "v"), (np.float32, "s"), (np.float64, "o")):
        at = float(saturation_threshold(dtype))
        axes.plot(
            [at],
            [1.0],
            marker=marker,
            color="black",
            linestyle="none",
            label=rf"$\sigma = 1$ in {np.dtype(dtype).name} at $x = {at:.4g}$",
        )
    axes.set_xlabel(r"$x$")
    axes.set_ylabel(r"$\sigma(x)$, $\sigma'(x)$, $\tanh'(x)$")
    axes.legend(loc="center right", fontsize=7)


_DRAW = dict(zip(FIGURES, (_rnn_norms, _lstm_path, _forget_products, _activations), strict=True))


def write_figures(directory: Path, seed: int) -> list[Path]:
    """Draw every figure into ``directory``; return their paths.  Each is a
    :class:`matplotlib.figure.Figure` of its own: pyplot and the user's backend are left alone."""
    paths = []
    with matplotlib.rc_context(_STYLE):
        for name, draw in _DRAW.items():
            figure = Figure()
            draw(figure.add_subplot(), seed)
            figure.tight_layout()
            path = directory / name
            figure.savefig(path, metadata=_METADATA)
            paths.append(path)
    return paths


#: How the outlines of a grid's overlays are drawn, in order.
_OUTLINES = (("black", "solid"), ("black", "dashed"), ("dimgray", "dotted"))


def grid_figure(grid) -> Figure:
    """A :class:`~bptt_check.evidence.Grid` as a figure: the value in colour over the two
    parameters, every axis and the colour bar labelled."""
    with matplotlib.rc_context(_STYLE):
        figure = Figure()
        axes = figure.add_subplot()
        values = np.asarray(grid.values, dtype=float)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        # a signed value (an exponent, a log-growth) is centred on 0: red grows, blue shrinks,
        # also when every value has one sign (a map that only vanishes is all blue)
        margin = 1e-3 * max(abs(low), abs(high), 1e-12)
        norm = TwoSlopeNorm(0.0, min(low, -margin), max(high, margin))
        mesh = axes.pcolormesh(
            np.asarray(grid.x.values),
            np.asarray(grid.y.values),
            values,
            shading="nearest",
            cmap="RdBu_r",
            norm=norm,
        )
        axes.set_xlabel(grid.x.label)
        axes.set_ylabel(grid.y.label)
        handles = []
        for overlay, (colour, style) in zip(grid.overlays, _OUTLINES, strict=False):
            region = np.asarray(overlay.region, dtype=float)
            label = overlay.label
            if region.sum() == 0:
                label += " (nowhere here)"
            elif region.sum() == region.size:
                label += " (everywhere here)"
            else:  # a region with an edge inside the map
                axes.contour(
                    np.asarray(grid.x.values),
                    np.asarray(grid.y.values),
                    region,
                    levels=[0.5],
                    colors=[colour],
                    linestyles=[style],
                    linewidths=1.5,
                )
            handles.append(Line2D([], [], color=colour, linestyle=style, label=label))
        if handles:
            axes.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.9)
        figure.colorbar(mesh, ax=axes, label=grid.label)
        figure.tight_layout()
    return figure


def curve_figure(curve) -> Figure:
    """A :class:`~bptt_check.evidence.Curve` as a line plot: measured series with markers and
    their standard-error bands, theory as lines, the reference lines at their exact values."""
    with matplotlib.rc_context(_STYLE):
        figure = Figure()
        axes = figure.add_subplot()
        x = np.asarray(curve.x.values, dtype=float)
        for line in curve.series:
            y = np.asarray(line.y, dtype=float)
            if line.theory:
                axes.plot(x, y, linestyle="solid", label=line.label)
            else:
                axes.plot(x, y, marker="o", markersize=3, linestyle="dotted", label=line.label)
                if line.se is not None:
                    se = np.asarray(line.se, dtype=float)
                    axes.fill_between(x, y - 2 * se, y + 2 * se, alpha=0.2, linewidth=0)
        for value, label in curve.hlines:
            axes.axhline(value, color="gray", linewidth=0.8, linestyle="dashed", label=label)
        for value, label in curve.vlines:
            axes.axvline(value, color="black", linewidth=0.8, linestyle="dashdot", label=label)
        if curve.log_x:
            axes.set_xscale("log")
        if curve.log_y:
            axes.set_yscale("log")
        axes.set_xlabel(curve.x.label)
        axes.set_ylabel(curve.y_label)
        axes.tick_params(right=True, top=True)
        axes.legend(fontsize="small", framealpha=0.9)
        figure.tight_layout()
    return figure


def write_curve(curve, path: Path) -> Path:
    """Draw ``curve`` into ``path`` (a vector PDF with fixed metadata: same curve, same
    bytes)."""
    with matplotlib.rc_context(_STYLE):
        curve_figure(curve).savefig(path, metadata=_METADATA)
    return path


def write_grid(grid, path: Path) -> Path:
    """Draw ``grid`` into ``path`` (a vector PDF with fixed metadata: same grid, same bytes)."""
    with matplotlib.rc_context(_STYLE):
        grid_figure(grid).savefig(path, metadata=_METADATA)
    return path
