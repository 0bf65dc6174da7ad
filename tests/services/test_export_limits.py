"""Per-session export size limit (Settings.max_export_bytes, issue 12 item 6): an export
file above it is refused with a message naming the limit and its setting, before the masks
are loaded; within it, the export is written as before."""

from __future__ import annotations

import pytest

from synanno_dash.core.labels import Label
from synanno_dash.services import exports, review
from synanno_dash.services.session import open_session
from tests.conftest import PreparedSession


def test_exports_above_the_limit_are_refused_by_name(app, demo_info) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info)
    session = prepared.session
    review.set_label(session, 0, Label.INCORRECT)
    document = review.session_json_document(session)
    assert exports.json_text(session, document, "session JSON").startswith("{")
    assert exports.masks_zip_bytes(session)[:2] == b"PK"
    small = prepared.resources.settings.with_changes(max_export_bytes=1000)
    prepared.resources.settings = small
    limited = open_session(prepared.resources, prepared.sid)
    with pytest.raises(exports.ExportError, match="SYNANNO_MAX_EXPORT_BYTES"):
        exports.json_text(limited, document, "session JSON")
    with pytest.raises(exports.ExportError, match="masks ZIP"):
        exports.masks_zip_bytes(limited)
