"""Speech with exact word timings: each word synthesised apart and placed at a known time.

:func:`~genesis_pipeline.media.synth.speak` reads a whole script, so only its first and last
sound are known. Here every word is spoken on its own by espeak-ng, trimmed to its audible
extent (leading and trailing silence cut by an energy threshold, :func:`speech_extent`), and
laid into one 16 kHz mono WAV at a known offset: words of a phrase a short gap apart, phrases a
pause apart. The truth is each word's audible start and end and each phrase's extent.
"""

from __future__ import annotations

import json
import random
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from genesis_pipeline.media.synth import speak

if TYPE_CHECKING:
    import numpy as np

RATE = 16_000
# 10 ms frames; a frame is speech when its RMS is within TRIM_DB of the clip's loudest frame.
# 40 dB below the peak keeps soft onsets (/f/, /h/) and drops espeak's silent padding.
FRAME_S = 0.01
TRIM_DB = 40.0

PHRASES: tuple[str, ...] = (
    "the editor uploads every clip",
    "reviewers approve the best scenes",
    "render the final video tonight",
    "scenes are detected at each cut",
    "a preview frame is captioned",
    "genesis turns raw footage into a rough cut",
    "please mark the quiet moments",
    "the narrator speaks over the map",
    "cut here before the music starts",
    "subtitles follow every spoken word",
    "the camera pans across the harbour",
    "keep the interview but drop the intro",
)


@dataclass(frozen=True, slots=True)
class TimedWord:
    """A word of the truth: its text, audible extent (seconds) and the phrase it belongs to."""

    word: str
    start: float
    end: float
    phrase: int


@dataclass(frozen=True, slots=True)
class SpokenWords:
    """A generated recording and its truth: every word's and every phrase's extent."""

    path: Path
    duration_s: float
    words: tuple[TimedWord, ...]
    phrases: tuple[tuple[float, float], ...]

    @property
    def script(self) -> str:
        return " ".join(w.word for w in self.words)

    def write_truth(self, path: Path | None = None) -> Path:
        out = path or self.path.with_suffix(".truth.json")
        d = asdict(self)
        d["path"] = str(self.path)
        out.write_text(json.dumps(d, indent=2))
        return out


def speech_extent(samples: np.ndarray, rate: int = RATE) -> tuple[int, int]:
    """``[first, last)`` sample of the audible part of ``samples``: from the first to the last
    10 ms frame whose RMS is within :data:`TRIM_DB` of the loudest frame (``(0, 0)`` when
    silent)."""
    import numpy as np

    hop = max(1, round(FRAME_S * rate))
    n = len(samples) // hop
    if n == 0:
        return (0, 0)
    frames = samples[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    peak = float(rms.max())
    if peak <= 0.0:
        return (0, 0)
    loud = np.flatnonzero(rms >= peak * 10 ** (-TRIM_DB / 20))
    return (int(loud[0]) * hop, (int(loud[-1]) + 1) * hop)


def _read_wav(path: Path) -> np.ndarray:
    """A WAV's samples as 16 kHz mono int16 (espeak-ng writes 22.05 kHz mono)."""
    import av
    import numpy as np

    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def make_spoken_words(
    out: Path,
    phrases: Sequence[str] = PHRASES,
    *,
    seed: int = 0,
    word_gap_s: tuple[float, float] = (0.03, 0.12),
    pause_s: tuple[float, float] = (0.7, 1.4),
    lead_s: float = 0.6,
    words_per_minute: int = 160,
) -> SpokenWords:
    """Write ``out`` (a 16 kHz mono WAV): ``phrases`` spoken word by word, each word trimmed to
    its audible extent and placed after the previous one with a random gap in ``word_gap_s``,
    phrases separated by a random pause in ``pause_s``; ``lead_s`` of silence at each end.

    Raises:
        ToolNotFoundError: espeak-ng is not installed.
    """
    import numpy as np

    rng = random.Random(seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts: list[np.ndarray] = [np.zeros(round(lead_s * RATE), dtype=np.int16)]
    at = len(parts[0])
    words: list[TimedWord] = []
    extents: list[tuple[float, float]] = []
    clips: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="genesis-words-") as tmp:
        for p, phrase in enumerate(phrases):
            if p:
                gap = round(rng.uniform(*pause_s) * RATE)
                parts.append(np.zeros(gap, dtype=np.int16))
                at += gap
            phrase_start = at
            for i, word in enumerate(phrase.split()):
                if word not in clips:
                    wav = Path(tmp) / f"{len(clips)}.wav"
                    speak(word, wav, words_per_minute=words_per_minute)
                    samples = _read_wav(wav)
                    a, b = speech_extent(samples)
                    clips[word] = samples[a:b]
                if i:
                    gap = round(rng.uniform(*word_gap_s) * RATE)
                    parts.append(np.zeros(gap, dtype=np.int16))
                    at += gap
                clip = clips[word]
                words.append(TimedWord(word, at / RATE, (at + len(clip)) / RATE, p))
                parts.append(clip)
                at += len(clip)
            extents.append((phrase_start / RATE, at / RATE))
    parts.append(np.zeros(round(lead_s * RATE), dtype=np.int16))
    audio = np.concatenate(parts)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(audio.astype("<i2").tobytes())
    return SpokenWords(out, len(audio) / RATE, tuple(words), tuple(extents))
