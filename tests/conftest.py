"""Shared fixtures: the demo dataset, a real app server process, headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]  # fmt: skip


def chromium_path() -> str:
    for candidate in (
        os.environ.get("SYNANNO_CHROMIUM"),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        shutil.which("chromium"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "Chromium was not found: run ./test.sh (it installs Debian's chromium) or set "
        "SYNANNO_CHROMIUM to a Chromium binary."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the generated demo dataset (generated once per test run)."""
    from synanno_dash.demo.dataset import ensure_demo

    folder = tmp_path_factory.mktemp("synanno-data")
    ensure_demo(folder / "demo")
    return folder


@pytest.fixture(scope="session")
def demo_info(data_dir: Path):  # type: ignore[no-untyped-def]
    from synanno_dash.demo.dataset import DemoInfo

    return DemoInfo.load(data_dir / "demo")


# -- the app plus a prepared demo session (callback and service tests) ------------------------
def demo_form(demo_info, **changes: str):  # type: ignore[no-untyped-def]
    """The Open Data form on the demo dataset: volume-centric, 64x64x6 crops, 6 tiles per
    page, the demo neuron (used in neuron-centric mode); ``changes`` override fields."""
    from synanno_dash.services.prepare import OpenDataForm

    values = {
        "source": demo_info.source_url, "target": demo_info.target_url,
        "neuropil": demo_info.neuropil_url, "table": demo_info.table_url,
        "crop_size": "64, 64, 6", "tiles_per_page": "6",
        "neuron_id": str(demo_info.demo_neuron_id),
    }  # fmt: skip
    return OpenDataForm(**{**values, **changes})


def demo_settings(data_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings on the shared demo data folder with a database of the test's own."""
    from synanno_dash.settings import Settings

    return Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def app(data_dir: Path, tmp_path: Path) -> Iterator[object]:
    """A Dash app (``create_app``) on the demo data, with its own database."""
    from synanno_dash.ui.app import create_app
    from synanno_dash.ui.session import EXTENSION_KEY

    dash_app = create_app(demo_settings(data_dir, tmp_path))
    yield dash_app
    resources = dash_app.server.extensions[EXTENSION_KEY]
    if resources._viewers is not None:
        resources._viewers.close_all()
    resources.executor.shutdown(wait=True)


class PreparedSession:
    """A browser session of ``app`` (its cookie in ``client``) with the demo prepared."""

    def __init__(self, app, demo_info, **form_changes: str) -> None:  # type: ignore[no-untyped-def]
        from synanno_dash.services.prepare import prepare_session
        from synanno_dash.ui.session import COOKIE, EXTENSION_KEY

        self.app = app
        self.client = app.server.test_client()
        assert self.client.get("/").status_code == 200
        self.sid = self.client.get_cookie(COOKIE).value
        self.resources = app.server.extensions[EXTENSION_KEY]
        outcome = prepare_session(self.resources, self.sid, demo_form(demo_info, **form_changes))
        assert outcome.ok, outcome.errors

    @property
    def session(self):  # type: ignore[no-untyped-def]
        """A ``services.session.Session`` of this browser (a new one: like a new request)."""
        from synanno_dash.services.session import open_session

        return open_session(self.resources, self.sid)


@pytest.fixture
def demo_session(app, demo_info) -> PreparedSession:  # type: ignore[no-untyped-def]
    """The app with a volume-centric demo session (6 tiles per page)."""
    return PreparedSession(app, demo_info)


@pytest.fixture
def neuron_session(app, demo_info) -> PreparedSession:  # type: ignore[no-untyped-def]
    """The app with a neuron-centric session on the demo neuron (6 tiles per page)."""
    return PreparedSession(app, demo_info, mode="neuron")


@pytest.fixture
def resources(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An ``AppContext`` without a Dash app, on a data folder and database of its own."""
    from synanno_dash.services.context import AppContext
    from synanno_dash.settings import Settings

    context = AppContext.create(
        Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 's.db'}")
    )
    yield context
    context.executor.shutdown(wait=True)


class ServerProcess:
    """``synanno-dash serve`` on a free port; ``args`` are added to its command line and
    ``env`` to its environment."""

    def __init__(
        self,
        data_dir: Path,
        log_path: Path,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = log_path
        self.args = args
        self.env = env or {}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "SYNANNO_DATA_DIR": str(self.data_dir), "APP_PORT": str(self.port),
               **self.env}  # fmt: skip
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synanno_dash.cli", "serve", "--port", str(self.port),
             *self.args],  # fmt: skip
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends what it started
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within 120 s: see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process is not None:
            # what the server started (gunicorn workers, the jobs' fork server, the
            # Neuroglancer service) would otherwise outlive it, holding hundreds of MB each
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def server(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(data_dir, tmp_path_factory.mktemp("logs") / "server.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class ConsoleLog:
    """Errors the page printed to its console or threw."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page) -> None:  # type: ignore[no-untyped-def]
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))


@pytest.fixture
def new_page(browser, request):  # type: ignore[no-untyped-def]
    """A factory of pages, each in its own browser context (own cookies = own session)."""
    contexts = []

    def make(accept_downloads: bool = True):  # type: ignore[no-untyped-def]
        context = browser.new_context(
            accept_downloads=accept_downloads, viewport={"width": 1400, "height": 1000}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        log = ConsoleLog()
        log.attach(page)
        page.console_log = log
        return page

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for index, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for page in context.pages:
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{index}.png"))
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a schema of their own, dropped afterwards;
    skips, saying why, when no PostgreSQL server (or no psycopg driver) is reachable."""
    from tests.data.databases import postgres_schema_url

    yield from postgres_schema_url()
