"""Import a detector's output as a dataset to review: ``DIR/target/`` and ``DIR/synapses.csv``.

The map is checked against the source and neuropil layers first, labelled block by block
(``chunked_labels``), and the result is written into a hidden sibling folder that is renamed to
``DIR`` only when complete: a failed import leaves no dataset behind. ``DIR/import.json``
records the parameters, inputs and counts (``docs/formats.md``, section 8).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synanno_dash.core.detection import DetectionError, DetectionParameters, check_threshold_range
from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.data.chunked_labels import LabelledMap, Progress, label_map, write_labels
from synanno_dash.data.precomputed import new_layer
from synanno_dash.data.prediction_maps import PredictionMap, open_map
from synanno_dash.data.synapse_sides import SideLayers, assign_sides, open_side_layers

IMPORT_FORMAT_VERSION = 1
TABLE_NAME = "synapses.csv"
PARAMETERS_NAME = "import.json"
TARGET_DIR = "target"
DEFAULT_BUDGET_BYTES = 512 * 1024**2
MAX_OUTPUT_CHUNK_VX = 128  # output chunk edge (x, y); z at most 32
TABLE_COLUMNS = [
    "id", "x", "y", "z", "pre_pt_x", "pre_pt_y", "pre_pt_z", "post_pt_x", "post_pt_y",
    "post_pt_z", "pre_neuron_id", "post_neuron_id", "confidence", "size_vx",
    "bbox_x0", "bbox_y0", "bbox_z0", "bbox_x1", "bbox_y1", "bbox_z1", "side_rule",
]  # fmt: skip


class PredictionImportError(ValueError):
    """An import that cannot run; the message names the problem and the fix."""


@dataclass(frozen=True)
class ImportRequest:
    """What ``synanno-dash import-predictions`` was asked to do."""

    map_url: str
    out_dir: Path
    params: DetectionParameters
    resolution: Resolution | None = None
    neuropil_url: str | None = None
    source_url: str | None = None
    channel: int | None = None
    budget_bytes: int = DEFAULT_BUDGET_BYTES
    max_map_voxels: int | None = None  # None: any size (checked from the map's metadata)


@dataclass(frozen=True)
class ImportResult:
    out_dir: Path
    target_url: str
    table_path: Path
    count: int
    components_before_filter: int
    seconds: float


def run_import(request: ImportRequest, progress: Progress | None = None) -> ImportResult:
    """Run the import; a problem raises ``PredictionImportError``, ``MapError``,
    ``DetectionError`` or ``SideLayerError`` and leaves no ``out_dir`` behind."""
    started = time.perf_counter()
    report = progress or (lambda _f, _m: None)
    out_dir = request.out_dir.expanduser().resolve()
    _check_out_dir(out_dir)
    sides = open_side_layers(request.source_url, request.neuropil_url)
    fallback = sides.source.resolution if sides.source else None
    prediction = open_map(request.map_url, request.resolution, request.channel, fallback)
    check_map_size(prediction, request.max_map_voxels)
    params = _params_for(prediction, request.params)
    sides.check_against(prediction.resolution, prediction.bounds_vx)
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        labelled = label_map(
            prediction.read_xyz, prediction.bounds_vx, prediction.chunk_xyz_vx, params,
            partial / ".scratch", request.budget_bytes, report,
        )  # fmt: skip
        _check_result(labelled, params, prediction)
        target = _write_target(partial / TARGET_DIR, prediction, labelled, report)
        table = _table(labelled, prediction, sides, partial / TARGET_DIR, report)
        table.to_csv(partial / TABLE_NAME, index=False)
        shutil.rmtree(partial / ".scratch")
        _write_parameters(partial, request, prediction, params, labelled, table)
        if out_dir.exists():
            out_dir.rmdir()  # checked empty above
        partial.rename(out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    report(1.0, f"{labelled.count} synapses written to {out_dir}")
    return ImportResult(
        out_dir, (out_dir / TARGET_DIR).as_uri() if target else "", out_dir / TABLE_NAME,
        labelled.count, labelled.components.count, time.perf_counter() - started,
    )  # fmt: skip


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise PredictionImportError(
            f"--out {out_dir} already exists and is not an empty folder: choose a new folder "
            "(an import never overwrites a dataset)."
        )
    if not out_dir.parent.is_dir():
        raise PredictionImportError(
            f"The folder {out_dir.parent} for --out does not exist: create it."
        )


def check_map_size(prediction: PredictionMap, max_map_voxels: int | None) -> None:
    """Refuse a map above the voxel limit, from its geometry alone (nothing is read)."""
    size_vx = prediction.bounds_vx.size
    if max_map_voxels is None or size_vx <= max_map_voxels:
        return
    x, y, z = prediction.bounds_vx.shape_xyz
    raise PredictionImportError(
        f"The map {prediction.url} has {size_vx:,} voxels ({x:,} x {y:,} x {z:,}); imports "
        f"here take at most {max_map_voxels:,} voxels (SYNANNO_MAX_IMPORT_VOXELS). Import a "
        "cutout of the map (a smaller region written as its own volume), or ask whoever runs "
        "the server to raise the limit."
    )


def _params_for(prediction: PredictionMap, params: DetectionParameters) -> DetectionParameters:
    if prediction.is_label_volume:
        if params.hysteresis is not None or params.closing_vx:
            raise DetectionError(
                f"The map {prediction.url} is a label volume ({prediction.dtype.name}): it has "
                "no probabilities to threshold. Drop --threshold/--hysteresis/--closing, or "
                "give the probability map instead."
            )
        return DetectionParameters(
            None, None, params.min_size_vx, params.max_size_vx, 0, is_label_volume=True
        )
    low, high = prediction.value_range
    limit = params.hysteresis or (params.low,)
    if any(not low <= t <= high for t in limit):
        raise DetectionError(
            f"Threshold {', '.join(f'{t:g}' for t in limit)} is outside the range of a "
            f"{prediction.dtype.name} probability map ({low:g}-{high:g}): give a threshold "
            "in that range."
        )
    return params


def _check_result(labelled: LabelledMap, params: DetectionParameters, p: PredictionMap) -> None:
    check_threshold_range(params, labelled.value_min, labelled.value_max)
    if labelled.count == 0:
        sizes = labelled.components.size_vx
        found = (
            f"{len(sizes)} components of {int(sizes.min())}-{int(sizes.max())} voxels"
            if len(sizes) else "no component"
        )  # fmt: skip
        raise DetectionError(
            f"No synapse is left after filtering {p.url}: the threshold gave {found}, none "
            f"within {params.min_size_vx}-{params.max_size_vx} voxels"
            f"{' holding a voxel above the high threshold' if params.hysteresis else ''}. "
            "Lower the threshold or widen --min-size/--max-size."
        )


def _output_chunk(prediction: PredictionMap) -> tuple[int, int, int]:
    x, y, z = prediction.chunk_xyz_vx
    return (min(x, MAX_OUTPUT_CHUNK_VX), min(y, MAX_OUTPUT_CHUNK_VX), min(z, 32))


def _write_target(
    path: Path, prediction: PredictionMap, labelled: LabelledMap, report: Progress
) -> str:
    volume = new_layer(
        path, "segmentation", "uint32", prediction.resolution.as_tuple(),
        prediction.bounds_vx.shape_xyz, _output_chunk(prediction), prediction.bounds_vx.start_xyz,
    )  # fmt: skip

    def write(box: BBox, ids_xyz: np.ndarray) -> None:
        (x0, y0, z0), (x1, y1, z1) = box.start_xyz, box.stop_xyz
        volume[x0:x1, y0:y1, z0:z1] = ids_xyz  # zeros too: readers without fill_missing

    write_labels(labelled, write, report)
    return path.as_uri()


def _table(
    labelled: LabelledMap, prediction: PredictionMap, sides: SideLayers, target_path: Path,
    report: Progress,
) -> pd.DataFrame:
    c, kept = labelled.components, labelled.kept
    scale = 255.0 if prediction.dtype == np.uint8 else 1.0
    centroid = np.floor(c.centroid_xyz[kept]).astype(np.int64)
    start, stop = c.start_xyz[kept], c.stop_xyz[kept]
    n = int(kept.sum())
    table = pd.DataFrame({
        "id": np.arange(1, n + 1, dtype=np.int64),
        "x": centroid[:, 0], "y": centroid[:, 1], "z": centroid[:, 2],
        "confidence": np.round(c.mean_value[kept] / scale, 6),
        "size_vx": c.size_vx[kept],
        **{f"bbox_{a}0": start[:, k] for k, a in enumerate("xyz")},
        **{f"bbox_{a}1": stop[:, k] for k, a in enumerate("xyz")},
    })  # fmt: skip
    assigned = assign_sides(sides, table, target_path, prediction.resolution, report)
    for column in TABLE_COLUMNS:
        if column not in table:
            table[column] = assigned[column] if column in assigned else pd.NA
    if prediction.is_label_volume:
        table["confidence"] = pd.NA  # a label volume has no probabilities
    return table[TABLE_COLUMNS]


def _write_parameters(
    folder: Path, request: ImportRequest, prediction: PredictionMap,
    params: DetectionParameters, labelled: LabelledMap, table: pd.DataFrame,
) -> None:
    sizes = labelled.components.size_vx
    document = {
        "format_version": IMPORT_FORMAT_VERSION,
        "map": prediction.url,
        "map_dtype": prediction.dtype.name,
        "channel": request.channel,
        "resolution_nm": list(prediction.resolution.as_tuple()),
        "voxel_offset_xyz_vx": list(prediction.bounds_vx.start_xyz),
        "size_xyz_vx": list(prediction.bounds_vx.shape_xyz),
        "source": request.source_url,
        "neuropil": request.neuropil_url,
        "target": TARGET_DIR,
        "table": TABLE_NAME,
        "parameters": params.as_json(),
        "value_range": [labelled.value_min, labelled.value_max],
        "components_before_filter": int(len(sizes)),
        "components_too_small": int(np.sum(sizes < params.min_size_vx)),
        "components_too_large": int(np.sum(sizes > params.max_size_vx)),
        "synapses": int(len(table)),
        "block_xyz_vx": list(labelled.grid.block_xyz_vx),
        "side_rule": "see docs/formats.md section 8",
    }
    (folder / PARAMETERS_NAME).write_text(json.dumps(document, indent=2, allow_nan=False))


def parse_pair(text: str, what: str) -> tuple[float, float]:
    """``"0.3,0.7"`` -> ``(0.3, 0.7)``; a clear error otherwise."""
    try:
        low, high = (float(p) for p in text.split(","))
    except ValueError:
        raise PredictionImportError(
            f"{what} {text!r} is not two numbers LOW,HIGH, e.g. 0.3,0.7."
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise PredictionImportError(f"{what} {text!r} must be finite numbers, e.g. 0.3,0.7.")
    return low, high


def parse_triple(text: str, what: str, cast: Callable[[str], float] = float) -> tuple:
    """``"8,8,40"`` -> ``(8.0, 8.0, 40.0)``; a clear error otherwise."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(cast(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise PredictionImportError(
            f"{what} {text!r} is not three positive numbers X,Y,Z, e.g. 8,8,40."
        )
    return values
