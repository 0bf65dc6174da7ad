"""The 3D overview figure: traces per compartment, synapse colours, exact topology, size."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from synanno_dash.core.compartments import NeuronSkeleton, compute_compartments
from synanno_dash.core.labels import Label
from synanno_dash.core.skeleton_lines import display_skeleton
from synanno_dash.ui.skeleton_figure import (
    CURRENT_MARKER_SIZE,
    MARKER_SIZE,
    SYNAPSE_TRACE,
    compartment_color,
    skeleton_figure,
    synapse_colors,
)

GREEN, RED, YELLOW, DARK = "#28a745", "#dc3545", "#ffc107", "#212529"  # as in assets/app.css


def shown_colors(codes: Any, scale_owner: Any) -> list[str]:
    """The colour plotly.js draws for each code: its position between cmin and cmax picks
    a colour-scale stop (every code must sit exactly on one)."""
    stops = {round(float(pos), 9): color for pos, color in scale_owner.colorscale}
    low, high = scale_owner.cmin, scale_owner.cmax
    return [stops[round((c - low) / (high - low), 9)] for c in codes]


def branching_skeleton(n_nodes: int, seed: int = 0, mean_run: int = 30) -> NeuronSkeleton:
    """Random neuron-like tree: runs of ~``mean_run`` 100 nm steps that bend slowly, each
    starting at a random earlier node (so parents always precede children)."""
    rng = np.random.default_rng(seed)
    parent = np.full(n_nodes, -1, dtype=np.int64)
    xyz = np.zeros((n_nodes, 3))
    xyz[0] = (1.2e6, 3.4e5, 2.1e5)  # H01-like absolute coordinates: 7-digit nm values
    i = 1
    while i < n_nodes:
        length = min(n_nodes - i, int(rng.geometric(1 / mean_run)))
        bends = rng.normal(scale=0.3, size=(length, 3))
        bends[0] += rng.normal(size=3) * 3
        directions = np.cumsum(bends, axis=0)
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        start = int(rng.integers(0, i))
        xyz[i : i + length] = xyz[start] + np.cumsum(100.0 * directions, axis=0)
        parent[i] = start
        parent[i + 1 : i + length] = np.arange(i, i + length - 1)
        i += length
    child = np.arange(1, n_nodes)
    return NeuronSkeleton.build(xyz, np.stack([child, parent[child]], axis=1))


def drawn_points(trace: object) -> list[tuple[float, float, float] | None]:
    """The trace's vertices, ``None`` where a NaN separates two runs."""
    x, y, z = (np.asarray(getattr(trace, axis), dtype=np.float32) for axis in "xyz")
    return [
        None if np.isnan(p[0]) else (float(p[0]), float(p[1]), float(p[2]))
        for p in zip(x, y, z, strict=True)
    ]


def drawn_segments(trace: object) -> set[tuple[tuple, tuple]]:
    points = drawn_points(trace)
    return {
        (min(a, b), max(a, b))
        for a, b in zip(points[:-1], points[1:], strict=True)
        if a is not None and b is not None
    }


def as_drawn(vertices_nm: np.ndarray) -> list[tuple[float, float, float]]:
    return [tuple(p) for p in vertices_nm.astype(np.float32).astype(float).tolist()]


@pytest.fixture(scope="module")
def small() -> tuple:
    sk = branching_skeleton(400, seed=1, mean_run=8)
    comps = compute_compartments(sk, n_compartments=6)
    points = {100 + i: tuple(sk.vertices_nm[i * 37] + 50.0) for i in range(8)}
    states = {100: Label.CORRECT, 101: Label.INCORRECT, 102: Label.UNSURE, 103: None,
              104: "correct"}  # fmt: skip
    figure = skeleton_figure(display_skeleton(sk, comps), comps, points, states, {101, 105})
    return sk, comps, points, figure


def test_one_trace_per_compartment_plus_the_synapses(small: tuple) -> None:
    _, comps, points, figure = small
    assert len(figure.data) == 1 + comps.n_compartments == 7
    synapses = figure.data[SYNAPSE_TRACE]
    assert synapses.mode == "markers" and synapses.name == "Synapses"
    assert list(synapses.customdata) == list(points)
    lines = figure.data[1:]
    assert [t.name for t in lines] == [f"Compartment {k}" for k in range(6)]
    assert [t.meta for t in lines] == list(range(6))
    assert all(t.mode == "lines" and t.showlegend is not False for t in lines)
    colors = [t.line.color for t in lines]
    assert len(set(colors)) == 6
    assert not {GREEN, RED, YELLOW, DARK} & set(colors)


def test_synapse_colours_follow_the_review_state(small: tuple) -> None:
    _, _, _, figure = small
    marker = figure.data[SYNAPSE_TRACE].marker
    assert shown_colors(marker.color, marker) == [
        GREEN, RED, YELLOW, YELLOW, GREEN, YELLOW, YELLOW, YELLOW,
    ]  # fmt: skip
    assert isinstance(marker.color, tuple | list)  # a Patch can set one element
    codes = synapse_colors([Label.CORRECT, "incorrect", "Unsure", None])
    assert shown_colors(codes, marker) == [GREEN, RED, YELLOW, YELLOW]
    assert list(marker.color[:5]) == synapse_colors([Label.CORRECT, "incorrect", "unsure", None,
                                                     "correct"])  # fmt: skip
    # the current page (101, 105) is bigger and outlined in dark grey
    sizes = list(marker.size)
    assert sizes[1] == sizes[5] == CURRENT_MARKER_SIZE
    assert {sizes[i] for i in (0, 2, 3, 4, 6, 7)} == {MARKER_SIZE}
    outline = shown_colors(marker.line.color, marker.line)
    assert outline[1] == outline[5] == DARK
    assert outline[0] == GREEN and outline[2] == YELLOW  # others: no visible outline


def test_every_edge_is_drawn_in_its_compartment_when_nothing_is_dropped(small: tuple) -> None:
    sk, comps, _, _ = small
    display = display_skeleton(sk, comps, max_points=10**9)
    assert display.step == 1
    figure = skeleton_figure(display, comps, {}, {}, ())
    drawn_xyz = as_drawn(sk.vertices_nm)
    expected: dict[int, set] = {k: set() for k in range(comps.n_compartments)}
    for node, up in enumerate(comps.parent.tolist()):
        if up >= 0:
            a, b = drawn_xyz[node], drawn_xyz[up]
            expected[comps.compartment_of(node)].add((min(a, b), max(a, b)))
    for k in range(comps.n_compartments):
        assert drawn_segments(figure.data[1 + k]) == expected[k]


def test_a_100k_node_neuron_gives_a_small_figure_with_every_branch_point() -> None:
    sk = branching_skeleton(100_000, seed=2)
    comps = compute_compartments(sk)
    display = display_skeleton(sk, comps)
    assert display.step > 1 and display.n_points <= 21_000
    rng = np.random.default_rng(0)
    points = {i: tuple(sk.vertices_nm[j]) for i, j in enumerate(rng.integers(0, 100_000, 2000))}
    states = {i: [Label.CORRECT, Label.INCORRECT, None][i % 3] for i in points}
    figure = skeleton_figure(display, comps, points, states, set(range(24)))
    text = figure.to_json()
    assert len(text) < 1_000_000, f"{len(text)} bytes"
    assert '"dtype":"f4"' in text  # coordinates travel as base64 float32, not as text
    drawn = set()
    for trace in figure.data[1:]:
        drawn |= {p for p in drawn_points(trace) if p is not None}
    degree = np.bincount(sk.edges.ravel(), minlength=sk.n_nodes)
    drawn_xyz = as_drawn(sk.vertices_nm)
    for node in np.flatnonzero(degree != 2):  # branch points and leaves
        assert drawn_xyz[node] in drawn


def test_display_and_compartments_must_match(small: tuple) -> None:
    sk, comps, _, _ = small
    other = compute_compartments(sk, n_compartments=2)
    with pytest.raises(ValueError, match="other compartments"):
        skeleton_figure(display_skeleton(sk, other), comps, {}, {}, ())
    with pytest.raises(ValueError, match="another skeleton"):
        display_skeleton(branching_skeleton(50), comps)


def test_compartment_colours_stay_distinct_past_the_palette() -> None:
    colors = [compartment_color(k) for k in range(40)]
    assert len(set(colors)) == 40


def _rgb(color: str) -> tuple[int, ...]:
    return tuple(int(v) for v in color.removeprefix("rgb(").removesuffix(")").split(","))


def test_error_rate_colours_darken_with_the_rate_and_grey_means_none_reviewed() -> None:
    from synanno_dash.services.neuron import CompartmentProgress
    from synanno_dash.ui.minimap import compartment_colors_patch
    from synanno_dash.ui.skeleton_figure import NOT_REVIEWED_COLOR, error_rate_color

    shades = [sum(_rgb(error_rate_color(r / 10))) for r in range(11)]
    assert shades == sorted(shades, reverse=True) and len(set(shades)) == 11
    assert error_rate_color(None) == NOT_REVIEWED_COLOR
    assert error_rate_color(1.5) == error_rate_color(1.0)  # clamped
    progress = [CompartmentProgress(0, 10, 4, 1, 1), CompartmentProgress(1, 5, 0, 0, 3)]
    patch = compartment_colors_patch(progress, True).to_plotly_json()["operations"]
    changed = {tuple(op["location"]): op["params"]["value"] for op in patch}
    assert changed[("data", 1, "line", "color")] == error_rate_color(0.25)
    assert changed[("data", 2, "line", "color")] == NOT_REVIEWED_COLOR
    assert "25% flagged (1 of 4 reviewed)" in changed[("data", 1, "hovertemplate")]
    back = compartment_colors_patch(progress, False).to_plotly_json()["operations"]
    restored = {tuple(op["location"]): op["params"]["value"] for op in back}
    assert restored[("data", 2, "line", "color")] == compartment_color(1)
