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
        "id, pick one from the list, or Choose a Neuron: in Neuroglancer, click the view, hover a "
        "neuron and press n (again over another to change it). Submit checks every field and "
        "prepares the first page; then start."
    ),
    "/annotation": (
        "Click a tile to cycle its label: correct (green), incorrect (red), unsure (yellow). "
        "Right-click enlarges it. Scroll over a tile to move through its slices. "
        "Keys: → / ← next / previous page, o toggles the overlay, 1/2/3 label the tile under "
        "the mouse, Ctrl+Z undo, Ctrl+Shift+Z redo. In the enlarged view, View in NG opens the "
        "instance in Neuroglancer (Back returns)."
    ),
    "/categorize": (
        "Give each incorrect or unsure instance an error category and, if useful, a note. "
        "Submit and Finish asks whether false positives should be discarded."
    ),
    "/missed": (
        "Look for synapses the table missed. Click in the Neuroglancer view, hover a missed "
        "synapse and press c: a yellow marker appears and it is listed. Done reviews each one: "
        "adjust its box (x, y, z start and stop, target voxels) and Save it as a false negative, "
        "or Skip it. Cancel forgets the marks."
    ),
    "/export-annotate": (
        "Download the session JSON, continue with Redraw Masks, or start a new process."
    ),
    "/draw": (
        "The instances to fix (marked incorrect or unsure, or every instance with the switch), "
        "each with its current mask. Draw Mask opens one; Add New Instance adds a missed "
        "synapse: type its position or click it in a nearby instance, review the box and "
        "slice range, Save. 'Slices per drawing' sets how many slices a drawing spans. "
        "Submit and Finish leads to the exports."
    ),
    "/draw/instance": (
        "Move through slices with the wheel, ↑/↓ or the slider; the strip shows edited "
        "(orange) and saved (green) slices. Control points (c): click points, a smooth closed "
        "curve runs through them; Freehand (d): drag a closed path. Fill (f) adds the inside "
        "to this slice's mask, Revise (r) erases it, Save (s) marks the slice checked, Clear (x) "
        "empties it; every stroke is saved at once. Pre-Synaptic CRD (1) / Post-Synaptic CRD (2) "
        "then a click places (or moves) that marker on this slice. Backspace removes the last "
        "point, Esc drops the curve, Ctrl+Z / Ctrl+Shift+Z undo / redo a stroke or marker."
    ),
    "/export-draw": (
        "Download the session JSON, the masks as a zip (.npy per instance, PNG per edited "
        "slice), write the masks as a precomputed segmentation layer and the corrected synapse "
        "table, or start a new process. Formats: docs/formats.md."
    ),
    "/stats": (
        "Where the synapse table is wrong and how fast review goes: error rate per compartment "
        "(with 95% Wilson intervals), per error category and per neuron, where the reviewed "
        "synapses are, progress and throughput, accuracy against the dataset's ground truth "
        "when it has one, and agreement between sessions. Switch between this session and "
        "every session on the dataset; Refresh recomputes (labels do not update the figures "
        "by themselves). Click a compartment's bar to review it; each figure's numbers are in "
        "a sortable table with a CSV download; Download report writes one HTML file that "
        "opens offline. Definitions: docs/statistics.md."
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
    ("Neuroglancer: n", "choose the neuron under the mouse (Open Data)"),
    ("Neuroglancer: c", "mark a missed synapse under the mouse"),
    ("drawing: c / d", "control points / freehand tool"),
    ("drawing: 1 / 2", "place the pre / post marker with the next click"),
    ("drawing: f / r / s / x", "fill / revise (erase) / save / clear the slice"),
    ("drawing: wheel, ↑ / ↓", "previous / next slice"),
    ("drawing: Backspace / Esc", "remove the last control point / drop the curve"),
]


def help_for(pathname: str | None) -> str:
    path = (pathname or "/").rstrip("/") or "/"
    return HELP.get(path, HELP["/"])
