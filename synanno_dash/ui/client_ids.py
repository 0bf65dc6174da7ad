"""Component ids handed to the browser's scripts (``assets/*.js``), so no id is typed twice.

``create_app`` puts ``window.synannoIds`` (``CLIENT_IDS`` as JSON) into the page before the
asset scripts run; the scripts read ids only from there.
"""

from __future__ import annotations

import json

from synanno_dash.ui import ids

CLIENT_IDS: dict[str, str] = {
    # review grid (assets/review.js)
    "reviewGrid": ids.REVIEW_GRID,
    "reviewLabelRequest": ids.REVIEW_LABEL_REQUEST,
    "reviewUndo": ids.REVIEW_UNDO,
    "reviewRedo": ids.REVIEW_REDO,
    "reviewNext": ids.REVIEW_NEXT,
    "reviewPrev": ids.REVIEW_PREV,
    "reviewPreload": ids.REVIEW_PRELOAD,
    # drawing view (assets/draw.js)
    "drawWrapper": ids.DI_WRAPPER,
    "drawSlice": ids.DI_SLICE,
    "drawTool": ids.DI_TOOL,
    "drawUndo": ids.DI_UNDO,
    "drawRedo": ids.DI_REDO,
    "drawFill": ids.DI_FILL,
    "drawRevise": ids.DI_REVISE,
    "drawSave": ids.DI_SAVE,
    "drawClear": ids.DI_CLEAR,
    "drawAuto": ids.DI_AUTO,
    "drawPointBack": ids.DI_POINT_BACK,
    "drawDiscard": ids.DI_DISCARD,
}
_CONFIG_SLOT = "{%config%}"


def inline_script() -> str:
    """The page's one inline script of ours (its hash goes into the CSP)."""
    return f"window.synannoIds = {json.dumps(CLIENT_IDS)};"


def with_client_ids(index_string: str) -> str:
    """Dash's page template with ``window.synannoIds`` set before its scripts."""
    if _CONFIG_SLOT not in index_string:
        raise ValueError("the page template has no {%config%} slot")
    script = f"<script>{inline_script()}</script>"
    return index_string.replace(_CONFIG_SLOT, f"{script}\n            {_CONFIG_SLOT}", 1)
