"""AAC packets: indexing, exact sample reads, in-memory encode/decode round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genesis_pipeline.media import aac
from genesis_pipeline.media.ffmpeg import run_ffmpeg

SR = 48000


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.5 s of a 440 Hz sine in AAC-LC mono, 48 kHz (1 frame short of whole packets)."""
    out = tmp_path_factory.mktemp("aac") / "tone.m4a"
    n = 2 * SR + SR // 2 - 300
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={SR}",
         "-af", f"atrim=end_sample={n}", "-c:a", "aac", "-b:a", "128k", "-ac", "1", out],
        what="tone",
    )  # fmt: skip
    return out


def full_decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)


def test_index_reads_the_track(tone: Path) -> None:
    track = aac.index_aac(tone, 0)
    assert isinstance(track, aac.AacTrack)
    assert (track.sample_rate, track.channels, track.layout) == (SR, 1, "mono")
    assert track.samples == 2 * SR + SR // 2 - 300
    assert track.extradata  # the AudioSpecificConfig


def test_index_rejects_other_codecs(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "sine=d=0.5", wav], what="wav")
    assert aac.index_aac(wav, 0) == "sound is pcm_s16le, not AAC-LC"


@pytest.mark.parametrize(
    ("start", "count"), [(0, 1000), (5000, 3000), (-700, 2000), (119000, 2000)]
)
def test_read_samples_is_the_decoded_track(tone: Path, start: int, count: int) -> None:
    """Any range reads what a whole decode gives there (to within the decoder's own rounding:
    a decoder started mid-stream differs by about 1e-5), zeros outside the track."""
    track = aac.index_aac(tone, 0)
    assert isinstance(track, aac.AacTrack)
    whole = full_decode(tone)[:, : track.samples]
    with aac.AacReader() as reader:
        got = reader.samples(track, start, count)
        again = reader.samples(track, start, count)  # the open file seeks back
    assert np.array_equal(got, again)
    want = np.zeros((1, count), dtype=np.float32)
    lo, hi = max(start, 0), min(start + count, track.samples)
    want[:, lo - start : hi - start] = whole[:, lo:hi]
    assert np.abs(got - want).max() < 1e-4
    assert np.array_equal(got == 0, want == 0)


def test_encode_decode_round_trip() -> None:
    """Encoded packets: priming at -1024, one per 1,024 samples; decoded, the sine comes back
    aligned (no delay) and 40 dB above the coding noise."""
    t = np.arange(SR // 2) / SR
    pcm = (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[None, :]
    packets = aac.encode(pcm, SR, 128_000)
    assert sorted(packets)[:2] == [-1024, 0]
    assert sorted(packets) == list(range(-1024, SR // 2, 1024))
    extradata = bytes.fromhex("1188")  # AAC-LC, 48 kHz, mono
    out = aac.decode([packets[p][0] for p in sorted(packets)], extradata, 1)[:, : SR // 2]
    noise = out[:, 2048:-2048] - pcm[:, 2048:-2048]
    assert 20 * np.log10(np.sqrt(np.mean(noise**2)) / 0.3) < -40


def test_bit_rate() -> None:
    assert aac.bit_rate("160k") == 160_000
    assert aac.bit_rate("1.5M") == 1_500_000
    assert aac.bit_rate("96000") == 96_000
