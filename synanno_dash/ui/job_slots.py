"""How many background jobs each browser session has running, shared by every web worker
(hosted mode's per-session limit, ``Settings.max_jobs_per_session``).

A session takes a slot when one of its jobs is queued and gives it back when its page
receives the job's result, when it cancels the job, or when the job's own process ends (jobs
on this machine). A slot older than ``stale_s`` (``Settings.job_redelivery_s``, longer than
the longest job) is forgotten, so a page closed mid-job frees its slot by then. Slots live
where the job queue keeps its state: the jobs' diskcache (one machine; updated in a
transaction) or Redis (several machines; updated under a Redis lock), one small record per
session, keyed by a hash of the session cookie (never the cookie itself).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import flask

from synanno_dash.services.jobs import JobLimitReached

Entries = dict[str, dict[str, Any]]  # job key -> {"job": job id or "", "t": started, epoch s}
Change = Callable[[Entries], Any]


class SlotStore(Protocol):
    def update(self, session: str, change: Change) -> Any:
        """Apply ``change`` to the session's entries atomically (it edits them in place)."""


def session_key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8", "replace")).hexdigest()[:24]


class DiskcacheSlots:
    def __init__(self, cache: Any, stale_s: int) -> None:
        self.cache, self.stale_s = cache, stale_s

    def update(self, session: str, change: Change) -> Any:
        name = f"job-slots-{session}"
        with self.cache.transact():
            entries: Entries = self.cache.get(name) or {}
            result = change(entries)
            self.cache.set(name, entries, expire=self.stale_s)
        return result


class RedisSlots:
    LOCK_TIMEOUT_S = 5

    def __init__(self, client: Any, prefix: str, stale_s: int) -> None:
        self.client, self.prefix, self.stale_s = client, prefix, stale_s

    def update(self, session: str, change: Change) -> Any:
        name = f"{self.prefix}job-slots-{session}"
        with self.client.lock(f"{name}-lock", timeout=self.LOCK_TIMEOUT_S,
                              blocking_timeout=self.LOCK_TIMEOUT_S):  # fmt: skip
            raw = self.client.get(name)
            entries: Entries = json.loads(raw) if raw else {}
            result = change(entries)
            self.client.set(name, json.dumps(entries), ex=self.stale_s)
        return result


class JobSlots:
    def __init__(self, backend: SlotStore, stale_s: int) -> None:
        self.backend, self.stale_s = backend, stale_s

    def take(self, cookie: str, key: str, limit: int) -> bool:
        """Whether the session had a free slot (then ``key`` holds it)."""

        def change(entries: Entries) -> bool:
            now = time.time()
            for old in [k for k, e in entries.items() if now - e["t"] > self.stale_s]:
                del entries[old]
            if len(entries) >= limit:
                return False
            entries[key] = {"job": "", "t": now}
            return True

        return bool(self.backend.update(session_key(cookie), change))

    def started(self, cookie: str, key: str, job: object) -> None:
        """The job holding ``key``'s slot was queued as ``job``."""

        def change(entries: Entries) -> None:
            if key in entries:
                entries[key]["job"] = str(job)

        self.backend.update(session_key(cookie), change)

    def give_back(self, cookie: str, key: str | None = None, job: object = None) -> None:
        """Free the slot of job ``key`` (or of the job queued as ``job``)."""

        def change(entries: Entries) -> None:
            for held in [k for k, e in entries.items()
                         if k == key or (job is not None and e["job"] == str(job))]:  # fmt: skip
                del entries[held]

        self.backend.update(session_key(cookie), change)

    def running(self, cookie: str) -> int:
        return int(self.backend.update(session_key(cookie), len))


class LimitedJobs:
    """A job manager mixin: at most ``limit`` jobs running per browser session (none when
    ``limit`` is 0). Set ``slots`` and ``limit`` in ``__init__``; ``cookie_name`` names the
    session cookie."""

    slots: JobSlots | None = None
    limit = 0
    cookie_name = ""
    UNDEFINED: Any

    def _cookie(self) -> str | None:
        if self.slots is None or not self.limit or not flask.has_request_context():
            return None
        return flask.request.cookies.get(self.cookie_name, "")

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> Any:
        cookie = self._cookie()
        if cookie is None or self.slots is None:
            return super().call_job_fn(key, job_fn, args, context)  # type: ignore[misc]
        if not self.slots.take(cookie, key, self.limit):
            raise JobLimitReached(self.limit)
        try:
            job = super().call_job_fn(key, job_fn, args, context)  # type: ignore[misc]
        except BaseException:
            self.slots.give_back(cookie, key=key)
            raise
        self.slots.started(cookie, key, job)
        return job

    def get_result(self, key: str, job: Any) -> Any:
        result = super().get_result(key, job)  # type: ignore[misc]
        cookie = self._cookie()
        if cookie is not None and self.slots is not None and result is not self.UNDEFINED:
            self.slots.give_back(cookie, key=key)
        return result

    def terminate_job(self, job: Any) -> None:
        try:
            super().terminate_job(job)  # type: ignore[misc]
        finally:
            cookie = self._cookie()
            if cookie is not None and self.slots is not None and job is not None:
                self.slots.give_back(cookie, job=job)
