"""Callback inputs checked at the edge: what a crafted request may put where the page sends
an instance id, a label, a page number, a slice or a text.

The page only sends well-formed values; a request built by hand can send anything (``"abc"``
as a tile's index, ``10**30`` as a page, a list where a text belongs). Each reader returns the
value in the type the services expect or raises ``RefusedInput`` naming the input and what it
must be; the app's error handler shows that message (never the generic one) and nothing is
changed. An instance id that is well-formed but not part of the session is refused by the
store (``StoreError``) and shown the same way.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import TypeVar

from synanno_dash.core.limits import MAX_INT64, MAX_PAGE, MAX_TEXT_CHARS
from synanno_dash.core.synapse_types import MAX_TYPE_CHARS, parse_type

_E = TypeVar("_E", bound=Enum)
_MAX_DIGITS = 19  # MAX_INT64 has 19 digits


class RefusedInput(ValueError):
    """A callback input no page of the app sends; the message names it and what it must be."""

    def __init__(self, what: str, must_be: str) -> None:
        super().__init__(
            f"This request was refused: {what} must be {must_be}. Nothing was changed; reload "
            "the page."
        )


def whole_number(value: object, what: str, low: int = 0, high: int = MAX_INT64) -> int:
    """An integer in ``low..high`` from a JSON number or a string of ASCII digits."""
    must_be = f"a whole number from {low:,} to {high:,}"
    if isinstance(value, bool):
        raise RefusedInput(what, must_be)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_DIGITS:
            raise RefusedInput(what, must_be)
        value = int(text)
    if not isinstance(value, int) or not low <= value <= high:
        raise RefusedInput(what, must_be)
    return value


def instance_id(value: object) -> int:
    """The id of an instance (a tile's index, a card's index, the enlarged instance)."""
    return whole_number(value, "the instance id")


def page_number(value: object) -> int:
    return whole_number(value, "the page number", 1, MAX_PAGE)


def pattern_index(component_id: object) -> int:
    """The instance id in a pattern-matching component id (``{"type": ..., "index": id}``)."""
    index = component_id.get("index") if isinstance(component_id, dict) else None
    return instance_id(index)


def choice(enum_type: type[_E], value: object, what: str) -> _E:
    """A member of ``enum_type`` by its value."""
    for member in enum_type:
        if member.value == value:
            return member
    choices = ", ".join(repr(m.value) for m in enum_type)
    raise RefusedInput(what, f"one of {choices}")


def text(value: object, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """A text (``None`` reads as empty) of at most ``max_chars`` characters."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_chars:
        raise RefusedInput(what, f"a text of at most {max_chars:,} characters")
    return value


def synapse_type(value: object) -> str | None:
    """A synapse type's name (``None`` or empty: no type); whether this server offers it is
    the service's check (``services/synapse_types.py``)."""
    must_be = f"empty or a name of at most {MAX_TYPE_CHARS} printable characters"
    if value is not None and not isinstance(value, str):
        raise RefusedInput("the synapse type", must_be)
    try:
        return parse_type(text(value, "the synapse type", MAX_TYPE_CHARS + 64))
    except ValueError:
        raise RefusedInput("the synapse type", must_be) from None


def fraction(value: object, what: str) -> float:
    """A number from 0 to 1 (an opacity)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise RefusedInput(what, "a number from 0 to 1") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise RefusedInput(what, "a number from 0 to 1")
    return float(value)


def mapping(value: object, what: str) -> dict:
    """A JSON object (``None`` reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RefusedInput(what, "an object")
    return value


# -- the drawing view: what its stores and controls hold ---------------------------------------
MAX_STROKE_POINTS = 100_000  # control points or freehand vertices of one curve
MAX_POINTS_PER_SEGMENT = 32  # the interpolation slider's maximum
MAX_SLICES = 1024  # a crop has at most MAX_CROP_SIDE_VX slices


def points_xy(value: object, what: str) -> list[list[float]]:
    """A list of at most ``MAX_STROKE_POINTS`` [x, y] pairs of finite numbers."""
    must_be = f"a list of at most {MAX_STROKE_POINTS:,} [x, y] pairs of numbers"
    if not isinstance(value, list) or len(value) > MAX_STROKE_POINTS:
        raise RefusedInput(what, must_be)
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise RefusedInput(what, must_be)
        for v in pair:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise RefusedInput(what, must_be)
    return value


def stroke(value: object) -> dict:
    """The current curve: ``{}``, ``{"points": [[x, y], ...]}`` or ``{"freehand": [...]}``."""
    found = mapping(value, "the curve")
    checked: dict = {}
    if "points" in found:
        checked["points"] = points_xy(found["points"], "the curve's points")
    if found.get("freehand"):
        checked["freehand"] = points_xy(found["freehand"], "the freehand curve")
    return checked


def points_per_segment(value: object) -> int:
    return whole_number(value, "the interpolation", 1, MAX_POINTS_PER_SEGMENT)


def slice_index(value: object) -> int:
    return whole_number(value or 0, "the slice", 0, MAX_SLICES - 1)


def drawing_meta(value: object) -> tuple[int, list[int], list[int]]:
    """(instance id, box [x0, y0, z0, x1, y1, z1], EM shape) of the drawing view's store."""
    found = mapping(value, "the drawing's data")
    box = found.get("box")
    shape = found.get("em_shape")
    if not (isinstance(box, list) and len(box) == 6):
        raise RefusedInput("the drawing's box", "six whole numbers")
    if not (isinstance(shape, list) and 2 <= len(shape) <= 3):
        raise RefusedInput("the drawing's image shape", "two or three whole numbers")
    box = [whole_number(v, "the drawing's box", -MAX_INT64, MAX_INT64) for v in box]
    shape = [whole_number(v, "the drawing's image shape", 1, 2**16) for v in shape]
    return instance_id(found.get("instance_id")), box, shape


def point_xy(value: object, what: str) -> tuple[float, float]:
    """A click's ``{"x": .., "y": ..}`` as finite numbers."""
    found = mapping(value, what)
    pair = points_xy([[found.get("x"), found.get("y")]], what)[0]
    return float(pair[0]), float(pair[1])


def voxel_xy(value: object, what: str) -> tuple[int, int]:
    """An [x, y] pair of whole numbers (target voxels), as a view's store holds it."""
    if not (isinstance(value, list) and len(value) == 2):
        raise RefusedInput(what, "[x, y] in target voxels")
    x, y = (whole_number(v, what, -MAX_INT64, MAX_INT64) for v in value)
    return x, y


def listed_position(component_id: object, listed: object, what: str) -> int:
    """The position in a list the page holds (``listed``) of a pattern-matching id's index."""
    index = component_id.get("index") if isinstance(component_id, dict) else None
    count = len(listed) if isinstance(listed, list) else 0
    if count == 0:
        raise RefusedInput(what, "an item of a list the page shows")
    return whole_number(index, what, 0, count - 1)


# -- the missed-synapse view -------------------------------------------------------------------
def local_href(value: object, what: str = "the address to return to") -> str:
    """A path of this app (``/annotation?page=2``), never another site's address."""
    if not (isinstance(value, str) and value.startswith("/") and not value.startswith("//")):
        raise RefusedInput(what, "a path of this app, starting with /")
    return text(value, what, 2048)


def context_back(value: object) -> str:
    """The ``back`` address of the missed-synapse view's context store."""
    return local_href(mapping(value, "the view's context").get("back"))


def candidate(queue: object, step: object) -> tuple[int, int, int] | None:
    """Candidate ``step`` of the queue ([[x, y, z], ...] in target voxels), None past its end."""
    if not isinstance(queue, list) or len(queue) > MAX_STROKE_POINTS:
        raise RefusedInput("the candidates", "a list of [x, y, z] voxels")
    index = whole_number(step, "the candidate number", 0, MAX_STROKE_POINTS)
    if index >= len(queue):
        return None
    voxel = queue[index]
    if not (isinstance(voxel, list) and len(voxel) == 3):
        raise RefusedInput("a candidate", "an [x, y, z] voxel")
    x, y, z = (whole_number(v, "a candidate's voxel", -MAX_INT64, MAX_INT64) for v in voxel)
    return (x, y, z)


# -- the Export views' downloads ----------------------------------------------------------------
def page_origin(value: object, what: str = "the page's address") -> str:
    """The scheme, host and port of the page's address (``dcc.Location.href``), ending in /."""
    from urllib.parse import urlsplit

    address = text(value, what, 2048)
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(
        ord(c) < 33 or ord(c) == 127 for c in parts.netloc
    ):
        raise RefusedInput(what, "an http(s) address")
    return f"{parts.scheme}://{parts.netloc}/"
