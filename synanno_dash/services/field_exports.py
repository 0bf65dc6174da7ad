"""Exports for the tools after proofreading (issue 13): a session's connectivity and its
synapses in the CAVE schema, for the command line (``synanno-dash export``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synanno_dash.core.connectivity import connectivity
from synanno_dash.core.synapse_types import DEFAULT_TYPES
from synanno_dash.data.annotation_layer import type_enum, type_shader, write_annotation_layer
from synanno_dash.data.connectome_files import write_cave_table, write_connectivity
from synanno_dash.data.store import SessionStore
from synanno_dash.services.local_data import resolved_folder
from synanno_dash.services.ng_state import ViewSpec, build_state, neuroglancer_source

FORMATS = ("connectivity", "cave", "ng-annotations", "ng-state")
ANNOTATIONS_LAYER = "proofread synapses"


class ExportError(ValueError):
    """An export that cannot run; the message names the problem and the fix."""


def export_session(
    store: SessionStore, session_id: str, fmt: str, out_base: Path, base_url: str = "",
    annotations_url: str = "", synapse_types: Sequence[str] = DEFAULT_TYPES,
) -> list[Path]:
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
    if fmt == "ng-state":
        document = ng_state_document(store, session_id, base_url, annotations_url, synapse_types)
        path = out_base.with_suffix(".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1))
        return [path]
    if fmt == "ng-annotations":
        config = store.load_config(session_id)
        if config is None:
            raise ExportError(f"Session {session_id!r} has no dataset: open one first.")
        try:
            layer = write_annotation_layer(
                items, out_base, config.target_resolution, synapse_types
            )
        except FileExistsError as exc:
            raise ExportError(str(exc)) from None
        return [layer.path]
    out_base = out_base.with_suffix("") if out_base.suffix else out_base
    if fmt == "connectivity":
        return write_connectivity(connectivity(items), out_base)
    return write_cave_table(items, out_base)


def ng_state_document(
    store: SessionStore, session_id: str, base_url: str, annotations_url: str = "",
    synapse_types: Sequence[str] = DEFAULT_TYPES,
) -> dict[str, Any]:
    """A Neuroglancer state (JSON) showing source, target, neuropil and, when given, the
    exported annotation layer (its lines coloured by synapse type), centred on the first
    instance flagged incorrect or unsure (the first instance when none is). Local folders are
    addressed through the app's data route at ``base_url`` (registered in the store, as the
    app does)."""  # fmt: skip
    config = store.load_config(session_id)
    items = store.instances(session_id)
    if config is None or not items:
        raise ExportError(f"Session {session_id!r} has no dataset: open one first.")
    first = next((i for i in items if i.needs_fixing), items[0])
    syn = first.synapse
    neurons = tuple(n for n in (syn.pre_neuron_id, syn.post_neuron_id) if n is not None)
    spec = ViewSpec(
        syn.center_xyz_vx, config.crop_size_xyz_vx, syn.pre_xyz_vx, syn.post_xyz_vx,
        show_neuropil=True, neuron_ids=neurons, layout="4panel",
    )  # fmt: skip

    def token_of(folder: Path) -> str:
        return store.data_token(str(resolved_folder(folder)))  # as AppContext.data_token

    try:
        state = build_state(config, spec, base_url, token_of)
        if annotations_url:
            import neuroglancer

            state.layers[ANNOTATIONS_LAYER] = neuroglancer.AnnotationLayer(
                source=neuroglancer_source(annotations_url, base_url, token_of),
                shader=type_shader(type_enum(items, synapse_types)),
            )
    except ValueError as exc:
        raise ExportError(f"{exc} Give --base-url, the address the app is served at.") from None
    return dict(state.to_json())
