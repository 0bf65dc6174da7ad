"""What the statistics view and report show per figure: a ``Panel`` (figure or message,
a note, and a ``Table`` of the numbers behind it, downloadable as CSV), plus the dataset,
summary and session tables. Pure: built from a ``StatisticsResult``, no Dash callbacks."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from synanno_dash.core.statistics import Proportion
from synanno_dash.services.statistics import Scope, StatisticsResult
from synanno_dash.ui.skeleton_figure import CODE_COLORS, MarkerCode

LABEL_COLORS = {
    "correct": CODE_COLORS[MarkerCode.CORRECT],
    "incorrect": CODE_COLORS[MarkerCode.INCORRECT],
    "unsure": CODE_COLORS[MarkerCode.UNSURE],
}
RATE_COLUMNS = ("Rate %", "95% CI low %", "95% CI high %")


def percent_bars(proportions: list[Proportion]) -> tuple[list[float | None], dict[str, Any]]:
    """Bar heights in % and plotly's ``error_y`` for their 95 % Wilson intervals (no bar
    and no whisker where there is no rate)."""
    heights: list[float | None] = []
    up: list[float] = []
    down: list[float] = []
    for p in proportions:
        rate, interval = p.rate, p.interval
        if rate is None or interval is None:
            heights.append(None)
            up.append(0.0)
            down.append(0.0)
            continue
        heights.append(100 * rate)
        up.append(100 * (interval[1] - rate))
        down.append(100 * (rate - interval[0]))
    return heights, {"type": "data", "array": up, "arrayminus": down, "visible": True}


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


@dataclass(frozen=True)
class Panel:
    """One figure of the statistics: ``figure`` None means ``message`` is shown instead."""

    key: str  # stable: element ids, CSV file names, tests
    title: str
    figure: go.Figure | None
    message: str = ""
    table: Table | None = None
    note: str = ""


GRID_COLOR = "#ebf0f8"  # plotly_white's grid


def base_layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """The look every statistics figure shares. The panel shows ``title`` above the figure,
    so the figure keeps it only in ``layout.meta`` (no second title in the report).

    plotly_white's look is set property by property: assigning a template validates and
    copies the whole template, ~50 ms a figure (most of the time of building the view)."""
    fig.update_layout(
        meta={"title": title},
        height=height,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        legend={"orientation": "h", "y": -0.15},
    )
    axes = {"gridcolor": GRID_COLOR, "linecolor": GRID_COLOR, "zerolinecolor": GRID_COLOR}
    fig.update_xaxes(**axes)
    fig.update_yaxes(**axes)
    return fig


def message_panel(key: str, title: str, message: str) -> Panel:
    return Panel(key, title, None, message or "No data.")


def utc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def rate_cells(p: Proportion) -> tuple[str, str, str]:
    """(rate %, 95 % low %, 95 % high %) as table cells, empty without a rate."""
    interval = p.interval
    if interval is None:
        return ("", "", "")
    return (percent(p.rate), percent(interval[0]), percent(interval[1]))


def scope_text(result: StatisticsResult) -> str:
    if result.scope is Scope.SESSION:
        return f"session {result.session_id}"
    n = len(result.sessions)
    return f"all {n} session{'s' if n != 1 else ''} on this dataset"


def dataset_table(result: StatisticsResult) -> Table:
    c = result.config
    rows: list[tuple[str, str]] = [
        ("Source (EM)", c.source_url),
        ("Target (clefts)", c.target_url),
        ("Synapse table", c.table_url),
    ]
    if c.neuropil_url:
        rows.append(("Neuropil", c.neuropil_url))
    rows.append(("Mode", "neuron-centric" if c.mode.value == "neuron" else "volume-centric"))
    if c.neuron_id is not None:
        rows.append(("Neuron", str(c.neuron_id)))
    if c.bbox_target_vx is not None:
        box = c.bbox_target_vx
        rows.append(("Review box (target voxels, x y z)", f"{box.start_xyz} - {box.stop_xyz}"))
    rows.append(("Scope", scope_text(result)))
    span = result.time_span
    activity = "none logged" if span is None else f"{utc(span[0])} to {utc(span[1])}"
    rows.append(("Activity", activity))
    rows.append(("Generated", utc(result.generated_at)))
    return Table(("Item", "Value"), tuple(rows))


def summary_table(result: StatisticsResult) -> Table:
    o = result.overall
    rows: list[tuple[str, str]] = [
        ("Synapses", str(o.total)),
        ("Reviewed (seen)", str(o.progress)),
        ("Flagged (incorrect or unsure)", str(o.error_rate)),
        ("Incorrect", str(o.incorrect)),
        ("Unsure", str(o.unsure)),
        ("Discarded as false positives", str(o.discarded)),
    ]
    t = result.throughput.value
    if t is not None:
        per_minute = t.reviewed_per_active_minute
        rows.append(("Active review time", f"{t.active_s / 60:.1f} min ({t.idle_note})"))
        if per_minute is not None:
            rows.append(("Reviewed per active grid minute", f"{per_minute:.1f}"))
        if t.median_s is not None:
            rows.append(("Time per synapse", f"median {t.median_s:.1f} s, p90 {t.p90_s:.1f} s"))
    a = result.accuracy.value
    if a is not None:
        rows.append(("Precision of flags (ground truth)", str(a.overall.precision)))
        rows.append(("Recall of true errors (ground truth)", str(a.overall.recall)))
    g = result.agreement.value
    if g is not None and g.kappa.kappa is not None:
        name = "Cohen's" if g.kappa.method.value == "cohen" else "Fleiss'"
        rows.append((f"Agreement between sessions ({name} kappa)", f"{g.kappa.kappa:.3f}"))
    return Table(("Measure", "Value"), tuple(rows))


def sessions_table(result: StatisticsResult) -> Table:
    rows = []
    for s in result.sessions:
        created, updated = result.session_times.get(s.session_id, (0.0, 0.0))
        c = s.counts
        rows.append(
            (
                s.session_id,
                c.total,
                c.seen,
                c.flagged,
                percent(c.error_rate.rate),
                utc(created) if created else "",
                utc(updated) if updated else "",
            )
        )
    columns = ("Session", "Synapses", "Reviewed", "Flagged", "Error rate %", "Created",
               "Last change")  # fmt: skip
    return Table(columns, tuple(rows))
