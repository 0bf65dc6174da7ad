"""No crafted callback request reaches an unchecked input (issue 10).

Every callback that runs on the server is called through Dash's HTTP endpoint, the way a
crafted request would: each of its inputs and states in turn gets a hostile value (a text
where a number belongs, 10**30, a list, ``²``...), and pattern-matching ids get the index
``"abc"`` or 10**30. The server must answer with a named message or no change: never a 5xx
and never the catch-all "Something went wrong" toast. Real app, real demo session.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import dash
import pytest

from synanno_dash.services.jobs import Job
from synanno_dash.ui.jobs import _failure
from tests.conftest import PreparedSession
from tests.ui.crafted_requests import HOSTILE_VALUES, CraftedCaller

# Callbacks that open a Neuroglancer viewer (a real server each) are covered by
# tests/ui/test_ng_integration.py; their inputs are buttons and the typed form.
_VIEWER_CALLBACKS = {"open_chooser", "view_instance", "sync_choice"}

# Background jobs (``ui.jobs.job_callback``) run in another process and turn any exception
# into their panel's message, never the toast: through HTTP a crafted value would only start
# a process. Their work functions are called directly instead, with the same hostile values
# ((view, work function) -> number of its inputs and states; None: the submit callback's).
_JOB_WORK = {
    ("open_data", "submit"): None,  # every Open Data field, then the SWC file name
    ("open_data", "fill_demo"): 1,
    ("open_data", "load_neurons"): 4,
    ("export_draw", "download_zip"): 1,
    ("export_draw", "layer"): 1,
    ("export_draw", "table"): 1,
    ("export_draw", "check_masks"): 1,
    ("synanno_dash.ui.draw_auto", "auto_job"): 2,  # a ui module's job (the drawing view's)
    ("synanno_dash.ui.field_export_panel", "download_annotations"): 2,  # both Export views
    ("synanno_dash.ui.field_export_panel", "download_cave"): 2,
    ("synanno_dash.ui.field_export_panel", "download_connectivity"): 2,
    ("synanno_dash.ui.field_export_panel", "download_state"): 2,
    ("synanno_dash.ui.import_panel", "import_job"): 12,  # Import predictions: Open Data's
}


def _work(view: str, name: str) -> Callable[..., Any]:
    """A job's work function in the view module Dash loaded (after the app exists), or in
    the ui module ``view`` names in full."""
    if view.startswith("synanno_dash."):
        return getattr(importlib.import_module(view), name)  # type: ignore[no-any-return]
    module = next(
        sys.modules[page["module"]]
        for page in dash.page_registry.values()
        if page["module"].endswith(view)
    )
    return getattr(module, name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["volume", "neuron"])
def test_no_crafted_value_gets_the_generic_error(app, demo_info, mode: str) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info, mode=mode)
    caller = CraftedCaller(app, prepared.client)
    generic = []
    calls = 0
    for key in caller.server_callbacks():
        if caller.name(key) in _VIEWER_CALLBACKS or caller.is_background(key):
            continue
        indexes = (0, "abc", 10**30) if caller.has_pattern_ids(key) else (0,)
        for position, argument in enumerate(caller.arguments(key)):
            for value in HOSTILE_VALUES:
                for index in indexes:
                    answer = caller.call(key, {position: value}, index)
                    calls += 1
                    if answer.generic:
                        generic.append((caller.name(key), argument, value, index, answer.status))
    assert calls > 500
    assert generic == [], generic[:10]
    # the server still serves this browser its session
    assert prepared.client.get("/annotation").status_code == 200
    assert len(prepared.session.store.instances(prepared.sid)) > 0


def test_a_crafted_tile_index_is_refused_by_name(demo_session) -> None:  # type: ignore[no-untyped-def]
    caller = CraftedCaller(demo_session.app, demo_session.client)
    key = next(k for k in caller.server_callbacks() if caller.name(k) == "click_tile")
    for index, expected in (
        ("abc", "the instance id must be a whole number"),
        (10**30, "the instance id must be a whole number"),
        (10**12, "instance 1000000000000 is not part of this session"),
    ):
        answer = caller.call(key, {0: 1}, index)
        assert answer.status == 200 and expected in answer.toast, answer.toast
        assert "Nothing was changed" in answer.toast
    answer = caller.call(key, {0: 1}, 2)  # a real tile still cycles
    assert answer.toast == "" and answer.body is not None
    assert answer.body["response"]['{"index":2,"type":"tile"}']["data-label"] == "incorrect"


def test_nothing_to_undo_says_so(demo_session) -> None:  # type: ignore[no-untyped-def]
    """With nothing to undo every tile stays as it is (one no_update per tile, not a 500)."""
    caller = CraftedCaller(demo_session.app, demo_session.client)
    key = next(k for k in caller.server_callbacks() if caller.name(k) == "undo_redo")
    answer = caller.call(key, {0: 1})
    assert answer.status == 200 and answer.body is not None
    notice = answer.body["response"]["review-notice"]
    assert notice == {"children": "Nothing to undo.", "is_open": True}


def test_a_crafted_interpolation_cannot_allocate(app, demo_info) -> None:  # type: ignore[no-untyped-def]
    """The curve's points per segment come from a slider (1..32); 10**9 is refused before
    any spline is computed."""
    prepared = PreparedSession(app, demo_info)
    caller = CraftedCaller(app, prepared.client)
    key = next(k for k in caller.server_callbacks() if caller.name(k) == "interpolation")
    stroke = {"points": [[1, 1], [5, 1], [5, 5]]}
    answer = caller.call(key, {0: 10**9, 1: stroke})
    assert "the interpolation must be a whole number from 1 to 32" in answer.toast
    assert caller.call(key, {0: 8, 1: stroke}).toast == ""


def test_every_job_is_called_with_crafted_values(app, demo_info) -> None:  # type: ignore[no-untyped-def]
    """Each job's work gets every hostile value in each input in turn: it finishes or fails
    with a message naming the problem (never "failed on the server"), and the session
    survives."""
    prepared = PreparedSession(app, demo_info)
    caller = CraftedCaller(app, prepared.client)
    jobs = [k for k in caller.server_callbacks() if caller.is_background(k)]
    assert len(jobs) == len(_JOB_WORK), "a new job callback: add its work to _JOB_WORK"
    submit_args = next(len(caller.arguments(k)) for k in jobs if "od-source.invalid" in k)
    unnamed = []
    for (view, name), n_args in _JOB_WORK.items():
        work, n_args = _work(view, name), n_args or submit_args
        for position in range(n_args):
            for value in HOSTILE_VALUES:
                args = [value if i == position else None for i in range(n_args)]
                try:
                    work(Job(), prepared.session, *args)
                except Exception as error:  # noqa: BLE001 - what the panel would show
                    shown = str(_failure(work.__name__, error).children)
                    if "failed on the server" in shown:
                        unnamed.append((work.__name__, position, value, shown))
    assert unnamed == [], unnamed[:10]
    assert prepared.client.get("/annotation").status_code == 200
    assert len(prepared.session.store.instances(prepared.sid)) > 0


def test_a_crafted_retry_index_is_refused_by_name(demo_session) -> None:  # type: ignore[no-untyped-def]
    """Retry of a tile that could not be read: a crafted index is refused by name; a real
    tile is read again."""
    caller = CraftedCaller(demo_session.app, demo_session.client)
    key = next(k for k in caller.server_callbacks() if caller.name(k) == "retry_tile")
    answer = caller.call(key, {0: 1}, "abc")
    assert "the instance id must be a whole number" in answer.toast, answer.toast
    answer = caller.call(key, {0: "abc"}, 2)
    assert "the Retry button's click count must be a whole number" in answer.toast
    answer = caller.call(key, {0: 1}, 2)
    assert answer.toast == "" and answer.body is not None


def test_a_crafted_synapse_type_is_refused_by_name(demo_session) -> None:  # type: ignore[no-untyped-def]
    """The enlarged view's and the Categorize cards' type choice: a value no page sends (too
    long, a list, a type this server does not offer) is refused by name and nothing changes;
    an offered type is stored."""
    caller = CraftedCaller(demo_session.app, demo_session.client)
    keys = [k for k in caller.server_callbacks() if caller.name(k) == "change_type"]
    enlarged = next(k for k in keys if "enlarge-type-saved" in k)
    card = next(k for k in keys if "cat-type" in k)
    store, sid = demo_session.session.store, demo_session.sid
    for value, expected in (
        ("x" * 500, "the synapse type must be empty or a name of at most 32"),
        (["excitatory"], "the synapse type must be empty or a name of at most 32"),
        ("gaba", "'gaba' is not a synapse type of this server"),
    ):
        answer = caller.call(enlarged, {0: value, 1: 2})
        assert expected in answer.toast, answer.toast
        answer = caller.call(card, {0: value}, 2)
        assert expected in answer.toast, answer.toast
    assert store.instance(sid, 2).synapse.synapse_type is None
    assert caller.call(enlarged, {0: "inhibitory", 1: 2}).toast == ""
    assert store.instance(sid, 2).synapse.synapse_type == "inhibitory"
    assert caller.call(card, {0: "excitatory"}, 3).toast == ""
    assert store.instance(sid, 3).synapse.synapse_type == "excitatory"
    assert caller.call(card, {0: ""}, 3).toast == ""  # "none" clears it
    assert store.instance(sid, 3).synapse.synapse_type is None
