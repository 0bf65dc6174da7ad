"""SWC skeleton files, read with every line checked.

One node per line: ``id type x y z radius parent`` (``#`` starts a comment; commas count as
spaces; extra columns are ignored). Units are given by the caller (nm per SWC unit).

What is accepted, and why: the text is bounded (``MAX_SWC_BYTES``, ``MAX_SWC_LINES``) before
it is split; ids and parents are whole numbers that fit 63 bits (negative parents mean "root");
types are whole numbers; coordinates and radii are finite and, converted to nm, within
``MAX_SWC_COORDINATE`` (beyond it lengths overflow to infinity); every parent exists; parent
links form trees, each with exactly one root (no node is its own ancestor). Every refusal is a
``SkeletonError`` naming the line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from synanno_dash.core.compartments import NeuronSkeleton
from synanno_dash.core.limits import (
    MAX_INT64,
    MAX_SWC_BYTES,
    MAX_SWC_COORDINATE,
    MAX_SWC_LINES,
    megabytes,
)

SWC_COLUMNS = 7  # id, type, x, y, z, radius, parent
_Row = tuple[int, int, float, float, float, float, int]


class SkeletonError(Exception):
    """A problem with a skeleton, worded for the person who chose the neuron or the file."""


def _fail(name: str, number: int, problem: str) -> SkeletonError:
    return SkeletonError(f"{name}, line {number}: {problem}")


def _whole(text: str, what: str, name: str, number: int, low: int = -MAX_INT64) -> int:
    """A whole number (``3`` or ``3.0``), without converting a number of any length."""
    if len(text) > 24:
        raise _fail(name, number, f"the {what} '{text[:24]}...' is too long to be a number.")
    try:
        value = float(text)
    except ValueError:
        raise _fail(name, number, f"the {what} '{text}' is not a number.") from None
    if not math.isfinite(value) or not value.is_integer():
        raise _fail(name, number, f"the {what} '{text}' must be a whole number.")
    whole = int(text) if text.lstrip("+-").isdigit() else int(value)
    if not low <= whole <= MAX_INT64:
        raise _fail(name, number, f"the {what} {whole} lies outside {low}..{MAX_INT64}.")
    return whole


def _measure(text: str, what: str, name: str, number: int, units_nm: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _fail(name, number, f"{what} '{text[:24]}' is not a number.") from None
    if not math.isfinite(value):
        raise _fail(name, number, f"{what} is '{text[:24]}'; coordinates and radii must be finite.")
    if abs(value * units_nm) > MAX_SWC_COORDINATE:
        raise _fail(
            name,
            number,
            f"{what} {value:g} units ({value * units_nm:g} nm) lies beyond "
            f"{MAX_SWC_COORDINATE:g} nm; check the file and the nm per unit.",
        )
    return value


def _row(content: str, number: int, name: str, units_nm: float) -> _Row:
    fields = content.replace(",", " ").split()
    if len(fields) < SWC_COLUMNS:
        raise _fail(
            name,
            number,
            f"expected {SWC_COLUMNS} columns (id type x y z radius parent), found {len(fields)}.",
        )
    node = _whole(fields[0], "node id", name, number, low=0)
    kind = _whole(fields[1], "type", name, number)
    x, y, z = (
        _measure(v, f"the {a} coordinate", name, number, units_nm)
        for v, a in zip(fields[2:5], "xyz", strict=True)
    )
    radius = _measure(fields[5], "the radius", name, number, units_nm)
    parent = _whole(fields[6], "parent", name, number)
    return node, kind, x, y, z, radius, parent


def _check_size(text: str, name: str) -> None:
    if len(text) > MAX_SWC_BYTES:
        raise SkeletonError(
            f"{name} is {megabytes(len(text))}; an SWC file may be at most "
            f"{megabytes(MAX_SWC_BYTES)}. Fix: downsample the skeleton."
        )
    lines = text.count("\n") + 1
    if lines > MAX_SWC_LINES:
        raise SkeletonError(
            f"{name} has {lines:,} lines; at most {MAX_SWC_LINES:,} are read. "
            "Fix: downsample the skeleton."
        )


def _parents(rows: list[_Row], line_of: dict[int, int], name: str) -> list[int]:
    """Each node's parent index (-1 for a root), checking that every parent exists."""
    index = {row[0]: i for i, row in enumerate(rows)}
    parents = []
    for row in rows:
        node_id, parent_id = row[0], row[6]
        if parent_id < 0:
            parents.append(-1)
            continue
        if parent_id == node_id:
            raise _fail(name, line_of[node_id], f"node {node_id} is its own parent.")
        if parent_id not in index:
            raise _fail(
                name, line_of[node_id], f"parent {parent_id} of node {node_id} is not in the file."
            )
        parents.append(index[parent_id])
    return parents


def _check_trees(rows: list[_Row], parents: list[int], line_of: dict[int, int], name: str) -> None:
    """Parent links must end at a root: a node reached again on its way up is a cycle."""
    state = [0] * len(rows)  # 0 unvisited, 1 on the current path, 2 ends at a root
    for start in range(len(rows)):
        path = []
        node = start
        while node >= 0 and state[node] == 0:
            state[node] = 1
            path.append(node)
            node = parents[node]
        if node >= 0 and state[node] == 1:  # came back to the path: a cycle without a root
            cycle = path[path.index(node) :]
            ids = [rows[i][0] for i in cycle[:6]]
            lines = ", ".join(str(line_of[i]) for i in ids)
            more = " ..." if len(cycle) > 6 else ""
            raise SkeletonError(
                f"{name}, lines {lines}{more}: nodes {' -> '.join(map(str, ids))}{more} are "
                "each other's ancestors, a cycle with no root. Fix: give one of them parent -1."
            )
        for visited in path:
            state[visited] = 2


def parse_swc(text: str, units_nm: float = 1.0, name: str = "The SWC file") -> NeuronSkeleton:
    """Parse SWC text (``id type x y z radius parent`` per line, ``#`` comments)."""
    if not (math.isfinite(units_nm) and units_nm > 0):
        raise SkeletonError(f"SWC units must be a positive, finite number of nm, got {units_nm}")
    _check_size(text, name)
    rows: list[_Row] = []
    line_of: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        row = _row(content, number, name, units_nm)
        if row[0] in line_of:
            raise _fail(
                name, number, f"node id {row[0]} is already used on line {line_of[row[0]]}."
            )
        line_of[row[0]] = number
        rows.append(row)
    if not rows:
        raise SkeletonError(f"{name} has no nodes: it holds only comments or blank lines.")
    parents = _parents(rows, line_of, name)
    _check_trees(rows, parents, line_of, name)
    edges = [(i, p) for i, p in enumerate(parents) if p >= 0]
    table = np.array([row[2:6] for row in rows], dtype=np.float64) * units_nm
    return NeuronSkeleton.build(
        vertices_nm=table[:, :3],
        edges=np.array(edges, dtype=np.int64).reshape(-1, 2),
        radii_nm=table[:, 3],
        swc_types=np.array([row[1] for row in rows], dtype=np.int64),
        node_ids=np.array([row[0] for row in rows], dtype=np.int64),
    )


def read_swc(path: str | Path, units_nm: float = 1.0) -> NeuronSkeleton:
    """An SWC file (its size checked before it is read)."""
    file = Path(path)
    name = f"The SWC file {file.name}"
    try:
        size = file.stat().st_size
        if size > MAX_SWC_BYTES:
            raise SkeletonError(
                f"{name} is {megabytes(size)}; an SWC file may be at most "
                f"{megabytes(MAX_SWC_BYTES)}. Fix: downsample the skeleton."
            )
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise SkeletonError(f"{name} could not be read ({error.strerror}).") from None
    return parse_swc(text, units_nm=units_nm, name=name)
