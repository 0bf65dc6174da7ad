"""HTML ``data-*`` attributes for Dash html components (tests and scripts read them)."""

from __future__ import annotations

from typing import Any


def data_attrs(**values: object) -> dict[str, Any]:
    """``data_attrs(instance=3, z0=7)`` -> ``{"data-instance": "3", "data-z0": "7"}``."""
    return {f"data-{name.replace('_', '-')}": str(value) for name, value in values.items()}
