"""Every request asks whether its session id is known; a yes is remembered for a few seconds
per process, so a label click does not pay a database lookup for it, and a reset forgets it
at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from synanno_dash.services import session as sessions


def _statements(resources: Any) -> list[str]:
    seen: list[str] = []
    event.listen(resources.store.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: seen.append(statement))  # fmt: skip
    return seen


def test_a_known_session_is_asked_once_and_a_reset_forgets_it(resources) -> None:  # type: ignore[no-untyped-def]
    sid = sessions.issue_session_id(resources)
    seen = _statements(resources)
    assert sessions.session_is_known(resources, sid)
    asked = len(seen)
    assert asked >= 1
    assert sessions.session_is_known(resources, sid)
    assert len(seen) == asked  # remembered: no statement
    sessions.reset_session(resources, sid)
    assert not sessions.session_is_known(resources, sid)
    assert not sessions.session_is_known(resources, "never-issued")


def test_the_memory_lasts_only_its_ttl(resources, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    sid = sessions.issue_session_id(resources)
    assert sessions.session_is_known(resources, sid)
    monkeypatch.setattr(sessions, "KNOWN_SESSION_TTL_S", 0.0)
    seen = _statements(resources)
    resources.store.reset_session(sid)  # reset by another worker (this one was not told)
    assert not sessions.session_is_known(resources, sid)
    assert seen  # the store was asked again
