"""A ``synanno-dash worker`` (Celery) for tests, and a Redis queue of a test run's own."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO


def run_queue() -> str:
    """A queue (and Redis key prefix) of this run only: two runs on one machine never take
    each other's jobs, and cleaning up removes only this run's keys."""
    return f"synanno-test-{os.getpid()}-{secrets.token_hex(4)}"


def forget_queue(redis_url: str, queue: str) -> None:
    """Delete this run's Redis keys (its queue, its jobs' messages and results)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{queue}*", count=500))
    if keys:
        client.delete(*keys)


class WorkerProcess:
    """``synanno-dash worker`` in a process group of its own (killed whole, like a crash)."""

    def __init__(self, data_dir: Path, log_path: Path, env: dict[str, str]) -> None:
        self.data_dir, self.log_path, self.env = data_dir, log_path, env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        start_at = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synanno_dash.cli", "worker", "--processes", "1",
             "--name", f"jobs-test-{os.getpid()}@%h"],  # fmt: skip
            cwd=REPO, env={**os.environ, "SYNANNO_DATA_DIR": str(self.data_dir), **self.env},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while "ready." not in self.log_text()[start_at:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: see {self.log_path}")
            time.sleep(0.2)

    def kill(self) -> None:
        """kill -9 of the worker and its job processes."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
