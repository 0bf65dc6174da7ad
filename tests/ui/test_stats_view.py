"""The statistics view's server side on the demo: its jobs' work (the statistics, the report)
as the job mechanism runs it, its other callbacks through Dash's HTTP endpoint (a
compartment's bar to its grid page, a table's CSV, Cancel) and the sortable tables'
numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import dash
import pytest
from plotly.utils import PlotlyJSONEncoder

from synanno_dash.core.labels import Label
from synanno_dash.services import review
from synanno_dash.services.jobs import Job, JobCancelled, session_stop_signal
from synanno_dash.services.neuron import first_pages
from synanno_dash.services.statistics import Scope, collect_statistics
from synanno_dash.ui import ids
from synanno_dash.ui.stats_tables import Table
from synanno_dash.ui.stats_view import statistics_body, table_from_records, table_records


def _key(app, input_id: str | dict) -> str:  # type: ignore[no-untyped-def]
    """The callback_map key of the callback with this input (a pattern id: by its type)."""
    for key, spec in app.callback_map.items():
        for dep in spec["inputs"]:
            dep_id = dep["id"]
            if isinstance(dep_id, str) and dep_id.startswith("{"):
                dep_id = json.loads(dep_id)
            if isinstance(input_id, dict) and isinstance(dep_id, dict):
                if dep_id.get("type") == input_id["type"]:
                    return str(key)
            elif dep_id == input_id:
                return str(key)
    raise AssertionError(f"no callback listens to {input_id}")


def _prop(component_id: dict, prop: str) -> str:
    """A changed property as Dash names it (the id as JSON with sorted keys)."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":")) + "." + prop


def _post(
    client, output: str, outputs: Any, inputs: list, changed: list[str], state: list | None = None
) -> dict:  # type: ignore[no-untyped-def]  # noqa: E501
    body = {"output": output, "outputs": outputs, "inputs": inputs,
            "changedPropIds": changed, "state": state or []}  # fmt: skip
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:500]
    return dict(response.get_json()["response"])


def _stats_page():  # type: ignore[no-untyped-def]
    return next(
        sys.modules[p["module"]] for p in dash.page_registry.values() if p["path"] == "/stats"
    )


def _shown_statistics(prepared) -> dict:  # type: ignore[no-untyped-def]
    """The statistics job's outputs (its work, as ``ui.jobs.job_callback`` runs it), with the
    components as the browser receives them (JSON)."""
    body, key, evicted, report_disabled = _stats_page().compute(
        Job(), prepared.session, Scope.SESSION.value, 1, None
    )
    return {
        ids.STATS_BODY: {"children": json.loads(json.dumps(body, cls=PlotlyJSONEncoder))},
        ids.STATS_JOB: {"data": key},
        ids.STATS_EVICTED: {"style": evicted},
        ids.STATS_REPORT_BUTTON: {"disabled": report_disabled},
    }


def test_refresh_shows_every_panel_and_a_bar_opens_its_compartment(neuron_session) -> None:  # type: ignore[no-untyped-def]
    session = neuron_session.session
    review.load_page(session, 1)
    review.set_label(session, 0, Label.INCORRECT)
    changed = _shown_statistics(neuron_session)
    body = json.dumps(changed[ids.STATS_BODY]["children"])
    for key in ("compartments", "progress", "categories", "positions", "accuracy", "agreement"):
        assert ids.stats_panel_div(key) in body
    assert changed[ids.STATS_REPORT_BUTTON]["disabled"] is False
    assert "Compartment" in body and "Download CSV" in body

    # a click on compartment k's bar (customdata k) opens its first page
    items = review.instances(neuron_session.session)
    pages = first_pages(items, 6)
    k = max(pages)
    graph = ids.stats_panel(ids.STATS_GRAPH, "compartments")
    click = {"points": [{"curveNumber": 0, "pointNumber": k, "customdata": k}]}
    result = _post(
        neuron_session.client,
        _key(neuron_session.app, graph),
        {"id": ids.STATS_REDIRECT, "property": "href"},
        [[{"id": graph, "property": "clickData", "value": click}]],
        [_prop(graph, "clickData")],
    )
    assert result[ids.STATS_REDIRECT]["href"] == f"/annotation?page={pages[k]}"


def test_report_and_csv_downloads(neuron_session) -> None:  # type: ignore[no-untyped-def]
    session = neuron_session.session
    review.load_page(session, 1)
    changed = _shown_statistics(neuron_session)
    key = changed[ids.STATS_JOB]["data"]
    report, _notice_style, _notice = _stats_page().report(Job(), session, 1, key)
    assert report["filename"] == "synanno-statistics-session.html"
    content = report["content"]
    assert 'id="figure-compartments"' in content and "<script src=" not in content

    button = ids.stats_panel(ids.STATS_CSV, "compartments")
    table = ids.stats_panel(ids.STATS_TABLE, "compartments")
    records = [{"c0": 2, "c1": 12.5}, {"c0": 1, "c1": None}]  # as sorted in the browser
    columns = [{"name": "Compartment", "id": "c0"}, {"name": "Rate %", "id": "c1"}]
    result = _post(
        neuron_session.client,
        _key(neuron_session.app, button),
        {"id": ids.stats_panel(ids.STATS_CSV_DOWNLOAD, "compartments"), "property": "data"},
        [{"id": button, "property": "n_clicks", "value": 1}],
        [_prop(button, "n_clicks")],
        [
            {"id": table, "property": "derived_virtual_data", "value": records},
            {"id": table, "property": "columns", "value": columns},
        ],
    )
    download = next(iter(result.values()))["data"]
    assert download["filename"] == "compartments.csv"
    assert download["content"] == "Compartment,Rate %\n2,12.5\n1,\n"


def test_tables_sort_percentages_as_numbers_and_keep_ids_as_text() -> None:
    table = Table(
        ("Neuron", "Reviewed", "Rate %"),
        (("864691135000000001", 7, "12.5"), ("2", 3, ""), ("10", 1, "100.0")),
    )
    records, columns = table_records(table)
    assert [c["type"] for c in columns] == ["text", "numeric", "numeric"]
    assert [r["c2"] for r in records] == [12.5, None, 100.0]
    assert records[0]["c0"] == "864691135000000001"
    assert table_from_records(records, columns).csv() == (
        "Neuron,Reviewed,Rate %\n864691135000000001,7,12.5\n2,3,\n10,1,100.0\n"
    )


def test_without_ground_truth_the_accuracy_section_says_why(neuron_session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session = neuron_session.session
    review.load_page(session, 1)
    result = collect_statistics(
        neuron_session.resources.store, neuron_session.sid, Scope.SESSION,
        ground_truth=tmp_path / "missing.csv",
    )  # fmt: skip
    assert result.accuracy.value is None
    body = json.dumps(statistics_body(result), cls=PlotlyJSONEncoder)
    assert ids.STATS_NO_ACCURACY in body and "missing.csv" in body
    assert ids.stats_panel_div("accuracy") not in body


def test_no_dataset_and_nothing_reviewed_are_said_in_place_of_figures(app, demo_session) -> None:  # type: ignore[no-untyped-def]
    from synanno_dash.services.session import NO_DATASET_MESSAGE

    stats_layout = next(p for p in dash.page_registry.values() if p["path"] == "/stats")["layout"]
    with app.server.test_request_context("/stats"):
        shown = json.dumps(stats_layout(), cls=PlotlyJSONEncoder)
    assert NO_DATASET_MESSAGE in shown and ids.STATS_BODY not in shown
    # a volume-centric session with nothing seen: messages, never an empty plot
    children = _shown_statistics(demo_session)[ids.STATS_BODY]["children"]
    body = json.dumps(children)
    assert "Nothing has been reviewed yet" in body
    assert "volume-centric" in body
    with_figure = [p["id"] for p in _props(children) if p.get("data-has-figure") == "1"]
    assert with_figure == [ids.stats_panel_div("progress")]  # 0 of N reviewed


def _props(tree: Any) -> list[dict]:
    """Every component's props in a layout sent as JSON."""
    found: list[dict] = []
    if isinstance(tree, list):
        for child in tree:
            found += _props(child)
    elif isinstance(tree, dict) and "props" in tree:
        found.append(tree["props"])
        found += _props(tree["props"].get("children"))
    return found


def test_cancel_raises_the_jobs_stop_signal(neuron_session) -> None:  # type: ignore[no-untyped-def]
    """Cancel (the job panel's button, handled by the web process) raises the stop signal
    the job's process checks and cancels its tagged queries; the panel says cancelled."""
    session = neuron_session.session
    signal = session_stop_signal(session, ids.STATS_COMPUTE_JOB)
    signal.clear()
    cancel = ids.job(ids.STATS_COMPUTE_JOB, "cancel")
    status = ids.job(ids.STATS_COMPUTE_JOB, "status")
    key = next(k for k in neuron_session.app.callback_map if k.startswith(f"{status}.children@"))
    result = _post(
        neuron_session.client, key, {"id": status, "property": "children"},
        [{"id": cancel, "property": "n_clicks", "value": 1}], [f"{cancel}.n_clicks"],
    )  # fmt: skip
    assert "Computing the statistics: cancelled." in json.dumps(result)
    assert signal.requested()
    job = Job(signal=signal)
    with pytest.raises(JobCancelled):
        _stats_page().compute(job, session, Scope.SESSION.value, 1, None)
    signal.clear()
