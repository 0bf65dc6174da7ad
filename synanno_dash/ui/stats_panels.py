"""Statistics panels of review activity, accuracy against ground truth and agreement
between sessions (the count panels are in ``stats_figures``). Pure figure building."""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from synanno_dash.core.review_stats import LABEL_ORDER, category_title
from synanno_dash.core.statistics import NO_ERROR, Accuracy, Proportion
from synanno_dash.core.throughput import Throughput
from synanno_dash.services.statistics import AccuracyResult, StatisticsResult
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
    utc,
)

MAX_DISAGREEMENT_BARS = 50


def throughput_panels(result: StatisticsResult) -> list[Panel]:
    section = result.throughput
    rate_title, time_title = "Reviewed per minute over time", "Time per view and per instance"
    if section.value is None:
        return [
            message_panel("throughput", rate_title, section.message),
            message_panel("time_per_view", time_title, section.message),
        ]
    t = section.value
    return [_rate_panel(t, rate_title), _time_panel(t, time_title)]


def _rate_panel(t: Throughput, title: str) -> Panel:
    if not t.bins:
        return message_panel("throughput", title, "No grid page was shown yet.")
    starts = [datetime.fromtimestamp(b.start_s, UTC) for b in t.bins]
    fig = go.Figure(
        go.Bar(
            x=starts,
            y=[b.per_minute for b in t.bins],
            width=[b.width_s * 1000 for b in t.bins],  # ms on a date axis: a bar spans its bin
            offset=0,
            marker_color="#1f77b4",
            customdata=[b.reviewed for b in t.bins],
            hovertemplate="%{x}: %{y:.1f} per minute (%{customdata} shown)<extra></extra>",
        )
    )
    width_min = t.bins[0].width_s / 60
    fig.update_xaxes(title="time (UTC)")
    fig.update_yaxes(title=f"synapses first shown per minute ({width_min:g}-minute bins)")
    rows = tuple(
        (utc(b.start_s), f"{b.width_s / 60:g}", b.reviewed, f"{b.per_minute:.2f}") for b in t.bins
    )
    table = Table(("Bin start", "Bin minutes", "First shown", "Per minute"), rows)
    note = (
        f"Synapses count as reviewed when their grid page is first shown. {t.idle_note} "
        "Bins without activity are left out."
    )
    return Panel("throughput", title, base_layout(fig, title), table=table, note=note)


def _time_panel(t: Throughput, title: str) -> Panel:
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("active minutes per view", "seconds per synapse (grid pages)"),
    )
    views = list(t.per_view)
    fig.add_trace(
        go.Bar(
            x=[v.view.value for v in views],
            y=[v.active_s / 60 for v in views],
            marker_color="#1f77b4",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    if t.time_per_instance:
        values = sorted(t.time_per_instance)
        fig.add_trace(
            go.Bar(
                x=values,
                y=[t.time_per_instance[v] for v in values],
                width=0.1,  # the histogram's step (seconds)
                offset=0,
                marker_color="#9467bd",
                showlegend=False,
            ),
            row=1,
            col=2,
        )
    fig.update_yaxes(title="minutes", row=1, col=1)
    fig.update_yaxes(title="synapses", row=1, col=2)
    fig.update_xaxes(title="seconds", row=1, col=2)
    rows = tuple(
        (v.view.value, f"{v.active_s / 60:.2f}", v.events, v.idle_gaps, f"{v.idle_s / 60:.1f}")
        for v in views
    )
    table = Table(("View", "Active minutes", "Events", "Pauses over 5 min", "Paused minutes"), rows)
    if t.median_s is None:
        timing = "No grid page could be timed yet (a page is timed once the next one is shown)."
    else:
        timing = (
            f"Time per synapse: median {t.median_s:.1f} s, p90 {t.p90_s:.1f} s over "
            f"{t.timed_instances} synapses."
        )
    note = (
        f"{timing} {t.untimed_pages} page(s) untimed: a session's last page, or a page "
        "with a pause. The time before each logged event counts for that event's view. "
        + t.idle_note
    )
    return Panel("time_per_view", title, base_layout(fig, title), table=table, note=note)


def accuracy_panels(result: StatisticsResult) -> list[Panel]:
    title, confusion_title = "Accuracy against the ground truth", "Label against truth"
    per_session_title = "Accuracy per session"
    section = result.accuracy
    if section.value is None:
        return [
            message_panel("accuracy", title, section.message),
            message_panel("confusion", confusion_title, section.message),
            message_panel("accuracy_per_session", per_session_title, section.message),
        ]
    a = section.value
    per_session = (
        _per_session_panel(a.per_session, per_session_title)
        if len(a.per_session) > 1
        else message_panel(
            "accuracy_per_session",
            per_session_title,
            "One session is scored: switch to all sessions on this dataset to compare them.",
        )
    )
    return [
        _accuracy_panel(a.overall, title, a),
        _confusion_panel(a.overall, confusion_title),
        per_session,
    ]


def _accuracy_panel(acc: Accuracy, title: str, info: AccuracyResult) -> Panel:
    parts: list[tuple[str, str, Proportion]] = [
        ("all errors", "precision of flags", acc.precision),
        ("all errors", "recall (flagged)", acc.recall),
    ]
    for score in acc.per_type:
        name = category_title(score.error)
        parts += [
            (name, "recall (flagged)", score.detected),
            (name, "named right", score.named),
            (name, "category precision", score.category_precision),
        ]
    fig = go.Figure()
    for measure, color in (
        ("precision of flags", "#1f77b4"),
        ("recall (flagged)", "#2ca02c"),
        ("named right", "#9467bd"),
        ("category precision", "#8c564b"),
    ):
        chosen = [(g, p) for g, m, p in parts if m == measure and p.rate is not None]
        rate, error_y = percent_bars([p for _g, p in chosen])
        fig.add_trace(
            go.Bar(
                x=[g for g, _p in chosen],
                y=rate,
                name=measure,
                marker_color=color,
                error_y=error_y,
                customdata=[f"{p.count} of {p.total}" for _g, p in chosen],
                hovertemplate="%{x}: %{y:.1f}% (%{customdata})<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="%", range=[0, 105])
    rows = tuple((g, m, p.count, p.total, *rate_cells(p)) for g, m, p in parts)
    table = Table(("Error type", "Measure", "Count", "Of", *RATE_COLUMNS), rows)
    note = (
        f"Ground truth: {info.ground_truth.name}. Flagged = labelled incorrect or unsure. "
        f"{acc.reviewed} reviewed synapses scored; {info.unmatched_reviewed} reviewed without "
        f"a ground-truth line left out; {info.not_in_table} synapses missing from the table "
        "are not scored here. 95% Wilson intervals."
    )
    return Panel("accuracy", title, base_layout(fig, title), table=table, note=note)


def _confusion_panel(acc: Accuracy, title: str) -> Panel:
    m = acc.confusion
    truths = ["correct synapse" if t == NO_ERROR else category_title(t) for t in m.truths]
    fig = go.Figure(
        go.Heatmap(
            z=[list(r) for r in m.counts],
            x=truths,
            y=list(m.labels),
            text=[[str(v) for v in r] for r in m.counts],
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
        )
    )
    fig.update_yaxes(title="label given", autorange="reversed", type="category")
    fig.update_xaxes(title="truth", type="category")
    rows = tuple((label, *row) for label, row in zip(m.labels, m.counts, strict=True))
    table = Table(("Label \\ truth", *truths), rows)
    return Panel("confusion", title, base_layout(fig, title, 380), table=table)


def _per_session_panel(per_session: tuple[tuple[str, Accuracy], ...], title: str) -> Panel:
    names = [sid for sid, _a in per_session]
    fig = go.Figure()
    for measure, color in (("precision", "#1f77b4"), ("recall", "#2ca02c")):
        values = [getattr(a, measure).rate for _s, a in per_session]
        fig.add_trace(
            go.Bar(
                x=names,
                y=[None if v is None else 100 * v for v in values],
                name=measure,
                marker_color=color,
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", title="session")
    fig.update_yaxes(title="%", range=[0, 105])
    rows = tuple(
        (sid, a.reviewed, *rate_cells(a.precision), *rate_cells(a.recall)) for sid, a in per_session
    )
    columns = (
        "Session",
        "Scored",
        "Precision %",
        "Precision low %",
        "Precision high %",
        "Recall %",
        "Recall low %",
        "Recall high %",
    )
    return Panel("accuracy_per_session", title, base_layout(fig, title), table=Table(columns, rows))


def agreement_panel(result: StatisticsResult) -> Panel:
    title = "Agreement between sessions"
    section = result.agreement
    if section.value is None:
        return message_panel("agreement", title, section.message)
    g = section.value
    k = g.kappa
    name = "Cohen's" if k.method.value == "cohen" else "Fleiss'"
    value = "undefined (every label the same)" if k.kappa is None else f"{k.kappa:.3f}"
    note = (
        f"{name} kappa {value} over {k.n_items} table rows reviewed by two or more of "
        f"{g.n_sessions} sessions (observed agreement {percent(k.observed)}%, by chance "
        f"{percent(k.expected)}%). {g.disagreements_total} row(s) labelled differently"
        + (f"; the first {len(g.disagreements)} are listed." if g.disagreements else ".")
    )
    rows = tuple(
        (
            d.materialization_index,
            "" if d.instance_id is None else d.instance_id,
            *(d.votes.get(label, 0) for label in LABEL_ORDER),
        )
        for d in g.disagreements
    )
    table = Table(("Table row", "Instance in this session", *LABEL_ORDER), rows)
    if not g.disagreements:
        return Panel("agreement", title, None, "Every shared row got the same label.", table, note)
    shown = g.disagreements[:MAX_DISAGREEMENT_BARS]
    x = [f"row {d.materialization_index}" for d in shown]
    fig = go.Figure()
    for label in LABEL_ORDER:
        fig.add_trace(
            go.Bar(
                x=x,
                y=[d.votes.get(label, 0) for d in shown],
                name=label,
                marker_color=LABEL_COLORS[label],
                customdata=[d.instance_id for d in shown],
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category", title="table rows labelled differently")
    fig.update_yaxes(title="sessions")
    return Panel("agreement", title, base_layout(fig, title), table=table, note=note)
