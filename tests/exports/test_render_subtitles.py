"""Subtitles in the render, against ground truth: a voiceover's words at the narration's offset
(the voiceover transcribed on its own, the render's subtitle track read back, the render
transcribed again), and burned-in text exactly where the cues are (frames compared with a
render without it)."""

from __future__ import annotations

import difflib
import re
import statistics
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
from support.actors import ADMIN
from support.metrics import normalise

from genesis_pipeline.config import Settings
from genesis_pipeline.media.ffmpeg import ffmpeg_exe
from genesis_pipeline.media.synth import speak
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.exports import cut_cues, load_project_cut
from genesis_pipeline.services.narration import add_voiceover
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.render_settings import (
    get_render_mode,
    get_render_subtitles,
    render_key,
)
from genesis_pipeline.services.render_view import render_history
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.exports.cues import Cue
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow

NARRATION = "The boats come back to the harbour at noon, and the gulls follow them in."
VO_AT = 1.0  # where the narration starts on the cut, seconds


@pytest.fixture(scope="module")
def narrated(tmp_path_factory: pytest.TempPathFactory, silent_footage):
    """Silent footage (two scenes, 6 s) with a voiceover at ``VO_AT``: every word of its
    subtitles is the narration's. Rendered three ways: re-encoded with a soft subtitle track,
    then (the project's mode smart) with subtitles burned in, then without subtitles."""
    home = tmp_path_factory.mktemp("render-subtitles")
    store = Store(Settings(home=home, caption_model=str(home / "no-model"), offline="1"))
    pid = create_project(store, "Narrated", actor=ADMIN).id
    add_media(store, pid, [silent_footage.path], actor=ADMIN)
    vo = home / "narration.wav"
    speak(NARRATION, vo, words_per_minute=140)
    add_voiceover(store, pid, vo, offset_s=VO_AT, actor=ADMIN)
    service = ProjectPipelineService(store)
    renders, reports = {}, {}
    for name, mode, subtitles in (
        ("soft", "reencode", "soft"),
        ("burned", "smart", "burned"),
        ("off", "reencode", "off"),
    ):
        report = service.run(pid, RunOptions(render_mode=mode, subtitles=subtitles))
        assert report.status == "succeeded", report.error
        assert report.render_path
        renders[name] = Path(report.render_path)
        reports[name] = next(d for d in report.step_details if d["step"] == "render")
    return store, pid, vo, renders, reports


def read_track(path: Path) -> list[Cue]:
    """The render's soft subtitle track, read back by ffmpeg as SubRip."""
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:s:0", "-f", "srt", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cues = []
    for block in out.strip().split("\n\n"):
        lines = block.splitlines()
        m = re.match(r"(\d+):(\d+):(\d+),(\d+) --> (\d+):(\d+):(\d+),(\d+)", lines[1])
        assert m, block
        v = [int(x) for x in m.groups()]
        start = v[0] * 3600 + v[1] * 60 + v[2] + v[3] / 1000
        end = v[4] * 3600 + v[5] * 60 + v[6] + v[7] / 1000
        cues.append(Cue(start, end, tuple(lines[2:]), 0))
    return cues


def whisper_words(path: Path):
    from genesis_pipeline.ml.device import plan_devices
    from genesis_pipeline.ml.whisper import load_whisper, resolve_whisper_model
    from genesis_pipeline.stages.transcribe import transcribe

    model = load_whisper(resolve_whisper_model("", "1"), plan_devices("cpu"))
    return transcribe(path, model).words


def aligned(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Index pairs of the words two texts share, in order (aligned by their text)."""
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    return [(m.a + k, m.b + k) for m in blocks for k in range(m.size)]


def test_narration_subtitles_at_the_offset(narrated) -> None:
    store, pid, vo, renders, _ = narrated
    track = read_track(renders["soft"])
    # The voiceover transcribed on its own, moved to where the narration starts on the cut.
    heard = whisper_words(vo)
    truth = [(normalise(w.word), VO_AT + w.start, VO_AT + w.end) for w in heard]
    shown = [(normalise(t), c) for c in track for t in c.text.split()]
    pairs = aligned([t for t, *_ in truth], [t for t, _ in shown])
    # The narration's words are the subtitles' words.
    script = normalise(NARRATION).split()
    said = [t for t, _ in shown]
    assert len(aligned(script, said)) >= 0.8 * len(script), (script, said)
    assert len(pairs) >= 0.9 * len(truth), (truth, said)
    # Each cue starts with its first word and ends with its last (held on to 1 s at most when
    # nothing follows), on the cut's clock: the narration's offset plus the word's own time.
    firsts = {id(shown[j][1]): i for i, j in reversed(pairs)}
    errors = [abs(c.start_s - truth[firsts[id(c)]][1]) for c in track if id(c) in firsts]
    median = statistics.median(errors)
    print(f"narration cues from the render's track vs the voiceover's words + {VO_AT} s: "
          f"start error median {1000 * median:.0f} ms, max {1000 * max(errors):.0f} ms "
          f"over {len(errors)} cues")  # fmt: skip
    assert median <= 0.1, errors
    assert track[0].start_s >= VO_AT - 0.05
    # The render itself transcribed: the narration is heard where its cues show it.
    again = whisper_words(renders["soft"])
    pc = load_project_cut(store, pid)
    cues = cut_cues(store, pc, [])
    assert cues == [], "silent footage: only the narration has words"
    words = [(normalise(w.word), w.start) for w in again]
    pairs = aligned([t for t, *_ in truth], [t for t, _ in words])
    errors = [abs(words[j][1] - truth[i][1]) for i, j in pairs]
    inside = sum(
        any(c.start_s - 0.1 <= words[j][1] <= c.end_s for c in track if words[j][0] in
            normalise(c.text).split())
        for _, j in pairs
    )  # fmt: skip
    print(f"the render transcribed again vs the voiceover's words + {VO_AT} s: median "
          f"{1000 * statistics.median(errors):.0f} ms over {len(pairs)} words, "
          f"{inside} inside the cue that shows them")  # fmt: skip
    assert statistics.median(errors) <= 0.1, errors
    assert inside >= 0.9 * len(pairs)


def gray_frames(path: Path) -> tuple[np.ndarray, float]:
    """Every picture's luma (frames × height × width) and the frame rate."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        rate = float(stream.average_rate or 25)
        frames = [f.to_ndarray(format="gray").astype(np.int16) for f in c.decode(stream)]
    return np.stack(frames), rate


def test_burned_in_text_where_the_cues_are(narrated) -> None:
    store, pid, _vo, renders, reports = narrated
    # The project renders smart; burned-in text changed every picture, and the note says so.
    assert get_render_mode(store, pid) == "reencode"  # the last run's choice
    note = reports["burned"]["note"]
    assert note.startswith("subtitles burned in: full re-encode instead of smart"), note
    assert reports["burned"]["counts"]["frames_copied"] == 0
    history = {Path(h.path).name: h for h in render_history(store, pid)}
    assert history[renders["burned"].name].subtitles == "burned"
    assert history[renders["burned"].name].mode == "reencode"
    with av.open(str(renders["burned"])) as c:
        assert not c.streams.subtitles, "burned in, not a track"
        assert [ch["metadata"]["title"] for ch in c.chapters()] == [
            ch.title for ch in load_cut(store, pid).chapters
        ]
    burned, rate = gray_frames(renders["burned"])
    plain, _ = gray_frames(renders["off"])
    assert burned.shape == plain.shape
    cues = read_track(renders["soft"])
    assert cues
    # Text: luma far from the picture without it (white letters, black outlines).
    changed = (np.abs(burned - plain) > 64).sum(axis=(1, 2))
    frame_s = 1 / rate
    inside = [
        i
        for i in range(len(changed))
        if any(c.start_s + frame_s <= i * frame_s <= c.end_s - frame_s for c in cues)
    ]
    outside = [i for i in range(len(changed))
               if all(i * frame_s < c.start_s - frame_s or i * frame_s > c.end_s + frame_s
                      for c in cues)]  # fmt: skip
    assert inside and outside
    h = burned.shape[1]
    rows = np.nonzero((np.abs(burned - plain) > 64)[inside].any(axis=(0, 2)))[0]
    print(f"burned in: {len(inside)} frames inside cues change {int(np.min(changed[inside]))}-"
          f"{int(np.max(changed[inside]))} pixels (rows {rows.min()}-{rows.max()} of {h}); "
          f"{len(outside)} frames outside cues change at most "
          f"{int(np.max(changed[outside]))}")  # fmt: skip
    assert np.min(changed[inside]) >= 100, changed[inside]
    assert np.max(changed[outside]) <= 3, changed[outside]
    # To the frame: text on exactly the pictures shown while a cue is (start <= t < end).
    shows = changed >= 100
    due = np.array(
        [any(c.start_s <= i * frame_s < c.end_s for c in cues) for i in range(len(changed))]
    )
    assert not np.any(shows != due), np.nonzero(shows != due)
    assert rows.min() >= h // 2, "subtitles sit in the lower half of the picture"


def test_the_render_key_follows_the_subtitles(narrated) -> None:
    store, pid, _vo, _renders, _ = narrated
    assert get_render_subtitles(store, pid) == "off"
    history = render_history(store, pid)
    assert len({h.cache_key for h in history}) == 3
    assert history[0].cache_key == render_key(store, pid)  # the app's "current" check agrees
    # A render with subtitles depends on the model that heard their words.
    from genesis_pipeline.services.narration import list_voiceovers, narration_clips
    from genesis_pipeline.services.render_settings import (
        render_cache_key,
        render_params,
        transcription_models,
    )

    cut = load_cut(store, pid)
    clips, _ = narration_clips(store, cut, list_voiceovers(store, pid))
    params = render_params(store, pid, clips)
    models = transcription_models(store, pid, cut, clips)
    assert models and all("tiny.en" in m or "voiceovers:" in m for m in models), models
    soft = render_cache_key(params, cut, clips, "soft", models)
    assert soft != render_cache_key(params, cut, clips, "soft", ("voiceovers:large-v3",))
    assert render_cache_key(params, cut, clips, "off", models) == render_cache_key(
        params, cut, clips, "off", ("voiceovers:large-v3",)
    )
