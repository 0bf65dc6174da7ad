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
