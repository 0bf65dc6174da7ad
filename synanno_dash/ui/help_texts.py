"""Help text per view, shown by the navbar's Help button."""

from __future__ import annotations

HELP: dict[str, str] = {
    "/": (
        "Choose a workflow. Error Detection: review synapse tiles, mark each correct, "
        "incorrect or unsure, and name the errors. Error Correction: redraw masks, move "
        "pre/post markers and add missed synapses."
    ),
    "/open-data": (
        "Give the source (EM) and target (cleft) volumes as Neuroglancer precomputed URLs "
        "(gs://, s3://, https://, file://), the synapse table (CSV or Parquet), and optionally "
        "a credentials file and a session JSON to restore. Volume-centric: a box in the chosen "
        "axis order (empty = every synapse of the table, page by page). Neuron-centric: a neuron "
        "id, or pick one from the list. Submit checks every field and prepares the first page; "
        "then start."
    ),
    "/annotation": (
        "Click a tile to cycle its label: correct (green), incorrect (red), unsure (yellow). "
        "Right-click enlarges it. Scroll over a tile to move through its slices. "
        "Keys: → / ← next / previous page, o toggles the overlay, 1/2/3 label the tile under "
        "the mouse, Ctrl+Z undo, Ctrl+Shift+Z redo."
    ),
    "/categorize": (
        "Give each incorrect or unsure instance an error category and, if useful, a note. "
        "Submit and Finish asks whether false positives should be discarded."
    ),
    "/export-annotate": (
        "Download the session JSON, continue with Redraw Masks, or start a new process."
    ),
}

SHORTCUTS: list[tuple[str, str]] = [
    ("→ / ←", "next / previous page"),
    ("o", "toggle the mask overlay"),
    ("1 / 2 / 3", "label the tile under the mouse correct / incorrect / unsure"),
    ("click", "cycle the label of a tile"),
    ("right-click", "enlarge a tile"),
    ("wheel", "move through a tile's slices"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo"),
]


def help_for(pathname: str | None) -> str:
    path = (pathname or "/").rstrip("/") or "/"
    return HELP.get(path, HELP["/"])
