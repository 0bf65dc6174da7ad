"""Plotly figures of the review statistics, each with the table of numbers behind it.

Pure figure building from a ``StatisticsResult`` (``services.statistics``): no Dash
callbacks, no store. ``build_panels`` gives every panel in the order the view and the report
show them; a section without data becomes a panel with its message instead of a figure.
Compartment bars carry the compartment number in ``customdata`` (a click can open it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from synanno_dash.core.review_stats import LABEL_ORDER, CategoryCount, NeuronCounts
from synanno_dash.services.statistics import StatisticsResult
from synanno_dash.ui.skeleton_figure import compartment_color
from synanno_dash.ui.stats_panels import (
    accuracy_panels,
    agreement_panel,
    throughput_panels,
)
from synanno_dash.ui.stats_tables import (
    LABEL_COLORS,
    RATE_COLUMNS,
    Panel,
    Table,
    base_layout,
    message_panel,
    percent,
    percent_bars,
    rate_cells,
)

MAX_CATEGORY_SERIES = 15


def build_panels(
    result: StatisticsResult, progress: Callable[[int, int], None] | None = None
) -> list[Panel]:
    """Every panel of ``result``; ``progress(done, total)`` after each group of them."""
    builders: list[Callable[[StatisticsResult], list[Panel]]] = [
        lambda r: [compartments_panel(r)],
        lambda r: [progress_panel(r)],
        lambda r: [categories_panel(r), categories_by_compartment_panel(r)],
        lambda r: [neurons_panel(r)],
        lambda r: [positions_panel(r)],
        throughput_panels,
        accuracy_panels,
        lambda r: [agreement_panel(r)],
    ]
    panels: list[Panel] = []
    for done, build in enumerate(builders, start=1):
        panels += build(result)
        if progress is not None:
            progress(done, len(builders))
    return panels


def _compartment_name(k: int) -> str:
    return f"Compartment {k}"


def compartments_panel(result: StatisticsResult) -> Panel:
    title = "Error rate per compartment"
    section = result.compartments
    if section.value is None:
        return message_panel("compartments", title, section.message)
    items = section.value
    rows = tuple(
        (i.compartment, i.counts.total, i.counts.seen, i.counts.correct, i.counts.incorrect,
         i.counts.unsure, *rate_cells(i.counts.error_rate))
        for i in items
    )  # fmt: skip
    heights, error_y = percent_bars([i.counts.error_rate for i in items])
    fig = go.Figure(
        go.Bar(
            x=[_compartment_name(i.compartment) for i in items],
            y=heights,
            customdata=[i.compartment for i in items],
            hovertext=[
                f"{c.flagged} flagged of {c.seen} reviewed ({c.total} synapses)"
                for c in (i.counts for i in items)
            ],
            marker_color=[compartment_color(i.compartment) for i in items],
            error_y=error_y,
            hovertemplate="%{x}: %{y:.1f}%<br>%{hovertext}<extra></extra>",
        )
    )
    fig.update_yaxes(title="flagged / reviewed (%)", rangemode="tozero")
    fig.update_xaxes(title="compartments along the skeleton traversal")
    columns = (
        "Compartment",
        "Synapses",
        "Reviewed",
        "Correct",
        "Incorrect",
        "Unsure",
        *RATE_COLUMNS,
    )
    sessions = len(result.neuron_sessions)
    note = "Incorrect and unsure over reviewed, with 95% Wilson intervals."
    if sessions > 1:
        note += f" Over the {sessions} sessions on this neuron."
    return Panel(
        "compartments", title, base_layout(fig, title), table=Table(columns, rows), note=note
    )


def progress_panel(result: StatisticsResult) -> Panel:
    title = "Progress"
    overall = result.overall
    if overall.total == 0:
        return message_panel("progress", title, "This session has no synapses to review yet.")
    parts = [("All", overall)]
    if result.compartments.value is not None:
        parts += [(_compartment_name(i.compartment), i.counts) for i in result.compartments.value]
    names = [name for name, _c in parts]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=[c.seen for _n, c in parts],
            orientation="h",
            name="reviewed",
            marker_color="#1f77b4",
        )
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[c.total - c.seen for _n, c in parts],
            orientation="h",
            name="not yet",
            marker_color="#d0d7de",
        )
    )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="synapses")
    rows = tuple((n, c.total, c.seen, percent(c.progress.rate)) for n, c in parts)
    table = Table(("Part", "Synapses", "Reviewed", "Reviewed %"), rows)
    height = max(260, 60 + 28 * len(parts))
    return Panel("progress", title, base_layout(fig, title, height), table=table)


def _title_totals(counts: tuple[CategoryCount, ...]) -> dict[str, int]:
    """Flagged per category title, most frequent first."""
    totals: dict[str, int] = {}
    for c in counts:
        totals[c.title] = totals.get(c.title, 0) + c.count
    return {t: totals[t] for t in sorted(totals, key=lambda t: (-totals[t], t))}


def categories_panel(result: StatisticsResult) -> Panel:
    title = "Flagged synapses per error category"
    section = result.categories
    if section.value is None:
        return message_panel("categories", title, section.message)
    totals = _title_totals(section.value.overall)
    order = list(totals)
    flagged = section.value.flagged
    fig = go.Figure(
        go.Bar(x=[totals[t] for t in order], y=order, orientation="h", marker_color="#dc3545")
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="flagged synapses")
    rows = tuple((t, totals[t], percent(totals[t] / flagged if flagged else None)) for t in order)
    table = Table(("Category", "Flagged", "Share of flagged %"), rows)
    height = max(300, 80 + 26 * len(order))
    note = "Custom categories are grouped by their text (trimmed, case ignored)."
    return Panel("categories", title, base_layout(fig, title, height), table=table, note=note)


def categories_by_compartment_panel(result: StatisticsResult) -> Panel:
    title = "Error categories per compartment"
    section = result.categories
    if result.compartments.value is None:
        return message_panel("categories_by_compartment", title, result.compartments.message)
    if section.value is None or not section.value.by_compartment:
        return message_panel("categories_by_compartment", title, section.message)
    counts = section.value.by_compartment
    order = list(_title_totals(counts))
    keep = order[:MAX_CATEGORY_SERIES]
    compartments = sorted({c.compartment for c in counts if c.compartment is not None})
    grid: dict[tuple[int, str], int] = {}
    for c in counts:
        if c.compartment is None:
            continue
        name = c.title if c.title in keep else "Other categories"
        grid[(c.compartment, name)] = grid.get((c.compartment, name), 0) + c.count
    series = keep + (["Other categories"] if len(order) > len(keep) else [])
    fig = go.Figure()
    x = [_compartment_name(k) for k in compartments]
    for name in series:
        fig.add_trace(
            go.Bar(
                x=x,
                y=[grid.get((k, name), 0) for k in compartments],
                name=name,
                customdata=compartments,
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="flagged synapses")
    rows = tuple(
        (k, name, grid[(k, name)]) for k in compartments for name in series if grid.get((k, name))
    )
    table = Table(("Compartment", "Category", "Flagged"), rows)
    return Panel("categories_by_compartment", title, base_layout(fig, title), table=table)


def _neuron_bars(fig: go.Figure, items: tuple[NeuronCounts, ...], col: int) -> None:
    names = [str(n.neuron_id) for n in items]  # text: 64-bit ids stay exact
    fig.add_trace(
        go.Bar(
            x=[n.flagged for n in items],
            y=names,
            orientation="h",
            showlegend=False,
            marker_color="#dc3545",
            customdata=[[n.reviewed, percent(n.error_rate.rate)] for n in items],
            hovertemplate="neuron %{y}<br>%{x} flagged of %{customdata[0]} reviewed "
            "(%{customdata[1]}%)<extra></extra>",
        ),
        row=1,
        col=col,
    )
    fig.update_yaxes(type="category", autorange="reversed", row=1, col=col)


def neurons_panel(result: StatisticsResult) -> Panel:
    title = "Neurons with the most flagged synapses"
    section = result.neurons
    if section.value is None:
        return message_panel("neurons", title, section.message)
    n = section.value
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.25,
        subplot_titles=(f"pre-synaptic (top {n.top_n})", f"post-synaptic (top {n.top_n})"),
    )
    _neuron_bars(fig, n.pre, 1)
    _neuron_bars(fig, n.post, 2)
    fig.update_xaxes(title="flagged synapses")
    rows = tuple(
        (side, str(item.neuron_id), item.reviewed, item.flagged, *rate_cells(item.error_rate))
        for side, items in (("pre", n.pre), ("post", n.post))
        for item in items
    )
    table = Table(("Side", "Neuron", "Reviewed", "Flagged", *RATE_COLUMNS), rows)
    height = max(360, 90 + 22 * max(len(n.pre), len(n.post)))
    return Panel("neurons", title, base_layout(fig, title, height), table=table)


def positions_panel(result: StatisticsResult) -> Panel:
    title = "Where the reviewed synapses are"
    section = result.positions
    if section.value is None:
        return message_panel("positions", title, section.message)
    sample, box = section.value.sample, section.value.box
    fig = make_subplots(rows=1, cols=2, subplot_titles=("x-y (seen from above)", "x-z (side)"))
    rows: list[tuple[Any, ...]] = []
    for label in LABEL_ORDER:
        points = sample.points.get(label, ())
        if not points:
            continue
        xs, ys, zs = ([p[i] for p in points] for i in range(3))
        style = {"size": 4, "color": LABEL_COLORS[label], "opacity": 0.7}
        for col, other in ((1, ys), (2, zs)):
            fig.add_trace(
                go.Scattergl(
                    x=xs,
                    y=other,
                    mode="markers",
                    name=label,
                    legendgroup=label,
                    showlegend=col == 1,
                    marker=style,
                ),
                row=1,
                col=col,
            )
        rows += [(label, *p) for p in points]
    if box is not None:
        (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
        fig.update_xaxes(range=[x0, x1])
        fig.update_yaxes(range=[y1, y0], row=1, col=1)
        fig.update_yaxes(range=[z1, z0], row=1, col=2)
    else:
        fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="x (target voxels)")
    fig.update_yaxes(title="y (target voxels)", row=1, col=1)
    fig.update_yaxes(title="z (target voxels)", row=1, col=2)
    shown = "; ".join(f"{lab}: {sample.shown(lab)} of {n}" for lab, n in sample.totals.items())
    note = ("An even sample per label is drawn: " + shown + ".") if sample.is_sampled else ""
    if box is None:
        note = (note + " The dataset's box is unknown here: axes follow the synapses.").strip()
    table = Table(("Label", "x", "y", "z"), tuple(rows))
    return Panel("positions", title, base_layout(fig, title, 480), table=table, note=note)
