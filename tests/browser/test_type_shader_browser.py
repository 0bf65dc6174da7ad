"""The ng-state's synapse-type shader compiles in Neuroglancer (headless Chromium, the
neuroglancer package's own client), for the default and a longer configured list of types;
a shader with a type error is reported by the same check (so the check can fail)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import neuroglancer
import pytest

from synanno_dash.data.annotation_layer import type_shader

pytestmark = pytest.mark.browser

SHADER_STATE = """() => {
  const layer = viewer.layerManager.managedLayers[0]?.layer;
  const error = layer?.annotationDisplayState?.shaderError?.value;
  if (error === undefined) return null;
  return error === null ? "compiled" : String(error.message || error);
}"""


@pytest.fixture
def viewer() -> Iterator[neuroglancer.Viewer]:
    """A viewer of the package's server (loopback by default; left running, as other tests'
    in-process viewers may share it)."""
    yield neuroglancer.Viewer()


def _shader_state(viewer: neuroglancer.Viewer, page, types: list[str], shader: str) -> str:  # type: ignore[no-untyped-def]
    dims = neuroglancer.CoordinateSpace(names=["x", "y", "z"], units="nm", scales=[8, 8, 40])
    labels = ["none", *types]
    with viewer.txn() as state:
        state.dimensions = dims
        state.position = [10, 10, 5]
        state.layers["proofread synapses"] = neuroglancer.LocalAnnotationLayer(
            dimensions=dims,
            annotation_properties=[neuroglancer.AnnotationPropertySpec(
                id="type", type="uint8", enum_values=list(range(len(labels))),
                enum_labels=labels,
            )],
            annotations=[
                neuroglancer.LineAnnotation(
                    id=str(k), point_a=[5, 10 + k, 5], point_b=[15, 10 + k, 5], props=[k]
                )
                for k in range(len(labels))
            ],
            shader=shader,
        )  # fmt: skip
    page.goto(viewer.get_viewer_url())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = page.evaluate(SHADER_STATE)
        if found:
            return str(found)
        time.sleep(0.2)
    raise AssertionError("Neuroglancer did not compile the annotation shader within 60 s")


@pytest.mark.parametrize(
    "types",
    [["excitatory", "inhibitory", "unknown"], [f"type {k}" for k in range(9)]],
)
def test_the_type_shader_compiles(viewer, new_page, types: list[str]) -> None:  # type: ignore[no-untyped-def]
    shader = type_shader((None, *types))
    assert _shader_state(viewer, new_page(), types, shader) == "compiled"


def test_a_shader_with_a_type_error_is_reported(viewer, new_page) -> None:  # type: ignore[no-untyped-def]
    broken = "void main() { uint t = prop_type(); setColor(t == 1 ? vec3(1.0) : defaultColor()); }"
    found = _shader_state(viewer, new_page(), ["excitatory"], broken)
    assert "wrong operand types" in found
