"""Neuron views built by one process (a background job) are reused by the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from synanno_dash.core.instances import Mode
from synanno_dash.services import neuron
from synanno_dash.services.context import AppContext
from synanno_dash.settings import Settings


def _context(data_dir: Path, tmp_path: Path, name: str) -> AppContext:
    return AppContext.create(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / name}.db")
    )


def test_a_view_built_in_one_process_is_read_by_another(
    demo_info, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    config = demo_info.dataset_config(Mode.NEURON)
    data_dir = tmp_path / "data"
    built = neuron.neuron_view(_context(data_dir, tmp_path, "job"), config)
    path = neuron.stored_view_path(data_dir, neuron.view_key(config))
    assert path.is_file()

    def never(*_args: object) -> None:
        raise AssertionError("the view was built again")

    monkeypatch.setattr(neuron, "load_view", never)
    again = neuron.neuron_view(_context(data_dir, tmp_path, "web"), config)
    assert again.neuron_id == built.neuron_id
    assert again.compartments.n_compartments == built.compartments.n_compartments
    assert (again.compartments.node_compartment == built.compartments.node_compartment).all()


def test_an_unreadable_stored_view_is_rebuilt(demo_info, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = demo_info.dataset_config(Mode.NEURON)
    data_dir = tmp_path / "data"
    path = neuron.stored_view_path(data_dir, neuron.view_key(config))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a pickle")
    view = neuron.neuron_view(_context(data_dir, tmp_path, "web"), config)
    assert view.neuron_id == demo_info.demo_neuron_id
    assert path.stat().st_size > 100  # replaced by the rebuilt view
