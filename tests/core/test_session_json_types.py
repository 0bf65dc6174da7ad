"""Synapse types in the session JSON: written as ``sd_synapse_type`` (a key the original
SynAnno ignores: its records keep their 28 keys and values), read back by our loader, absent
from an original JSON (no type), and a value that is no type refused by key."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from synanno_dash.core.instances import Synapse, instance_for
from synanno_dash.core.session_json import (
    ORIGINAL_KEYS,
    SessionJsonError,
    build_session_json,
    dumps,
    parse_session_json,
)
from tests.original_synanno import OriginalSession, OriginalSynapse, box_of, original_json

TYPES = ["excitatory", None, "inhibitory", "gap junction"]


def _items() -> list:
    return [
        instance_for(i, Synapse(10 + i, (40 + i, 50, 3), (38, 50, 3), (42, 51, 4),
                                synapse_type=t), (64, 64, 6))  # fmt: skip
        for i, t in enumerate(TYPES)
    ]


def test_types_round_trip_and_the_original_keys_are_unchanged() -> None:
    items = _items()
    document = json.loads(dumps(build_session_json(items, per_page=6, proofread_time={})))
    records = document["Metadata"]
    assert [r["sd_synapse_type"] for r in records] == TYPES
    untyped = json.loads(dumps(build_session_json(
        [replace(i, synapse=replace(i.synapse, synapse_type=None)) for i in items],
        per_page=6, proofread_time={},
    )))["Metadata"]  # fmt: skip
    for typed, plain in zip(records, untyped, strict=True):
        assert {k: typed[k] for k in ORIGINAL_KEYS} == {k: plain[k] for k in ORIGINAL_KEYS}
        assert all(k in ORIGINAL_KEYS or k.startswith("sd_") for k in typed)
        assert box_of(typed) == box_of(plain)
    # the original reads its records into a DataFrame and picks its own columns
    frame = pd.DataFrame(records)
    assert list(frame[list(ORIGINAL_KEYS)].columns) == list(ORIGINAL_KEYS)
    restored = parse_session_json(json.dumps(document))
    assert [i.synapse.synapse_type for i in restored.instances] == TYPES


def test_an_original_json_has_no_types() -> None:
    session = OriginalSession(
        [OriginalSynapse(k, (30 + k, 40, 5), (28, 40, 5), (32, 40, 5)) for k in range(3)],
        (200, 200, 20),
    )
    restored = parse_session_json(original_json(session))
    assert [i.synapse.synapse_type for i in restored.instances] == [None] * 3


@pytest.mark.parametrize(
    ("value", "problem"),
    [(3.5, "must be text"), ("x" * 40, "printable characters"), ("untyped", "reserved")],
)
def test_a_value_that_is_no_type_is_refused_by_key(value: object, problem: str) -> None:
    document = json.loads(dumps(build_session_json(_items(), per_page=6, proofread_time={})))
    document["Metadata"][1]["sd_synapse_type"] = value
    with pytest.raises(SessionJsonError, match="sd_synapse_type") as error:
        parse_session_json(json.dumps(document))
    assert problem in str(error.value)
