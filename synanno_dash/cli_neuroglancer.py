"""``synanno-dash neuroglancer``: the shared Neuroglancer service, and its supervisor.

``serve`` starts the service (``NeuroglancerSupervisor``) unless ``SYNANNO_NG_SERVICE_URL``
names one already running, and hands its address and secret to the app's workers through
the environment. The supervisor restarts the service when it dies (viewers are in its
memory: a browser shows its viewer again with its next "View in NG" or page load) and stops
it when ``serve`` ends.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

from synanno_dash.settings import Settings

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0  # between a death and the restart (doubles while it keeps dying)
MAX_RESTART_DELAY_S = 30.0
READY_TIMEOUT_S = 60.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "neuroglancer",
        help="run the Neuroglancer service the app's workers share (serve starts one itself)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, help="port (env SYNANNO_NG_PORT; default a free one)")
    parser.add_argument("--max-viewers", type=int, help="viewers kept (env SYNANNO_MAX_VIEWERS)")
    parser.add_argument(
        "--parent-pid", type=int, help="exit when this process (the supervisor) is gone"
    )


MAX_VIEWERS_LIMIT = 1024  # each viewer holds a Neuroglancer state in memory


def _refusal(port: int, max_viewers: int | None) -> str | None:
    if not 0 <= port <= 65535:
        return f"--port must be 0 (a free one) to 65535, got {port}"
    if max_viewers is not None and not 1 <= max_viewers <= MAX_VIEWERS_LIMIT:
        return f"--max-viewers must be 1 to {MAX_VIEWERS_LIMIT}, got {max_viewers}"
    return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the service until SIGTERM or SIGINT; the secret comes from SYNANNO_NG_SECRET."""
    from synanno_dash.services.ng_service import start_service

    if not settings.ng_secret:
        print(
            "synanno-dash neuroglancer: set SYNANNO_NG_SECRET to a shared secret (the app's "
            "workers send it with every call), e.g. `export SYNANNO_NG_SECRET=$(openssl rand "
            "-hex 32)`.",
            file=sys.stderr,
        )
        return 2
    port = args.port if args.port is not None else settings.ng_port
    refusal = _refusal(port, args.max_viewers)
    if refusal:
        print(f"synanno-dash neuroglancer: {refusal}", file=sys.stderr)
        return 2
    info = start_service(
        args.host, port, settings.ng_secret, args.max_viewers or settings.max_viewers
    )
    print(
        f"Neuroglancer service on http://{args.host}:{info.port}/ "
        f"(at most {info.registry.max_viewers} viewers)",
        flush=True,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        if args.parent_pid is not None and os.getppid() != args.parent_pid:
            break  # the supervisor died (kill -9): do not linger as an orphan
    info.registry.close_all()
    return 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class NeuroglancerSupervisor:
    """Runs ``synanno-dash neuroglancer`` as a child process and restarts it when it dies."""

    def __init__(self, port: int, secret: str, max_viewers: int, host: str = "127.0.0.1") -> None:
        self.host, self.port, self.secret, self.max_viewers = host, port, secret, max_viewers
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="ng-supervisor", daemon=True)

    @classmethod
    def for_settings(cls, settings: Settings) -> NeuroglancerSupervisor:
        return cls(
            port=settings.ng_port or free_port(),
            secret=settings.ng_secret or secrets.token_urlsafe(32),
            max_viewers=settings.max_viewers,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        with self._lock:
            return None if self._process is None else self._process.pid

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        command = [
            sys.executable, "-m", "synanno_dash.cli", "neuroglancer", "--host", self.host,
            "--port", str(self.port), "--max-viewers", str(self.max_viewers),
            "--parent-pid", str(os.getpid()),
        ]  # fmt: skip
        env = {**os.environ, "SYNANNO_NG_SECRET": self.secret}
        with self._lock:
            self._process = subprocess.Popen(command, env=env)

    def _watch(self) -> None:
        delay = RESTART_DELAY_S
        while not self._stop.is_set():
            with self._lock:
                process = self._process
            started = time.monotonic()
            code = None if process is None else process.wait()
            if self._stop.is_set():
                return
            log.warning(
                "the Neuroglancer service exited (code %s); restarting it in %.0f s", code, delay
            )
            if self._stop.wait(delay):
                return
            self._spawn()
            self.restarts += 1
            ran_long = time.monotonic() - started > MAX_RESTART_DELAY_S
            delay = RESTART_DELAY_S if ran_long else min(2 * delay, MAX_RESTART_DELAY_S)

    def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait until the service answers its health check (it imports Neuroglancer first);
        ``ViewerServiceError`` after ``timeout_s`` (default ``READY_TIMEOUT_S``)."""
        from synanno_dash.services.ng_client import ViewerServiceClient, ViewerServiceError

        client = ViewerServiceClient(self.url, self.secret, timeout_s=(1.0, 5.0))
        deadline = time.monotonic() + (READY_TIMEOUT_S if timeout_s is None else timeout_s)
        while True:
            try:
                client.health()
                return
            except ViewerServiceError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
