"""Build Neuroglancer viewer states for a dataset, and read back what the viewer reports.

Developer notes
- No viewer or server here: ``build_state`` returns a ``neuroglancer.ViewerState`` that the
  ``ViewerRegistry`` pushes to a session's viewer, so states can be tested without a browser.
- The viewer's global dimensions are the TARGET resolution in nm (x, y, z): a position in the
  viewer is a target voxel coordinate. Source and neuropil layers keep their own resolutions
  (read by the client from their ``info`` files) and Neuroglancer places them in physical units,
  so no scale factor appears here.
- Neuroglancer puts voxel ``i`` over ``[i, i + 1)``: positions and markers sit on voxel centres
  (``i + 0.5``) and reported coordinates are floored back to voxel indices.
- Neuron ids are 64-bit: selected segment values are converted to exact Python ints, never
  through float.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import neuroglancer

from synanno_dash.core.geometry import BBox, Resolution, Triple, bbox_around
from synanno_dash.core.instances import DatasetConfig
from synanno_dash.data.volume_layer import normalize_url
from synanno_dash.services.local_data import (
    DEFAULT_PREFIX,
    TokenOfFolder,
    layer_source_url,
    local_folder,
)

SOURCE_LAYER = "source"
TARGET_LAYER = "target"
NEUROPIL_LAYER = "neuropil"
MARKERS_LAYER = "markers"

PRE_COLOR = "#00ff00"
POST_COLOR = "#0080ff"
CANDIDATE_COLOR = "#ffff00"
PRE_ID = "pre"
POST_ID = "post"
CANDIDATE_ID_PREFIX = "candidate-"

_NM_PER_M = 1e9
_MARKER_SHADER = "void main() {\n  setColor(prop_color());\n  setPointMarkerSize(10.0);\n}\n"


@dataclass(frozen=True)
class ViewSpec:
    """What one view shows; points and sizes in target voxels, x, y, z.

    ``context`` is how many crops fit across the panel (2: the crop fills half of it);
    ``panel_px`` is the expected width of the cross-section panel in screen pixels.
    """

    center_xyz_vx: Triple | None
    crop_size_xyz_vx: Triple
    pre_xyz_vx: Triple | None = None
    post_xyz_vx: Triple | None = None
    candidates_xyz_vx: tuple[Triple, ...] = ()
    show_neuropil: bool = False
    neuron_ids: tuple[int, ...] = ()
    layout: str = "xy"
    panel_px: int = 500
    context: float = 2.0


@dataclass(frozen=True)
class ProposedBox:
    """The review box of a missed-synapse candidate (target voxels) and its slice range.

    ``bbox_target_vx`` is the full crop around the candidate (padded, never shifted, like every
    crop); ``clipped_target_vx`` is its part inside the volume; ``z_range`` is the half-open range
    of slices inside the volume; ``padding_*`` are the voxels outside it, per axis x, y, z.
    """

    center_xyz_vx: Triple
    bbox_target_vx: BBox
    clipped_target_vx: BBox
    z_range: tuple[int, int]
    padding_before_xyz: Triple
    padding_after_xyz: Triple

    @property
    def inside_volume(self) -> bool:
        return self.bbox_target_vx == self.clipped_target_vx


def instance_spec(
    center_xyz_vx: Triple,
    pre_xyz_vx: Triple | None,
    post_xyz_vx: Triple | None,
    crop_size_xyz_vx: Triple,
) -> ViewSpec:
    """An instance centred, its pre (green) and post (blue) markers shown."""
    return ViewSpec(
        center_xyz_vx=center_xyz_vx, crop_size_xyz_vx=crop_size_xyz_vx,
        pre_xyz_vx=pre_xyz_vx, post_xyz_vx=post_xyz_vx,
    )  # fmt: skip


def chooser_spec(
    config: DatasetConfig, center_xyz_vx: Triple | None, chosen_neuron: int | None
) -> ViewSpec:
    """The neuropil visible, for choosing a neuron with ``n`` (the current choice shown)."""
    return ViewSpec(
        center_xyz_vx=center_xyz_vx, crop_size_xyz_vx=config.crop_size_xyz_vx,
        show_neuropil=True, neuron_ids=() if chosen_neuron is None else (chosen_neuron,),
        context=8.0,
    )  # fmt: skip


def missed_search_spec(
    center_xyz_vx: Triple,
    region_size_xyz_vx: Triple,
    candidates_xyz_vx: Sequence[Triple],
    neuron_id: int | None,
    context: float,
) -> ViewSpec:
    """A region (e.g. a compartment) with the neuron and the candidates marked so far, for
    marking missed synapses with ``c``."""
    return ViewSpec(
        center_xyz_vx=center_xyz_vx, crop_size_xyz_vx=region_size_xyz_vx,
        candidates_xyz_vx=tuple(candidates_xyz_vx), show_neuropil=neuron_id is not None,
        neuron_ids=() if neuron_id is None else (neuron_id,), context=context,
    )  # fmt: skip


def coordinate_space(resolution: Resolution) -> neuroglancer.CoordinateSpace:
    return neuroglancer.CoordinateSpace(
        names=["x", "y", "z"], units="nm", scales=list(resolution.as_tuple())
    )


def neuroglancer_source(
    url: str, base_url: str, token_of: TokenOfFolder | None, prefix: str = DEFAULT_PREFIX
) -> str:
    """A layer source: local folders through the app's data route (under the folder's
    registered token), remote ones as they are."""
    folder = local_folder(url)
    if folder is not None:
        if not base_url or token_of is None:
            raise ValueError(
                f"The local volume {url} is served by the app: its base URL and data route "
                "are needed."
            )
        return layer_source_url(base_url, token_of(folder), prefix)
    return "precomputed://" + normalize_url(url)


def voxel_center(point_xyz_vx: Sequence[float]) -> list[float]:
    return [math.floor(v) + 0.5 for v in point_xyz_vx]


def cross_section_scale(
    crop_size_xyz_vx: Triple, resolution: Resolution, panel_px: int, context: float
) -> float:
    """Zoom (canonical voxels per screen pixel) at which ``context`` crops span the panel.

    Neuroglancer's canonical voxel is the smallest of the display dimensions' scales.
    """
    crop_nm = max(crop_size_xyz_vx[0] * resolution.x_nm, crop_size_xyz_vx[1] * resolution.y_nm)
    nm_per_px = context * crop_nm / max(panel_px, 1)
    return nm_per_px / min(resolution.as_tuple())


def marker(
    annotation_id: str, point_xyz_vx: Sequence[float], color: str
) -> neuroglancer.PointAnnotation:
    return neuroglancer.PointAnnotation(
        id=annotation_id, point=voxel_center(point_xyz_vx), props=[color]
    )


def candidate_id(index: int) -> str:
    return f"{CANDIDATE_ID_PREFIX}{index}"


def markers_layer(
    resolution: Resolution, annotations: Sequence[neuroglancer.PointAnnotation]
) -> neuroglancer.LocalAnnotationLayer:
    return neuroglancer.LocalAnnotationLayer(
        dimensions=coordinate_space(resolution),
        annotation_properties=[
            neuroglancer.AnnotationPropertySpec(id="color", type="rgb", default=CANDIDATE_COLOR)
        ],
        annotations=list(annotations),
        shader=_MARKER_SHADER,
    )


def spec_markers(spec: ViewSpec) -> list[neuroglancer.PointAnnotation]:
    annotations = []
    if spec.pre_xyz_vx is not None:
        annotations.append(marker(PRE_ID, spec.pre_xyz_vx, PRE_COLOR))
    if spec.post_xyz_vx is not None:
        annotations.append(marker(POST_ID, spec.post_xyz_vx, POST_COLOR))
    for index, point in enumerate(spec.candidates_xyz_vx):
        annotations.append(marker(candidate_id(index), point, CANDIDATE_COLOR))
    return annotations


def build_state(
    config: DatasetConfig,
    spec: ViewSpec,
    base_url: str,
    token_of: TokenOfFolder | None = None,
    prefix: str = DEFAULT_PREFIX,
) -> neuroglancer.ViewerState:
    """The whole viewer state of one view of ``config``'s dataset (``token_of`` registers the
    local folders with the app's data route)."""
    res = config.target_resolution
    state = neuroglancer.ViewerState()
    state.dimensions = coordinate_space(res)
    state.layout = spec.layout
    if spec.center_xyz_vx is not None:
        state.position = voxel_center(spec.center_xyz_vx)
    state.cross_section_scale = cross_section_scale(
        spec.crop_size_xyz_vx, res, spec.panel_px, spec.context
    )
    state.layers[SOURCE_LAYER] = neuroglancer.ImageLayer(
        source=neuroglancer_source(config.source_url, base_url, token_of, prefix)
    )
    state.layers[TARGET_LAYER] = neuroglancer.SegmentationLayer(
        source=neuroglancer_source(config.target_url, base_url, token_of, prefix),
        selected_alpha=0.35,
    )
    if config.neuropil_url:
        neuropil = neuroglancer.SegmentationLayer(
            source=neuroglancer_source(config.neuropil_url, base_url, token_of, prefix),
            segments=[int(n) for n in spec.neuron_ids],
        )
        state.layers[NEUROPIL_LAYER] = neuropil
        state.layers[NEUROPIL_LAYER].visible = spec.show_neuropil
    state.layers[MARKERS_LAYER] = markers_layer(res, spec_markers(spec))
    return state


def to_target_voxels(
    coordinates: Sequence[float],
    dimensions: neuroglancer.CoordinateSpace,
    target_resolution: Resolution,
) -> Triple:
    """A point in the viewer's global coordinates -> the target voxel that contains it."""
    by_axis = {
        name: float(value) * float(scale) * _NM_PER_M
        for name, value, scale in zip(dimensions.names, coordinates, dimensions.scales)
    }
    if any(axis not in by_axis for axis in "xyz"):
        raise ValueError(f"the viewer dimensions {dimensions.names} lack x, y or z")
    nm = (by_axis["x"], by_axis["y"], by_axis["z"])
    x, y, z = (
        math.floor(v / r + 1e-6) for v, r in zip(nm, target_resolution.as_tuple(), strict=True)
    )
    return (x, y, z)


def segment_id_value(value: object) -> int | None:
    """An exact segment id from a selected value; ``None`` for background (0) or no segment.

    Values arrive as ints, digit strings, numpy integers or ``SegmentIdMapEntry`` (a base id
    mapped to an agglomerated one: the mapped ``value`` is the neuron).
    """
    if value is None or isinstance(value, bool):
        return None
    mapped = getattr(value, "value", None)
    key = getattr(value, "key", None)
    if key is not None:  # SegmentIdMapEntry
        return segment_id_value(mapped if mapped is not None else key)
    if isinstance(value, str):
        text = value.strip()
        return (int(text) or None) if text.isdigit() else None
    if isinstance(value, numbers.Integral):
        return int(value) or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value) or None
    return None


def selected_segment(action_state: object, layer_name: str) -> int | None:
    """The segment under the mouse in ``layer_name`` when the action fired, if any."""
    selected = getattr(action_state, "selected_values", None)
    if selected is None:
        return None
    entry = selected.get(layer_name)
    if entry is None:
        return None
    return segment_id_value(getattr(entry, "value", entry))


def proposed_bbox(
    center_xyz_vx: Sequence[float], crop_size_xyz_vx: Triple, volume_bounds: BBox
) -> ProposedBox:
    """The review box around a candidate, its part inside the volume and its slice range."""
    box = bbox_around(tuple(center_xyz_vx), crop_size_xyz_vx)
    clipped = box.intersect(volume_bounds)
    before, after = box.padding_within(volume_bounds)
    cx, cy, cz = (math.floor(c) for c in center_xyz_vx)
    return ProposedBox(
        center_xyz_vx=(cx, cy, cz),
        bbox_target_vx=box,
        clipped_target_vx=clipped,
        z_range=(clipped.start_xyz[2], clipped.stop_xyz[2]),
        padding_before_xyz=before,
        padding_after_xyz=after,
    )
