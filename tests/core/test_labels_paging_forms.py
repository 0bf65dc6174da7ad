from __future__ import annotations

import pytest

from synanno_dash.core.forms import (
    FieldError,
    check_box_in_volume,
    parse_bbox,
    parse_int_triple,
    parse_neuron_id,
    parse_resolution,
)
from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.core.labels import (
    Category,
    Label,
    category_from_original,
    category_to_original,
)
from synanno_dash.core.paging import page_count, page_of_index, page_slice, pages_by_group


def test_label_cycle_follows_the_original_order() -> None:
    assert Label.CORRECT.next is Label.INCORRECT
    assert Label.INCORRECT.next is Label.UNSURE
    assert Label.UNSURE.next is Label.CORRECT
    assert Label.parse("Incorrect") is Label.INCORRECT
    with pytest.raises(ValueError, match="unknown label"):
        Label.parse("maybe")


@pytest.mark.parametrize(
    ("original", "category", "custom"),
    [
        ("falsePositive", Category.FALSE_POSITIVE, ""),
        ("badFit", Category.POORLY_ALIGNED, ""),
        ("polaritySwitch", Category.WRONG_DIRECTION, ""),
        ("False Negative", Category.FALSE_NEGATIVE, ""),
        ("None", None, ""),
        (None, None, ""),
        ("weird membrane", Category.CUSTOM, "weird membrane"),
        ("merged", Category.MERGED, ""),
    ],
)
def test_original_categories_map_onto_ours(original, category, custom) -> None:  # type: ignore[no-untyped-def]
    assert category_from_original(original) == (category, custom)


def test_categories_map_back_to_the_original_values() -> None:
    for value in ("falsePositive", "badFit", "polaritySwitch", "False Negative"):
        assert category_to_original(*category_from_original(value)) == value
    assert category_to_original(Category.CUSTOM, "odd") == "odd"
    assert category_to_original(None) == "None"


def test_paging() -> None:
    assert page_count(0, 24) == 1
    assert page_count(25, 24) == 2
    items = list(range(30))
    assert items[page_slice(2, 24)] == list(range(24, 30))
    assert page_of_index(23, 24) == 1 and page_of_index(24, 24) == 2


def test_pages_never_mix_groups() -> None:
    groups = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]
    pages = pages_by_group(groups, per_page=3)
    assert pages == [(0, 3), (3, 5), (5, 8), (8, 10)]
    for start, stop in pages:
        assert len(set(groups[start:stop])) == 1


def test_form_parsers() -> None:
    assert parse_resolution("4, 4, 40", "r") == Resolution(4, 4, 40)
    assert parse_resolution("", "r") is None
    with pytest.raises(FieldError, match="3 numbers"):
        parse_resolution("4,4", "source resolution")
    with pytest.raises(FieldError, match="above 0"):
        parse_resolution("4,0,40", "r")
    assert parse_int_triple("64 64 6", "crop") == (64, 64, 6)
    with pytest.raises(FieldError, match="whole numbers"):
        parse_int_triple("64, 64, 6.5", "crop")
    box = parse_bbox("1, 2, 3", "11, 12, 13", "zyx")
    assert box == BBox((3, 2, 1), (13, 12, 11))
    assert parse_bbox("", "", "xyz") is None
    with pytest.raises(FieldError, match="both corners"):
        parse_bbox("1,2,3", "", "xyz")
    with pytest.raises(FieldError, match="above its start"):
        parse_bbox("5,5,5", "1,9,9", "xyz")


def test_neuron_ids_are_exact_64_bit() -> None:
    big = 864691135000000123  # > 2**53: a float would lose it
    assert parse_neuron_id(str(big)) == big
    assert parse_neuron_id(str(2**64 - 1)) == 2**64 - 1
    for bad in ("8.6e17", "-5", "abc", "", str(2**64)):
        with pytest.raises(FieldError):
            parse_neuron_id(bad)


def test_box_outside_volume_names_both_extents() -> None:
    with pytest.raises(FieldError, match="outside the volume"):
        check_box_in_volume(BBox((600, 0, 0), (700, 10, 10)), BBox((0, 0, 0), (512, 512, 64)))
    check_box_in_volume(BBox((500, 0, 0), (700, 10, 10)), BBox((0, 0, 0), (512, 512, 64)))


def test_review_pages_agree_with_each_other() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from synanno_dash.core.paging import ReviewPages

    @given(
        st.lists(st.one_of(st.none(), st.integers(0, 4)), max_size=60).map(
            lambda cs: sorted(cs, key=lambda c: -1 if c is None else c)
        ),
        st.integers(1, 7),
    )
    def check(compartments: list[int | None], per_page: int) -> None:
        pages = ReviewPages.of(compartments, per_page)
        each = pages.page_of_each_position()
        for position, page in enumerate(each):
            start, stop = pages.positions(page)
            assert start <= position < stop
            assert pages.page_of_position(position) == page
        for compartment, page in pages.first_pages().items():
            start, _stop = pages.positions(page)
            assert compartments[start] == compartment and compartment not in compartments[:start]
        ending = [pages.compartment_ending_on(p) for p in range(1, pages.count + 1)]
        assert sorted(k for k in ending if k is not None) == sorted(pages.first_pages())
        if not compartments:
            assert pages.bounds == ((0, 0),) and pages.is_empty

    check()


def test_the_open_data_form_is_declared_once() -> None:
    """Layout, submit inputs and parsing all come from ``core.open_data_form.FIELDS``."""
    import json

    from synanno_dash.core.instances import Workflow
    from synanno_dash.core.open_data_form import FIELDS, OpenDataForm, form_from_inputs, parse_form
    from synanno_dash.ui import ids
    from synanno_dash.ui.open_data_form import FEEDBACK_FIELDS, form

    defaults = {k: "" for k in ("source", "target", "neuropil", "table", "source_res",
                                "target_res", "neuron_id", "crop_size", "tiles_per_page")}
    layout = form(Workflow.DETECTION, defaults)
    components = [layout, *layout._traverse()]
    laid_out = {getattr(c, "id", None) for c in components}
    texts = json.dumps([getattr(c, "children", None) for c in components], default=str)
    for field in FIELDS:
        assert ids.open_data(field.name) in laid_out, field.name  # every field is laid out
        assert field.label in texts or field.kind.value == "store", field.name
    for field in FEEDBACK_FIELDS:
        assert ids.feedback(ids.open_data(field.name)) in laid_out
    # every value of the form is read from its component, and an emptied field stays empty
    typed = form_from_inputs({f.name: None for f in FIELDS})
    assert typed.crop_size == "" and typed.mode == OpenDataForm().mode
    _parsed, errors = parse_form(typed)
    assert errors["source"] == "the source is required." and "crop_size" in errors
