"""The one entry point of a request into the services: ``Session``.

A ``Session`` is one browser session (its id) in one request, with the app's resources. Its
dataset configuration is loaded from the store at most once (on first use of ``config``);
when the session has none, ``config`` raises ``NoDatasetError``, the one error (and the one
message) for "no dataset is open". Every use case takes a ``Session``; pages and ui get theirs
from ``synanno_dash.ui.session.current_session()`` and never touch the store, the volumes or
the viewers themselves.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import cached_property

from synanno_dash.core.instances import DatasetConfig
from synanno_dash.data.store import SessionStore
from synanno_dash.data.volumes import VolumeSet
from synanno_dash.services.context import AppContext
from synanno_dash.settings import Settings

KNOWN_SESSION_TTL_S = 10.0

NO_DATASET_MESSAGE = "No dataset is open in this browser yet: open one on Open Data first."


class NoDatasetError(RuntimeError):
    """This browser session has no dataset open; the message is for the user."""

    def __init__(self) -> None:
        super().__init__(NO_DATASET_MESSAGE)


@dataclass(frozen=True, eq=False)
class Session:
    resources: AppContext
    session_id: str

    @cached_property
    def _loaded_config(self) -> DatasetConfig | None:
        return self.resources.store.load_config(self.session_id)

    @property
    def has_dataset(self) -> bool:
        return self._loaded_config is not None

    @property
    def config(self) -> DatasetConfig:
        """The session's dataset configuration (read once); ``NoDatasetError`` without one."""
        config = self._loaded_config
        if config is None:
            raise NoDatasetError()
        return config

    def forget_config(self) -> None:
        """After the configuration changed (Open Data Submit), read it again on next use."""
        self.__dict__.pop("_loaded_config", None)

    @property
    def store(self) -> SessionStore:
        return self.resources.store

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def volumes(self) -> VolumeSet:
        """The opened volumes of the session's dataset (``VolumeError`` if unreachable)."""
        return self.resources.volumes.get(self.config)


def open_session(resources: AppContext, session_id: str) -> Session:
    """The session ``session_id`` of the app owning ``resources`` (nothing is read yet)."""
    return Session(resources, session_id)


# -- session identity: ids are issued by the server only ------------------------------------
def issue_session_id(resources: AppContext) -> str:
    """A new, random session id, recorded in the store before any browser is given it."""
    session_id = secrets.token_urlsafe(18)
    resources.store.ensure_session(session_id)
    return session_id


def session_is_known(resources: AppContext, session_id: str) -> bool:
    """Whether the server issued ``session_id`` (and it was not reset since). Every request
    asks; a yes is remembered for ``KNOWN_SESSION_TTL_S`` (a reset on another worker is
    seen here after that at the latest; on this one at once)."""
    seen = resources.known_sessions.get(session_id)
    if seen is not None and time.monotonic() - seen < KNOWN_SESSION_TTL_S:
        return True
    known = resources.store.session_exists(session_id)
    if known:
        resources.known_sessions.put(session_id, time.monotonic())
    return known


def reset_session(resources: AppContext, session_id: str) -> None:
    """Forget one browser session: its data in the store and its Neuroglancer viewer."""
    resources.known_sessions.pop(session_id)
    if resources.store.session_exists(session_id):
        resources.store.reset_session(session_id)
        resources.close_viewer(session_id)
