"""Entry point: ``python app.py [--host H] [--port P]`` serves the app on the demo dataset.

``server`` is the Flask app for gunicorn (``gunicorn app:server``).
"""

from __future__ import annotations

import sys

import flask

from synanno_dash.cli import main


def _wsgi_server() -> flask.Flask:
    from synanno_dash.ui.app import create_app

    return create_app().server


if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
else:
    server = _wsgi_server()
