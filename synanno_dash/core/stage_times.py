"""Stage times of a review ("Proofread Time" in the session JSON), as the original writes them.

Times are ISO 8601 with microseconds (``2026-11-22T11:13:01.816134``, UTC, no zone suffix,
like the original's naive ``datetime.isoformat()``); differences are ``H:MM:SS.ffffff`` (hours
may exceed 24). Older sessions of ours stored ``YYYY-MM-DD HH:MM:SS``; the original may write
a difference as ``1 day, 2:03:04.5`` or a sentence when its timer ran out of order. All of
these are read; anything unreadable is kept as text and left out of the differences.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from synanno_dash.core.limits import MAX_TEXT_CHARS

STAGES = ("grid", "categorize", "draw")
MAX_STAGE_KEYS = 64
_DIFFERENCE = re.compile(
    r"^\s*(?:(?P<days>-?\d{1,6}) days?, )?"  # str(timedelta) of a day or more
    r"(?P<h>\d{1,9}):(?P<m>\d{2}):(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?\s*$"
)


def now_iso() -> str:
    """The current UTC time, ISO 8601 with microseconds (``2026-11-22T11:13:01.816134``)."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def file_stamp() -> str:
    """The current UTC time for a file or folder name (``2026-11-22T11-13-01.816134``)."""
    return now_iso().replace(":", "-")


def parse_time(value: object) -> datetime | None:
    """A stage time in any form we or the original wrote; ``None`` when it is not one."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())  # also reads "YYYY-MM-DD HH:MM:SS"
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def format_difference(delta: timedelta) -> str:
    """``H:MM:SS.ffffff``, always with microseconds; negative differences get a minus sign."""
    sign = "-" if delta < timedelta(0) else ""
    micros = abs(delta) // timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{sign}{hours}:{minute:02d}:{second:02d}.{fraction:06d}"


def parse_difference(value: object) -> timedelta | None:
    """``H:MM:SS[.ffffff]`` or ``N day(s), H:MM:SS[.ffffff]`` (``str(timedelta)``)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    match = _DIFFERENCE.match(value)
    if match is None:
        return None
    fraction = (match["f"] or "").ljust(6, "0")
    return timedelta(
        days=int(match["days"] or 0),
        hours=int(match["h"]),
        minutes=int(match["m"]),
        seconds=int(match["s"]),
        microseconds=int(fraction or 0),
    )


def proofread_time(stage_times: dict[str, Any]) -> dict[str, Any]:
    """The stage times with ``difference_<stage>`` for every stage with a start and a finish.

    A difference that cannot be computed (a time in an unknown form) keeps what was stored.
    """
    result = dict(stage_times)
    for stage in STAGES:
        start = parse_time(stage_times.get(f"start_{stage}"))
        finish = parse_time(stage_times.get(f"finish_{stage}"))
        if start is not None and finish is not None:
            result[f"difference_{stage}"] = format_difference(finish - start)
    return result


def clean_stage_times(value: object) -> tuple[dict[str, str | None], list[str]]:
    """A restored "Proofread Time" kept only as short text or null values.

    Returns the kept entries and the keys left out (not text, too long, too many), so the
    caller can say what was dropped rather than fail: times never decide what is reviewed.
    """
    if not isinstance(value, dict):
        return {}, [] if value is None else ["Proofread Time"]
    kept: dict[str, str | None] = {}
    dropped: list[str] = []
    for key, item in value.items():
        if len(kept) >= MAX_STAGE_KEYS or len(key) > 64:
            dropped.append(key[:64])
        elif item is None or (isinstance(item, str) and len(item) <= MAX_TEXT_CHARS):
            kept[key] = item
        else:
            dropped.append(key)
    return kept, dropped
