"""Tokens of the Neuroglancer data route, part of the session store.

A local folder shown in Neuroglancer is served under ``/ngdata/<token>/``. The token is
random (``secrets.token_urlsafe``), made when the folder is first registered and kept in the
database, so every worker of the app and every restart answers the same URL, and no URL can
be derived from a path.
"""

from __future__ import annotations

import secrets
import time

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from synanno_dash.data import store_schema as schema

TOKEN_BYTES = 24  # 32 URL-safe characters


class DataTokenStore:
    """Mixed into ``SessionStore``: needs its ``engine``."""

    engine: Engine

    def data_token(self, folder: str) -> str:
        """The folder's token, made (random) on its first registration."""
        col = schema.data_tokens.c
        for _attempt in range(3):
            with self.engine.connect() as conn:
                found = conn.execute(select(col.token).where(col.folder == folder)).scalar()
            if found:
                return str(found)
            token = secrets.token_urlsafe(TOKEN_BYTES)
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(schema.data_tokens).values(
                            token=token, folder=folder, created_at=time.time()
                        )
                    )
                return token
            except IntegrityError:  # another worker registered it meanwhile: read theirs
                continue
        raise RuntimeError(f"could not register a data token for {folder}")

    def data_folder(self, token: str) -> str | None:
        """The folder registered under ``token``, or ``None``."""
        col = schema.data_tokens.c
        with self.engine.connect() as conn:
            found = conn.execute(select(col.folder).where(col.token == token)).scalar()
        return None if found is None else str(found)
