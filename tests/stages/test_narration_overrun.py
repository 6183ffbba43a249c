"""A voiceover that runs past the cut's end, rendered in both modes: trimmed with a fade, or the
cut extended (its last scene running on in its source, or its last picture frozen under its own
sound) until the voiceover is over.

The voiceover is a 6 kHz tone, the footage's sound noise below 3 kHz, so the two are told apart
by frequency: the tone's level says where the voice plays, the low band cross-correlated with
the source says where the natural sound comes from.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from support.framecode import SR, CodedClip, cfr_times, read_codes, write_clip

from genesis_pipeline.media.audio_analysis import decode_audio, tone_level_db
from genesis_pipeline.stages.narration import NarrationClip
from genesis_pipeline.stages.render import AssemblyParams, render_cut

MODES = ("reencode", "smart")
TONE_HZ = 6000.0
VOICE_AT, VOICE_S = 0.5, 2.0  # on a 1.2 s cut: 1.3 s past its end
CUT = (0, 30)  # frames of the 2.4 s clip: 1.2 s, the clip has 1.2 s more
FULL_DB = 20 * np.log10(0.25)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> CodedClip:
    d = tmp_path_factory.mktemp("overrun")
    return write_clip(d / "clip.mp4", *cfr_times(60, Fraction(25)), clip=5, rate=25)


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wav = tmp_path_factory.mktemp("overrun-voice") / "voice.wav"
    t = np.arange(round(VOICE_S * SR)) / SR
    pcm = (0.25 * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype("<i2")
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())
    return wav


def tone_db(audio: np.ndarray, a: float, b: float) -> float:
    return tone_level_db(audio[round(a * SR) : round(b * SR)], SR, TONE_HZ)


def low_band(x: np.ndarray) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.size, 1 / SR) > 3200] = 0
    return np.fft.irfft(spectrum, x.size)


def bed_lag_ms(audio: np.ndarray, source: np.ndarray, at: float) -> float:
    """How late the output's natural sound around ``at`` plays against the source's at the
    same time (the tail continues the source's clock)."""
    win, search = SR // 5, SR // 50
    ref = low_band(source[round(at * SR) - search : round(at * SR) + win + search])
    out = low_band(audio[round(at * SR) : round(at * SR) + win])
    corr = np.correlate(ref, out, mode="valid")
    return 1000 * (search - int(np.argmax(corr))) / SR


@pytest.mark.parametrize("mode", MODES)
def test_trimmed_voiceover_fades_out_at_the_cut_end(
    clip: CodedClip, voice: Path, tmp_path: Path, mode: str
) -> None:
    """Trim (the default): the cut keeps its length and the voice fades out over its last
    0.5 s in the cut instead of stopping dead mid-word."""
    result = render_cut(
        [clip.segment(*CUT)],
        tmp_path / "trim.mp4",
        AssemblyParams(mode=mode),
        [NarrationClip(voice, VOICE_AT)],
    )
    assert result.duration_s == pytest.approx(1.2)
    audio = decode_audio(result.path)
    assert tone_db(audio, 0.55, 0.65) == pytest.approx(FULL_DB, abs=0.5)  # before the fade
    assert tone_db(audio, 0.9, 1.0) < FULL_DB - 2
    assert tone_db(audio, 1.16, 1.2) < FULL_DB - 25  # silent at the end, not chopped


@pytest.mark.parametrize("mode", MODES)
def test_extended_cut_runs_the_last_scene_on_in_its_source(
    clip: CodedClip, voice: Path, tmp_path: Path, mode: str
) -> None:
    """Extend: the last scene continues in its file (pictures and sound) for the overrun plus
    0.5 s; where the file ends (after 1.2 s), its last frame is held over silence."""
    extend = 1.3 + 0.5
    result = render_cut(
        [clip.segment(*CUT)],
        tmp_path / "extend.mp4",
        AssemblyParams(mode=mode, extend_s=extend),
        [NarrationClip(voice, VOICE_AT)],
    )
    assert result.duration_s == pytest.approx(1.2 + extend)
    frames = [n for _, n, _ in read_codes(result.path)]
    assert frames == [*range(60), *[59] * 15]
    audio = decode_audio(result.path)
    assert tone_db(audio, 2.35, 2.45) == pytest.approx(FULL_DB, abs=0.5)  # the voice's end
    assert tone_db(audio, 2.6, 3.0) < FULL_DB - 60  # and nothing after it
    source = decode_audio(clip.path)
    for at in (1.3, 1.8):  # the natural sound runs on from the source
        assert abs(bed_lag_ms(audio, source, at)) <= 1.0
    tail = low_band(audio[round(2.6 * SR) : round(2.95 * SR)])
    assert float(np.sqrt(np.mean(tail**2))) < 1e-3  # the file has no more sound


@pytest.mark.parametrize("mode", MODES)
def test_frozen_cut_holds_the_last_picture_under_its_own_sound(
    clip: CodedClip, voice: Path, tmp_path: Path, mode: str
) -> None:
    """Freeze: the last kept picture is held for the overrun plus 0.5 s while the scene's own
    sound runs on under it (ducked under the voice, as everywhere)."""
    result = render_cut(
        [clip.segment(*CUT)],
        tmp_path / "freeze.mp4",
        AssemblyParams(mode=mode, extend_s=1.8, extend_with="freeze"),
        [NarrationClip(voice, VOICE_AT)],
    )
    assert result.frames == 75
    assert [n for _, n, _ in read_codes(result.path)] == [*range(30), *[29] * 45]
    audio = decode_audio(result.path)
    assert tone_db(audio, 2.35, 2.45) == pytest.approx(FULL_DB, abs=0.5)
    source = decode_audio(clip.path)
    for at in (1.3, 1.8, 2.1):
        assert abs(bed_lag_ms(audio, source, at)) <= 1.0
