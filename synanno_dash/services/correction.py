"""The correction workflow's server side: which instances to fix, masks per slice, markers,
undo/redo per stroke (no Dash here).

Developer notes
- An instance is drawn on its *drawing box*: the x, y extent of its review box and
  ``draw_slices`` slices (16 by default, a session setting) around its centre; an instance
  added by hand keeps the box its author reviewed. Edited slices outside that range widen it.
- A slice's mask is the stored one (``SessionStore.save_mask_slice``, keyed by the ABSOLUTE
  target z, a boolean (y, x) .npy over the box) or else the instance's original cleft from
  the target volume (``core.masks.instance_mask``; empty for an added instance).
- Every stroke (fill, erase, clear) and every marker placement is saved at once and logged
  in the instance's drawing log (``SessionStore.log_draw``), so undo/redo work per stroke
  and survive reloads and restarts. "Save" marks a slice as checked by its author.
"""

from __future__ import annotations

import base64
import io
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from synanno_dash.core.geometry import BBox, Triple, bbox_around
from synanno_dash.core.instances import DatasetConfig, Instance, Workflow
from synanno_dash.core.masks import erase, fill, instance_mask
from synanno_dash.data.store import StoreError as StoreError  # for the views to catch
from synanno_dash.data.volumes import InstanceCrops, VolumeError
from synanno_dash.services.false_negatives import ADDED_BY_HAND
from synanno_dash.services.session import Session

DEFAULT_DRAW_SLICES = 16
MAX_DRAW_SLICES = 128
MARKERS = ("pre", "post")


class CorrectionError(RuntimeError):
    """Nothing to draw on, or the data cannot be read; the message is for the user."""


# -- which instances, on which box ------------------------------------------------------
def draw_slices(session: Session) -> int:
    value = session.store.get_state(session.session_id).get("draw_slices", DEFAULT_DRAW_SLICES)
    return int(min(max(1, int(value)), MAX_DRAW_SLICES))


def set_draw_slices(session: Session, count: int) -> int:
    count = int(min(max(1, int(count)), MAX_DRAW_SLICES))
    session.store.update_state(session.session_id, draw_slices=count)
    return count


def shows_all(session: Session) -> bool:
    """Every instance, not only flagged ones: asked for, or a JSON opened for correction."""
    state = session.store.get_state(session.session_id)
    if "draw_show_all" in state:
        return bool(state["draw_show_all"])
    started_for_correction = Workflow.parse(state.get("workflow")) is Workflow.CORRECTION
    return started_for_correction and bool(state.get("restored_from_json"))


def set_show_all(session: Session, show_all: bool) -> None:
    session.store.update_state(session.session_id, draw_show_all=bool(show_all))


def is_added(item: Instance) -> bool:
    return bool(item.extra.get(ADDED_BY_HAND))


def correction_instances(session: Session) -> list[Instance]:
    """The instances to fix: incorrect/unsure ones (added ones included) and any already
    drawn on; every one that is not discarded when ``shows_all``."""
    everything = shows_all(session)
    drawn = set(session.store.masked_instance_ids(session.session_id))
    return [
        item
        for item in session.store.instances(session.session_id)
        if not item.discarded and (everything or item.needs_fixing or item.instance_id in drawn)
    ]


def draw_box(item: Instance, slices: int, edited_z: Any = ()) -> BBox:
    """The box an instance is drawn on (see the module notes)."""
    box = item.bbox_target_vx
    if not is_added(item):
        cx, cy, cz = box.start_xyz[0], box.start_xyz[1], item.synapse.center_xyz_vx[2]
        around = bbox_around((cx, cy, cz), (1, 1, slices))
        box = BBox(box.start_xyz[:2] + (around.start_xyz[2],),
                   box.stop_xyz[:2] + (around.stop_xyz[2],))  # fmt: skip
    z_values = [int(z) for z in edited_z]
    if z_values:
        z0 = min(box.start_xyz[2], *z_values)
        z1 = max(box.stop_xyz[2], *(z + 1 for z in z_values))
        box = BBox(box.start_xyz[:2] + (z0,), box.stop_xyz[:2] + (z1,))
    return box


def proposed_box(session: Session, center_xyz_vx: Triple) -> BBox:
    """The review box proposed for a missed synapse: crop size in x, y; draw slices in z."""
    config = session.config
    sx, sy, _sz = config.crop_size_xyz_vx
    return bbox_around(center_xyz_vx, (sx, sy, draw_slices(session)))


# -- masks --------------------------------------------------------------------------------
def npy_bytes(mask_yx: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(mask_yx, dtype=bool), allow_pickle=False)
    return buffer.getvalue()


def npy_mask(data: bytes) -> np.ndarray:
    return np.asarray(np.load(io.BytesIO(data), allow_pickle=False), dtype=bool)


def packed_mask(mask_yx: np.ndarray | None) -> dict[str, Any] | None:
    """A slice mask as small JSON for the drawing log: packed bits, deflated, base64."""
    if mask_yx is None:
        return None
    bits = zlib.compress(np.packbits(mask_yx.astype(bool)).tobytes())
    return {"shape": list(mask_yx.shape), "bits": base64.b64encode(bits).decode("ascii")}


def unpacked_mask(value: dict[str, Any]) -> np.ndarray:
    height, width = value["shape"]
    bits = np.frombuffer(zlib.decompress(base64.b64decode(value["bits"])), dtype=np.uint8)
    return np.unpackbits(bits, count=height * width).astype(bool).reshape(height, width)


@dataclass(frozen=True, eq=False)
class Drawing:
    """Everything the drawing view of one instance shows."""

    item: Instance
    box: BBox
    crops: InstanceCrops  # over ``box``: EM (source resolution) and target crops
    masks_zyx: np.ndarray  # current mask of every slice of ``box``
    edited_z: frozenset[int]  # absolute z of stored slices
    saved_z: frozenset[int]

    def slice_index(self, z_vx: int) -> int:
        return int(z_vx) - self.box.start_xyz[2]


def edited_slices(session: Session, instance_id: int) -> list[int]:
    """The absolute z of the instance's stored (edited) slices, in order."""
    return sorted(session.store.mask_slices(session.session_id, instance_id))


def stored_slices(session: Session, instance_id: int) -> dict[int, np.ndarray]:
    """The instance's stored slice masks by absolute z."""
    raw = session.store.mask_slices(session.session_id, instance_id)
    return {z: npy_mask(data) for z, data in raw.items()}


def saved_slices(session: Session, instance_id: int) -> frozenset[int]:
    saved = session.store.get_state(session.session_id).get("draw_saved", {})
    return frozenset(int(z) for z in saved.get(str(instance_id), []))


def _set_saved(session: Session, instance_id: int, z: int, saved: bool) -> None:
    state = session.store.get_state(session.session_id)
    table = dict(state.get("draw_saved", {}))
    current = set(table.get(str(instance_id), []))
    if (z in current) == saved:
        return
    current = current | {z} if saved else current - {z}
    table[str(instance_id)] = sorted(current)
    session.store.update_state(session.session_id, draw_saved=table)


def original_masks(config: DatasetConfig, item: Instance, crops: InstanceCrops) -> np.ndarray:
    """The instance's own cleft over a crop (empty for an instance added by hand)."""
    if is_added(item):
        return np.zeros(crops.cleft_zyx.shape, dtype=bool)
    box = crops.bbox_target_vx
    centre = tuple(c - s for c, s in zip(item.synapse.center_xyz_vx, box.start_xyz, strict=True))
    res = config.target_resolution
    return instance_mask(crops.cleft_zyx, centre[::-1], (res.z_nm, res.y_nm, res.x_nm))  # type: ignore[arg-type]


def load_drawing(session: Session, instance_id: int) -> Drawing:
    config = session.config
    item = session.store.instance(session.session_id, instance_id)
    stored = stored_slices(session, instance_id)
    box = draw_box(item, draw_slices(session), stored)
    try:
        crops = session.volumes.read_instance(box)
    except VolumeError as exc:
        raise CorrectionError(str(exc)) from None
    masks = original_masks(config, item, crops).copy()
    for z, mask in stored.items():
        k = z - box.start_xyz[2]
        if mask.shape == masks.shape[1:]:
            masks[k] = mask
    saved = saved_slices(session, instance_id)
    return Drawing(item, box, crops, masks, frozenset(stored), saved)


def current_slice(session: Session, instance_id: int, z_vx: int) -> np.ndarray:
    stored = session.store.mask_slices(session.session_id, instance_id)
    if z_vx in stored:
        return npy_mask(stored[z_vx])
    drawing = load_drawing(session, instance_id)
    return drawing.masks_zyx[drawing.slice_index(z_vx)].copy()


def _write_slice(
    session: Session, instance_id: int, z_vx: int, mask: np.ndarray | None
) -> None:
    if mask is None:
        session.store.delete_mask_slice(session.session_id, instance_id, z_vx)
    else:
        session.store.save_mask_slice(session.session_id, instance_id, z_vx, npy_bytes(mask))


def _stroke(
    session: Session, instance_id: int, z_vx: int, new: np.ndarray
) -> np.ndarray:
    """Save one slice edit and log it (one undo step)."""
    stored = session.store.mask_slices(session.session_id, instance_id)
    old = npy_mask(stored[z_vx]) if z_vx in stored else None
    _write_slice(session, instance_id, z_vx, new)
    session.store.log_draw(
        session.session_id, instance_id, "mask", {"z": z_vx, "mask": packed_mask(old)},
        {"z": z_vx, "mask": packed_mask(new)},
    )  # fmt: skip
    _set_saved(session, instance_id, z_vx, False)
    return new


def write_slices(session: Session, instance_id: int, masks_by_z: dict[int, np.ndarray]) -> None:
    """Save several slices (absolute z -> bool (y, x) mask) as ONE drawing step: one undo
    restores every one of them (an accepted Auto proposal)."""
    if not masks_by_z:
        return
    stored = session.store.mask_slices(session.session_id, instance_id)
    old, new = [], []
    for z, mask in sorted(masks_by_z.items()):
        before = npy_mask(stored[z]) if z in stored else None
        _write_slice(session, instance_id, z, mask)
        _set_saved(session, instance_id, z, False)
        old.append({"z": int(z), "mask": packed_mask(before)})
        new.append({"z": int(z), "mask": packed_mask(mask)})
    session.store.log_draw(session.session_id, instance_id, "masks", old, new)


def apply_curve(
    session: Session,
    instance_id: int,
    z_vx: int,
    polygon_xy: np.ndarray,
    mode: str = "fill",
) -> np.ndarray:
    """Fill (or, ``mode="erase"``, erase) a closed curve given in absolute target voxel
    coordinates into slice ``z_vx``; returns the slice's new mask."""
    if mode not in ("fill", "erase"):
        raise ValueError(f"mode must be fill or erase, not {mode!r}")
    item = session.store.instance(session.session_id, instance_id)
    box = item.bbox_target_vx
    before = current_slice(session, instance_id, z_vx)
    origin = (float(box.start_xyz[0]), float(box.start_xyz[1]))
    after = (fill if mode == "fill" else erase)(before, np.asarray(polygon_xy, float), origin)
    return _stroke(session, instance_id, z_vx, after)


def clear_slice(session: Session, instance_id: int, z_vx: int) -> np.ndarray:
    shape = current_slice(session, instance_id, z_vx).shape
    return _stroke(session, instance_id, z_vx, np.zeros(shape, dtype=bool))


def save_slice(session: Session, instance_id: int, z_vx: int) -> np.ndarray:
    """Store the slice as it is shown (the original cleft too, if never edited), checked."""
    mask = current_slice(session, instance_id, z_vx)
    stored = session.store.mask_slices(session.session_id, instance_id)
    if z_vx not in stored:
        _stroke(session, instance_id, z_vx, mask)
    _set_saved(session, instance_id, z_vx, True)
    return mask


# -- markers ------------------------------------------------------------------------------
def _point_field(which: str) -> str:
    if which not in MARKERS:
        raise ValueError(f"marker must be pre or post, not {which!r}")
    return f"{which}_xyz_vx"


def set_marker(
    session: Session, instance_id: int, which: str, voxel_xyz: Triple
) -> Instance:
    """Place (or move) the pre or post marker at a target voxel; logged, undoable."""
    name = _point_field(which)
    item = session.store.instance(session.session_id, instance_id)
    old = getattr(item.synapse, name)
    new = tuple(int(v) for v in voxel_xyz)
    if old is not None and tuple(old) == new:
        return item
    updated = session.store.edit(session.session_id, instance_id, **{name: new})
    session.store.log_draw(
        session.session_id, instance_id, which, None if old is None else list(old), list(new)
    )
    return updated


# -- undo / redo ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """What an undo or redo changed: a slice (``z``) or a marker (``marker``)."""

    kind: str  # "mask" | "masks" (several slices, ``z_vx`` the first) | "pre" | "post"
    z_vx: int | None = None
    point: Triple | None = None


def step(session: Session, instance_id: int, direction: str) -> Step | None:
    """Undo or redo the newest drawing action of one instance; ``None`` if there is none."""
    found = session.store.draw_step(session.session_id, instance_id, direction)
    if found is None:
        return None
    kind, value = found["field"], found["value"]
    if kind == "mask":
        mask = None if value["mask"] is None else unpacked_mask(value["mask"])
        _write_slice(session, instance_id, int(value["z"]), mask)
        _set_saved(session, instance_id, int(value["z"]), False)
        return Step("mask", z_vx=int(value["z"]))
    if kind == "masks":
        for entry in value:
            mask = None if entry["mask"] is None else unpacked_mask(entry["mask"])
            _write_slice(session, instance_id, int(entry["z"]), mask)
            _set_saved(session, instance_id, int(entry["z"]), False)
        return Step("masks", z_vx=int(value[0]["z"]) if value else None)
    point = None if value is None else (int(value[0]), int(value[1]), int(value[2]))
    session.store.edit(session.session_id, instance_id, **{_point_field(kind): point})
    return Step(kind, point=point)
