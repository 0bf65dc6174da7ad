"""The review workflow's server side: pages, labels, undo, stage times (no Dash here).

Developer notes: a page is a slice of the session's instances in review order (table
order, or compartment then traversal order in neuron-centric mode; pages never mix
compartments). Loading a page reads its crops through the volume layer (parallel, LRU),
marks them seen, remembers the page in the session state and prefetches the next page in
the background, so moving on finds the crops in memory. Pages are cut by ``core.paging``.

A label click is one store call (``SessionStore.cycle_label``: one transaction, one atomic
statement); keeping the crops of instances to fix happens afterwards, in the background.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

from synanno_dash.core import stage_times
from synanno_dash.core.geometry import BBox
from synanno_dash.core.instances import DatasetConfig, Instance
from synanno_dash.core.labels import Category, Label
from synanno_dash.core.session_json import build_session_json
from synanno_dash.data.store import StoreError
from synanno_dash.data.volumes import InstanceCrops, Prefetch, VolumeError
from synanno_dash.services import selection
from synanno_dash.services.context import AppContext
from synanno_dash.services.session import Session
from synanno_dash.services.tile_images import SliceImages, TileLayer, encode_slices

log = logging.getLogger(__name__)


class ReviewError(RuntimeError):
    """Nothing to review, or the data cannot be read; the message is for the user."""


@dataclass(frozen=True)
class ReviewPage:
    config: DatasetConfig
    page: int
    page_count: int
    instances: list[Instance]
    # per instance: its encoded slices, or the sentence saying why they could not be read
    tiles: list[SliceImages | str]
    next_instances: list[Instance]  # the next page's (prefetched; the browser preloads them)

    @property
    def images(self) -> list[SliceImages]:
        """The encoded slices of the tiles that could be read."""
        return [t for t in self.tiles if isinstance(t, SliceImages)]


def page_instances(session: Session, page: int) -> tuple[DatasetConfig, list[Instance], int]:
    """(config, the instances of ``page`` (clamped into range), number of pages)."""
    config = session.config
    pages = selection.review_pages(session)
    if pages.is_empty:
        raise ReviewError("This session has no synapses to review: submit Open Data again.")
    start, stop = pages.positions(page)
    return config, selection.page_instances(session, start, stop), pages.count


def load_page(session: Session, page: int) -> ReviewPage:
    """A page of the grid. A tile that cannot be read (after the reader's retries) is a
    sentence in ``tiles`` (a placeholder with Retry): the rest of the page still shows."""
    config, items, count = page_instances(session, page)
    page = min(max(1, page), count)
    try:
        # A prefetch of another page (the user jumped) is cancelled; one of this page is joined.
        session.volumes.prefetch([i.bbox_target_vx for i in items], lane=session.session_id)
        tiles = page_tiles(session, items)
    except VolumeError as exc:
        raise ReviewError(str(exc)) from None
    store, sid = session.store, session.session_id
    store.mark_seen(sid, [i.instance_id for i in items])
    state = store.get_state(sid)
    changes: dict[str, Any] = {"page": page}
    times = state.get("stage_times", {})
    if "start_grid" not in times:
        changes["stage_times"] = {**times, "start_grid": stage_times.now_iso()}
    store.update_state(sid, **changes)
    upcoming = prefetch(session, page + 1) if page < count else []
    return ReviewPage(config, page, count, items, tiles, upcoming)


def last_page(session: Session) -> int:
    """The page this browser was last on (1 at first)."""
    return int(session.store.get_state(session.session_id).get("page", 1))


def counts(session: Session) -> dict[str, int]:
    """Totals for progress bars: instances, seen, and per label."""
    return selection.counts(session)


def instance(session: Session, instance_id: int) -> Instance:
    """One instance of the session (``StoreError`` if it has no such instance)."""
    return session.store.instance(session.session_id, instance_id)


def instances(session: Session) -> list[Instance]:
    """Every stored instance of the session, in review order: all of a review stored
    whole, those of the pages read so far of one stored page by page (``selection``)."""
    return session.store.instances(session.session_id)


def instance_crops(session: Session, instance_id: int) -> tuple[Instance, InstanceCrops]:
    """An instance and its crops (the enlarged view)."""
    item = instance(session, instance_id)
    return item, session.volumes.read_instance(item.bbox_target_vx)


def flagged_instances(session: Session) -> list[Instance]:
    """The instances marked incorrect or unsure (not discarded), in review order."""
    return [i for i in instances(session) if i.needs_fixing]


def image_key(config: DatasetConfig, item: Instance) -> tuple[str, str, tuple[int, ...]]:
    """The tile-image cache key of an instance."""
    return (config.source_url, config.target_url, tuple(item.bbox_target_vx.as_list()))


def page_tiles(session: Session, items: list[Instance]) -> list[SliceImages | str]:
    """Encoded slices of ``items`` from the tile cache, else read (in parallel) and encoded;
    a tile that cannot be read is the sentence saying why. ``VolumeError`` when the
    volumes cannot be opened at all."""
    config, tile_images = session.config, session.resources.tile_images
    found: list[SliceImages | str | None] = [
        tile_images.get(image_key(config, item)) for item in items
    ]
    missing = [item for item, images in zip(items, found, strict=True) if images is None]
    if missing:
        reads = session.volumes.read_tiles([i.bbox_target_vx for i in missing])
        read = [(item, r.crops) for item, r in zip(missing, reads, strict=True) if r.crops]
        encoded = dict(
            zip(
                [item.instance_id for item, _ in read],
                _encode(session.resources, config, [i for i, _ in read], [c for _, c in read]),
                strict=True,
            )
        )
        problems = iter(r.error or "The crop could not be read." for r in reads if not r.crops)
        found = [
            images if images is not None else encoded.get(item.instance_id) or next(problems)
            for item, images in zip(items, found, strict=True)
        ]
    return [images for images in found if images is not None]


def page_images(session: Session, items: list[Instance]) -> list[SliceImages]:
    """Encoded slices of ``items``; ``VolumeError`` when one of them cannot be read."""
    tiles = page_tiles(session, items)
    for tile in tiles:
        if isinstance(tile, str):
            raise VolumeError(tile)
    return [t for t in tiles if isinstance(t, SliceImages)]


def retry_tile(session: Session, instance_id: int) -> tuple[Instance, SliceImages | str]:
    """Read one tile again (its Retry button): its slices, or why it still cannot be read."""
    item = instance(session, instance_id)
    try:
        return item, page_tiles(session, [item])[0]
    except VolumeError as exc:
        return item, str(exc)


def tile_version(config: DatasetConfig, item: Instance) -> str:
    """A short digest of what a tile shows (its volumes and box): part of its image URLs,
    so the browser may cache them for good."""
    return hashlib.sha256(repr(image_key(config, item)).encode()).hexdigest()[:16]


def tile_image(
    session: Session, instance_id: int, version: str, layer: TileLayer, z: int
) -> tuple[bytes, str] | None:
    """(bytes, MIME type) of one slice of one tile, read if it is not cached; None when
    the instance, the version (the dataset changed since) or the slice does not exist, or
    the tile cannot be read."""
    try:
        item = instance(session, instance_id)
    except StoreError:
        return None
    if tile_version(session.config, item) != version:
        return None
    try:
        tile = page_tiles(session, [item])[0]
    except VolumeError:
        return None
    return None if isinstance(tile, str) else tile.image(layer, z)


def _encode(
    resources: AppContext, config: DatasetConfig, items: list[Instance],
    crops: list[InstanceCrops],
) -> list[SliceImages]:  # fmt: skip
    cache = resources.tile_images
    encoded = []
    for item, crop in zip(items, crops, strict=True):
        key = image_key(config, item)
        found = cache.get(key)
        encoded.append(found or cache.put(key, encode_slices(crop.em_zyx, crop.cleft_zyx)))
    return encoded


def prefetch(session: Session, page: int) -> list[Instance]:
    """Read and encode ``page`` in the background (errors only get logged); returns its
    instances.

    One prefetch per session (its lane in the volume set): asking for another page cancels
    a prefetch still running for a page the user jumped away from.
    """
    try:
        config, items, _count = page_instances(session, page)
        handle = session.volumes.prefetch(
            [i.bbox_target_vx for i in items], lane=session.session_id
        )
    except (ReviewError, VolumeError):
        log.warning("prefetch of page %s failed", page, exc_info=True)
        return []
    session.resources.run_in_background(
        _encode_prefetched, session.resources, config, items, handle
    )
    return items


def _encode_prefetched(
    resources: AppContext, config: DatasetConfig, items: list[Instance], handle: Prefetch
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
    _encode(resources, config, [item for item, _ in read], [crops for _, crops in read])


# -- labels ------------------------------------------------------------------------------
# A label change answers as soon as the database has it; the crop bookkeeping (crops of an
# instance to fix are kept for categorize and draw, others are cache) runs in the background.


def _after_label_change(session: Session, item: Instance) -> Instance:
    session.resources.run_in_background(
        _keep_crops_if_flagged, session.resources, session.session_id, item
    )
    return item


def _keep_crops_if_flagged(resources: AppContext, session_id: str, item: Instance) -> None:
    config = resources.store.load_config(session_id)
    if config is None:
        return
    try:
        volumes = resources.volumes.get(config)
        if not item.needs_fixing:
            volumes.release_instance(item.bbox_target_vx)
        elif not volumes.keep_instance(item.bbox_target_vx):
            volumes.read_instance(item.bbox_target_vx)
            volumes.keep_instance(item.bbox_target_vx)
    except VolumeError:  # keeping is an optimisation: an unreachable volume only costs time
        log.warning("crops of instance %s not kept", item.instance_id, exc_info=True)


def cycle_label(session: Session, instance_id: int) -> Instance:
    """One click: correct -> incorrect -> unsure -> correct, saved (one atomic database
    transaction) before it returns."""
    return _after_label_change(session, session.store.cycle_label(session.session_id, instance_id))


def set_label(session: Session, instance_id: int, label: Label) -> Instance:
    """Keys 1/2/3 and the categorize cards: set a label (nothing logged if it is already so)."""
    item = session.store.edit_if_changed(session.session_id, instance_id, label=label)
    return _after_label_change(session, item)


def undo(session: Session) -> Instance | None:
    item = session.store.undo(session.session_id)
    return None if item is None else _after_label_change(session, item)


def redo(session: Session) -> Instance | None:
    item = session.store.redo(session.session_id)
    return None if item is None else _after_label_change(session, item)


# -- categories, notes, discarding (Categorize) --------------------------------------------
def set_category(session: Session, instance_id: int, category: Category | None) -> Instance:
    return session.store.edit_if_changed(session.session_id, instance_id, category=category)


def set_custom_category(session: Session, instance_id: int, text: str) -> Instance | None:
    """Typing a custom category selects "Custom" (one undo step for both); clearing the text
    keeps the category. None when the text is unchanged."""
    if text == instance(session, instance_id).custom_category:
        return None
    if text:
        return session.store.edit(
            session.session_id, instance_id, category=Category.CUSTOM, custom_category=text
        )
    return session.store.edit(session.session_id, instance_id, custom_category="")


def set_note(session: Session, instance_id: int, text: str) -> Instance:
    return session.store.edit_if_changed(session.session_id, instance_id, note=text)


def false_positives(session: Session) -> list[int]:
    """Ids of the flagged instances categorized as false positives."""
    return [
        i.instance_id for i in flagged_instances(session) if i.category is Category.FALSE_POSITIVE
    ]


def discard(session: Session, instance_ids: list[int]) -> None:
    """Leave instances out of the exports (each one an undoable edit; they stay in the log)."""
    for instance_id in instance_ids:
        session.store.edit(session.session_id, instance_id, discarded=True)


def mark_stage(session: Session, key: str, overwrite: bool = True) -> None:
    """Record a stage time (``start_grid``, ``finish_grid``, ...) for the JSON export."""
    store, sid = session.store, session.session_id
    times = dict(store.get_state(sid).get("stage_times", {}))
    if overwrite or key not in times:
        times[key] = stage_times.now_iso()
        store.update_state(sid, stage_times=times)


def session_json_document(
    session: Session, draw_boxes: dict[int, BBox] | None = None
) -> dict[str, Any]:
    """The session JSON of this session (``draw_boxes``: a correction export's boxes)."""
    config = session.config
    state = session.store.get_state(session.session_id)
    volume = None
    try:
        volume = session.volumes.target_bounds
    except VolumeError:
        log.warning("export without padding information: volumes unreachable", exc_info=True)
    items = instances(session)
    return build_session_json(
        items,
        per_page=config.tiles_per_page,
        pages=selection.export_pages(session, items),
        proofread_time=stage_times.proofread_time(state.get("stage_times", {})),
        neuron_id=config.neuron_id,
        volume=volume,
        draw_boxes=draw_boxes,
        extra={
            "page": state.get("page", 1),
            "source_url": config.source_url,
            "target_url": config.target_url,
            "table_url": config.table_url,
        },
    )
