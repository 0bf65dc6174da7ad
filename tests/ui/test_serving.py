"""``synanno-dash serve`` under a real gunicorn (issue 12): several workers share one
session, health and readiness, JSON logs, graceful shutdown, kill -9 of a worker."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy import func, select

from synanno_dash.core.labels import Label
from synanno_dash.data import store_schema as schema
from synanno_dash.data.store import SessionStore
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import prepare_session
from synanno_dash.settings import Settings
from tests.conftest import demo_form
from tests.data.databases import DATABASES, database_url
from tests.served_app import DashClient, ServedApp, page_tiles

CYCLE = [Label.CORRECT, Label.INCORRECT, Label.UNSURE]
MAX_REQUESTS = 200  # to see both workers serve one session


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


def _prepare(data_dir: Path, url: str, demo_info, session_id: str) -> None:  # type: ignore[no-untyped-def]
    """Open the demo in a session, as Open Data's Submit does (through the shared database)."""
    resources = AppContext.create(Settings(data_dir=data_dir, database_url=url))
    try:
        assert prepare_session(resources, session_id, demo_form(demo_info)).ok
        resources.wait_for_background()
    finally:
        resources.executor.shutdown(wait=True)
        resources.store.engine.dispose()


def _served(data_dir: Path, url: str, tmp_path: Path, workers: int, **options: int) -> ServedApp:
    return ServedApp(data_dir, url, tmp_path / "server.log", workers=workers, **options).start()


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()[:12]


def test_one_session_alternates_between_two_workers_and_its_labels_stay_consistent(
    data_dir: Path, demo_info, db_url: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    served = _served(data_dir, db_url, tmp_path, workers=2)
    try:
        client = DashClient(served.url, fresh_connections=True)
        _prepare(data_dir, db_url, demo_info, client.session_id)
        expected: dict[int, Label] = {}
        for n in range(MAX_REQUESTS):
            instance_id = n % 3
            answer = client.click(instance_id)
            expected[instance_id] = CYCLE[client.clicks[instance_id] % 3]
            assert answer == expected[instance_id].value, f"click {n}: another worker's stale label"
            if n % 4 == 3:
                shown = page_tiles(client.open_page(1))  # the grid shows every click so far
                assert {i: shown[i] for i in expected} == {i: v.value for i, v in expected.items()}
            pids = {e["pid"] for e in served.log_entries("request")
                    if e.get("session") == _session_hash(client.session_id)}
            if n >= 20 and len(pids) >= 2:
                break
        assert len(pids) == 2, f"one worker served all {n + 1} requests of the session"
        assert _server_errors(served) == []
        store = SessionStore(db_url)
        assert {i: store.instance(client.session_id, i).label for i in expected} == expected
        store.engine.dispose()
    finally:
        assert served.stop() == 0


def _server_errors(served: ServedApp) -> list[dict]:
    return [e for e in served.log_entries("request") if e["status"] >= 500]


def test_health_and_readiness_answer_json_and_the_logs_are_one_json_line_per_request(
    data_dir: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    served = _served(data_dir, url, tmp_path, workers=1)
    try:
        health = requests.get(served.url + "/healthz", timeout=30)
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok" and body["failing"] == []
        assert body["checks"]["database"]["ok"] and body["checks"]["data"]["ok"]
        ready = requests.get(served.url + "/readyz", timeout=30)
        assert ready.status_code == 200 and ready.json()["checks"]["schema"]["ok"]
        assert "synanno_session" not in health.cookies  # probes issue no session
        requests.get(served.url + "/no-such-path?x=1", timeout=30)
    finally:
        assert served.stop() == 0
    requests_logged = served.log_entries("request")
    paths = [(e["method"], e["path"], e["status"]) for e in requests_logged]
    assert ("GET", "/healthz", 200) in paths and ("GET", "/readyz", 200) in paths
    assert all(isinstance(e["ms"], float) and e["pid"] > 0 for e in requests_logged)
    errors = served.log_entries("log")
    assert any("Booting worker" in e.get("message", "") for e in errors)


def test_graceful_shutdown_finishes_a_click_in_flight(
    data_dir: Path, demo_info, postgres_url: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """SIGTERM while a click waits on the database: the click still commits and answers,
    new connections are no longer served, and the server then exits cleanly."""
    served = _served(data_dir, postgres_url, tmp_path, workers=2, graceful_timeout_s=60)
    client = DashClient(served.url)
    _prepare(data_dir, postgres_url, demo_info, client.session_id)
    answers: list[str] = []
    with _row_lock(postgres_url, client.session_id, instance_id=0) as blocker:
        clicking = threading.Thread(target=lambda: answers.append(client.click(0)))
        clicking.start()
        _wait_for_a_blocked_query(blocker)
        assert served.process is not None
        served.process.send_signal(15)
        _wait_until(lambda: "Handling signal: term" in served.log_text())
        with pytest.raises((requests.ConnectionError, requests.Timeout)):
            _wait_until_not_served(served.url)
    clicking.join(timeout=120)
    assert answers == [Label.INCORRECT.value]
    assert served.process.wait(timeout=120) == 0
    store = SessionStore(postgres_url)
    assert store.instance(client.session_id, 0).label is Label.INCORRECT
    store.engine.dispose()


def _saved_clicks(store: SessionStore, session_id: str) -> int:
    edits = schema.edits.c
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(
            edits.session_id == session_id, edits.kind == "do", edits.field == "label"
        )).scalar_one())  # fmt: skip


class _RowLock:
    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection


def _row_lock(url: str, session_id: str, instance_id: int):  # type: ignore[no-untyped-def]
    """A transaction holding one instance row locked until the block ends."""
    from contextlib import contextmanager

    @contextmanager
    def locked() -> Iterator[_RowLock]:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT label FROM instances WHERE session_id = %s AND instance_id = %s "
                         "FOR UPDATE", (session_id, instance_id))  # fmt: skip
            yield _RowLock(conn)
            conn.commit()

    return locked()


def _wait_until(condition, timeout_s: float = 60, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not reached in {timeout_s} s: {what}"
        time.sleep(0.05)


def _blocked_backends(lock: _RowLock) -> list[tuple[int, int]]:
    """(backend pid, client port) of queries waiting for the lock this transaction holds."""
    with psycopg.connect(lock.connection.info.dsn, autocommit=True) as probe:
        return probe.execute(
            "SELECT pid, client_port FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            (lock.connection.info.backend_pid,),
        ).fetchall()


def _wait_for_a_blocked_query(lock: _RowLock) -> tuple[int, int]:
    _wait_until(lambda: bool(_blocked_backends(lock)))
    return _blocked_backends(lock)[0]


def _wait_until_not_served(url: str) -> None:
    """Raise once the server no longer answers new connections (refused, or left unread in
    the listening socket's queue)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        requests.get(url + "/healthz", timeout=5, headers={"Connection": "close"})
        time.sleep(0.05)


def test_kill_9_of_a_worker_mid_click_loses_no_acknowledged_label(
    data_dir: Path, demo_info, postgres_url: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """Sessions click steadily while the worker serving one click (held on a row lock) is
    killed with SIGKILL: that click is not acknowledged and not saved; every acknowledged
    click of every session is in the database, and the server goes on serving."""
    served = _served(data_dir, postgres_url, tmp_path, workers=2)
    stop = threading.Event()
    try:
        clients = [DashClient(served.url, fresh_connections=True) for _ in range(3)]
        for client in clients:
            _prepare(data_dir, postgres_url, demo_info, client.session_id)
        acknowledged = {c.session_id: 0 for c in clients[1:]}
        failed = {c.session_id: 0 for c in clients[1:]}
        errors: list[str] = []

        def keep_clicking(client: DashClient) -> None:
            while not stop.is_set():
                try:
                    client.click(1)
                    acknowledged[client.session_id] += 1
                except Exception as exc:  # counted as not acknowledged; kept for the report
                    failed[client.session_id] += 1
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])

        clickers = [threading.Thread(target=keep_clicking, args=(c,), daemon=True)
                    for c in clients[1:]]  # fmt: skip
        for thread in clickers:
            thread.start()
        victim_answer: list[object] = []
        with _row_lock(postgres_url, clients[0].session_id, instance_id=0) as blocker:
            def victim_click() -> None:
                try:
                    victim_answer.append(clients[0].click(0))
                except requests.RequestException as exc:
                    victim_answer.append(exc)

            victim = threading.Thread(target=victim_click)
            victim.start()
            _backend_pid, client_port = _wait_for_a_blocked_query(blocker)
            worker = next(w for w in served.workers()
                          if any(c.laddr.port == client_port for c in w.net_connections("tcp")))
            worker.kill()  # SIGKILL
            victim.join(timeout=60)
        assert isinstance(victim_answer[0], requests.RequestException)
        _wait_until(lambda: worker.pid not in {w.pid for w in served.workers()}
                    and len(served.workers()) == 2, what="gunicorn replaced the worker")
        served.wait_ready()
        before = dict(acknowledged)  # the clickers go on, on the new worker too
        _wait_until(lambda: all(acknowledged[s] >= before[s] + 5 for s in before),
                    what=f"clicks after the restart; errors: {errors[-5:]}")
        stop.set()
        for thread in clickers:
            thread.join(timeout=60)
        store = SessionStore(postgres_url)
        assert store.instance(clients[0].session_id, 0).label is Label.CORRECT  # never acked
        for client in clients[1:]:
            done = acknowledged[client.session_id]
            saved = _saved_clicks(store, client.session_id)
            assert done <= saved <= done + failed[client.session_id]
            assert store.instance(client.session_id, 1).label is CYCLE[saved % 3]
            assert done > 0
        store.engine.dispose()
        assert _server_errors(served) == []
    finally:
        stop.set()
        served.stop()


def test_four_workers_started_at_once_on_an_empty_postgresql_schema_all_start(
    data_dir: Path, postgres_url: str, tmp_path: Path
) -> None:
    """Issue 12: ``gunicorn -w 4 app:server`` on an empty database failed 2 of 9 starts (every
    worker created the tables). Started without ``serve`` (which migrates first), all four
    workers migrate at once: all must boot and answer."""
    served = ServedApp(data_dir, postgres_url, tmp_path / "server.log", workers=4,
                       plain_gunicorn=True).start()  # fmt: skip
    try:
        answered: set[int] = set()
        for _ in range(400):
            ready = requests.get(served.url + "/readyz", timeout=30,
                                 headers={"Connection": "close"})  # fmt: skip
            assert ready.status_code == 200, ready.text
            answered.add(ready.json()["pid"])
            if len(answered) == 4:
                break
        assert answered == {w.pid for w in served.workers()}
        assert served.process is not None and served.process.poll() is None
        assert "Worker failed to boot" not in served.log_text()
        assert "Exception in worker process" not in served.log_text()
    finally:
        served.stop()
