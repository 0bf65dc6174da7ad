"""Background jobs on Celery with the machine's Redis (127.0.0.1:6379): the app queues, a
``synanno-dash worker`` runs, and a job survives its worker being killed and restarted."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_jobs_browser import JOB_TIMEOUT_MS, _session_json, restore_in_browser
from tests.conftest import ServerProcess
from tests.job_worker import WorkerProcess, forget_queue, run_queue

pytestmark = pytest.mark.browser
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = 13  # shared by concurrent runs: each run has its own queue and key prefix
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
REDELIVERY_S = "5"  # a killed worker's job is handed on after 5 s (the default is 600)


def _redis_or_skip() -> None:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2):
            pass
    except OSError as exc:
        pytest.skip(f"no Redis server on {REDIS_HOST}:{REDIS_PORT} ({exc}); start redis-server")


@pytest.fixture
def celery_app_and_worker(data_dir: Path, tmp_path: Path) -> Iterator[tuple]:
    _redis_or_skip()
    queue = run_queue()
    env = {"SYNANNO_REDIS_URL": REDIS_URL, "SYNANNO_JOB_REDELIVERY_S": REDELIVERY_S,
           "SYNANNO_JOB_QUEUE": queue}  # fmt: skip
    server = ServerProcess(data_dir, tmp_path / "server.log", env=env)
    worker = WorkerProcess(data_dir, tmp_path / "worker.log", env)
    worker.start()
    server.start()
    try:
        yield server, worker
    finally:
        server.stop()
        worker.stop()
        forget_queue(REDIS_URL, queue)


def test_a_job_survives_its_worker_killed_and_restarted(  # type: ignore[no-untyped-def]
    celery_app_and_worker, new_page, resources, demo_info, tmp_path
) -> None:
    server, worker = celery_app_and_worker
    json_path, count = _session_json(resources, demo_info, tmp_path)
    page = new_page()
    restore_in_browser(page, server.url, json_path, "correction")  # the worker prepares it
    page.goto(server.url + "/export-draw")
    page.locator("#exd-layer-button").click()
    page.locator("#job-exd-layer-text").get_by_text(f"of {count}").wait_for(
        timeout=JOB_TIMEOUT_MS
    )

    worker.kill()  # mid-job, before its result was stored
    assert page.locator("#exd-layer-url").count() == 0
    restarted_at = len(worker.log_text())
    worker.start()
    page.locator("#exd-layer-url").wait_for(state="attached", timeout=JOB_TIMEOUT_MS)
    assert page.locator("#exd-layer-status").get_by_text(f"{count} segments written.").count()
    page.locator("#job-exd-layer-running").wait_for(state="hidden")
    # the restarted worker ran it (Redis handed the unacknowledged job back)
    assert "succeeded" in worker.log_text()[restarted_at:]
    assert page.console_log.errors == []
