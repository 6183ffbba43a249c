"""Render page, Export section: a download for every format, the chapter list with YouTube's
verdict, the first cues (the narration's words too), the subtitle choice for the render kept
like the page's other settings, and the timeline import that reports before it applies."""

from __future__ import annotations

import opentimelineio as otio
from support.actors import ADMIN
from support.apptest import assert_no_exception, texts

from genesis_pipeline.runs.exports import export_project, preview_exports
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.exports import EXPORT_FORMATS
from genesis_pipeline.services.render_settings import (
    get_render_mode,
    get_render_subtitles,
    set_render_subtitles,
)
from genesis_pipeline.services.review import reset_reviews

RENDER = "views/render.py"


def frame(at, column: str):
    """The page's first table with ``column`` (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_a_download_for_every_format_and_the_previews(make_app, app_project) -> None:
    store, pid = app_project
    at = make_app(RENDER, timeout=120)
    assert_no_exception(at)
    buttons = {b.proto.label: b for b in at.get("download_button")}
    for fmt, spec in EXPORT_FORMATS.items():
        assert spec.short in buttons, (fmt, list(buttons))
        # Built on click (the browser test downloads each one and reads its bytes).
        proto = buttons[spec.short].proto
        assert proto.disabled or proto.HasField("deferred_file_id"), fmt

    preview = preview_exports(store, pid)
    cut = load_cut(store, pid)
    chapters = frame(at, "title")
    assert chapters["title"].tolist() == [c.title for c in cut.chapters]
    page = texts(at)
    assert f"**Chapters** · {len(cut.chapters)} on a {cut.duration_s:.1f} s cut" in page
    # YouTube's verdict, as the service gives it: the broken rules named, and the merge (or
    # why there is none).
    check = preview.youtube
    if check.valid:
        assert "Meets YouTube's chapter rules" in page
    else:
        assert all(problem in page for problem in check.problems), (check.problems, page)
        if check.merged is None:
            assert "No merge of them meets YouTube's rules" in page
            assert buttons["Chapters · YouTube"].proto.disabled
        else:
            assert f"The nearest valid merge, {len(check.merged)} chapters" in page
            assert at.code[0].value == preview.youtube_block
    # The first cues, on the cut's clock, the narration's words among them.
    assert at.code[-1].value == preview.cues_srt.rstrip("\n")  # st.code trims the end
    assert preview.cues_srt.startswith("1\n00:00:")
    assert preview.cues_srt.count(" --> ") == len(preview.cues) == min(6, preview.cue_count)
    assert preview.narration_words > 0
    assert f"**Subtitles** · {preview.cue_count} cues, {preview.narration_words} of the " in page
    # "Narration for the app tests." at 1.0 s: its cue is one of the narration's blocks.
    narrated = [c for c in preview.cues if c.block >= len(cut.segments)]
    assert narrated and "app test" in narrated[0].text.lower(), preview.cues
    assert narrated[0].start_s >= 1.0


def test_subtitle_choice_is_saved_and_kept(make_app, app_project) -> None:
    store, pid = app_project
    at = make_app(RENDER, timeout=120)
    radio = at.radio(key=f"render_subtitles_{pid}")
    assert radio.value == "off"
    assert list(radio.options) == [
        "off",
        "soft track (viewers switch it on)",
        "burned into the picture",
    ]
    try:
        radio.set_value("burned").run()
        assert_no_exception(at)
        assert get_render_subtitles(store, pid) == "burned"
        if get_render_mode(store, pid) == "smart":
            assert "this render will be a full re-encode" in texts(at)
        assert "or subtitles changed since the latest render" in texts(at)
        # Kept after a look at another page; follows a save made elsewhere (CLI, another tab).
        at.switch_page("views/projects.py").run()
        at.switch_page(RENDER).run()
        assert at.radio(key=f"render_subtitles_{pid}").value == "burned"
        set_render_subtitles(store, pid, "soft", actor=ADMIN)
        at.run()
        assert at.radio(key=f"render_subtitles_{pid}").value == "soft"
    finally:
        set_render_subtitles(store, pid, "off", actor=ADMIN)
    at.run()
    assert "matches the approved cut" in texts(at)


def test_timeline_import_reports_then_applies(make_app, app_project, tmp_path) -> None:
    store, pid = app_project
    before = load_cut(store, pid).scene_ids
    assert len(before) >= 3
    timeline = otio.adapters.read_from_string(export_project(store, pid, "otio").text, "otio_json")
    track = timeline.video_tracks()[0]
    clips = [i for i, item in enumerate(track) if isinstance(item, otio.schema.Clip)]
    for i in (clips[2], clips[0]):
        del track[i]
    edited = otio.adapters.write_to_string(timeline, "otio_json").encode()
    removed = {before[0], before[2]}

    at = make_app(RENDER, timeout=120)
    try:
        at.file_uploader(key="timeline_file_0").upload("edited.otio", edited, "application/json")
        at.run()
        assert_no_exception(at)
        changes = frame(at, "becomes")
        assert set(changes["scene"]) == removed
        assert set(changes["becomes"]) == {"rejected"}
        assert "nothing changed yet" in texts(at)
        assert load_cut(store, pid).scene_ids == before  # only a report so far
        apply = at.button(key="timeline_apply")
        assert apply.label == "Apply: reject 2, approve 0"
        apply.click().run()
        assert_no_exception(at)
        assert set(load_cut(store, pid).scene_ids) == set(before) - removed
        assert "Imported edited.otio: 2 scenes rejected, 0 approved" in texts(at)
        # The uploader starts empty again: no second apply of the same file.
        assert [u.key for u in at.file_uploader] == ["timeline_file_1"]
        assert not [b for b in at.button if b.key == "timeline_apply"]
        # A file that is no timeline: one line why, nothing changed.
        at.file_uploader(key="timeline_file_1").upload("notes.otio", b"not json", "text/plain")
        at.run()
        assert_no_exception(at)
        assert "The timeline cannot be imported" in " ".join(e.value for e in at.error)
    finally:
        reset_reviews(store, pid, actor=ADMIN)
