"""A stand-in for a remote bucket: serve a local folder over HTTP with latency and a bandwidth cap.

For tests and benchmarks of remote volumes (``precomputed://http://127.0.0.1:PORT/layer``).
The server runs in its own process, so its work never competes with the client for the GIL,
and killing it is a real kill (connections drop, new ones are refused); ``start`` again brings
it back on the same port.

- Every GET and HEAD sleeps ``latency_s`` before answering (a bucket's time to first byte).
- ``bandwidth_bytes_per_s`` caps all responses together (one link, shared by every request).
- ``Range: bytes=a-b`` gets ``206 Partial Content`` (sharded precomputed reads byte ranges);
  a file ``x`` missing but ``x.gz`` present is sent gzipped with ``Content-Encoding: gzip``.
- CORS headers, so a browser (Neuroglancer) may read from it too.
- ``log_path``: every request is appended as ``METHOD path range status`` (what a test counts).
- Fault injection: ``fail(["part/of/a/path", ...])`` makes requests whose path contains one of
  the parts answer ``503 Service Unavailable`` (a chunk a bucket cannot serve right now) until
  ``heal()``; the parts travel through a file, so they change without a restart.

Command line: ``python -m synanno_dash.data.http_fixture ROOT --port P --latency-ms 50``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SEND_BLOCK = 64 * 1024


class _Link:
    """One shared link: each block may leave only when the link has sent the ones before."""

    def __init__(self, bytes_per_s: float) -> None:
        self.bytes_per_s = bytes_per_s
        self._free_at = time.monotonic()
        self._lock = threading.Lock()

    def wait_to_send(self, n_bytes: int) -> None:
        if self.bytes_per_s <= 0:
            return
        with self._lock:
            start = max(self._free_at, time.monotonic())
            self._free_at = start + n_bytes / self.bytes_per_s
            done = self._free_at
        time.sleep(max(0.0, done - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as buckets do
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        return  # quiet: tests and benchmarks read their own output

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def send_response(self, code: int, message: str | None = None) -> None:
        self.server.note(f"{self.command} {self.path} {self.headers.get('Range', '-')} {code}")
        super().send_response(code, message)

    def _answer(self, send_body: bool) -> None:
        time.sleep(self.server.latency_s)
        if self.server.should_fail(self.path):
            self._status_only(503)
            return
        path, encoding = self._file()
        if path is None:
            self._status_only(404)
            return
        size = path.stat().st_size
        start, stop = 0, size
        status = 200
        header = self.headers.get("Range")
        if header and encoding is None:
            parsed = _RANGE.match(header.strip())
            if parsed is None:
                self._status_only(416)
                return
            first, last = parsed.groups()
            if first:
                start, stop = int(first), min(size, int(last) + 1 if last else size)
            elif last:  # the last N bytes
                start = max(0, size - int(last))
            if start >= stop:
                self._status_only(416, {"Content-Range": f"bytes */{size}"})
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Access-Control-Allow-Origin", "*")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        if send_body:
            self._send(path, start, stop)

    def _file(self) -> tuple[Path | None, str | None]:
        relative = self.path.split("?", 1)[0].lstrip("/")
        root = self.server.root
        candidate = (root / relative).resolve()
        if root not in candidate.parents and candidate != root:
            return None, None  # outside the served folder
        if candidate.is_file():
            return candidate, None
        gzipped = candidate.with_name(candidate.name + ".gz")
        return (gzipped, "gzip") if gzipped.is_file() else (None, None)

    def _send(self, path: Path, start: int, stop: int) -> None:
        with path.open("rb") as handle:
            handle.seek(start)
            remaining = stop - start
            while remaining > 0:
                block = handle.read(min(_SEND_BLOCK, remaining))
                if not block:
                    break
                self.server.link.wait_to_send(len(block))
                self.wfile.write(block)
                remaining -= len(block)

    def _status_only(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        port: int,
        root: Path,
        latency_s: float,
        bytes_per_s: float,
        log: Path | None,
        fail_file: Path | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.root = root.resolve()
        self.latency_s = latency_s
        self.link = _Link(bytes_per_s)
        self.fail_file = fail_file
        self._log = log.open("a", buffering=1) if log else None
        self._log_lock = threading.Lock()

    def should_fail(self, request_path: str) -> bool:
        """Whether the request's path contains a part listed in the fail file."""
        if self.fail_file is None:
            return False
        try:
            parts = [line for line in self.fail_file.read_text().splitlines() if line.strip()]
        except OSError:
            return False
        return any(part in request_path for part in parts)

    def note(self, line: str) -> None:
        if self._log is not None:
            with self._log_lock:
                self._log.write(line + "\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LatencyServer:
    """The server process: ``start``, ``kill`` (SIGKILL, mid-request too), ``start`` again."""

    def __init__(
        self,
        root: Path | str,
        latency_s: float = 0.05,
        bandwidth_bytes_per_s: float = 0.0,
        port: int | None = None,
        log_path: Path | None = None,
        fail_file: Path | None = None,
    ) -> None:
        self.root = Path(root)
        self.log_path = log_path
        self.fail_file = fail_file
        self.latency_s = latency_s
        self.bandwidth_bytes_per_s = bandwidth_bytes_per_s
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def precomputed(self, relative: str) -> str:
        """The ``precomputed://http://...`` address of a folder under the served root."""
        return f"precomputed://{self.url}/{relative.strip('/')}"

    def requests(self) -> list[str]:
        """Logged requests (with ``log_path``), e.g. ``GET /target/8_8_40/0-64_0-64_0-16 - 200``."""
        if self.log_path is None or not self.log_path.exists():
            return []
        return [line for line in self.log_path.read_text().splitlines() if "__alive__" not in line]

    def fail(self, path_parts: list[str]) -> None:
        """Answer 503 to every request whose path contains one of ``path_parts`` (needs
        ``fail_file``); ``heal`` ends it."""
        if self.fail_file is None:
            raise ValueError("fault injection needs a fail_file")
        self.fail_file.write_text("".join(part + "\n" for part in path_parts))

    def heal(self) -> None:
        if self.fail_file is not None:
            self.fail_file.write_text("")

    def clear_log(self) -> None:
        if self.log_path is not None:
            self.log_path.write_text("")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 15.0) -> LatencyServer:
        if self.running:
            return self
        command = [
            sys.executable, "-m", "synanno_dash.data.http_fixture", str(self.root),
            "--port", str(self.port), "--latency-ms", str(self.latency_s * 1e3),
            "--bandwidth-mb-s", str(self.bandwidth_bytes_per_s / 1e6),
        ]  # fmt: skip
        if self.log_path is not None:
            command += ["--log", str(self.log_path)]
        if self.fail_file is not None:
            command += ["--fail-file", str(self.fail_file)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the HTTP fixture on port {self.port} exited at start")
            try:
                with urllib.request.urlopen(f"{self.url}/__alive__", timeout=1):
                    pass
            except urllib.error.HTTPError:
                return self  # a 404 means it answers
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the HTTP fixture on port {self.port} did not start in {timeout_s} s")

    def kill(self) -> None:
        """Stop at once, like a server that dies: no goodbye to open connections."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None

    def __enter__(self) -> LatencyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--bandwidth-mb-s", type=float, default=0.0, help="0: no cap")
    parser.add_argument("--log", type=Path, default=None, help="append each request here")
    parser.add_argument(
        "--fail-file", type=Path, default=None,
        help="requests whose path contains a line of this file answer 503",
    )  # fmt: skip
    args = parser.parse_args(argv)
    server = _Server(
        args.port, args.root, args.latency_ms / 1e3, args.bandwidth_mb_s * 1e6, args.log,
        args.fail_file,
    )  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"serving {args.root} on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
