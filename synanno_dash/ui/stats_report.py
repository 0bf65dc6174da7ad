"""The statistics report: one self-contained HTML file (docs/formats.md, section 7).

plotly.js is written into the file once, so the report opens offline with interactive
figures; there is no external script, style sheet, font or link. Every text that comes from
data (addresses, session ids, custom categories) is escaped. Tables longer than
``MAX_TABLE_ROWS`` show their first rows; their CSV download (a ``data:`` link) has all.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from plotly.offline import get_plotlyjs

from synanno_dash.services.statistics import StatisticsResult
from synanno_dash.ui.stats_figures import build_panels
from synanno_dash.ui.stats_tables import (
    Panel,
    Table,
    dataset_table,
    scope_text,
    sessions_table,
    summary_table,
)

MAX_TABLE_ROWS = 300
OPEN_TABLE_ROWS = 25  # longer tables start folded
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #212529; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2.5rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #dee2e6; padding: 0.2rem 0.5rem; text-align: left; }
th { background: #f1f3f5; }
.message { background: #fff3cd; border: 1px solid #ffe69c; padding: 0.6rem 0.8rem; }
.note { color: #495057; font-size: 0.9rem; }
details { margin: 0.3rem 0; }
"""


def _table_html(table: Table, limit: int = MAX_TABLE_ROWS) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in table.rows[:limit]
    )
    more = ""
    if len(table.rows) > limit:
        more = (
            f'<p class="note">The first {limit} of {len(table.rows)} rows; the CSV has '
            "all of them.</p>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _csv_link(key: str, table: Table) -> str:
    encoded = base64.b64encode(table.csv().encode("utf-8")).decode("ascii")
    return (
        f'<a class="csv" download="{html.escape(key)}.csv" '
        f'href="data:text/csv;charset=utf-8;base64,{encoded}">Download CSV</a>'
    )


def _panel_html(panel: Panel) -> str:
    parts = [f'<section id="panel-{html.escape(panel.key)}" class="panel">',
             f"<h2>{html.escape(panel.title)}</h2>"]  # fmt: skip
    if panel.figure is not None:
        parts.append(
            panel.figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"figure-{panel.key}",
                config=FIGURE_CONFIG,
            )
        )
    else:
        parts.append(f'<p class="message">{html.escape(panel.message)}</p>')
    if panel.note:
        parts.append(f'<p class="note">{html.escape(panel.note)}</p>')
    if panel.table is not None and panel.table.rows:
        parts.append(
            f"<details{' open' if len(panel.table.rows) <= OPEN_TABLE_ROWS else ''}>"
            f"<summary>Numbers ({len(panel.table.rows)} rows)</summary>"
            f"{_table_html(panel.table)}</details>{_csv_link(panel.key, panel.table)}"
        )
    parts.append("</section>")
    return "\n".join(parts)


def report_html(result: StatisticsResult, panels: list[Panel] | None = None) -> str:
    """The whole report as one HTML document."""
    panels = build_panels(result) if panels is None else panels
    title = f"SynAnno Dash statistics: {scope_text(result)}"
    head = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        # plotly.js inline, once: no network is needed to open the file
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
    )
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Dataset</h2>" + _table_html(dataset_table(result)),
        "<h2>Summary</h2>" + _table_html(summary_table(result)),
        "<h2>Sessions</h2>" + _table_html(sessions_table(result)),
        *(_panel_html(panel) for panel in panels),
        '<p class="note">Definitions: reviewed = shown on a grid page; flagged = reviewed and '
        "labelled incorrect or unsure; error rate = flagged / reviewed with a 95% Wilson "
        "interval. Written by SynAnno Dash.</p>",
    ]
    return head + "<body>" + "\n".join(sections) + "</body></html>\n"


def write_report(result: StatisticsResult, out: Path) -> Path:
    """Write the report to ``out`` (its folder is made); returns the path written."""
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report_html(result), encoding="utf-8")
    return out
