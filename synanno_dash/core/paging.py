"""Stable paging of an ordered list of instances."""

from __future__ import annotations

import math
from collections.abc import Sequence

PAGE_SIZES = (6, 12, 24)


def page_count(total: int, per_page: int) -> int:
    if per_page <= 0:
        raise ValueError("tiles per page must be positive")
    return max(1, math.ceil(total / per_page))


def page_slice(page: int, per_page: int) -> slice:
    """Items of a 1-based page number."""
    if page < 1:
        raise ValueError("pages are numbered from 1")
    start = (page - 1) * per_page
    return slice(start, start + per_page)


def page_of_index(index: int, per_page: int) -> int:
    """The 1-based page holding the 0-based position ``index``."""
    return index // per_page + 1


def pages_by_group(groups: Sequence[int], per_page: int) -> list[tuple[int, int]]:
    """Split an ordered sequence into pages that never mix groups.

    ``groups`` holds one group key per item (e.g. a compartment), already sorted so that
    equal keys are adjacent. Returns (start, stop) index pairs, one per page.
    """
    pages: list[tuple[int, int]] = []
    start = 0
    n = len(groups)
    while start < n:
        stop = start
        while stop < n and stop - start < per_page and groups[stop] == groups[start]:
            stop += 1
        pages.append((start, stop))
        start = stop
    return pages
