"""The read-through cache of S3 objects: a size limit, least recently used out first, copies in
use kept, stale copies fetched again."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from support.s3server import S3Server

from genesis_pipeline.storage.cache import ReadThroughCache
from genesis_pipeline.storage.s3 import S3Storage

MB = 1024 * 1024


@pytest.fixture()
def storage(s3: S3Server, tmp_path: Path) -> S3Storage:
    bucket = s3.bucket()
    client = s3.client()
    for i in range(6):
        client.put_object(Bucket=bucket, Key=f"p/media/{i}.bin", Body=bytes([i]) * MB)
    # grace_s=0: eviction judged on use order alone (production keeps a minute's grace).
    cache = ReadThroughCache(tmp_path / "cache", max_bytes=int(2.5 * MB), grace_s=0)
    return S3Storage(
        bucket, "p", cache=cache, staging=tmp_path / "staging", endpoint_url=s3.endpoint
    )


def _cached(storage: S3Storage) -> set[str]:
    root = storage.cache.objects
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_size_limit_evicts_least_recently_used(storage: S3Storage) -> None:
    for i in range(6):
        p = storage.get_path(f"media/{i}.bin")
        assert p.read_bytes()[:1] == bytes([i])
        _age(p, 100 - i)  # fetched in order: 0 longest ago
        assert storage.cache.size() <= storage.cache.max_bytes
    assert _cached(storage) == {"media/4.bin", "media/5.bin"}
    # A use makes a copy recent: the other one goes first.
    _age(storage.get_path("media/4.bin"), 0)
    storage.get_path("media/1.bin")
    assert _cached(storage) == {"media/4.bin", "media/1.bin"}
    assert storage.cache.size() <= storage.cache.max_bytes


def test_copies_in_use_are_kept_until_released(storage: S3Storage) -> None:
    with storage.hold():
        paths = [storage.get_path(f"media/{i}.bin") for i in range(4)]
        # Over the limit while a step still needs all four: none is taken away.
        assert all(p.is_file() for p in paths)
        assert storage.cache.size() == 4 * MB
    assert storage.cache.size() <= storage.cache.max_bytes


def test_a_changed_object_is_fetched_again(storage: S3Storage, s3: S3Server) -> None:
    first = storage.get_path("media/0.bin")
    assert first.read_bytes()[:1] == b"\x00"
    s3.client().put_object(Bucket=storage.bucket, Key="p/media/0.bin", Body=b"new bytes")
    again = storage.get_path("media/0.bin")
    assert again == first and again.read_bytes() == b"new bytes"


def test_a_second_read_downloads_nothing(
    storage: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.get_path("media/2.bin")
    calls: list[str] = []
    real = storage.client.download_file

    def counting(*args: object, **kwargs: object) -> None:
        calls.append(str(args[1]))
        real(*args, **kwargs)

    monkeypatch.setattr(storage.client, "download_file", counting)
    storage.get_path("media/2.bin")
    assert calls == []
    storage.get_path("media/3.bin")
    assert calls == ["p/media/3.bin"]
