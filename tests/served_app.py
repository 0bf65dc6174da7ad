"""The app served for real (``synanno-dash serve`` under gunicorn) and an HTTP client that
talks to it as the browser does, for the serving tests and ``bench/bench_load.py``.

- ``ServedApp``: starts ``synanno-dash serve --workers N`` on a free loopback port with its
  own data folder and database URL, waits for ``/readyz``, reads its JSON logs, stops it
  (SIGTERM: graceful) or kills its workers.
- ``DashClient``: one browser session (its cookie): label clicks and page switches through
  Dash's ``/_dash-update-component``, with the callback keys read from
  ``/_dash-dependencies``. ``fresh_connections`` sends each request on a new connection, so
  consecutive requests of one session reach different workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from tests.conftest import REPO, free_port

READY_TIMEOUT_S = 300  # workers import torch, dash, cloudvolume: slow on a loaded machine


def _is_live_worker(process: psutil.Process) -> bool:
    try:
        return (process.status() != psutil.STATUS_ZOMBIE
                and "neuroglancer" not in process.cmdline())  # fmt: skip
    except psutil.NoSuchProcess:  # gone (or reaped) between the listing and the check
        return False


class ServedApp:
    def __init__(self, data_dir: Path, database_url: str, log_path: Path, workers: int = 2,
                 threads: int = 8, graceful_timeout_s: int = 30, plain_gunicorn: bool = False,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.database_url = database_url
        self.log_path = log_path
        self.env = env or {}
        self.args = ["--workers", str(workers), "--threads", str(threads),
                     "--graceful-timeout", str(graceful_timeout_s)]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        # gunicorn started directly on app.py (no ``serve``: no migration before the workers)
        self.command = (
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers",
             str(workers), "--worker-class", "gthread", "--threads", str(threads), "app:server"]
            if plain_gunicorn else
            [sys.executable, "-m", "synanno_dash.cli", "serve", "--port", str(self.port),
             *self.args]
        )  # fmt: skip

    def start(self) -> ServedApp:
        env = {**os.environ, "SYNANNO_DATA_DIR": str(self.data_dir),
               "SYNANNO_DATABASE_URL": self.database_url, **self.env}  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_text()[-3000:]}")
            try:
                if requests.get(self.url + "/readyz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server was not ready in {READY_TIMEOUT_S} s: {self.log_path}")

    def workers(self) -> list[psutil.Process]:
        """The live gunicorn workers: not the Neuroglancer service ``serve`` also starts, and
        not a killed worker gunicorn has not reaped yet (a zombie)."""
        assert self.process is not None
        return [child for child in psutil.Process(self.process.pid).children()
                if _is_live_worker(child)]  # fmt: skip

    def stop(self, timeout_s: float = 60) -> int | None:
        """SIGTERM (graceful), then SIGKILL if it does not end within ``timeout_s``."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                child.kill()
            self.process.kill()
            return self.process.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_entries(self, event: str | None = None) -> list[dict[str, Any]]:
        """The JSON log lines (the few plain lines the CLI prints are left out)."""
        found = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if event is None or entry.get("event") == event:
                    found.append(entry)
        return found


class DashClient:
    """One browser session of a served app."""

    def __init__(self, url: str, fresh_connections: bool = False, timeout_s: float = 60) -> None:
        self.url = url
        self.http = requests.Session()
        self.timeout_s = timeout_s
        if fresh_connections:
            self.http.headers["Connection"] = "close"
        first = self.http.get(url + "/", timeout=timeout_s)
        first.raise_for_status()
        self.session_id = self.http.cookies.get("synanno_session")
        assert self.session_id, "the server issued no session cookie"
        self.dependencies = self.http.get(url + "/_dash-dependencies", timeout=timeout_s).json()
        self.clicks: dict[int, int] = {}
        self.page_switches = 0

    def _callback(self, has_input: str) -> dict[str, Any]:
        return next(d for d in self.dependencies
                    if any(has_input in json.dumps(i["id"]) for i in d["inputs"]))  # fmt: skip

    def post(self, body: dict[str, Any]) -> requests.Response:
        return self.http.post(self.url + "/_dash-update-component", json=body,
                              timeout=self.timeout_s)  # fmt: skip

    def click(self, instance_id: int) -> str:
        """Click one tile (cycles its label); the label the server answers with."""
        n = self.clicks[instance_id] = self.clicks.get(instance_id, 0) + 1
        view = {"index": instance_id, "type": "tile-view"}
        tile = {"index": instance_id, "type": "tile"}
        body = {
            "output": self._callback("tile-view")["output"],
            "outputs": [{"id": tile, "property": "className"},
                        {"id": tile, "property": "data-label"}],
            "inputs": [{"id": view, "property": "n_clicks", "value": n}],
            "changedPropIds": [json.dumps(view, separators=(",", ":")) + ".n_clicks"],
            "state": [],
        }  # fmt: skip
        response = self.post(body)
        response.raise_for_status()
        answer = response.json()
        if "sideUpdate" in answer and "server-error" in answer["sideUpdate"]:
            raise RuntimeError(answer["sideUpdate"]["server-error"]["children"])
        return str(answer["response"][json.dumps(tile, separators=(",", ":"))]["data-label"])

    def open_page(self, page: int) -> str:
        """Switch to page ``page`` of the review grid (what the browser's router posts)."""
        self.page_switches += 1
        pages = self._callback("_pages_location")
        values = {"pathname": "/annotation", "search": f"?page={page}", "hash": "", "href":
                  f"{self.url}/annotation?page={page}"}  # fmt: skip
        inputs = [{"id": i["id"], "property": i["property"], "value": values.get(i["property"])}
                  for i in pages["inputs"]]  # fmt: skip
        state = [{"id": s["id"], "property": s["property"], "value": values.get(s["property"])}
                 for s in pages["state"]]  # fmt: skip
        outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
                   for o in pages["output"].strip(".").split("...") if o]  # fmt: skip
        body = {"output": pages["output"], "outputs": outputs, "inputs": inputs,
                "changedPropIds": ["_pages_location.pathname"], "state": state}  # fmt: skip
        response = self.post(body)
        response.raise_for_status()
        return response.text


def page_tiles(page_json: str) -> dict[int, str]:
    """{instance id: its ``data-label``} of every tile in a page callback's answer."""
    found: dict[int, str] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict):
                tile_id = props.get("id")
                if isinstance(tile_id, dict) and tile_id.get("type") == "tile":
                    found[int(tile_id["index"])] = str(props.get("data-label"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(page_json))
    return found
