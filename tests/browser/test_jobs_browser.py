"""Background jobs in headless Chromium against a real server: an export shows its progress
and completes; Cancel stops a job (its process ends, nothing is left half-written)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import psutil
import pytest

from synanno_dash.core.session_json import dumps
from tests.conftest import ServerProcess, demo_form

pytestmark = pytest.mark.browser
JOB_TIMEOUT_MS = 240_000  # the machine may be shared: generous, never a measure of speed


def _session_json(resources, demo_info, tmp_path: Path) -> tuple[Path, int]:  # type: ignore[no-untyped-def]
    """A session JSON of the demo's synapses in one corner of the volume (a few dozen), as
    another reviewer would have saved it."""
    from synanno_dash.services import review
    from synanno_dash.services.prepare import prepare_session
    from synanno_dash.services.session import issue_session_id, open_session

    sid = issue_session_id(resources)
    form = demo_form(demo_info, box_start="0, 0, 0", box_stop="180, 180, 64",
                     crop_size="64, 64, 16")  # fmt: skip
    outcome = prepare_session(resources, sid, form, prefetch=False)
    assert outcome.ok, outcome.errors
    path = tmp_path / "corner.json"
    path.write_text(dumps(review.session_json_document(open_session(resources, sid))))
    return path, outcome.instance_count


def restore_in_browser(page, base_url: str, json_path: Path, workflow: str) -> None:  # type: ignore[no-untyped-def]
    """Open Data in ``workflow`` with ``json_path`` uploaded and submitted, until ready."""
    page.goto(f"{base_url}/open-data?workflow={workflow}")
    page.locator("#od-json-upload input[type=file]").set_input_files(str(json_path))
    page.locator("#od-json-status").get_by_text("Submit restores").wait_for()
    page.locator("#od-submit").click()  # a job: with Celery, a worker prepares the session
    page.locator("#od-ready").wait_for(timeout=JOB_TIMEOUT_MS)


def test_an_export_shows_its_progress_and_completes(  # type: ignore[no-untyped-def]
    server, new_page, resources, demo_info, tmp_path
) -> None:
    json_path, count = _session_json(resources, demo_info, tmp_path)
    assert count >= 10  # enough work for the progress to show
    page = new_page()
    restore_in_browser(page, server.url, json_path, "correction")
    page.goto(server.url + "/export-draw")
    page.get_by_text(f"{count} instance(s) in the correction view").wait_for()

    page.locator("#exd-layer-button").click()
    running = page.locator("#job-exd-layer-running")
    running.wait_for(state="visible")
    assert page.locator("#exd-layer-button").is_disabled()
    # the panel says what is being done, instance by instance, and the bar moves
    page.wait_for_function(
        """() => /(reading mask|writing segment) \\d+ of \\d+/.test(
            document.getElementById('job-exd-layer-text').textContent)""",
        timeout=JOB_TIMEOUT_MS,
    )
    text = page.locator("#job-exd-layer-text").text_content() or ""
    assert re.search(rf"of {count}\b", text), text
    page.wait_for_function(
        """() => Number(document.querySelector('#job-exd-layer-bar [role=progressbar]')
            .getAttribute('aria-valuenow')) > 0""",
        timeout=JOB_TIMEOUT_MS,
    )

    page.locator("#exd-layer-url").wait_for(state="attached", timeout=JOB_TIMEOUT_MS)
    assert page.locator("#exd-layer-status").get_by_text(f"{count} segments written.").count()
    running.wait_for(state="hidden")
    assert page.locator("#exd-layer-button").is_enabled()
    url = (page.locator("#exd-layer-url").text_content() or "").removeprefix("precomputed://")
    folder = Path(url.removeprefix("file://"))
    assert (folder / "info").is_file()
    assert [p.name for p in folder.parent.iterdir() if ".partial-" in p.name] == []
    assert page.console_log.errors == []


def _job_processes(server: ServerProcess) -> list[int]:
    """The server's job processes: those of its fork servers (``ui.jobs``; under gunicorn
    each worker has its own, a grandchild of ``serve``)."""
    assert server.process is not None
    return [
        job.pid
        for helper in psutil.Process(server.process.pid).children(recursive=True)
        if "forkserver" in " ".join(helper.cmdline())
        for job in helper.children()
    ]


def _alive(pids: list[int]) -> list[int]:
    return [
        pid for pid in pids
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]  # fmt: skip


def test_cancel_stops_a_job(new_page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Writing the missing demo dataset (about a minute), cancelled after it started."""
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, tmp_path / "server.log", args=("--no-demo",))
    server.start()
    try:
        page = new_page()
        page.goto(server.url + "/open-data?workflow=detection")
        page.locator("#od-demo-alert").wait_for()
        assert page.locator("#od-source").input_value() == ""
        page.locator("#od-demo-write").click()
        page.locator("#job-od-demo-running").wait_for(state="visible")
        page.locator("#job-od-demo-text").get_by_text(re.compile("neurons|clefts")).wait_for(
            timeout=JOB_TIMEOUT_MS
        )
        jobs = _job_processes(server)
        assert _alive(jobs), "the job runs in a process of its own"

        page.locator("#job-od-demo-cancel").click()
        page.locator("#job-od-demo-status").get_by_text("Writing the demo dataset: cancelled.") \
            .wait_for()  # fmt: skip
        page.locator("#job-od-demo-running").wait_for(state="hidden")
        assert page.locator("#od-demo-write").is_enabled()
        deadline = time.monotonic() + 60
        while _alive(jobs) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _alive(jobs) == [], "the job's process was stopped"
        # nothing runs any more that could finish the dataset: it stays incomplete
        assert not (data_dir / "demo" / ".demo-complete").exists()
        assert page.locator("#od-source").input_value() == ""
        assert page.console_log.errors == []
    finally:
        server.stop()
