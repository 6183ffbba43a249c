"""Smart rendering: copied GOPs and encoded cut points, checked frame by frame against the source.

Clips use a short GOP (``-g 12`` at 25 fps) so that copies, heads and tails all happen within a
few seconds of footage.
"""

from __future__ import annotations

import itertools
import logging
import stat
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from genesis_pipeline import serde
from genesis_pipeline.errors import MediaToolError
from genesis_pipeline.media import ffmpeg as ffmpeg_mod
from genesis_pipeline.media.audio_analysis import decode_audio, rms_db
from genesis_pipeline.media.gop import (
    AvcConfig,
    VideoIndex,
    index_video,
    parse_avcc,
    pps_ids,
    split_nals,
    sps_id,
)
from genesis_pipeline.media.synth import DEFAULT_SCRIPT, Footage, Shot, make_footage, speak
from genesis_pipeline.stages.narration import NarrationClip
from genesis_pipeline.stages.render import AssemblyParams, RenderResult, render_cut
from genesis_pipeline.stages.render import smart as smart_render
from genesis_pipeline.stages.render.layout import Doubtful
from genesis_pipeline.stages.render.smart import plan_smart
from genesis_pipeline.stages.timeline import CutSegment

SR = 48000
FPS = 25
SMART = AssemblyParams(mode="smart")
# Scenes of `gop_clip` (frames): testsrc2 [0, 50), smptebars [50, 90), mandelbrot [90, 150),
# testsrc [150, 200). testsrc2, mandelbrot and testsrc move, so neighbouring frames differ.
SHOTS = (
    Shot("testsrc2", 2.0),
    Shot("smptebars", 1.6),
    Shot("mandelbrot", 2.4),
    Shot("testsrc", 2.0),
)


def grey_frames(path: Path) -> list[np.ndarray]:
    """Every decoded frame's luma plane, full size (float)."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)]


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@pytest.fixture(scope="module")
def gop_clip(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    """8 s, 320x180 at 25 fps, GOP 12 (plus IDRs at the cuts), speech throughout."""
    return make_footage(
        tmp_path_factory.mktemp("smart") / "gop12.mp4",
        SHOTS,
        fps=FPS,
        gop=12,
        script=DEFAULT_SCRIPT,
        speech_start_s=0.0,
        words_per_minute=170,
    )


@pytest.fixture(scope="module")
def src_frames(gop_clip: Footage) -> list[np.ndarray]:
    return grey_frames(gop_clip.path)


# A head, copies and a tail in one scene; a whole scene; a scene part reordered before an
# earlier one; a piece with no IDR inside (shorter than a GOP): encoded whole.
CUT = ((3, 45), (90, 150), (52, 70), (163, 173), (150, 160))


@pytest.fixture(scope="module")
def smart_cut(
    gop_clip: Footage, src_frames: list, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    segments = [CutSegment.of_frames(gop_clip, a, b) for a, b in CUT]
    work = tmp_path_factory.mktemp("smart-cut")
    smart = render_cut(segments, work / "smart.mp4", SMART)
    full = render_cut(segments, work / "full.mp4")
    return {
        "segments": segments,
        "plan": plan_smart(segments),
        "smart": smart,
        "full": full,
        "out": grey_frames(smart.path),
        "src": src_frames,
    }


def test_copies_happen_and_counts_are_exact(smart_cut: dict) -> None:
    smart: RenderResult = smart_cut["smart"]
    kept = sum(s.frames for s in smart_cut["segments"])
    assert len(smart_cut["out"]) == smart.frames == kept
    assert smart.frames_copied + smart.frames_encoded == kept
    plan = smart_cut["plan"]
    assert (plan.frames_copied, plan.frames_encoded) == (smart.frames_copied, smart.frames_encoded)
    assert smart.frames_copied >= kept // 2, plan
    # The piece inside one GOP (163..173) has nothing to copy; the whole scene is all copy.
    spans = [(s.kind, s.source_start, s.frames) for s in plan.spans if s.kind == "copy"]
    assert ("copy", 90, 60) in spans
    assert not any(s.source_start is not None and 163 <= s.source_start < 173 for s in plan.spans)
    # Spans tile the output.
    assert [s.start for s in plan.spans] == list(
        itertools.accumulate([0, *(s.frames for s in plan.spans[:-1])])
    )
    assert serde.from_json(RenderResult, serde.to_json(smart)) == smart


def test_every_frame_is_the_source_frame(smart_cut: dict) -> None:
    """Copied frames decode bit-identical to the source; encoded ones are close to theirs and
    far from their neighbours (the frame before or after, which a one-off error would give)."""
    out, src = smart_cut["out"], smart_cut["src"]
    src_of = [f for s in smart_cut["segments"] for f in range(s.start_frame, s.end_frame)]
    copied = {
        f
        for s in smart_cut["plan"].spans
        if s.kind == "copy"
        for f in range(s.start, s.start + s.frames)
    }
    # Moving scenes, and how much further the neighbours must be than the right frame:
    # measured 4.5x or more for testsrc2 and mandelbrot, 1.35x for testsrc's small scroll.
    moving = {(0, 50): 3.0, (90, 150): 3.0, (150, 200): 1.2}
    for k, (o, s) in enumerate(zip(out, (src[i] for i in src_of), strict=True)):
        if k in copied:
            assert np.array_equal(o, s), f"copied output frame {k} differs from source {src_of[k]}"
            continue
        err = mad(o, s)
        assert err < 2.0, (k, err)
        n = src_of[k]
        for (a, b), ratio in moving.items():
            if a < n < b - 1:
                nearest = min(mad(o, src[n - 1]), mad(o, src[n + 1]))
                assert nearest > ratio * err, (k, n, err, nearest)


def test_joints_are_where_planned(smart_cut: dict) -> None:
    """Around every copy/encode joint, each side is its own source frame (not shifted)."""
    out, src = smart_cut["out"], smart_cut["src"]
    src_of = [f for s in smart_cut["segments"] for f in range(s.start_frame, s.end_frame)]
    joints = [s.start for s in smart_cut["plan"].spans[1:]]
    assert len(joints) >= 4
    for j in joints:
        for k in (j - 1, j):
            err = mad(out[k], src[src_of[k]])
            assert err < 2.0, (j, k, err)


def test_timestamps_and_sound(smart_cut: dict) -> None:
    """Frame times 0, 1/25, 2/25...; sound as long as the pictures; each piece's speech where
    the plan put it: on its pictures, or ``sound_late`` samples after them (packet-copied
    sound sits on the AAC grid: never more than 512 samples, 10.7 ms, off)."""
    smart: RenderResult = smart_cut["smart"]
    plan = smart_cut["plan"]
    times = frame_times(smart.path)
    assert times == pytest.approx([k / FPS for k in range(smart.frames)], abs=1e-6)
    audio = decode_audio(smart.path)
    assert abs(audio.size / SR - smart.frames / FPS) <= 1 / FPS
    assert plan.sound_not_copied is None and plan.sound_copied > 0
    assert smart.sound_copied_s > 0.5 * smart.duration_s
    assert all(abs(late) <= 512 for late in plan.sound_late)
    assert smart.sound_offset_ms == pytest.approx(
        1000 * max(abs(x) for x in plan.sound_late) / SR, abs=0.01
    )
    src_audio = decode_audio(smart_cut["segments"][0].media_path)
    win, search, t, checked = SR // 2, 960, 0, 0
    for seg, late in zip(smart_cut["segments"], plan.sound_late, strict=True):
        o0 = round(t / FPS * SR) + SR // 10
        s0 = round(seg.start_frame / FPS * SR) + SR // 10
        t += seg.frames
        if seg.frames / FPS < 0.6:
            continue
        ref = src_audio[s0 - search : s0 + win + search]
        assert rms_db(ref) > -40, "the source window should hold speech"
        corr = np.correlate(ref, audio[o0 : o0 + win], mode="valid")
        lag = search - int(np.argmax(corr))
        assert abs(lag - late) <= 1, (seg.start_frame, lag, late)
        checked += 1
    assert checked >= 3


def test_copied_sound_is_the_source_sound(smart_cut: dict) -> None:
    """Inside every piece (a block clear of the cuts), the smart render's sound is the
    source's at the planned offset: bit-identical over copied packets, and across the joins to
    the encoded stretches no worse than a re-encode's own coding noise (30 dB under the
    speech)."""
    plan = smart_cut["plan"]
    out = decode_audio(smart_cut["smart"].path)
    full = decode_audio(smart_cut["full"].path)
    src = decode_audio(smart_cut["segments"][0].media_path)
    o = 0
    exact = 0
    for seg, late in zip(smart_cut["segments"], plan.sound_late, strict=True):
        n = round(seg.frames / FPS * SR)
        s = round(seg.start_frame / FPS * SR)
        lo, hi = 2048, n - 2048
        if hi - lo < SR // 10:
            o += n
            continue
        mine = out[o + lo + late : o + hi + late]
        want = src[s + lo : s + hi]
        theirs = full[o + lo : o + hi]  # the re-encode, in sync to the sample
        assert rms_db(mine - want) <= max(rms_db(want) - 30, -60), seg.start_frame
        assert rms_db(mine - want) <= rms_db(theirs - want) + 6, seg.start_frame
        exact += int(np.sum(mine == want))
        o += n
    assert exact > SR  # over a second of samples copied untouched


@pytest.fixture(scope="module")
def other_size(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    return make_footage(
        tmp_path_factory.mktemp("small") / "other-size.mp4",
        (Shot("testsrc2", 1.2),),
        size=(256, 144),
        fps=FPS,
        gop=12,
        audio=False,
    )


def test_other_size_is_encoded_the_rest_copied(
    gop_clip: Footage, other_size: Footage, src_frames: list, tmp_path: Path
) -> None:
    segments = [
        CutSegment.of_frames(gop_clip, 90, 150),
        CutSegment.of_frames(other_size, 0, 30),
        CutSegment.of_frames(gop_clip, 0, 24),
    ]
    plan = plan_smart(segments)
    assert "256x144" in plan.not_copied[other_size.path]
    assert [s.kind for s in plan.spans] == ["copy", "encode", "copy"]
    smart = render_cut(segments, tmp_path / "smart.mp4", SMART)
    full = render_cut(segments, tmp_path / "full.mp4")
    assert smart.frames == full.frames == 114
    assert (smart.frames_copied, smart.frames_encoded) == (84, 30)
    out, ref = grey_frames(smart.path), grey_frames(full.path)
    for k in range(60):
        assert np.array_equal(out[k], src_frames[90 + k])
    for k in range(90, 114):
        assert np.array_equal(out[k], src_frames[k - 90])

    # The foreign piece is scaled like a re-encode does it, frame for frame (4x downscaled:
    # the neighbours measured 4.9x further off than the right frame).
    def quarter(a: np.ndarray) -> np.ndarray:
        return a.reshape(45, 4, 80, 4).mean(axis=(1, 3))

    for k in range(61, 89):
        err = mad(quarter(out[k]), quarter(ref[k]))
        assert err < 2.0
        for n in (k - 1, k + 1):
            assert mad(quarter(out[k]), quarter(ref[n])) > 3 * err, (k, n)


def test_sources_share_the_stream_when_their_parameter_sets_agree(
    gop_clip: Footage, src_frames: list, tmp_path: Path
) -> None:
    """A second file from the same encoder settings is copied too; one whose PPS reuses the
    same id with other content (no weighted B prediction) is encoded."""
    twin, other = (
        make_footage(
            tmp_path / f"{name}.mp4",
            (Shot("mandelbrot", 1.0),),
            fps=FPS,
            gop=12,
            audio=False,
            vcodec_args=("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", *extra),
        )
        for name, extra in (("twin", ()), ("other", ("-x264-params", "weightb=0")))
    )
    segments = [
        CutSegment.of_frames(gop_clip, 0, 24),
        CutSegment.of_frames(twin, 0, 24),
        CutSegment.of_frames(other, 0, 24),
    ]
    plan = plan_smart(segments)
    assert [s.kind for s in plan.spans] == ["copy", "copy", "encode"]
    assert plan.frames_copied == 48 and list(plan.not_copied) == [other.path]
    assert "clash" in plan.not_copied[other.path]
    result = render_cut(segments, tmp_path / "cut.mp4", SMART)
    out = grey_frames(result.path)
    twin_frames, other_frames = grey_frames(twin.path), grey_frames(other.path)
    assert all(np.array_equal(out[k], src_frames[k]) for k in range(24))
    assert all(np.array_equal(out[24 + k], twin_frames[k]) for k in range(24))
    assert all(mad(out[48 + k], other_frames[k]) < 2.0 for k in range(24))


def test_nothing_copyable_renders_as_reencode(
    gop_clip: Footage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seg = CutSegment.of_frames(gop_clip, 13, 23)  # inside one GOP: no IDR to start a copy
    with caplog.at_level(logging.INFO, logger="genesis_pipeline.stages.render.smart"):
        result = render_cut([seg], tmp_path / "short.mp4", SMART)
    assert "nothing can be copied" in caplog.text
    assert (result.frames, result.frames_copied, result.frames_encoded) == (10, 0, 10)
    out = grey_frames(result.path)
    src = grey_frames(gop_clip.path)
    assert all(mad(o, src[13 + k]) < 2.0 for k, o in enumerate(out))


def test_narration_is_mixed(gop_clip: Footage, tmp_path: Path) -> None:
    """Narration over a smart render: the sound is the full re-encode's, sample for sample
    (whose ducking ``test_assemble`` measures), and differs from the bed alone while the voice
    speaks."""
    wav = tmp_path / "voice.wav"
    voice_s = speak("Smart renders keep the voice over.", wav)
    segments = [CutSegment.of_frames(gop_clip, 12, 150)]
    clips = [NarrationClip(wav, 1.0)]
    smart = render_cut(segments, tmp_path / "smart.mp4", SMART, narration=clips)
    full = render_cut(segments, tmp_path / "full.mp4", narration=clips)
    bare = render_cut(segments, tmp_path / "bare.mp4", SMART)
    assert smart.has_narration and smart.frames_copied > 0
    assert smart.sound_copied_s == 0  # mixed with the voice: encoded whole
    a = decode_audio(smart.path)
    assert np.array_equal(a, decode_audio(full.path))
    voiced = slice(int(1.1 * SR), int(min(1.0 + voice_s, 5.0) * SR))
    assert rms_db(a[voiced] - decode_audio(bare.path)[voiced]) > -30


def test_failed_check_falls_back_to_reencode(
    gop_clip: Footage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def doubt(*_: object) -> None:
        raise Doubtful("simulated")

    monkeypatch.setattr(smart_render, "check_output", doubt)
    seg = CutSegment.of_frames(gop_clip, 0, 50)
    with caplog.at_level(logging.WARNING):
        result = render_cut([seg], tmp_path / "cut.mp4", SMART)
    assert "failed a check (simulated)" in caplog.text
    assert (result.frames, result.frames_copied) == (50, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4"]  # no temporaries left


def test_a_decoder_short_of_frames_falls_back_and_stops_every_decoder(
    gop_clip: Footage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The encode pass reads each decoder ahead in a thread: one that ends early is caught
    (the render is redone as a re-encode) and no decoder is left running."""
    import psutil

    from genesis_pipeline.stages.render import x264
    from genesis_pipeline.stages.render.plan import Piece, RenderPlan

    real = x264.decoder_command
    calls: list[int] = []

    def short(piece: Piece, plan: RenderPlan) -> list[str]:
        cmd = real(piece, plan)
        calls.append(len(calls))
        if len(calls) == 2:  # the second piece's decoder gives one frame too few
            at = cmd.index("-frames:v") + 1
            cmd[at] = str(int(cmd[at]) - 1)
        return cmd

    monkeypatch.setattr(x264, "decoder_command", short)
    segments = [CutSegment.of_frames(gop_clip, a, b) for a, b in ((3, 40), (55, 85), (95, 140))]
    before = {p.pid for p in psutil.Process().children(recursive=True)}  # other tests' servers
    with caplog.at_level(logging.WARNING):
        result = render_cut(segments, tmp_path / "cut.mp4", SMART)
    assert len(calls) >= 2
    assert "frames decoded from frame" in caplog.text
    assert (result.frames, result.frames_copied) == (37 + 30 + 45, 0)
    assert [p for p in psutil.Process().children(recursive=True) if p.pid not in before] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4"]


def test_failed_ffmpeg_leaves_nothing(
    gop_clip: Footage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "cut.mp4"
    out.write_bytes(b"previous render")
    fake = tmp_path / "ffmpeg"
    fake.write_text('#!/bin/sh\necho "Conversion failed: simulated crash" >&2\nexit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("GENESIS_FFMPEG", str(fake))
    ffmpeg_mod.ffmpeg_exe.cache_clear()
    try:
        with pytest.raises(MediaToolError, match="simulated crash"):
            render_cut([CutSegment.of_frames(gop_clip, 3, 50)], out, SMART)
    finally:
        monkeypatch.delenv("GENESIS_FFMPEG")
        ffmpeg_mod.ffmpeg_exe.cache_clear()
    assert out.read_bytes() == b"previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4", "ffmpeg"]


def test_progress_ends_at_total(gop_clip: Footage, tmp_path: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    render_cut(
        [CutSegment.of_frames(gop_clip, 3, 100)],
        tmp_path / "p.mp4",
        SMART,
        progress=lambda d, t, n: calls.append((d, t, n)),
    )
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1] == 3880
    assert {t for _, t, _ in calls} == {3880}


# --- the index ------------------------------------------------------------------------------


def test_index_finds_idr_frames_and_copy_spans(gop_clip: Footage) -> None:
    ix = index_video(gop_clip.path)
    assert ix.problem is None and ix.rate == FPS and ix.frames == 200
    assert {0, 12, 50, 90}.issubset(ix.idr_ranks)  # GOP start and the cuts (scenecut)
    assert ix.copy_span(0, 50) == (0, 50)
    first, stop = ix.copy_span(3, 45) or (0, 0)
    assert first == 12 and 36 < stop <= 45
    assert ix.copy_span(13, 23) is None


def test_open_gop_keyframes_are_not_copy_points(tmp_path: Path) -> None:
    """x264 ``open-gop``: keyframes after the first are recovery points whose leading
    B-frames reference the GOP before. They are flagged as keyframes but never start a copy."""
    clip = make_footage(
        tmp_path / "open-gop.mp4",
        (Shot("testsrc2", 4.0),),
        fps=FPS,
        gop=12,
        audio=False,
        vcodec_args=("-c:v", "libx264", "-preset", "veryfast", "-x264-params", "open-gop=1"),
    )
    with av.open(str(clip.path)) as c:
        keyframes = sum(p.is_keyframe for p in c.demux(video=0))
    ix = index_video(clip.path)
    assert keyframes >= 6 and ix.idr_ranks == (0,)
    segments = [CutSegment.of_frames(clip, 50, 80), CutSegment.of_frames(clip, 0, 30)]
    plan = plan_smart(segments)
    assert (plan.spans[0].kind, plan.spans[0].source_start) == ("encode", None)
    result = render_cut(segments, tmp_path / "cut.mp4", SMART)
    assert result.frames == 60 and 0 < result.frames_copied <= 30
    out, src = grey_frames(result.path), grey_frames(clip.path)
    for k, n in enumerate([*range(50, 80), *range(30)]):
        err = mad(out[k], src[n])
        assert err < 2.0 and all(mad(out[k], src[m]) > 3 * err for m in (n - 1, n + 1) if m >= 0), (
            k,
            n,
            err,
            [mad(out[k], src[m]) for m in (n - 1, n + 1) if m >= 0],
        )


def fake_index(ranks: list[int], idr: list[int]) -> VideoIndex:
    return VideoIndex(
        path=Path("fake.mp4"),
        stream_index=0,
        codec="h264",
        width=16,
        height=16,
        pix_fmt="yuv420p",
        profile="High",
        level=30,
        sar=Fraction(1),
        field_order=1,
        rotation=0,
        colour=(0, 2, 2, 2),
        time_base=Fraction(1, FPS),
        pts=tuple(ranks),
        dts=tuple(range(len(ranks))),
        ranks=tuple(ranks),
        idr_ranks=tuple(idr),
        rate=Fraction(FPS),
        max_key_gap=8,
        config=None,
        _position={r: j for j, r in enumerate(ranks) if r >= 0},
    )


def test_copy_span_respects_decode_order() -> None:
    # IDR 0, then mini-GOPs P4 B2 B1 B3 and P8 B6 B5 B7, then an open-GOP I-frame at 12 whose
    # leading pictures 9..11 are decoded after it (it is a keyframe, but not an IDR).
    ix = fake_index([0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11, 16, 14, 13, 15], idr=[0])
    assert ix.copy_span(0, 17) == (0, 17)
    assert ix.copy_span(0, 7) == (0, 5)  # the mini-GOP holding 5..8 spills past 7
    assert ix.copy_span(0, 12) == (0, 9)  # 12 is decoded before 9..11
    assert ix.copy_span(1, 17) is None  # no IDR after frame 0
    assert ix.reorder_depth(0, 17) == 2
    # A picture the decoder discards (edit list) ends a copy.
    ix = fake_index([0, 1, 2, -1, 3, 4], idr=[0])
    assert ix.copy_span(0, 5) == (0, 3)
    assert replace(ix, problem="variable frame rate").copy_span(0, 3) is None


def test_avcc_and_parameter_set_ids(gop_clip: Footage) -> None:
    with av.open(str(gop_clip.path)) as c:
        raw = c.streams.video[0].codec_context.extradata
        assert raw is not None, "no avcC in the clip's stream"
        extradata = bytes(raw)
        packet = next(p for p in c.demux(video=0) if p.is_keyframe)
        data = bytes(packet)
    config = parse_avcc(extradata)
    assert config.to_bytes() == extradata
    assert config.sps_ids() == {0: config.sps[0]} and pps_ids(config.pps[0]) == (0, 0)
    assert sps_id(config.sps[0]) == 0
    assert [n[0] & 0x1F for n in split_nals(data)][-1] == 5  # SEI..., then the IDR slice
    merged = AvcConfig(100, 0, 12, 4, (config.sps[0], config.sps[0]), config.pps, config.trailer)
    assert parse_avcc(merged.to_bytes()) == merged
    with pytest.raises(ValueError):
        parse_avcc(b"\x00\x00\x00\x01gd")
    with pytest.raises(ValueError):
        split_nals(data[:-1])


def test_sound_is_encoded_whole_when_a_join_stays_audible(
    gop_clip: Footage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No join can pass an impossible bar: after its shifts the sound is encoded whole, as a
    re-encode's (sample-identical), and the pictures are still copied."""
    from genesis_pipeline.stages.render import sound as sound_copy

    monkeypatch.setattr(sound_copy, "CLEAN_SNR_DB", 400.0)
    monkeypatch.setattr(sound_copy, "CLEAN_FLOOR_DB", -400.0)
    segments = [CutSegment.of_frames(gop_clip, 3, 45), CutSegment.of_frames(gop_clip, 90, 150)]
    with caplog.at_level(logging.WARNING):
        smart = render_cut(segments, tmp_path / "smart.mp4", SMART)
    assert "sound of smart.mp4 is encoded, not copied" in caplog.text
    assert smart.frames_copied > 0 and smart.sound_copied_s == 0 == smart.sound_offset_ms
    full = render_cut(segments, tmp_path / "full.mp4")
    assert np.array_equal(decode_audio(smart.path), decode_audio(full.path))


@pytest.mark.parametrize(
    ("why", "params", "audio_args"),
    [
        ("gain", AssemblyParams(mode="smart", bed_gain=0.5), ("-c:a", "copy")),
        ("not AAC-LC", SMART, ("-c:a", "pcm_s16le")),
        ("44100 Hz", SMART, ("-c:a", "aac", "-ar", "44100")),
    ],
)
def test_sound_that_cannot_be_copied_is_encoded(
    gop_clip: Footage, tmp_path: Path, why: str, params: AssemblyParams, audio_args: tuple
) -> None:
    """Sound that is not the sources' own untouched AAC (a gain on it, another codec or rate)
    is encoded whole, sample-exact, while the pictures are still copied."""
    src = tmp_path / "src.mov"
    ffmpeg_mod.run_ffmpeg(
        ["-y", "-i", gop_clip.path, "-c:v", "copy", *audio_args, src], what="remux"
    )
    segments = [CutSegment.of_frames(replace(gop_clip, path=src), a, b) for a, b in CUT[:2]]
    plan = plan_smart(segments, params)
    assert plan.sound_not_copied is not None and why in plan.sound_not_copied
    assert plan.sound_late == (0, 0) and plan.sound_copied == 0
    smart = render_cut(segments, tmp_path / "smart.mp4", params)
    assert smart.frames_copied > 0 and smart.sound_copied_s == 0
    full = render_cut(segments, tmp_path / "full.mp4", replace(params, mode="reencode"))
    assert np.array_equal(decode_audio(smart.path), decode_audio(full.path))


def test_stereo_sound_is_copied(gop_clip: Footage, tmp_path: Path) -> None:
    """Stereo AAC sources are copied like mono ones: each piece's sound where its plan put it,
    as close to the source as a re-encode's."""
    src = tmp_path / "stereo.mp4"
    ffmpeg_mod.run_ffmpeg(
        ["-y", "-i", gop_clip.path, "-c:v", "copy", "-c:a", "aac", "-ac", "2", "-b:a", "192k", src],
        what="stereo",
    )
    segments = [
        CutSegment.of_frames(replace(gop_clip, path=src), a, b) for a, b in ((3, 45), (90, 150))
    ]
    plan = plan_smart(segments, SMART)
    smart = render_cut(segments, tmp_path / "smart.mp4", SMART)
    full = render_cut(segments, tmp_path / "full.mp4")
    assert plan.sound_not_copied is None and smart.sound_copied_s > 1.0
    with av.open(str(smart.path)) as c:
        assert c.streams.audio[0].channels == 2
    out, ref, whole = decode_audio(smart.path), decode_audio(src), decode_audio(full.path)
    o = 0
    for seg, late in zip(segments, plan.sound_late, strict=True):
        n, s = round(seg.frames / FPS * SR), round(seg.start_frame / FPS * SR)
        mine = out[o + 2048 + late : o + n - 2048 + late]
        want = ref[s + 2048 : s + n - 2048]
        assert rms_db(mine - want) <= rms_db(whole[o + 2048 : o + n - 2048] - want) + 6
        o += n


def test_sound_packets_not_where_indexed_fall_back_to_encoding(
    gop_clip: Footage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    from genesis_pipeline.media import aac

    def missing(*_: object) -> list[bytes]:
        raise ValueError("sound packets 0..1024 are not all there")

    monkeypatch.setattr(aac.AacReader, "packets", missing)
    segments = [CutSegment.of_frames(gop_clip, 3, 45), CutSegment.of_frames(gop_clip, 90, 150)]
    with caplog.at_level(logging.WARNING):
        smart = render_cut(segments, tmp_path / "smart.mp4", SMART)
    assert "encoded, not copied: sound packets 0..1024 are not all there" in caplog.text
    assert smart.sound_copied_s == 0 and smart.frames_copied > 0
    full = render_cut(segments, tmp_path / "full.mp4")
    assert np.array_equal(decode_audio(smart.path), decode_audio(full.path))


def test_packets_are_ordered_on_one_exact_clock() -> None:
    """The join interleaves pictures and sound by decode time on an integer clock: the same
    order as exact fractions, ties included."""
    import random

    from genesis_pipeline.stages.render.mux import _common_clock

    rng = random.Random(7)
    for video_tb, audio_tb in (
        (Fraction(1, 15360), Fraction(1, 48000)),
        (Fraction(1001, 30000), Fraction(1, 44100)),
    ):
        v, a = _common_clock(video_tb, audio_tb)
        times = [(rng.randrange(10**7), video_tb, v) for _ in range(200)]
        times += [(rng.randrange(10**7), audio_tb, a) for _ in range(200)]
        for (d1, tb1, m1), (d2, tb2, m2) in itertools.combinations(times[::7], 2):
            exact = (Fraction(d1) * tb1 > Fraction(d2) * tb2) - (
                Fraction(d1) * tb1 < Fraction(d2) * tb2
            )
            assert exact == (d1 * m1 > d2 * m2) - (d1 * m1 < d2 * m2)
