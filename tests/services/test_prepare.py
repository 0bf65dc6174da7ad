"""Open Data validation and preparation against the real demo dataset and a real store."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from synanno_dash.core.instances import Mode
from synanno_dash.core.labels import Label
from synanno_dash.core.session_json import dumps
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.services.review import session_json_document
from synanno_dash.services.session import open_session
from synanno_dash.settings import Settings


@pytest.fixture
def context(data_dir: Path, tmp_path: Path) -> AppContext:
    return AppContext.create(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 'sessions.db'}")
    )


@pytest.fixture
def form(demo_info) -> OpenDataForm:  # type: ignore[no-untyped-def]
    return OpenDataForm(
        source=demo_info.source_url, target=demo_info.target_url,
        neuropil=demo_info.neuropil_url, table=demo_info.table_url,
        source_res="4, 4, 40", target_res="8, 8, 40", crop_size="64, 64, 6",
    )  # fmt: skip


def test_volume_mode_prepares_every_table_row(
    context: AppContext, form: OpenDataForm, demo_info
) -> None:  # type: ignore[no-untyped-def]
    outcome = prepare_session(context, "s1", form)
    assert outcome.ok, outcome.errors
    rows = context.tables.get(demo_info.table_url).count()
    assert outcome.instance_count == rows >= 300
    assert context.store.counts("s1")["total"] == rows


def test_neuron_mode_keeps_only_that_neurons_synapses(
    context: AppContext, form: OpenDataForm, demo_info
) -> None:  # type: ignore[no-untyped-def]
    neuron = demo_info.demo_neuron_id
    outcome = prepare_session(context, "s1", replace(form, mode="neuron", neuron_id=str(neuron)))
    assert outcome.ok, outcome.errors
    assert outcome.config is not None and outcome.config.mode is Mode.NEURON
    items = context.store.instances("s1")
    assert items and all(
        neuron in (i.synapse.pre_neuron_id, i.synapse.post_neuron_id) for i in items
    )


def test_box_selects_synapses_inside_it(context: AppContext, form: OpenDataForm) -> None:
    outcome = prepare_session(
        context, "s1", replace(form, box_start="0, 0, 0", box_stop="256, 256, 64")
    )
    assert outcome.ok, outcome.errors
    for item in context.store.instances("s1"):
        x, y, _z = item.synapse.center_xyz_vx
        assert x < 256 and y < 256


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"source": "file:///no/such/folder"}, "source", "does not exist"),
        ({"target": "ftp://host/layer"}, "target", "unsupported address scheme"),
        ({"table": "/no/such/table.csv"}, "table", "not found"),
        (
            {"box_start": "9000, 9000, 900", "box_stop": "9100, 9100, 910"},
            "box_start",
            "outside the volume",
        ),
        ({"mode": "neuron", "neuron_id": "12345"}, "neuron_id", "no synapse"),
        ({"mode": "neuron", "neuron_id": "8.6e17"}, "neuron_id", "digits only"),
        ({"source_res": "5, 5, 40"}, "source_res", "differs from the volume"),
        ({"crop_size": "64, 64"}, "crop_size", "3 numbers"),
        ({"session_json": '{"Metadata": [{"cx0": 1}]}'}, "session_json", "record 0"),
    ],
)
def test_bad_input_names_the_field_and_the_fix(
    context: AppContext, form: OpenDataForm, changes: dict, field: str, words: str
) -> None:
    outcome = prepare_session(context, "s1", replace(form, **changes))
    assert not outcome.ok
    assert field in outcome.errors, outcome.errors
    assert words.lower() in outcome.errors[field].lower()
    assert "Traceback" not in outcome.errors[field]


def test_table_with_wrong_columns(context: AppContext, form: OpenDataForm, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    outcome = prepare_session(context, "s1", replace(form, table=str(bad)))
    assert "table" in outcome.errors and "column" in outcome.errors["table"].lower()


def test_missing_info_file(context: AppContext, form: OpenDataForm, tmp_path: Path) -> None:
    (tmp_path / "empty_layer").mkdir()
    outcome = prepare_session(context, "s1", replace(form, target=f"file://{tmp_path}/empty_layer"))
    assert "target" in outcome.errors and "info" in outcome.errors["target"].lower()


def test_malformed_json_leaves_the_current_session_untouched(
    context: AppContext, form: OpenDataForm
) -> None:
    assert prepare_session(context, "s1", form).ok
    context.store.edit("s1", 0, label=Label.INCORRECT)
    outcome = prepare_session(context, "s1", replace(form, session_json="{broken"))
    assert "session_json" in outcome.errors
    assert context.store.instance("s1", 0).label is Label.INCORRECT


def test_session_json_restores_labels_in_a_new_session(
    context: AppContext, form: OpenDataForm
) -> None:
    assert prepare_session(context, "s1", form).ok
    context.store.edit("s1", 4, label=Label.INCORRECT)
    context.store.edit("s1", 4, category="false_positive")
    context.store.edit("s1", 7, label=Label.UNSURE)
    context.store.edit("s1", 7, note="fuzzy")
    context.store.update_state("s1", page=2)
    document = json.loads(dumps(session_json_document(open_session(context, "s1"))))
    outcome = prepare_session(
        context, "s2", replace(form, table="", session_json=json.dumps(document))
    )
    assert outcome.ok, outcome.errors
    restored = {i.instance_id: i for i in context.store.instances("s2")}
    assert restored[4].label is Label.INCORRECT and restored[4].category is not None
    assert restored[7].note == "fuzzy"
    assert len(restored) == context.store.counts("s1")["total"]
    assert context.store.get_state("s2")["page"] == 2


def test_correction_with_a_json_shows_every_instance(
    context: AppContext, form: OpenDataForm
) -> None:
    from synanno_dash.services.correction import correction_instances

    assert prepare_session(context, "s1", form).ok
    context.store.edit("s1", 3, label=Label.INCORRECT)
    document = dumps(session_json_document(open_session(context, "s1")))
    # Error Detection restored from a JSON: the correction view shows the flagged ones only
    assert prepare_session(context, "s2", replace(form, session_json=document)).ok
    assert [i.instance_id for i in correction_instances(open_session(context, "s2"))] == [3]
    # Error Correction opened with a JSON: every instance of it
    assert prepare_session(
        context, "s3", replace(form, session_json=document, workflow="correction")
    ).ok
    shown = correction_instances(open_session(context, "s3"))
    assert len(shown) == context.store.counts("s1")["total"]


def test_the_session_limit_bounds_what_is_stored_whole(
    data_dir: Path, tmp_path: Path, form: OpenDataForm, demo_info
) -> None:  # type: ignore[no-untyped-def]
    """SYNANNO_MAX_INSTANCES below the selection: a box or table is stored page by page (none
    at Submit, pages as they are read); a neuron with more synapses is refused by name."""
    from synanno_dash.services import selection

    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path / 'limited.db'}",
        max_instances_per_session=50,
    )
    context = AppContext.create(settings)
    outcome = prepare_session(context, "s1", form, prefetch=False)
    assert outcome.ok, outcome.errors
    rows = context.tables.get(demo_info.table_url).count()
    assert outcome.instance_count == rows > 50
    session = open_session(context, "s1")
    assert selection.selection_total(session) == rows
    assert len(context.store.instances("s1")) == 0
    assert len(selection.page_instances(session, 0, 6)) == 6
    neuron = replace(form, mode="neuron", neuron_id=str(demo_info.demo_neuron_id))
    refused = prepare_session(context, "s2", neuron)
    assert not refused.ok
    assert (
        "a neuron-centric session holds at most 50 (SYNANNO_MAX_INSTANCES)"
        in (refused.errors["neuron_id"])
    )
