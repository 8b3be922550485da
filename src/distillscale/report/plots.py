"""The report's figures (the only matplotlib import in distillscale; Agg canvas, no pyplot).

Each ``*_figure`` function takes plain arrays and returns a :class:`Rendered` PNG and SVG.
Axes carry units: loss in nats per token, tokens as counts, compute in FLOPs (operations),
parameters as non-embedding counts; sizes and compute are on log scales.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from distillscale.errors import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Band",
    "Rendered",
    "SeriesPoints",
    "curves_figure",
    "distillation_figure",
    "holdout_figure",
    "ledger_figure",
    "residuals_figure",
    "supervised_figure",
]

LOSS_LABEL = "loss (nats/token)"
_DPI = 110


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    """One figure as PNG bytes and SVG text."""

    png: bytes
    svg: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """A fitted curve over ``x``, with an optional interval (all arrays shape (n,)).

    Parameters
    ----------
    label : str
        Legend text.
    value : float
        The value that picks its colour (e.g. model size in parameters): distinct values get
        distinct colours, in increasing order along the viridis map.
    x, y : ndarray
        Curve abscissa and predicted loss (nats per token).
    lo, hi : ndarray or None
        Interval bounds (nats per token), when the fit carries bootstrap samples.
    """

    label: str
    value: float
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    lo: NDArray[np.float64] | None = None
    hi: NDArray[np.float64] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesPoints:
    """Observed points of one group (one model size, one run), arrays shape (n,).

    ``held_out`` marks points the fit did not use (drawn hollow); None means all were used.
    """

    label: str
    value: float
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    held_out: NDArray[np.bool_] | None = None


def _new_figure(ncols: int, width: float = 5.2, height: float = 4.0) -> tuple[Figure, list[Axes]]:
    require("matplotlib", "report", "distillscale report")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
    return fig, axes


def _render(fig: Figure) -> Rendered:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for ax in fig.axes:  # minor labels collide on short log axes: keep 2x and 5x, or none
        if ax.get_xscale() == "log":
            lo, hi = ax.get_xlim()
            short = lo > 0 and math.log10(hi / lo) < 2.0
            ax.xaxis.set_minor_formatter(FuncFormatter(_minor_label) if short else NullFormatter())
    engine = fig.get_layout_engine()
    if engine is not None:  # lay out once, then freeze it for both formats
        engine.execute(fig)
        fig.set_layout_engine("none")
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=_DPI, metadata={"Software": None})
    svg = io.StringIO()
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return Rendered(png=png.getvalue(), svg=svg.getvalue())


def _minor_label(x: float, _pos: int | None) -> str:
    """Label a minor log tick only at 2 and 5 times a power of ten (``2×10^8``)."""
    if x <= 0:
        return ""
    exp = math.floor(math.log10(x))
    mantissa = round(x / 10.0**exp)
    return f"${mantissa}\\times10^{{{exp}}}$" if mantissa in (2, 5) else ""


def _colours(values: Sequence[float]) -> dict[float, Any]:
    """Viridis colour per distinct value, ordered on a log scale."""
    from matplotlib import colormaps

    distinct = sorted(set(values))
    cmap = colormaps["viridis"]
    if len(distinct) == 1:
        return {distinct[0]: cmap(0.35)}
    return {v: cmap(0.9 * i / (len(distinct) - 1)) for i, v in enumerate(distinct)}


def _legend(ax: Axes, max_entries: int = 14) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if 0 < len(handles) <= max_entries:
        ax.legend(fontsize="small", frameon=False)


def _draw_groups(
    ax: Axes, points: Sequence[SeriesPoints], curves: Sequence[Band], colours: dict[float, Any]
) -> None:
    for band in curves:
        colour = colours.get(band.value, "grey")
        ax.plot(band.x, band.y, color=colour, lw=1.5)
        if band.lo is not None and band.hi is not None:
            ax.fill_between(band.x, band.lo, band.hi, color=colour, alpha=0.2, lw=0)
    any_held = False
    for group in points:
        colour = colours.get(group.value, "grey")
        held = np.zeros(len(group.x), bool) if group.held_out is None else group.held_out
        ax.scatter(group.x[~held], group.y[~held], color=colour, s=22, zorder=3, label=group.label)
        if held.any():
            ax.scatter(
                group.x[held],
                group.y[held],
                facecolors="none",
                edgecolors=colour,
                s=44,
                lw=1.3,
                zorder=3,
            )
            any_held = True
    if any_held:  # one neutral legend entry for every group's hollow markers
        ax.scatter(
            [],
            [],
            facecolors="none",
            edgecolors="black",
            s=44,
            lw=1.3,
            label="held out (not fitted)",
        )


def supervised_figure(
    by_tokens: Sequence[SeriesPoints],
    by_flops: Sequence[SeriesPoints],
    curves_tokens: Sequence[Band],
    curves_flops: Sequence[Band],
) -> Rendered:
    """Supervised runs and the fitted law: loss vs tokens and loss vs compute, per model size.

    Parameters
    ----------
    by_tokens, by_flops : sequence of SeriesPoints
        Observed final losses (nats per token) against tokens (count) and training FLOPs, one
        group per model size (``value`` = non-embedding parameters). Without any FLOPs the
        compute panel is left out.
    curves_tokens, curves_flops : sequence of Band
        The fitted law at each model size over the same axes, with bootstrap bands if any.
    """
    has_compute = any(len(g.x) for g in by_flops) or any(len(b.x) for b in curves_flops)
    fig, axes = _new_figure(2 if has_compute else 1)
    colours = _colours([g.value for g in by_tokens] + [b.value for b in curves_tokens])
    ax_d = axes[0]
    _draw_groups(ax_d, by_tokens, curves_tokens, colours)
    ax_d.set(
        xscale="log",
        xlabel="training tokens D (tokens)",
        ylabel=LOSS_LABEL,
        title="supervised runs: loss vs data",
    )
    if has_compute:  # runs.csv may carry no flops; a log axis needs data
        ax_c = axes[1]
        _draw_groups(ax_c, by_flops, curves_flops, colours)
        ax_c.set(
            xscale="log",
            xlabel="training compute C (FLOPs)",
            ylabel=LOSS_LABEL,
            title="supervised runs: loss vs compute",
        )
    _legend(ax_d)
    return _render(fig)


def distillation_figure(
    points: Sequence[SeriesPoints],
    curves: Sequence[Band],
    supervised: Sequence[tuple[float, float]] = (),
) -> Rendered:
    """Student loss against teacher loss per student size (the capacity gap).

    Parameters
    ----------
    points : sequence of SeriesPoints
        Observed distilled students: x = teacher loss, y = student loss (nats per token), one
        group per student size and token count.
    curves : sequence of Band
        The fitted distillation law over teacher loss for each group.
    supervised : sequence of (value, loss)
        Per group (``value`` as in ``points``), the supervised law's loss at the student's size
        and tokens (nats per token), drawn as a dotted horizontal line: distillation wins below.
    """
    fig, (ax,) = _new_figure(1, width=6.4, height=4.4)
    colours = _colours([g.value for g in points] + [b.value for b in curves])
    _draw_groups(ax, points, curves, colours)
    for value, loss in supervised:
        ax.axhline(loss, color=colours.get(value, "grey"), ls=":", lw=1.2)
    if supervised:  # one neutral legend entry for every group's dotted line
        ax.plot([], [], ls=":", lw=1.2, color="black", label="supervised loss, same N_S and D_S")
    xs = [np.asarray(g.x) for g in points if len(g.x)] + [b.x for b in curves if len(b.x)]
    if xs:
        lo, hi = float(min(x.min() for x in xs)), float(max(x.max() for x in xs))
        ax.plot([lo, hi], [lo, hi], ls="--", color="black", lw=0.8, label="student = teacher")
    ax.set(
        xlabel="teacher loss L_T (nats/token)",
        ylabel="student loss L_S (nats/token)",
        title="distilled students: the capacity gap",
    )
    _legend(ax)
    return _render(fig)


def residuals_figure(
    groups: Sequence[tuple[str, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]],
) -> Rendered:
    """Observed against predicted loss, and relative residuals against model size.

    Parameters
    ----------
    groups : sequence of (label, params, observed, predicted)
        One entry per fitted law: non-embedding parameters (count), observed and predicted
        losses (nats per token), arrays shape (n,).
    """
    fig, (ax_p, ax_r) = _new_figure(2)
    markers = ["o", "s", "^", "D"]
    all_vals: list[float] = []
    for i, (label, params, observed, predicted) in enumerate(groups):
        marker = markers[i % len(markers)]
        ax_p.scatter(predicted, observed, s=20, marker=marker, label=label, zorder=3)
        rel = 100.0 * (predicted - observed) / observed
        ax_r.scatter(params, rel, s=20, marker=marker, label=label, zorder=3)
        all_vals += [*observed.tolist(), *predicted.tolist()]
    if all_vals:
        lo, hi = min(all_vals), max(all_vals)
        ax_p.plot([lo, hi], [lo, hi], ls="--", color="black", lw=0.8, label="observed = predicted")
    ax_r.axhline(0.0, color="black", lw=0.8)
    ax_p.set(
        xlabel="predicted loss (nats/token)",
        ylabel="observed loss (nats/token)",
        title="fit: observed vs predicted",
    )
    ax_r.set(
        xscale="log",
        xlabel="model size N (non-embedding parameters)",
        ylabel="relative residual (predicted - observed)/observed (%)",
        title="fit: relative residuals",
    )
    _legend(ax_p)
    return _render(fig)


def holdout_figure(
    groups: Sequence[tuple[str, NDArray[np.float64], NDArray[np.float64]]],
) -> Rendered:
    """Held-out runs: observed against predicted loss (nats per token).

    Parameters
    ----------
    groups : sequence of (label, observed, predicted)
        One entry per fit; arrays shape (n,) in nats per token.
    """
    fig, (ax,) = _new_figure(1, width=5.6, height=4.4)
    all_vals: list[float] = []
    for label, observed, predicted in groups:
        ax.scatter(predicted, observed, s=28, label=label, zorder=3)
        all_vals += [*observed.tolist(), *predicted.tolist()]
    if all_vals:
        lo, hi = min(all_vals), max(all_vals)
        pad = 0.02 * (hi - lo) if hi > lo else 0.01
        ax.plot(
            [lo - pad, hi + pad],
            [lo - pad, hi + pad],
            ls="--",
            color="black",
            lw=0.8,
            label="observed = predicted",
        )
    ax.set(
        xlabel="predicted loss (nats/token)",
        ylabel="observed loss (nats/token)",
        title="held-out runs (not used in the fit)",
    )
    _legend(ax)
    return _render(fig)


def ledger_figure(
    phases: Sequence[str], actual: Sequence[float], planned: Sequence[float] | None
) -> Rendered:
    """FLOPs by phase as horizontal bars on a log scale, actual beside planned.

    Parameters
    ----------
    phases : sequence of str
        Phase names.
    actual : sequence of float
        FLOPs spent per phase (operations); zero or NaN bars are left out of the log axis.
    planned : sequence of float or None
        FLOPs planned per phase (operations), when the ledger has a ``planned`` mapping.
    """
    fig, (ax,) = _new_figure(1, width=6.8, height=0.5 * len(phases) + 1.6)
    y = np.arange(len(phases), dtype=float)
    height = 0.38 if planned is not None else 0.7
    act = np.where(np.asarray(actual, dtype=float) > 0, actual, np.nan)
    bars = ax.barh(y, act, height=height, color="#3b6ea5", label="spent")
    ax.bar_label(bars, labels=[_flops_text(v) for v in act], fontsize=7, padding=2)
    if planned is not None:
        plan = np.where(np.asarray(planned, dtype=float) > 0, planned, np.nan)
        bars = ax.barh(y + height, plan, height=height, color="#c9a227", label="planned")
        ax.bar_label(bars, labels=[_flops_text(v) for v in plan], fontsize=7, padding=2)
        ax.set_yticks(y + height / 2, list(phases))
    else:
        ax.set_yticks(y, list(phases))
    ax.invert_yaxis()
    ax.margins(x=0.12)  # room for the value labels
    ax.set(xscale="log", xlabel="compute (FLOPs)", title="FLOPs ledger by phase")
    _legend(ax)
    return _render(fig)


def _flops_text(value: float) -> str:
    return f"{value:.2g}" if math.isfinite(value) else ""


def curves_figure(series: Sequence[SeriesPoints], train: Sequence[SeriesPoints]) -> Rendered:
    """Loss curves: validation and training loss against tokens seen, coloured by model size.

    Parameters
    ----------
    series : sequence of SeriesPoints
        Per run: x = tokens seen (count), y = validation loss (nats per token); ``value`` picks
        the colour (model size) and runs of one size share one legend entry (``label``).
    train : sequence of SeriesPoints
        Per run: training loss (nats per token) against tokens seen; drawn faint beside
        validation curves, or as the main lines when no run logged a validation loss.
    """
    fig, (ax,) = _new_figure(1, width=7.0, height=4.4)
    colours = _colours([g.value for g in series] + [g.value for g in train])
    labelled: set[str] = set()

    def label_once(label: str) -> str | None:
        if label in labelled:
            return None
        labelled.add(label)
        return label

    main_is_train = not series
    series = sorted(series, key=lambda g: g.value)  # legend entries in size order
    train = sorted(train, key=lambda g: g.value)
    for group in train:
        colour = colours.get(group.value, "grey")
        if main_is_train:
            ax.plot(group.x, group.y, color=colour, lw=1.2, label=label_once(group.label))
        else:
            ax.plot(group.x, group.y, color=colour, lw=0.8, alpha=0.3)
    for group in series:
        ax.plot(
            group.x,
            group.y,
            color=colours.get(group.value, "grey"),
            lw=1.4,
            marker=".",
            ms=3,
            label=label_once(group.label),
        )
    title = (
        "training loss curves (no validation loss logged)"
        if main_is_train
        else "loss curves (validation: solid with dots; training: faint)"
    )
    ax.set(
        xscale="log",
        xlabel="tokens seen (tokens)",
        ylabel=LOSS_LABEL,
        title=title,
    )
    _legend(ax, max_entries=12)
    return _render(fig)
