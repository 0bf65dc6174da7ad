"""Review least confident first: a table with a ``confidence`` column (what
``synanno-dash import-predictions`` writes) opened with that order gives pages in ascending
confidence; a table without the column, a neuron-centric review and a selection stored page by
page each get a message naming the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synanno_dash.core.open_data_form import ReviewOrder
from synanno_dash.services import review, selection
from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import prepare_session
from synanno_dash.services.session import open_session
from tests.conftest import demo_form

LEAST = ReviewOrder.LEAST_CONFIDENT.value


@pytest.fixture
def scored_table(demo_info, tmp_path: Path) -> tuple[Path, dict[int, float]]:  # type: ignore[no-untyped-def]
    """The demo table with a confidence per row (one row left without: it comes last)."""
    frame = pd.read_csv(demo_info.table_url.removeprefix("file://"), dtype=str)
    rng = np.random.default_rng(7)
    scores = rng.permutation(len(frame)) / len(frame)
    frame["confidence"] = [f"{s:.6f}" for s in scores]
    frame.loc[3, "confidence"] = ""
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)
    ids = frame["id"].astype(int) if "id" in frame else pd.Series(range(len(frame)))
    by_id = {int(i): float(c) if c else float("nan") for i, c in zip(ids, frame["confidence"])}
    return path, by_id


def _confidences(resources: AppContext, by_id: dict[int, float]) -> list[float]:
    session = open_session(resources, "s1")
    pages = selection.review_pages(session)
    found: list[float] = []
    for page in range(1, pages.count + 1):
        _config, items, _count = review.page_instances(session, page)
        found += [by_id[i.synapse.materialization_index] for i in items]
    return found


def test_least_confident_first_orders_every_page(
    resources: AppContext, demo_info, scored_table  # type: ignore[no-untyped-def]
) -> None:
    path, by_id = scored_table
    form = demo_form(demo_info, table=str(path), review_order=LEAST)
    outcome = prepare_session(resources, "s1", form, prefetch=False)
    assert outcome.ok, outcome.errors
    found = _confidences(resources, by_id)
    assert len(found) == len(by_id)
    scored = found[:-1]
    assert scored == sorted(scored) and scored[0] < scored[-1]
    assert np.isnan(found[-1])  # the row without a confidence comes last


def test_table_order_is_kept_by_default(
    resources: AppContext, demo_info, scored_table  # type: ignore[no-untyped-def]
) -> None:
    path, by_id = scored_table
    outcome = prepare_session(resources, "s1", demo_form(demo_info, table=str(path)))
    assert outcome.ok, outcome.errors
    mats = [i.synapse.materialization_index for i in resources.store.instances("s1")]
    assert mats == sorted(mats)
    assert _confidences(resources, by_id) != sorted(by_id.values())


def test_a_table_without_confidence_is_refused_with_the_fix(
    resources: AppContext, demo_info  # type: ignore[no-untyped-def]
) -> None:
    outcome = prepare_session(resources, "s1", demo_form(demo_info, review_order=LEAST))
    assert not outcome.ok
    message = outcome.errors["review_order"]
    assert "no 'confidence' column" in message and "table order" in message
    assert "import-predictions" in message


def test_neuron_centric_reviews_are_refused(
    resources: AppContext, demo_info, scored_table  # type: ignore[no-untyped-def]
) -> None:
    path, _ = scored_table
    form = demo_form(demo_info, table=str(path), review_order=LEAST, mode="neuron")
    outcome = prepare_session(resources, "s1", form)
    assert "neuron-centric" in outcome.errors["review_order"]


def test_selections_stored_page_by_page_are_refused(
    resources: AppContext, demo_info, scored_table, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    path, by_id = scored_table
    monkeypatch.setattr(selection, "EAGER_MAX_INSTANCES", len(by_id) - 1)
    form = demo_form(demo_info, table=str(path), review_order=LEAST)
    outcome = prepare_session(resources, "s1", form)
    message = outcome.errors["review_order"]
    assert f"this one has {len(by_id):,}" in message and "smaller box" in message


def test_an_unknown_order_is_named(resources: AppContext, demo_info) -> None:  # type: ignore[no-untyped-def]
    outcome = prepare_session(resources, "s1", demo_form(demo_info, review_order="random"))
    assert "unknown review order 'random'" in outcome.errors["review_order"]
