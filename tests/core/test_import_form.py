"""The Import predictions panel's fields (``core.import_form``): each bounded, each problem
named by its field; any text in any field gives choices or messages, never an exception."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from synanno_dash.core.import_form import (
    IMPORT_FIELDS,
    ImportForm,
    import_form_from_inputs,
    parse_import_form,
)

GOOD = ImportForm(map_url="/data/prob.h5", resolution="8, 8, 40")


def test_defaults_parse_to_the_cli_defaults() -> None:
    choices, errors = parse_import_form(GOOD)
    assert errors == {} and choices is not None
    assert choices.params.threshold == 0.5 and choices.params.hysteresis is None
    assert (choices.params.min_size_vx, choices.params.max_size_vx) == (1000, 200_000)
    assert choices.resolution is not None and choices.resolution.as_tuple() == (8, 8, 40)
    assert choices.neuropil_url is None and choices.channel is None


def test_hysteresis_replaces_the_threshold() -> None:
    form = replace(GOOD, method="hysteresis", hysteresis="0.3, 0.7", threshold="junk")
    choices, errors = parse_import_form(form)
    assert errors == {} and choices is not None
    assert choices.params.hysteresis == (0.3, 0.7)


def test_each_problem_is_named_by_its_field() -> None:
    form = replace(
        GOOD, map_url=" ", resolution="8, 8", threshold="300", min_size="0", max_size="1e99",
        closing="9", channel="-1", neuropil="a\nb", source="x" * 5000,
    )  # fmt: skip
    choices, errors = parse_import_form(form)
    assert choices is None
    assert "give the map" in errors["map_url"]
    assert "needs 3 numbers" in errors["resolution"]
    assert "from 0 to 255" in errors["threshold"]
    assert "from 1 to" in errors["min_size"] and "from 1 to" in errors["max_size"]
    assert "from 0 to 8" in errors["closing"]
    assert "from 0 to 1,023" in errors["channel"]
    assert "control characters" in errors["neuropil"]
    assert "at most 4,096 characters" in errors["source"]
    low_high = parse_import_form(replace(GOOD, method="hysteresis", hysteresis="0.7, 0.3"))[1]
    assert "LOW must be below HIGH" in low_high["hysteresis"]
    sizes = parse_import_form(replace(GOOD, min_size="500", max_size="100"))[1]
    assert sizes == {"max_size": "Max size: give at least the min size."}
    method = parse_import_form(replace(GOOD, method="otsu"))[1]
    assert "choose one threshold or hysteresis" in method["method"]


ANY_VALUE = st.one_of(st.text(max_size=60), st.none(), st.integers(), st.floats())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in IMPORT_FIELDS]), ANY_VALUE))
def test_any_input_gives_choices_or_messages(values: dict[str, object]) -> None:
    choices, errors = parse_import_form(import_form_from_inputs({**GOOD.__dict__, **values}))
    assert (choices is None) == bool(errors)
    assert all(isinstance(m, str) and m for m in errors.values())
