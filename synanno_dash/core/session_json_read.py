"""Reading a session JSON, ours or the original SynAnno's, with every value checked.

Nothing a file holds reaches a loop or an allocation it controls unchecked: the text's size,
its nesting and the number of records are bounded before anything is built; a number of
more than ``MAX_NUMBER_DIGITS`` digits is never converted; ``NaN``/``Infinity`` and numbers
outside the voxel range are refused; boxes must be ordered and of a size a page can hold.
Every refusal is a ``SessionJsonError`` whose message names the record (its position and
``Image_Index``), the key, what is wrong and the fix.

Records are read in their own axis order (``X_Index``, ``Y_Index``, ``Z_Index``; see
``session_json_format``), which each instance keeps so an export writes it back the same way.
Our format version 1 wrote boxes in z, y, x order with other meanings of those keys; it is
still read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from synanno_dash.core.geometry import AXES, Triple
from synanno_dash.core.instances import Instance, Synapse
from synanno_dash.core.labels import Category, Label, category_from_original
from synanno_dash.core.limits import (
    MAX_INT64,
    MAX_JSON_NESTING,
    MAX_PAGE,
    MAX_SESSION_JSON_BYTES,
    MAX_SESSION_RECORDS,
    MAX_UINT64,
    megabytes,
)
from synanno_dash.core.paging import PAGE_SIZES
from synanno_dash.core.session_json_fields import (
    LEGACY_ZYX,
    Record,
    axis_order,
    check_derived,
    parse_float,
    parse_int,
    review_box,
    shown,
)
from synanno_dash.core.session_json_format import (
    ADDED_BY_HAND_KEY,
    AXIS_ORDER_KEY,
    DEFAULT_AXIS_ORDER,
    NO_NEURON,
    OURS_KEY,
    RestoredSession,
    SessionJsonError,
)
from synanno_dash.core.stage_times import clean_stage_times


# -- one record ---------------------------------------------------------------------------
def _point(rec: Record, prefix: str) -> Triple | None:
    values = [rec.coordinate(f"{prefix}_{axis}") for axis in AXES]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise rec.fail(
            f"{prefix}_x/y/z", "are only partly given", "give all three coordinates, or none"
        )
    return (values[0], values[1], values[2])  # type: ignore[return-value]


def _neuron(rec: Record, key: str, low: int) -> int | None:
    value = rec.data.get(key)
    if value is None or value == "" or (isinstance(value, str) and value.strip() == NO_NEURON):
        return None
    return rec.check_whole(key, value, low, MAX_UINT64, "a neuron id (unsigned 64-bit)")


def _label(rec: Record) -> Label:
    key = "sd_label" if rec.data.get("sd_label") is not None else "Label"
    value = rec.data.get(key)
    if value is None:
        return Label.CORRECT
    if not isinstance(value, str):
        raise rec.fail(
            key, f"must be text, not {shown(value)}", "write correct, incorrect or unsure"
        )
    try:
        return Label.parse(value)
    except ValueError:
        raise rec.fail(
            key, f"is {shown(value)}", "write correct, incorrect or unsure (any case)"
        ) from None


def _category(rec: Record) -> tuple[Category | None, str]:
    if "sd_category" in rec.data:
        value = rec.data["sd_category"]
        if value is None:
            return None, ""
        known = [c.value for c in Category]
        if not isinstance(value, str) or value not in known:
            raise rec.fail(
                "sd_category", f"is {shown(value)}, not a category", f"use one of {known} or null"
            )
        return Category(value), rec.text("sd_custom_category")
    return category_from_original(rec.text("Error_Description", "None"))


def _materialization_index(rec: Record, added: bool) -> int:
    """The table row: ``materialization_index``; the original writes -1 without one, and
    then its ``Image_Index`` is the row of the table."""
    mat = rec.whole("materialization_index", -1, MAX_INT64, "a table row index")
    if added:
        return -1 if mat is None else mat
    if mat is not None and mat >= 0:
        return mat
    image = rec.whole("Image_Index", -1, MAX_INT64, "an instance index")
    return image if image is not None and image >= 0 else rec.position


def _record_to_instance(record: Any, position: int, legacy: bool) -> Instance:
    if not isinstance(record, dict):
        raise SessionJsonError(
            f"record {position} of 'Metadata' is {shown(record)}, not an object. Fix: each "
            "record is an object of keys such as cx0, cy0, cz0 and Original_Bbox."
        )
    rec = Record(record, position)
    center = (rec.coordinate("cx0", True), rec.coordinate("cy0", True), rec.coordinate("cz0", True))
    order = axis_order(rec, legacy)
    box = review_box(rec, center, order)  # type: ignore[arg-type]
    check_derived(rec, order)
    rec.coordinate("Middle_Slice")
    category, custom = _category(rec)
    _neuron(rec, "neuron_id", 1)
    added = rec.flag("sd_added_by_hand", False)
    instance_id = rec.whole("sd_instance_id", 0, MAX_SESSION_RECORDS * 10, "an instance id")
    extra: dict[str, Any] = {AXIS_ORDER_KEY: DEFAULT_AXIS_ORDER if legacy else order}
    if added:
        extra[ADDED_BY_HAND_KEY] = True
    compartment = rec.whole("section_index", -1, MAX_SESSION_RECORDS, "a compartment")
    traversal = rec.whole("tree_traversal_index", -1, MAX_INT64, "a traversal index")
    return Instance(
        instance_id=position if instance_id is None else instance_id,
        synapse=Synapse(
            materialization_index=_materialization_index(rec, added),
            center_xyz_vx=center,  # type: ignore[arg-type]
            pre_xyz_vx=_point(rec, "pre_pt"),
            post_xyz_vx=_point(rec, "post_pt"),
            pre_neuron_id=_neuron(rec, "sd_pre_neuron_id", 0),
            post_neuron_id=_neuron(rec, "sd_post_neuron_id", 0),
            synapse_type=rec.synapse_type("sd_synapse_type"),
        ),
        bbox_target_vx=box,
        label=_label(rec),
        seen=rec.flag("sd_seen", rec.flag("Annotated", False)),
        category=category,
        custom_category=custom,
        note=rec.text("sd_note"),
        discarded=rec.flag("sd_discarded", False),
        compartment=None if compartment is None or compartment < 0 else compartment,
        traversal_index=None if traversal is None or traversal < 0 else traversal,
        extra=extra,
    )


# -- the document ---------------------------------------------------------------------------
def _load(text: str | bytes) -> Any:
    if len(text) > MAX_SESSION_JSON_BYTES:
        raise SessionJsonError(
            f"this file is {megabytes(len(text))}; a session JSON may be at most "
            f"{megabytes(MAX_SESSION_JSON_BYTES)}. Fix: split the review into smaller sessions."
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise SessionJsonError(
                "this file is not UTF-8 text, so not a JSON. Fix: upload the .json file that "
                "SynAnno or SynAnno Dash wrote."
            ) from None
    try:
        return json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise SessionJsonError(
            f"this file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "Fix: upload the .json file that SynAnno or SynAnno Dash wrote, unedited."
        ) from None
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> SessionJsonError:
    return SessionJsonError(
        f"this JSON nests lists and objects more than {MAX_JSON_NESTING} levels deep; a "
        "session JSON needs 5. Fix: upload the .json file that SynAnno or SynAnno Dash wrote."
    )


def _check_nesting(document: Any) -> None:
    """Iteratively (no recursion a file could exhaust), stopping at the first level too deep."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_NESTING:
            raise _too_deep()
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def _ours_value(
    ours: dict[str, Any], key: str, check: Callable[[int], bool], rule: str
) -> int | None:
    value = ours.get(key)
    if value is None:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool) and check(value)
    if not ok:
        raise SessionJsonError(
            f"'{OURS_KEY}' -> '{key}' is {shown(value)}; it must be {rule}. Fix: set it to "
            f"{rule}, or remove the key."
        )
    return int(value)


def _single_neuron(records: list[Any]) -> int | None:
    found = set()
    for position, record in enumerate(records):
        found.add(_neuron(Record(record, position), "neuron_id", 1))
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _sizes_text() -> str:
    *first, last = (str(size) for size in PAGE_SIZES)
    return f"{', '.join(first)} or {last}"


def parse_session_json(text: str | bytes) -> RestoredSession:
    """Read ours or the original's JSON; raise ``SessionJsonError`` naming what is wrong."""
    document = _load(text)
    if not isinstance(document, dict) or not isinstance(document.get("Metadata"), list):
        raise SessionJsonError(
            "this JSON has no 'Metadata' list: it is not a session JSON of SynAnno or SynAnno "
            "Dash. Fix: upload the .json file their Download JSON wrote."
        )
    records = document["Metadata"]
    if len(records) > MAX_SESSION_RECORDS:
        raise SessionJsonError(
            f"'Metadata' holds {len(records):,} records; a session holds at most "
            f"{MAX_SESSION_RECORDS:,}. Fix: split the review into smaller sessions."
        )
    _check_nesting(document)
    ours = document.get(OURS_KEY)
    if ours is not None and not isinstance(ours, dict):
        raise SessionJsonError(f"'{OURS_KEY}' is {shown(ours)}, not an object. Fix: remove it.")
    ours = ours or {}
    legacy = ours.get("format_version") == 1 and ours.get("coordinate_order") == LEGACY_ZYX
    items = [_record_to_instance(r, i, legacy) for i, r in enumerate(records)]
    ids = [i.instance_id for i in items]
    if len(set(ids)) == len(ids):  # our ids: kept, so labels stay tied to their instances
        items.sort(key=lambda i: i.instance_id)
    else:  # ids that repeat (the original's Image_Index may): number in file order
        items = [replace(item, instance_id=i) for i, item in enumerate(items)]
    page = _ours_value(ours, "page", lambda p: 1 <= p <= MAX_PAGE, "a page number of 1 or more")
    tiles = _ours_value(ours, "tiles_per_page", lambda t: t in PAGE_SIZES, _sizes_text())
    times, _dropped = clean_stage_times(document.get("Proofread Time"))
    return RestoredSession(
        instances=items,
        proofread_time=times,
        page=page or 1,
        neuron_id=_single_neuron(records),
        tiles_per_page=tiles,
    )
