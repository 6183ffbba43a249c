"""The API's read cache: concurrent identical reads share one load; forgotten entries reload."""

from __future__ import annotations

import threading
import time

from genesis_pipeline.api.cache import ReadCache


def test_concurrent_callers_share_one_slow_load() -> None:
    cache = ReadCache(ttl_s=0.05)
    loads = []

    def load() -> int:
        loads.append(1)
        time.sleep(1.0)  # longer than the ttl: callers that asked meanwhile take this answer
        return len(loads)

    got: list[int] = []
    threads = [
        threading.Thread(target=lambda: got.append(cache.get(("k", 1), load))) for _ in range(20)
    ]
    # Every caller asks while the first load is in flight (it takes 1 s).
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [1] * 20 and len(loads) == 1
    time.sleep(0.06)
    assert cache.get(("k", 1), load) == 2  # stale: loaded again


def test_forget_drops_matching_entries() -> None:
    cache = ReadCache(ttl_s=60)
    cache.get(("a", 1), lambda: "one")
    cache.get(("a", 2), lambda: "two")
    cache.forget(lambda k: k == ("a", 1))
    assert cache.get(("a", 1), lambda: "new") == "new"
    assert cache.get(("a", 2), lambda: "new") == "two"


def test_stale_entries_do_not_pile_up() -> None:
    cache = ReadCache(ttl_s=0.0)
    for i in range(2000):
        cache.get(("q", i), lambda: "x")
    assert len(cache) <= 257


def test_get_nowait_answers_a_recent_entry_at_once_and_refreshes_it_once() -> None:
    cache = ReadCache(ttl_s=0.05, stale_s=10.0)
    assert cache.get_nowait(("k", 1), lambda: "never") == (False, None)  # nothing yet
    cache.get(("k", 1), lambda: "old")
    time.sleep(0.06)  # stale, still recent
    release = threading.Event()
    loads: list[int] = []

    def slow_load() -> str:
        loads.append(1)
        release.wait(5)
        return "new"

    t0 = time.monotonic()
    answers = [cache.get_nowait(("k", 1), slow_load) for _ in range(20)]
    assert time.monotonic() - t0 < 0.5  # nobody waited for the load
    assert answers == [(True, "old")] * 20
    release.set()
    deadline = time.monotonic() + 5
    while cache.peek(("k", 1)) != (True, "new") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.peek(("k", 1)) == (True, "new") and len(loads) == 1


def test_get_nowait_leaves_an_old_entry_to_a_real_load() -> None:
    cache = ReadCache(ttl_s=0.0, stale_s=0.05)
    cache.get(("k", 1), lambda: "old")
    time.sleep(0.06)
    assert cache.get_nowait(("k", 1), lambda: "new") == (False, None)


def test_a_load_in_flight_when_forgotten_is_not_kept() -> None:
    cache = ReadCache(ttl_s=60)
    started, release = threading.Event(), threading.Event()

    def load_before_the_write() -> str:
        started.set()
        release.wait(5)
        return "before"

    got: list[str] = []
    t = threading.Thread(target=lambda: got.append(cache.get(("k", 1), load_before_the_write)))
    t.start()
    started.wait(5)
    cache.forget()  # a write lands while the read is in flight
    release.set()
    t.join()
    assert got == ["before"]  # its caller asked before the write
    assert cache.get(("k", 1), lambda: "after") == "after"


def test_a_failed_refresh_leaves_the_next_caller_to_load() -> None:
    cache = ReadCache(ttl_s=0.01, stale_s=10.0)
    cache.get(("k", 1), lambda: "old")
    time.sleep(0.02)

    def gone() -> str:
        raise LookupError("project deleted")

    assert cache.get_nowait(("k", 1), gone) == (True, "old")
    deadline = time.monotonic() + 5
    while len(cache) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get_nowait(("k", 1), gone) == (False, None)
