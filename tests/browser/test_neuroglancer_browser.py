"""The embedded Neuroglancer viewer alone, in headless Chromium (the shared ``browser``
fixture of tests/conftest.py: one Playwright per test run).

A small local precomputed dataset is served by the app's data route on a Flask server thread,
which also serves the viewer's client (the app's ``/neuroglancer/`` proxy, one origin); the
viewer comes from the ``ViewerRegistry``. Real key presses reach the Python handlers, so
the candidate recorded for ``c`` is where the mouse is (checked within a tolerance). Waits are
bounded polls on a condition, never fixed sleeps.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import flask
import neuroglancer
import pytest
from werkzeug.serving import make_server

from synanno_dash.core.instances import DatasetConfig
from synanno_dash.services import ng_state
from synanno_dash.services.context import AppContext
from synanno_dash.services.local_data import register_local_data_route, same_origin
from synanno_dash.services.neuroglancer_viewers import ViewerRegistry
from synanno_dash.services.ng_proxy import PREFIX, register_proxy
from tests.services.test_local_data_route import NEURON_LEFT, write_dataset
from tests.services.test_local_data_route import registry as token_registry

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.browser

CENTER = (60, 70, 8)
PRE = (58, 70, 8)
POST = (62, 71, 8)
CROP = (64, 64, 6)
PANEL = ".neuroglancer-rendered-data-panel"
WAIT_S = 20.0
TOLERANCE_VX = 2

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout_s: float = WAIT_S) -> T:
    """Poll ``condition`` until it is truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DatasetConfig:
    return write_dataset(tmp_path_factory.mktemp("ngbrowser"))


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> AppContext:
    """The app's data-route tokens (a real store)."""
    return token_registry(tmp_path_factory.mktemp("ngtokens"))


def _upstream() -> str | None:
    """This process's Neuroglancer server, where the proxy forwards to."""
    server = neuroglancer.server.global_server
    return None if server is None else f"http://127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def app_base_url(tokens: AppContext) -> Iterator[str]:
    """The app's local data route on a real HTTP server thread (a free port)."""
    app = flask.Flask(__name__)
    register_local_data_route(app, tokens.data_folder, same_origin)
    register_proxy(app, _upstream)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture()
def registry(app_base_url: str, tokens: AppContext) -> Iterator[ViewerRegistry]:
    reg = ViewerRegistry("127.0.0.1", 0, app_base_url, token_of=tokens.data_token)
    yield reg
    reg.close_all()


def show(
    registry: ViewerRegistry, app_base_url: str, sid: str, dataset: DatasetConfig,
    spec: ng_state.ViewSpec,
) -> str:
    """Show ``spec`` in the session's viewer; its address on the app's origin."""
    registry.show(sid, dataset, spec)
    return app_base_url + PREFIX + registry.viewer_path(sid)


def open_viewer(browser: Browser, url: str, shots: Path) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 900, "height": 700})
    page = context.new_page()
    page.goto(url)
    try:
        page.wait_for_selector(PANEL, timeout=WAIT_S * 1000)
    except Exception:
        page.screenshot(path=str(shots / "no-panel.png"))
        raise
    return context, page


def panel_centre(page: Page) -> tuple[float, float]:
    box = page.locator(PANEL).first.bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # Keys reach the viewer once the panel has been clicked and while the mouse is over its
    # data (not near its corner, where nothing was reported); keep clear of the markers.
    page.mouse.click(cx, cy - 100)
    return cx, cy


def add_position_probe(registry: ViewerRegistry, session_id: str) -> list[list[float]]:
    """Bind ``p`` to an action that records the position the browser's viewer reports.

    Bound before the page opens, so the client knows the binding when the key is pressed.
    """
    reported: list[list[float]] = []
    viewer = registry.get_or_create(session_id)
    viewer.actions.add("probe-position", lambda s: reported.append(list(s.viewer_state.position)))
    with viewer.config_state.txn() as config:
        config.input_event_bindings.viewer["keyp"] = "probe-position"
    return reported


def test_c_records_the_voxel_under_the_mouse(
    browser: Browser, registry: ViewerRegistry, dataset: DatasetConfig, tmp_path: Path,
    app_base_url: str,
) -> None:
    spec = ng_state.instance_spec(CENTER, PRE, POST, CROP)
    url = show(registry, app_base_url, "s1", dataset, spec)
    reported = add_position_probe(registry, "s1")
    context, page = open_viewer(browser, url, tmp_path)
    try:
        cx, cy = panel_centre(page)
        # The browser shows the instance centre (voxel centres sit at i + 0.5).
        page.keyboard.press("p")
        wait_until(lambda: reported)
        assert [math.floor(v) for v in reported[0]] == list(CENTER)
        # 100 px right and 60 px down of the centre, away from the pre/post markers.
        zoom_vx_per_px = registry.get_or_create("s1").state.cross_section_scale  # x is 8 nm
        page.mouse.move(cx + 100, cy + 60, steps=5)
        page.keyboard.press("c")
        candidates = wait_until(lambda: registry.candidates("s1"))
        assert len(candidates) == 1
        x, y, z = candidates[0]
        expected_x = CENTER[0] + 100 * zoom_vx_per_px
        expected_y = CENTER[1] + 60 * zoom_vx_per_px
        assert abs(x - expected_x) <= TOLERANCE_VX and abs(y - expected_y) <= TOLERANCE_VX
        assert z == CENTER[2]
        assert (x, y, z) in [
            tuple(int(v) for v in a.point)
            for a in registry.get_or_create("s1").state.layers["markers"].layer.annotations
        ]
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()


def test_two_sessions_have_their_own_viewers(
    browser: Browser, registry: ViewerRegistry, dataset: DatasetConfig, tmp_path: Path,
    app_base_url: str,
) -> None:
    chooser = ng_state.chooser_spec(dataset, CENTER, None)
    url_a = show(registry, app_base_url, "a", dataset, chooser)
    instance = ng_state.instance_spec(CENTER, PRE, POST, CROP)
    url_b = show(registry, app_base_url, "b", dataset, instance)
    assert url_a != url_b
    context_a, page_a = open_viewer(browser, url_a, tmp_path)
    context_b, page_b = open_viewer(browser, url_b, tmp_path)
    try:
        # n over the left neuron, 20 voxels left of the centre (the neuropil is visible there).
        cx, cy = panel_centre(page_a)
        zoom_vx_per_px = registry.get_or_create("a").state.cross_section_scale
        page_a.mouse.move(cx - 20 / zoom_vx_per_px, cy, steps=5)

        def chosen_after_n() -> int | None:
            # The segment under the mouse is known only once its chunk has loaded: press again.
            page_a.keyboard.press("n")
            try:
                return wait_until(lambda: registry.chosen_neuron("a"), timeout_s=1.0)
            except AssertionError:
                return None

        wait_until(chosen_after_n)
        assert registry.chosen_neuron("a") == NEURON_LEFT
        # c in b's viewer is b's alone.
        bx, by = panel_centre(page_b)
        page_b.mouse.move(bx - 80, by + 80, steps=5)
        page_b.keyboard.press("c")
        wait_until(lambda: registry.candidates("b"))
        assert registry.candidates("a") == []
        assert registry.chosen_neuron("b") is None
    except Exception:
        page_a.screenshot(path=str(tmp_path / "failure-a.png"))
        page_b.screenshot(path=str(tmp_path / "failure-b.png"))
        raise
    finally:
        context_a.close()
        context_b.close()
