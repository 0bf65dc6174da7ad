"""Write a file or folder under a temporary name beside its final one, then publish it by an
atomic rename: a reader never sees a half-written result under the final name, and a failed
or cancelled write leaves nothing there (one home for exports' "partial then rename").
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def partial_path(final: Path) -> Path:
    """A hidden temporary name beside ``final`` (same folder: the rename is atomic)."""
    return final.with_name(f".{final.name}.partial-{secrets.token_hex(4)}")


def discard(partial: Path) -> None:
    """Remove what a failed write left under its temporary name (if anything)."""
    if partial.is_dir():
        shutil.rmtree(partial, ignore_errors=True)
    elif partial.is_file():
        partial.unlink()


def publish(partial: Path, final: Path) -> None:
    """Give a completely written file or folder its final name (replacing an earlier one)."""
    if final.is_dir():
        shutil.rmtree(final)
    os.replace(partial, final)


@contextmanager
def written_atomically(final: Path) -> Iterator[Path]:
    """The temporary path to write ``final`` to: published when the block completes,
    discarded (and the exception passed on) when it raises."""
    partial = partial_path(final)
    try:
        yield partial
        publish(partial, final)
    except BaseException:
        discard(partial)
        raise
