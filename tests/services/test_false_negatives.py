from __future__ import annotations

import pytest

from synanno_dash.core.geometry import BBox
from synanno_dash.core.labels import Category, Label
from synanno_dash.services.context import AppContext
from synanno_dash.services.false_negatives import (
    FalseNegativeError,
    add_false_negative,
    proposed_box,
)
from synanno_dash.services.prepare import prepare_session
from synanno_dash.services.session import open_session
from tests.conftest import demo_form


@pytest.fixture
def prepared(resources: AppContext, demo_info) -> AppContext:  # type: ignore[no-untyped-def]
    form = demo_form(demo_info, neuropil="", tiles_per_page="24")
    assert prepare_session(resources, "s", form).ok
    return resources


def test_added_instance_is_a_labelled_false_negative(prepared: AppContext) -> None:
    session = open_session(prepared, "s")
    total = prepared.store.counts("s")["total"]
    item = add_false_negative(session, (100, 120, 30))
    assert item.instance_id == total
    stored = prepared.store.instance("s", total)
    assert stored.label is Label.INCORRECT and stored.category is Category.FALSE_NEGATIVE
    assert stored.bbox_target_vx == proposed_box(session, (100, 120, 30))
    assert stored.extra["added_by_hand"] is True
    custom = add_false_negative(session, (10, 10, 3), BBox((0, 0, 0), (40, 40, 8)))
    assert prepared.store.instance("s", custom.instance_id).bbox_target_vx.shape_xyz == (40, 40, 8)


def test_bad_positions_are_refused_clearly(prepared: AppContext) -> None:
    session = open_session(prepared, "s")
    with pytest.raises(FalseNegativeError, match="outside the volume"):
        add_false_negative(session, (5000, 10, 3))
    with pytest.raises(FalseNegativeError, match="contain the position"):
        add_false_negative(session, (100, 100, 30), BBox((0, 0, 0), (10, 10, 4)))
