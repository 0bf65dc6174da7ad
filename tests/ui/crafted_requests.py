"""Crafted Dash callback requests: any callback of the app, any values, as a client may send.

A browser only sends what the page's components hold; a crafted request can put anything in
a callback's inputs and states, and in the index of a pattern-matching id. ``CraftedCaller``
builds such a request from the app's own callback map (outputs, inputs and states by id and
property) and reports what the server answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

GENERIC_ERROR = "Something went wrong"
HOSTILE_VALUES: tuple[object, ...] = (
    "abc", -1, 0, 10**30, -(10**30), 1e308, None, {}, [], "²", "9" * 5000, {"a": [1]}, True,
)  # fmt: skip


@dataclass(frozen=True)
class Answer:
    status: int
    toast: str  # the error toast's text, "" when none opened
    body: dict[str, Any] | None

    @property
    def generic(self) -> bool:
        """A 5xx or the catch-all toast: the callback met input it did not check."""
        return self.status >= 500 or GENERIC_ERROR in self.toast


def _concrete(id_text: str, index: object) -> object:
    """An id of the callback map as a request names it (wildcards replaced by ``index``)."""
    if not id_text.startswith("{"):
        return id_text
    pattern = json.loads(id_text)
    return {k: (index if isinstance(v, list) else v) for k, v in pattern.items()}


def _is_all(id_text: str) -> bool:
    return id_text.startswith("{") and '["ALL"]' in id_text


def _id_text(component_id: object) -> str:
    if isinstance(component_id, dict):
        return json.dumps(component_id, separators=(",", ":"), sort_keys=True)
    return str(component_id)


class CraftedCaller:
    """Posts crafted requests to one app's callbacks with one browser's cookie."""

    def __init__(self, app: Any, client: Any) -> None:
        self.app, self.client = app, client

    def server_callbacks(self) -> list[str]:
        """Keys of every callback that runs on the server (clientside ones have no function)."""
        return [k for k, spec in self.app.callback_map.items() if spec.get("callback")]

    def is_background(self, key: str) -> bool:
        """Whether the callback is a background job (``ui.jobs.job_callback``)."""
        return bool(self.app.callback_map[key].get("background"))

    def name(self, key: str) -> str:
        return str(getattr(self.app.callback_map[key]["callback"], "__name__", key))

    def has_pattern_ids(self, key: str) -> bool:
        """Whether an output or argument of the callback has a pattern-matching id."""
        return "{" in key or any(a["id"].startswith("{") for a in self.arguments(key))

    def arguments(self, key: str) -> list[dict[str, str]]:
        spec = self.app.callback_map[key]
        return [*spec["inputs"], *spec["state"]]

    def call(self, key: str, values: dict[int, object], index: object = 0) -> Answer:
        """Run callback ``key``; ``values`` by argument position (inputs, then states; the
        rest are ``None``); ``index`` fills the wildcards of pattern-matching ids."""
        spec = self.app.callback_map[key]
        parts = key
        parts_list = parts[2:-2].split("...") if parts.startswith("..") else [parts]
        if spec.get("no_output"):  # a callback without outputs: its key is a hash
            parts_list = []
        outputs: list[object] = []
        for part in parts_list:
            id_text, prop = part.rsplit(".", 1)
            if _is_all(id_text):
                outputs.append([{"id": _concrete(id_text, i), "property": prop} for i in (0, 1)])
            else:
                outputs.append({"id": _concrete(id_text, index), "property": prop})
        arguments = []
        for position, argument in enumerate(self.arguments(key)):
            value = values.get(position)
            if _is_all(argument["id"]):
                arguments.append([
                    {"id": _concrete(argument["id"], i), "property": argument["property"],
                     "value": value} for i in (0, 1)
                ])  # fmt: skip
            else:
                arguments.append({
                    "id": _concrete(argument["id"], index), "property": argument["property"],
                    "value": value,
                })  # fmt: skip
        n_inputs = len(spec["inputs"])
        first = arguments[0][0] if isinstance(arguments[0], list) else arguments[0]
        body = {
            "output": key,
            "outputs": outputs if parts.startswith("..") or not outputs else outputs[0],
            "inputs": arguments[:n_inputs],
            "state": arguments[n_inputs:],
            "changedPropIds": [f"{_id_text(first['id'])}.{first['property']}"],
        }
        response = self.client.post("/_dash-update-component", json=body)
        data = response.get_json(silent=True) if response.status_code == 200 else None
        toast = ""
        if isinstance(data, dict):
            side = data.get("sideUpdate") or {}
            toast = str((side.get("server-error") or {}).get("children", ""))
        return Answer(response.status_code, toast, data)
