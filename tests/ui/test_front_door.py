"""The front door through the real app (issue 12, item 6): security headers on every
response, token sign-in, the trusted proxy header, the cookies' flags."""

from __future__ import annotations

from pathlib import Path

from synanno_dash.settings import Settings
from synanno_dash.ui.app import create_app
from synanno_dash.ui.front_door import ACCESS_COOKIE, SIGN_IN_PATH
from synanno_dash.ui.session import COOKIE

TOKEN = "correct horse battery staple"


def _app(tmp_path: Path, **changes: object):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 's.db'}")
    return create_app(settings.with_changes(**changes))


def _cookie_header(response, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(v for k, v in response.headers.items() if k == "Set-Cookie" and name in v)


def test_every_response_carries_the_security_headers(tmp_path: Path) -> None:
    client = _app(tmp_path).server.test_client()
    for path in ("/", "/open-data", "/assets/app.css", "/reset", "/no-such-page", "/_dash-layout"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in policy, path
        assert "object-src 'none'" in policy and "default-src 'self'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    # the page's inline scripts are exactly those the policy lists
    page = client.get("/")
    assert "'sha256-" in page.headers["Content-Security-Policy"]
    assert "frame-src 'self' http://localhost:* https://localhost:*" in (
        page.headers["Content-Security-Policy"]
    )


def test_token_sign_in(tmp_path: Path) -> None:
    app = _app(tmp_path, access_token=TOKEN)
    client = app.server.test_client()
    first = client.get("/annotation?page=2")
    assert first.status_code == 303 and SIGN_IN_PATH in first.headers["Location"]
    assert client.get_cookie(COOKIE) is None  # no session before sign-in
    callback = client.post("/_dash-update-component", json={})
    assert callback.status_code == 401 and "Sign in first" in callback.get_data(as_text=True)
    assert client.get("/reset").status_code == 303
    page = client.get(SIGN_IN_PATH + "?next=/annotation?page=2")
    assert page.status_code == 200 and 'name="token"' in page.get_data(as_text=True)
    wrong = client.post(SIGN_IN_PATH, data={"token": "guess", "next": "/annotation"})
    assert wrong.status_code == 403 and "not the access token" in wrong.get_data(as_text=True)
    assert client.get_cookie(ACCESS_COOKIE) is None
    right = client.post(SIGN_IN_PATH, data={"token": TOKEN, "next": "/annotation?page=2"})
    assert right.status_code == 303 and right.headers["Location"] == "/annotation?page=2"
    header = _cookie_header(right, ACCESS_COOKIE)
    assert "HttpOnly" in header and "SameSite=Lax" in header and TOKEN not in header
    assert client.get("/").status_code == 200 and client.get_cookie(COOKIE) is not None
    # another site's address is never where sign-in leads
    other = client.post(SIGN_IN_PATH, data={"token": TOKEN, "next": "//evil.example/x"})
    assert other.headers["Location"] == "/"
    # over HTTPS the access cookie is Secure
    secure = app.server.test_client().post(
        SIGN_IN_PATH, data={"token": TOKEN}, base_url="https://localhost"
    )
    assert "Secure" in _cookie_header(secure, ACCESS_COOKIE)
    # a forged cookie does not pass
    forged = app.server.test_client()
    forged.set_cookie(ACCESS_COOKIE, "0" * 64)
    assert forged.get("/").status_code == 303


def test_trusted_proxy_header(tmp_path: Path) -> None:
    app = _app(tmp_path, trusted_user_header="X-Forwarded-User")
    client = app.server.test_client()
    refused = client.get("/")
    assert refused.status_code == 401 and "X-Forwarded-User" in refused.get_data(as_text=True)
    assert client.get("/", headers={"X-Forwarded-User": "ada"}).status_code == 200


def test_without_sign_in_settings_the_app_is_open(tmp_path: Path) -> None:
    client = _app(tmp_path).server.test_client()
    assert client.get("/").status_code == 200
    assert 'name="token"' not in client.get(SIGN_IN_PATH).get_data(as_text=True)
