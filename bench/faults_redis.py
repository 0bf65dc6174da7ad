"""Redis restarted during an export (``bench_faults.py --faults redis``).

The served app (2 workers, PostgreSQL) queues its jobs on a Redis of the run's own
(``tests/redis_server.py``: its own port and folder, append-only file on as in
deploy/compose.yaml; the machine's shared Redis is never touched) and one ``synanno-dash
worker`` runs them. One extra session holds a correction review of the whole demo; each
repeat starts its "Write the layer" export, stops Redis once the export reports progress,
keeps it down ``--down`` seconds, starts it again and waits for the export's result.
Recorded per repeat: what the page waiting for the export was told while Redis was down, what
starting another export answered then, and whether (and how long after Redis was back) the
export completed; the clicking sessions' acknowledged clicks are checked as for the other
faults.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from synanno_dash.services.context import AppContext
from synanno_dash.services.prepare import prepare_session
from synanno_dash.settings import Settings
from synanno_dash.ui import ids
from tests.conftest import demo_form
from tests.redis_server import PrivateRedis
from tests.served_app import DashClient

EXPORT_TIMEOUT_S = 600


class Exporter:
    """One browser session with a correction review open, exporting its layer as the
    export view's button does (start, then poll with the signed job handles)."""

    def __init__(self, url: str, data_dir: Path, database_url: str, demo: Any) -> None:
        self.client = DashClient(url)
        resources = AppContext.create(Settings(data_dir=data_dir, database_url=database_url))
        try:
            form = demo_form(demo, workflow="correction", crop_size="64, 64, 16")
            assert prepare_session(resources, self.client.session_id, form, prefetch=False).ok
        finally:
            resources.executor.shutdown(wait=True)
            resources.store.engine.dispose()
        spec = next(d for d in self.client.dependencies
                    if any(i["id"] == ids.EXD_LAYER_BUTTON for i in d["inputs"]))  # fmt: skip
        outputs = [{"id": part.split(".")[0], "property": part.split(".")[1].split("@")[0]}
                   for part in spec["output"].strip(".").split("...")]  # fmt: skip
        self.clicks = 0
        self.body: dict[str, Any] = {
            "output": spec["output"], "outputs": outputs, "state": [],
            "changedPropIds": [f"{ids.EXD_LAYER_BUTTON}.n_clicks"],
        }  # fmt: skip

    def _post(self, query: str = "") -> dict[str, Any]:
        self.body["inputs"] = [{"id": ids.EXD_LAYER_BUTTON, "property": "n_clicks",
                                "value": self.clicks}]  # fmt: skip
        response = self.client.http.post(
            f"{self.client.url}/_dash-update-component{query}", json=self.body, timeout=60
        )
        if response.status_code == 204:
            return {}
        response.raise_for_status()
        return dict(response.json())

    def start(self) -> tuple[str | None, str]:
        """(the poll query, or None when refused; the message shown when refused)."""
        self.clicks += 1
        answer = self._post()
        if "cacheKey" in answer:
            return f"?cacheKey={answer['cacheKey']}&job={answer['job']}", ""
        return None, str(_toast(answer))

    def poll(self, query: str) -> tuple[str, str]:
        """("done" | "progress" | "waiting" | "failed", what the page shows)."""
        answer = self._post(query)
        toast = _toast(answer)
        response = answer.get("response") or {}
        status = response.get(ids.job("export-layer", "status"), {}).get("children")
        if response:
            text = str(response.get(ids.EXD_LAYER_STATUS, {}).get("children", ""))[:120]
            return ("failed", str(status)[:200]) if status else ("done", text)
        if toast:
            return "waiting", toast
        return "progress", str(answer.get("progress", ""))[:120]


def _toast(answer: dict[str, Any]) -> str | None:
    toast = answer.get("sideUpdate", {}).get(ids.SERVER_ERROR)
    return None if toast is None else str(toast["children"])


def redis_restarts(exporter: Exporter, redis: PrivateRedis, repeats: int,
                   down_s: float) -> list[str]:  # fmt: skip
    problems = []
    for n in range(repeats):
        query, refused = exporter.start()
        if query is None:
            problems.append(f"export #{n + 1} refused with Redis up: {refused}")
            continue
        while (state := exporter.poll(query))[0] == "progress" and not state[1]:
            time.sleep(0.2)  # until the worker reports progress: the export is running
        redis.stop()
        deadline, seen, refusal = time.monotonic() + down_s, "", ""
        while time.monotonic() < deadline:
            state = exporter.poll(query)
            seen = state[1] if state[0] == "waiting" else seen
            time.sleep(0.5)
        refusal = exporter.start()[1]  # refused while down: nothing is queued
        redis.start()
        back = time.monotonic()
        while (state := exporter.poll(query))[0] in ("progress", "waiting"):
            if time.monotonic() - back > EXPORT_TIMEOUT_S:
                break
            time.sleep(0.5)
        outcome = f"{state[0]} {time.monotonic() - back:.1f} s after Redis was back: {state[1]}"
        print(f"  Redis down #{n + 1} for {down_s:.0f} s during an export: the waiting page was "
              f"told {seen!r}; a new export was answered {refusal!r}; the export {outcome}",
              flush=True)  # fmt: skip
        if state[0] != "done":
            problems.append(f"export #{n + 1} did not complete: {state}")
    return problems
