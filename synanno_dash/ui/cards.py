"""Categorize cards: one per incorrect or unsure instance."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from synanno_dash.core.instances import Instance
from synanno_dash.core.labels import CATEGORY_TITLES, Category, Label
from synanno_dash.services.tile_images import SliceImages
from synanno_dash.ui import ids, type_choice
from synanno_dash.ui.attrs import data_attrs
from synanno_dash.ui.tiles import middle_slice

CARD_BORDER = {Label.CORRECT: "success", Label.INCORRECT: "danger", Label.UNSURE: "warning"}


def card(
    item: Instance, images: SliceImages, categories: Sequence[Category],
    synapse_types: Sequence[str] = (),
) -> html.Div:  # fmt: skip
    """``categories``: the configured list; Custom is always last, and an instance's own
    category stays selectable even when the list leaves it out (e.g. False negative).
    ``synapse_types``: the types offered for this instance (``synapse_types.offered``)."""
    k = min(max(0, middle_slice(item)), len(images.em) - 1)
    iid = item.instance_id
    shown = [*categories, Category.CUSTOM]
    if item.category is not None and item.category not in shown:
        shown.insert(0, item.category)
    category_options = [{"label": CATEGORY_TITLES[c], "value": c.value} for c in shown]
    inner = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(
                                [
                                    html.Img(src=images.uri("em", k), className="sd-em"),
                                    html.Img(src=images.uri("mask", k), className="sd-mask"),
                                ],
                                className="sd-card-img",
                            ),
                            dbc.Button(
                                "enlarge",
                                id=ids.pattern(ids.CAT_ENLARGE, iid),
                                size="sm",
                                color="light",
                                className="mt-1",
                                n_clicks=0,
                            ),
                        ],
                        width="auto",
                    ),
                    dbc.Col(
                        [
                            html.H6(f"#{iid} · table row {item.synapse.materialization_index}"),
                            dbc.RadioItems(
                                id=ids.pattern(ids.CAT_LABEL, iid),
                                options=[
                                    {"label": label.value, "value": label.value} for label in Label
                                ],
                                value=item.label.value,
                                inline=True,
                                className="mb-2",
                            ),
                            dbc.RadioItems(
                                id=ids.pattern(ids.CAT_CATEGORY, iid),
                                options=category_options,
                                value=None if item.category is None else item.category.value,
                            ),
                            type_choice.selector(
                                ids.pattern(ids.CAT_TYPE, iid), synapse_types,
                                item.synapse.synapse_type,
                            ),
                            dbc.Input(
                                id=ids.pattern(ids.CAT_CUSTOM, iid),
                                value=item.custom_category,
                                debounce=True,
                                size="sm",
                                placeholder="custom category (free text)",
                                className="mt-1",
                            ),
                            dcc.Textarea(
                                id=ids.pattern(ids.CAT_NOTE, iid),
                                value=item.note,
                                placeholder="note",
                                className="form-control mt-1",
                                style={"height": "50px"},
                            ),
                        ]
                    ),
                ]
            )
        ),
        id=ids.pattern(ids.CAT_CARD, iid),
        color=CARD_BORDER[item.label],
        outline=True,
    )
    return html.Div(inner, className="sd-card mb-3", **data_attrs(instance=iid))
