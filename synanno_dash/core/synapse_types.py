"""Synapse types (excitatory, inhibitory, ...): an optional value per synapse.

A type is a short name: trimmed, lower case, 1 to ``MAX_TYPE_CHARS`` printable characters
(``None`` means "not typed"). The types offered for choosing are a configured list
(``Settings.synapse_types``, env ``SYNANNO_SYNAPSE_TYPES``; by default ``DEFAULT_TYPES``); a
type read from a synapse table may be any valid name and stays offered on its own instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

DEFAULT_TYPES: tuple[str, ...] = ("excitatory", "inhibitory", "unknown")
MAX_TYPE_CHARS = 32
MAX_CONFIGURED_TYPES = 32
# Where a table names the type: the first of these columns it has.
TYPE_COLUMNS: tuple[str, ...] = ("synapse_type", "type")
# The name of untyped synapses in per-type exports (connectivity); never a stored type.
UNTYPED = "untyped"


def parse_type(value: object) -> str | None:
    """A stored type from a table cell, a JSON value or a form: ``None`` for empty.

    Raises ``ValueError`` naming what a type must be."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"a synapse type is a name of at most {MAX_TYPE_CHARS} characters")
    text = str(value).strip().lower()
    if not text:
        return None
    if len(text) > MAX_TYPE_CHARS or not text.isprintable():
        raise ValueError(
            f"a synapse type is a name of at most {MAX_TYPE_CHARS} printable characters"
        )
    if text == UNTYPED:
        raise ValueError(f"{UNTYPED!r} is reserved for synapses without a type: leave it empty")
    return text


def parse_type_list(text: str) -> tuple[str, ...]:
    """``"excitatory, inhibitory, gap junction"`` -> the configured list (order kept, each
    name once); refused by name when a name is not a valid type or the list is empty."""
    names: list[str] = []
    for part in text.split(","):
        try:
            name = parse_type(part)
        except ValueError as exc:
            raise ValueError(f"SYNANNO_SYNAPSE_TYPES: {part.strip()[:40]!r}: {exc}") from None
        if name is not None and name not in names:
            names.append(name)
    if not names or len(names) > MAX_CONFIGURED_TYPES:
        raise ValueError(
            f"SYNANNO_SYNAPSE_TYPES must name 1 to {MAX_CONFIGURED_TYPES} types, comma-separated"
        )
    return tuple(names)


def type_choices(configured: Sequence[str], own: str | None) -> list[str]:
    """The types offered for one synapse: the configured ones, then its own if other."""
    return [*configured, own] if own is not None and own not in configured else list(configured)


def types_in_order(configured: Sequence[str], found: Iterable[str | None]) -> tuple[str, ...]:
    """Every type of an export: the configured ones, then the others found, sorted."""
    others = sorted({t for t in found if t is not None and t not in configured})
    return (*configured, *others)
