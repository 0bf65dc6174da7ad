"""The ``/neuroglancer/`` proxy's path rule, against hostile paths (hypothesis)."""

from __future__ import annotations

import posixpath

from hypothesis import given
from hypothesis import strategies as st

from synanno_dash.services.ng_proxy import client_path_allowed

CLIENT_PREFIXES = ("/v/", "/events/", "/state/", "/action/", "/credentials/", "/volume_response/")
SEGMENTS = st.sampled_from(
    ["v", "tok", "events", "synanno", "api", "health", "sessions", "..", ".", "", "%2e%2e",
     "main.js", "index.html", "state", "action", "volume_response", "info", "chunk"]
)  # fmt: skip


def test_the_client_paths_pass() -> None:
    for path in (
        "v/abc123/", "v/abc123/main.8608d1fc21b22785.js", "v/abc123/09f21dcf7b4f13e8.wasm",
        "events/abc123", "state/abc123", "action/abc123", "credentials/abc123",
        "volume_response/abc123/7/info", "volume_response/abc123/7/chunk",
    ):  # fmt: skip
        assert client_path_allowed(path), path


def test_the_api_and_climbing_paths_are_refused() -> None:
    for path in (
        "synanno/api/health", "synanno/api/sessions/x", "v/abc/../../synanno/api/health",
        "v/abc/./x", "v/abc", "events/abc/extra", "", "/v/abc/", "neuroglancer/info/x",
        "events/abc?x=1", "state/a#b", "v/a b/", "action/" + "a" * 129,
    ):  # fmt: skip
        assert not client_path_allowed(path), path


@given(st.lists(SEGMENTS, min_size=1, max_size=8).map("/".join))
def test_an_allowed_path_stays_a_client_path(path: str) -> None:
    if client_path_allowed(path):
        resolved = posixpath.normpath("/" + path)
        assert resolved.startswith(CLIENT_PREFIXES) or resolved.startswith("/v/")
        assert "/synanno/" not in resolved and ".." not in resolved.split("/")


@given(st.text(max_size=200))
def test_any_text_is_answered_without_error(path: str) -> None:
    allowed = client_path_allowed(path)
    assert allowed is False or not path.startswith("synanno/")
