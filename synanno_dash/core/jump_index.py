"""Jumping to any position of an ordered selection without OFFSET: a sparse key index.

A selection of a table is its rows in ascending key order (the materialization index). To
read the rows at positions ``[start, stop)``, OFFSET makes the database step over ``start``
rows: page 100,000 of a 24-row grid skips 2.4 million. A ``JumpIndex`` holds the key of every
``stride``-th position (position 0, stride, 2 * stride, ...), so a jump becomes a range read:
the rows with ``anchor <= key < next anchor after the page`` (``span``) in key order, of which
the first ``skip < stride`` are dropped. The index of a 5 x 10^7-row selection at
stride 256 holds about 195,000 keys (1.6 MB).

``JumpIndexBuilder`` collects the index from the keys streamed in ascending order, batch by
batch, in bounded memory; it refuses keys that are not strictly ascending (the caller then
streams them sorted), so an index never silently points at the wrong rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

JUMP_STRIDE = 256  # rows between indexed keys: a jump reads at most this many rows more


class KeysNotAscending(ValueError):
    """The keys given to a ``JumpIndexBuilder`` were not strictly ascending."""


@dataclass(frozen=True)
class JumpIndex:
    """The key of every ``stride``-th position of a selection of ``total`` rows.

    ``keys`` is read-only (int64); ``keys[j]`` is the key at position ``j * stride``."""

    stride: int
    total: int
    keys: np.ndarray

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError(f"the stride of a jump index is at least 1, got {self.stride}")
        expected = -(-self.total // self.stride)
        if self.total < 0 or len(self.keys) != expected:
            raise ValueError(
                f"a jump index of {self.total} rows at stride {self.stride} holds {expected} "
                f"keys, not {len(self.keys)}"
            )
        keys = np.array(self.keys, dtype=np.int64)
        keys.flags.writeable = False
        object.__setattr__(self, "keys", keys)

    def anchor(self, position: int) -> tuple[int, int]:
        """(key at the indexed position at or before ``position``, rows from it to skip)."""
        if not 0 <= position < self.total:
            raise ValueError(f"position {position} is outside the selection of {self.total} rows")
        slot = position // self.stride
        return int(self.keys[slot]), position - slot * self.stride

    def span(self, start: int, stop: int) -> tuple[int, int | None, int]:
        """Keys bounding positions ``[start, stop)``: (low key, high key or None, skip). The
        rows with ``low <= key < high`` (no upper bound when None) are positions from
        ``start - skip`` to a multiple of the stride at or after ``stop``: at most
        ``stop - start + 2 * stride`` rows, a range every database reads without a scan."""
        low, skip = self.anchor(start)
        slot = -(-min(stop, self.total) // self.stride)
        high = int(self.keys[slot]) if slot < len(self.keys) else None
        return low, high, skip

    @classmethod
    def of_keys(cls, keys: Iterable[np.ndarray], stride: int = JUMP_STRIDE) -> JumpIndex:
        """The index of keys given in ascending order, in batches."""
        builder = JumpIndexBuilder(stride)
        for batch in keys:
            builder.add(batch)
        return builder.finish()


class JumpIndexBuilder:
    """Collects every ``stride``-th key of strictly ascending keys given batch by batch."""

    def __init__(self, stride: int = JUMP_STRIDE) -> None:
        if stride < 1:
            raise ValueError(f"the stride of a jump index is at least 1, got {stride}")
        self.stride = stride
        self._count = 0
        self._last: int | None = None
        self._picked: list[np.ndarray] = []

    def add(self, batch: np.ndarray) -> None:
        """The next keys; raises ``KeysNotAscending`` if they do not follow the previous ones
        in strictly ascending order."""
        keys = np.asarray(batch, dtype=np.int64)
        if keys.size == 0:
            return
        if (self._last is not None and keys[0] <= self._last) or np.any(np.diff(keys) <= 0):
            raise KeysNotAscending("the keys are not strictly ascending")
        first = (-self._count) % self.stride  # the first position of this batch to keep
        self._picked.append(keys[first :: self.stride].copy())
        self._count += keys.size
        self._last = int(keys[-1])

    def finish(self) -> JumpIndex:
        keys = np.concatenate(self._picked) if self._picked else np.zeros(0, np.int64)
        return JumpIndex(self.stride, self._count, keys)
