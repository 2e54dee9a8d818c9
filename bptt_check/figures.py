"""The report's figures, drawn from the evidence alone: every :class:`~bptt_check.evidence.Grid`
and :class:`~bptt_check.evidence.Curve` of the verdicts, as vector PDFs with fixed metadata
(same evidence → same bytes).  Nothing is computed here: a figure is its item's numbers.

The maps of one verdict that show the same quantity (their colour bars have one label) share
one colour scale, so that they can be compared by eye; every axis has ticks on both sides.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = [
    "curve_figure",
    "grid_figure",
    "write_curve",
    "write_figures",
    "write_grid",
]

_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
_STYLE = {
    "figure.figsize": (5.2, 3.0),
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "pdf.fonttype": 42,
    "svg.hashsalt": "bptt-check",
    "xtick.top": True,
    "ytick.right": True,
}


def _limits(grids: list) -> dict[str, tuple[float, float]]:
    """One colour range per colour-bar label over ``grids``: related maps on one scale."""
    out: dict[str, tuple[float, float]] = {}
    for grid in grids:
        values = np.asarray(grid.values, dtype=float)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        if grid.label in out:
            low, high = min(low, out[grid.label][0]), max(high, out[grid.label][1])
        out[grid.label] = (low, high)
    return out


def write_figures(verdicts, directory: Path) -> dict[tuple[str, str], Path]:
    """Draw every Grid and Curve of ``verdicts`` into ``directory``; return their paths by
    (claim id, item key).  Each is a :class:`matplotlib.figure.Figure` of its own: pyplot and
    the user's backend are left alone."""
    from .evidence import Curve, Grid
    from .report_items import figure_file

    paths = {}
    for v in verdicts:
        grids = [item for item in v.evidence if isinstance(item, Grid)]
        limits = _limits(grids)
        for item in v.evidence:
            path = Path(directory) / figure_file(v.id, item.key)
            if isinstance(item, Grid):
                paths[(v.id, item.key)] = write_grid(item, path, limits[item.label])
            elif isinstance(item, Curve):
                paths[(v.id, item.key)] = write_curve(item, path)
    return paths


#: How the outlines of a grid's overlays are drawn, in order.
_OUTLINES = (("black", "solid"), ("black", "dashed"), ("dimgray", "dotted"))


def grid_figure(grid, limits: tuple[float, float] | None = None) -> Figure:
    """A :class:`~bptt_check.evidence.Grid` as a figure: the value in colour over the two
    parameters (on the colour range ``limits``, by default the grid's own), every axis and the
    colour bar labelled."""
    with matplotlib.rc_context(_STYLE):
        figure = Figure()
        axes = figure.add_subplot()
        values = np.asarray(grid.values, dtype=float)
        low, high = limits or (float(np.nanmin(values)), float(np.nanmax(values)))
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
        cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        colours: dict[str, str] = {}
        for number, line in enumerate(curve.series):
            y = np.asarray(line.y, dtype=float)
            group = line.group or f"\x00{number}"  # ungrouped: a colour of its own
            colour = colours.setdefault(group, cycle[len(colours) % len(cycle)])
            if line.theory:
                style = "dashed" if line.group else "solid"  # a bound beside its measurement
                axes.plot(x, y, linestyle=style, color=colour, label=line.label)
            else:
                axes.plot(
                    x,
                    y,
                    marker="o",
                    markersize=2.5,
                    linestyle="dotted",
                    color=colour,
                    label=line.label,
                )
                if line.se is not None:
                    se = np.asarray(line.se, dtype=float)
                    axes.fill_between(
                        x, y - 2 * se, y + 2 * se, alpha=0.2, linewidth=0, color=colour
                    )
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


def write_grid(grid, path: Path, limits: tuple[float, float] | None = None) -> Path:
    """Draw ``grid`` into ``path`` (a vector PDF with fixed metadata: same grid, same bytes)."""
    with matplotlib.rc_context(_STYLE):
        grid_figure(grid, limits).savefig(path, metadata=_METADATA)
    return path
