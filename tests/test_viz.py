"""Plotly figure builders: the traces carry the data they are meant to show."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from genesis_pipeline import viz
from genesis_pipeline.services.chapters import ChapterInputs
from genesis_pipeline.services.cut import CutChapterSpan, CutPlan
from genesis_pipeline.stages.chapters import Chapter, ChapterScene
from genesis_pipeline.stages.timeline import CutSegment

NAN = float("nan")


@pytest.fixture()
def scenes_df() -> pd.DataFrame:
    """Four scenes over two files (rows deliberately out of timeline order)."""
    return pd.DataFrame(
        {
            "id": [12, 10, 11, 13],
            "media_id": [2, 1, 1, 2],
            "media_name": ["b.mp4", "a.mp4", "a.mp4", "b.mp4"],
            "idx": [0, 0, 1, 1],
            "timeline_start_s": [5.0, 0.0, 2.0, 7.5],
            "timeline_end_s": [7.5, 2.0, 5.0, 9.0],
            "duration_s": [2.5, 2.0, 3.0, 1.5],
            "detection_confidence": [1.0, 1.0, 0.8, 0.6],
            "caption_confidence": [0.5, 0.4, NAN, 0.9],
            "transcript_confidence": [NAN, 0.7, 0.95, NAN],
            "cut_score": [NAN, NAN, 40.0, 80.0],
            "review_status": ["approved", "approved", "rejected", "approved"],
            "caption": ["x", None, "y", "z"],
        }
    )


def _clean(values) -> list[float | None]:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]


def test_confidence_timeline_traces(scenes_df: pd.DataFrame) -> None:
    fig = viz.confidence_timeline(scenes_df)
    names = [t.name for t in fig.data]
    assert names == ["detection", "caption", "transcript", "cut score"]
    order = [10, 11, 12, 13]  # timeline order
    for trace in fig.data:
        assert list(trace.x) == [0.0, 2.0, 5.0, 7.5]
        assert [row[0] for row in trace.customdata] == order
    by = {t.name: t for t in fig.data}
    assert _clean(by["caption"].y) == [0.4, None, 0.5, 0.9]
    assert _clean(by["transcript"].y) == [0.7, 0.95, None, None]
    assert _clean(by["cut score"].y) == [None, 40.0, None, 80.0]
    assert by["cut score"].yaxis == "y2" and by["detection"].yaxis == "y"
    # Rejected scene 11 has an open marker.
    assert list(by["detection"].marker.symbol) == ["circle", "circle-open", "circle", "circle"]
    # One dotted line where the second file starts.
    assert [s.x0 for s in fig.layout.shapes] == [5.0]
    assert fig.layout.dragmode == "select"


def test_confidence_histograms(scenes_df: pd.DataFrame) -> None:
    fig = viz.confidence_histograms(scenes_df)
    assert [t.type for t in fig.data] == ["histogram"] * 4
    assert [len(t.x) for t in fig.data] == [4, 3, 2, 2]
    assert fig.data[0].xbins.size == 0.05
    assert not fig.layout.annotations[4:]  # only the four subplot titles
    empty = viz.confidence_histograms(scenes_df.assign(caption_confidence=NAN))
    notes = [a.text for a in empty.layout.annotations]
    assert notes.count("no values") == 1


def test_selected_scene_ids() -> None:
    state = {
        "selection": {
            "points": [
                {"customdata": [11, "a.mp4"], "point_index": 1},
                {"customdata": [13]},
                {"customdata": [11, "a.mp4"]},  # the same scene on another trace
                {"customdata": 12.0},
                {"point_index": 3},  # no customdata: ignored
            ],
            "box": [],
            "lasso": [],
        }
    }
    assert viz.selected_scene_ids(state) == [11, 13, 12]
    assert viz.selected_scene_ids(state["selection"]) == [11, 13, 12]
    assert viz.selected_scene_ids({"selection": {"points": []}}) == []
    assert viz.selected_scene_ids(None) == []


def test_chapter_timeline_with_comparison(scenes_df: pd.DataFrame) -> None:
    preview = [
        Chapter(0, 0.0, 5.0, (10, 11), "Start", ("start",)),
        Chapter(1, 5.0, 9.0, (12, 13), "Second", ("new media file",)),
    ]
    saved = [
        {"idx": 0, "start_s": 0.0, "end_s": 2.0, "title": "A"},
        {"idx": 1, "start_s": 2.0, "end_s": 9.0, "title": "B"},
    ]
    fig = viz.chapter_timeline(scenes_df, preview, [(0.5, 1.5), (6.0, 8.0)], compare=saved)
    by = {t.name: t for t in fig.data}
    assert set(by) == {
        "chapters",
        "saved chapters",
        "boundary added",
        "boundary removed",
        "scenes: approved",
        "scenes: rejected",
        "speech",
    }
    assert list(by["chapters"].base) == [0.0, 5.0]
    assert list(by["chapters"].x) == [5.0, 4.0]
    assert list(by["chapters"].text) == ["Start", "Second"]
    assert list(by["saved chapters"].x) == [2.0, 7.0]
    assert list(by["boundary added"].x) == [5.0]
    assert list(by["boundary removed"].x) == [2.0]
    assert [c[0] for c in by["scenes: rejected"].customdata] == [11]
    assert sorted(c[0] for c in by["scenes: approved"].customdata) == [10, 12, 13]
    assert list(by["speech"].base) == [0.5, 6.0] and list(by["speech"].x) == [1.0, 2.0]
    rows = list(fig.layout.yaxis.categoryarray)
    assert rows == ["speech", "scenes", "saved", "chapters"]


def test_chapter_timeline_from_chapter_inputs() -> None:
    inputs = ChapterInputs(
        scenes=(ChapterScene(1, 1, 0.0, 3.0), ChapterScene(2, 1, 3.0, 6.0)),
        words=(),
        media_offsets={1: 0.0},
        scene_frames={1: (1, 0), 2: (1, 75)},
    )
    fig = viz.chapter_timeline(inputs, [Chapter(0, 0.0, 6.0, (1, 2), "All", ("start",))], [])
    names = [t.name for t in fig.data]
    assert "scenes: unknown" in names and "boundary added" not in names
    unknown = next(t for t in fig.data if t.name == "scenes: unknown")
    assert list(unknown.base) == [0.0, 3.0]


def test_narration_timeline_marks_speech_under_narration() -> None:
    segs = tuple(
        CutSegment(k, Path(f"/m{k}.mp4"), 0, 100, 25.0, 0.0, 4.0, width=320, height=180)
        for k in (1, 2)
    )
    cut = CutPlan(
        segments=segs,
        scene_ids=(5, 6),
        chapters=(CutChapterSpan(0, 7, "One", 0.0, 4.0), CutChapterSpan(1, 8, "Two", 4.0, 8.0)),
        speech=((1.0, 1.5), (1.6, 2.0), (3.0, 4.0)),
        media_sha={1: "a", 2: "b"},
        total_scenes=2,
    )
    rows: list[dict[str, object]] = [
        {"offset_s": 1.5, "duration_s": 2.0, "target": "whole cut", "file": "vo.wav"},
        {"offset_s": 5.0, "duration_s": 1.0, "target": "chapter 2", "automatic": True},
        {"offset_s": None, "duration_s": 1.0, "target": "chapter 9"},  # not placed: left out
    ]
    fig = viz.narration_timeline(cut, rows)
    by = {t.name: t for t in fig.data}
    assert list(by["cut"].base) == [0.0, 4.0] and list(by["cut"].x) == [4.0, 4.0]
    assert list(by["chapters"].text) == ["One", "Two"]
    # Word gaps under 0.3 s are drawn as one bar.
    assert list(by["speech"].base) == [1.0, 3.0]
    assert list(by["narration: override"].base) == [1.5]
    assert list(by["narration: automatic"].base) == [5.0]
    over = list(zip(by["talks over speech"].base, by["talks over speech"].x, strict=True))
    # The clip (1.5-3.5 s) over the drawn speech bars (1.0-2.0 s, 3.0-4.0 s).
    assert over == [pytest.approx((1.5, 0.5)), pytest.approx((3.0, 0.5))]
    assert [s.x0 for s in fig.layout.shapes] == [8.0]
    assert "past the cut's end" not in by

    rows.append({"offset_s": 7.0, "duration_s": 2.1, "target": "chapter 2", "file": "late.wav"})
    by = {t.name: t for t in viz.narration_timeline(cut, rows).data}
    past = by["past the cut's end"]
    assert list(past.base) == [8.0] and list(past.x) == [pytest.approx(1.1)]


def test_merge_intervals() -> None:
    assert viz.merge_intervals([(3, 4), (0, 1), (0.5, 2)]) == [(0.0, 2.0), (3.0, 4.0)]
    assert viz.merge_intervals([(0, 1), (1.2, 2)], 0.3) == [(0.0, 2.0)]


def test_comment_strip_and_picking_a_comment() -> None:
    from genesis_pipeline.services.comments import CutMark

    segs = tuple(
        CutSegment(k, Path(f"/m{k}.mp4"), 0, 100, 25.0, 0.0, 4.0, width=320, height=180)
        for k in (1, 2)
    )
    cut = CutPlan(
        segments=segs,
        scene_ids=(5, 6),
        chapters=(),
        speech=(),
        media_sha={1: "a", 2: "b"},
        total_scenes=2,
    )
    marks = [
        CutMark(3, "scene", 1.5, 1.5, "ana", "too dark", False, 2),
        CutMark(4, "cut", 5.0, 6.5, "bea", "music up", True, 0),
        CutMark(9, "chapter", 4.0, 4.0, "vic", "x" * 200, False, 0),
    ]
    fig = viz.comment_strip(cut, marks)
    by = {t.name: t for t in fig.data if t.name}
    assert list(by["cut"].base) == [0.0, 4.0]
    assert list(by["open"].x) == [1.5, 4.0] and list(by["resolved"].x) == [5.0]
    assert [c[0] for c in by["open"].customdata] == [3, 9]
    assert by["open"].customdata[1][2].endswith("…") and len(by["open"].customdata[1][2]) == 80
    ranges = [list(t.x) for t in fig.data if getattr(t, "mode", None) == "lines"]
    assert ranges == [[5.0, 6.5]]  # the range comment drawn to its end
    assert fig.layout.xaxis.range == (0, 8.0)
    # A click on a comment point gives its thread and time; a click on the cut bar nothing.
    point = {"customdata": list(by["resolved"].customdata[0])}
    assert viz.selected_comment({"selection": {"points": [point]}}) == (4, 5.0)
    assert viz.selected_comment({"selection": {"points": [{"customdata": [5]}]}}) is None
    assert viz.selected_comment(None) is None
