"""The statistics view's components (/stats): each ``Panel`` of ``stats_figures`` as a card
with its figure (or its message), its note, a sortable table of the numbers behind it and a
CSV download; grouped in the sections of issue 11. Pure layout, no callbacks.

Panels come from ``stats_figures.build_panels`` (the report shows the same ones); the CSV is
``stats_tables.Table.csv`` of the rows as the table shows them (sorted by the user).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from synanno_dash.core.review_stats import LABEL_ORDER
from synanno_dash.services.jobs import Job
from synanno_dash.services.statistics import Scope, StatisticsResult
from synanno_dash.ui import ids
from synanno_dash.ui.attrs import data_attrs
from synanno_dash.ui.stats_figures import build_panels
from synanno_dash.ui.stats_tables import (
    Panel,
    Table,
    scope_text,
    sessions_table,
    summary_table,
)

TABLE_PAGE_SIZE = 10
MAX_DISAGREEMENTS_LISTED = 50
GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": True}
# (heading, panel keys) in the order the view shows them
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Where the errors are", ("compartments", "categories", "categories_by_compartment",
                              "neurons", "positions")),
    ("Progress and throughput", ("progress", "throughput", "time_per_view")),
    ("Accuracy against the ground truth", ("accuracy", "confusion", "accuracy_per_session")),
    ("Agreement between reviewers", ("agreement",)),
)  # fmt: skip
ACCURACY_KEYS = SECTIONS[2][1]
SCOPE_OPTIONS = [
    {"label": "this session", "value": Scope.SESSION.value},
    {"label": "every session on this dataset", "value": Scope.DATASET.value},
]


def _column_id(index: int) -> str:
    return f"c{index}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(value: object) -> object:
    """A percentage cell ("12.5", "" for none) as a number, so the table sorts it as one."""
    if _is_number(value) or value is None:
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def table_records(table: Table) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(rows, columns) for a ``DataTable``: columns of numbers or percentages are numeric
    (sorted as numbers); ids stay text (a 64-bit neuron id does not survive a JS number)."""
    numeric = [
        name.endswith("%") or all(_is_number(row[i]) for row in table.rows)
        for i, name in enumerate(table.columns)
    ]
    columns = [
        {"name": name, "id": _column_id(i), "type": "numeric" if numeric[i] else "text"}
        for i, name in enumerate(table.columns)
    ]
    records = [
        {_column_id(i): (_as_number(cell) if numeric[i] else cell) for i, cell in enumerate(row)}
        for row in table.rows
    ]
    return records, columns


def table_from_records(
    records: list[dict[str, Any]] | None, columns: list[dict[str, str]] | None
) -> Table:
    """The table as the browser shows it (its sort order), for the CSV download."""
    columns = columns or []
    names = tuple(str(c["name"]) for c in columns)
    rows = tuple(
        tuple("" if r.get(c["id"]) is None else r.get(c["id"]) for c in columns)
        for r in records or []
    )
    return Table(names, rows)


def _numbers(panel: Panel) -> list[Any]:
    if panel.table is None or not panel.table.rows:
        return []
    records, columns = table_records(panel.table)
    return [
        html.Details(
            [
                html.Summary(f"Numbers ({len(records)} rows)"),
                dash_table.DataTable(  # type: ignore[attr-defined]
                    id=ids.stats_panel(ids.STATS_TABLE, panel.key),
                    data=records,
                    columns=columns,
                    sort_action="native",
                    page_action="native",
                    page_size=TABLE_PAGE_SIZE,
                    style_table={"overflowX": "auto"},
                    style_cell={"fontSize": "0.85rem", "padding": "2px 6px"},
                    style_header={"fontWeight": "bold"},
                ),
            ],
            open=len(records) <= TABLE_PAGE_SIZE,
        ),
        dbc.Button(
            "Download CSV",
            id=ids.stats_panel(ids.STATS_CSV, panel.key),
            size="sm",
            color="secondary",
            outline=True,
            className="mt-1",
        ),
        dcc.Download(id=ids.stats_panel(ids.STATS_CSV_DOWNLOAD, panel.key)),
    ]


def panel_card(panel: Panel, extra: list[Any] | None = None) -> html.Div:
    body: list[Any] = []
    if panel.figure is not None:
        body.append(
            dcc.Graph(
                id=ids.stats_panel(ids.STATS_GRAPH, panel.key),
                figure=panel.figure,
                config=GRAPH_CONFIG,
            )
        )
    else:
        body.append(dbc.Alert(panel.message, color="warning", className="sd-stats-message"))
    if panel.note:
        body.append(html.P(panel.note, className="small text-muted"))
    body += extra or []
    body += _numbers(panel)
    return html.Div(
        dbc.Card([dbc.CardHeader(panel.title), dbc.CardBody(body)], className="mb-3"),
        id=ids.stats_panel_div(panel.key),
        **data_attrs(has_figure=int(panel.figure is not None)),
    )


def _key_value_table(table: Table) -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(c) for c in table.columns]))
    body = html.Tbody([html.Tr([html.Td(str(v)) for v in row]) for row in table.rows])
    return dbc.Table([head, body], size="sm", bordered=True, className="small")


def disagreement_list(result: StatisticsResult) -> list[Any]:
    """The rows the sessions labelled differently, each opening this session's instance in
    the enlarged view."""
    agreement = result.agreement.value
    if agreement is None or not agreement.disagreements:
        return []
    items = []
    for d in agreement.disagreements[:MAX_DISAGREEMENTS_LISTED]:
        votes = ", ".join(f"{lab} {d.votes[lab]}" for lab in LABEL_ORDER if d.votes.get(lab))
        text = f"Table row {d.materialization_index}: {votes}"
        if d.instance_id is None:
            items.append(html.Li(f"{text} (not in this session)"))
            continue
        items.append(
            html.Li(
                [
                    text + " ",
                    dbc.Button(
                        f"Open instance #{d.instance_id}",
                        id=ids.pattern(ids.STATS_ENLARGE, d.instance_id),
                        size="sm",
                        color="link",
                        className="p-0 align-baseline",
                    ),
                ]
            )
        )
    return [html.H6("Labelled differently"), html.Ul(items, className="small sd-disagreements")]


@dataclass(frozen=True)
class ShownStatistics:
    """What the view shows of a result, built once (in the background job): the panels
    (the report reuses them) and the components."""

    panels: list[Panel]
    body: list[Any]


def present_statistics(result: StatisticsResult, job: Job | None = None) -> ShownStatistics:
    """The panels and components of ``result``; ``job``: progress, figure by figure."""
    job = job or Job()
    panels = build_panels(result, figures_progress(job))
    return ShownStatistics(panels, statistics_body(result, panels))


def figures_progress(job: Job) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        job.report(done / total, f"{done} of {total} groups of figures built", force=True)

    return progress


def statistics_body(result: StatisticsResult, built: list[Panel] | None = None) -> list[Any]:
    """Everything below the controls: summary, sessions, then the sections of figures."""
    panels = {p.key: p for p in (build_panels(result) if built is None else built)}
    children: list[Any] = [
        html.P(f"Statistics of {scope_text(result)}.", className="text-muted"),
        dbc.Row(
            [
                dbc.Col([html.H5("Summary"), _key_value_table(summary_table(result))], lg=6),
                dbc.Col([html.H5("Sessions"), _key_value_table(sessions_table(result))], lg=6),
            ]
        ),
    ]
    for heading, keys in SECTIONS:
        children.append(html.H4(heading, className="mt-4"))
        if keys == ACCURACY_KEYS and result.accuracy.value is None:
            message = result.accuracy.message
            children.append(dbc.Alert(message, color="info", id=ids.STATS_NO_ACCURACY))
            continue
        for key in keys:
            extra = disagreement_list(result) if key == "agreement" else None
            children.append(panel_card(panels[key], extra))
    return children
