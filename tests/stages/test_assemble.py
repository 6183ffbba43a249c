"""Assembly: real renders of generated footage, measured against the sources they came from."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, MediaToolError
from genesis_pipeline.media import ffmpeg as ffmpeg_mod
from genesis_pipeline.media import filtergraph
from genesis_pipeline.media.audio_analysis import decode_audio, rms_db, tone_level_db
from genesis_pipeline.media.synth import Footage, Shot, make_footage, scene_frames, speak
from genesis_pipeline.stages.narration import NarrationClip
from genesis_pipeline.stages.render import AssemblyParams, RenderResult, render_cut
from genesis_pipeline.stages.render.smart import plan_smart
from genesis_pipeline.stages.timeline import CutSegment

log = logging.getLogger(__name__)

SR = 48000
KEEP = (0, 2, 4)  # scenes of `footage` kept; 1 and 3 are cut out


def small_frames(path: Path) -> list[np.ndarray]:
    """Every decoded frame as a 4x-downscaled grey image (float)."""
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            g = frame.to_ndarray(format="gray").astype(np.float32)
            h, w = g.shape[0] // 4 * 4, g.shape[1] // 4 * 4
            out.append(g[:h, :w].reshape(h // 4, 4, w // 4, 4).mean(axis=(1, 3)))
    return out


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@pytest.fixture(scope="module")
def sources(footage: Footage) -> dict:
    return {"frames": small_frames(footage.path), "audio": decode_audio(footage.path)}


@pytest.fixture(
    scope="module",
    params=[(KEEP, "reencode"), ((3, 1), "reencode"), (KEEP, "smart"), ((3, 1), "smart")],
    ids=["in-order", "reordered", "in-order-smart", "reordered-smart"],
)
def cut3(
    request: pytest.FixtureRequest,
    footage: Footage,
    sources: dict,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    """Scenes 0, 2, 4 in order (one input, split+trim) and 3, 1 reversed (two seeked inputs),
    fully re-encoded and smart-rendered (x264's keyframes fall on the cuts: all copied)."""
    scenes = scene_frames(footage)
    keep, mode = request.param
    segments = [CutSegment.of_frames(footage, *scenes[i]) for i in keep]
    out = tmp_path_factory.mktemp("assemble") / "cut.mp4"
    result = render_cut(segments, out, AssemblyParams(mode=mode))
    late = (0,) * len(segments)  # a re-encode's sound is in sync to the sample
    if mode == "smart":
        assert result.frames_copied > 0.9 * result.frames
        late = plan_smart(segments).sound_late  # copied sound sits on the AAC packet grid
        assert result.sound_copied_s > 0.9 * result.duration_s
    return {
        "late": late,
        "scenes": scenes,
        "segments": segments,
        "result": result,
        "out_frames": small_frames(out),
        "src_frames": sources["frames"],
        "out_audio": decode_audio(out),
        "src_audio": sources["audio"],
    }


def test_render_lasts_the_sum_of_kept_scenes(cut3: dict, footage: Footage) -> None:
    kept = sum(seg.frames for seg in cut3["segments"])
    result: RenderResult = cut3["result"]
    assert len(cut3["out_frames"]) == kept  # decoded, not read from the header
    assert result.frames == kept
    assert result.duration_s == pytest.approx(kept / footage.fps)
    assert (result.width, result.height, result.fps) == (footage.width, footage.height, 25.0)
    audio_s = cut3["out_audio"].size / SR
    assert abs(audio_s - kept / footage.fps) <= 1 / footage.fps


def test_joins_are_frame_accurate(cut3: dict) -> None:
    out, src, scenes = cut3["out_frames"], cut3["src_frames"], cut3["scenes"]
    t = 0
    for seg in cut3["segments"]:
        first, last = seg.start_frame, seg.end_frame - 1
        # First frame of the piece: the kept scene's first frame, not the removed one before it.
        keep = mad(out[t], src[first])
        assert keep < 3.0, (t, keep)
        if first > 0:
            assert mad(out[t], src[first - 1]) > 10 * keep + 10
        # Last frame of the piece: the kept scene's last frame, not the next removed scene's.
        t_end = t + seg.frames - 1
        keep = mad(out[t_end], src[last])
        assert keep < 3.0, (t_end, keep)
        if last + 1 < len(src):
            assert mad(out[t_end], src[last + 1]) > 10 * keep + 10
        t += seg.frames
    assert t == len(out)
    assert len(scenes) == 5


def test_audio_follows_its_pictures(cut3: dict) -> None:
    """Cross-correlate each piece's audio (speech) with the source where its frames came from:
    exactly there, or (smart render, copied sound) as many samples late as planned, never more
    than 512 (10.7 ms)."""
    out_a, src_a = cut3["out_audio"], cut3["src_audio"]
    fps = cut3["result"].fps
    win, search = SR, 960  # 1 s window, lags up to +-20 ms
    t = 0
    for seg, late in zip(cut3["segments"], cut3["late"], strict=True):
        assert abs(late) <= 512
        o0 = round(t / fps * SR) + SR // 4
        s0 = round(seg.start_frame / fps * SR) + SR // 4
        ref = src_a[s0 - search : s0 + win + search]
        assert rms_db(ref) > -40, "the source window should hold speech"
        corr = np.correlate(ref, out_a[o0 : o0 + win], mode="valid")
        lag = search - int(np.argmax(corr))
        assert abs(lag - late) <= 1, (
            f"piece at frame {seg.start_frame}: audio {lag} samples late, {late} planned"
        )
        t += seg.frames


@pytest.fixture(scope="module")
def portrait(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    """2 s portrait clip at 30 fps with a 440 Hz tone at -18 dBFS (mono)."""
    return make_footage(
        tmp_path_factory.mktemp("portrait") / "portrait.mp4",
        (Shot("testsrc2", 2.0),),
        size=(180, 320),
        fps=30,
        tone_hz=440.0,
        tone_level=1.0,
    )


@pytest.mark.parametrize("mode", ["reencode", "smart"])
def test_silent_source_and_other_size_and_rate(
    silent_footage: Footage, portrait: Footage, tmp_path: Path, mode: str
) -> None:
    silent = CutSegment.of_frames(silent_footage, 0, 150, has_audio=False)
    upright = CutSegment.of_frames(portrait, 0, 60)
    out = tmp_path / "mixed.mp4"
    result = render_cut([silent, upright], out, AssemblyParams(mode=mode))
    # Smart: the silent clip's pictures are copied, the portrait's (other size and rate) not.
    assert result.frames_copied == (150 if mode == "smart" else 0)

    frames = small_frames(out)
    assert result.frames == len(frames) == 150 + 50  # 60 frames at 30 fps = 50 at 25 fps
    assert (result.width, result.height) == (320, 180)
    audio = decode_audio(out)
    assert abs(audio.size / SR - len(frames) / 25) <= 1 / 25
    assert rms_db(audio[: int(5.95 * SR)]) < -80  # silence where the source had no sound
    assert tone_level_db(audio[int(5.5 * SR) : int(5.95 * SR)], SR, 440.0) < -60
    # The tone arrives with its pictures and at its own level (mono copied to both channels).
    level = tone_level_db(audio[int(6.05 * SR) : int(7.95 * SR)], SR, 440.0)
    assert level == pytest.approx(20 * np.log10(0.125), abs=1.0)
    # Portrait into landscape: scaled to full height, black bars left and right.
    pic = frames[170]  # 4x downscaled: 80 x 45
    assert pic[:, :25].mean() < 8 and pic[:, -25:].mean() < 8
    assert pic[:, 30:50].mean() > 40
    assert frames[10][:, :25].mean() > 40  # the 320x180 source fills the frame


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    wav = tmp_path_factory.mktemp("voice") / "voice.wav"
    return wav, speak("The editor approves the best scenes and renders the final cut.", wav)


def test_narration_ducks_the_bed(
    tone_footage: Footage, voice: tuple[Path, float], tmp_path: Path
) -> None:
    wav, voice_s = voice
    offset = 3.0
    params = AssemblyParams()
    seg = CutSegment.of_frames(tone_footage, 0, round(tone_footage.duration_s * tone_footage.fps))
    result = render_cut(
        [seg], tmp_path / "ducked.mp4", params, narration=[NarrationClip(wav, offset)]
    )
    assert result.has_narration
    audio = decode_audio(result.path)
    assert abs(audio.size / SR - result.duration_s) <= 1 / result.fps
    hz = float(tone_footage.tone_hz or 0)
    end = offset + voice_s
    release = params.duck_release_ms / 1000

    def level(a: float, b: float) -> float:
        """Median tone level over 0.5 s windows in [a, b): the tone, not the voice."""
        starts = np.arange(a, b - 0.5 + 1e-9, 0.25)
        return float(np.median([tone_level_db(audio[int(s * SR) : int((s + 0.5) * SR)], SR, hz)
                                for s in starts]))  # fmt: skip

    before = level(0.25, offset - 0.2)
    during = level(offset + 0.3, end - 0.2)
    after = level(end + release + 0.25, tone_footage.duration_s - 0.25)
    log.info(
        "tone %.1f dBFS, ducked by %.1f dB, after %+.2f dB", before, before - during, after - before
    )
    assert before == pytest.approx(20 * np.log10(0.2 / 8), abs=1.0)  # the bed is untouched
    assert before - during >= 6.0, f"ducked by only {before - during:.1f} dB"
    assert abs(after - before) <= 2.0, f"after narration {after - before:+.1f} dB"
    # The voice is there, the mix does not clip.
    assert rms_db(audio[int((offset + 0.3) * SR) : int((end - 0.2) * SR)]) > -30
    assert np.abs(audio).max() <= 1.0


def test_failed_render_leaves_nothing_at_out_path(
    footage: Footage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "cut.mp4"
    out.write_bytes(b"previous render")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    seg = CutSegment.of_frames(footage, 0, 25)
    with pytest.raises(InvalidMediaError, match=r"bad\.mp4"):
        render_cut([seg, CutSegment(**{**serde.to_json(seg), "media_path": bad})], out)
    assert out.read_bytes() == b"previous render"

    # ffmpeg dies half-way through writing: nothing partial replaces the previous file.
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        "#!/bin/sh\nfor last; do :; done\n"
        'case "$last" in pipe:*) ;; *) head -c 1000 /dev/urandom > "$last" ;; esac\n'
        'echo "Conversion failed: simulated crash" >&2\nexit 1\n'
    )
    monkeypatch.chdir(tmp_path)  # a stray relative write would show in the listing below
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("GENESIS_FFMPEG", str(fake))
    ffmpeg_mod.ffmpeg_exe.cache_clear()
    try:
        with pytest.raises(MediaToolError, match="simulated crash"):
            render_cut([seg], out)
    finally:
        monkeypatch.delenv("GENESIS_FFMPEG")
        ffmpeg_mod.ffmpeg_exe.cache_clear()
    assert out.read_bytes() == b"previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4", "cut.mp4", "ffmpeg"]


def test_bad_inputs_are_named(footage: Footage, tmp_path: Path) -> None:
    out = tmp_path / "cut.mp4"
    with pytest.raises(InvalidSettingError, match="nothing approved to render"):
        render_cut([], out)
    seg = CutSegment.of_frames(footage, 0, 25)
    missing = CutSegment(**{**serde.to_json(seg), "media_path": tmp_path / "gone.mp4"})
    with pytest.raises(InvalidMediaError, match=r"gone\.mp4"):
        render_cut([missing], out)
    with pytest.raises(InvalidMediaError, match=r"voice-gone\.wav"):
        render_cut([seg], out, narration=[NarrationClip(tmp_path / "voice-gone.wav", 0.0)])
    with pytest.raises(InvalidSettingError, match="duck_ratio"):
        render_cut([seg], out, AssemblyParams(duck_ratio=0.5))
    with pytest.raises(InvalidSettingError, match="mode"):
        render_cut([seg], out, AssemblyParams(mode="fast"))
    assert not out.exists()


@dataclass(frozen=True)
class _Progress:
    calls: list[tuple[int, int, str]]

    def __call__(self, done: int, total: int, note: str) -> None:
        self.calls.append((done, total, note))


def test_progress_and_result_round_trip(
    footage: Footage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filtergraph, "GRAPH_FILE_CHARS", 0)  # pass the graph through a file
    progress = _Progress([])
    result = render_cut(
        [CutSegment.of_frames(footage, 100, 150)],
        tmp_path / "short.mp4",
        AssemblyParams(width=160, height=90, fps=12.5, bed_gain=0.5),
        progress=progress,
    )
    assert (result.frames, result.width, result.height) == (25, 160, 90)
    assert progress.calls[-1][0] == progress.calls[-1][1] == 2000
    assert all(b == 2000 for _, b, _ in progress.calls)
    assert serde.from_json(RenderResult, serde.to_json(result)) == result
