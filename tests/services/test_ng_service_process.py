"""The shared Neuroglancer service as a real process: its protocol, secret, bounds, failure
and recovery, and the app's ``/neuroglancer/`` proxy in front of it.

The service runs as ``synanno-dash neuroglancer`` in a child process; "app workers" are
``ViewerServiceClient``s, one of them in a process of its own that exits before the state it
made is read back. Key presses are posted the way the Neuroglancer client posts them
(``/action/<token>``). Waits are bounded polls on a condition.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import flask
import neuroglancer
import pytest
import requests

from synanno_dash.cli_neuroglancer import NeuroglancerSupervisor, free_port
from synanno_dash.core.geometry import Resolution
from synanno_dash.services import ng_state
from synanno_dash.services.neuroglancer_viewers import ADD_CANDIDATE_ACTION, CHOOSE_NEURON_ACTION
from synanno_dash.services.ng_client import (
    API_PREFIX,
    SECRET_HEADER,
    ViewerServiceClient,
    ViewerServiceError,
)
from synanno_dash.services.ng_proxy import register_proxy
from tests.services.test_neuroglancer_service import client_action

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-secret-of-the-viewer-service"
TARGET = Resolution(8, 8, 40)
WAIT_S = 30.0

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout_s: float = WAIT_S) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = condition()
        except ViewerServiceError:
            value = None  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.05)


@dataclass
class ServiceProcess:
    port: int
    max_viewers: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "SYNANNO_NG_SECRET": SECRET}
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "synanno_dash.cli", "neuroglancer",
                "--port", str(self.port), "--max-viewers", str(self.max_viewers),
            ],
            cwd=REPO, env=env,
        )  # fmt: skip
        # A loaded machine may take long to import Neuroglancer: a generous bound.
        wait_until(lambda: self._alive() and ViewerServiceClient(self.url, SECRET).health(), 180)

    def _alive(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "the service exited"
        return True

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def service() -> Iterator[ServiceProcess]:
    process = ServiceProcess(port=free_port(), max_viewers=3)
    process.start()
    yield process
    process.kill()


def state(center: tuple[int, int, int]) -> neuroglancer.ViewerState:
    """A viewer state like the app's (remote sources, so nothing is fetched)."""
    from synanno_dash.core.instances import DatasetConfig

    config = DatasetConfig(
        source_url="gs://bucket/em", target_url="gs://bucket/clefts", table_url="",
        neuropil_url="gs://bucket/neurons", source_resolution=Resolution(4, 4, 40),
        target_resolution=TARGET,
    )  # fmt: skip
    return ng_state.build_state(config, ng_state.instance_spec(center, None, None, (64, 64, 6)), "")


def press(service: ServiceProcess, path: str, action: str, action_state: dict) -> None:
    """A key press as the Neuroglancer client reports it."""
    token = path.strip("/").split("/")[1]
    body = json.dumps({"action": action, "state": action_state})
    response = requests.post(f"{service.url}/action/{token}", data=body, timeout=10)
    assert response.status_code == 200


WORKER_SCRIPT = """
import sys
from synanno_dash.core.geometry import Resolution
from synanno_dash.services.ng_client import ViewerServiceClient
from tests.services.test_ng_service_process import SECRET, TARGET, state
client = ViewerServiceClient(sys.argv[1], SECRET)
print(client.show_state(sys.argv[2], state((60, 70, 8)), TARGET))
"""


def test_a_session_state_outlives_the_worker_that_made_it(service: ServiceProcess) -> None:
    # Worker 1, a process of its own, shows the view and exits.
    made = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, service.url, "session-a"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    path = made.stdout.strip().splitlines()[-1]
    assert path.startswith("/v/") and path.endswith("/")
    # Worker 2 (this process) finds the same viewer and what n and c picked in it.
    worker_2 = ViewerServiceClient(service.url, SECRET)
    record = worker_2._record("session-a")
    assert record["path"] == path
    press(service, path, CHOOSE_NEURON_ACTION, client_action([10, 10, 8], str(2**64 - 59)))
    assert wait_until(lambda: worker_2.chosen_neuron("session-a")) == 2**64 - 59  # exact
    press(service, path, ADD_CANDIDATE_ACTION, client_action([86.1, 70.5, 8.5]))
    assert wait_until(lambda: worker_2.candidates("session-a")) == [(86, 70, 8)]
    # Worker 3 shows a new view of the session: the same viewer, the candidates kept.
    worker_3 = ViewerServiceClient(service.url, SECRET)
    assert worker_3.show_state("session-a", state((10, 10, 1)), TARGET) == path
    assert worker_3.candidates("session-a") == [(86, 70, 8)]
    # Another session sees none of it.
    assert worker_2.candidates("session-b") == [] and worker_2.chosen_neuron("session-b") is None
    worker_3.clear_candidates("session-a")
    assert worker_2.candidates("session-a") == []
    assert worker_2.close("session-a") is True
    assert worker_3._record("session-a")["path"] is None
    assert requests.get(service.url + path, timeout=10).status_code == 404  # the URL is dead


def test_the_secret_is_required(service: ServiceProcess) -> None:
    api = service.url + API_PREFIX
    body = {"state": state((1, 1, 1)).to_json(), "target_resolution_nm": [8, 8, 40]}
    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
        put = requests.put(f"{api}/sessions/intruder/view", json=body, headers=headers, timeout=10)
        assert put.status_code == 401 and SECRET_HEADER in put.json()["error"]
        assert requests.get(f"{api}/health", headers=headers, timeout=10).status_code == 401
    assert ViewerServiceClient(service.url, SECRET)._record("intruder")["path"] is None
    with pytest.raises(ViewerServiceError, match="refused the request \\(401\\)"):
        ViewerServiceClient(service.url, "wrong").health()
    with pytest.raises(ValueError, match="SYNANNO_NG_SECRET"):
        ViewerServiceClient(service.url, "")


def test_hostile_requests_are_refused(service: ServiceProcess) -> None:
    api, headers = service.url + API_PREFIX, {SECRET_HEADER: SECRET}
    bad = requests.put(f"{api}/sessions/s/view", data=b"{not json", headers=headers, timeout=10)
    assert bad.status_code == 400 and "viewer state" in bad.json()["error"]
    no_res = requests.put(
        f"{api}/sessions/s/view", json={"state": {}}, headers=headers, timeout=10
    )
    assert no_res.status_code == 400
    big = requests.put(
        f"{api}/sessions/s/view", data=b"x" * (5 * 1024**2), headers=headers, timeout=30
    )
    assert big.status_code == 413
    for sid in ("a%2F..%2Fb", "x" * 65):
        response = requests.get(f"{api}/sessions/{sid}", headers=headers, timeout=10)
        assert response.status_code == 404


def test_the_number_of_viewers_is_bounded(service: ServiceProcess) -> None:
    client = ViewerServiceClient(service.url, SECRET)
    for sid in ("one", "two", "three", "four", "five"):
        client.show_state(sid, state((1, 2, 3)), TARGET)
    assert client.health() == {"viewers": 3, "max_viewers": 3}
    paths = {sid: client._record(sid)["path"] for sid in ("one", "two", "three", "four", "five")}
    assert paths["one"] is None and paths["two"] is None  # least recently used, closed
    assert all(paths[sid] for sid in ("three", "four", "five"))
    for sid in ("three", "four", "five"):
        client.close(sid)


def test_a_dead_service_is_reported_and_a_restarted_one_serves_again() -> None:
    service = ServiceProcess(port=free_port(), max_viewers=4)
    service.start()
    client = ViewerServiceClient(service.url, SECRET, timeout_s=(1.0, 5.0))
    try:
        client.show_state("s", state((1, 2, 3)), TARGET)
        service.kill()
        with pytest.raises(ViewerServiceError) as down:
            client.show_state("s", state((1, 2, 3)), TARGET)
        message = str(down.value)
        assert service.url in message and "not answering" in message
        assert "synanno-dash neuroglancer" in message
        service.start()  # the same port, as the supervisor restarts it
        assert client.show_state("s", state((1, 2, 3)), TARGET).startswith("/v/")
    finally:
        service.kill()


def test_the_supervisor_restarts_a_killed_service() -> None:
    supervisor = NeuroglancerSupervisor(port=free_port(), secret=SECRET, max_viewers=4)
    supervisor.start()
    try:
        supervisor.wait_ready()
        client = ViewerServiceClient(supervisor.url, SECRET, timeout_s=(1.0, 5.0))
        first_pid = supervisor.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        wait_until(lambda: supervisor.pid != first_pid)
        wait_until(client.health)
        assert supervisor.restarts == 1
        assert client.show_state("s", state((1, 2, 3)), TARGET).startswith("/v/")
    finally:
        supervisor.stop()
    process = supervisor._process
    assert process is not None and process.poll() is not None  # stopped with it, not restarted
    assert supervisor.restarts == 1


def test_the_app_proxy_serves_the_viewer_but_not_the_api(service: ServiceProcess) -> None:
    upstream: list[str | None] = [service.url]
    app = flask.Flask(__name__)
    register_proxy(app, lambda: upstream[0])
    web = app.test_client()
    path = ViewerServiceClient(service.url, SECRET).show_state("proxied", state((1, 2, 3)), TARGET)
    page = web.get("/neuroglancer" + path)
    assert page.status_code == 200 and b"<html" in page.data.lower()
    assert web.get(f"/neuroglancer{API_PREFIX}/health").status_code == 404
    assert web.get("/neuroglancer/v/unknown-token/").status_code == 404
    upstream[0] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    down = web.get("/neuroglancer" + path)
    assert down.status_code == 502 and b"not answering" in down.data
    upstream[0] = None
    assert web.get("/neuroglancer" + path).status_code == 404


def _clean_ng_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SYNANNO_NG_SERVICE_URL", "SYNANNO_NG_SECRET", "SYNANNO_NG_PORT"):
        monkeypatch.setenv(name, "")  # remembered, so what serve exports is undone
        monkeypatch.delenv(name)


def test_the_service_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from synanno_dash import cli

    _clean_ng_env(monkeypatch)
    assert cli.main(["neuroglancer", "--port", str(free_port())]) == 2
    assert "set SYNANNO_NG_SECRET" in capsys.readouterr().err


def test_serve_says_when_the_service_cannot_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import socket

    from synanno_dash import cli, cli_neuroglancer

    _clean_ng_env(monkeypatch)
    monkeypatch.setattr(cli_neuroglancer, "READY_TIMEOUT_S", 5.0)
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # keep pytest's own handlers
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("SYNANNO_NG_PORT", str(taken.getsockname()[1]))
        code = cli.main(["serve", "--no-demo", "--data-dir", str(tmp_path), "--port", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "did not answer" in err and "SYNANNO_NG_PORT" in err
