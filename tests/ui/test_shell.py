"""The shell: per-browser session cookie, /reset of one session only, help per view."""

from __future__ import annotations

from pathlib import Path

from synanno_dash.core.instances import Synapse, instance_for
from synanno_dash.settings import Settings
from synanno_dash.ui.app import create_app
from synanno_dash.ui.help_texts import HELP, help_for
from synanno_dash.ui.session import COOKIE, EXTENSION_KEY


def test_reset_clears_only_this_browsers_session(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 's.db'}"))
    store = app.server.extensions[EXTENSION_KEY].store
    first, second = app.server.test_client(), app.server.test_client()
    first.get("/")
    second.get("/")
    sid_first, sid_second = first.get_cookie(COOKIE).value, second.get_cookie(COOKIE).value
    assert sid_first != sid_second
    item = instance_for(0, Synapse(0, (10, 10, 3)), (8, 8, 2))
    store.replace_instances(sid_first, [item])
    store.replace_instances(sid_second, [item])
    response = first.post("/reset", headers={"Origin": "http://localhost"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    assert store.instances(sid_first) == [] and len(store.instances(sid_second)) == 1
    # the browser goes on with a new, empty session; the old id names nothing any more
    assert first.get_cookie(COOKIE).value != sid_first
    assert not store.session_exists(sid_first) and store.session_exists(sid_second)


def test_help_has_a_text_for_every_view() -> None:
    for path in ("/", "/open-data", "/annotation", "/categorize", "/export-annotate"):
        assert help_for(path) == HELP[path]
    assert help_for("/annotation/") == HELP["/annotation"]
    assert help_for("/unknown") == HELP["/"]


def test_every_app_of_a_process_gets_the_shell_callbacks(tmp_path: Path) -> None:
    """Two apps in one process (tests, several workers' factories) both answer Menu."""
    for name in ("a", "b"):
        app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / name}"))
        inputs = [d["id"] for spec in app.callback_map.values() for d in spec["inputs"]]
        assert "nav-menu" in inputs and "nav-help" in inputs
        assert any(isinstance(i, str) and "tile-enlarge" in i for i in inputs)
