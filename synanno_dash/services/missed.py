"""Missed synapses marked in Neuroglancer: where the viewer opens, each candidate's box, its
preview and saving it as a false negative (no Dash here; the page is ``pages/missed.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from synanno_dash.core.forms import FieldError, parse_int_triple
from synanno_dash.core.geometry import BBox, Triple
from synanno_dash.core.instances import Instance, Mode
from synanno_dash.core.limits import MAX_COORDINATE_VX, MAX_CROP_SIDE_VX, MAX_CROP_VOXELS
from synanno_dash.data.store import StoreError
from synanno_dash.data.volumes import InstanceCrops, VolumeError
from synanno_dash.services import neuron, ng_state, review
from synanno_dash.services.false_negatives import FalseNegativeError, add_false_negative
from synanno_dash.services.session import Session

MAX_PREVIEW_VOXELS = 512 * 512 * 64  # a typo must not read a huge box


@dataclass(frozen=True)
class SearchTarget:
    """Where the viewer opens, which compartment new instances join, where to return."""

    center_xyz_vx: Triple
    compartment: int | None
    back: str
    notice: str = ""
    region: BBox | None = None  # the compartment's box, when known


def compartment_center(items: Sequence[Instance], compartment: int) -> Triple | None:
    """The mean centre of a compartment's instances (rounded), ``None`` if it has none."""
    centres = [i.synapse.center_xyz_vx for i in items if i.compartment == compartment]
    if not centres:
        return None
    x, y, z = (round(sum(c[axis] for c in centres) / len(centres)) for axis in range(3))
    return (x, y, z)


def safe_back(back: str | None, default: str) -> str:
    """Only a path of this app (no other host) is a place to return to."""
    if back and back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back
    return default


def _int_or_none(text: str | None, what: str) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise FieldError(f"{what} must be a whole number, not {text!r}.") from exc


def search_target(
    session: Session,
    compartment: str | None = None,
    center: str | None = None,
    instance: str | None = None,
    back: str | None = None,
) -> SearchTarget:
    """Read the query: an explicit centre wins, then the instance, then the compartment.
    ``FieldError`` for a malformed query, ``NoDatasetError`` without a dataset."""
    k = _int_or_none(compartment, "compartment")
    n = _int_or_none(instance, "instance")
    grid = f"/annotation?page={review.last_page(session)}"
    back_to = safe_back(back, "/draw" if instance is not None else grid)
    bounds = session.volumes.target_bounds
    if center is not None and center.strip():
        point = parse_int_triple(center, "center", minimum=0)
        return SearchTarget(point, k, back_to)
    if n is not None:
        try:
            item = review.instance(session, n)
        except StoreError:
            notice = f"Instance {n} is not part of this session: showing the volume centre."
            return SearchTarget(bounds.center_xyz, k, back_to, notice)
        k = k if k is not None else item.compartment
        return SearchTarget(item.synapse.center_xyz_vx, k, back_to)
    if k is not None:
        return _compartment_target(session, k, back_to)
    return SearchTarget(bounds.center_xyz, None, back_to)


def _compartment_target(session: Session, k: int, back_to: str) -> SearchTarget:
    """The box around the compartment's skeleton (neuron-centric) or else its synapses' mean."""
    if session.config.mode is Mode.NEURON:
        try:
            box = neuron.missed_synapse_box(session, k)
            return SearchTarget(box.center_xyz, k, back_to, region=box)
        except (neuron.NeuronError, VolumeError):
            pass  # no skeleton: fall back to the synapses
    middle = compartment_center(review.instances(session), k)
    if middle is not None:
        return SearchTarget(middle, k, back_to)
    notice = f"No instance of compartment {k} in this session: showing the volume centre."
    return SearchTarget(session.volumes.target_bounds.center_xyz, k, back_to, notice)


def box_from_inputs(values: Sequence[object]) -> BBox:
    """Six inputs (x, y, z start, then stop) -> a box; a clear message when one is off."""
    numbers = []
    for name, value in zip(("x", "y", "z") * 2, values, strict=True):
        if value is None or value == "":
            raise FalseNegativeError(f"give the {name} start and stop of the box.")
        try:
            number = float(str(value)[:40])
        except ValueError:
            raise FalseNegativeError(f"the box's {name} must be a number of voxels.") from None
        if not number.is_integer() or abs(number) > MAX_COORDINATE_VX:
            raise FalseNegativeError(f"the box needs whole voxels ({name}: {str(value)[:40]}).")
        numbers.append(int(number))
    start, stop = tuple(numbers[:3]), tuple(numbers[3:])
    try:
        box = BBox.from_bounds(start, stop)
    except ValueError as exc:
        raise FalseNegativeError(str(exc)) from exc
    if max(box.shape_xyz) > MAX_CROP_SIDE_VX or box.size > MAX_CROP_VOXELS:
        raise FalseNegativeError(
            f"the box spans at most {MAX_CROP_SIDE_VX} voxels per axis and "
            f"{MAX_CROP_VOXELS:,} in all; give a smaller box."
        )
    return box


@dataclass(frozen=True)
class Proposal:
    """The box proposed for a candidate, and the volume it lies in (target voxels)."""

    box: ng_state.ProposedBox
    volume: BBox


def propose_box(session: Session, center: Triple) -> Proposal:
    volume = session.volumes.target_bounds
    return Proposal(
        ng_state.proposed_bbox(center, session.config.crop_size_xyz_vx, volume), volume
    )


def preview_crops(session: Session, center: Triple, box: BBox) -> InstanceCrops | None:
    """The crops of a candidate's box, or None when the box cannot be previewed (it misses
    the candidate, or is too large to read for a preview)."""
    if not session.has_dataset or not box.contains_point(center) or box.size > MAX_PREVIEW_VOXELS:
        return None
    return session.volumes.read_instance(box)


def save_candidate(
    session: Session, center: Triple, box: BBox, compartment: int | None
) -> Instance:
    """Add the candidate as a false negative and read its crop (the grid shows it at once)."""
    item = add_false_negative(session, center, box, compartment)
    session.volumes.read_instance(box)
    return item
