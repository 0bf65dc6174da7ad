"""While the session database is down the user is told so (the click's toast, pages, and
/healthz naming the database), and the app recovers by itself when it is back."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from synanno_dash.services.health import DATABASE_DOWN_MESSAGE
from synanno_dash.settings import Settings
from synanno_dash.ui.app import create_app
from tests.conftest import PreparedSession
from tests.tcp_relay import TcpRelay


def test_a_database_outage_is_named_and_the_app_recovers(
    data_dir: Path, demo_info, postgres_url: str  # type: ignore[no-untyped-def]
) -> None:
    server = urlsplit(postgres_url.replace("postgresql+psycopg", "http"))
    relay = TcpRelay(server.port or 5432).start()
    through_relay = postgres_url.replace(f":{server.port}/", f":{relay.port}/")
    app = create_app(Settings(data_dir=data_dir, database_url=through_relay))
    prepared = PreparedSession(app, demo_info)
    client = prepared.client
    key = next(k for k, spec in app.callback_map.items()
               if any("tile-view" in str(d["id"]) for d in spec["inputs"]))  # fmt: skip
    assert _click(client, key)["response"]  # the database is up: the click is saved
    assert client.get("/healthz").status_code == 200

    relay.cut()
    answer = _click(client, key)
    assert answer["sideUpdate"]["server-error"]["children"] == DATABASE_DOWN_MESSAGE
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["failing"] == ["database"]
    assert "not reachable" in health.get_json()["checks"]["database"]["detail"]
    assert "SYNANNO_DATABASE_URL" in health.get_json()["checks"]["database"]["detail"]
    assert client.get("/readyz").status_code == 503
    # a browser this process has not seen yet (a known one is remembered for a few seconds,
    # gets the page and the message from its callbacks, as the click above did)
    page = app.server.test_client().get("/annotation")
    assert page.status_code == 503 and DATABASE_DOWN_MESSAGE in page.get_data(as_text=True)

    relay.start()  # the database is back, at the same address
    assert client.get("/healthz").status_code == 200
    assert _click(client, key)["response"]
    label = prepared.session.store.instance(prepared.sid, 0).label.value
    assert label == "unsure"  # the two saved clicks, not the one refused while down
    relay.cut()


def _click(client, key: str) -> dict:  # type: ignore[no-untyped-def]
    tile, view = {"index": 0, "type": "tile"}, {"index": 0, "type": "tile-view"}
    body = {
        "output": key,
        "outputs": [{"id": tile, "property": "className"}, {"id": tile, "property": "data-label"}],
        "inputs": [{"id": view, "property": "n_clicks", "value": 1}],
        "changedPropIds": [json.dumps(view, separators=(",", ":")) + ".n_clicks"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    return response.get_json()
