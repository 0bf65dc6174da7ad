"""Callback requests whose shape does not match the callback they name are refused with 400.

Dash answers a ``/_dash-update-component`` body naming an unknown callback, or whose inputs
or state differ from the callback's declaration (another id or property, another count, a
pattern-matching entry that is not a list where the declaration has ``ALL``), with its own
500 and a traceback in the log. The app's pages never send such a body; a crafted one gets a
400 here, before Dash reads it, with a message in the error toast, and the server goes on.

Checked against ``app.callback_map``: the callback exists; ``inputs`` and ``state`` are lists
as long as the declaration, each entry (or each element of an ``ALL``/``ALLSMALLER`` list)
with the declared property and an id that is the declared one or, for a pattern, a dict with
the same keys whose non-wildcard values are the declared ones; ``outputs`` is an entry or a
list of them (or null: a callback without outputs); ``changedPropIds`` a list of strings.
Values themselves are the callbacks' business (``ui/request_inputs.py``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import dash
import flask

from synanno_dash.ui import ids
from synanno_dash.ui.request_limits import DASH_CALLBACK_PATH

REFUSED_MESSAGE = (
    "This request was refused: its {part} do not match the callback it names, which no page "
    "of this app sends. Nothing was changed; reload the page."
)
UNKNOWN_MESSAGE = (
    "This request was refused: it names no callback of this app. Nothing was changed; reload "
    "the page."
)
log = logging.getLogger(__name__)
WILDCARDS = ("ALL", "ALLSMALLER", "MATCH")
MAX_PATTERN_ENTRIES = 10_000  # one ALL input's entries (the biggest page has 24 tiles)


def _declared_id(text: str) -> str | dict[str, Any]:
    return dict(json.loads(text)) if text.startswith("{") else text


def _is_wildcard(value: object, names: tuple[str, ...] = WILDCARDS) -> bool:
    return isinstance(value, list) and len(value) == 1 and value[0] in names


def _id_matches(declared: str | dict[str, Any], given: object) -> bool:
    if isinstance(declared, str):
        return given == declared
    if not isinstance(given, dict) or set(given) != set(declared):
        return False
    return all(_is_wildcard(want) or given[key] == want for key, want in declared.items())


def _entry_matches(declared: dict[str, Any], given: object) -> bool:
    if not isinstance(given, dict) or given.get("property") != declared["property"]:
        return False
    return _id_matches(_declared_id(declared["id"]), given.get("id"))


def _one_matches(declared: dict[str, Any], given: object) -> bool:
    """One declared input/state against what the request sends for it."""
    pattern = _declared_id(declared["id"])
    if isinstance(pattern, dict) and any(
        _is_wildcard(v, ("ALL", "ALLSMALLER")) for v in pattern.values()
    ):
        return (
            isinstance(given, list)
            and len(given) <= MAX_PATTERN_ENTRIES
            and all(_entry_matches(declared, entry) for entry in given)
        )
    return _entry_matches(declared, given)


def _list_matches(declared: list[dict[str, Any]], given: object) -> bool:
    return (
        isinstance(given, list)
        and len(given) == len(declared)
        and all(_one_matches(d, g) for d, g in zip(declared, given, strict=True))
    )


def shape_problem(callback_map: dict[str, Any], body: object) -> str | None:
    """What is wrong with a callback request ``body`` (a message for the user), or None."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return UNKNOWN_MESSAGE
    spec = callback_map.get(body["output"])
    if spec is None:
        return UNKNOWN_MESSAGE
    if not _list_matches(spec["inputs"], body.get("inputs")):
        return REFUSED_MESSAGE.format(part="inputs")
    if not _list_matches(spec["state"], body.get("state", [])):
        return REFUSED_MESSAGE.format(part="state values")
    if not isinstance(body.get("outputs"), dict | list | None):  # None: no outputs
        return REFUSED_MESSAGE.format(part="outputs")
    changed = body.get("changedPropIds") or []
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return REFUSED_MESSAGE.format(part="changed properties")
    return None


def install_callback_shape_check(app: dash.Dash) -> None:
    @app.server.before_request
    def _check_callback_shape() -> flask.Response | None:
        request = flask.request
        if request.path != DASH_CALLBACK_PATH or request.method != "POST":
            return None
        problem = shape_problem(app.callback_map, request.get_json(silent=True))
        if problem is None:
            return None
        log.warning("callback request refused (400): %s", problem.split(":")[1][:60].strip())
        toast = {"is_open": True, "header": "Request refused", "children": problem}
        body = {"multi": True, "response": {}, "sideUpdate": {ids.SERVER_ERROR: toast}}
        return flask.Response(json.dumps(body), status=400, mimetype="application/json")
