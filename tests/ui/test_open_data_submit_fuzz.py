"""The Open Data submit callback against generated field values (issue 10).

Through Dash's HTTP endpoint, as a crafted request or a careless paste would send them:
every field a random text, a hostile value or a valid one. The server answers each with a
message per field or Ready, never a 5xx and never the generic error toast; every field it
complains about is named in a message the page shows. Also the inputs the issue names.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synanno_dash.core.limits import PAGE_CROP_BUDGET_BYTES
from synanno_dash.core.open_data_form import FIELDS
from synanno_dash.ui import ids
from tests.ui.crafted_requests import GENERIC_ERROR

SUBMIT_OUTPUT = "...od-source.invalid..."  # one of the submit callback's outputs


class OpenDataClient:
    """Posts the Open Data submit as the page does, any value in any field."""

    def __init__(self, app, demo_info) -> None:  # type: ignore[no-untyped-def]
        self.client = app.server.test_client()
        assert self.client.get("/").status_code == 200
        self.key = next(k for k in app.callback_map if SUBMIT_OUTPUT in k)
        self.defaults = {
            "source": demo_info.source_url, "target": demo_info.target_url,
            "neuropil": demo_info.neuropil_url, "table": demo_info.table_url,
            "crop_size": "64, 64, 6", "tiles_per_page": "6", "mode": "volume",
            "neuron_id": str(demo_info.demo_neuron_id), "axis_order": "xyz",
        }  # fmt: skip

    def submit(self, **changes: object) -> tuple[int, dict[str, Any] | None]:
        values = {**self.defaults, **changes}
        outputs = [
            {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
            for part in self.key[2:-2].split("...")
        ]
        state = [
            {"id": ids.open_data(f.name), "property": f.value_prop, "value": values.get(f.name)}
            for f in FIELDS
        ]
        state.append({"id": ids.OD_SWC_UPLOAD, "property": "filename", "value": None})
        body = {
            "output": self.key, "outputs": outputs,
            "inputs": [{"id": ids.OD_SUBMIT, "property": "n_clicks", "value": 1}],
            "state": state, "changedPropIds": [f"{ids.OD_SUBMIT}.n_clicks"],
        }  # fmt: skip
        response = self.client.post("/_dash-update-component", json=body)
        return response.status_code, response.get_json(silent=True)


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
