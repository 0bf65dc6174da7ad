"""Results of background jobs kept on disk for later requests, across processes: the job
that computed them and the request that reads them run in different processes (a job
process, a Celery worker and a web worker share ``Settings.jobs_dir``).

One file per key, written whole (a temporary name, then renamed), read back by key; at
most ``max_entries`` files are kept, the oldest written are removed first. Only this
server writes the folder, so its files are trusted (pickle).
"""

from __future__ import annotations

import os
import pickle
import re
import secrets
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z0-9_-]{1,96}$")
SUFFIX = ".pickle"


class ResultFiles:
    def __init__(self, folder: Path, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"at least one result must be kept (got {max_entries})")
        self.folder = folder
        self.max_entries = max_entries

    @staticmethod
    def valid_key(key: object) -> bool:
        return isinstance(key, str) and bool(_KEY.match(key))

    def _path(self, key: str) -> Path:
        if not self.valid_key(key):
            raise ValueError(f"a result key is 1 to 96 of A-Z a-z 0-9 _ - (got {key!r:.40})")
        return self.folder / f"{key}{SUFFIX}"

    def put(self, key: str, value: object) -> None:
        path = self._path(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        partial.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, path)
        self._trim()

    def get(self, key: str) -> object | None:
        """The value of ``key``, or None when it was never written or was removed."""
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        os.utime(self._path(key))  # read recently: removed after those not read
        return pickle.loads(data)  # noqa: S301 - written by this server only

    def remove(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _trim(self) -> None:
        entries = []
        for path in self.folder.glob(f"*{SUFFIX}"):
            try:
                entries.append((path.stat().st_mtime, path))
            except FileNotFoundError:
                continue  # removed by another process meanwhile
        entries.sort()
        for _mtime, path in entries[: max(0, len(entries) - self.max_entries)]:
            path.unlink(missing_ok=True)
