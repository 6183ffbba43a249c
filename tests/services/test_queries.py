"""Read models for the app (queries) and the scene browser, on a hand-built store."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.media.probe import MediaInfo
from genesis_pipeline.services.projects import create_project, project_revision
from genesis_pipeline.services.queries import (
    SCENE_COLUMNS,
    TRANSCRIPT_SUMMARY_COLUMNS,
    media_table,
    scenes_table,
    transcript_summary,
    transcript_tables,
)
from genesis_pipeline.services.review import set_scene_status
from genesis_pipeline.services.scene_browser import browse, min_confidence
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import transcripts as transcripts_sql


def _media(store: Store, pid: int, name: str, duration: float, *, video: bool, audio: bool):
    info = MediaInfo(
        path=name,
        container="mp4",
        duration_s=duration,
        size_bytes=1234,
        has_video=video,
        has_audio=audio,
        video_codec="h264" if video else None,
        width=320 if video else None,
        height=180 if video else None,
        fps=25.0 if video else None,
        audio_codec="aac" if audio else None,
    )
    with store.db.write() as con:
        return media_sql.insert(
            con,
            pid,
            info,
            original_name=name,
            stored_name=name,
            path=f"media/{pid}/{name}",
            sha256=name.ljust(64, "0"),
            imported=False,
        )


def _scene(idx: int, start: float, end: float, **meta) -> dict:
    return {
        "idx": idx,
        "start_frame": round(start * 25),
        "end_frame": round(end * 25),
        "start_s": start,
        "end_s": end,
        "preview_path": f"scene_previews/x/{idx}.jpg",
        "metadata": meta,
    }


@pytest.fixture()
def project(home: Path):
    """Media: a (10 s video+audio, speech), b (6 s video, no audio), c (audio only, untouched).

    Scenes: a0 0-4 s, a1 4-10 s, b0 0-6 s. Transcript of a: one segment, three words.
    """
    store = Store(Settings(home=home))
    pid = create_project(store, "q", actor=ADMIN).id
    a = _media(store, pid, "a.mp4", 10.0, video=True, audio=True)
    b = _media(store, pid, "b.mp4", 6.0, video=True, audio=False)
    c = _media(store, pid, "c.wav", 3.0, video=False, audio=True)
    with store.db.write() as con:
        scenes_sql.replace_scenes(
            con,
            project_id=pid,
            media_id=a.id,
            cache_key="ka",
            rows=[
                _scene(
                    0,
                    0.0,
                    4.0,
                    detection={"confidence": 0.9, "cut_score": 40.0},
                    caption="a boat in a harbour",
                    caption_confidence=0.3,
                    transcript_confidence=0.8,
                    word_count=2,
                    previews=["scene_previews/x/0.jpg", "scene_previews/x/0b.jpg"],
                ),
                _scene(1, 4.0, 10.0, detection={"confidence": 0.6}, caption="a man talking"),
            ],
        )
        scenes_sql.replace_scenes(
            con,
            project_id=pid,
            media_id=b.id,
            cache_key="kb",
            rows=[_scene(0, 0.0, 6.0)],
        )
        transcripts_sql.replace_transcript(
            con,
            project_id=pid,
            media_id=a.id,
            run_id=None,
            cache_key="ta",
            transcript={
                "language": "en",
                "language_probability": 0.97,
                "model": "tiny.en",
                "text": "Hello harbour world",
                "duration_s": 10.0,
                "segments": [
                    {"index": 0, "start": 0.5, "end": 2.5, "text": " Hello harbour world"}
                ],
                "words": [
                    {"word": " Hello", "start": 0.5, "end": 0.9, "probability": 0.9},
                    {
                        "word": " harbour",
                        "start": 1.0,
                        "end": 1.6,
                        "probability": 0.5,
                        "timing_uncertain": True,
                    },
                    {"word": " world", "start": 1.7, "end": 2.5, "probability": 0.7},
                ],
            },
            artifact_path="artifacts/t.json",
        )
        transcripts_sql.replace_transcript(  # b: transcribed, no speech
            con,
            project_id=pid,
            media_id=b.id,
            run_id=None,
            cache_key="tb",
            transcript={"language": "", "model": "tiny.en", "segments": [], "words": []},
            artifact_path="artifacts/tb.json",
        )
    return store, pid, (a, b, c)


def test_media_table(project) -> None:
    store, pid, (a, b, c) = project
    df = media_table(store, pid)
    assert list(df.id) == [a.id, b.id, c.id]
    assert list(df.position) == [0, 1, 2]
    assert df.path[0] == str(store.home / f"media/{pid}/a.mp4")
    assert list(df.has_audio) == [True, False, True]


def test_scenes_table(project) -> None:
    store, pid, (a, b, _c) = project
    df = scenes_table(store, pid)
    assert list(df.columns) == SCENE_COLUMNS
    assert list(df.media_id) == [a.id, a.id, b.id]
    assert list(zip(df.media_name, df.idx, strict=True)) == [
        ("a.mp4", 0),
        ("a.mp4", 1),
        ("b.mp4", 0),
    ]
    # b follows a on the project timeline.
    assert list(df.timeline_start_s) == [0.0, 4.0, 10.0]
    assert list(df.timeline_end_s) == [4.0, 10.0, 16.0]
    assert list(df.duration_s) == [4.0, 6.0, 6.0]
    first = df.iloc[0]
    assert first.preview_path == str(store.home / "scene_previews/x/0.jpg")
    assert first.preview_paths == [
        str(store.home / "scene_previews/x/0.jpg"),
        str(store.home / "scene_previews/x/0b.jpg"),
    ]
    assert (first.caption, first.word_count) == ("a boat in a harbour", 2)
    assert (first.detection_confidence, first.caption_confidence) == (0.9, 0.3)
    assert first.transcript_confidence == 0.8 and first.cut_score == 40.0
    assert math.isnan(df.caption_confidence[1]) and pd.isna(df.caption[2])
    assert list(df.review_status) == ["approved"] * 3 and not df.reviewed.any()

    rev = project_revision(store, pid)
    set_scene_status(store, pid, [int(df.id[1])], "rejected", actor=ADMIN)
    assert project_revision(store, pid) != rev
    df = scenes_table(store, pid)
    assert list(df.review_status) == ["approved", "rejected", "approved"]
    assert list(df.reviewed) == [False, True, False]
    assert list(min_confidence(df).fillna(1.0)) == [0.3, 0.6, 1.0]


def test_scenes_table_empty(home: Path) -> None:
    store = Store(Settings(home=home))
    pid = create_project(store, "empty", actor=ADMIN).id
    assert list(scenes_table(store, pid).columns) == SCENE_COLUMNS
    assert scenes_table(store, pid).empty
    assert list(transcript_summary(store, pid).columns) == TRANSCRIPT_SUMMARY_COLUMNS


def test_transcripts(project) -> None:
    store, pid, (a, b, c) = project
    segments, words = transcript_tables(store, pid)
    assert list(segments.text) == ["Hello harbour world"]
    assert segments.mean_probability[0] == pytest.approx((0.9 + 0.5 + 0.7) / 3)
    assert list(words.word.str.strip()) == ["Hello", "harbour", "world"]
    # Stored with the words; words written without the mark read as certain.
    assert list(words.timing_uncertain) == [False, True, False]

    s = transcript_summary(store, pid).set_index("media_id")
    assert list(s.index) == [a.id, b.id, c.id]
    assert list(s.transcribed) == [True, True, False]
    assert list(s.words) == [3, 0, 0] and list(s.segments) == [1, 0, 0]
    assert s.mean_probability[a.id] == pytest.approx(0.7)
    assert math.isnan(s.mean_probability[b.id]) and math.isnan(s.mean_probability[c.id])
    assert (s.language[a.id], s.language_probability[a.id], s.model[a.id]) == (
        "en",
        0.97,
        "tiny.en",
    )
    assert list(s.has_audio) == [True, False, True]
    assert s.path[a.id] == str(store.home / f"media/{pid}/a.mp4")


def _frame(n: int) -> pd.DataFrame:
    conf = [0.9, 0.2, None, 0.5, 0.7, 0.1, 0.8, 0.4, 0.6, 0.3]
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "media_id": [1 if i < n // 2 else 2 for i in range(n)],
            "media_position": [0 if i < n // 2 else 1 for i in range(n)],
            "idx": [i if i < n // 2 else i - n // 2 for i in range(n)],
            "duration_s": [1.0 + (i * 7) % 5 for i in range(n)],
            # Trimmed: the first scene keeps half of itself (sorts by length go by what is kept).
            "kept_s": [(1.0 + (i * 7) % 5) * (0.5 if i == 0 else 1.0) for i in range(n)],
            "cut_position": [(i + 3) % n for i in range(n)],  # scene 8 moved first
            "caption": [f"shot {i} {'boat' if i % 3 == 0 else 'street'}" for i in range(n)],
            "detection_confidence": [conf[i % 10] for i in range(n)],
            "caption_confidence": [None] * n,
            "transcript_confidence": [None] * n,
            "review_status": ["rejected" if i % 4 == 0 else "approved" for i in range(n)],
            "reviewed": [i % 2 == 0 for i in range(n)],
        }
    )


def test_browse_filters_sorts_and_pages() -> None:
    df = _frame(10)
    page = browse(df, sort="lowest confidence first", page_size=4)
    assert list(page.rows.id) == [6, 2, 10, 8]  # 0.1, 0.2, 0.3, 0.4
    assert (page.pages, page.matching) == (3, 10)
    last = browse(df, sort="lowest confidence first", page_size=4, page=99)  # clamped
    assert last.page == 2 and list(last.rows.id) == [1, 3]  # 0.9, then no confidence (1.0)
    assert list(browse(df, status="rejected").rows.id) == [1, 5, 9]
    assert list(browse(df, status="unreviewed").rows.id) == [2, 4, 6, 8, 10]
    assert list(browse(df, status="approved").rows.id) == [2, 3, 4, 6, 7, 8, 10]
    assert list(browse(df, text=" BOAT ").rows.id) == [1, 4, 7, 10]
    assert list(browse(df, media_id=2).rows.id) == [6, 7, 8, 9, 10]
    assert list(browse(df, max_confidence=0.3).rows.id) == [2, 6, 10]
    assert list(browse(df, ids=[9, 3], sort="timeline").rows.id) == [3, 9]
    assert browse(df, ids=[]).matching == 0 and browse(df, ids=[]).pages == 1
    longest = browse(df, sort="longest first").rows
    assert list(longest.kept_s) == sorted(df.kept_s, reverse=True)
    cut = browse(df, sort="cut order").rows
    assert list(cut.id) == [8, 9, 10, 1, 2, 3, 4, 5, 6, 7]
