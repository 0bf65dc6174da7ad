"""Security headers in headless Chromium (issue 12, item 6): with the Content-Security-Policy
on every response, the app's views, plotly figures (the 3D neuron overview included) and the
embedded Neuroglancer viewer render with no CSP violation reported by the browser."""

from __future__ import annotations

import pytest

from tests.browser.test_ng_integration_browser import open_in_ng
from tests.browser.test_review_browser import _open_review

pytestmark = pytest.mark.browser

# Every CSP violation fires this DOM event; the page collects them.
COLLECT_VIOLATIONS = """() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
        window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
    });
}"""


INJECT_SCRIPT = """() => {
    const s = document.createElement('script');
    s.textContent = 'window.injected = 1';
    document.body.appendChild(s);
}"""


def _violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    console = [e for e in page.console_log.errors if "Content Security Policy" in e]
    return console + list(page.evaluate("() => window.cspViolations || []"))


def test_views_and_neuroglancer_render_under_the_policy(server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.add_init_script(f"({COLLECT_VIOLATIONS})()")
    response = page.goto(server.url + "/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    _open_review(page, server.url)  # Open Data, Submit, the review grid with its tiles
    frame, _centre, _src = open_in_ng(page, 3)  # the embedded viewer draws its panels
    assert frame.evaluate("() => window.viewer.layerManager.managedLayers.length") == 4
    page.keyboard.press("Escape")
    for path in ("/categorize", "/draw", "/export-annotate", "/open-data?workflow=correction"):
        page.goto(server.url + path)
        page.locator("#page-content, .container, body").first.wait_for()
        page.wait_for_load_state("networkidle")
    assert _violations(page) == []
    # the check itself works: an inline script the policy does not list is reported
    page.evaluate(INJECT_SCRIPT)
    page.wait_for_function("() => window.cspViolations.length > 0")
    assert page.evaluate("() => window.injected") is None
    assert any("script-src" in v for v in _violations(page))


def test_the_neuron_overview_renders_under_the_policy(server, new_page, demo_info) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.add_init_script(f"({COLLECT_VIOLATIONS})()")
    page.goto(server.url + "/open-data?workflow=detection")
    page.get_by_role("radio", name="Neuron-centric").check()
    page.locator("#od-neuron-id").fill(str(demo_info.demo_neuron_id))
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=60_000)
    page.goto(server.url + "/neuron")
    page.locator("#neuron-graph .main-svg").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert _violations(page) == []
