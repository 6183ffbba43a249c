"""The Storage interface, the same checks on both implementations: the data dir and S3 (a real
S3 API server over HTTP)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from support.s3server import S3Server, object_keys

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import ObjectMissingError, StorageError
from genesis_pipeline.storage import ObjectInfo, Storage, open_storage
from genesis_pipeline.storage.s3 import S3Storage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    home = tmp_path / "home"
    home.mkdir()
    if request.param == "local":
        return open_storage(Settings(home=home), home.resolve())
    s3: S3Server = request.getfixturevalue("s3")
    bucket = s3.bucket()
    settings = Settings(home=home, storage=f"s3://{bucket}/pre/fix", s3_endpoint_url=s3.endpoint)
    return open_storage(settings, home.resolve())


def test_put_get_head_list_delete(storage: Storage, tmp_path: Path) -> None:
    src = tmp_path / "clip.bin"
    src.write_bytes(b"x" * 1000)
    info = storage.put_file(src, "media/3/clip.bin")
    assert (info.key, info.size) == ("media/3/clip.bin", 1000)
    assert src.is_file()  # not moved unless asked
    assert storage.exists("media/3/clip.bin") and not storage.exists("media/3/other.bin")
    head = storage.head("media/3/clip.bin")
    assert head is not None and head.size == 1000
    assert storage.head("media/3/none.bin") is None
    local = storage.get_path("media/3/clip.bin")
    assert local.read_bytes() == b"x" * 1000
    assert storage.key_of(local) == "media/3/clip.bin"
    with storage.open_read("media/3/clip.bin") as fh:
        assert fh.read() == b"x" * 1000
    storage.put_stream(io.BytesIO(b"abc"), "media/3/sub/b.txt")
    assert [o.key for o in storage.list_prefix("media/3")] == [
        "media/3/clip.bin",
        "media/3/sub/b.txt",
    ]
    assert storage.list_prefix("media/4") == []
    storage.copy("media/3/clip.bin", "proxies/3/clip.bin")
    copied = storage.head("proxies/3/clip.bin")
    assert copied is not None and copied.size == 1000
    assert storage.get_path("proxies/3/clip.bin").read_bytes() == b"x" * 1000
    storage.delete("media/3/clip.bin")
    storage.delete("media/3/clip.bin")  # gone already: no error
    assert not storage.exists("media/3/clip.bin")
    with pytest.raises(ObjectMissingError, match=r"clip\.bin"):
        storage.get_path("media/3/clip.bin")
    assert storage.delete_prefix("media") == 1
    assert storage.list_prefix("media") == []


def test_missing_object_error_names_it(storage: Storage) -> None:
    with pytest.raises(ObjectMissingError) as err:
        storage.get_path("renders/1/gone.mp4")
    assert storage.uri("renders/1/gone.mp4") in str(err.value)
    assert "\n" not in str(err.value)


def test_a_failed_write_publishes_nothing(storage: Storage) -> None:
    with pytest.raises(RuntimeError), storage.writing("renders/1/cut.mp4") as tmp:
        tmp.write_bytes(b"half a render")
        raise RuntimeError("killed mid-write")
    assert not storage.exists("renders/1/cut.mp4")
    with storage.writing("renders/1/cut.mp4") as tmp:
        tmp.write_bytes(b"a whole render")
    assert storage.get_path("renders/1/cut.mp4").read_bytes() == b"a whole render"


def test_a_folder_is_complete_when_its_marker_is_there(storage: Storage) -> None:
    with pytest.raises(RuntimeError), storage.writing_dir("cache/scenes/k1", "manifest.json") as d:
        (d / "scenes.json").write_text("{}")
        raise RuntimeError("killed before the marker")
    assert not storage.exists("cache/scenes/k1/manifest.json")
    with storage.writing_dir("cache/scenes/k2", "manifest.json") as d:
        (d / "previews").mkdir()
        (d / "previews" / "a.jpg").write_bytes(b"jpg")
        (d / "scenes.json").write_text("{}")
        (d / "manifest.json").write_text("{}")
    keys = [o.key for o in storage.list_prefix("cache/scenes/k2")]
    assert keys == [
        "cache/scenes/k2/manifest.json",
        "cache/scenes/k2/previews/a.jpg",
        "cache/scenes/k2/scenes.json",
    ]
    local = storage.get_dir("cache/scenes/k2")
    assert (local / "previews" / "a.jpg").read_bytes() == b"jpg"


def test_presigned_uploads_need_s3(storage: Storage) -> None:
    if storage.kind == "s3":
        up = storage.presign_upload("uploads/x/a.mp4", 100, 60)
        assert up.url is not None and up.url.startswith("http") and not up.parts
    else:
        with pytest.raises(StorageError, match="GENESIS_STORAGE=s3://"):
            storage.presign_upload("uploads/x/a.mp4", 100, 60)


def test_s3_marker_is_uploaded_last(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry's other objects are all there before its manifest object appears."""
    bucket = s3.bucket()
    home = tmp_path / "home"
    settings = Settings(home=home, storage=f"s3://{bucket}/p", s3_endpoint_url=s3.endpoint)
    storage = open_storage(settings, home.resolve())
    assert isinstance(storage, S3Storage)
    seen: list[list[str]] = []
    real = storage.put_file

    def watching(src: Path, key: str, *, move: bool = False) -> ObjectInfo:
        if key.endswith("manifest.json"):
            seen.append(object_keys(s3, bucket, "p/cache/x/k"))
        return real(src, key, move=move)

    monkeypatch.setattr(storage, "put_file", watching)
    with storage.writing_dir("cache/x/k", "manifest.json") as d:
        for i in range(12):
            (d / f"f{i}.bin").write_bytes(bytes([i]) * 10)
        (d / "manifest.json").write_text("{}")
    assert len(seen) == 1 and len(seen[0]) == 12  # every file, no manifest yet
    assert len(object_keys(s3, bucket, "p/cache/x/k")) == 13
