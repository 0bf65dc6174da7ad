"""The synapse-type choice of the enlarged view and the Categorize cards: "none" and the
types offered for one instance (``services/synapse_types.offered``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

NONE_LABEL = "none"
NONE_VALUE = ""  # a RadioItems value: no type
RADIO_CLASS = "d-inline-block small"
SAVED_CLASS = f"{RADIO_CLASS} sd-type-saved"  # after a choice was stored


def options(types: Sequence[str]) -> list[dict[str, str]]:
    return [{"label": NONE_LABEL, "value": NONE_VALUE}] + [{"label": t, "value": t} for t in types]


def value(synapse_type: str | None) -> str:
    return NONE_VALUE if synapse_type is None else synapse_type


def selector(component_id: Any, types: Sequence[str] = (), current: str | None = None) -> html.Div:
    """A labelled row of radio buttons, one per type and "none"."""
    return html.Div(
        [
            html.Span("Synapse type: ", className="small me-2"),
            dbc.RadioItems(
                id=component_id, options=options(types), value=value(current), inline=True,
                className=RADIO_CLASS,
            ),
        ],
        className="mb-2",
    )  # fmt: skip
