"""Statistics figures and the HTML report: every panel has a figure or a message, the
report is self-contained (no external script, style or link), escapes what data holds, and
its CSV links carry the tables; the ``report`` command writes it or says why not."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from synanno_dash.core.geometry import Resolution
from synanno_dash.core.instances import DatasetConfig, Mode, Synapse, instance_for
from synanno_dash.core.labels import Category, Label
from synanno_dash.data.store import SessionStore
from synanno_dash.services.statistics import Scope, collect_statistics
from synanno_dash.ui.stats_figures import build_panels
from synanno_dash.ui.stats_report import report_html
from tests.conftest import REPO

HOSTILE = '<script>alert("x")</script>'
PANEL_KEYS = [
    "compartments", "progress", "categories", "categories_by_compartment", "neurons",
    "positions", "throughput", "time_per_view", "accuracy", "confusion",
    "accuracy_per_session", "agreement",
]  # fmt: skip


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(document: str) -> Tags:
    tags = Tags()
    tags.feed(document)
    return tags


def _store(tmp_path: Path, n: int = 40) -> tuple[SessionStore, DatasetConfig]:
    table = tmp_path / "synapses.csv"
    table.write_text("x,y,z\n" + "".join(f"{i},{i},{i % 9}\n" for i in range(n)))
    truth = ["materialization_index,error"] + [
        f"{i},{'false_positive' if i % 5 == 0 else 'none'}" for i in range(n)
    ]
    (tmp_path / "ground_truth.csv").write_text("\n".join(truth) + "\n")
    config = DatasetConfig(
        "file:///em", "file:///clefts", table.as_uri(), Resolution(4, 4, 40),
        Resolution(8, 8, 40), neuropil_url="file:///neuropil", mode=Mode.NEURON, neuron_id=7,
    )  # fmt: skip
    store = SessionStore(f"sqlite:///{tmp_path / 'sessions.db'}")
    for sid in ("alice", "bob"):
        store.save_config(sid, config)
        items = [
            replace(instance_for(i, Synapse(i, (5 * i, 3 * i, i % 9), None, None, 11 + i % 4,
                                            21 + i % 3), (64, 64, 6)),
                    compartment=i // 10, traversal_index=i)
            for i in range(n)
        ]  # fmt: skip
        store.replace_instances(sid, items)
        store.mark_seen(sid, range(0, 12))
        store.mark_seen(sid, range(12, 30))
        for i in range(0, 30, 5):
            store.edit(sid, i, label=Label.INCORRECT)
            store.edit(sid, i, category=Category.FALSE_POSITIVE)
    store.edit("bob", 7, label=Label.UNSURE)
    store.edit("bob", 7, category=Category.CUSTOM, custom_category=HOSTILE)
    return store, config


def test_every_panel_has_a_figure_or_a_message(tmp_path: Path) -> None:
    store, _config = _store(tmp_path)
    result = collect_statistics(store, "alice", Scope.DATASET)
    panels = build_panels(result)
    assert [p.key for p in panels] == PANEL_KEYS
    for panel in panels:
        assert (panel.figure is None) == bool(panel.message), panel.key
        if panel.figure is not None:
            assert panel.table is not None and panel.table.rows, panel.key
    by_key = {p.key: p for p in panels}
    bars = by_key["compartments"].figure.data[0]  # type: ignore[union-attr]
    assert list(bars.customdata) == [0, 1, 2, 3]  # a click can open the compartment
    assert by_key["compartments"].table.rows[0][:6] == (0, 20, 20, 15, 4, 1)  # type: ignore[union-attr]
    assert by_key["accuracy"].figure is not None
    store.engine.dispose()


def test_report_is_self_contained_escaped_and_carries_its_tables(tmp_path: Path) -> None:
    store, _config = _store(tmp_path)
    result = collect_statistics(store, "bob", Scope.DATASET)
    panels = build_panels(result)
    document = report_html(result, panels)
    tags = _parse(document)
    scripts = [a for t, a in tags.tags if t == "script"]
    assert scripts and all("src" not in a for a in scripts)
    assert not [t for t, _a in tags.tags if t in ("link", "iframe", "img", "object", "embed")]
    hrefs = [a.get("href") or "" for t, a in tags.tags if t == "a"]
    assert hrefs and all(h.startswith("data:text/csv") for h in hrefs)
    assert HOSTILE not in document  # the custom text is data, never markup
    assert "Custom: " + HOSTILE in "".join(tags.text)
    divs = [a["id"] for t, a in tags.tags
            if t == "div" and "plotly-graph-div" in (a.get("class") or "")]  # fmt: skip
    assert divs == [f"figure-{p.key}" for p in panels if p.figure is not None]
    assert "Plotly.newPlot" in document and len(document) > 3_000_000  # plotly.js is inside
    links = {a["download"]: a["href"] for t, a in tags.tags if t == "a"}
    for panel in panels:
        if panel.table is not None and panel.table.rows:
            payload = links[f"{panel.key}.csv"].split(",", 1)[1]
            assert base64.b64decode(payload).decode("utf-8") == panel.table.csv()
    store.engine.dispose()


def test_report_of_an_empty_session_shows_messages(tmp_path: Path) -> None:
    store, config = _store(tmp_path)
    store.save_config("empty", config)
    result = collect_statistics(store, "empty")
    document = report_html(result)
    text = "".join(_parse(document).text)
    assert "This session has no synapses to review" in text
    assert "plotly-graph-div" not in document
    store.engine.dispose()


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYNANNO_DATA_DIR": str(tmp_path / "data"),
           "SYNANNO_DATABASE_URL": f"sqlite:///{tmp_path / 'sessions.db'}"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "synanno_dash.cli", "report", *args], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_report_command(tmp_path: Path) -> None:
    store, _config = _store(tmp_path)
    store.engine.dispose()
    out = tmp_path / "reports" / "alice.html"
    done = _cli(["--session", "alice", "--out", str(out), "--dataset"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "report of 2 session(s) written" in done.stdout
    text = out.read_text()
    assert "all 2 sessions on this dataset" in text and 'id="figure-agreement"' in text
    unknown = _cli(["--session", "nobody", "--out", str(tmp_path / "x.html")], tmp_path)
    assert unknown.returncode == 2 and "Session nobody has no dataset open" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    folder = tmp_path / "a-folder"
    folder.mkdir()
    blocked = _cli(["--session", "alice", "--out", str(folder)], tmp_path)
    assert blocked.returncode == 2 and "cannot write" in blocked.stderr
    missing = _cli(["--session", "alice"], tmp_path)
    assert missing.returncode == 2 and "--out" in missing.stderr


@pytest.mark.parametrize("bad", ["--ground-truth=/nonexistent/truth.csv"])
def test_report_command_with_a_missing_ground_truth_still_writes(tmp_path: Path, bad: str) -> None:
    store, _config = _store(tmp_path)
    store.engine.dispose()
    out = tmp_path / "r.html"
    done = _cli(["--session", "alice", "--out", str(out), bad], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Ground-truth file not found: /nonexistent/truth.csv" in out.read_text()
