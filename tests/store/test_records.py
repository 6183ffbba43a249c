"""Typed records: JSON columns parsed in the store, metadata merges written in the stored order."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.media.probe import MediaInfo
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store.locks import exclusive_or_none, is_held
from genesis_pipeline.store.records import (
    CaptionUpdate,
    Detection,
    RulesVersion,
    SceneMetadata,
    TranscriptConfidenceUpdate,
    scene_metadata,
)


def test_scene_metadata_reads_what_each_step_wrote() -> None:
    assert scene_metadata("{}") == SceneMetadata()
    meta = scene_metadata(
        {
            "previews": ["a.jpg", "b.jpg"],
            "detection": {"cut_score": None, "confidence": 1.0, "detector": "adaptive"},
            "transcript_key": None,
            "word_count": 3,
            "captions": [["a boat", 0.5], ["a dock", 0.25]],
        }
    )
    assert meta.previews == ("a.jpg", "b.jpg")
    assert meta.detection == Detection(confidence=1.0, detector="adaptive")
    assert meta.captions == (("a boat", 0.5), ("a dock", 0.25))
    assert (meta.word_count, meta.caption, meta.transcript_confidence) == (3, None, None)


def test_read_models_read_by_name() -> None:
    from datetime import datetime

    row = RulesVersion(2, {"min_chapter_s": 4.0}, "shorter", datetime(2026, 1, 1))
    assert row["note"] == "shorter" and row["rules"] == {"min_chapter_s": 4.0}
    with pytest.raises(KeyError):
        row["notes"]


@pytest.fixture()
def scene(home: Path) -> tuple[Store, int]:
    store = Store(Settings(home=home))
    pid = create_project(store, "records", actor=ADMIN).id
    info = MediaInfo(
        path="a.mp4", container="mp4", duration_s=4.0, size_bytes=10, has_video=True,
        has_audio=True, video_codec="h264", width=320, height=180, fps=25.0,
    )  # fmt: skip
    with store.db.write() as con:
        media = media_sql.insert(
            con, pid, info, original_name="a.mp4", stored_name="a.mp4", path="media/a.mp4",
            sha256="0" * 64, imported=False,
        )  # fmt: skip
        scenes_sql.replace_scenes(
            con,
            project_id=pid,
            media_id=media.id,
            cache_key="k",
            rows=[
                {
                    "idx": 0,
                    "start_frame": 0,
                    "end_frame": 100,
                    "start_s": 0.0,
                    "end_s": 4.0,
                    "preview_path": "p/0.jpg",
                    "metadata": {"previews": ["p/0.jpg"], "detection": {"confidence": 1.0}},
                }
            ],
        )
    return store, pid


def _stored(store: Store) -> str:
    with store.db.read() as con:
        row = con.execute("SELECT metadata_json FROM scenes").fetchone()
    assert row is not None
    return str(row[0])


def test_merges_keep_the_stored_key_order_and_none_removes(scene) -> None:
    store, pid = scene
    with store.db.read() as con:
        (s,) = scenes_sql.scenes_for_project(con, pid)
    with store.db.write() as con:
        scenes_sql.merge_scene_metadata(con, {s.id: TranscriptConfidenceUpdate("t1", 2, 0.75)})
        scenes_sql.merge_scene_metadata(
            con, {s.id: CaptionUpdate("c1", "a boat", 0.5, [["a boat", 0.5]], "blip")}
        )
    # The bytes the steps wrote before the typed updates: the stage cache and pages rely on them.
    assert _stored(store) == json.dumps(
        {
            "previews": ["p/0.jpg"],
            "detection": {"confidence": 1.0},
            "transcript_key": "t1",
            "word_count": 2,
            "transcript_confidence": 0.75,
            "caption_key": "c1",
            "caption": "a boat",
            "caption_confidence": 0.5,
            "captions": [["a boat", 0.5]],
            "caption_model": "blip",
        }
    )
    with store.db.write() as con:
        scenes_sql.merge_scene_metadata(con, {s.id: TranscriptConfidenceUpdate(None, 0, None)})
    stored = json.loads(_stored(store))
    assert "transcript_key" not in stored and "transcript_confidence" not in stored
    assert list(stored)[:3] == ["previews", "detection", "word_count"]
    with store.db.read() as con:
        (again,) = scenes_sql.scenes_for_project(con, pid)
    assert again.metadata.caption == "a boat" and again.metadata.word_count == 0


def test_a_lock_has_one_holder_and_probes_do_not_take_it(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "one.lock"
    assert not is_held(path)
    with exclusive_or_none(path) as fd:
        assert fd is not None and is_held(path)
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path;"
                "from genesis_pipeline.store.locks import exclusive_or_none\n"
                "with exclusive_or_none(Path(sys.argv[1])) as fd: print(fd is None)",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert other.stdout.strip() == "True"  # another process is refused, not kept waiting
    t0 = time.monotonic()
    assert not is_held(path)
    with exclusive_or_none(path) as fd:
        assert fd is not None
    assert time.monotonic() - t0 < 0.5
