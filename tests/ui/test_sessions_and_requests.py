"""Sessions issued by the server, a CSRF-safe /reset, bounded requests (issue 10).

Through the real app (``create_app``) and its store, with Flask's test client: cookies as a
browser sends them, a reset from this site and from another, bodies above the limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dash import Input, Output
from plotly.io.json import to_json_plotly

from synanno_dash.core.instances import Synapse, instance_for
from synanno_dash.settings import Settings, load_settings
from synanno_dash.ui.app import create_app
from synanno_dash.ui.session import COOKIE, EXTENSION_KEY

ITEM = instance_for(0, Synapse(0, (10, 10, 3)), (8, 8, 2))


def _app(tmp_path: Path, **changes: object):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 's.db'}")
    return create_app(settings.with_changes(**changes))


def _set_cookie_header(response) -> str:  # type: ignore[no-untyped-def]
    return next(v for k, v in response.headers.items() if k == "Set-Cookie" and COOKIE in v)


# -- ids issued by the server only -----------------------------------------------------------


def test_an_invented_cookie_gets_a_new_session(tmp_path: Path) -> None:
    app = _app(tmp_path)
    store = app.server.extensions[EXTENSION_KEY].store
    victim = app.server.test_client()
    victim.get("/")
    victim_id = victim.get_cookie(COOKIE).value
    store.replace_instances(victim_id, [ITEM])
    for invented in ("my-own-session-id-123", "x", "a" * 500, "../../etc", victim_id + "x"):
        client = app.server.test_client()
        client.set_cookie(COOKIE, invented)
        response = client.get("/")
        assert response.status_code == 200
        issued = client.get_cookie(COOKIE).value
        assert issued != invented and store.session_exists(issued)
        assert not store.session_exists(invented)
    # a cookie the server issued is kept, with its session
    victim.get("/")
    assert victim.get_cookie(COOKIE).value == victim_id
    assert store.instances(victim_id) == [ITEM]


def test_cookie_is_httponly_lax_and_secure_over_https(tmp_path: Path) -> None:
    app = _app(tmp_path)
    header = _set_cookie_header(app.server.test_client().get("/"))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    secure = app.server.test_client().get("/", base_url="https://localhost")
    assert "Secure" in _set_cookie_header(secure)
    # X-Forwarded-Proto is believed only from a trusted proxy
    forwarded = {"X-Forwarded-Proto": "https"}
    untrusted = app.server.test_client().get("/", headers=forwarded)
    assert "Secure" not in _set_cookie_header(untrusted)
    behind_proxy = _app(tmp_path / "p", trusted_proxies=1)
    trusted = behind_proxy.server.test_client().get("/", headers=forwarded)
    assert "Secure" in _set_cookie_header(trusted)


def test_static_files_issue_no_session(tmp_path: Path) -> None:
    app = _app(tmp_path)
    client = app.server.test_client()
    assert client.get("/assets/app.css").status_code == 200
    assert client.get_cookie(COOKIE) is None


# -- /reset ------------------------------------------------------------------------------------


def _session_with_work(app):  # type: ignore[no-untyped-def]
    client = app.server.test_client()
    client.get("/")
    sid = client.get_cookie(COOKIE).value
    app.server.extensions[EXTENSION_KEY].store.replace_instances(sid, [ITEM])
    return client, sid


def test_get_reset_erases_nothing_and_offers_the_confirmation(tmp_path: Path) -> None:
    app = _app(tmp_path)
    store = app.server.extensions[EXTENSION_KEY].store
    client, sid = _session_with_work(app)
    response = client.get("/reset")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<form method="post" action="/reset">' in page and "Reset this browser" in page
    assert store.instances(sid) == [ITEM] and client.get_cookie(COOKIE).value == sid


@pytest.mark.parametrize(
    "headers",
    [
        {},  # neither Origin nor Referer: cannot tell where it came from
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://localhost.evil.example"},
    ],
)
def test_a_reset_from_another_site_is_refused(tmp_path: Path, headers: dict) -> None:
    app = _app(tmp_path)
    store = app.server.extensions[EXTENSION_KEY].store
    client, sid = _session_with_work(app)
    response = client.post("/reset", headers=headers)
    assert response.status_code == 403
    assert "nothing was erased" in response.get_data(as_text=True)
    assert store.instances(sid) == [ITEM]


@pytest.mark.parametrize(
    "headers", [{"Origin": "http://localhost"}, {"Referer": "http://localhost/export-annotate"}]
)
def test_a_confirmed_reset_from_this_site(tmp_path: Path, headers: dict) -> None:
    app = _app(tmp_path)
    store = app.server.extensions[EXTENSION_KEY].store
    client, sid = _session_with_work(app)
    response = client.post("/reset", headers=headers)
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    assert store.instances(sid) == [] and not store.session_exists(sid)
    new_id = client.get_cookie(COOKIE).value
    assert new_id != sid and store.session_exists(new_id)


def _components(node: object) -> list[dict]:
    """Every component of a layout as Dash serves it (``/_dash-layout``)."""
    found: list[dict] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "props" in item and "type" in item:
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def test_the_menu_asks_before_it_posts_the_reset(tmp_path: Path) -> None:
    app = _app(tmp_path)
    layout = app.server.test_client().get("/_dash-layout").get_json()
    by_id = {c["props"].get("id"): c for c in _components(layout) if c["props"].get("id")}
    menu = _components(by_id["menu-modal"])
    assert "menu-reset" in [c["props"].get("id") for c in menu]
    assert all(c["props"].get("href") != "/reset" for c in menu)  # no link that resets
    assert by_id["reset-confirm"]["type"] == "ConfirmDialog"
    form = by_id["reset-form"]["props"]
    assert (form["action"], form["method"]) == ("/reset", "POST")


def test_the_error_toast_never_promises_saved_work(tmp_path: Path) -> None:
    """After a reset nothing is saved; the toast's words must hold in every case."""
    app = _app(tmp_path)

    @app.callback(Output("probe-out", "children"), Input("probe-in", "n_clicks"))
    def _fails(_clicks):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    client = app.server.test_client()
    client.get("/")
    client.post("/reset", headers={"Origin": "http://localhost"})
    body = {
        "output": "probe-out.children", "outputs": {"id": "probe-out", "property": "children"},
        "inputs": [{"id": "probe-in", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["probe-in.n_clicks"], "state": [],
    }  # fmt: skip
    response = client.post("/_dash-update-component", json=body)
    toast = response.get_json()["sideUpdate"]["server-error"]
    assert toast["is_open"] and "RuntimeError" in toast["children"]
    assert "safe" not in toast["children"] and "may not have taken effect" in toast["children"]


# -- request size ------------------------------------------------------------------------------


def test_a_body_above_the_limit_is_refused_unread_with_a_message(tmp_path: Path) -> None:
    app = _app(tmp_path, max_upload_bytes=1024**2)
    client = app.server.test_client()
    client.get("/")
    big = b"x" * (2 * 1024**2)
    response = client.post("/reset", data=big, headers={"Origin": "http://localhost"})
    assert response.status_code == 413
    assert "larger than the 1 MB the server accepts" in response.get_data(as_text=True)
    # a Dash callback gets the same words in the app's error toast
    callback = client.post("/_dash-update-component", data=big, content_type="application/json")
    assert callback.status_code == 200
    toast = callback.get_json()["sideUpdate"]["server-error"]
    assert toast["is_open"] and "SYNANNO_MAX_UPLOAD_BYTES" in toast["children"]
    assert client.get("/").status_code == 200  # still serving


def test_the_limit_is_configurable_and_reaches_the_uploads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNANNO_MAX_UPLOAD_BYTES", str(4 * 1024**2))
    settings = load_settings(env_file=None)
    assert settings.max_upload_bytes == 4 * 1024**2
    monkeypatch.setenv("SYNANNO_MAX_UPLOAD_BYTES", "lots")
    with pytest.raises(ValueError, match="SYNANNO_MAX_UPLOAD_BYTES must be a whole number"):
        load_settings(env_file=None)
    app = _app(tmp_path, max_upload_bytes=4 * 1024**2)
    assert app.server.config["MAX_CONTENT_LENGTH"] == 4 * 1024**2
    client = app.server.test_client()
    page = client.get("/open-data")
    assert page.status_code == 200
    with app.server.test_request_context("/open-data"):
        from synanno_dash.core.instances import Workflow
        from synanno_dash.services.defaults import form_defaults
        from synanno_dash.services.session import open_session
        from synanno_dash.ui.open_data_form import form

        session = open_session(app.server.extensions[EXTENSION_KEY], "nobody")
        page_layout = json.loads(to_json_plotly(form(Workflow.DETECTION, form_defaults(session))))
    uploads = [c for c in _components(page_layout) if c["type"] == "Upload"]
    boxes = [c for c in _components(page_layout) if "data-max-bytes" in c["props"]]
    # base64 makes a file 4/3 larger: 4 MB of request holds a file of about 3 MB
    expected = (4 * 1024**2 - 64 * 1024) * 3 // 4
    assert [u["props"]["max_size"] for u in uploads] == [expected, expected]
    assert [b["props"]["data-max-bytes"] for b in boxes] == [str(expected)] * 2
