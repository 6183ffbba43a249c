"""Measuring rendered audio: decode to samples, level of a tone, loudness of a stretch.

Used to check renders (ducking depth, silence where a source had no sound, sync) against
ground truth; everything works on mono float32 samples in [-1, 1].
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from genesis_pipeline.errors import InvalidMediaError

# Below this a level is reported as this many dBFS instead of -inf.
FLOOR_DB = -150.0


def decode_audio(path: str | Path, sample_rate: int = 48000) -> np.ndarray:
    """The first audio stream of ``path`` as mono float32 samples at ``sample_rate``.

    Mono is the mean of the channels, so a signal present identically on both channels of a
    stereo file reads at the same level as in a mono file.

    Raises:
        InvalidMediaError: the file cannot be opened or has no audio stream.
    """
    import av

    p = Path(path)
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidMediaError(p, f"cannot be opened ({exc})") from None
    with container:
        if not container.streams.audio:
            raise InvalidMediaError(p, "has no audio stream")
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)
        chunks: list[np.ndarray] = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().mean(axis=0))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().mean(axis=0))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def to_db(amplitude: float) -> float:
    """Linear amplitude to dBFS, floored at :data:`FLOOR_DB`."""
    return 20.0 * math.log10(amplitude) if amplitude > 10 ** (FLOOR_DB / 20) else FLOOR_DB


def rms_db(samples: np.ndarray) -> float:
    """RMS level of ``samples`` in dBFS (a full-scale sine is -3 dB)."""
    if samples.size == 0:
        return FLOOR_DB
    return to_db(float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))


def tone_level_db(samples: np.ndarray, sample_rate: int, freq_hz: float) -> float:
    """Peak amplitude, in dBFS, of the sinusoid at ``freq_hz`` in ``samples``.

    A Hann-windowed single-frequency DFT (exactly at ``freq_hz``, not at the nearest FFT bin),
    scaled so that a steady sine of amplitude ``a`` reads ``20*log10(a)``. Its band is about
    ``2 * sample_rate / len(samples)`` Hz wide, so a long window rejects speech and noise.
    """
    n = samples.size
    if n == 0:
        return FLOOR_DB
    window = np.hanning(n)
    t = np.arange(n) / sample_rate
    phasor = np.exp(-2j * np.pi * freq_hz * t)
    amplitude = 2.0 * abs(np.dot(samples * window, phasor)) / window.sum()
    return to_db(float(amplitude))


def tone_levels_db(
    samples: np.ndarray,
    sample_rate: int,
    freq_hz: float,
    *,
    window_s: float = 0.5,
    hop_s: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    """Tone level over time: ``(window centre times in s, levels in dBFS)``."""
    win = max(1, round(window_s * sample_rate))
    hop = max(1, round(hop_s * sample_rate))
    starts = range(0, max(0, samples.size - win) + 1, hop)
    times = np.array([(s + win / 2) / sample_rate for s in starts])
    levels = np.array([tone_level_db(samples[s : s + win], sample_rate, freq_hz) for s in starts])
    return times, levels
