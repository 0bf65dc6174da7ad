"""The statistics service on the demo dataset: a review with known clicks scored against the
demo's own ground truth, per compartment and category; bad input becomes messages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from synanno_dash.core.instances import DatasetConfig
from synanno_dash.core.labels import Category, Label
from synanno_dash.services import review
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.services.session import NoDatasetError, open_session
from synanno_dash.services.statistics import (
    Scope,
    StatisticsError,
    collect_statistics,
    session_statistics,
)
from synanno_dash.settings import Settings

PER_PAGE = 6


def _form(demo_info, mode: str = "neuron", table: str = "", box: tuple = ("", "")) -> OpenDataForm:  # type: ignore[no-untyped-def]  # noqa: E501
    return OpenDataForm(
        source=demo_info.source_url, target=demo_info.target_url,
        neuropil=demo_info.neuropil_url, table=table or demo_info.table_url, mode=mode,
        neuron_id=str(demo_info.demo_neuron_id) if mode == "neuron" else "",
        box_start=box[0], box_stop=box[1], crop_size="64, 64, 6",
        tiles_per_page=str(PER_PAGE),
    )  # fmt: skip


@pytest.fixture
def ctx(data_dir: Path, tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.create(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 's.db'}")
    )
    yield context
    context.executor.shutdown(wait=True)
    context.store.engine.dispose()


def _prepared(ctx: AppContext, sid: str, form: OpenDataForm) -> DatasetConfig:
    outcome = prepare_session(ctx, sid, form)
    assert outcome.ok, outcome.errors
    assert outcome.config is not None
    return outcome.config


def _truth(demo_info) -> dict[int, str]:  # type: ignore[no-untyped-def]
    """The demo's ground truth, read here with pandas (not the loader under test)."""
    frame = pd.read_csv(Path(demo_info.out_dir) / "ground_truth.csv")
    frame = frame.dropna(subset=["materialization_index"])
    return dict(zip(frame["materialization_index"].astype(int), frame["error"], strict=True))


def test_a_neuron_review_scored_against_the_demo_ground_truth(ctx: AppContext, demo_info) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    _prepared(ctx, "s1", _form(demo_info))
    truth = _truth(demo_info)
    for page in (1, 2, 3, 4):
        review.load_page(open_session(ctx, "s1"), page)
    reviewed = [i for i in ctx.store.instances("s1") if i.seen]
    errors = [i for i in reviewed if truth[i.synapse.materialization_index] != "none"]
    correct = [i for i in reviewed if truth[i.synapse.materialization_index] == "none"]
    assert len(errors) >= 3 and len(correct) >= 2, "the demo neuron's first pages hold errors"
    # the reviewer finds every error but the last, names all but one of them, raises one
    # false alarm and is unsure about one true synapse
    found, missed = errors[:-1], errors[-1]
    for n, item in enumerate(found):
        kind = truth[item.synapse.materialization_index]
        review.set_label(open_session(ctx, "s1"), item.instance_id, Label.INCORRECT)
        named = Category.MERGED if n == 0 else Category(kind)
        review.set_category(open_session(ctx, "s1"), item.instance_id, named)
    review.set_label(open_session(ctx, "s1"), correct[0].instance_id, Label.INCORRECT)
    review.set_custom_category(open_session(ctx, "s1"), correct[0].instance_id, "odd")
    review.set_label(open_session(ctx, "s1"), correct[1].instance_id, Label.UNSURE)

    # the statistics view's call; the ground truth is found beside the table
    result = session_statistics(open_session(ctx, "s1"))
    acc = result.accuracy.value
    assert acc is not None, result.accuracy.message
    assert acc.ground_truth.name == "ground_truth.csv"
    flags = len(found) + 2
    assert (acc.overall.precision.count, acc.overall.precision.total) == (len(found), flags)
    assert (acc.overall.recall.count, acc.overall.recall.total) == (len(found), len(errors))
    assert acc.overall.reviewed == len(reviewed) and acc.unmatched_reviewed == 0
    missed_kind = truth[missed.synapse.materialization_index]
    by_kind = {s.error: s for s in acc.overall.per_type}
    assert by_kind[missed_kind].detected.count == by_kind[missed_kind].detected.total - 1
    assert sum(s.named.count for s in acc.overall.per_type) == len(found) - 1
    confusion = dict(zip(acc.overall.confusion.labels, acc.overall.confusion.counts, strict=True))
    none_column = acc.overall.confusion.truths.index("none")
    assert confusion["unsure"][none_column] == 1 and confusion["incorrect"][none_column] == 1

    # per compartment: the counts equal what was shown and clicked there
    compartments = result.compartments.value
    assert compartments is not None
    flagged_ids = {i.instance_id for i in found} | {correct[0].instance_id, correct[1].instance_id}
    for entry in compartments:
        mine = [i for i in ctx.store.instances("s1") if i.compartment == entry.compartment]
        assert entry.counts.total == len(mine)
        assert entry.counts.seen == sum(i.seen for i in mine)
        assert entry.counts.flagged == sum(i.instance_id in flagged_ids for i in mine)
    assert [c.compartment for c in compartments] == sorted(c.compartment for c in compartments)
    assert result.overall.seen == len(reviewed) and result.overall.flagged == flags
    categories = result.categories.value
    assert categories is not None and categories.flagged == flags
    assert sum(c.count for c in categories.overall) == flags
    assert any(c.title == "Custom: odd" for c in categories.overall)
    assert sum(c.count for c in categories.by_compartment) == flags
    throughput = result.throughput.value
    assert throughput is not None and throughput.reviewed == len(reviewed)
    assert {v.view.value: v.events for v in throughput.per_view}["categorize"] == len(found) + 1
    positions = result.positions.value
    assert positions is not None and not positions.sample.is_sampled
    assert sum(len(p) for p in positions.sample.points.values()) == len(reviewed)
    assert result.agreement.value is None and "switch to all sessions" in result.agreement.message


def test_two_reviewers_of_the_neuron_agree_or_not(ctx: AppContext, demo_info) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    for sid in ("r1", "r2"):
        _prepared(ctx, sid, _form(demo_info))
        review.load_page(open_session(ctx, sid), 1)
    review.set_label(open_session(ctx, "r1"), 0, Label.INCORRECT)
    review.set_label(open_session(ctx, "r2"), 0, Label.INCORRECT)
    review.set_label(open_session(ctx, "r2"), 3, Label.UNSURE)
    result = collect_statistics(ctx.store, "r1", Scope.DATASET)
    assert [s.session_id for s in result.sessions] == ["r1", "r2"]
    assert result.neuron_sessions == ("r1", "r2")
    agreement = result.agreement.value
    assert agreement is not None
    assert agreement.kappa.method.value == "cohen" and agreement.kappa.n_items == PER_PAGE
    assert agreement.disagreements_total == 1
    assert agreement.disagreements[0].instance_id == 3
    assert agreement.disagreements[0].votes == {"correct": 1, "incorrect": 0, "unsure": 1}
    assert result.compartments.value is not None
    assert sum(c.counts.seen for c in result.compartments.value) == 2 * PER_PAGE


def test_volume_centric_table_without_neuron_ids(ctx: AppContext, demo_info, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    table = tmp_path / "no_ids.csv"
    frame = pd.read_csv(Path(demo_info.out_dir) / "synapses.csv")
    frame.drop(columns=["pre_neuron_id", "post_neuron_id"]).to_csv(table, index=False)
    _prepared(ctx, "v", _form(demo_info, mode="volume", table=str(table),
                              box=("0, 0, 0", "256, 256, 64")))  # fmt: skip
    review.load_page(open_session(ctx, "v"), 1)
    review.set_label(open_session(ctx, "v"), 1, Label.INCORRECT)
    result = collect_statistics(ctx.store, "v")
    assert "volume-centric" in result.compartments.message
    assert result.neurons.value is None and "no pre or post neuron ids" in result.neurons.message
    assert result.accuracy.value is None and "No ground truth" in result.accuracy.message
    positions = result.positions.value
    assert positions is not None and positions.box == result.config.bbox_target_vx
    # the demo's ground truth given by hand: this table's rows are the demo's rows
    scored = collect_statistics(ctx.store, "v", ground_truth=demo_info.ground_truth_url)
    assert scored.accuracy.value is not None
    assert scored.accuracy.value.overall.reviewed == PER_PAGE


def test_bad_input_gets_messages_not_exceptions(ctx: AppContext, demo_info, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    with pytest.raises(StatisticsError, match="has no dataset open"):
        collect_statistics(ctx.store, "nobody")
    with pytest.raises(NoDatasetError):
        session_statistics(open_session(ctx, "nobody"))
    config = _prepared(ctx, "e", _form(demo_info))
    ctx.store.replace_instances("e", [])
    empty = collect_statistics(ctx.store, "e", Scope.DATASET)
    for section in (empty.compartments, empty.categories, empty.neurons, empty.positions):
        assert section.value is None and "has synapses to review yet" in section.message
    assert empty.throughput.value is None and "No review activity" in empty.throughput.message
    assert empty.config == config
    alone = collect_statistics(ctx.store, "e")
    assert "This session has no synapses to review" in alone.compartments.message
    _prepared(ctx, "f", _form(demo_info))
    unreviewed = collect_statistics(ctx.store, "f")
    assert "Nothing has been reviewed yet" in unreviewed.compartments.message
    review.load_page(open_session(ctx, "f"), 1)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("row,kind\n1,none\n")
    bad = collect_statistics(ctx.store, "f", ground_truth=wrong)
    assert bad.accuracy.value is None and "lacks the column(s)" in bad.accuracy.message
    other = tmp_path / "other.csv"
    other.write_text("materialization_index,error\n900001,none\n900002,merged\n")
    unmatched = collect_statistics(ctx.store, "f", ground_truth=other)
    assert "match none of the reviewed synapses" in unmatched.accuracy.message
    assert "No reviewed synapse is flagged" in unmatched.categories.message


def test_ground_truth_named_after_the_table(ctx: AppContext, demo_info, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(Path(demo_info.out_dir) / "synapses.csv", folder / "cells.csv")
    shutil.copy(Path(demo_info.out_dir) / "ground_truth.csv", folder / "cells_ground_truth.csv")
    _prepared(ctx, "n", _form(demo_info, table=str(folder / "cells.csv")))
    review.load_page(open_session(ctx, "n"), 1)
    result = collect_statistics(ctx.store, "n")
    assert result.accuracy.value is not None
    assert result.accuracy.value.ground_truth.name == "cells_ground_truth.csv"
