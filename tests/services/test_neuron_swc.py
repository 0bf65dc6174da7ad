"""Neuron-centric review from an uploaded SWC skeleton instead of the neuropil's skeletons."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from synanno_dash.data.skeletons import load_precomputed_skeleton, to_swc
from synanno_dash.services.context import AppContext
from synanno_dash.services.neuron import neuron_view
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.settings import Settings


@pytest.fixture
def settings(data_dir: Path, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 's.db'}")


@pytest.fixture
def form(demo_info) -> OpenDataForm:  # type: ignore[no-untyped-def]
    return OpenDataForm(
        source=demo_info.source_url, target=demo_info.target_url, table=demo_info.table_url,
        mode="neuron", neuron_id=str(demo_info.demo_neuron_id), crop_size="64, 64, 6",
    )  # fmt: skip


def _order(context: AppContext, sid: str) -> list[tuple]:
    return [(i.synapse.materialization_index, i.compartment, i.traversal_index)
            for i in context.store.instances(sid)]  # fmt: skip


def test_swc_gives_the_same_review_order_as_the_neuropil_skeleton(
    settings: Settings,
    form: OpenDataForm,
    demo_info,  # type: ignore[no-untyped-def]
) -> None:
    context = AppContext.create(settings)
    assert prepare_session(context, "layer", replace(form, neuropil=demo_info.neuropil_url)).ok
    skeleton = load_precomputed_skeleton(demo_info.neuropil_url, demo_info.demo_neuron_id)
    in_um = to_swc(skeleton, units_nm=1000.0)  # coordinates written in µm
    outcome = prepare_session(context, "swc", replace(form, swc_text=in_um, swc_unit_nm="1000"))
    assert outcome.ok, outcome.errors
    config = context.store.load_config("swc")
    assert config is not None and config.skeleton_swc_url.endswith(".swc")
    assert config.neuropil_url == ""  # no neuropil layer needed
    assert _order(context, "swc") == _order(context, "layer")
    assert len({i.compartment for i in context.store.instances("swc")}) > 3

    # after a restart the view is rebuilt from the kept file
    restarted = AppContext.create(settings)
    view = neuron_view(restarted, config)
    assert (
        view.compartments.n_compartments == neuron_view(context, config).compartments.n_compartments
    )


@pytest.mark.parametrize(
    ("text", "unit", "words"),
    [
        ("1 1 0 0 0 1 -1\n2 3 1 1 oops 1 1\n", "1", "line 2"),
        ("1 1 0 0 0 1 -1\n", "-3", "positive number"),
        ("1 1 0 0 0 1 -1\n", "µm", "must be a number"),
    ],
)
def test_bad_swc_names_the_problem(
    settings: Settings, form: OpenDataForm, text: str, unit: str, words: str
) -> None:
    outcome = prepare_session(AppContext.create(settings), "s",
                              replace(form, swc_text=text, swc_unit_nm=unit))  # fmt: skip
    assert "swc" in outcome.errors and words in outcome.errors["swc"]
