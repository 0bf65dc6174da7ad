"""The one bounded cache (``data.bounded_cache``) against a plain reference LRU."""

from __future__ import annotations

import threading
from collections import OrderedDict

from hypothesis import given
from hypothesis import strategies as st

from synanno_dash.data.bounded_cache import BoundedCache


@given(st.lists(st.tuples(st.sampled_from("gp"), st.integers(0, 6), st.integers(1, 5)),
                max_size=80), st.integers(1, 12))  # fmt: skip
def test_behaves_like_a_size_bounded_lru(operations: list, max_size: int) -> None:
    evicted: list[int] = []
    cache: BoundedCache[int, int] = BoundedCache(
        max_size, sizeof=lambda v: v, on_evict=lambda k, _v: evicted.append(k)
    )
    reference: OrderedDict[int, int] = OrderedDict()
    expected_evicted: list[int] = []
    for kind, key, value in operations:
        if kind == "g":
            assert cache.get(key) == reference.get(key)
            if key in reference:
                reference.move_to_end(key)
            continue
        cache.put(key, value)
        reference.pop(key, None)
        if value <= max_size:
            reference[key] = value
            while sum(reference.values()) > max_size:
                expected_evicted.append(reference.popitem(last=False)[0])
        assert sorted(cache.keys()) == sorted(reference)
        assert cache.size == sum(reference.values()) <= max_size
    assert evicted == expected_evicted


def test_build_happens_outside_the_lock_and_the_first_value_wins() -> None:
    cache: BoundedCache[str, object] = BoundedCache(4)
    started, release = threading.Event(), threading.Event()
    first = object()

    def slow() -> object:
        started.set()
        release.wait(5)
        return object()

    worker = threading.Thread(target=lambda: cache.get_or_build("k", slow))
    worker.start()
    started.wait(5)
    assert cache.get_or_build("other", object) is not None  # not blocked by the slow build
    assert cache.put_if_absent("k", first) is first
    release.set()
    worker.join()
    assert cache.get("k") is first and len(cache) == 2
