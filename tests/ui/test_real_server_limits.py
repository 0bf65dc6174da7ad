"""The running server (``synanno-dash serve``) refuses an oversized body unread (issue 10)."""

from __future__ import annotations

import http.client
import json
import urllib.request
from urllib.parse import urlsplit


def test_a_210_mb_post_is_refused_before_it_is_read(server) -> None:  # type: ignore[no-untyped-def]
    parts = urlsplit(server.url)
    for path in ("/_dash-update-component", "/reset", "/open-data"):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(210 * 1024**2))
        conn.endheaders()
        conn.send(b"{" + b" " * 65536)  # a little of the body; the rest never comes
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        if path == "/_dash-update-component":  # the page shows it in the error toast
            assert response.status == 200
            toast = json.loads(body)["sideUpdate"]["server-error"]
            assert "larger than the 96 MB the server accepts" in toast["children"]
        else:
            assert response.status == 413, path
            assert "larger than the 96 MB the server accepts" in body
    with urllib.request.urlopen(server.url + "/", timeout=30) as again:  # still serving
        assert again.status == 200
