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
