"""The Open Data submit job against generated field values (issue 10).

As a crafted request or a careless paste would send them: every field a random text, a
hostile value or a valid one. Submit is a background job (``ui.jobs.job_callback``), which
runs in another process and turns any exception into its panel's message; so its work
function is called here directly, with this browser's session: it must answer each set of
values with a message per field or Ready and raise nothing; every field it complains about
is named in a message the page shows. Also the inputs the issue names.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import dash
import plotly.utils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synanno_dash.core.limits import PAGE_CROP_BUDGET_BYTES
from synanno_dash.core.open_data_form import FIELDS
from synanno_dash.services.jobs import Job
from synanno_dash.services.session import open_session
from synanno_dash.ui import ids
from synanno_dash.ui.open_data_form import FEEDBACK_FIELDS
from synanno_dash.ui.session import COOKIE, EXTENSION_KEY
from tests.ui.crafted_requests import GENERIC_ERROR

# The submit job's outputs, in order (``pages/open_data.py`` ``register_callbacks``).
_OUTPUT_IDS = (
    [ids.open_data(f.name) for f in FEEDBACK_FIELDS]
    + [ids.feedback(ids.open_data(f.name)) for f in FEEDBACK_FIELDS]
    + [ids.OD_SUBMIT_STATUS, ids.OD_START, ids.OD_JSON_STATUS, ids.OD_SWC_STATUS]
)


class OpenDataClient:
    """Runs the Open Data submit job as the page starts it, any value in any field."""

    def __init__(self, app, demo_info) -> None:  # type: ignore[no-untyped-def]
        self.client = app.server.test_client()
        assert self.client.get("/").status_code == 200
        self.resources = app.server.extensions[EXTENSION_KEY]
        self.sid = self.client.get_cookie(COOKIE).value
        self.defaults = {
            "source": demo_info.source_url, "target": demo_info.target_url,
            "neuropil": demo_info.neuropil_url, "table": demo_info.table_url,
            "crop_size": "64, 64, 6", "tiles_per_page": "6", "mode": "volume",
            "neuron_id": str(demo_info.demo_neuron_id), "axis_order": "xyz",
        }  # fmt: skip

    def submit(self, **changes: object) -> tuple[int, dict[str, Any] | None]:
        """(200, {"response": {output id: {"children": value}}}): the answer's shape kept
        from the HTTP endpoint, so a message anywhere in it is found by ``_text``."""
        values = {**self.defaults, **changes}
        session = open_session(self.resources, self.sid)
        states = [values.get(f.name) for f in FIELDS]
        view = next(
            sys.modules[page["module"]]
            for page in dash.page_registry.values()
            if page["module"].endswith("open_data")
        )
        outputs = view.submit(Job(), session, 1, *states, None)
        assert len(outputs) == len(_OUTPUT_IDS)
        encoded = json.loads(json.dumps(outputs, cls=plotly.utils.PlotlyJSONEncoder))
        response = {key: {"children": value} for key, value in zip(_OUTPUT_IDS, encoded)}
        return 200, {"response": response}


def _text(answer: dict[str, Any] | None) -> str:
    return json.dumps(answer)


def _status(answer: dict[str, Any] | None) -> str:
    assert answer is not None
    return json.dumps(answer["response"][ids.OD_SUBMIT_STATUS]["children"])


@pytest.fixture
def open_data(app, demo_info) -> OpenDataClient:  # type: ignore[no-untyped-def]
    return OpenDataClient(app, demo_info)


_HOSTILE_TEXT = st.sampled_from([
    "", " ", "0", "-5", "abc", "²", "9" * 100_000, "1e400", "nan", "inf", "1,2", "1,2,3,4",
    "0, 0, 0", "-1, -1, -1", "1000000, 1000000, 1000000", "/etc/passwd", "\x00", "a\nb",
    "x" * 5000, "file:///nonexistent", "https://127.0.0.1:1/x", "[1, 2, 3]", "24", "6",
])  # fmt: skip
_ANY_VALUE = st.one_of(
    _HOSTILE_TEXT,
    st.text(max_size=300),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.none(),
    st.lists(st.integers(), max_size=3),
)
_FIELD_NAMES = [
    "source", "target", "neuropil", "table", "secrets", "mode", "axis_order", "box_start",
    "box_stop", "source_res", "target_res", "table_res", "neuron_id", "crop_size",
    "tiles_per_page", "swc_unit_nm", "workflow", "reviewer",
]  # fmt: skip


@settings(
    max_examples=30, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(changes=st.dictionaries(st.sampled_from(_FIELD_NAMES), _ANY_VALUE, max_size=5))
def test_any_field_values_get_field_messages_or_ready(open_data, changes) -> None:  # type: ignore[no-untyped-def]
    status, answer = open_data.submit(**changes)
    assert status == 200, (changes, status)
    assert answer is not None and GENERIC_ERROR not in _text(answer), changes
    summary = _status(answer)
    assert "Ready:" in summary or "need" in summary, summary
    if "need" in summary:  # each problem is shown: under its field or listed in the status
        shown = [
            v.get("children")
            for k, v in answer["response"].items()
            if k.endswith("-feedback") and v.get("children")
        ]
        assert shown or "<li" in summary.lower() or '"Li"' in summary, (changes, summary)


def test_the_inputs_the_issue_names_get_their_own_messages(open_data) -> None:
    cases = {
        "tiles_per_page": ("-5", "tiles per page is 6, 12 or 24"),
        "neuron_id": ("²", "digits only (0-9)"),
        "source": ("/x" * 50_000, "at most 4,096 characters"),
        "crop_size": ("1000000, 1000000, 1000000", "at most 1024 voxels per axis"),
        "mode": ("bogus", "the selection is volume or neuron"),
    }
    for field, (value, expected) in cases.items():
        extra = {"mode": "neuron"} if field == "neuron_id" else {}
        status, answer = open_data.submit(**{field: value, **extra})
        assert status == 200 and expected in _text(answer), (field, _text(answer)[:400])
        assert "Ready:" not in _status(answer)
    status, answer = open_data.submit(mode="neuron", neuron_id="9" * 100_000)
    assert "Neuron id: this field holds at most 200 characters" in _text(answer)
    status, answer = open_data.submit(mode="neuron", neuron_id="1" * 25)
    assert "a neuron id has at most 20 digits" in _text(answer)


def test_a_crop_of_ordinary_values_beyond_the_page_budget_is_refused(open_data) -> None:
    """512 x 512 x 64 with 24 tiles took over 4 GB: refused per crop before any read."""
    status, answer = open_data.submit(crop_size="512, 512, 64", tiles_per_page="24")
    assert "crop size: 512 x 512 x 64 is 16,777,216 voxels" in _text(answer)
    assert PAGE_CROP_BUDGET_BYTES == 512 * 1024**2


def test_ready_only_when_a_synapse_lies_inside_the_volumes(open_data) -> None:
    """A table in nm read as 1000 nm voxels puts every synapse outside: no Ready, the volume
    bounds named."""
    status, answer = open_data.submit(table_res="1000, 1000, 1000")
    text = _text(answer)
    assert "Ready:" not in _status(answer)
    assert "none of the 371 synapses lies inside the volumes" in text
    assert "[0, 0, 0]..[512, 512, 64]" in text
    assert "Ready: 371 synapses" in _status(open_data.submit()[1])
