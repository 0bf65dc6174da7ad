"""The *Import predictions* panel of Open Data, declared once (as ``core.open_data_form``):
each field's name, label, hint, bound and parser. The layout (``ui/import_panel.py``), the
job's inputs and the parsing (``parse_import_form``) derive from ``IMPORT_FIELDS``; a field's
component id is ``ids.import_field(name)`` ("imp-" + name).

Every field is bounded before it is parsed (``max_chars``; paths hold no control
characters); numbers are finite and within the ranges below, each problem with its own
message naming the fix. The dtype-dependent checks (a threshold inside the map's value range,
an empty result) are the importer's (``data.prediction_import``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from synanno_dash.core.detection import (
    DEFAULT_MAX_SIZE_VX,
    DEFAULT_MIN_SIZE_VX,
    DEFAULT_THRESHOLD,
    MAX_CLOSING_VX,
    DetectionParameters,
)
from synanno_dash.core.forms import FieldError, parse_resolution
from synanno_dash.core.geometry import Resolution
from synanno_dash.core.limits import MAX_FIELD_CHARS, MAX_PATH_CHARS

MAX_SIZE_VX = 10**12  # a component's voxels (10^12: a 10,000^3 box)
MAX_THRESHOLD = 255.0  # uint8 maps hold 0-255, float maps 0-1
MAX_CHANNEL = 1023


class Method(StrEnum):
    THRESHOLD = "threshold"
    HYSTERESIS = "hysteresis"

    @property
    def label(self) -> str:
        return {"threshold": "one threshold", "hysteresis": "hysteresis (two thresholds)"}[
            self.value
        ]


@dataclass(frozen=True)
class ImportForm:
    """The panel's raw text."""

    map_url: str = ""
    resolution: str = ""
    method: str = Method.THRESHOLD.value
    threshold: str = str(DEFAULT_THRESHOLD)
    hysteresis: str = ""
    min_size: str = str(DEFAULT_MIN_SIZE_VX)
    max_size: str = str(DEFAULT_MAX_SIZE_VX)
    closing: str = "0"
    channel: str = ""
    neuropil: str = ""
    source: str = ""


@dataclass(frozen=True)
class ImportChoices:
    """The parsed panel: what the import is asked to do."""

    map_url: str
    params: DetectionParameters
    resolution: Resolution | None = None
    channel: int | None = None
    neuropil_url: str | None = None
    source_url: str | None = None


@dataclass(frozen=True)
class ImportField:
    name: str  # the ``ImportForm`` attribute; the component id is "imp-" + name
    label: str
    placeholder: str = ""
    help_text: str = ""
    max_chars: int = MAX_FIELD_CHARS
    is_path: bool = False
    required: bool = False


IMPORT_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "map_url", "Probability map or label volume",
        "precomputed URL or folder, FILE.h5[:/DATASET], FILE.tif, FOLDER.zarr, FOLDER.n5",
        "float32/float64 in 0-1, uint8 in 0-255, or a label volume (uint16/32/64).",
        MAX_PATH_CHARS, is_path=True, required=True,
    ),
    ImportField(
        "resolution", "Map resolution (nm)", "x, y, z",
        "Needed for HDF5, TIFF and zarr (they carry none); empty: the source's. A "
        "precomputed map's own info must agree.",
    ),
    ImportField("method", "Foreground", max_chars=20),
    ImportField("threshold", "Threshold", "0.5", "Foreground: value > threshold."),
    ImportField(
        "hysteresis", "Hysteresis LOW, HIGH", "0.3, 0.7",
        "Components of value > LOW holding a voxel > HIGH.",
    ),
    ImportField("min_size", "Min size (voxels)", str(DEFAULT_MIN_SIZE_VX)),
    ImportField("max_size", "Max size (voxels)", str(DEFAULT_MAX_SIZE_VX)),
    ImportField(
        "closing", "Closing radius (voxels)", "0",
        f"0 to {MAX_CLOSING_VX}: fills small gaps before labelling.",
    ),
    ImportField(
        "channel", "Channel (4D HDF5)", "empty = 3D map",
        "The synapse class of a multi-channel map.",
    ),
    ImportField(
        "neuropil", "Neuropil (optional)", "precomputed URL",
        "Gives pre/post neuron ids and points; must cover the map.", MAX_PATH_CHARS,
        is_path=True,
    ),
    ImportField(
        "source", "Source EM (optional)", "precomputed URL",
        "Decides the pre side; the map must lie on its grid.", MAX_PATH_CHARS, is_path=True,
    ),
)  # fmt: skip
IMPORT_FIELD = {f.name: f for f in IMPORT_FIELDS}
assert set(IMPORT_FIELD) == set(ImportForm.__dataclass_fields__), "every value is declared"


def import_form_from_inputs(values: Mapping[str, object]) -> ImportForm:
    """The form from its components' values by field name (None: empty)."""
    return ImportForm(**{name: "" if v is None else str(v) for name, v in values.items()})


def _text_problem(field: ImportField, text: str) -> str:
    if len(text) > field.max_chars:
        what = "a path or URL" if field.is_path else "this field"
        return (
            f"{field.label}: {what} holds at most {field.max_chars:,} characters; this one has "
            f"{len(text):,}. Check what was pasted."
        )
    if field.is_path and any(ord(c) < 32 or ord(c) == 127 for c in text.strip()):
        return f"{field.label}: this field cannot hold control characters (line breaks, tabs)."
    if field.required and not text.strip():
        return f"{field.label}: give the map to import (a path or URL)."
    return ""


def _number(text: str, label: str, low: float, high: float) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise FieldError(f"{label}: '{text.strip()[:20]}' is not a number.") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise FieldError(f"{label}: give a number from {low:g} to {high:g}.")
    return value


def _whole(text: str, label: str, low: int, high: int) -> int:
    stripped = text.strip().replace(",", "").replace("_", "")
    if not stripped.isdigit() or len(stripped) > 13 or not low <= int(stripped) <= high:
        raise FieldError(f"{label}: give a whole number from {low:,} to {high:,}.")
    return int(stripped)


def _hysteresis(text: str) -> tuple[float, float]:
    label = IMPORT_FIELD["hysteresis"].label
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
    if len(parts) != 2:
        raise FieldError(f"{label}: give two numbers LOW, HIGH (e.g. 0.3, 0.7).")
    low, high = (_number(p, label, 0.0, MAX_THRESHOLD) for p in parts)
    if not low < high:
        raise FieldError(f"{label}: LOW must be below HIGH (e.g. 0.3, 0.7).")
    return low, high


def _method(form: ImportForm) -> Method:
    try:
        return Method(form.method)
    except ValueError:
        raise FieldError("Foreground: choose one threshold or hysteresis.") from None


Parser = Callable[[ImportForm], Any]
_PARSERS: dict[str, Parser] = {
    "resolution": lambda f: parse_resolution(f.resolution, "Map resolution"),
    "method": _method,
    "threshold": lambda f: _number(f.threshold, "Threshold", 0.0, MAX_THRESHOLD)
    if f.method == Method.THRESHOLD.value else None,
    "hysteresis": lambda f: _hysteresis(f.hysteresis)
    if f.method == Method.HYSTERESIS.value else None,
    "min_size": lambda f: _whole(f.min_size, "Min size", 1, MAX_SIZE_VX),
    "max_size": lambda f: _whole(f.max_size, "Max size", 1, MAX_SIZE_VX),
    "closing": lambda f: _whole(f.closing or "0", "Closing radius", 0, MAX_CLOSING_VX),
    "channel": lambda f: _whole(f.channel, "Channel", 0, MAX_CHANNEL) if f.channel.strip()
    else None,
}  # fmt: skip


def parse_import_form(form: ImportForm) -> tuple[ImportChoices | None, dict[str, str]]:
    """(the choices, or None when a field has a problem; messages by field name)."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in IMPORT_FIELDS:
        problem = _text_problem(field, getattr(form, field.name))
        if problem:
            errors[field.name] = problem
        elif field.name in _PARSERS:
            try:
                parsed[field.name] = _PARSERS[field.name](form)
            except FieldError as exc:
                errors[field.name] = str(exc)
    if not errors and parsed["max_size"] < parsed["min_size"]:
        errors["max_size"] = "Max size: give at least the min size."
    if errors:
        return None, errors
    params = DetectionParameters(
        threshold=parsed["threshold"] if parsed["threshold"] is not None else DEFAULT_THRESHOLD,
        hysteresis=parsed["hysteresis"],
        min_size_vx=parsed["min_size"],
        max_size_vx=parsed["max_size"],
        closing_vx=parsed["closing"],
    )
    choices = ImportChoices(
        form.map_url.strip(), params, parsed["resolution"], parsed["channel"],
        form.neuropil.strip() or None, form.source.strip() or None,
    )  # fmt: skip
    return choices, errors
