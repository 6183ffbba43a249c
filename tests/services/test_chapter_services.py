"""Chapter services for the review app: saved chapters, the live preview against them, titles."""

from __future__ import annotations

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError, NotFoundError
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.chapters import (
    ChapterInputs,
    compare_chapters,
    current_rules,
    edited_titles,
    load_chapter_inputs,
    preview_chapters,
    rules_diff,
    saved_chapters,
    set_chapter_title,
    speech_intervals,
    with_edited_titles,
)
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.chapters import Chapter, ChapterScene, Rules, TimedWord
from genesis_pipeline.store import Store


def _chapter(index: int, start: float, end: float, keys: tuple[int, ...] = (1,)) -> Chapter:
    return Chapter(index, start, end, keys, f"t{index}", ("start",))


def test_speech_intervals_join_short_gaps_only() -> None:
    words = [
        TimedWord("b", 1.5, 2.0),  # out of order on purpose
        TimedWord("a", 1.0, 1.4),
        TimedWord("c", 2.6, 3.0),  # 0.6 s gap: a new interval
        TimedWord("d", 3.1, 3.5),
    ]
    assert speech_intervals(words, join_gap_s=0.3) == [(1.0, 2.0), (2.6, 3.5)]
    assert speech_intervals(words, join_gap_s=0.05) == [
        (1.0, 1.4),
        (1.5, 2.0),
        (2.6, 3.0),
        (3.1, 3.5),
    ]
    assert speech_intervals([]) == []


def test_compare_chapters_finds_added_and_removed_boundaries() -> None:
    saved = [_chapter(0, 0, 10), _chapter(1, 10, 20), _chapter(2, 20, 30)]
    preview = [_chapter(0, 0, 5), _chapter(1, 5, 10.02), _chapter(2, 10.02, 30)]
    diff = compare_chapters(saved, preview)
    assert (diff.saved_count, diff.preview_count) == (3, 3)
    assert diff.added == (5.0,)
    assert diff.removed == (20.0,)
    assert diff.kept == 1  # 10.0 vs 10.02 is within the tolerance
    assert diff.changed
    same = compare_chapters(saved, [dict(start_s=c.start_s) for c in saved])
    assert not same.changed and same.kept == 2


def test_rules_diff_lists_changed_rules_in_order() -> None:
    a = Rules()
    b = Rules(min_chapter_s=2.0, keep_sentences=False)
    assert rules_diff(a, b) == [
        {"rule": "min_chapter_s", "saved": 10.0, "preview": 2.0},
        {"rule": "keep_sentences", "saved": True, "preview": False},
    ]
    assert rules_diff(a, Rules()) == []


def test_with_edited_titles_matches_first_scene() -> None:
    inputs = ChapterInputs(
        scenes=(ChapterScene(1, 9, 0, 3), ChapterScene(2, 9, 3, 6)),
        words=(),
        media_offsets={9: 0.0},
        scene_frames={1: (9, 0), 2: (9, 75)},
    )
    chapters = [_chapter(0, 0, 3, (1,)), _chapter(1, 3, 6, (2,))]
    out = with_edited_titles(chapters, inputs, {(9, 75): "Renamed"})
    assert [c.title for c in out] == ["t0", "Renamed"]


@pytest.fixture(scope="module")
def silent_project(tmp_path_factory: pytest.TempPathFactory, silent_footage) -> tuple[Store, int]:
    """Two 3 s shots, no audio (no transcription, captions skipped): chapters by rules only."""
    home = tmp_path_factory.mktemp("chapter-services")
    store = Store(Settings(home=home, caption_model=str(home / "no-model"), offline="1"))
    pid = create_project(store, "Chapters", actor=ADMIN).id
    add_media(store, pid, [silent_footage.path], actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    return store, pid


def test_saved_chapters_are_the_preview_of_the_saved_rules(silent_project) -> None:
    store, pid = silent_project
    version, rules = current_rules(store, pid)
    assert version == 1 and rules == Rules()
    saved = saved_chapters(store, pid)
    inputs = load_chapter_inputs(store, pid)
    preview = preview_chapters(inputs, rules)
    # Defaults: 6 s of footage is under min_chapter_s, so one chapter over both scenes.
    assert len(saved) == len(preview) == 1
    assert saved[0]["index"] == 0 and saved[0]["rules_version"] == 1
    assert saved[0]["start_s"] == pytest.approx(0.0)
    assert saved[0]["end_s"] == pytest.approx(6.0, abs=0.05)
    assert saved[0]["duration_s"] == pytest.approx(6.0, abs=0.05)
    assert len(saved[0]["scene_ids"]) == 2
    # Shorter chapters allowed: no speech means a pause at the synthetic cut (3.0 s).
    short = preview_chapters(inputs, Rules(min_chapter_s=1.0))
    diff = compare_chapters(saved, short)
    assert diff.preview_count == 2
    assert diff.added == pytest.approx((3.0,), abs=0.05)
    assert diff.removed == ()
    with pytest.raises(InvalidSettingError, match="min_chapter_s"):
        preview_chapters(inputs, Rules(min_chapter_s=50, max_chapter_s=20))


def test_titles_persist_and_reach_the_preview(silent_project) -> None:
    store, pid = silent_project
    chapter = saved_chapters(store, pid)[0]
    set_chapter_title(store, pid, chapter["id"], "  Colour bars  ", actor=ADMIN)
    again = saved_chapters(store, pid)[0]
    assert again["title"] == "Colour bars" and again["title_edited"]
    titles = edited_titles(store, pid)
    assert list(titles.values()) == ["Colour bars"]
    inputs = load_chapter_inputs(store, pid)
    preview = with_edited_titles(preview_chapters(inputs, Rules()), inputs, titles)
    assert preview[0].title == "Colour bars"
    with pytest.raises(InvalidSettingError, match="title"):
        set_chapter_title(store, pid, chapter["id"], "  ", actor=ADMIN)
    with pytest.raises(NotFoundError):
        saved_chapters(store, pid + 99)
