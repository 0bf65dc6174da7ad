"""Fault figures of the served app (issue 12): kill -9 of a worker mid-click, PostgreSQL going
down and coming back, Redis restarted during exports, the data folder's disk filling up; each
repeated, while sessions keep clicking.

Usage: python bench/bench_faults.py [--sessions 5] [--repeats 3] [--shared-cluster]

Sessions click one tile each, steadily, against ``synanno-dash serve --workers 2`` on
PostgreSQL. Afterwards every acknowledged click must be in the database: per session, the
saved clicks lie between the acknowledged ones and those plus the failed ones (a click whose
answer was lost may have committed), and the tile's label is the one that count gives.

- kill -9: a random worker is killed with SIGKILL while clicks are in flight, ``--repeats``
  times; gunicorn starts a new one.
- PostgreSQL down: the server is stopped for ``--down`` seconds and started again,
  ``--repeats`` times. Recorded: what a click answers while it is down (the message the user
  sees), what ``/healthz`` answers, and how long after it is back the first click succeeds.
  By default a private PostgreSQL cluster (initdb in a temporary folder, its own port) is
  used, so other users of this machine's server are not disturbed; ``--shared-cluster``
  restarts the machine's own (pg_ctlcluster ... main restart) instead.
- Redis restarted during an export: ``bench/faults_redis.py``.
- The data folder's disk full (a small tmpfs; SQLite database in it): ``bench/faults_disk.py``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_load import prepared_clients  # noqa: E402
from bench.faults_disk import disk_fills, small_tmpfs  # noqa: E402
from bench.faults_redis import Exporter, redis_restarts  # noqa: E402
from synanno_dash.core.labels import Label  # noqa: E402
from synanno_dash.data import store_schema as schema  # noqa: E402
from synanno_dash.demo.dataset import ensure_demo  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.data.databases import postgres_schema_url  # noqa: E402
from tests.job_worker import WorkerProcess  # noqa: E402
from tests.redis_server import PrivateRedis  # noqa: E402
from tests.served_app import DashClient, ServedApp  # noqa: E402

CYCLE = [Label.CORRECT, Label.INCORRECT, Label.UNSURE]
TILE = 1


class Clickers:
    """Sessions clicking tile ``TILE`` steadily; counts acknowledged and failed clicks."""

    def __init__(self, clients: list[DashClient]) -> None:
        self.clients = clients
        self.acknowledged = {c.session_id: 0 for c in clients}
        self.failed = {c.session_id: 0 for c in clients}
        self.messages: dict[str, int] = {}
        self.last_success = time.monotonic()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(c,), daemon=True)
                        for c in clients]  # fmt: skip

    def _run(self, client: DashClient) -> None:
        while not self.stop.is_set():
            try:
                client.click(TILE)
                self.acknowledged[client.session_id] += 1
                self.last_success = time.monotonic()
            except Exception as exc:  # a click the user saw fail: counted and its text kept
                self.failed[client.session_id] += 1
                text = str(exc) if isinstance(exc, RuntimeError) else type(exc).__name__
                self.messages[text[:160]] = self.messages.get(text[:160], 0) + 1
                time.sleep(0.1)
            time.sleep(0.02)

    def __enter__(self) -> Clickers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def clicks_since(self, moment: float) -> bool:
        return self.last_success > moment


def check_saved(database_url: str, clickers: Clickers) -> tuple[int, int, list[str]]:
    """(acknowledged clicks, saved clicks, problems): every acknowledged click is saved."""
    engine = create_engine(database_url)
    problems, total_ack, total_saved = [], 0, 0
    edits, instances = schema.edits.c, schema.instances.c
    with engine.connect() as conn:
        for sid, acked in clickers.acknowledged.items():
            saved = conn.execute(select(func.count()).where(
                edits.session_id == sid, edits.kind == "do", edits.field == "label")).scalar_one()
            label = conn.execute(select(instances.label).where(
                instances.session_id == sid, instances.instance_id == TILE)).scalar_one()
            total_ack, total_saved = total_ack + acked, total_saved + saved
            if not acked <= saved <= acked + clickers.failed[sid]:
                problems.append(f"session {sid[:6]}: {acked} acknowledged, {saved} saved")
            if label != CYCLE[saved % 3].value:
                problems.append(f"session {sid[:6]}: label {label} after {saved} clicks")
    engine.dispose()
    return total_ack, total_saved, problems


def wait_until(condition: Callable[[], bool], timeout_s: float = 120) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise RuntimeError("not reached in time")
        time.sleep(0.05)
    return time.monotonic() - started


def kill_workers(served: ServedApp, clickers: Clickers, repeats: int, rng: random.Random) -> None:
    for n in range(repeats):
        time.sleep(2.0)
        victim = rng.choice(served.workers())
        victim.kill()
        moment = time.monotonic()
        wait_until(lambda pid=victim.pid: len(served.workers()) == 2 and pid not in
                   {w.pid for w in served.workers()})  # fmt: skip
        recovered = wait_until(lambda m=moment: clickers.clicks_since(m))
        print(f"  kill -9 #{n + 1} of worker {victim.pid}: clicks succeed again "
              f"{recovered:.1f} s later", flush=True)  # fmt: skip


@contextmanager
def private_cluster(folder: Path) -> Iterator[tuple[str, Callable[[str], None]]]:
    """A PostgreSQL server of its own (trust auth) on a free port: (URL, pg_ctl action)."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    data, port = folder / "pg", free_port()
    data.mkdir()
    shutil.chown(folder, "postgres")
    shutil.chown(data, "postgres")

    def as_postgres(*command: str) -> None:
        subprocess.run(["su", "postgres", "-c", " ".join(command)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    as_postgres(f"{binaries}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    options = f"'-p {port} -k {data} -c listen_addresses=127.0.0.1'"

    def pg_ctl(action: str) -> None:
        extra = ["-m", "fast"] if action in ("stop", "restart") else []
        as_postgres(f"{binaries}/pg_ctl", "-D", str(data), "-o", options, "-l",
                    str(data / "log"), "-w", *extra, action)  # fmt: skip

    pg_ctl("start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", pg_ctl
    finally:
        pg_ctl("stop")


def shared_cluster_control(action: str) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
                   check=True)  # fmt: skip


def database_outages(served: ServedApp, clickers: Clickers, repeats: int, down_s: float,
                     pg_ctl: Callable[[str], None]) -> None:  # fmt: skip
    for n in range(repeats):
        time.sleep(2.0)
        pg_ctl("stop")
        deadline, health = time.monotonic() + down_s, None
        while time.monotonic() < deadline:
            try:
                answer = requests.get(served.url + "/healthz", timeout=10)
                health = (answer.status_code, answer.json().get("failing"),
                          answer.json()["checks"]["database"]["detail"][:90])  # fmt: skip
            except requests.RequestException as exc:
                health = (0, type(exc).__name__, "")
            time.sleep(0.3)
        pg_ctl("start")
        back = time.monotonic()
        recovered = wait_until(lambda m=back: clickers.clicks_since(m))
        print(f"  PostgreSQL down #{n + 1} for {down_s:.0f} s: /healthz answered {health}; "
              f"clicks succeed again {recovered:.1f} s after it is back", flush=True)


def report(kind: str, clickers: Clickers, saved: tuple[int, int, list[str]]) -> list[str]:
    acked, total, problems = saved
    failed = sum(clickers.failed.values())
    print(f"{kind}: {acked} clicks acknowledged, {total} saved, {failed} failed (not "
          f"acknowledged); acknowledged but lost: {'none' if not problems else problems}")
    for text, count in sorted(clickers.messages.items(), key=lambda kv: -kv[1])[:3]:
        print(f"  the user saw ({count}x): {text}")
    return problems


def run_disk(args: argparse.Namespace, folder: Path, data_dir: Path) -> list[str]:
    """The data folder (SQLite database included) on a small tmpfs that fills up."""
    demo = ensure_demo(data_dir / "demo")
    try:
        mounted = small_tmpfs(folder / "small-disk", args.disk_mb)
        disk = mounted.__enter__()
    except RuntimeError as exc:
        print(f"disk: NOT RUN: {exc}; run as root (or with CAP_SYS_ADMIN) to mount a tmpfs")
        return []
    try:
        (disk / "demo").symlink_to(demo.out_dir)
        url = f"sqlite:///{disk / 'sessions.db'}"
        served = ServedApp(disk, url, folder / "disk.log", workers=2).start()
        try:
            clients = prepared_clients(served.url, disk, url, demo, args.sessions)
            with Clickers(clients) as clickers:
                disk_fills(served.url, disk, clickers.clicks_since, args.repeats, args.down,
                           wait_until)  # fmt: skip
                time.sleep(2.0)
            saved = check_saved(url, clickers)
        finally:
            served.stop()
    finally:
        mounted.__exit__(None, None, None)
    return report("disk", clickers, saved)


def run_redis(args: argparse.Namespace, folder: Path, data_dir: Path) -> list[str]:
    """Redis (a private one) restarted while an export runs on ``synanno-dash worker``."""
    demo = ensure_demo(data_dir / "demo")
    redis = PrivateRedis(folder / "redis").start()
    env = {"SYNANNO_REDIS_URL": redis.url(), "SYNANNO_JOB_QUEUE": "bench-faults"}
    try:
        with contextmanager(postgres_schema_url)() as url:
            worker = WorkerProcess(data_dir, folder / "worker.log",
                                   {**env, "SYNANNO_DATABASE_URL": url})  # fmt: skip
            served = ServedApp(data_dir, url, folder / "redis.log", workers=2, env=env).start()
            try:
                worker.start()
                clients = prepared_clients(served.url, data_dir, url, demo, args.sessions)
                exporter = Exporter(served.url, data_dir, url, demo)
                with Clickers(clients) as clickers:
                    problems = redis_restarts(exporter, redis, args.repeats, args.down)
                    time.sleep(2.0)
                saved = check_saved(url, clickers)
            finally:
                served.stop()
                worker.stop()
    finally:
        redis.stop()
    return problems + report("redis", clickers, saved)


def run(args: argparse.Namespace, kind: str, folder: Path, data_dir: Path) -> list[str]:
    if kind == "disk":
        return run_disk(args, folder, data_dir)
    if kind == "redis":
        return run_redis(args, folder, data_dir)
    demo = ensure_demo(data_dir / "demo")
    with contextmanager(postgres_schema_url)() if kind == "kill" or args.shared_cluster \
            else private_cluster(folder) as opened:  # fmt: skip
        url, pg_ctl = (opened, shared_cluster_control) if isinstance(opened, str) else opened
        served = ServedApp(data_dir, url, folder / f"{kind}.log", workers=2).start()
        try:
            clients = prepared_clients(served.url, data_dir, url, demo, args.sessions)
            with Clickers(clients) as clickers:
                if kind == "kill":
                    kill_workers(served, clickers, args.repeats, random.Random(0))
                else:
                    database_outages(served, clickers, args.repeats, args.down, pg_ctl)
                time.sleep(2.0)
            saved = check_saved(url, clickers)
        finally:
            served.stop()
    return report(kind, clickers, saved)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--down", type=float, default=4.0, help="seconds PostgreSQL is down")
    parser.add_argument("--faults", default="kill,postgres,redis,disk")
    parser.add_argument("--disk-mb", type=int, default=64, help="size of the full tmpfs, MB")
    parser.add_argument("--shared-cluster", action="store_true")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data_dir = Path(args.data_dir) if args.data_dir else folder / "data"
        for kind in args.faults.split(","):
            problems += run(args, kind, folder, data_dir)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
