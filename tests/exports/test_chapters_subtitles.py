"""Chapters and subtitles that reach the output, against ground truth: the generated footage's
known script, the render read back with PyAV and transcribed again."""

from __future__ import annotations

import difflib
import re
import statistics
from pathlib import Path

import av
import pytest
from support.actors import ADMIN
from support.metrics import normalise

from genesis_pipeline.config import Settings
from genesis_pipeline.media.synth import DEFAULT_SCRIPT
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.chapters import save_rules
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.exports import (
    build_export,
    cut_cues,
    cut_words,
    load_project_cut,
    youtube_check,
)
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.render_settings import set_render_mode, set_render_subtitles
from genesis_pipeline.services.review import set_scene_status
from genesis_pipeline.services.status import project_status
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.chapters import Rules
from genesis_pipeline.stages.exports.chapters import ChapterMark, check_youtube, youtube_block
from genesis_pipeline.stages.exports.cues import (
    Block,
    Cue,
    CueParams,
    CutWord,
    layout_cues,
    one_at_a_time,
    wrap,
)
from genesis_pipeline.stages.render.plan import plan_cut
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, footage):
    home = tmp_path_factory.mktemp("exports-home")
    store = Store(Settings(home=home, offline="1"))
    pid = create_project(store, "Exports", actor=ADMIN).id
    add_media(store, pid, [footage.path], actor=ADMIN)
    service = ProjectPipelineService(store)
    assert service.run(pid, RunOptions(render=False)).status == "succeeded"
    save_rules(store, pid, Rules(min_chapter_s=2.0, max_chapter_s=8.0), actor=ADMIN)
    scenes = project_status(store, pid, include_words=False)["scenes"]
    set_scene_status(store, pid, [scenes[1]["id"]], "rejected", actor=ADMIN)
    set_render_subtitles(store, pid, "soft", actor=ADMIN)
    renders = {}
    for mode in ("smart", "reencode"):
        set_render_mode(store, pid, mode, actor=ADMIN)
        report = service.run(pid, RunOptions())
        assert report.status == "succeeded", report.error
        assert report.render_path
        renders[mode] = Path(report.render_path)
    return store, pid, renders


@pytest.mark.parametrize("mode", ["smart", "reencode"])
def test_chapters_in_the_mp4_within_a_frame(project, mode: str) -> None:
    store, pid, renders = project
    cut = load_cut(store, pid)
    plan = plan_cut(list(cut.segments))
    frame = 1 / float(plan.rate)
    with av.open(str(renders[mode])) as c:
        chapters = c.chapters()
        kinds = sorted(s.type for s in c.streams)
    assert len(cut.chapters) >= 2
    assert [ch["metadata"]["title"] for ch in chapters] == [c.title for c in cut.chapters]
    errors = []
    for got, want in zip(chapters, cut.chapters, strict=True):
        tb = got["time_base"]
        assert tb is not None
        errors += [float(got["start"] * tb) - want.start_s, float(got["end"] * tb) - want.end_s]
    assert max(abs(e) for e in errors) <= frame, errors
    print(f"{mode}: chapter times off the plan by at most {1000 * max(map(abs, errors)):.1f} ms")
    assert "subtitle" in kinds  # the soft track (mov_text)


def test_subtitles_follow_the_cut_and_the_script(project) -> None:
    store, pid, _renders = project
    pc = load_project_cut(store, pid)
    cues = cut_cues(store, pc)
    starts = [0.0]
    for seg in pc.cut.segments:
        starts.append(starts[-1] + seg.duration_s)
    script = set(normalise(DEFAULT_SCRIPT).split())
    said = []
    for cue in cues:
        # No cue across a cut: each lies inside one kept scene.
        k = cue.block
        assert starts[k] - 1e-3 <= cue.start_s < cue.end_s <= starts[k + 1] + 1e-3, cue
        assert len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines), cue
        assert cue.end_s - cue.start_s <= 7.0 + 1e-6
        said += normalise(cue.text).split()
    # The words come from the known script (tiny.en mishears a few names).
    assert sum(w in script for w in said) / len(said) >= 0.8, said
    # Words of the rejected scene (3.0-6.6 s of the source) are not there.
    text = build_export(store, pid, "srt").text
    assert "uploads the clips" not in text and "transcribes every word" in text
    # Words of uncertain timing are underlined (a span per run); unmarked, the same file plain.
    words, _blocks = cut_words(store, pc)
    underlined = " ".join(re.findall(r"<u>(.*?)</u>", text)).split()
    assert len(underlined) == sum(len(w.text.split()) for w in words if w.uncertain)
    plain = build_export(store, pid, "srt", cue_params=CueParams(mark_uncertain=False)).text
    assert plain == text.replace("<u>", "").replace("</u>", "")


def test_subtitles_match_the_render_transcribed_again(project) -> None:
    from genesis_pipeline.ml.device import plan_devices
    from genesis_pipeline.ml.whisper import load_whisper, resolve_whisper_model
    from genesis_pipeline.stages.transcribe import transcribe

    store, pid, renders = project
    pc = load_project_cut(store, pid)
    cues = cut_cues(store, pc)
    words, _blocks = cut_words(store, pc)
    model = load_whisper(resolve_whisper_model("", "1"), plan_devices("cpu"))
    heard = transcribe(renders["reencode"], model).words
    # The render's words aligned to the cut's words by their text.
    a = [normalise(w.text) for w in words]
    b = [normalise(w.word) for w in heard]
    pairs = [
        (words[m.a + k], heard[m.b + k])
        for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        for k in range(m.size)
    ]
    assert len(pairs) >= 0.7 * len(words), (len(pairs), len(words))
    errors = [abs(h.start - w.start_s) for w, h in pairs]
    median = statistics.median(errors)
    # Each word heard in the render lies in the cue that shows it.
    inside = sum(
        any(c.start_s - 0.1 <= h.start <= c.end_s and w.text in c.text.split() for c in cues)
        for w, h in pairs
    )
    print(f"word starts, render transcribed vs the cues' words: median {1000 * median:.0f} ms, "
          f"max {1000 * max(errors):.0f} ms over {len(pairs)} words; "
          f"{inside} of {len(pairs)} inside their cue")  # fmt: skip
    assert median <= 0.1, errors
    assert inside >= 0.9 * len(pairs)
    # The soft track in the render holds the same cues.
    with av.open(str(renders["smart"])) as c:
        stream = c.streams.subtitles[0]
        # mov_text writes an empty sample (2 bytes) for each gap between cues.
        packets = [p for p in c.demux(stream) if p.size and p.size > 2]
    assert len(packets) == len(cues)


def test_youtube_rules_on_the_project(project) -> None:
    store, pid, _ = project
    check = youtube_check(load_project_cut(store, pid))
    # A 17 s cut cannot hold three chapters of 10 s: the rule named, no merge offered.
    assert not check.valid and check.merged is None
    assert any("at least" in p for p in check.problems), check.problems
    from genesis_pipeline.errors import InvalidSettingError

    with pytest.raises(InvalidSettingError, match="YouTube"):
        build_export(store, pid, "chapters-youtube")
    vtt = build_export(store, pid, "chapters-vtt").text
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == len(load_cut(store, pid).chapters)


def test_youtube_rules_and_the_nearest_valid_merge() -> None:
    chapters = [
        ChapterMark("Intro", 0.4, 4.0),
        ChapterMark("Harbour", 4.0, 30.0),
        ChapterMark("Boats", 30.0, 45.5),
        ChapterMark("Gulls", 45.5, 50.0),
        ChapterMark("Sunset", 50.0, 72.0),
    ]
    check = check_youtube(chapters, 72.0)
    assert check.problems == (
        "each chapter at least 10 s: 1 'Intro' (4 s), 4 'Gulls' (5 s) are shorter",
    )
    assert check.merged is not None
    assert [(c.title, c.start_s) for c in check.merged] == [
        ("Harbour", 0.0),
        ("Boats", 30.0),  # Gulls joined Boats, its shorter neighbour
        ("Sunset", 50.0),
    ]
    assert youtube_block(check.merged) == "0:00 Harbour\n0:30 Boats\n0:50 Sunset\n"
    assert check_youtube(check.merged, 72.0).valid
    late = check_youtube([ChapterMark("A", 2, 20), ChapterMark("B", 20, 40),
                          ChapterMark("C", 40, 60)], 60.0)  # fmt: skip
    assert late.problems == ("the first chapter starts at 0:00: it starts at 0:02",)
    assert late.merged is not None and late.merged[0].start_s == 0.0


def test_cue_layout_rules() -> None:
    text = (
        "So here we are, at the harbour in the early morning light, and the boats are going "
        "out. Gulls."
    )
    words = [CutWord(w, 0.3 * i, 0.3 * i + 0.25, 0) for i, w in enumerate(text.split(" "))]
    words += [CutWord("Next", 6.0, 6.3, 1)]
    cues = layout_cues(words, [Block(0.0, 6.0), Block(6.0, 9.0)], CueParams())
    assert all(len(c.lines) <= 2 and max(map(len, c.lines)) <= 42 for c in cues)
    # "Gulls." alone would be an orphan: it joins the cue before it.
    assert all(len(c.text.split(" ")) > 1 for c in cues if c.block == 0)
    assert cues[-1].text == "Next" and cues[-1].start_s == 6.0 and cues[-1].end_s <= 9.0
    assert cues[-1].end_s - cues[-1].start_s >= 1.0  # held to the shortest cue
    assert all(c.end_s <= 6.0 for c in cues[:-1])  # nothing crosses the cut at 6 s
    numbers = "one two three four five six seven eight nine ten eleven"
    lines = wrap(numbers.split(" "), 42, 2)
    assert lines is not None and len(lines) == 2 and max(map(len, lines)) <= 30, lines  # balanced
    assert wrap(["x" * 50], 42, 2) is None


def test_overlapping_cues_one_at_a_time() -> None:
    """A soft track shows one sample at a time: narration over a scene's speech shows both."""
    narration = Cue(0.0, 1.96, ("Narration one",), 5)
    scene = Cue(0.11, 2.85, ("Scene words", "and more"), 0)
    alone = Cue(3.0, 4.0, ("Third",), 1)
    assert one_at_a_time([scene, alone, narration]) == [
        Cue(0.0, 0.11, ("Narration one",), 5),
        Cue(0.11, 1.96, ("Narration one", "Scene words", "and more"), 5),
        Cue(1.96, 2.85, ("Scene words", "and more"), 0),
        Cue(3.0, 4.0, ("Third",), 1),
    ]
    assert one_at_a_time([alone]) == [alone] and one_at_a_time([]) == []
    # Back to back, the same lines: one cue.
    assert one_at_a_time([Cue(0, 1, ("a",), 0), Cue(1, 2, ("a",), 1)]) == [Cue(0, 2, ("a",), 0)]
