"""What the commands that read a stored session share (``export``, ``report``): the
``--session``/``--data-dir`` arguments and the session store they open."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from synanno_dash.settings import Settings

if TYPE_CHECKING:
    from synanno_dash.data.store import SessionStore


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """``--session ID`` (required) and ``--data-dir``."""
    parser.add_argument("--session", required=True, help="session id (shown in the Menu)")
    parser.add_argument("--data-dir", help="data folder (env SYNANNO_DATA_DIR)")


@contextmanager
def session_store(
    args: argparse.Namespace, settings: Settings
) -> Iterator[tuple[SessionStore, Settings]]:
    """The session store of the settings (``--data-dir`` applied), closed on leaving."""
    if args.data_dir:
        settings = settings.with_changes(data_dir=Path(args.data_dir).expanduser())
    from synanno_dash.data.store import SessionStore

    store = SessionStore(settings.effective_database_url)
    try:
        yield store, settings
    finally:
        store.engine.dispose()
