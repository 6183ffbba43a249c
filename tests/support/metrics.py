"""Accuracy measures the tests share: word error rate, cut matching, media durations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from genesis_pipeline.metrics import match_times


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def match_cuts(
    truth: Sequence[float], found: Sequence[float], tolerance: float = 0.2
) -> tuple[int, list[float], list[float]]:
    """(matched, missed truth cuts, extra found cuts) with one-to-one matching."""
    m = match_times(truth, found, tolerance)
    return m.matched, list(m.missed), list(m.extra)


def video_frames_and_duration(path: Path) -> tuple[int, float, float | None]:
    """(decoded video frames, video duration, audio duration) of a media file."""
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        assert v.average_rate is not None, f"{path}: no frame rate"
        fps = float(v.average_rate)
        frames = sum(1 for _ in c.decode(v))
    audio_s = None
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            samples = sum(f.samples for f in c.decode(a))
            audio_s = samples / a.codec_context.sample_rate
    return frames, frames / fps, audio_s
