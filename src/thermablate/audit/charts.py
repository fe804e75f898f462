"""Charts of the audit figures, drawn with matplotlib (Agg, no display) as SVG data URIs that
both the browser and WeasyPrint show. Each has a title and labelled axes, readable at a glance."""

from __future__ import annotations

import base64
import io
import textwrap

import matplotlib
from matplotlib.figure import Figure

from thermablate.audit.analysis.cohort import FollowUpCompleteness
from thermablate.audit.analysis.cusum import CusumChart
from thermablate.audit.analysis.funnel import Funnel
from thermablate.audit.analysis.outcomes import OutcomeAtTimepoint
from thermablate.audit.analysis.safety import EventRate

NHS_BLUE = "#005eb8"
NHS_DARK_BLUE = "#003087"
NHS_RED = "#d5281b"
NHS_GREEN = "#007f3b"
NHS_GREY = "#768692"
NHS_WARM_YELLOW = "#ffb81c"


def _figure(
    width: float = 6.4, height: float = 3.4, left: float = 0.13, bottom: float = 0.15
) -> tuple[Figure, object]:
    # Fixed margins rather than constrained layout: one draw per chart instead of three.
    figure = Figure(figsize=(width, height), dpi=100)
    figure.subplots_adjust(left=left, right=0.97, top=0.9, bottom=bottom)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#d8dde0", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure, axes


def to_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    # Text stays text (not paths): smaller files, faster PDFs, selectable labels.
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans"}):
        figure.savefig(buffer, format="svg")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _errors(values, lows, highs):
    return [
        [
            max(0.0, v - lo) if v is not None and lo is not None else 0
            for v, lo in zip(values, lows, strict=True)
        ],
        [
            max(0.0, hi - v) if v is not None and hi is not None else 0
            for v, hi in zip(values, highs, strict=True)
        ],
    ]


def follow_up_chart(rows: list[FollowUpCompleteness]) -> str:
    figure, axes = _figure()
    labels = [row.label for row in rows]
    shares = [100 * (row.completeness.share or 0) for row in rows]
    lows = [
        100 * row.completeness.low if row.completeness.low is not None else None for row in rows
    ]
    highs = [
        100 * row.completeness.high if row.completeness.high is not None else None for row in rows
    ]
    axes.bar(labels, shares, color=NHS_BLUE)
    axes.errorbar(
        labels,
        shares,
        yerr=_errors(shares, lows, highs),
        fmt="none",
        ecolor=NHS_DARK_BLUE,
        capsize=4,
    )
    for index, row in enumerate(rows):
        axes.annotate(
            f"{row.done}/{row.due}",
            (index, 2),
            ha="center",
            color="white",
            fontsize=9,
            fontweight="bold",
        )
    axes.set_ylim(0, 105)
    axes.set_ylabel("Done in window of those due (%)")
    axes.set_title("Follow-up completeness (95 % Wilson interval)")
    return to_data_uri(figure)


def outcome_chart(rows: list[OutcomeAtTimepoint]) -> str:
    measure = rows[0].measure
    figure, axes = _figure(left=0.15)
    labels = [row.label for row in rows]
    means = [row.mean_change.value for row in rows]
    shown = [(i, m) for i, m in enumerate(means) if m is not None]
    if shown:
        xs = [i for i, _ in shown]
        ys = [m for _, m in shown]
        lows = [rows[i].mean_change.low for i in xs]
        highs = [rows[i].mean_change.high for i in xs]
        axes.errorbar(
            xs,
            ys,
            yerr=_errors(ys, lows, highs),
            fmt="o-",
            color=NHS_BLUE,
            ecolor=NHS_DARK_BLUE,
            capsize=4,
            linewidth=2,
        )
        for x, y in shown:
            axes.annotate(
                f"n={rows[x].pairs}",
                (x, y),
                textcoords="offset points",
                xytext=(6, 6),
                fontsize=8,
                color=NHS_GREY,
            )
    axes.axhline(0, color=NHS_GREY, linewidth=1)
    axes.set_xticks(range(len(labels)), labels)
    better = "lower is better" if measure.lower_is_better else "higher is better"
    axes.set_ylabel(f"Mean change from baseline\n({measure.unit}; {better})")
    axes.set_title(f"{measure.label}: change from baseline (95 % CI)")
    return to_data_uri(figure)


def events_chart(rows: list[EventRate]) -> str:
    figure, axes = _figure(6.4, 3.8, left=0.36, bottom=0.14)
    rows = list(reversed(rows))
    labels = [textwrap.fill(row.label, 24) for row in rows]
    shares = [100 * (row.rate.share or 0) for row in rows]
    lows = [100 * row.rate.low if row.rate.low is not None else None for row in rows]
    highs = [100 * row.rate.high if row.rate.high is not None else None for row in rows]
    colours = [NHS_RED if row.key_outcome else NHS_GREY for row in rows]
    axes.barh(labels, shares, color=colours)
    axes.errorbar(
        shares, labels, xerr=_errors(shares, lows, highs), fmt="none", ecolor="black", capsize=3
    )
    axes.grid(axis="x", color="#d8dde0", linewidth=0.6)
    axes.grid(axis="y", visible=False)
    axes.set_xlabel("Procedures with the event (%), 95 % Wilson interval")
    axes.set_title("Adverse events (red: HTG670 key safety outcomes)")
    return to_data_uri(figure)


def _legend_below(axes) -> None:
    axes.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)


def cusum_chart(charts: list[CusumChart]) -> str:
    figure, axes = _figure(6.4, 3.8, bottom=0.3)
    colours = [NHS_BLUE, NHS_GREEN, NHS_WARM_YELLOW, NHS_DARK_BLUE, NHS_GREY, NHS_RED]
    limit = charts[0].limit if charts else 0
    for index, chart in enumerate(charts):
        axes.step(
            range(1, chart.cases + 1),
            chart.values,
            where="post",
            label=chart.unit,
            color=colours[index % len(colours)],
            linewidth=1.8,
        )
        if chart.signalled_at:
            axes.plot(
                chart.signalled_at,
                chart.values[chart.signalled_at - 1],
                "o",
                color=NHS_RED,
                markersize=8,
            )
    if charts:
        axes.axhline(
            limit,
            color=NHS_RED,
            linestyle="--",
            linewidth=1.2,
            label=f"decision limit h = {limit:g}",
        )
        axes.set_ylim(
            0,
            max(
                limit * 1.15,
                max((float(c.values.max()) for c in charts if c.cases), default=0) * 1.1,
            ),
        )
        _legend_below(axes)
    axes.set_xlabel("Operator's cases, in date order")
    axes.set_ylabel("CUSUM (log-likelihood ratio)")
    axes.set_title("Complications per operator: Bernoulli CUSUM")
    return to_data_uri(figure)


def funnel_chart(result: Funnel, unit_name: str = "operator") -> str:
    figure, axes = _figure(6.4, 3.8, bottom=0.3)
    styles = {"95%": (":", NHS_WARM_YELLOW), "99.8%": ("--", NHS_RED)}
    for name, (lower, upper) in result.limits.items():
        style, colour = styles[name]
        axes.plot(result.n_grid, 100 * upper, style, color=colour, label=f"{name} limits")
        axes.plot(result.n_grid, 100 * lower, style, color=colour)
    axes.axhline(
        100 * result.target,
        color=NHS_GREY,
        linewidth=1,
        label=f"overall rate {100 * result.target:.1f} %",
    )
    for point in result.points:
        colour = NHS_RED if point.verdict.startswith("above") else NHS_BLUE
        axes.plot(point.cases, 100 * point.rate, "o", color=colour, markersize=8)
        axes.annotate(
            point.unit,
            (point.cases, 100 * point.rate),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.set_xlabel(f"Procedures per {unit_name}")
    axes.set_ylabel("Procedures with an adverse event (%)")
    axes.set_title(f"Funnel plot of complication rates by {unit_name}")
    _legend_below(axes)
    return to_data_uri(figure)


def agreement_chart(figures) -> str:
    """Bland-Altman plots of the ablation zone, measured against predicted: the difference
    (measured - predicted) against the mean of the two, with the mean difference and the
    95 % limits of agreement, for the length and the width."""
    figure = Figure(figsize=(8.6, 3.4), dpi=100)
    figure.subplots_adjust(left=0.09, right=0.98, top=0.86, bottom=0.16, wspace=0.28)
    for index, (name, agreement, a, b) in enumerate(
        (("length", figures.length, 0, 1), ("width", figures.width, 2, 3))
    ):
        axes = figure.add_subplot(1, 2, index + 1)
        axes.spines[["top", "right"]].set_visible(False)
        means = [(p[a] + p[b]) / 2 for p in figures.pairs]
        differences = [p[b] - p[a] for p in figures.pairs]
        axes.scatter(means, differences, color=NHS_BLUE, s=18)
        axes.axhline(0, color=NHS_GREY, linewidth=0.6)
        if agreement.mean_difference is not None:
            axes.axhline(agreement.mean_difference, color=NHS_DARK_BLUE, linewidth=1.2)
        if agreement.enough:
            for limit in (agreement.lower_limit, agreement.upper_limit):
                axes.axhline(limit, color=NHS_RED, linestyle="--", linewidth=1)
        axes.set_title(f"Zone {name} (n = {agreement.n})", fontsize=10)
        axes.set_xlabel("mean of predicted and measured [mm]")
        axes.set_ylabel("measured - predicted [mm]")
    figure.suptitle("Predicted against measured ablation zone (Bland-Altman)", fontsize=11)
    return to_data_uri(figure)
