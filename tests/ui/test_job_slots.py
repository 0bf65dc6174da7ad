"""Per-session job slots (hosted mode's concurrent-job limit) on the jobs' diskcache and on a
Redis of the test's own: the limit holds per session, slots come back by key or by job id,
and a slot older than the longest job is forgotten."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import diskcache
import pytest

from synanno_dash.ui.job_slots import DiskcacheSlots, JobSlots, RedisSlots, session_key
from tests.redis_server import PrivateRedis, redis_server_binary

STALE_S = 600


@pytest.fixture(params=["diskcache", "redis"])
def slots(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobSlots]:
    if request.param == "diskcache":
        cache = diskcache.Cache(str(tmp_path / "jobs"))
        yield JobSlots(DiskcacheSlots(cache, STALE_S), STALE_S)
        cache.close()
        return
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    import redis

    server = PrivateRedis(tmp_path / "redis").start()
    client = redis.Redis.from_url(server.url())
    yield JobSlots(RedisSlots(client, "test:", STALE_S), STALE_S)
    client.close()
    server.stop()


def test_each_session_runs_at_most_its_limit(slots: JobSlots) -> None:
    assert slots.take("cookie-a", "k1", limit=2) and slots.take("cookie-a", "k2", limit=2)
    assert not slots.take("cookie-a", "k3", limit=2)
    assert slots.take("cookie-b", "k3", limit=2)  # another session: its own slots
    assert slots.running("cookie-a") == 2 and slots.running("cookie-b") == 1


def test_slots_come_back_by_key_or_by_job(slots: JobSlots) -> None:
    assert slots.take("c", "k1", limit=2) and slots.take("c", "k2", limit=2)
    slots.started("c", "k1", 4242)
    slots.give_back("c", job=4242)  # a cancel names the job, not the key
    assert slots.running("c") == 1
    slots.give_back("c", key="k2")
    slots.give_back("c", key="k2")  # twice (the job's end and its page): harmless
    assert slots.running("c") == 0 and slots.take("c", "k3", limit=1)


def test_a_slot_older_than_the_longest_job_is_forgotten(slots: JobSlots) -> None:
    assert slots.take("c", "k1", limit=1)

    def age(entries: dict) -> None:  # type: ignore[type-arg]
        entries["k1"]["t"] = time.time() - STALE_S - 1

    slots.backend.update(session_key("c"), age)
    assert slots.take("c", "k2", limit=1)
