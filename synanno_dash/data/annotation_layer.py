"""The proofread synapses as a Neuroglancer precomputed annotation layer, written with the
neuroglancer package's ``AnnotationWriter`` (by-id index, relationships, spatial index).

One line annotation per instance (discarded false positives left out) from its pre to its post
marker, in target voxels (the layer's dimensions are x, y, z in nm per voxel of the target),
with id = the instance id, properties ``label``, ``category`` and ``type`` (enums, their names
in ``enum_labels``; type 0 is "none") and ``added_by_hand``, and relationships ``pre_segment``
/ ``post_segment`` to the neuron ids. An instance without both markers is left out (counted).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from synanno_dash.core.geometry import Resolution
from synanno_dash.core.instances import Instance
from synanno_dash.core.labels import Category, Label
from synanno_dash.core.session_json_format import ADDED_BY_HAND_KEY
from synanno_dash.core.synapse_types import DEFAULT_TYPES, types_in_order

LABELS = tuple(Label)
CATEGORIES = (None, *Category)  # 0: no error category


# Line colours of the synapse types in a Neuroglancer state (enum value 1, 2, ...; cycled).
TYPE_COLORS_RGB = ((0.2, 0.8, 0.2), (0.9, 0.2, 0.6), (0.6, 0.6, 0.6), (0.2, 0.6, 1.0),
                   (1.0, 0.6, 0.1), (0.6, 0.3, 0.9))  # fmt: skip


def type_enum(items: Sequence[Instance], synapse_types: Sequence[str]) -> tuple[str | None, ...]:
    """The ``type`` property's values: 0 none, the configured types, then the others."""
    return (None, *types_in_order(synapse_types, (i.synapse.synapse_type for i in items)))


def type_shader(types: Sequence[str | None]) -> str:
    """A Neuroglancer annotation shader colouring each line by its ``type`` (untyped lines
    keep the layer's colour)."""
    lines = ["void main() {", "  uint t = prop_type();", "  vec3 c = defaultColor();"]
    for value in range(1, len(types)):
        r, g, b = TYPE_COLORS_RGB[(value - 1) % len(TYPE_COLORS_RGB)]
        lines.append(f"  if (t == {value}u) c = vec3({r:.2f}, {g:.2f}, {b:.2f});")
    return "\n".join([*lines, "  setColor(c);", "}", ""])


@dataclass(frozen=True)
class AnnotationLayerExport:
    path: Path
    written: int
    without_markers: int


def write_annotation_layer(
    items: Sequence[Instance], out_dir: Path, resolution: Resolution,
    synapse_types: Sequence[str] = DEFAULT_TYPES,
) -> AnnotationLayerExport:
    """Write the layer into ``out_dir`` (created; must not hold a layer already). The
    ``type`` enum holds ``synapse_types`` (the configured list), then any other type of the
    instances."""  # fmt: skip
    import neuroglancer
    from neuroglancer.write_annotations import AnnotationWriter

    if (out_dir / "info").exists():
        raise FileExistsError(f"{out_dir} already holds a layer: choose a new folder.")
    types = type_enum(items, synapse_types)
    space = neuroglancer.CoordinateSpace(
        names=["x", "y", "z"], units="nm", scales=list(resolution.as_tuple())
    )
    properties = [
        neuroglancer.AnnotationPropertySpec(
            id="label", type="uint8", enum_values=list(range(len(LABELS))),
            enum_labels=[label.value for label in LABELS],
        ),
        neuroglancer.AnnotationPropertySpec(
            id="category", type="uint8", enum_values=list(range(len(CATEGORIES))),
            enum_labels=["none" if c is None else c.value for c in CATEGORIES],
        ),
        neuroglancer.AnnotationPropertySpec(
            id="type", type="uint8", enum_values=list(range(len(types))),
            enum_labels=["none" if t is None else t for t in types],
        ),
        neuroglancer.AnnotationPropertySpec(id="added_by_hand", type="uint8"),
    ]  # fmt: skip
    writer = AnnotationWriter(space, "line", ["pre_segment", "post_segment"], properties)
    written = missing = 0
    for item in items:
        syn = item.synapse
        if item.discarded:
            continue
        if syn.pre_xyz_vx is None or syn.post_xyz_vx is None:
            missing += 1
            continue
        writer.add_line(
            [float(v) for v in syn.pre_xyz_vx], [float(v) for v in syn.post_xyz_vx],
            id=item.instance_id, label=LABELS.index(item.label),
            category=CATEGORIES.index(item.category), type=types.index(syn.synapse_type),
            added_by_hand=int(bool(item.extra.get(ADDED_BY_HAND_KEY))),
            pre_segment=[] if syn.pre_neuron_id is None else [syn.pre_neuron_id],
            post_segment=[] if syn.post_neuron_id is None else [syn.post_neuron_id],
        )  # fmt: skip
        written += 1
    out_dir.mkdir(parents=True, exist_ok=True)
    writer.write(out_dir)
    _spec_type_name(out_dir / "info")
    return AnnotationLayerExport(out_dir, written, missing)


def _spec_type_name(info_path: Path) -> None:
    """The specification spells ``annotation_type`` in capitals ("LINE"); the neuroglancer
    package writes "line" and reads either, CloudVolume reads only the capitals."""
    info = json.loads(info_path.read_text())
    info["annotation_type"] = str(info["annotation_type"]).upper()
    info_path.write_text(json.dumps(info))
