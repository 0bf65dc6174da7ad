"""Redis (the job queue) going down and coming back, with a Redis of the test's own
(``tests/redis_server.py``; the machine's shared one is never stopped):

- a job started while Redis is down is refused with a message saying so, nothing queued;
- a page waiting for a queued job keeps waiting while Redis is down (its poll answers "not
  ready" and the error toast says why, instead of Dash's error that would end the wait);
- after Redis is back the queued job is still there: a worker started then runs it and the
  waiting page gets its result. Nothing here depends on timing (bounded waits only)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from synanno_dash.services.jobs import (
    JOB_QUEUE_DOWN_MESSAGE,
    JOB_QUEUE_WAITING_MESSAGE,
    JobLimitReached,
)
from synanno_dash.settings import Settings
from synanno_dash.ui import ids
from synanno_dash.ui.app import create_app
from tests.job_worker import WorkerProcess, run_queue
from tests.redis_server import PrivateRedis, redis_server_binary

JOB_DONE_TIMEOUT_S = 300  # the worker imports the app first: slow on a loaded machine


def _demo_job(app: Any) -> tuple[str, dict[str, Any]]:
    """The "Write the demo dataset" job: its callback key and the body a click posts."""
    key = next(k for k, spec in app.callback_map.items()
               if any(i["id"] == ids.OD_DEMO_WRITE for i in spec["inputs"]))  # fmt: skip
    outputs = [{"id": part.split(".")[0], "property": part.split(".")[1].split("@")[0]}
               for part in key.strip(".").split("...")]  # fmt: skip
    body = {
        "output": key, "outputs": outputs,
        "inputs": [{"id": ids.OD_DEMO_WRITE, "property": "n_clicks", "value": 1}],
        "changedPropIds": [f"{ids.OD_DEMO_WRITE}.n_clicks"], "state": [],
    }  # fmt: skip
    return key, body


def _toast(answer: dict[str, Any]) -> str | None:
    toast = answer.get("sideUpdate", {}).get(ids.SERVER_ERROR)
    return None if toast is None else str(toast["children"])


@pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed")
def test_redis_down_is_named_a_queued_job_survives_and_completes(  # type: ignore[no-untyped-def]
    data_dir: Path, demo_info, tmp_path: Path
) -> None:
    redis = PrivateRedis(tmp_path / "redis").start()
    queue, database_url = run_queue(), f"sqlite:///{tmp_path / 's.db'}"
    settings = Settings(data_dir=data_dir, database_url=database_url,
                        redis_url=redis.url(), job_queue=queue)  # fmt: skip
    worker = WorkerProcess(data_dir, tmp_path / "worker.log", {
        "SYNANNO_REDIS_URL": redis.url(), "SYNANNO_JOB_QUEUE": queue,
        "SYNANNO_DATABASE_URL": database_url})  # fmt: skip
    try:
        app = create_app(settings)
        client = app.server.test_client()
        assert client.get("/").status_code == 200  # the session cookie
        _key, body = _demo_job(app)

        redis.stop()
        refused = client.post("/_dash-update-component", json=body)
        assert refused.status_code == 200
        assert _toast(refused.get_json()) == JOB_QUEUE_DOWN_MESSAGE
        assert "cacheKey" not in refused.get_json()

        redis.start()  # back by itself: the next click queues the job
        started = client.post("/_dash-update-component", json=body)
        assert started.status_code == 200
        handles = started.get_json()
        assert {"cacheKey", "job"} <= set(handles)
        poll = f"/_dash-update-component?cacheKey={handles['cacheKey']}&job={handles['job']}"

        redis.stop()  # while the page waits for its job (no worker yet: it is queued)
        waiting = client.post(poll, json=body)
        assert waiting.status_code == 200
        assert _toast(waiting.get_json()) == JOB_QUEUE_WAITING_MESSAGE
        assert "response" not in waiting.get_json() or not waiting.get_json()["response"]

        redis.start()  # the queued job is still there (append-only file); a worker runs it
        worker.start()
        answer = _wait_for_result(client, poll, body)
        assert answer["response"][ids.open_data("source")]["value"] == demo_info.source_url
        assert _toast(answer) is None
    finally:
        worker.stop()
        redis.stop()


def _wait_for_result(client: Any, poll: str, body: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_DONE_TIMEOUT_S
    while time.monotonic() < deadline:
        response = client.post(poll, json=body)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        answer = json.loads(response.get_data(as_text=True))
        if answer.get("response"):
            return dict(answer)
        time.sleep(0.5)
    raise AssertionError(f"the job did not finish within {JOB_DONE_TIMEOUT_S} s")


@pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed")
def test_hosted_sessions_run_at_most_their_job_limit(  # type: ignore[no-untyped-def]
    data_dir: Path, demo_info, tmp_path: Path
) -> None:
    """No worker at first, so queued jobs stay running: the limit is reached for certain."""
    redis = PrivateRedis(tmp_path / "redis").start()
    queue, database_url = run_queue(), f"sqlite:///{tmp_path / 's.db'}"
    settings = Settings(data_dir=data_dir, database_url=database_url, redis_url=redis.url(),
                        job_queue=queue, hosted=True, max_jobs_per_session=1)  # fmt: skip
    worker = WorkerProcess(data_dir, tmp_path / "worker.log", {
        "SYNANNO_REDIS_URL": redis.url(), "SYNANNO_JOB_QUEUE": queue, "SYNANNO_HOSTED": "1",
        "SYNANNO_DATABASE_URL": database_url})  # fmt: skip
    try:
        app = create_app(settings)
        first, second = app.server.test_client(), app.server.test_client()
        for browser in (first, second):
            assert browser.get("/").status_code == 200  # each its own session cookie
        _key, body = _demo_job(app)
        started = first.post("/_dash-update-component", json=body).get_json()
        assert {"cacheKey", "job"} <= set(started)
        refused = first.post("/_dash-update-component", json=body).get_json()
        assert _toast(refused) == str(JobLimitReached(1)) and "cacheKey" not in refused
        assert "cacheKey" in second.post("/_dash-update-component", json=body).get_json()

        worker.start()  # the first job runs; its page collects the result: the slot is free
        poll = f"/_dash-update-component?cacheKey={started['cacheKey']}&job={started['job']}"
        _wait_for_result(first, poll, body)
        assert "cacheKey" in first.post("/_dash-update-component", json=body).get_json()
    finally:
        worker.stop()
        redis.stop()
