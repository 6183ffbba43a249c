"""Narration: voiceover import (espeak-ng WAV, MP4 audio, bad files) and placement on the cut."""

from __future__ import annotations

import json
import logging
import random
import wave
from pathlib import Path

import numpy as np
import pytest

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.media.synth import Shot, make_footage, speak
from genesis_pipeline.stages.narration import (
    CutChapter,
    NarrationClip,
    VoiceoverInfo,
    auto_offset,
    extension_s,
    fit_start,
    import_voiceover,
    plan_narration,
)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float)
        return data.reshape(-1, w.getnchannels()).mean(axis=1), w.getframerate()


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]


@pytest.fixture(scope="session")
def espeak_wav(media_dir: Path) -> tuple[Path, float]:
    path = media_dir / "voiceover-espeak.wav"
    return path, speak("This chapter shows how the chairs are glued.", path)


def test_import_espeak_wav_resamples_faithfully(espeak_wav, tmp_path):
    src, src_duration = espeak_wav
    dst = tmp_path / "vo" / "chapter-1.wav"
    info = import_voiceover(src, dst)
    assert info == VoiceoverInfo(dst, info.duration_s, 48_000, 1)
    assert info.duration_s == pytest.approx(src_duration, abs=0.002)
    assert no_temporaries(dst.parent)
    # The samples are the source's, resampled: compare on the source's clock.
    out, rate = read_wav(dst)
    ref, ref_rate = read_wav(src)
    assert rate == 48_000 and ref_rate != rate
    resampled = np.interp(np.arange(ref.size) / ref_rate, np.arange(out.size) / rate, out)
    corr = np.corrcoef(ref, resampled)[0, 1]
    assert corr > 0.95
    assert np.abs(out).max() == pytest.approx(np.abs(ref).max(), rel=0.1)


def test_import_mp4_audio_keeps_speech_timing(footage, tmp_path):
    info = import_voiceover(footage.path, tmp_path / "vo.wav")
    assert (info.sample_rate, info.channels) == (48_000, 1)
    assert info.duration_s == pytest.approx(footage.duration_s, abs=0.05)
    out, rate = read_wav(info.path)
    rms = np.sqrt(np.mean(out.reshape(-1, rate // 10)[: int(info.duration_s * 10)] ** 2, axis=1))
    t = np.arange(rms.size) / 10
    speaking = (t > footage.speech_start_s + 0.3) & (t < footage.speech_end_s - 0.3)
    quiet = (t < footage.speech_start_s - 0.1) | (t > footage.speech_end_s + 0.2)
    assert quiet.any() and speaking.any()
    # Speech where the ground truth says, (near) silence elsewhere.
    assert np.median(rms[speaking]) > 30 * max(np.max(rms[quiet]), 1.0)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "empty"),
        ("text", "not a media file"),
        ("no-audio-video", "no audio stream"),
        ("digital-silence", "silent"),
    ],
)
def test_import_rejects_unusable_files(kind, reason, silent_footage, media_dir, tmp_path):
    if kind == "empty":
        src = tmp_path / "empty.wav"
        src.write_bytes(b"")
    elif kind == "text":
        src = tmp_path / "notes.mp3"
        src.write_text("This is a script, not a recording.\n" * 50)
    elif kind == "no-audio-video":
        src = silent_footage.path
    else:
        src = make_footage(media_dir / "anullsrc.mp4", [Shot("testsrc2", 1.0)], audio=True).path
    dst = tmp_path / "out" / "vo.wav"
    with pytest.raises(InvalidMediaError, match=reason) as err:
        import_voiceover(src, dst)
    assert err.value.path == str(src)
    assert not dst.exists()
    assert not dst.parent.exists() or no_temporaries(dst.parent)


CH = CutChapter(0, 0.0, 30.0)


def test_auto_offset_finds_the_gap_between_speech():
    assert auto_offset(CH, 8.0, [(0.0, 10.0), (20.0, 30.0)]) == 10.0
    # A gap off the grid is found exactly.
    assert auto_offset(CH, 3.0, [(0.0, 12.34), (15.9, 30.0)]) == pytest.approx(12.34)
    # Overlapping speech intervals are one stretch of speech, not counted twice.
    assert auto_offset(CH, 2.0, [(0.0, 10.0), (5.0, 10.0), (12.0, 30.0)]) == 10.0
    # No gap is long enough: the start that talks over the least speech.
    assert auto_offset(CH, 6.0, [(0.0, 8.0), (11.0, 12.0), (16.0, 30.0)]) == 8.0


def test_auto_offset_picks_the_earliest_among_equals():
    assert auto_offset(CH, 5.0, []) == 0.0
    assert auto_offset(CH, 5.0, [(0.0, 2.0), (12.0, 14.0)]) == 2.0  # [2, 7] all silent
    assert auto_offset(CH, 5.0, [(0.0, 30.0)]) == 0.0  # speech everywhere


def test_auto_offset_stays_inside_the_chapter():
    ch = CutChapter(3, 10.0, 20.0)
    # Silence before the chapter is not available to it.
    assert auto_offset(ch, 5.0, [(10.0, 40.0)]) == 10.0
    # Too long to fit: still starts inside, after the chapter's speech.
    assert auto_offset(ch, 15.0, [(10.0, 14.0)]) == 14.0
    assert auto_offset(ch, 15.0, [(10.0, 40.0)]) == 10.0
    assert 10.0 <= auto_offset(ch, 50.0, [(0.0, 12.0), (25.0, 26.0)]) <= 20.0


def test_auto_offset_matches_brute_force():
    rng = random.Random(5)
    for _ in range(100):
        a = rng.uniform(0, 50)
        ch = CutChapter(0, a, a + rng.uniform(1, 40))
        speech, t = [], rng.uniform(0, 20)
        for _ in range(10):
            dur = rng.uniform(0.2, 6)
            speech.append((t, t + dur))
            t += dur + rng.uniform(0.1, 8)
        d = rng.uniform(0.5, 20)
        got = auto_offset(ch, d, speech[::-1])  # any order
        assert ch.start_s <= got < ch.end_s
        # Too long for the chapter: any start in it but the last step (0.1 s).
        hi = max(ch.start_s, ch.end_s - d) if d <= ch.end_s - ch.start_s else ch.end_s - 0.1
        starts, ends = np.array(speech).T

        grid = np.linspace(ch.start_s, hi, 4001)
        cost, mine = (
            np.clip(np.minimum(ends, t[:, None] + d) - np.maximum(starts, t[:, None]), 0, None).sum(
                1
            )
            for t in (grid, np.array([got]))
        )
        mine = float(mine[0])
        assert mine <= cost.min() + 1e-6
        first = grid[np.flatnonzero(cost <= mine + 1e-6)[0]]
        assert got <= first + 1e-9


def vo(name: str, duration: float) -> VoiceoverInfo:
    return VoiceoverInfo(Path(f"/vo/{name}.wav"), duration, 48_000, 1)


CHAPTERS = [CutChapter(0, 0.0, 20.0), CutChapter(1, 20.0, 50.0)]
SPEECH = [(0.0, 5.0), (20.0, 30.0), (41.0, 50.0)]


def test_plan_whole_cut_and_chapter_voiceovers():
    clips = plan_narration(CHAPTERS, SPEECH, {None: vo("all", 10.0)}, {}, {}, 50.0)
    assert clips == [NarrationClip(Path("/vo/all.wav"), 0.0, 1.0, None, False)]
    clips = plan_narration(CHAPTERS, SPEECH, {None: vo("all", 10)}, {None: 3.5}, {None: 0.5}, 50)
    assert clips == [NarrationClip(Path("/vo/all.wav"), 3.5, 0.5, None, False)]

    vos: dict[int | None, VoiceoverInfo] = {1: vo("one", 6.0), 0: vo("zero", 4.0)}
    auto = plan_narration(CHAPTERS, SPEECH, vos, {0: None}, {1: 2.0}, 50.0)
    assert auto == [
        NarrationClip(Path("/vo/zero.wav"), 5.0, 1.0, 0, True),
        NarrationClip(Path("/vo/one.wav"), 30.0, 2.0, 1, True),
    ]
    # An override is seconds into the chapter.
    fixed = plan_narration(CHAPTERS, SPEECH, vos, {1: 2.0}, {}, 50.0)
    assert fixed[1] == NarrationClip(Path("/vo/one.wav"), 22.0, 1.0, 1, False)
    assert json.loads(json.dumps([serde.to_json(c) for c in fixed])) == [
        serde.to_json(c) for c in fixed
    ]
    assert [serde.from_json(NarrationClip, serde.to_json(c)) for c in fixed] == fixed


def test_plan_leaves_out_voiceover_of_a_missing_chapter(caplog):
    with caplog.at_level(logging.WARNING):
        clips = plan_narration(CHAPTERS, SPEECH, {7: vo("seven", 3.0)}, {}, {}, 50.0)
    assert clips == []
    assert "chapter 7" in caplog.text


@pytest.mark.parametrize(
    ("vos", "offsets", "gains", "match"),
    [
        ({None: 4.0}, {None: -1.0}, {}, r"voiceover offset: -1\.00 s .*0 to 50\.00 s"),
        ({None: 4.0}, {None: 50.0}, {}, r"voiceover offset: 50\.00 s .*50\.00 s"),
        ({None: 4.0}, {None: float("nan")}, {}, "voiceover offset: nan"),
        ({1: 4.0}, {1: 31.0}, {}, r"voiceover offset: 51\.00 s \(31\.0 s into the chapter\)"),
        ({1: 4.0}, {1: -21.0}, {}, r"voiceover offset: -1\.00 s"),
        ({None: 4.0}, {}, {None: -0.5}, r"voiceover gain: -0\.5 .*50\.00 s"),
        ({0: 4.0}, {}, {0: float("inf")}, "voiceover gain: inf"),
    ],
)
def test_plan_rejects_bad_offsets_and_gains(vos, offsets, gains, match):
    vos = {k: vo(f"k{k}", d) for k, d in vos.items()}
    with pytest.raises(InvalidSettingError, match=match):
        plan_narration(CHAPTERS, SPEECH, vos, offsets, gains, 50.0)


def test_info_and_chapter_json_round_trip():
    info = vo("a", 12.345678)
    assert serde.from_json(VoiceoverInfo, json.loads(json.dumps(serde.to_json(info)))) == info
    assert serde.from_json(CutChapter, serde.to_json(CHAPTERS[1])) == CHAPTERS[1]


def test_plan_reports_the_overrun_past_the_cut_instead_of_logging_it(caplog):
    """A voiceover ending 1.1 s after the cut is a planned fact on its clip; planning it again
    and again (each page view) logs nothing."""
    with caplog.at_level(logging.INFO, logger="genesis_pipeline.stages.narration"):
        for _ in range(15):
            clips = plan_narration(CHAPTERS, SPEECH, {None: vo("late", 6.1)}, {None: 45.0}, {}, 50)
    assert [c.overrun_s for c in clips] == [pytest.approx(1.1)]
    assert caplog.records == []
    inside = plan_narration(CHAPTERS, SPEECH, {None: vo("in", 5.0)}, {None: 45.0}, {}, 50)
    assert inside[0].overrun_s == 0.0
    # A chapter voiceover longer than the last chapter is placed inside it (it used to be put
    # at the chapter's end, the cut's end, which failed the plan) and runs past the end.
    auto = plan_narration(CHAPTERS, SPEECH, {1: vo("long", 40.0)}, {}, {}, 50.0)
    assert 20.0 <= auto[0].offset_s < 50.0 and auto[0].auto
    assert auto[0].overrun_s == pytest.approx(auto[0].offset_s - 10.0)
    assert serde.from_json(NarrationClip, serde.to_json(clips[0])) == clips[0]


def test_extension_and_fitting_start() -> None:
    late = [NarrationClip(Path("a.wav"), 45.0, overrun_s=1.1), NarrationClip(Path("b.wav"), 1.0)]
    assert extension_s(late, "trim") == 0.0
    assert extension_s(late, "extend") == extension_s(late, "freeze") == pytest.approx(1.6)
    assert extension_s(late[1:], "extend") == 0.0
    with pytest.raises(InvalidSettingError, match="narration overrun: 'fade' is not one of"):
        extension_s(late, "fade")
    # To end with a 50 s cut (50 ms early, for the cut's rounding to whole frames).
    assert fit_start(50.0, 6.1) == pytest.approx(43.85)
    assert fit_start(50.0, 6.1, earliest_s=44.0) is None  # its chapter starts later
    assert fit_start(5.0, 6.1) is None  # longer than the cut
