"""Open Data's Import predictions as a use case (``services.import_predictions``): the result
lands in an app-chosen folder under the data directory, hosted mode refuses addresses off the
allow-list before reading and accepts its own imports, bad maps fail with the importer's
message in the panel's words, and partial folders left by a cancelled job are removed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synanno_dash.core.import_form import ImportForm, parse_import_form
from synanno_dash.data.precomputed import write_volume
from synanno_dash.services.import_predictions import (
    import_predictions,
    panel_message,
    session_imports,
)
from synanno_dash.services.jobs import Job, JobError
from synanno_dash.services.session import open_session
from synanno_dash.services.source_policy import check_source
from tests.conftest import PreparedSession
from tests.data.test_prediction_import import CHUNK, RES, SIZES_KEPT, _map


def _choices(map_path: Path, **changes: str):  # type: ignore[no-untyped-def]
    form = replace(ImportForm(map_url=str(map_path), min_size="100", max_size="1000"), **changes)
    choices, errors = parse_import_form(form)
    assert choices is not None, errors
    return choices


def test_an_import_lands_in_the_sessions_imports_folder(  # type: ignore[no-untyped-def]
    app, demo_info, tmp_path: Path
) -> None:
    prepared = PreparedSession(app, demo_info)
    session = prepared.session
    write_volume(tmp_path / "map", _map(), RES, CHUNK)
    folder = session_imports(session)
    folder.mkdir(parents=True)
    abandoned = folder / ".20260101-000000-dead.partial-999999999"  # a cancelled job's
    abandoned.mkdir()
    reports: list[str] = []
    job = Job(lambda progress: reports.append(progress.text))
    imported = import_predictions(job, session, _choices(tmp_path / "map"))
    assert imported.out_dir.parent == folder and imported.count == len(SIZES_KEPT)
    assert prepared.sid not in str(imported.out_dir)  # a hash names the folder
    assert pd.read_csv(imported.table_path)["size_vx"].tolist() == SIZES_KEPT
    assert imported.has_confidence and imported.resolution_nm == RES
    assert not abandoned.exists()
    assert len(reports) >= 2 and reports[0] == "opening the map"


def test_bad_maps_give_the_importers_message_and_leave_nothing(
    app, demo_info, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info)
    session = prepared.session
    write_volume(tmp_path / "map", _map(), RES, CHUNK)
    with pytest.raises(JobError, match="No synapse is left after filtering"):
        import_predictions(Job(), session, _choices(tmp_path / "map", min_size="5000",
                                                    max_size="6000"))  # fmt: skip
    write_volume(tmp_path / "signed", np.zeros((8, 8, 8), np.int16), RES, CHUNK)
    with pytest.raises(JobError, match="int16"):
        import_predictions(Job(), session, _choices(tmp_path / "signed"))
    write_volume(tmp_path / "far", _map(), RES, CHUNK, "image", (90_000, 90_000, 9_000))
    with pytest.raises(JobError, match="(?i)neuropil"):
        import_predictions(Job(), session, _choices(
            tmp_path / "far", neuropil=demo_info.neuropil_url, resolution="", closing="0",
        ))  # fmt: skip
    assert [p for p in session_imports(session).iterdir()] == []


def test_hosted_mode_reads_only_allowed_maps_and_its_own_imports(
    app, demo_info, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info)
    write_volume(tmp_path / "map", _map(), RES, CHUNK)
    settings = prepared.resources.settings
    prepared.resources.settings = settings.with_changes(hosted=True, allowed_sources=())
    hosted = open_session(prepared.resources, prepared.sid)
    with pytest.raises(JobError, match="allow-list"):
        import_predictions(Job(), hosted, _choices(tmp_path / "map"))
    with pytest.raises(JobError, match="neuropil .* allow-list"):
        import_predictions(Job(), hosted, _choices(
            Path(demo_info.source_url.removeprefix("file://")), neuropil=str(tmp_path / "map")
        ))  # fmt: skip
    assert not session_imports(hosted).exists()
    check_source(str(settings.imports_dir / "x" / "target"), hosted.settings, "target")


def test_panel_words_replace_the_command_line_options() -> None:
    assert panel_message("Lower the threshold or widen --min-size/--max-size.") == (
        "Lower the threshold or widen Min size/Max size."
    )
    assert "Threshold" in panel_message("give --threshold in that range")


def test_the_panel_refuses_a_map_above_the_limit_and_keeps_the_newest_imports(
    app, demo_info, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    prepared = PreparedSession(app, demo_info)
    write_volume(tmp_path / "map", _map(), RES, CHUNK)
    size_vx = int(np.prod(_map().shape))
    settings = prepared.resources.settings
    prepared.resources.settings = settings.with_changes(max_import_voxels=size_vx - 1)
    limited = open_session(prepared.resources, prepared.sid)
    with pytest.raises(JobError, match=f"has {size_vx:,} voxels .* at most {size_vx - 1:,}"):
        import_predictions(Job(), limited, _choices(tmp_path / "map"))
    assert list(session_imports(limited).iterdir()) == []
    prepared.resources.settings = settings.with_changes(
        max_import_voxels=size_vx, max_imports_per_session=2
    )
    kept = open_session(prepared.resources, prepared.sid)
    folders = [import_predictions(Job(), kept, _choices(tmp_path / "map")).out_dir
               for _ in range(3)]  # fmt: skip
    assert sorted(session_imports(kept).iterdir()) == folders[1:]
    assert all(pd.read_csv(f / "synapses.csv")["size_vx"].tolist() == SIZES_KEPT
               for f in folders[1:])  # fmt: skip
