"""Narration: import voiceovers and plan where each one plays on the cut timeline.

A voiceover is either one recording for the whole cut (key ``None``, placed at a given offset)
or one per chapter (key = chapter index), placed automatically where it talks over the least
on-camera speech unless the reviewer gave an offset. All times here are on the *cut* timeline
(approved scenes laid end to end; see :mod:`genesis_pipeline.stages.timeline`).
"""

from __future__ import annotations

import itertools
import logging
import math
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.files import atomic_path
from genesis_pipeline.media.ffmpeg import run_ffmpeg
from genesis_pipeline.media.filtergraph import command, open_input, stream
from genesis_pipeline.media.probe import probe

log = logging.getLogger(__name__)

VERSION = 2  # 2: clips carry their overrun past the cut's end and their name

OVERRUN_CHOICES = ("trim", "extend", "freeze")
"""What a render does with a voiceover that runs past the end of the cut: ``trim`` fades it
out over its last :data:`~genesis_pipeline.stages.render.params.NARRATION_FADE_S` inside the cut;
``extend`` runs the last scene on in its source (pictures and sound; its last frame held over
silence where the source ends) until the voiceover is over; ``freeze`` holds the last picture
that long while the scene's own sound runs on under it (silence where the source ends)."""

EXTEND_TAIL_S = 0.5
"""An extended cut runs on this long after the voiceover's last sample (its last word rings out
before the picture ends)."""

SAMPLE_RATE = 48_000
# Peak at or below this (16-bit samples, about -84 dBFS) is digital silence, not a recording.
_SILENCE_PEAK = 2
_READ_FRAMES = 1 << 18


@dataclass(frozen=True, slots=True)
class VoiceoverInfo:
    """An imported voiceover: 48 kHz 16-bit PCM WAV."""

    path: Path
    duration_s: float
    sample_rate: int
    channels: int


def import_voiceover(src: Path, dst_wav: Path) -> VoiceoverInfo:
    """Decode the audio of any audio/video file to a 48 kHz PCM WAV at ``dst_wav``.

    The first audio stream is used; more than two channels are mixed down to stereo. The WAV
    appears atomically: a reader sees the whole file or none.

    Raises:
        InvalidMediaError: ``src`` is missing, empty, not media, has no audio stream, or its
            audio is empty or digital silence.
        MediaToolError: ffmpeg failed to decode it.
        ToolNotFoundError: ffmpeg is missing.
    """
    src, dst_wav = Path(src), Path(dst_wav)
    info = probe(src)
    if not info.has_audio:
        raise InvalidMediaError(src, "has no audio stream to use as a voiceover")
    channels = min(info.channels or 1, 2)
    with atomic_path(dst_wav) as tmp:
        run_ffmpeg(
            voiceover_args(src, tmp, channels),
            what=f"import voiceover {src.name}",
        )
        frames, rate, chans, peak = _wav_facts(tmp)
        if frames == 0:
            raise InvalidMediaError(src, "its audio stream decodes to no samples")
        if peak <= _SILENCE_PEAK:
            raise InvalidMediaError(src, "its audio is silent (nothing to narrate)")
    duration = frames / rate
    log.info("imported voiceover %s: %.2f s, %d ch", src.name, duration, chans)
    return VoiceoverInfo(dst_wav, duration, rate, chans)


def voiceover_args(src: Path, dst_wav: Path, channels: int) -> list[str]:
    """The ffmpeg arguments that decode ``src``'s first audio stream to a 48 kHz 16-bit WAV
    with ``channels`` channels."""
    sound = stream(open_input(src), "a:0")
    options = {"ac": channels, "ar": SAMPLE_RATE, "c:a": "pcm_s16le", "format": "wav"}
    return command([sound], dst_wav, vn=None, sn=None, dn=None, **options)


def _wav_facts(path: Path) -> tuple[int, int, int, int]:
    """Frames, sample rate, channels and peak absolute sample of a 16-bit WAV."""
    with wave.open(str(path), "rb") as w:
        frames, rate, chans = w.getnframes(), w.getframerate(), w.getnchannels()
        peak = 0
        while True:
            chunk = w.readframes(_READ_FRAMES)
            if not chunk:
                break
            samples = np.frombuffer(chunk, "<i2")
            if samples.size:
                peak = max(peak, int(np.abs(samples.astype(np.int32)).max()))
    return frames, rate, chans, peak


@dataclass(frozen=True, slots=True)
class CutChapter:
    """A chapter's span on the cut timeline."""

    index: int
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class NarrationClip:
    """One voiceover placed on the cut: it starts at ``offset_s`` (cut time) and runs
    ``overrun_s`` seconds past the cut's end (0 when it ends inside the cut). ``name`` is what
    messages call it (the file the reviewer added)."""

    path: Path
    offset_s: float
    gain: float = 1.0
    chapter_index: int | None = None
    auto: bool = False
    overrun_s: float = 0.0
    name: str = ""


def _merged(speech: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Union of the speech intervals as sorted, disjoint (starts, ends)."""
    spans = sorted((float(a), float(b)) for a, b in speech if b > a)
    starts: list[float] = []
    ends: list[float] = []
    for a, b in spans:
        if ends and a <= ends[-1]:
            ends[-1] = max(ends[-1], b)
        else:
            starts.append(a)
            ends.append(b)
    return np.array(starts), np.array(ends)


def _overlap(t: np.ndarray, duration_s: float, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Seconds of speech inside ``[t, t + duration_s]`` for every candidate start ``t``.

    ``S(x)``, the speech before ``x``, is piecewise linear with corners at the interval edges,
    so ``S(t + d) - S(t)`` is exact through ``np.interp``.
    """
    if starts.size == 0:
        return np.zeros(t.shape)
    before = np.concatenate([[0.0], np.cumsum(ends - starts)])
    xs = np.column_stack([starts, ends]).ravel()
    ys = np.column_stack([before[:-1], before[1:]]).ravel()

    def spoken_before(x: np.ndarray) -> np.ndarray:
        return np.asarray(np.interp(x, xs, ys, left=0.0, right=float(before[-1])))

    return np.asarray(spoken_before(t + duration_s) - spoken_before(t))


def auto_offset(
    chapter: CutChapter,
    duration_s: float,
    speech: Sequence[tuple[float, float]],
    step_s: float = 0.1,
) -> float:
    """Earliest start inside ``chapter`` where narration talks over on-camera speech least.

    Candidate starts are a ``step_s`` grid plus every speech edge (speech start or end, and
    those less ``duration_s``): the overlap is piecewise linear in the start with its corners
    there, so the least overlap and its earliest start are found exactly. When the narration
    is longer than the chapter, the start still stays inside the chapter, at least ``step_s``
    before its end (overlap then also counts speech after the chapter).

    Args:
        chapter: the chapter's span on the cut.
        duration_s: the narration's length.
        speech: on-camera speech intervals on the cut timeline.
        step_s: grid spacing of candidate starts.

    Returns:
        The start on the cut timeline, within ``[chapter.start_s, chapter.end_s)``.

    Raises:
        InvalidSettingError: ``step_s`` is not positive or ``duration_s`` is negative.
    """
    if not step_s > 0:
        raise InvalidSettingError("narration step_s", f"{step_s} must be above 0")
    if not duration_s >= 0:
        raise InvalidSettingError("voiceover duration", f"{duration_s} s is negative")
    lo = chapter.start_s
    room = chapter.end_s - chapter.start_s - duration_s
    # Too long for the chapter: it may start anywhere in it, but not at its very end (of the
    # last chapter, that is the end of the cut: no place to start).
    hi = lo + room if room >= 0 else chapter.end_s - step_s
    hi = max(hi, lo)
    starts, ends = _merged(speech)
    grid = lo + step_s * np.arange(math.floor((hi - lo) / step_s + 1e-9) + 1)
    edges = np.concatenate([starts, ends, starts - duration_s, ends - duration_s])
    cand = np.unique(np.concatenate([grid, edges[(edges >= lo) & (edges <= hi)], [hi]]))
    cand = cand[(cand >= lo) & (cand <= hi)]
    cost = _overlap(cand, duration_s, starts, ends)
    best = int(np.flatnonzero(cost <= cost.min() + 1e-9)[0])
    return float(cand[best])


def plan_narration(
    chapters: Sequence[CutChapter],
    speech: Sequence[tuple[float, float]],
    voiceovers: Mapping[int | None, VoiceoverInfo],
    offsets: Mapping[int | None, float | None],
    gains: Mapping[int | None, float],
    cut_duration_s: float,
) -> list[NarrationClip]:
    """Place every voiceover on the cut timeline.

    Key ``None`` is one voiceover for the whole cut, starting at ``offsets[None]`` (default 0).
    An int key is the voiceover of that chapter: placed by :func:`auto_offset` unless
    ``offsets[k]`` is given, which is then seconds *from the chapter's start* (so it survives
    scenes being dropped before it). A chapter voiceover whose chapter is not in the cut (all
    its scenes rejected) is left out with a warning.

    Args:
        chapters: the chapters present in the cut, with their spans on it.
        speech: on-camera speech intervals on the cut timeline.
        voiceovers: imported voiceovers by key.
        offsets: reviewer offsets by key; ``None`` (or absent) = default/automatic.
        gains: narration gain by key (linear; default 1.0).
        cut_duration_s: length of the cut.

    Returns:
        The clips, ordered by start, each with how far it runs past the cut's end (to the
        millisecond).

    Raises:
        InvalidSettingError: "voiceover offset" when a start is negative or at/after the end
            of the cut, "voiceover gain" when a gain is negative or not finite; the message gives
            the value and the cut length.
    """
    by_index = {c.index: c for c in chapters}
    clips: list[NarrationClip] = []
    for key, vo in voiceovers.items():
        who = "whole cut" if key is None else f"chapter {key}"
        gain = gains.get(key, 1.0)
        if not (math.isfinite(gain) and gain >= 0):
            raise InvalidSettingError(
                "voiceover gain",
                f"{gain} for the {who} voiceover must be 0 or more "
                f"(cut is {cut_duration_s:.2f} s long)",
            )
        override = offsets.get(key)
        if key is None:
            start, auto = float(override or 0.0), False
        else:
            chapter = by_index.get(key)
            if chapter is None:
                log.warning("voiceover of chapter %s left out: the chapter is not in the cut", key)
                continue
            if override is None:
                start, auto = auto_offset(chapter, vo.duration_s, speech), True
            else:
                start, auto = chapter.start_s + float(override), False
        if not (math.isfinite(start) and 0 <= start < cut_duration_s):
            given = "" if override is None or key is None else f" ({override} s into the chapter)"
            raise InvalidSettingError(
                "voiceover offset",
                f"{start:.2f} s{given} for the {who} voiceover is outside the cut "
                f"(0 to {cut_duration_s:.2f} s)",
            )
        # Past the end is a planned fact (pages show it, the render acts on the project's
        # choice, the run note says what was done), not a log line per page view.
        overrun = max(0.0, start + vo.duration_s - cut_duration_s)
        overrun = round(overrun, 3) if overrun > 1e-3 else 0.0
        clips.append(NarrationClip(vo.path, start, gain, key, auto, overrun))
    clips.sort(key=lambda c: (c.offset_s, -1 if c.chapter_index is None else c.chapter_index))
    for a, b in itertools.pairwise(clips):
        a_end = a.offset_s + voiceovers[a.chapter_index].duration_s
        if b.offset_s < a_end - 1e-6:
            log.warning(
                "voiceovers overlap on the cut: %s until %.1f s, %s from %.1f s",
                a.path.name,
                a_end,
                b.path.name,
                b.offset_s,
            )
    return clips


def extension_s(clips: Sequence[NarrationClip], choice: str) -> float:
    """How long the cut runs on past its end for the voiceovers under ``choice`` (one of
    :data:`OVERRUN_CHOICES`): the longest overrun plus :data:`EXTEND_TAIL_S` when extending or
    freezing and a voiceover runs past the end; 0 otherwise.

    Raises:
        InvalidSettingError: ``choice`` is not one of :data:`OVERRUN_CHOICES`.
    """
    check_overrun_choice(choice, "narration overrun")
    worst = max((c.overrun_s for c in clips), default=0.0)
    if choice == "trim" or worst <= 0:
        return 0.0
    return round(worst + EXTEND_TAIL_S, 3)


def check_overrun_choice(choice: str, setting: str = "narration overrun") -> str:
    """Raises: InvalidSettingError: ``choice`` is not one of :data:`OVERRUN_CHOICES` (named
    ``setting`` in the message)."""
    if choice not in OVERRUN_CHOICES:
        raise InvalidSettingError(setting, f"{choice!r} is not one of {', '.join(OVERRUN_CHOICES)}")
    return choice


FIT_MARGIN_S = 0.05
"""A voiceover moved to end with the cut ends this much before it: a render's length is the
cut's rounded to whole frames (under half a frame off, 50 ms at 10 fps)."""


def fit_start(cut_duration_s: float, duration_s: float, earliest_s: float = 0.0) -> float | None:
    """Where a voiceover of ``duration_s`` starts to end with the cut (:data:`FIT_MARGIN_S`
    before its end), or None when it cannot: it would start before ``earliest_s`` (the cut's or
    its chapter's start)."""
    start = math.floor((cut_duration_s - duration_s - FIT_MARGIN_S) * 1000) / 1000
    return start if start >= earliest_s - 1e-9 else None
