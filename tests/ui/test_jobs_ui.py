"""The job panel and the messages a failed job shows (``ui.jobs``)."""

from __future__ import annotations

import dash
import pytest

from synanno_dash.services.jobs import JobError
from synanno_dash.services.session import NO_DATASET_MESSAGE, NoDatasetError
from synanno_dash.ui import ids
from synanno_dash.ui.jobs import _failure, app_job_manager, job_panel


def _ids(component: object) -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, (list, tuple)):
            for child in node:
                walk(child)
        elif hasattr(node, "to_plotly_json"):
            identity = getattr(node, "id", None)
            if isinstance(identity, str):
                found.add(identity)
            walk(getattr(node, "children", None))

    walk(component)
    return found


def test_the_panel_has_every_part() -> None:
    assert _ids(job_panel("x")) == {ids.job("x", part) for part in ids.JOB_PARTS}
    with pytest.raises(ValueError, match="has no part 'bar2'"):
        ids.job("x", "bar2")


def test_failures_show_the_users_message_or_name_the_job() -> None:
    assert _failure("Writing the layer", JobError("The disk is full: free space.")).children == (
        "The disk is full: free space."
    )
    assert _failure("Writing the layer", NoDatasetError()).children == NO_DATASET_MESSAGE
    unexpected = _failure("Writing the layer", KeyError("secret file content")).children
    assert unexpected.startswith("Writing the layer failed on the server (KeyError)")
    assert "secret" not in unexpected


def test_the_app_queues_jobs_on_this_machine_without_redis(app) -> None:  # type: ignore[no-untyped-def]
    manager = app_job_manager(app)
    assert isinstance(manager, dash.DiskcacheManager)
    assert manager.build_cache_key(None, [1], [], None) != manager.build_cache_key(
        None, [1], [], None
    )  # two browsers clicking the same button never share a result


def _modules_loaded_at_start(send: object, names: list[str]) -> None:
    import sys

    send.send([name in sys.modules for name in names])  # type: ignore[attr-defined]


def test_a_job_process_starts_with_torch_and_the_unet_code_loaded() -> None:
    """Auto (U-Net) jobs fork from the fork server, which imported torch once: a job process
    has it before running anything (not tens of seconds of import per job)."""
    from synanno_dash.services.mask_completion import PRELOAD_MODULES
    from synanno_dash.ui.jobs import _job_processes

    processes = _job_processes()
    receive, send = processes.Pipe(duplex=False)
    process = processes.Process(
        target=_modules_loaded_at_start, args=(send, list(PRELOAD_MODULES))
    )
    process.start()
    loaded = receive.recv()
    process.join()
    assert "torch" in PRELOAD_MODULES and all(loaded), dict(zip(PRELOAD_MODULES, loaded))
