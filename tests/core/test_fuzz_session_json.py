"""Fuzzing the session-JSON loader with generated input (hypothesis).

Whatever the input (bytes, JSON of any shape, records whose keys hold absurd values), the
loader either restores a session or raises ``SessionJsonError``; never another exception, and
its memory stays bounded by a small multiple of the input's size.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synanno_dash.core.session_json import SessionJsonError, parse_session_json
from synanno_dash.core.session_json_format import ORIGINAL_KEYS

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Peak allocation while parsing: about 5 bytes per byte of JSON text is measured (the Python
# objects of the document and the instances built); a loop or an allocation the input
# controlled would blow far past this.
PEAK_PER_INPUT_BYTE = 16
PEAK_FLOOR_BYTES = 1024**2

absurd_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["No Neuron Selected...", "None", "Yes", "No", "correct", "²", "1e17", ""]),
)
absurd_values = st.recursive(
    absurd_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=7), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = [*ORIGINAL_KEYS, "sd_instance_id", "sd_label", "sd_category", "sd_custom_category",
        "sd_note", "sd_seen", "sd_discarded", "sd_pre_neuron_id", "sd_post_neuron_id",
        "sd_bbox_target_xyz_vx", "sd_added_by_hand", "sd_synapse_type"]  # fmt: skip


def _plausible_record() -> st.SearchStrategy[dict[str, Any]]:
    """A valid record with some keys replaced by absurd values."""
    base = {
        "cx0": 40, "cy0": 50, "cz0": 12, "X_Index": 0, "Y_Index": 1, "Z_Index": 2,
        "Original_Bbox": [8, 72, 18, 82, 9, 15], "Label": "correct",
    }  # fmt: skip
    changes = st.dictionaries(st.sampled_from(KEYS), absurd_values, max_size=4)
    return changes.map(lambda c: {**base, **c})


documents = st.fixed_dictionaries(
    {"Metadata": st.lists(_plausible_record(), max_size=5)},
    optional={
        "Proofread Time": absurd_values,
        "SynAnno Dash": st.one_of(
            absurd_values,
            st.fixed_dictionaries(
                {}, optional={"page": absurd_values, "tiles_per_page": absurd_values}
            ),
        ),
    },
)


def _parse_or_refuse(text: str | bytes) -> None:
    try:
        parse_session_json(text)
    except SessionJsonError as exc:
        assert str(exc) and "Fix:" in str(exc) or "not valid JSON" in str(exc), str(exc)


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(data: bytes) -> None:
    _parse_or_refuse(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from('[]{}",:0123456789.eE-+ \\"aNIfinty'), max_size=400))
def test_json_like_text(text: str) -> None:
    _parse_or_refuse(text)


@FUZZ
@given(absurd_values)
def test_any_json_value(value: Any) -> None:
    _parse_or_refuse(json.dumps(value))


@FUZZ
@given(documents)
def test_records_with_absurd_values(document: dict[str, Any]) -> None:
    _parse_or_refuse(json.dumps(document))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.integers(1, 2000))
def test_memory_stays_bounded(document: dict[str, Any], copies: int) -> None:
    document = {**document, "Metadata": document["Metadata"] * copies}
    whole = json.dumps(document)[: 1024**2]  # at most 1 MB; a cut is invalid JSON, also cheap
    for text in (whole, whole[: len(whole) // 2]):
        tracemalloc.start()
        try:
            _parse_or_refuse(text)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < PEAK_FLOOR_BYTES + PEAK_PER_INPUT_BYTE * len(text), (peak, len(text))
