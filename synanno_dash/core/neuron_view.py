"""A prepared neuron: skeleton, compartments, their extents and drawing lines (immutable).

Everything derived from the skeleton is computed once, in ``NeuronView.build``; the view is
shared by every session reviewing that neuron, so nothing in it is ever changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synanno_dash.core.compartments import Compartments, NeuronSkeleton
from synanno_dash.core.skeleton_lines import SkeletonDisplay, display_skeleton

# (where the skeleton comes from: an SWC file or the neuropil layer, neuron id)
NeuronViewKey = tuple[str, int]


@dataclass(frozen=True, eq=False)
class NeuronView:
    """A prepared neuron: skeleton (nm), compartments, and each compartment's extent (nm)."""

    neuron_id: int
    skeleton: NeuronSkeleton
    compartments: Compartments
    box_min_nm: np.ndarray  # (K, 3) x, y, z: smallest node coordinates per compartment
    box_max_nm: np.ndarray  # (K, 3) largest
    display: SkeletonDisplay  # the lines drawn in the overview and the mini-map

    @property
    def n_compartments(self) -> int:
        return self.compartments.n_compartments

    @classmethod
    def build(
        cls, neuron_id: int, skeleton: NeuronSkeleton, compartments: Compartments
    ) -> NeuronView:
        k = compartments.n_compartments
        labels = compartments.node_compartment
        box_min = np.full((k, 3), np.inf)
        box_max = np.full((k, 3), -np.inf)
        np.minimum.at(box_min, labels, skeleton.vertices_nm)
        np.maximum.at(box_max, labels, skeleton.vertices_nm)
        for array in (box_min, box_max):
            array.setflags(write=False)
        return cls(
            neuron_id=int(neuron_id),
            skeleton=skeleton,
            compartments=compartments,
            box_min_nm=box_min,
            box_max_nm=box_max,
            display=display_skeleton(skeleton, compartments),
        )
