"""Bad files get one clear message naming the file and the reason; the project is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.actors import ADMIN
from support.db import scalar
from support.oddmedia import bad_files

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, footage) -> dict[str, tuple[Path, str]]:
    return bad_files(tmp_path_factory.mktemp("bad"), footage.path)


def snapshot(store: Store) -> tuple:
    with store.db.read() as con:
        media = scalar(con, "SELECT count(*) FROM media_files")
        uploads = scalar(con, "SELECT count(*) FROM uploads WHERE status = 'finalized'")
    files = sorted(p.name for p in (store.home / "media").rglob("*") if p.is_file())
    return media, uploads, files


@pytest.mark.parametrize(
    "kind",
    ["empty", "text named mp4", "truncated mp4", "random bytes mkv", "image renamed mov"],
)
def test_bad_file_refused(home: Path, bad, footage, kind: str) -> None:
    store = Store(Settings(home=home))
    pid = create_project(store, "p", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    before = snapshot(store)
    path, word = bad[kind]
    with pytest.raises(InvalidMediaError) as err:
        add_media(store, pid, [path], actor=ADMIN)
    message = str(err.value)
    assert path.name in message and word in message
    assert "\n" not in message
    assert snapshot(store) == before


def test_file_over_the_size_limit(home: Path, footage) -> None:
    store = Store(Settings(home=home, max_upload_mb=1))
    pid = create_project(store, "p", actor=ADMIN).id
    big = home.parent / "big clip.mp4"
    big.write_bytes(footage.path.read_bytes() + b"\0" * (1024 * 1024))
    with pytest.raises(InvalidMediaError, match=r"big clip\.mp4.*over the upload limit of 1 MB"):
        add_media(store, pid, [big], actor=ADMIN)
    assert snapshot(store)[0] == 0


def test_one_bad_file_among_good_ones_adds_none(home: Path, bad, footage, silent_footage) -> None:
    store = Store(Settings(home=home))
    pid = create_project(store, "p", actor=ADMIN).id
    with pytest.raises(InvalidMediaError, match=r"notes\.mp4"):
        add_media(
            store, pid, [footage.path, bad["text named mp4"][0], silent_footage.path], actor=ADMIN
        )
    assert snapshot(store) == (0, 0, [])
