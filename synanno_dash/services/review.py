"""The review workflow's server side: pages, labels, undo, stage times (no Dash here).

Developer notes: a page is a slice of the session's instances in review order (table
order, or compartment then traversal order in neuron-centric mode; pages never mix
compartments). Loading a page reads its crops through the volume layer (parallel, LRU),
marks them seen, remembers the page in the session state and prefetches the next page in
the background, so moving on finds the crops in memory.
"""

from __future__ import annotations

import logging
from concurrent.futures import CancelledError
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from synanno_dash.core.instances import DatasetConfig, Instance
from synanno_dash.core.labels import Label
from synanno_dash.core.paging import pages_by_group
from synanno_dash.core.session_json import build_session_json
from synanno_dash.data.volumes import InstanceCrops, Prefetch, VolumeError
from synanno_dash.services.context import AppContext
from synanno_dash.services.tile_images import SliceImages

log = logging.getLogger(__name__)


class ReviewError(RuntimeError):
    """Nothing to review, or the data cannot be read; the message is for the user."""


@dataclass(frozen=True)
class ReviewPage:
    config: DatasetConfig
    page: int
    page_count: int
    instances: list[Instance]
    images: list[SliceImages]  # encoded slices, one entry per instance


def page_bounds(compartments: list[int | None], per_page: int) -> list[tuple[int, int]]:
    """(start, stop) per page, from each instance's compartment in review order; pages
    never mix compartments."""
    groups = [-1 if c is None else c for c in compartments]
    return pages_by_group(groups, per_page) or [(0, 0)]


def _config(ctx: AppContext, session_id: str) -> DatasetConfig:
    config = ctx.store.load_config(session_id)
    if config is None:
        raise ReviewError("No dataset is open in this browser yet: open one on Open Data first.")
    return config


def page_instances(
    ctx: AppContext, session_id: str, page: int
) -> tuple[DatasetConfig, list[Instance], int]:
    config = _config(ctx, session_id)
    bounds = page_bounds(ctx.store.compartment_sequence(session_id), config.tiles_per_page)
    if bounds == [(0, 0)]:
        raise ReviewError("This session has no synapses to review: submit Open Data again.")
    page = min(max(1, page), len(bounds))
    start, stop = bounds[page - 1]
    return config, ctx.store.instances_slice(session_id, start, stop), len(bounds)


def load_page(ctx: AppContext, session_id: str, page: int) -> ReviewPage:
    config, items, count = page_instances(ctx, session_id, page)
    page = min(max(1, page), count)
    try:
        # A prefetch of another page (the user jumped) is cancelled; one of this page is joined.
        ctx.volumes.get(config).prefetch([i.bbox_target_vx for i in items], lane=session_id)
        images = page_images(ctx, config, items)
    except VolumeError as exc:
        raise ReviewError(str(exc)) from None
    ctx.store.mark_seen(session_id, [i.instance_id for i in items])
    state = ctx.store.get_state(session_id)
    changes: dict[str, Any] = {"page": page}
    if "start_grid" not in state.get("stage_times", {}):
        changes["stage_times"] = {**state.get("stage_times", {}), "start_grid": now_iso()}
    ctx.store.update_state(session_id, **changes)
    if page < count:
        prefetch(ctx, session_id, page + 1)
    return ReviewPage(config, page, count, items, images)


def _image_key(config: DatasetConfig, item: Instance) -> tuple:
    return (config.source_url, config.target_url, tuple(item.bbox_target_vx.as_list()))


def page_images(ctx: AppContext, config: DatasetConfig, items: list[Instance]) -> list[SliceImages]:
    """Encoded slices of ``items``: from the tile cache, else read (in parallel) and encoded."""
    found = [ctx.tile_images.get(_image_key(config, item)) for item in items]
    missing = [item for item, images in zip(items, found, strict=True) if images is None]
    if missing:
        crops = ctx.volumes.get(config).read_page([i.bbox_target_vx for i in missing])
        encoded = iter(_encode(ctx, config, missing, crops))
        found = [images if images is not None else next(encoded) for images in found]
    return [images for images in found if images is not None]


def _encode(
    ctx: AppContext, config: DatasetConfig, items: list[Instance], crops: list[InstanceCrops]
) -> list[SliceImages]:
    return [
        ctx.tile_images.get_or_encode(_image_key(config, item), crop.em_zyx, crop.cleft_zyx)
        for item, crop in zip(items, crops, strict=True)
    ]


def prefetch(ctx: AppContext, session_id: str, page: int) -> None:
    """Read and encode ``page`` in the background; errors only get logged.

    One prefetch per session (its lane in the volume set): asking for another page cancels
    a prefetch still running for a page the user jumped away from.
    """
    try:
        config, items, _count = page_instances(ctx, session_id, page)
        volumes = ctx.volumes.get(config)
        handle = volumes.prefetch([i.bbox_target_vx for i in items], lane=session_id)
    except (ReviewError, VolumeError):
        log.warning("prefetch of page %s failed", page, exc_info=True)
        return
    ctx.executor.submit(_encode_prefetched, ctx, config, items, handle)


def _encode_prefetched(
    ctx: AppContext, config: DatasetConfig, items: list[Instance], handle: Prefetch
) -> None:
    try:
        tiles = handle.result()
    except CancelledError:
        return
    if handle.cancelled:  # the user jumped elsewhere: nothing to encode or to warn about
        return
    read = [(item, tile.crops) for item, tile in zip(items, tiles, strict=True) if tile.crops]
    if len(read) < len(items):
        log.warning("prefetch: %d of %d tiles unreadable", len(items) - len(read), len(items))
    _encode(ctx, config, [item for item, _ in read], [crops for _, crops in read])


def _keep_crops_if_flagged(ctx: AppContext, session_id: str, item: Instance) -> Instance:
    """Crops of an instance to fix are kept (categorize and draw need them); others are cache."""
    config = ctx.store.load_config(session_id)
    if config is None:
        return item
    try:
        volumes = ctx.volumes.get(config)
    except VolumeError:
        return item  # keeping is an optimisation: an unreachable volume must not fail a label
    if item.needs_fixing:
        if not volumes.keep_instance(item.bbox_target_vx):
            ctx.executor.submit(_read_and_keep, volumes, item.bbox_target_vx)
    else:
        volumes.release_instance(item.bbox_target_vx)
    return item


def _read_and_keep(volumes: Any, bbox: Any) -> None:
    volumes.read_instance(bbox)
    volumes.keep_instance(bbox)


def cycle_label(ctx: AppContext, session_id: str, instance_id: int) -> Instance:
    """One click: correct -> incorrect -> unsure -> correct, saved before it returns."""
    current = ctx.store.instance(session_id, instance_id)
    item = ctx.store.edit(session_id, instance_id, label=current.label.next)
    return _keep_crops_if_flagged(ctx, session_id, item)


def set_label(ctx: AppContext, session_id: str, instance_id: int, label: Label) -> Instance:
    current = ctx.store.instance(session_id, instance_id)
    if current.label is label:
        return current
    item = ctx.store.edit(session_id, instance_id, label=label)
    return _keep_crops_if_flagged(ctx, session_id, item)


def undo(ctx: AppContext, session_id: str) -> Instance | None:
    item = ctx.store.undo(session_id)
    return None if item is None else _keep_crops_if_flagged(ctx, session_id, item)


def redo(ctx: AppContext, session_id: str) -> Instance | None:
    item = ctx.store.redo(session_id)
    return None if item is None else _keep_crops_if_flagged(ctx, session_id, item)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def mark_stage(ctx: AppContext, session_id: str, key: str, overwrite: bool = True) -> None:
    """Record a stage time (``start_grid``, ``finish_grid``, ...) for the JSON export."""
    times = dict(ctx.store.get_state(session_id).get("stage_times", {}))
    if overwrite or key not in times:
        times[key] = now_iso()
        ctx.store.update_state(session_id, stage_times=times)


def proofread_time(stage_times: dict[str, str]) -> dict[str, str]:
    """The original's "Proofread Time": start, finish and difference per stage."""
    result = dict(stage_times)
    for stage in ("grid", "categorize"):
        start, finish = stage_times.get(f"start_{stage}"), stage_times.get(f"finish_{stage}")
        if start and finish:
            fmt = "%Y-%m-%d %H:%M:%S"
            delta = datetime.strptime(finish, fmt) - datetime.strptime(start, fmt)
            result[f"difference_{stage}"] = str(delta)
    return result


def session_json_document(ctx: AppContext, session_id: str) -> dict[str, Any]:
    config = _config(ctx, session_id)
    state = ctx.store.get_state(session_id)
    volume = None
    try:
        volume = ctx.volumes.get(config).target_bounds
    except VolumeError:
        log.warning("export without padding information: volumes unreachable", exc_info=True)
    return build_session_json(
        ctx.store.instances(session_id),
        per_page=config.tiles_per_page,
        proofread_time=proofread_time(state.get("stage_times", {})),
        neuron_id=config.neuron_id,
        volume=volume,
        extra={
            "page": state.get("page", 1),
            "source_url": config.source_url,
            "target_url": config.target_url,
            "table_url": config.table_url,
        },
    )
