"""Exports for the tools after proofreading (issue 13): a session's connectivity and its
synapses in the CAVE schema, for the command line (``synanno-dash export``)."""

from __future__ import annotations

from pathlib import Path

from synanno_dash.core.connectivity import connectivity
from synanno_dash.data.annotation_layer import write_annotation_layer
from synanno_dash.data.connectome_files import write_cave_table, write_connectivity
from synanno_dash.data.store import SessionStore

FORMATS = ("connectivity", "cave", "ng-annotations")


class ExportError(ValueError):
    """An export that cannot run; the message names the problem and the fix."""


def export_session(store: SessionStore, session_id: str, fmt: str, out_base: Path) -> list[Path]:
    """Write the session's ``fmt`` export at ``out_base`` (suffixes are added to files; the
    annotation layer is the folder ``out_base``); the paths written."""
    if fmt not in FORMATS:
        raise ExportError(
            f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}."
        )
    if not store.session_exists(session_id):
        raise ExportError(
            f"No session {session_id!r} in the store: copy the session id from the Menu, and "
            "give the same --data-dir (or SYNANNO_DATABASE_URL) as the server."
        )
    items = store.instances(session_id)
    if not items:
        raise ExportError(f"Session {session_id!r} has no synapses yet: open a dataset first.")
    if fmt == "ng-annotations":
        config = store.load_config(session_id)
        if config is None:
            raise ExportError(f"Session {session_id!r} has no dataset: open one first.")
        try:
            layer = write_annotation_layer(items, out_base, config.target_resolution)
        except FileExistsError as exc:
            raise ExportError(str(exc)) from None
        return [layer.path]
    out_base = out_base.with_suffix("") if out_base.suffix else out_base
    if fmt == "connectivity":
        return write_connectivity(connectivity(items), out_base)
    return write_cave_table(items, out_base)
