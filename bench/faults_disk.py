"""The data folder's disk filling up (``bench_faults.py --faults disk``).

The served app's data folder, with its SQLite session database, is a small tmpfs mounted for
the run (``mount -t tmpfs -o size=...``: needs root or CAP_SYS_ADMIN; without it the fault is
reported as not run, never simulated silently). The demo dataset stays outside it (a symlink),
so only the app's own writes fill it. Each repeat writes a filler file until the disk has no
space left (``ENOSPC``), keeps it full for ``--down`` seconds while sessions keep clicking and
``/healthz`` is polled, then deletes the filler. Recorded: what the user saw while full, what
``/healthz`` answered, and how long after the space was freed the first click succeeded.
"""

from __future__ import annotations

import errno
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

FILLER_CHUNK_BYTES = 1024**2


@contextmanager
def small_tmpfs(mount_point: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of ``size_mb`` MB at ``mount_point``; RuntimeError when it cannot be mounted."""
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        raise RuntimeError(f"cannot mount a tmpfs here ({mounted.stderr.strip()[:200]})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write ``folder/filler`` until the disk is full; its path."""
    filler = folder / "filler"
    chunk = b"\0" * FILLER_CHUNK_BYTES
    with filler.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    try:  # the last partial chunk: fill what is left byte-wise (bounded by the chunk size)
        with filler.open("ab") as out:
            for _ in range(FILLER_CHUNK_BYTES // 4096):
                out.write(b"\0" * 4096)
                out.flush()
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    return filler


def health_while(url: str, seconds: float) -> tuple[int, object, str]:
    """The last ``/healthz`` answer (status, failing parts, the data check's detail) polled
    during ``seconds``."""
    deadline, answer = time.monotonic() + seconds, (0, "", "")
    while time.monotonic() < deadline:
        try:
            response = requests.get(url + "/healthz", timeout=10)
            body = response.json()
            answer = (response.status_code, body.get("failing"),
                      body["checks"]["data"]["detail"][:100])  # fmt: skip
        except (requests.RequestException, ValueError) as exc:
            answer = (0, type(exc).__name__, "")
        time.sleep(0.3)
    return answer


Waiter = Callable[[Callable[[], bool]], float]


def disk_fills(url: str, folder: Path, clicks_since: Callable[[float], bool], repeats: int,
               full_s: float, wait_until: Waiter) -> None:  # fmt: skip
    for n in range(repeats):
        time.sleep(2.0)
        filler = fill(folder)
        filled_mb = filler.stat().st_size / 1024**2
        health = health_while(url, full_s)
        filler.unlink()
        freed = time.monotonic()
        recovered = wait_until(lambda m=freed: clicks_since(m))
        print(f"  disk full #{n + 1} for {full_s:.0f} s (filler {filled_mb:.1f} MB): /healthz "
              f"answered {health}; clicks succeed again {recovered:.1f} s after space was "
              "freed", flush=True)
