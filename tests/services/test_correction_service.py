"""The correction services on the demo dataset: draw, markers, undo per stroke, restart,
and every export read back (zip, precomputed layer with CloudVolume, corrected table)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from synanno_dash.core.labels import Label
from synanno_dash.core.masks import polygon_mask
from synanno_dash.core.session_json import parse_session_json
from synanno_dash.data.masks_zip import parse_mask_file_name
from synanno_dash.data.tables import open_table
from synanno_dash.services import correction, exports, table_export
from synanno_dash.services.context import AppContext
from synanno_dash.services.false_negatives import add_false_negative
from synanno_dash.services.prepare import OpenDataForm, prepare_session
from synanno_dash.services.session import open_session
from synanno_dash.settings import Settings
from tests.conftest import demo_form

SID = "s"


@pytest.fixture
def context(resources: AppContext, demo_info) -> AppContext:  # type: ignore[no-untyped-def]
    form = demo_form(demo_info, neuropil="", tiles_per_page="24")
    assert prepare_session(resources, SID, form).ok
    return resources


def _flag(ctx: AppContext, *ids: int) -> None:
    for instance_id in ids:
        ctx.store.edit(SID, instance_id, label=Label.INCORRECT)


def test_which_instances_and_their_boxes(context: AppContext) -> None:
    session = open_session(context, SID)
    assert correction.correction_instances(session) == []  # nothing flagged yet
    _flag(context, 2, 5)
    assert [i.instance_id for i in correction.correction_instances(session)] == [2, 5]
    correction.set_show_all(session, True)
    assert len(correction.correction_instances(session)) == context.store.counts(SID)["total"]
    correction.set_show_all(session, False)
    item = context.store.instance(SID, 2)
    box = correction.draw_box(item, 16)
    assert box.shape_xyz == (64, 64, 16)
    assert box.start_xyz[:2] == item.bbox_target_vx.start_xyz[:2]
    assert box.start_xyz[2] + 8 == item.synapse.center_xyz_vx[2]
    assert correction.draw_box(item, 16, [box.stop_xyz[2] + 3]).shape_xyz[2] == 16 + 4


def test_draw_fill_erase_markers_undo_and_restart(context: AppContext, tmp_path: Path) -> None:
    session = open_session(context, SID)
    _flag(context, 3)
    drawing = correction.load_drawing(session, 3)
    x0, y0, _ = drawing.box.start_xyz
    z = drawing.box.start_xyz[2] + 4
    assert drawing.masks_zyx.shape == (16, 64, 64)
    assert drawing.masks_zyx.any()  # the instance's own cleft from the target volume
    square = np.array([[x0 + 10, y0 + 10], [x0 + 30, y0 + 10], [x0 + 30, y0 + 30],
                       [x0 + 10, y0 + 30]], float)  # fmt: skip
    before = drawing.masks_zyx[4]
    filled = correction.apply_curve(session, 3, z, square)
    assert filled[10:30, 10:30].all() and np.array_equal(
        filled & ~square_mask(), before & ~square_mask()
    )
    hole = square + [[5, 5], [-5, 5], [-5, -5], [5, -5]]
    erased = correction.apply_curve(session, 3, z, hole, mode="erase")
    assert not erased[15:25, 15:25].any() and erased[12, 12]
    correction.set_marker(session, 3, "pre", (x0 + 3, y0 + 4, z))
    correction.set_marker(session, 3, "post", (x0 + 40, y0 + 41, z + 2))
    # undo per stroke, newest first: post, pre, erase; then redo the erase
    assert _step(context, "undo").kind == "post"
    assert context.store.instance(SID, 3).synapse.post_xyz_vx != (x0 + 40, y0 + 41, z + 2)
    assert _step(context, "undo").kind == "pre"
    undone = _step(context, "undo")
    assert undone.kind == "mask" and undone.z_vx == z
    assert np.array_equal(correction.current_slice(session, 3, z), filled)
    correction.step(session, 3, "redo")
    assert np.array_equal(correction.current_slice(session, 3, z), erased)
    # the first stroke's undo removes the stored slice: the original cleft is back
    correction.step(session, 3, "undo")
    correction.step(session, 3, "undo")
    assert np.array_equal(correction.current_slice(session, 3, z), before)
    assert correction.step(session, 3, "undo") is None
    correction.step(session, 3, "redo")
    correction.step(session, 3, "redo")
    correction.save_slice(session, 3, z)
    # a restart (a new app context on the same database) keeps slices and saved flags
    again = AppContext.create(context.settings)
    reloaded = correction.load_drawing(open_session(again, SID), 3)
    assert np.array_equal(reloaded.masks_zyx[4], erased)
    assert reloaded.edited_z == {z} and reloaded.saved_z == {z}


def _step(ctx: AppContext, direction: str) -> correction.Step:
    done = correction.step(open_session(ctx, SID), 3, direction)
    assert done is not None
    return done


def square_mask() -> np.ndarray:
    return polygon_mask([(10, 10), (30, 10), (30, 30), (10, 30)], (64, 64))


def test_exports_read_back(context: AppContext, tmp_path: Path, demo_info) -> None:  # type: ignore[no-untyped-def]
    session = open_session(context, SID)
    from cloudvolume import CloudVolume

    _flag(context, 1, 4)
    context.store.edit(SID, 6, label=Label.INCORRECT, discarded=True)  # a false positive
    item = context.store.instance(SID, 1)
    drawing = correction.load_drawing(session, 1)
    x0, y0, z0 = drawing.box.start_xyz
    tri = np.array([[x0 + 5, y0 + 5], [x0 + 50, y0 + 8], [x0 + 20, y0 + 40]], float)
    correction.clear_slice(session, 1, z0 + 2)
    correction.apply_curve(session, 1, z0 + 2, tri)
    new_pre = (x0 + 7, y0 + 9, z0 + 3)
    correction.set_marker(session, 1, "pre", new_pre)
    added = add_false_negative(
        session, (200, 210, 30), correction.proposed_box(session, (200, 210, 30))
    )
    added_box = correction.draw_box(added, 16)
    correction.apply_curve(
        session,
        added.instance_id,
        31,
        np.array([[195, 205], [205, 205], [205, 215], [195, 215]], float),
    )
    correction.set_marker(session, added.instance_id, "post", (203, 211, 31))

    # masks zip: names parse back, arrays match the drawing
    with zipfile.ZipFile(io.BytesIO(exports.masks_zip_bytes(session))) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        arrays = {parse_mask_file_name(n): np.load(io.BytesIO(archive.read(n)))
                  for n in names if n.endswith(".npy")}  # fmt: skip
    assert {(k.instance_id, k.bbox_target_vx) for k in arrays} == {
        (1, drawing.box), (4, correction.draw_box(context.store.instance(SID, 4), 16)),
        (added.instance_id, added_box),
    }  # fmt: skip
    ours = next(v for k, v in arrays.items() if k.instance_id == 1)
    assert np.array_equal(ours[2].astype(bool), polygon_mask(tri, (64, 64), (x0, y0)))
    assert any(n.endswith(f"_slice-z{z0 + 2}.png") and "instance-00001" in n for n in names)
    assert manifest["instances"][0]["pre_xyz_vx"] == list(new_pre)

    # precomputed layer: segment id = instance id + 1, same geometry as the target
    layer = exports.write_layer(session)
    assert layer.segments == 3 and layer.path.is_relative_to(context.settings.data_dir)
    cv = CloudVolume(layer.url, fill_missing=True, progress=False)
    (bx0, by0, bz0), (bx1, by1, bz1) = drawing.box.start_xyz, drawing.box.stop_xyz
    read = np.asarray(cv[bx0:bx1, by0:by1, bz0:bz1])[..., 0].transpose(2, 1, 0)
    assert np.array_equal(read[2] == 2, polygon_mask(tri, (64, 64), (x0, y0)))
    assert (np.asarray(cv[195:206, 205:216, 31])[..., 0] == added.instance_id + 1).sum() == 100

    # corrected table: the SynAnno CSV schema, loads back as a synapse table
    result = table_export.write_table(session)
    assert (result.changed, result.dropped, result.added) == (1, 1, 1)
    table = open_table(result.path, tmp_path / "tables")
    original = open_table(demo_info.table_url, tmp_path / "tables")
    assert table.schema == "synanno" and table.count() == original.count()  # -1 +1
    rows = table.query()
    assert rows[item.synapse.materialization_index].pre_xyz_vx == new_pre
    assert rows[-1].center_xyz_vx == (200, 210, 30) and rows[-1].post_xyz_vx == (203, 211, 31)
    discarded = context.store.instance(SID, 6).synapse
    assert discarded.center_xyz_vx not in {r.center_xyz_vx for r in rows}

    # session JSON: corrected points, the added instance, edited slices; restorable
    document = exports.correction_json(session)
    records = {r["sd_instance_id"]: r for r in document["Metadata"]}
    assert records[1]["sd_edited_slices_z"] == [z0 + 2]
    assert [records[1][f"pre_pt_{a}"] for a in "xyz"] == list(new_pre)
    assert records[added.instance_id]["sd_added_by_hand"] is True
    restored = parse_session_json(json.dumps(document))
    back = {i.instance_id: i for i in restored.instances}
    assert correction.is_added(back[added.instance_id]) and not correction.is_added(back[1])


def test_one_export_keeps_layer_and_table_together(context: AppContext) -> None:
    session = open_session(context, SID)
    _flag(context, 2)
    layer = exports.write_layer(session)
    table = table_export.write_table(session)
    assert table.path.parent == layer.path.parent  # one export run, one folder
    again = exports.write_layer(session)  # a second layer never overwrites the first
    assert again.path.parent != layer.path.parent and layer.path.exists()


def test_added_synapse_gets_the_neuron_ids_under_its_markers(
    data_dir: Path, tmp_path: Path, demo_info  # type: ignore[no-untyped-def]
) -> None:
    from cloudvolume import CloudVolume

    ctx = AppContext.create(
        Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'n.db'}")
    )
    form = OpenDataForm(source=demo_info.source_url, target=demo_info.target_url,
                        neuropil=demo_info.neuropil_url, table=demo_info.table_url,
                        crop_size="64, 64, 6")  # fmt: skip
    assert prepare_session(ctx, SID, form).ok
    neuropil = CloudVolume(demo_info.neuropil_url, progress=False)

    def segment(point: tuple[int, int, int]) -> int:  # target and neuropil share 8x8x40 nm
        x, y, z = point
        return int(np.asarray(neuropil[x, y, z]).flat[0])

    # markers where a real synapse of the table has them: both inside a neuron
    source = next(i.synapse for i in ctx.store.instances(SID)
                  if i.synapse.pre_xyz_vx and i.synapse.post_xyz_vx
                  and segment(i.synapse.pre_xyz_vx) and segment(i.synapse.post_xyz_vx)
                  and segment(i.synapse.pre_xyz_vx) != segment(i.synapse.post_xyz_vx))
    added = add_false_negative(open_session(ctx, SID), source.center_xyz_vx)
    correction.set_marker(open_session(ctx, SID), added.instance_id, "pre", source.pre_xyz_vx)
    correction.set_marker(open_session(ctx, SID), added.instance_id, "post", source.post_xyz_vx)

    result = table_export.write_table(open_session(ctx, SID))
    last = open_table(result.path, tmp_path / "tables").query()[-1]
    assert last.center_xyz_vx == source.center_xyz_vx
    assert last.pre_neuron_id == segment(source.pre_xyz_vx) > 2**53  # exact 64-bit ids
    assert last.post_neuron_id == segment(source.post_xyz_vx)


def test_exports_as_jobs_report_progress_and_write_whole_files(context: AppContext) -> None:
    from synanno_dash.services.jobs import Job, JobProgress

    session = open_session(context, SID)
    _flag(context, 1, 2, 3)
    seen: list[JobProgress] = []
    layer = exports.write_layer(session, job=Job(seen.append))
    assert layer.segments == 3
    assert seen[0].fraction == 0 and seen[-1].fraction == pytest.approx(1.0)
    assert [p.fraction for p in seen] == sorted(p.fraction for p in seen)
    assert any(p.text == "writing segment 3 of 3" for p in seen)
    seen.clear()
    table = table_export.write_table(session, job=Job(seen.append))
    assert seen and table.path.exists()
    assert [p.name for p in layer.path.parent.iterdir() if ".partial-" in p.name] == []


def test_an_export_that_cannot_be_written_says_what_to_do(
    context: AppContext, tmp_path: Path
) -> None:
    session = open_session(context, SID)
    _flag(context, 1)
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    with pytest.raises(exports.ExportError, match="check that the data folder is writable"):
        exports.write_layer(session, folder=not_a_folder)
    with pytest.raises(exports.ExportError, match="The corrected table could not be written"):
        table_export.write_table(session, folder=not_a_folder)
