"""Correction exports (I/O): the masks zip, a precomputed segmentation layer, the table.

Formats are documented in ``docs/formats.md``. Masks are (z, y, x) arrays at the target
resolution over an instance's drawing box (absolute target voxels, half-open, x, y, z);
file names carry the instance id, the box and, for slice PNGs, the absolute z.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from PIL import Image

from synanno_dash.core.geometry import BBox, Resolution
from synanno_dash.data.table_errors import described, read_error
from synanno_dash.data.table_schema import (
    Layout,
    TableError,
    detect_layout,
    materialization_index,
)
from synanno_dash.data.tables import is_parquet

ZIP_FORMAT_VERSION = 1
_NAME = re.compile(
    r"instance-(?P<id>\d+)_x(?P<x0>-?\d+)\.\.(?P<x1>-?\d+)_y(?P<y0>-?\d+)\.\.(?P<y1>-?\d+)"
    r"_z(?P<z0>-?\d+)\.\.(?P<z1>-?\d+)(?:_slice-z(?P<z>-?\d+))?\.(?P<ext>npy|png)"
)


# -- file names -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MaskFileName:
    instance_id: int
    bbox_target_vx: BBox
    z_vx: int | None = None  # absolute target z of a slice PNG; None for the instance .npy

    @property
    def name(self) -> str:
        (x0, y0, z0), (x1, y1, z1) = self.bbox_target_vx.start_xyz, self.bbox_target_vx.stop_xyz
        stem = f"instance-{self.instance_id:05d}_x{x0}..{x1}_y{y0}..{y1}_z{z0}..{z1}"
        return f"{stem}.npy" if self.z_vx is None else f"{stem}_slice-z{self.z_vx}.png"


def parse_mask_file_name(name: str) -> MaskFileName:
    """Read instance id, box and slice back from a file name of the masks zip."""
    found = _NAME.fullmatch(Path(name).name)
    if found is None:
        raise ValueError(f"{name!r} is not a mask file name of a SynAnno Dash masks zip")
    g = {k: v for k, v in found.groupdict().items() if k != "ext"}
    box = BBox(
        (int(g["x0"]), int(g["y0"]), int(g["z0"])), (int(g["x1"]), int(g["y1"]), int(g["z1"]))
    )
    return MaskFileName(int(g["id"]), box, None if g["z"] is None else int(g["z"]))


# -- masks zip ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class InstanceMask:
    """One instance's corrected mask: (z, y, x) over ``bbox_target_vx``; edited slices."""

    instance_id: int
    bbox_target_vx: BBox
    mask_zyx: np.ndarray
    edited_z_vx: tuple[int, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _png_bytes(mask_yx: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.where(mask_yx, 255, 0).astype(np.uint8), "L").save(buffer, format="PNG")
    return buffer.getvalue()


def masks_zip(masks: Iterable[InstanceMask], manifest: Mapping[str, Any]) -> bytes:
    """A zip: one uint8 (0/1) .npy per instance, one PNG (0/255) per edited slice, and
    ``manifest.json`` (``manifest`` plus one entry per instance)."""
    buffer = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in masks:
            box = item.bbox_target_vx
            if item.mask_zyx.shape != box.shape_xyz[::-1]:
                raise ValueError(
                    f"mask of instance {item.instance_id} is {item.mask_zyx.shape} (z, y, x) but "
                    f"its box {box.as_list()} needs {box.shape_xyz[::-1]}"
                )
            npy = MaskFileName(item.instance_id, box).name
            archive.writestr(npy, _npy_bytes(item.mask_zyx.astype(np.uint8)))
            pngs = []
            for z in sorted(item.edited_z_vx):
                if box.start_xyz[2] <= z < box.stop_xyz[2]:
                    png = MaskFileName(item.instance_id, box, z).name
                    archive.writestr(png, _png_bytes(item.mask_zyx[z - box.start_xyz[2]]))
                    pngs.append(png)
            entries.append({**item.info, "instance_id": item.instance_id, "npy": npy,
                            "slice_pngs": pngs, "bbox_target_xyz_vx": box.as_list()})  # fmt: skip
        document = {"format_version": ZIP_FORMAT_VERSION, **manifest, "instances": entries}
        archive.writestr("manifest.json", json.dumps(document, indent=1))
    return buffer.getvalue()


# -- precomputed segmentation layer -------------------------------------------------------
def write_segmentation_layer(
    path: Path,
    bounds_target_vx: BBox,
    resolution: Resolution,
    masks: Sequence[tuple[int, BBox, np.ndarray]],
    labels: Mapping[int, str] | None = None,
    chunk_xyz_vx: tuple[int, int, int] = (64, 64, 16),
) -> str:
    """Write ``(segment_id, box, mask_zyx)`` masks into a new precomputed segmentation.

    Same geometry as the target volume (``bounds`` and ``resolution``), uncompressed raw
    chunks (Neuroglancer over HTTP and tensorstore read them), segment labels as
    ``segment_properties``. Masks overlapping an earlier one win where they are set; zeros
    never erase. Returns the layer's ``file://`` URL.
    """
    from cloudvolume import CloudVolume  # lazy: ~2 s to import

    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} is not empty: choose a new folder for the layer")
    ids = [segment_id for segment_id, _box, _mask in masks]
    if any(i <= 0 for i in ids):
        raise ValueError("segment ids must be positive (0 is background)")
    dtype = "uint32" if max(ids, default=0) < 2**32 else "uint64"
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type=dtype, encoding="raw",
        resolution=list(resolution.as_tuple()), voxel_offset=list(bounds_target_vx.start_xyz),
        chunk_size=[min(c, max(1, s)) for c, s in zip(chunk_xyz_vx, bounds_target_vx.shape_xyz)],
        volume_size=list(bounds_target_vx.shape_xyz),
    )  # fmt: skip
    info["segment_properties"] = "segment_properties"
    path.mkdir(parents=True, exist_ok=True)
    url = path.resolve().as_uri()
    cv = CloudVolume(
        url, info=info, compress=False, progress=False, fill_missing=True,
        non_aligned_writes=True, bounded=True,
    )  # fmt: skip
    cv.commit_info()
    for segment_id, box, mask_zyx in masks:
        _paint(cv, bounds_target_vx, segment_id, box, mask_zyx, np.dtype(dtype))
    _write_segment_properties(path, {i: (labels or {}).get(i, f"segment {i}") for i in ids})
    return url


def _paint(cv: Any, bounds: BBox, segment_id: int, box: BBox, mask_zyx: np.ndarray,
           dtype: np.dtype) -> None:  # fmt: skip
    clipped = box.intersect(bounds)
    if clipped.is_empty or not mask_zyx.any():
        return
    lo = [c - b for c, b in zip(clipped.start_xyz, box.start_xyz, strict=True)]
    hi = [c - b for c, b in zip(clipped.stop_xyz, box.start_xyz, strict=True)]
    part_xyz = mask_zyx[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]].transpose(2, 1, 0)
    if not part_xyz.any():
        return
    (x0, y0, z0), (x1, y1, z1) = clipped.start_xyz, clipped.stop_xyz
    region = np.asarray(cv[x0:x1, y0:y1, z0:z1])[..., 0].astype(dtype)  # read-modify-write
    region[part_xyz] = segment_id
    cv[x0:x1, y0:y1, z0:z1] = region[..., None]


def _write_segment_properties(path: Path, labels: Mapping[int, str]) -> None:
    folder = path / "segment_properties"
    folder.mkdir(exist_ok=True)
    ordered = sorted(labels)
    document = {
        "@type": "neuroglancer_segment_properties",
        "inline": {
            "ids": [str(i) for i in ordered],
            "properties": [
                {"id": "label", "type": "label", "values": [labels[i] for i in ordered]}
            ],
        },
    }
    (folder / "info").write_text(json.dumps(document, indent=1))


# -- corrected synapse table --------------------------------------------------------------
Point = tuple[float, float, float]


@dataclass(frozen=True)
class AddedSynapse:
    center: Point
    pre: Point | None = None
    post: Point | None = None
    pre_neuron_id: int | None = None  # the neuropil segment under the marker, if known
    post_neuron_id: int | None = None


@dataclass(frozen=True)
class TableCorrections:
    """What changes, in the table's own units. ``points``: materialization index ->
    {"pre": point, "post": point} (only the changed ones)."""

    drop: frozenset[int] = frozenset()
    points: Mapping[int, Mapping[str, Point]] = field(default_factory=dict)
    added: tuple[AddedSynapse, ...] = ()


def table_path(path_or_url: str) -> Path:
    parsed = urlparse(path_or_url)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    if len(parsed.scheme) > 1:
        raise TableError(f"only local tables can be rewritten, not {path_or_url}")
    return Path(path_or_url)


def write_corrected_table(
    source: Path, out: Path, corrections: TableCorrections, batch_rows: int = 250_000
) -> int:
    """Copy a synapse table with the corrections applied, in its own format and schema.

    Streams batches (any size of table); rows are kept in order, dropped ones left out,
    added ones appended with the next ids (when the table has an ``id`` column). Columns
    we do not know are copied unchanged. Returns the number of rows written.
    """
    parquet = is_parquet(source)
    try:
        return _write_corrected(source, out, corrections, batch_rows, parquet)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:  # quoted file text: not shown
        raise read_error(source, "Parquet" if parquet else "CSV", exc) from None


def _write_corrected(
    source: Path, out: Path, corrections: TableCorrections, batch_rows: int, parquet: bool
) -> int:
    if parquet:
        names = list(pq.ParquetFile(source).schema_arrow.names)
        batches = pq.ParquetFile(source).iter_batches(batch_size=batch_rows)
    else:
        reader = _csv_strings(source, None)
        names = list(reader.schema.names)
        reader.close()
        batches = iter(_csv_strings(source, names))
    layout = detect_layout(names, source=described(source))
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out, parquet)
    first_row, max_id, written = 0, -1, 0
    schema: pa.Schema | None = None
    for batch in batches:
        schema = batch.schema
        mat = _materialization(batch, layout, first_row)
        first_row += batch.num_rows
        max_id = max(max_id, int(mat.max(initial=-1)))
        batch = _patched(batch, layout, mat, corrections.points)
        keep = ~np.isin(mat, np.fromiter(corrections.drop, np.int64, len(corrections.drop)))
        batch = batch.filter(pa.array(keep))
        writer.write(batch)
        written += batch.num_rows
    if schema is None:
        raise TableError(f"synapse table {source} has no rows to correct")
    if corrections.added:
        start = (max_id if layout.id else first_row - 1) + 1
        writer.write(_added_batch(schema, layout, corrections.added, start))
        written += len(corrections.added)
    writer.close()
    return written


def _csv_strings(path: Path, columns: list[str] | None) -> pacsv.CSVStreamingReader:
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    if columns is not None:  # text keeps ids and numbers exactly as written
        convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=True
        )
    stream = pa.input_stream(str(path), compression="detect")
    return pacsv.open_csv(stream, convert_options=convert)


class _Writer:
    """Parquet with the source schema, or CSV whose number columns stay unquoted."""

    def __init__(self, out: Path, parquet: bool) -> None:
        self.out, self.parquet = out, parquet
        self._parquet: pq.ParquetWriter | None = None
        self._csv = None if parquet else out.open("wb")
        self._header = True

    def write(self, batch: pa.RecordBatch) -> None:
        if self.parquet:
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.out, batch.schema)
            self._parquet.write_batch(batch)
            return
        assert self._csv is not None
        table = pa.Table.from_batches([_numbers_unquoted(batch)])
        pacsv.write_csv(table, self._csv, pacsv.WriteOptions(include_header=self._header))
        self._header = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()


def _numbers_unquoted(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text columns that hold only integers become integer columns (written unquoted)."""
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type):
            for kind in (pa.int64(), pa.uint64()):
                try:
                    column = pc.cast(column, kind)
                    break
                except pa.ArrowInvalid:
                    continue
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _materialization(batch: pa.RecordBatch, layout: Layout, first_row: int) -> np.ndarray:
    if layout.id is None:
        return np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)
    return materialization_index(batch, layout.id, first_row)  # the import's own rule


def _point_columns(layout: Layout, role: str) -> tuple[str, str, str] | str | None:
    return {"center": layout.center, "pre": layout.pre, "post": layout.post}[role]


def _cell(value: float, arrow_type: pa.DataType) -> Any:
    whole = float(value).is_integer()
    if pa.types.is_string(arrow_type):
        return str(int(value)) if whole else repr(float(value))
    if pa.types.is_integer(arrow_type):
        return int(round(value))
    return float(value)


def _id_cell(neuron_id: int, arrow_type: pa.DataType) -> Any:
    """A 64-bit id, exact: never through float."""
    return str(neuron_id) if pa.types.is_string(arrow_type) else int(neuron_id)


def _list_cell(point: Point, arrow_type: pa.DataType) -> Any:
    if pa.types.is_string(arrow_type):
        return "[" + ", ".join(str(_cell(v, pa.string())) for v in point) + "]"
    value_type = arrow_type.value_type
    return [_cell(v, value_type) for v in point]


def _set_point(columns: dict[str, list], types: dict[str, pa.DataType], spec: Any,
               row: int, point: Point | None) -> None:  # fmt: skip
    if spec is None:
        return
    if isinstance(spec, str):
        columns[spec][row] = None if point is None else _list_cell(point, types[spec])
        return
    for name, value in zip(spec, point or (None, None, None), strict=True):
        columns[name][row] = None if value is None else _cell(value, types[name])


def _patched(batch: pa.RecordBatch, layout: Layout, mat: np.ndarray,
             points: Mapping[int, Mapping[str, Point]]) -> pa.RecordBatch:  # fmt: skip
    rows = np.flatnonzero(np.isin(mat, np.fromiter(points, np.int64, len(points))))
    if rows.size == 0:
        return batch
    types = {name: batch.schema.field(name).type for name in batch.schema.names}
    names = {n for role in ("pre", "post") for n in _names(_point_columns(layout, role))}
    columns = {name: batch.column(name).to_pylist() for name in names}
    for row in rows.tolist():
        for role, point in points[int(mat[row])].items():
            _set_point(columns, types, _point_columns(layout, role), row, point)
    arrays = [
        pa.array(columns[name], type=types[name]) if name in columns else batch.column(name)
        for name in batch.schema.names
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def _names(spec: tuple[str, str, str] | str | None) -> list[str]:
    return [] if spec is None else [spec] if isinstance(spec, str) else list(spec)


def _added_batch(schema: pa.Schema, layout: Layout, added: Sequence[AddedSynapse],
                 first_id: int) -> pa.RecordBatch:  # fmt: skip
    types = {name: schema.field(name).type for name in schema.names}
    columns: dict[str, list] = {name: [None] * len(added) for name in schema.names}
    for row, item in enumerate(added):
        for role, point in (("center", item.center), ("pre", item.pre), ("post", item.post)):
            _set_point(columns, types, _point_columns(layout, role), row, point)
        if layout.id:
            columns[layout.id][row] = _cell(first_id + row, types[layout.id])
        for name, neuron in ((layout.pre_neuron_id, item.pre_neuron_id),
                             (layout.post_neuron_id, item.post_neuron_id)):  # fmt: skip
            if name and neuron is not None:
                columns[name][row] = _id_cell(neuron, types[name])
    return pa.RecordBatch.from_arrays(
        [pa.array(columns[n], type=types[n]) for n in schema.names], schema=schema
    )
