"""The demo dataset: generated deterministically on first use, written as precomputed layers.

``out_dir`` receives ``source/`` (EM, uint8, 4x4x40 nm), ``target/`` (cleft ids, uint32,
8x8x40 nm), ``neuropil/`` (neuron ids, uint64, 8x8x40 nm, with skeletons), ``synapses.csv``
(SynAnno/H01 schema, target voxels), ``ground_truth.csv`` and ``dataset.json``. A marker
file written last tells a complete dataset from an interrupted one.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from synanno_dash.core.geometry import FloatTriple, Resolution, Triple
from synanno_dash.core.instances import DatasetConfig, Mode
from synanno_dash.data.precomputed import SkeletonData, write_skeletons, write_volume
from synanno_dash.demo.contacts import plan_contacts
from synanno_dash.demo.em import Scene, paint_organelles, render_em, sample_vesicles
from synanno_dash.demo.neurons import Box, Tree, grow_scene, rasterize_trees
from synanno_dash.demo.synapses import draw_clefts, false_sites
from synanno_dash.demo.table import (
    TableRow,
    TruthRow,
    assign_errors,
    build_table,
    false_positive_count,
    plan_shifts,
    shift_clefts,
)

if TYPE_CHECKING:
    import pandas as pd  # imported lazily where used

GENERATOR_VERSION = 1
BASE_NEURON_ID = 864_691_135_000_000_000  # ids above 2**53: float round-off shows at once
SOURCE_RESOLUTION_NM: FloatTriple = (4.0, 4.0, 40.0)
TARGET_RESOLUTION_NM: FloatTriple = (8.0, 8.0, 40.0)
TARGET_SIZE_XYZ_VX: Triple = (512, 512, 64)
CONTACTS_AT_FULL_SIZE = 430
MARKER_FILE = ".demo-complete"
OUTPUTS = ("source", "target", "neuropil", "synapses.csv", "ground_truth.csv", "dataset.json")
# ``progress(fraction, what)``: how far the generator is (0 to 1) and what it does now.
Progress = Callable[[float, str], None]


def _silent(_fraction: float, _what: str) -> None:
    return None


TABLE_COLUMNS = [
    "pre_pt_x", "pre_pt_y", "pre_pt_z", "post_pt_x", "post_pt_y", "post_pt_z",
    "x", "y", "z", "pre_neuron_id", "post_neuron_id",
]


@dataclass(frozen=True)
class DemoInfo:
    """Where the demo dataset is and what it holds (mirrors ``dataset.json``)."""

    out_dir: str
    source_url: str
    target_url: str
    neuropil_url: str
    table_url: str
    ground_truth_url: str
    source_resolution_nm: FloatTriple
    target_resolution_nm: FloatTriple
    source_size_xyz_vx: Triple
    target_size_xyz_vx: Triple
    demo_neuron_id: int
    neuron_ids: tuple[int, ...]
    demo_soma_xyz_nm: FloatTriple
    seed: int
    scale: float
    n_table_rows: int
    n_clefts: int
    error_counts: tuple[tuple[str, int], ...]
    generator_version: int = GENERATOR_VERSION

    @property
    def source_resolution(self) -> Resolution:
        return Resolution.of(self.source_resolution_nm)

    @property
    def target_resolution(self) -> Resolution:
        return Resolution.of(self.target_resolution_nm)

    def dataset_config(self, mode: Mode = Mode.NEURON) -> DatasetConfig:
        """The Open Data form's values for the demo (neuron-centric on the demo neuron)."""
        return DatasetConfig(
            source_url=self.source_url, target_url=self.target_url, table_url=self.table_url,
            source_resolution=self.source_resolution, target_resolution=self.target_resolution,
            neuropil_url=self.neuropil_url, mode=mode,
            neuron_id=self.demo_neuron_id if mode == Mode.NEURON else None,
        )

    @classmethod
    def load(cls, out_dir: Path | str) -> DemoInfo:
        data = json.loads((Path(out_dir) / "dataset.json").read_text())
        tuples = {
            "source_resolution_nm", "target_resolution_nm", "source_size_xyz_vx",
            "target_size_xyz_vx", "neuron_ids", "demo_soma_xyz_nm",
        }
        for key in tuples:
            data[key] = tuple(data[key])
        data["error_counts"] = tuple((k, int(v)) for k, v in data["error_counts"].items())
        return cls(**data)

    def to_json(self) -> dict:
        data = asdict(self)
        data["error_counts"] = dict(self.error_counts)
        return data


def ensure_demo(
    out_dir: Path, seed: int = 0, scale: float = 1.0, progress: Progress = _silent
) -> DemoInfo:
    """The demo in ``out_dir``, generated unless a complete one with these settings is there."""
    out_dir = Path(out_dir)
    if (out_dir / MARKER_FILE).exists():
        try:
            info = DemoInfo.load(out_dir)
        except (OSError, ValueError, KeyError, TypeError):
            info = None
        if info and (info.seed, info.scale, info.generator_version) == (
            seed, scale, GENERATOR_VERSION
        ):
            return info
    return generate_demo(out_dir, seed=seed, scale=scale, progress=progress)


def generate_demo(
    out_dir: Path, seed: int = 0, scale: float = 1.0, progress: Progress = _silent
) -> DemoInfo:
    """Generate the demo into ``out_dir`` (replacing an earlier one); ``scale`` shrinks it.
    ``progress`` hears of each stage."""
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER_FILE).unlink(missing_ok=True)
    for name in OUTPUTS:  # only our own outputs: out_dir may hold other files
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    built = _build(seed, scale, progress)
    _write(out_dir, built, progress)
    info = _info(out_dir, built, seed, scale)
    (out_dir / "dataset.json").write_text(json.dumps(info.to_json(), indent=2))
    elapsed = time.perf_counter() - started
    (out_dir / MARKER_FILE).write_text(f"generated in {elapsed:.1f} s\n")
    return info


@dataclass(frozen=True, eq=False)
class _Built:
    trees: list[Tree]
    neuron_ids: list[int]
    em_xyz: np.ndarray
    target_xyz: np.ndarray
    neurons_xyz: np.ndarray
    rows: list[TableRow]
    truths: list[TruthRow]
    n_clefts: int
    clefts_xyz: np.ndarray  # the clefts painted into the EM (before the table's shifts)


def _sizes(scale: float) -> tuple[Triple, Triple]:
    if not 0.1 <= scale <= 1.0:
        raise ValueError(f"scale must lie in [0.1, 1], got {scale}")
    tx, ty, tz = (max(16, round(n * scale)) for n in TARGET_SIZE_XYZ_VX)
    target = (tx, ty, tz)
    factor = np.array(TARGET_RESOLUTION_NM) / np.array(SOURCE_RESOLUTION_NM)
    sx, sy, sz = (int(round(n * f)) for n, f in zip(target, factor, strict=True))
    return target, (sx, sy, sz)


def _build(seed: int, scale: float, progress: Progress = _silent) -> _Built:
    progress(0.0, "growing the neurons")
    target_shape, source_shape = _sizes(scale)
    tres = np.array(TARGET_RESOLUTION_NM)
    streams = np.random.SeedSequence(seed).spawn(6)
    rng_scene, rng_contacts, rng_clefts, rng_errors, rng_em = (
        np.random.default_rng(s) for s in streams[:5]
    )
    box = Box(np.zeros(3), np.array(target_shape) * tres)
    builders = grow_scene(box, rng_scene, scale)
    contacts = plan_contacts(builders, box, rng_contacts, round(CONTACTS_AT_FULL_SIZE * scale**3))
    trees = [b.build() for b in builders]
    ids = [BASE_NEURON_ID + 1 + 1000 * k for k in range(len(trees))]
    progress(0.2, "drawing the neurons and the synaptic clefts")
    neurons = rasterize_trees(trees, target_shape, tres)
    clefts_xyz, clefts = draw_clefts(neurons, contacts, tres, rng_clefts)
    kinds = assign_errors(clefts, 0, rng_errors)
    shifts = plan_shifts(clefts, kinds, rng_errors)
    target = shift_clefts(clefts_xyz, shifts)
    centers = [c.center_vx for c in clefts] + [
        tuple(a + b for a, b in zip(clefts[cid - 1].center_vx, s, strict=True))
        for cid, s in shifts.items()
    ]
    fps = false_sites(
        neurons, np.array(centers, dtype=float).reshape(-1, 3),
        false_positive_count(len(clefts)), 0, tres, rng_errors,
    )
    rows, truths = build_table(clefts, kinds, shifts, fps, ids, rng_errors)
    progress(0.4, "rendering the electron micrographs")
    organelles, is_nucleus = paint_organelles(trees, neurons, tres, rng_em)
    cleft_post = np.array([0] + [c.post + 1 for c in clefts], dtype=np.int64)
    scene = Scene(
        neurons, organelles, is_nucleus, clefts_xyz, cleft_post,
        sample_vesicles(neurons, organelles, clefts, tres, rng_em),
        tres, np.array(SOURCE_RESOLUTION_NM), source_shape,
    )
    em = render_em(scene, streams[5])
    return _Built(trees, ids, em, target, neurons, rows, truths, len(clefts), clefts_xyz)


def synthetic_clefts(seed: int = 0, scale: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The demo's EM (uint8) and its true clefts (ids, 0 = none), both (x, y, z) at the
    source resolution ``SOURCE_RESOLUTION_NM``: training data for the mask-completion
    network. Nothing is written."""
    built = _build(seed, scale)
    factor = np.rint(np.array(TARGET_RESOLUTION_NM) / np.array(SOURCE_RESOLUTION_NM)).astype(int)
    clefts = built.clefts_xyz
    for axis, repeat in enumerate(factor):
        clefts = np.repeat(clefts, int(repeat), axis=axis)
    shape = built.em_xyz.shape
    return built.em_xyz, clefts[: shape[0], : shape[1], : shape[2]]


def _write(out_dir: Path, built: _Built, progress: Progress = _silent) -> None:
    progress(0.7, "writing the EM layer")
    write_volume(out_dir / "source", built.em_xyz, SOURCE_RESOLUTION_NM, (128, 128, 16))
    write_volume(
        out_dir / "target", built.target_xyz, TARGET_RESOLUTION_NM, (64, 64, 16), "segmentation"
    )
    progress(0.85, "writing the neuron layer and skeletons")
    lookup = np.array([0, *built.neuron_ids], dtype=np.uint64)
    neuropil = out_dir / "neuropil"
    write_volume(
        neuropil, lookup[built.neurons_xyz], TARGET_RESOLUTION_NM, (64, 64, 16), "segmentation",
        skeletons=True,
    )  # fmt: skip
    write_skeletons(neuropil, [
        SkeletonData(segment_id, tree.vertices_nm, tree.edges, tree.radii_nm, tree.types)
        for tree, segment_id in zip(built.trees, built.neuron_ids, strict=True)
    ])  # fmt: skip
    progress(0.95, "writing the synapse table")
    _table_frame(built.rows).to_csv(out_dir / "synapses.csv", index=False)
    _truth_frame(built.truths).to_csv(out_dir / "ground_truth.csv", index=False)


def _table_frame(rows: list[TableRow]) -> pd.DataFrame:
    import pandas as pd

    def point(p: Triple | None) -> list[int | None]:
        return [None, None, None] if p is None else list(p)

    data = [
        [*point(r.pre_vx), *point(r.post_vx), *r.center_vx, r.pre_neuron_id, r.post_neuron_id]
        for r in rows
    ]
    frame = pd.DataFrame(data, columns=TABLE_COLUMNS)
    for col in TABLE_COLUMNS[:9]:
        frame[col] = frame[col].astype("Int64")  # empty cells, not floats, for missing markers
    for col in TABLE_COLUMNS[9:]:
        frame[col] = frame[col].astype("int64")
    return frame


def _truth_frame(truths: list[TruthRow]) -> pd.DataFrame:
    import pandas as pd

    data = [
        [t.materialization_index, t.error, t.cleft_id, *t.center_vx, t.pre_neuron_id,
         t.post_neuron_id, *t.shift_vx]
        for t in truths
    ]
    columns = [
        "materialization_index", "error", "cleft_id", "x", "y", "z", "pre_neuron_id",
        "post_neuron_id", "shift_x", "shift_y", "shift_z",
    ]
    frame = pd.DataFrame(data, columns=columns)
    frame["materialization_index"] = frame["materialization_index"].astype("Int64")
    frame["pre_neuron_id"] = frame["pre_neuron_id"].astype("int64")
    frame["post_neuron_id"] = frame["post_neuron_id"].astype("int64")
    return frame


def _info(out_dir: Path, built: _Built, seed: int, scale: float) -> DemoInfo:
    counts: dict[str, int] = {}
    for t in built.truths:
        counts[t.error] = counts.get(t.error, 0) + 1
    soma = built.trees[0].vertices_nm[0]
    em_shape, target_shape = built.em_xyz.shape, built.target_xyz.shape
    return DemoInfo(
        out_dir=str(out_dir),
        source_url=(out_dir / "source").as_uri(),
        target_url=(out_dir / "target").as_uri(),
        neuropil_url=(out_dir / "neuropil").as_uri(),
        table_url=(out_dir / "synapses.csv").as_uri(),
        ground_truth_url=(out_dir / "ground_truth.csv").as_uri(),
        source_resolution_nm=SOURCE_RESOLUTION_NM,
        target_resolution_nm=TARGET_RESOLUTION_NM,
        source_size_xyz_vx=(int(em_shape[0]), int(em_shape[1]), int(em_shape[2])),
        target_size_xyz_vx=(int(target_shape[0]), int(target_shape[1]), int(target_shape[2])),
        demo_neuron_id=built.neuron_ids[0],
        neuron_ids=tuple(built.neuron_ids),
        demo_soma_xyz_nm=(float(soma[0]), float(soma[1]), float(soma[2])),
        seed=seed,
        scale=scale,
        n_table_rows=len(built.rows),
        n_clefts=built.n_clefts,
        error_counts=tuple(sorted(counts.items())),
    )
