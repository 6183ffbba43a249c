"""Narration page: offsets, gains and the mix persist; bad values are refused with a message;
a chapter preview renders and plays."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.actors import ADMIN
from support.apptest import assert_no_exception, texts

from genesis_pipeline.media.probe import probe
from genesis_pipeline.media.synth import speak
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.chapter_preview import preview_chapter_mix
from genesis_pipeline.services.chapters import current_rules, save_rules
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.narration import (
    get_mix,
    list_voiceovers,
    remove_voiceover,
    set_mix,
    set_voiceover_gain,
    set_voiceover_offset,
)


@pytest.fixture()
def whole_vo(app_project):
    """The fixture project's whole-cut voiceover, put back as it was after the test."""
    store, pid = app_project
    vo = next(v for v in list_voiceovers(store, pid) if v.chapter_idx is None)
    mix = get_mix(store, pid)
    yield vo
    set_voiceover_offset(store, pid, vo.id, vo.offset_s, actor=ADMIN)
    set_voiceover_gain(store, pid, vo.id, vo.gain, actor=ADMIN)
    set_mix(store, pid, voiceover_gain=mix.voiceover_gain, bed_gain=mix.bed_gain, actor=ADMIN)


def test_offset_gain_and_mix_persist(make_app, app_project, whole_vo) -> None:
    store, pid = app_project
    at = make_app("views/narration.py")
    assert_no_exception(at)
    assert at.get("plotly_chart"), "no narration timeline"
    assert at.number_input(key=f"vo_offset_{whole_vo.id}").value == pytest.approx(whole_vo.offset_s)

    at.number_input(key=f"vo_offset_{whole_vo.id}").set_value(2.5)
    at.number_input(key=f"vo_gain_{whole_vo.id}").set_value(0.7)
    at.button(key=f"vo_apply_{whole_vo.id}").click().run()
    assert_no_exception(at)
    after = next(v for v in list_voiceovers(store, pid) if v.id == whole_vo.id)
    assert (after.offset_s, after.gain) == pytest.approx((2.5, 0.7))
    assert f"Updated {whole_vo.original_name}" in texts(at)
    starts = next(m.value for m in at.metric if m.label == "Starts on the cut")
    assert starts == "2.50 s"

    at.number_input(key="narr_gain").set_value(0.8)
    at.number_input(key="narr_bed_gain").set_value(0.5)
    at.button(key="narr_mix_apply").click().run()
    assert_no_exception(at)
    mix = get_mix(store, pid)
    assert (mix.voiceover_gain, mix.bed_gain) == pytest.approx((0.8, 0.5))
    assert at.number_input(key="narr_bed_gain").value == pytest.approx(0.5)


def test_bad_values_show_messages_and_change_nothing(
    make_app, app_project, whole_vo, silent_footage
) -> None:
    store, pid = app_project
    cut_s = load_cut(store, pid).duration_s
    at = make_app("views/narration.py")

    at.number_input(key=f"vo_offset_{whole_vo.id}").set_value(cut_s + 50)
    at.button(key=f"vo_apply_{whole_vo.id}").click().run()
    assert_no_exception(at)
    assert "outside the cut" in " ".join(e.value for e in at.error)

    at.number_input(key=f"vo_offset_{whole_vo.id}").set_value(float(whole_vo.offset_s or 0))
    at.number_input(key=f"vo_gain_{whole_vo.id}").set_value(-1.0)
    at.button(key=f"vo_apply_{whole_vo.id}").click().run()
    assert "gain" in " ".join(e.value for e in at.error)
    now = next(v for v in list_voiceovers(store, pid) if v.id == whole_vo.id)
    assert (now.offset_s, now.gain) == (whole_vo.offset_s, whole_vo.gain)

    at.number_input(key="narr_bed_gain").set_value(-2.0)
    at.button(key="narr_mix_apply").click().run()
    assert "bed gain" in " ".join(e.value for e in at.error)
    assert get_mix(store, pid).bed_gain >= 0

    # A video with no sound cannot be a voiceover.
    before = [v.id for v in list_voiceovers(store, pid)]
    at.file_uploader(key=f"narr_upload_{at.session_state['narr_upload_nonce']}").upload(
        "silent.mp4", silent_footage.path.read_bytes(), "video/mp4"
    )
    at.button(key="narr_add").click().run()
    assert_no_exception(at)
    message = " ".join(e.value for e in at.error)
    assert "silent.mp4" in message and "no audio" in message
    assert [v.id for v in list_voiceovers(store, pid)] == before


def test_chapter_preview_renders_and_plays(make_app, app_project) -> None:
    store, pid = app_project
    chapter = load_cut(store, pid).chapters[0]
    at = make_app("views/narration.py")
    at.selectbox(key="narr_preview_chapter").set_value(chapter.index)
    at.button(key="narr_preview").click().run()
    assert_no_exception(at)
    assert not at.error
    path = preview_chapter_mix(store, pid, chapter.index)  # the cached file, not a new render
    info = probe(path)
    assert info.duration_s == pytest.approx(chapter.end_s - chapter.start_s, abs=0.05)
    assert info.has_audio and info.width is not None and info.width <= 480
    assert [v.proto.url for v in at.get("video")], "the preview is not played"
    assert f"Preview of Chapter {chapter.index + 1}" in texts(at)


def test_chapter_preview_follows_new_chapter_rules(make_app, app_project) -> None:
    """A preview made before the chapters changed is not shown as the chapter's preview."""
    store, pid = app_project
    _version, rules = current_rules(store, pid)
    before = load_cut(store, pid).chapters[0]
    at = make_app("views/narration.py")
    at.selectbox(key="narr_preview_chapter").set_value(0)
    at.button(key="narr_preview").click().run()
    assert at.get("video") and "Preview of Chapter 1" in texts(at)
    try:
        # New rules make more, shorter chapters; the next run applies them.
        save_rules(store, pid, replace(rules, min_chapter_s=1.0, pause_split_s=0.3), actor=ADMIN)
        assert ProjectPipelineService(store).run(pid, RunOptions(render=False)).status == (
            "succeeded"
        )
        after = load_cut(store, pid).chapters[0]
        assert after.end_s < before.end_s - 1.0
        at.run()
        assert_no_exception(at)
        assert not at.get("video"), "the old chapter 1's preview is still shown"
        at.button(key="narr_preview").click().run()
        assert_no_exception(at)
        assert at.get("video") and "Preview of Chapter 1" in texts(at)
        shown = probe(preview_chapter_mix(store, pid, 0))
        assert shown.duration_s == pytest.approx(after.end_s - after.start_s, abs=0.05)
    finally:
        save_rules(store, pid, rules, note="restored by test", actor=ADMIN)
        ProjectPipelineService(store).run(pid, RunOptions(render=False))
    again = load_cut(store, pid).chapters[0]
    assert (again.title, again.start_s, again.end_s) == (before.title, before.start_s, before.end_s)


def test_chapter_voiceover_upload_override_auto_and_remove(make_app, app_project, tmp_path) -> None:
    store, pid = app_project
    chapter = load_cut(store, pid).chapters[0]
    wav = tmp_path / "chapter-one.wav"
    speak("The first chapter.", wav)
    at = make_app("views/narration.py")
    at.file_uploader(key=f"narr_upload_{at.session_state['narr_upload_nonce']}").upload(
        "chapter-one.wav", wav.read_bytes(), "audio/wav"
    )
    at.selectbox(key="narr_target").set_value(chapter.index)
    at.button(key="narr_add").click().run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    added = next(v for v in list_voiceovers(store, pid) if v.chapter_idx == chapter.index)
    try:
        assert added.original_name == "chapter-one.wav" and added.offset_s is None
        assert "Chapter 1" in texts(at)
        # Automatic placement: the box shows the automatic start, counted from the chapter.
        auto = at.number_input(key=f"vo_offset_{added.id}").value
        assert chapter.start_s <= chapter.start_s + auto <= chapter.end_s
        at.number_input(key=f"vo_offset_{added.id}").set_value(3.0)
        at.button(key=f"vo_apply_{added.id}").click().run()
        assert next(v for v in list_voiceovers(store, pid) if v.id == added.id).offset_s == 3.0
        at.button(key=f"vo_auto_{added.id}").click().run()
        assert_no_exception(at)
        assert next(v for v in list_voiceovers(store, pid) if v.id == added.id).offset_s is None
        at.button(key=f"vo_remove_{added.id}").click().run()
        assert_no_exception(at)
        assert added.id not in [v.id for v in list_voiceovers(store, pid)]
    finally:
        if added.id in [v.id for v in list_voiceovers(store, pid)]:
            remove_voiceover(store, pid, added.id, actor=ADMIN)
