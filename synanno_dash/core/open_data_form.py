"""The Open Data form, declared once: each field's name, component, label, hints, how its
raw value is read, its parser and when it is required, with the messages.

The layout (``ui/open_data_form.py``), the submit callback's inputs (``pages/open_data.py``)
and the parsing (``parse_form``, used by ``services/prepare.py``) all derive from
``FIELDS``. A field's component id is ``ids.open_data(field.component)`` ("od-" + component).
Errors are keyed by ``FormField.error_key`` (the field name unless said otherwise).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from synanno_dash.core.forms import (
    FieldError,
    parse_axis_order,
    parse_bbox,
    parse_crop_size,
    parse_neuron_id,
    parse_resolution,
    parse_tiles_per_page,
)
from synanno_dash.core.instances import DEFAULT_CROP_SIZE_XYZ_VX, Mode, Workflow
from synanno_dash.core.limits import MAX_FIELD_CHARS, MAX_PATH_CHARS, MAX_REVIEWER_CHARS
from synanno_dash.core.session_json import SessionJsonError, parse_session_json


@dataclass(frozen=True)
class OpenDataForm:
    """The raw text of the Open Data form (uploads decoded to text)."""

    source: str = ""
    target: str = ""
    neuropil: str = ""
    table: str = ""
    secrets: str = ""
    mode: str = Mode.VOLUME.value
    axis_order: str = "xyz"
    box_start: str = ""
    box_stop: str = ""
    source_res: str = ""
    target_res: str = ""
    table_res: str = ""
    neuron_id: str = ""
    crop_size: str = ", ".join(str(v) for v in DEFAULT_CROP_SIZE_XYZ_VX)
    tiles_per_page: str = "24"
    review_order: str = "table"  # ReviewOrder: table order, or least confident first
    session_json: str = ""  # the uploaded session JSON's text, to restore a session
    workflow: str = Workflow.DETECTION.value  # which landing button started it
    swc_text: str = ""  # neuron-centric: an uploaded SWC skeleton instead of the neuropil's
    swc_unit_nm: str = "1"  # nm per SWC coordinate unit
    reviewer: str = ""  # who decides: recorded with every decision in the edit log

    @property
    def is_neuron_centric(self) -> bool:
        return self.mode == Mode.NEURON.value


class ReviewOrder(StrEnum):
    """The order of a volume-centric review: the table's, or its ``confidence`` column
    ascending (a detector's least certain detections first)."""

    TABLE = "table"
    LEAST_CONFIDENT = "least-confident"

    @property
    def label(self) -> str:
        return {"table": "table order", "least-confident": "least confident first"}[self.value]


def _review_order(form: OpenDataForm) -> ReviewOrder:
    try:
        return ReviewOrder(form.review_order)
    except ValueError:
        raise FieldError(
            f"unknown review order {form.review_order!r}; choose "
            + " or ".join(repr(o.value) for o in ReviewOrder) + "."
        ) from None


class FieldKind(StrEnum):
    TEXT = "text"  # a text input with its message under it
    INPUT = "input"  # a text input without a message of its own
    SELECT = "select"
    RADIO = "radio"
    UPLOAD = "upload"  # a dcc.Upload; its value is a base64 data URL, read as text
    STORE = "store"  # a dcc.Store the page sets (e.g. the workflow)


UNREADABLE_UPLOAD = "\x00not-utf8"  # what an upload that is not UTF-8 text reads as


def decode_upload(contents: object) -> str:
    """The text of a ``dcc.Upload`` (a base64 data URL); empty when nothing was chosen; a
    file that is not UTF-8 text reads as ``UNREADABLE_UPLOAD``, which its parser reports."""
    if not contents:
        return ""
    _header, _, payload = str(contents).partition(",")
    try:
        return base64.b64decode(payload).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return UNREADABLE_UPLOAD


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _or_default(name: str) -> Callable[[object], str]:
    """Read a value, the form's default when it is empty."""
    default = str(OpenDataForm.__dataclass_fields__[name].default)
    return lambda value: _text(value) or default


def _workflow(value: object) -> str:
    return Workflow.parse(_text(value)).value


def _always(_form: OpenDataForm) -> bool:
    return True


@dataclass(frozen=True)
class FormField:
    name: str  # the ``OpenDataForm`` attribute
    component: str  # the component id is "od-" + component
    label: str
    kind: FieldKind = FieldKind.TEXT
    placeholder: str = ""
    help_text: str = ""
    parse: Callable[[OpenDataForm], object] | None = None  # FieldError -> its message
    required: Callable[[OpenDataForm], bool] | None = None
    required_message: str = ""
    error_key: str = ""  # where its errors go (default: ``name``)
    read: Callable[[object], str] = _text  # the component's value -> the form's text
    # Longest text accepted, checked before any parsing (uploads: None, bounded by their
    # loaders); a path or URL may also hold no control characters.
    max_chars: int | None = MAX_FIELD_CHARS
    is_path: bool = False

    @property
    def value_prop(self) -> str:
        """The component property holding the value."""
        return {FieldKind.UPLOAD: "contents", FieldKind.STORE: "data"}.get(self.kind, "value")

    @property
    def key(self) -> str:
        return self.error_key or self.name

    @property
    def has_feedback(self) -> bool:
        """Its message shows under it (``ids.feedback``), else in a status line."""
        return self.kind is FieldKind.TEXT


def _resolution(name: str, what: str) -> Callable[[OpenDataForm], object]:
    return lambda form: parse_resolution(getattr(form, name), what)


def _bbox(form: OpenDataForm) -> object:
    return parse_bbox(form.box_start, form.box_stop, parse_axis_order(form.axis_order))


def _neuron_id(form: OpenDataForm) -> int | None:
    return parse_neuron_id(form.neuron_id) if form.is_neuron_centric else None


def _mode(form: OpenDataForm) -> Mode:
    try:
        return Mode(form.mode)
    except ValueError:
        choices = " or ".join(m.value for m in Mode)
        raise FieldError(f"the selection is {choices}, not '{form.mode[:20]}'.") from None


def _session_json(form: OpenDataForm) -> object:
    return parse_session_json(form.session_json) if form.session_json else None


def _needs_neuropil(form: OpenDataForm) -> bool:
    return form.is_neuron_centric and not form.swc_text


FIELDS: tuple[FormField, ...] = (
    FormField("workflow", "workflow", "Workflow", FieldKind.STORE, read=_workflow),
    FormField(
        "reviewer", "reviewer", "Reviewer name (recorded with every decision)",
        placeholder="your name (optional)", max_chars=MAX_REVIEWER_CHARS,
    ),
    FormField(
        "source", "source", "Source (EM image)",
        max_chars=MAX_PATH_CHARS, is_path=True,
        placeholder="precomputed URL: gs://, s3://, https://, file://",
        required=_always, required_message="the source is required.",
    ),
    FormField(
        "target", "target", "Target (synapse clefts)", placeholder="precomputed URL",
        max_chars=MAX_PATH_CHARS, is_path=True,
        required=_always, required_message="the target is required.",
    ),
    FormField(
        "neuropil", "neuropil", "Neuropil (neurons, neuron-centric)",
        max_chars=MAX_PATH_CHARS, is_path=True,
        placeholder="precomputed URL (optional)", required=_needs_neuropil,
        required_message="neuron-centric review needs the neuropil (neuron) segmentation.",
    ),
    FormField(
        "table", "table", "Synapse table (materialization)",
        max_chars=MAX_PATH_CHARS, is_path=True,
        placeholder="CSV or Parquet path or file:// URL",
        required=lambda form: not form.session_json, required_message="the table is required.",
    ),
    FormField(
        "secrets", "secrets", "Credentials file (optional)",
        max_chars=MAX_PATH_CHARS, is_path=True,
        placeholder="default: ~/.cloudvolume/secrets",
    ),
    FormField(
        "session_json", "json-upload", "Session JSON (optional, restores a session)",
        FieldKind.UPLOAD, placeholder="Drop a JSON here or ", parse=_session_json,
        read=decode_upload, max_chars=None,
    ),
    FormField(
        "mode", "mode", "Selection", FieldKind.RADIO, parse=_mode, read=_or_default("mode")
    ),
    FormField("axis_order", "axis-order", "Axis order of the box", FieldKind.SELECT),
    FormField(
        "box_start", "box-start", "Box start (target voxels)",
        placeholder="empty = whole table", parse=_bbox,
    ),
    FormField(
        "box_stop", "box-stop", "Box stop (target voxels)", FieldKind.INPUT,
        placeholder="empty = whole table",
    ),
    FormField(
        "neuron_id", "neuron-id", "Neuron id", placeholder="a 64-bit segment id",
        help_text="Type an id, pick a row of the list below, or choose it in Neuroglancer.",
        parse=_neuron_id,
    ),
    FormField(
        "swc_text", "swc-upload",
        "Skeleton as SWC (optional: instead of the neuropil layer's skeletons)",
        FieldKind.UPLOAD, placeholder="Drop an .swc file here or ", error_key="swc",
        read=decode_upload, max_chars=None,
    ),
    FormField(
        "swc_unit_nm", "swc-unit", "nm per unit", FieldKind.INPUT, read=_or_default("swc_unit_nm")
    ),
    FormField(
        "source_res", "source-res", "Source resolution (nm)", placeholder="x, y, z",
        parse=_resolution("source_res", "source resolution"),
    ),
    FormField(
        "target_res", "target-res", "Target resolution (nm)", placeholder="x, y, z",
        parse=_resolution("target_res", "target resolution"),
    ),
    FormField(
        "table_res", "table-res", "Table resolution (nm)", placeholder="empty = target voxels",
        parse=_resolution("table_res", "table resolution"),
    ),
    FormField(
        "crop_size", "crop-size", "Crop size (target voxels)", placeholder="x, y, z",
        parse=lambda form: parse_crop_size(form.crop_size),
    ),
    FormField(
        "tiles_per_page", "tiles-per-page", "Tiles per page", FieldKind.SELECT,
        parse=lambda form: parse_tiles_per_page(form.tiles_per_page),
        read=_or_default("tiles_per_page"),
    ),
    FormField(
        "review_order", "review-order", "Order", FieldKind.SELECT,
        help_text="Least confident first needs a confidence column (import-predictions "
        "writes one) and a volume-centric selection stored whole (at most 50,000 synapses).",
        parse=_review_order, read=_or_default("review_order"),
    ),
)  # fmt: skip
FIELD = {f.name: f for f in FIELDS}
assert set(FIELD) == {f.name for f in fields(OpenDataForm)}, "every form value is declared"


def form_from_inputs(values: Mapping[str, object]) -> OpenDataForm:
    """The form from its components' values, keyed by field name (missing ones: defaults;
    empty text stays empty, so a cleared field is reported, not silently defaulted)."""
    return OpenDataForm(**{name: FIELD[name].read(value) for name, value in values.items()})


def parse_form(form: OpenDataForm) -> tuple[dict[str, Any], dict[str, str]]:
    """(parsed values by field name, messages by error key): every field is checked and
    each problem gets its own message naming the fix."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        problem = _text_problem(field, str(getattr(form, field.name)))
        if problem:
            errors.setdefault(field.key, problem)
            continue
        if field.parse is not None:
            try:
                parsed[field.name] = field.parse(form)
            except (FieldError, SessionJsonError) as exc:
                errors[field.key] = str(exc)
        required = field.required is not None and field.required(form)
        if required and not str(getattr(form, field.name)).strip():
            errors.setdefault(field.key, field.required_message)
    return parsed, errors


def _text_problem(field: FormField, text: str) -> str:
    """What is wrong with a field's raw text before parsing (too long, control characters
    in a path), or ``""``; the text itself is never quoted."""
    if field.max_chars is not None and len(text) > field.max_chars:
        what = "a path or URL" if field.is_path else "this field"
        return (
            f"{field.label}: {what} holds at most {field.max_chars:,} characters; "
            f"this one has {len(text):,}. Check what was pasted."
        )
    if (field.is_path or field.name == "reviewer") and any(
        ord(c) < 32 or ord(c) == 127 for c in text.strip()
    ):
        return f"{field.label}: this field cannot hold control characters (line breaks, tabs)."
    return ""
