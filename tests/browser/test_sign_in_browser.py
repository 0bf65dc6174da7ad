"""Sign-in with a shared access token (``SYNANNO_ACCESS_TOKEN``) in headless Chromium: the
sign-in page, a wrong token's message, the right token getting in (to the page first asked
for, with an HttpOnly SameSite=Lax cookie), and the reviewer named on Open Data recorded with
the decisions made afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from synanno_dash.data import store_schema as schema
from synanno_dash.ui.front_door import ACCESS_COOKIE
from tests.browser.test_review_browser import _click_tile
from tests.conftest import ServerProcess

pytestmark = pytest.mark.browser
TOKEN = "correct horse battery staple"
SUBMIT_TIMEOUT_MS = 180_000  # Submit is a job: its first process starts the app (slow when busy)


@pytest.fixture
def signed_server(data_dir: Path, tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    database_url = f"sqlite:///{tmp_path / 'sessions.db'}"
    server = ServerProcess(data_dir, tmp_path / "server.log", env={
        "SYNANNO_ACCESS_TOKEN": TOKEN, "SYNANNO_DATABASE_URL": database_url})  # fmt: skip
    server.start()
    try:
        yield server, database_url
    finally:
        server.stop()


def test_sign_in_wrong_then_right_token_and_the_reviewer_is_recorded(  # type: ignore[no-untyped-def]
    signed_server, new_page
) -> None:
    server, database_url = signed_server
    page = new_page()
    page.goto(server.url + "/open-data?workflow=detection")
    page.wait_for_url(re.compile(r".*/sign-in\?next=.*open-data"))
    page.get_by_role("heading", name="Sign in to SynAnno Dash").wait_for()
    assert page.context.cookies() == [] or all(
        c["name"] != ACCESS_COOKIE for c in page.context.cookies()
    )

    page.locator("#access-token").fill("not the token")
    page.locator("#sign-in-button").click()
    page.get_by_text("That is not the access token of this instance.").wait_for()
    assert "/sign-in" in page.url
    assert all(c["name"] != ACCESS_COOKIE for c in page.context.cookies())

    page.locator("#access-token").fill(TOKEN)
    page.locator("#sign-in-button").click()
    page.wait_for_url(re.compile(r".*/open-data\?workflow=detection$"))  # where it was going
    access = next(c for c in page.context.cookies() if c["name"] == ACCESS_COOKIE)
    assert access["httpOnly"] and access["sameSite"] == "Lax"
    assert TOKEN not in access["value"]

    page.locator("#od-reviewer").fill("Ada Lovelace")
    page.locator("#od-tiles-per-page").select_option("6")
    page.locator("#od-submit").click()
    page.locator("#od-ready").wait_for(timeout=SUBMIT_TIMEOUT_MS)
    page.locator("#od-start").click()
    page.wait_for_url(re.compile(r".*/annotation"))
    page.locator(".sd-tile").first.wait_for()
    _click_tile(page, 0, 2)

    session_id = next(c["value"] for c in page.context.cookies()
                      if c["name"] == "synanno_session")  # fmt: skip
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            reviewers = conn.execute(select(schema.edits.c.reviewer).where(
                schema.edits.c.session_id == session_id,
                schema.edits.c.field == "label")).scalars().all()  # fmt: skip
    finally:
        engine.dispose()
    assert reviewers == ["Ada Lovelace", "Ada Lovelace"]
