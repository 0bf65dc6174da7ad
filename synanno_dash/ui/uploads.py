"""Uploads bounded in the browser before they are sent.

A ``dcc.Upload`` sends its file base64-encoded inside a callback request, which the server
refuses beyond ``Settings.max_upload_bytes`` (Flask ``MAX_CONTENT_LENGTH``). ``limited_upload``
sets the component's ``max_size`` so a larger file is never sent, and wraps it with the limit
in a data attribute: ``assets/upload_limit.js`` then says why the file was not taken (Dash's
upload drops a rejected file silently).
"""

from __future__ import annotations

from typing import Any

import flask
from dash import dcc, html

from synanno_dash.core.limits import DEFAULT_MAX_UPLOAD_BYTES, upload_file_limit
from synanno_dash.ui.attrs import data_attrs

LIMIT_MESSAGE_CLASS = "sd-upload-limit"  # the element upload_limit.js writes into


def request_limit() -> int:
    """The server's request body limit (bytes), as configured for this app."""
    try:
        configured = flask.current_app.config.get("MAX_CONTENT_LENGTH")
    except RuntimeError:  # no app (a layout built outside a request)
        configured = None
    return int(configured or DEFAULT_MAX_UPLOAD_BYTES)


def limited_upload(kind_limit: int, **upload_props: Any) -> html.Div:
    """A ``dcc.Upload`` (``upload_props``) whose ``max_size`` is what the request limit and
    ``kind_limit`` allow, with the element the browser script writes a refusal into."""
    max_bytes = upload_file_limit(request_limit(), kind_limit)
    return html.Div(
        [
            dcc.Upload(max_size=max_bytes, **upload_props),
            html.Div(className=f"{LIMIT_MESSAGE_CLASS} small text-danger"),
        ],
        **data_attrs(max_bytes=max_bytes),
    )
