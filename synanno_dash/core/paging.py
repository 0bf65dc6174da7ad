"""Paging of the review: the one rule for the grid, the neuron view and the session JSON.

A review is an ordered list of instances (table order, or compartment then traversal order
in neuron-centric sessions). Pages hold at most ``per_page`` consecutive instances and never
mix compartments. Positions are 0-based places in review order; pages are numbered from 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PAGE_SIZES = (6, 12, 24)


def page_count(total: int, per_page: int) -> int:
    if per_page <= 0:
        raise ValueError("tiles per page must be positive")
    return max(1, math.ceil(total / per_page))


def page_slice(page: int, per_page: int) -> slice:
    """Items of a 1-based page number of a list without groups."""
    if page < 1:
        raise ValueError("pages are numbered from 1")
    start = (page - 1) * per_page
    return slice(start, start + per_page)


def page_of_index(index: int, per_page: int) -> int:
    """The 1-based page holding the 0-based position ``index`` of a list without groups."""
    return index // per_page + 1


def pages_by_group(groups: Sequence[int], per_page: int) -> list[tuple[int, int]]:
    """Split an ordered sequence into pages that never mix groups.

    ``groups`` holds one group key per item (e.g. a compartment), already sorted so that
    equal keys are adjacent. Returns (start, stop) index pairs, one per page.
    """
    if per_page <= 0:
        raise ValueError("tiles per page must be positive")
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


_NO_COMPARTMENT = -1


@dataclass(frozen=True)
class ReviewPages:
    """The pages of one review. ``bounds[p - 1]`` is the (start, stop) of page ``p``;
    an empty review has one empty page ``(0, 0)``."""

    bounds: tuple[tuple[int, int], ...]
    compartments: tuple[int | None, ...]  # per position, in review order

    @classmethod
    def of(cls, compartments: Sequence[int | None], per_page: int) -> ReviewPages:
        """Pages from each instance's compartment (None in volume-centric sessions)."""
        groups = [_NO_COMPARTMENT if c is None else int(c) for c in compartments]
        bounds = pages_by_group(groups, per_page) or [(0, 0)]
        return cls(tuple(bounds), tuple(compartments))

    @property
    def count(self) -> int:
        return len(self.bounds)

    @property
    def is_empty(self) -> bool:
        return not self.compartments

    def clamp(self, page: int) -> int:
        """``page`` moved into 1..count."""
        return min(max(1, page), self.count)

    def positions(self, page: int) -> tuple[int, int]:
        """(start, stop) positions of a page (clamped into range)."""
        return self.bounds[self.clamp(page) - 1]

    def page_of_position(self, position: int) -> int:
        """The page holding a position in review order."""
        if not 0 <= position < len(self.compartments):
            raise IndexError(f"position {position} is not part of this review")
        low, high = 0, len(self.bounds) - 1
        while low < high:  # bounds are sorted: binary search
            middle = (low + high) // 2
            if self.bounds[middle][1] <= position:
                low = middle + 1
            else:
                high = middle
        return low + 1

    def page_of_each_position(self) -> list[int]:
        """The page of every position, in review order."""
        pages = [0] * len(self.compartments)
        for page, (start, stop) in enumerate(self.bounds, start=1):
            pages[start:stop] = [page] * (stop - start)
        return pages

    def first_pages(self) -> dict[int, int]:
        """compartment -> the page where it starts."""
        first: dict[int, int] = {}
        for page, (start, stop) in enumerate(self.bounds, start=1):
            compartment = self.compartments[start] if start < stop else None
            if compartment is not None:
                first.setdefault(int(compartment), page)
        return first

    def compartment_ending_on(self, page: int) -> int | None:
        """The compartment whose last page ``page`` is; None when it is not a compartment's
        last page, or has no compartment, or does not exist."""
        if not 1 <= page <= self.count:
            return None
        start, stop = self.bounds[page - 1]
        compartment = self.compartments[start] if start < stop else None
        if compartment is None:
            return None
        if stop < len(self.compartments) and self.compartments[stop] == compartment:
            return None
        return int(compartment)


@dataclass(frozen=True)
class UniformPages:
    """The pages of a review without compartments, known only by its size: page ``p``
    holds positions ``[(p - 1) * per_page, p * per_page)``. Nothing per position is held,
    so a review of 10^8 instances costs what one of ten does (``ReviewPages`` otherwise)."""

    total: int
    per_page: int

    def __post_init__(self) -> None:
        if self.per_page <= 0:
            raise ValueError("tiles per page must be positive")
        if self.total < 0:
            raise ValueError(f"a review has a non-negative size, got {self.total}")

    @property
    def count(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    def clamp(self, page: int) -> int:
        """``page`` moved into 1..count."""
        return min(max(1, page), self.count)

    def positions(self, page: int) -> tuple[int, int]:
        """(start, stop) positions of a page (clamped into range)."""
        start = (self.clamp(page) - 1) * self.per_page
        return (start, min(start + self.per_page, self.total))

    def page_of_position(self, position: int) -> int:
        """The page holding a position in review order."""
        if not 0 <= position < self.total:
            raise IndexError(f"position {position} is not part of this review")
        return page_of_index(position, self.per_page)
