"""Narration services for the review app: offsets checked against the cut, chapter previews."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, NotFoundError
from genesis_pipeline.media.audio_analysis import decode_audio, rms_db, tone_level_db
from genesis_pipeline.media.probe import probe
from genesis_pipeline.media.synth import speak
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.chapter_preview import (
    find_chapter_preview,
    plan_chapter_preview,
    preview_chapter_mix,
)
from genesis_pipeline.services.chapters import save_rules, saved_chapters
from genesis_pipeline.services.narration import (
    add_voiceover,
    check_voiceover_offset,
    list_voiceovers,
    set_voiceover_gain,
)
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.chapters import Rules
from genesis_pipeline.store import Store

RATE = 48000
CHAPTER_VO_AT = 6.0  # override, seconds after chapter 1's start
WHOLE_VO_AT = 10.0  # on the cut: starts in chapter 1, runs into chapter 2


def _window(samples, a: float, b: float):
    return samples[int(a * RATE) : int(b * RATE)]


@pytest.fixture(scope="module")
def mix_project(tmp_path_factory: pytest.TempPathFactory, tone_footage, silent_footage):
    """Chapter 1 = the 12 s tone clip (steady 1 kHz bed), chapter 2 = the 6 s silent clip; a
    chapter voiceover on chapter 1 and a whole-cut voiceover that crosses into chapter 2."""
    home = tmp_path_factory.mktemp("narration-services")
    store = Store(Settings(home=home, caption_model=str(home / "no-model"), offline="1"))
    pid = create_project(store, "Narration", actor=ADMIN).id
    add_media(store, pid, [tone_footage.path, silent_footage.path], actor=ADMIN)
    save_rules(store, pid, Rules(min_chapter_s=5.0), actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    spans = [(c["start_s"], c["end_s"]) for c in saved_chapters(store, pid)]
    assert spans == [pytest.approx((0.0, 12.0), abs=0.05), pytest.approx((12.0, 18.0), abs=0.05)]
    short_wav, long_wav = home / "short.wav", home / "long.wav"
    speak("Short narration.", short_wav)
    speak("This is the narration for the chapter preview test.", long_wav)
    chapter_vo = add_voiceover(
        store, pid, short_wav, chapter_idx=0, offset_s=CHAPTER_VO_AT, actor=ADMIN
    )
    whole_vo = add_voiceover(store, pid, long_wav, offset_s=WHOLE_VO_AT, actor=ADMIN)
    assert whole_vo.duration_s > 12.0 - WHOLE_VO_AT + 0.5, "the whole-cut voiceover must cross"
    return store, pid, chapter_vo, whole_vo


def test_check_voiceover_offset(mix_project) -> None:
    store, pid, chapter_vo, whole_vo = mix_project
    assert check_voiceover_offset(store, pid, whole_vo.id, 5.0) == pytest.approx(5.0)
    # A chapter override counts from the chapter's start (chapter 1 starts at 0).
    assert check_voiceover_offset(store, pid, chapter_vo.id, 2.5) == pytest.approx(2.5)
    auto = check_voiceover_offset(store, pid, chapter_vo.id, None)
    assert auto is not None and 0.0 <= auto <= 12.0
    with pytest.raises(InvalidSettingError, match="outside the cut"):
        check_voiceover_offset(store, pid, whole_vo.id, 30.0)
    with pytest.raises(InvalidSettingError, match="0 or more"):
        check_voiceover_offset(store, pid, chapter_vo.id, -1.0)
    with pytest.raises(NotFoundError):
        check_voiceover_offset(store, pid, 9999, 1.0)
    # Nothing was saved.
    saved = {v.id: v.offset_s for v in list_voiceovers(store, pid)}
    assert saved == {chapter_vo.id: CHAPTER_VO_AT, whole_vo.id: WHOLE_VO_AT}


def test_preview_of_a_chapter_ducks_the_bed_where_narration_plays(
    mix_project, tone_footage
) -> None:
    store, pid, _chapter_vo, _whole_vo = mix_project
    path = preview_chapter_mix(store, pid, 0)
    info = probe(path)
    assert info.duration_s == pytest.approx(12.0, abs=0.05)
    assert (info.width, info.height) == (320, 180)  # not upscaled to 480
    assert info.has_audio
    audio = decode_audio(path, RATE)
    bed = tone_level_db(_window(audio, 1.5, 5.5), RATE, 1000.0)
    under_chapter_vo = tone_level_db(_window(audio, CHAPTER_VO_AT + 0.3, 7.1), RATE, 1000.0)
    under_whole_vo = tone_level_db(_window(audio, WHOLE_VO_AT + 0.3, 11.7), RATE, 1000.0)
    source = tone_level_db(_window(decode_audio(tone_footage.path, RATE), 1.5, 5.5), RATE, 1000.0)
    assert bed == pytest.approx(source, abs=1.0)  # bed gain 1: the tone as it was
    assert bed - under_chapter_vo > 6.0, (bed, under_chapter_vo)
    assert bed - under_whole_vo > 6.0, (bed, under_whole_vo)
    # Unchanged inputs: the cached file is reused, not rendered again.
    mtime = path.stat().st_mtime_ns
    assert preview_chapter_mix(store, pid, 0) == path
    assert path.stat().st_mtime_ns == mtime


def test_a_preview_is_found_only_for_the_same_inputs(mix_project) -> None:
    store, pid, chapter_vo, _whole_vo = mix_project
    path = preview_chapter_mix(store, pid, 0)
    plan = plan_chapter_preview(store, pid, 0)
    assert (plan.chapter_idx, plan.project_id) == (0, pid)
    assert find_chapter_preview(store, plan) == path
    assert find_chapter_preview(store, plan_chapter_preview(store, pid, 0, width=160)) is None
    set_voiceover_gain(store, pid, chapter_vo.id, 0.25, actor=ADMIN)
    try:
        louder = plan_chapter_preview(store, pid, 0)
        assert louder.key != plan.key and find_chapter_preview(store, louder) is None
    finally:
        set_voiceover_gain(store, pid, chapter_vo.id, 1.0, actor=ADMIN)
    assert find_chapter_preview(store, plan_chapter_preview(store, pid, 0)) == path


def test_preview_trims_narration_that_began_in_an_earlier_chapter(mix_project) -> None:
    store, pid, _chapter_vo, whole_vo = mix_project
    path = preview_chapter_mix(store, pid, 1)
    assert probe(path).duration_s == pytest.approx(6.0, abs=0.05)
    audio = decode_audio(path, RATE)
    tail = whole_vo.duration_s - (12.0 - WHOLE_VO_AT)  # what is left after the chapter start
    voice = store.absolute(whole_vo.path)
    original = decode_audio(voice, RATE)
    # The silent clip has no bed: the only sound is the last ``tail`` seconds of the voiceover.
    assert rms_db(_window(audio, 0.05, tail - 0.4)) > -45.0
    assert rms_db(_window(audio, tail + 0.3, 5.9)) < -70.0
    expected = rms_db(original[-int(tail * RATE) : -int(0.4 * RATE)])
    assert rms_db(_window(audio, 0.0, tail - 0.4)) == pytest.approx(expected, abs=3.0)


def test_preview_follows_gain_and_reports_errors(mix_project, tmp_path: Path) -> None:
    store, pid, chapter_vo, _whole_vo = mix_project
    first = preview_chapter_mix(store, pid, 0)
    set_voiceover_gain(store, pid, chapter_vo.id, 0.5, actor=ADMIN)
    try:
        assert preview_chapter_mix(store, pid, 0) != first  # new inputs, new preview
    finally:
        set_voiceover_gain(store, pid, chapter_vo.id, 1.0, actor=ADMIN)
    assert preview_chapter_mix(store, pid, 0) == first
    with pytest.raises(NotFoundError, match="chapter 8"):
        preview_chapter_mix(store, pid, 7)
    wav = store.absolute(chapter_vo.path)
    moved = tmp_path / "moved.wav"
    wav.rename(moved)
    try:
        with pytest.raises(InvalidMediaError, match="missing"):
            preview_chapter_mix(store, pid, 0)
    finally:
        moved.rename(wav)
