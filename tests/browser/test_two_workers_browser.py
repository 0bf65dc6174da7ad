"""Neuroglancer with two app workers and no sticky sessions, in headless Chromium.

Two app servers (``synanno-dash serve``, separate processes on one database) share one
Neuroglancer service; the browser reaches them through a small round-robin proxy, so its
consecutive requests go to alternate workers: page loads, Dash callbacks, the choice polls,
the viewer's client and its key presses. One browser session goes through Choose a Neuron
(``n`` on Open Data), View in NG on an enlarged tile, and marking a missed synapse (``c``)
from the last page of a compartment, then saves it.
"""

from __future__ import annotations

import http.server
import itertools
import re
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from synanno_dash.cli_neuroglancer import NeuroglancerSupervisor, free_port
from tests.browser.test_neuron_browser import PER_PAGE, expected_pages
from tests.browser.test_ng_integration_browser import (
    POSITION_JS,
    focus_panel,
    open_in_ng,
    press_until,
    viewer_frame,
    wait_for_position,
)
from tests.conftest import ServerProcess

pytestmark = pytest.mark.browser

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"}


class RoundRobinProxy(http.server.ThreadingHTTPServer):
    """Sends each request to the next worker in turn; remembers who served what."""

    daemon_threads = True

    def __init__(self, upstreams: list[str]) -> None:
        super().__init__(("127.0.0.1", free_port()), _ProxyHandler)
        self.upstreams = upstreams
        self._next = itertools.cycle(range(len(upstreams)))
        self._lock = threading.Lock()
        self.served: list[tuple[int, str, str]] = []  # (worker, method, path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def pick(self, method: str, path: str) -> str:
        with self._lock:
            worker = next(self._next)
            self.served.append((worker, method, path))
        return self.upstreams[worker]


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the response ends when the connection closes
    server: RoundRobinProxy

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def _forward(self) -> None:
        upstream = self.server.pick(self.command, self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Accept-Encoding"] = "identity"
        try:
            response = requests.request(
                self.command, upstream + self.path, data=body, headers=headers, stream=True,
                allow_redirects=False, timeout=(5, 600),
            )  # fmt: skip
        except requests.RequestException:
            self.send_error(502)
            return
        self.send_response(response.status_code)
        for name, value in response.raw.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.end_headers()
        try:
            for chunk in response.iter_content(chunk_size=None):
                self.wfile.write(chunk)
                self.wfile.flush()
        except (OSError, requests.RequestException):
            pass
        finally:
            response.close()

    do_GET = do_POST = do_HEAD = _forward


@pytest.fixture(scope="module")
def two_workers(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RoundRobinProxy]:
    logs = tmp_path_factory.mktemp("two-workers")
    secret = secrets.token_urlsafe(24)
    service = NeuroglancerSupervisor(port=free_port(), secret=secret, max_viewers=8)
    service.start()
    env = {
        "SYNANNO_NG_SERVICE_URL": service.url, "SYNANNO_NG_SECRET": secret,
        "SYNANNO_DATABASE_URL": f"sqlite:///{logs / 'shared.db'}",
    }  # fmt: skip
    workers = [ServerProcess(data_dir, logs / f"worker-{n}.log", env=env) for n in (0, 1)]
    try:
        service.wait_ready()
        for worker in workers:
            worker.start()
        proxy = RoundRobinProxy([w.url for w in workers])
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        yield proxy
        proxy.shutdown()
        proxy.server_close()
    finally:
        for worker in workers:
            worker.stop()
        service.stop()


def served_by(proxy: RoundRobinProxy, pattern: str) -> Counter[int]:
    return Counter(worker for worker, _method, path in proxy.served if re.search(pattern, path))


def test_one_browser_across_two_workers_uses_one_viewer(  # type: ignore[no-untyped-def]
    two_workers: RoundRobinProxy, new_page, demo_info, data_dir, tmp_path
) -> None:
    proxy, page = two_workers, new_page()
    pages = expected_pages(data_dir, tmp_path, demo_info)

    # Choose a Neuron: n over the demo neuron's soma; the polls alternate between workers.
    page.goto(proxy.url + "/open-data?workflow=detection")
    page.locator("#od-tiles-per-page").select_option(str(PER_PAGE))
    page.get_by_role("radio", name="Neuron-centric").check()
    field = page.locator("#od-neuron-id")
    field.fill("")
    field.press("Tab")
    page.locator("#od-choose-neuron").click()
    frame = viewer_frame(page, "#od-chooser-frame")
    src = page.locator("#od-chooser-frame").get_attribute("src") or ""
    assert src.startswith("/neuroglancer/v/")  # the app's own origin
    position = frame.evaluate(POSITION_JS)
    cx, cy, zoom = focus_panel(page, frame)
    soma = [c / r for c, r in zip(demo_info.demo_soma_xyz_nm, demo_info.target_resolution_nm)]
    page.mouse.move(
        cx + (soma[0] + 0.5 - position[0]) / zoom, cy + (soma[1] + 0.5 - position[1]) / zoom,
        steps=5,
    )  # fmt: skip
    wanted = str(demo_info.demo_neuron_id)
    press_until(
        page, "n",
        lambda timeout: page.wait_for_function(
            "(v) => document.getElementById('od-neuron-id').value === v", arg=wanted,
            timeout=timeout,
        ),
    )  # fmt: skip
    page.locator("#od-chooser-close").click()
    page.locator("#od-chooser-modal").wait_for(state="hidden")
    assert field.input_value() == wanted

    # Open the neuron (its session is on the shared database), on the last page of a compartment.
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=90_000)
    page.wait_for_function("() => !document.getElementById('od-start').disabled")
    last_page = next(n for n in range(1, len(pages)) if pages[n - 1][0][1] != pages[n][0][1])
    page.goto(proxy.url + f"/annotation?page={last_page}")
    instance_id, compartment = pages[last_page - 1][0]

    # View in NG on the enlarged tile: the same viewer, now on the instance.
    frame, centre, ng_src = open_in_ng(page, instance_id)
    assert ng_src == src  # one viewer per session, whichever worker answered
    wait_for_position(frame, [c + 0.5 for c in centre])
    # Escape goes to the focused document: once the viewer has taken focus, its iframe keeps
    # the key (Neuroglancer uses it); a click on the modal's title gives focus back first.
    page.locator("#enlarge-modal .modal-title").click()
    page.keyboard.press("Escape")
    page.locator("#enlarge-modal").wait_for(state="hidden")

    # Missed synapses of the compartment: c marks one, Done reviews it, Save adds it.
    button = page.locator("#review-missed")
    assert button.get_attribute("href") == f"/missed?compartment={compartment}"
    button.click()
    page.wait_for_url(re.compile(r".*/missed\?compartment="))
    frame = viewer_frame(page, "#missed-frame")
    cx, cy, _zoom = focus_panel(page, frame)
    page.mouse.move(cx + 40, cy + 30, steps=5)
    page.keyboard.press("c")
    page.locator("#missed-list li").first.wait_for()
    # Several polls later (alternating workers) the list still shows exactly that one.
    count_js = (
        "() => performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('_dash-update-component')).length"
    )
    seen = int(page.evaluate(count_js))
    page.wait_for_function(f"() => ({count_js})() >= {seen + 4}")
    assert page.locator("#missed-list li").count() == 1
    page.locator("#missed-done").click()
    page.locator("#missed-review-title").get_by_text("Missed synapse 1 of 1").wait_for()
    page.locator("#missed-save").click()
    page.wait_for_url(re.compile(r".*/annotation"))
    page.goto(proxy.url + "/categorize")
    new_id = sum(len(tiles) for tiles in pages)  # after the neuron's instances
    card = page.locator(f'.sd-card[data-instance="{new_id}"]')
    card.wait_for()
    assert "table row -1" in card.inner_text()  # added by hand: the saved missed synapse

    # Both workers served callbacks, and the viewer's client traffic, throughout.
    callbacks = served_by(proxy, "_dash-update-component")
    assert min(callbacks[0], callbacks[1]) >= 10, callbacks
    client = served_by(proxy, r"^/neuroglancer/(events|action|state)/")
    assert client[0] >= 1 and client[1] >= 1, client
    assert served_by(proxy, r"^/neuroglancer/action/").total() >= 2  # n and c, through the app
    assert page.console_log.errors == []
