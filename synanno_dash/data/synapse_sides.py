"""Pre/post neurons and marker points of imported clefts, read from the neuropil and the EM.

The rule itself is ``core.synapse_sides``; this module opens the layers, checks that they fit
the map (the EM at the map's resolution or a whole-number finer one over the same extent; the
neuropil at the map's resolution covering it) and reads one window around every cleft.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.core.synapse_sides import NEAR_NM, Sides, choose_sides
from synanno_dash.data.chunked_labels import Progress
from synanno_dash.data.volume_layer import UNSIGNED_DTYPES, VolumeError, VolumeLayer

OPEN_TIMEOUT_S = 30.0
SIDE_TILE_VX = np.array([256, 256, 32])  # clefts whose box starts in one tile share a read
SIDE_COLUMNS = (
    "pre_pt_x", "pre_pt_y", "pre_pt_z", "post_pt_x", "post_pt_y", "post_pt_z",
    "pre_neuron_id", "post_neuron_id", "side_rule",
)  # fmt: skip


class SideLayerError(ValueError):
    """A source or neuropil layer that does not fit the map; the message names the fix."""


def _fmt(resolution: Resolution) -> str:
    return "x".join(f"{v:g}" for v in resolution.as_tuple()) + " nm"


def _extent_nm(bounds: BBox, resolution: Resolution) -> tuple[np.ndarray, np.ndarray]:
    res = np.array(resolution.as_tuple())
    return np.array(bounds.start_xyz) * res, np.array(bounds.stop_xyz) * res


@dataclass(frozen=True, eq=False)
class SideLayers:
    """The optional EM (``source``) and neuropil layers of an import."""

    source: VolumeLayer | None
    neuropil: VolumeLayer | None

    def check_against(self, resolution: Resolution, bounds_vx: BBox) -> None:
        """Fail unless the layers fit a map of this geometry."""
        if self.source is not None:
            self._check_source(resolution, bounds_vx, self.source)
        if self.neuropil is not None:
            self._check_neuropil(resolution, bounds_vx, self.neuropil)

    @staticmethod
    def _check_source(resolution: Resolution, bounds_vx: BBox, source: VolumeLayer) -> None:
        factors = resolution.factor_to(source.resolution)
        if not all(f >= 1 - 1e-6 and math.isclose(f, round(f), abs_tol=1e-6) for f in factors):
            raise SideLayerError(
                f"The map's resolution {_fmt(resolution)} is not the source's "
                f"{_fmt(source.resolution)} or a whole-number multiple of it: the map must be "
                "in the source's voxel grid. Resample the map, or give --resolution if its "
                "info is wrong."
            )
        map_lo, map_hi = _extent_nm(bounds_vx, resolution)
        src_lo, src_hi = _extent_nm(source.bounds_vx, source.resolution)
        res = np.array(resolution.as_tuple())
        if np.any(np.abs(map_lo - src_lo) >= res) or np.any(np.abs(map_hi - src_hi) >= res):
            raise SideLayerError(
                f"The map covers {map_lo.tolist()}-{map_hi.tolist()} nm but the source covers "
                f"{src_lo.tolist()}-{src_hi.tolist()} nm: they are not the same volume. Give "
                "the map computed on this source (or the matching --resolution)."
            )

    @staticmethod
    def _check_neuropil(resolution: Resolution, bounds_vx: BBox, neuropil: VolumeLayer) -> None:
        same = all(
            math.isclose(a, b, rel_tol=1e-6)
            for a, b in zip(resolution.as_tuple(), neuropil.resolution.as_tuple(), strict=True)
        )
        if not same:
            raise SideLayerError(
                f"The neuropil's resolution {_fmt(neuropil.resolution)} differs from the map's "
                f"{_fmt(resolution)}: give a neuropil segmentation at the map's resolution."
            )
        if bounds_vx.intersect(neuropil.bounds_vx) != bounds_vx:
            raise SideLayerError(
                f"The neuropil covers voxels {neuropil.bounds_vx.as_list()} but the map "
                f"{bounds_vx.as_list()} (x0, y0, z0, x1, y1, z1): the neuropil does not cover "
                "the map. Give the segmentation of the whole mapped volume."
            )


def open_side_layers(source_url: str | None, neuropil_url: str | None) -> SideLayers:
    try:
        source = (
            VolumeLayer.open("source", source_url, ("uint8",), None, None, OPEN_TIMEOUT_S)
            if source_url else None
        )  # fmt: skip
        neuropil = (
            VolumeLayer.open("neuropil", neuropil_url, UNSIGNED_DTYPES, None, None, OPEN_TIMEOUT_S)
            if neuropil_url else None
        )  # fmt: skip
    except VolumeError as error:
        raise SideLayerError(str(error)) from None
    return SideLayers(source, neuropil)


def _em_on_grid(source: VolumeLayer, box: BBox, resolution: Resolution) -> np.ndarray:
    """The EM over ``box`` (map voxels), averaged down to the map's grid, x, y, z."""
    fx, fy, fz = (int(round(f)) for f in resolution.factor_to(source.resolution))
    fine = BBox.from_bounds(
        tuple(a * f for a, f in zip(box.start_xyz, (fx, fy, fz))),
        tuple(a * f for a, f in zip(box.stop_xyz, (fx, fy, fz))),
    )
    em = source.read(fine).transpose(2, 1, 0).astype(np.float32)
    nx, ny, nz = box.shape_xyz
    return em.reshape(nx, fx, ny, fy, nz, fz).mean(axis=(1, 3, 5))


def assign_sides(
    layers: SideLayers, table: pd.DataFrame, target_path: Path, resolution: Resolution,
    report: Progress,
) -> dict[str, list]:
    """Per table row (id, bbox_*): pre/post points (map voxels), neuron ids and the rule;
    empty when there is no neuropil or no two segments face each other across the cleft.

    Clefts are taken a tile (``SIDE_TILE_VX``) at a time: the layers are read once over the
    union of the tile's cleft windows, not once per cleft."""
    if layers.neuropil is None or table.empty:
        return {}
    target = VolumeLayer.open("target", str(target_path), ("uint32",), None, None, 30.0)
    margin = np.ceil(NEAR_NM / np.array(resolution.as_tuple())).astype(int) + 1
    starts = table[["bbox_x0", "bbox_y0", "bbox_z0"]].to_numpy() - margin
    stops = table[["bbox_x1", "bbox_y1", "bbox_z1"]].to_numpy() + margin
    tile_keys = table[["bbox_x0", "bbox_y0", "bbox_z0"]].to_numpy() // SIDE_TILE_VX
    _, tile_of_row = np.unique(tile_keys, axis=0, return_inverse=True)
    found: dict[int, Sides | None] = {}
    origins: dict[int, np.ndarray] = {}
    for tile in range(int(tile_of_row.max()) + 1):
        rows = np.flatnonzero(tile_of_row.ravel() == tile)
        union = BBox.from_bounds(
            tuple(starts[rows].min(axis=0).tolist()), tuple(stops[rows].max(axis=0).tolist())
        ).intersect(target.bounds_vx)
        arrays = _read_union(layers, target, union, resolution)
        for n in rows.tolist():
            box = BBox.from_bounds(tuple(starts[n].tolist()), tuple(stops[n].tolist()))
            box = box.intersect(union)
            local = tuple(
                slice(a - u, b - u)
                for a, b, u in zip(box.start_xyz, box.stop_xyz, union.start_xyz, strict=True)
            )
            cleft = arrays[0][local] == table["id"].iat[n]
            em = arrays[2][local] if arrays[2] is not None else None
            found[n] = choose_sides(cleft, arrays[1][local], em, resolution.as_tuple())
            origins[n] = np.array(box.start_xyz)
        report(0.95 + 0.05 * len(found) / len(table), f"pre/post sides of {len(found)} synapses")
    out: dict[str, list] = {name: [] for name in SIDE_COLUMNS}
    for n in range(len(table)):
        _append(out, found[n], origins[n])
    return out


def _read_union(
    layers: SideLayers, target: VolumeLayer, union: BBox, resolution: Resolution
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Target ids, neuropil ids and the EM (on the map's grid) over ``union``, x, y, z."""
    assert layers.neuropil is not None
    clefts = target.read(union).transpose(2, 1, 0)
    neuropil = layers.neuropil.read(union).transpose(2, 1, 0)
    em = _em_on_grid(layers.source, union, resolution) if layers.source else None
    return clefts, neuropil, em


def _append(out: dict[str, list], sides: Sides | None, origin: np.ndarray) -> None:
    if sides is None:
        for name in SIDE_COLUMNS:
            out[name].append(pd.NA)
        return
    pre = origin + np.array(sides.pre_point_xyz)
    post = origin + np.array(sides.post_point_xyz)
    for k, axis in enumerate("xyz"):
        out[f"pre_pt_{axis}"].append(int(pre[k]))
        out[f"post_pt_{axis}"].append(int(post[k]))
    out["pre_neuron_id"].append(sides.pre_id)
    out["post_neuron_id"].append(sides.post_id)
    out["side_rule"].append(sides.rule)
