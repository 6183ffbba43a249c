"""Transcription: faster-whisper's batched pipeline with Silero VAD and word timings.

The audio is decoded once (PyAV, 16 kHz mono), Silero VAD (shipped inside faster-whisper) cuts it
into speech chunks of at most 30 s, and ``BatchedInferencePipeline`` decodes the chunks in
batches with word timings, several batches at once when the model has the workers for it
(:mod:`genesis_pipeline.ml.parallel_batches`). Media with no audio stream gives an empty
transcript.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, StageError
from genesis_pipeline.progress import Progress, no_progress

if TYPE_CHECKING:
    import numpy as np
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

VERSION = 2
SAMPLE_RATE = 16_000
# Long audio is transcribed in spans of about 5 minutes, each cut at a pause found in its last
# 20 s (see ``spans``), so the speech chunks and features held at once stop growing with the
# footage (the memory and WER this costs: docs/transcription.md).
SPAN_S = 300
SEEK_S = 20


@dataclass(frozen=True, slots=True)
class TranscribeParams:
    """How to transcribe. Defaults chosen by measurement on tiny.en, CPU int8, 2 cores
    (``docs/transcription.md``).

    Attributes:
        language: ISO code (``en``, ``fr``...) or None to detect it (an ``.en`` model is
            English).
        batch_size: Speech chunks (<= 30 s each) decoded together by
            ``BatchedInferencePipeline``, per worker. No effect on WER; a few sequences in
            flight are cheaper than one, more are no faster but hold more memory (the
            orchestrator passes the device plan's size: see ``genesis_pipeline.ml.device``).
        workers: Batches decoded at once, each by its own model replica (the model must be
            loaded with at least this many workers): same text, both cores busy
            (``genesis_pipeline.ml.parallel_batches``; the device plan's count).
        beam_size: Beam width. 3 is the fastest width whose WER stayed within 0.02 of
            faster-whisper's own defaults (beam 5) everywhere measured.
        vad_filter: Cut out non-speech with Silero VAD and decode the speech chunks in batches
            (faster, no text hallucinated in silence). Off: faster-whisper's sequential
            decoder over 30 s windows (``batch_size`` unused).
        vad_min_silence_ms: A pause at least this long ends a speech segment. VAD segments are
            then packed into chunks of at most 30 s (Whisper's window: a shorter chunk is
            padded, so the encoder costs the same). 250 ms splits at sentence pauses, so chunks
            fill their windows (fewer windows than at 500 ms).
        vad_speech_pad_ms: Speech chunks are widened by this much on each side so word edges
            are not clipped.
        vad_threshold: Silero speech probability above which a frame counts as speech.
        refine_words: Move word edges onto the pauses in the audio (:func:`refine_word_times`):
            faster-whisper's edges land late, 140 ms median and 450 ms p95 from the truth;
            snapped, 3 ms and 9 ms (``benchmarks/word_timings.py``; the 4% of edges still
            more than 150 ms off are mostly words beside one Whisper did not hear).
    """

    language: str | None = None
    batch_size: int = 8
    workers: int = 1
    beam_size: int = 3
    vad_filter: bool = True
    vad_min_silence_ms: int = 250
    vad_speech_pad_ms: int = 400
    vad_threshold: float = 0.5
    refine_words: bool = True

    def __post_init__(self) -> None:
        for name in ("batch_size", "workers", "beam_size"):
            if getattr(self, name) < 1:
                raise InvalidSettingError(f"transcribe.{name}", "must be at least 1")
        for name in ("vad_min_silence_ms", "vad_speech_pad_ms"):
            if getattr(self, name) < 0:
                raise InvalidSettingError(f"transcribe.{name}", "must be 0 or more")
        if not 0.0 < self.vad_threshold < 1.0:
            raise InvalidSettingError("transcribe.vad_threshold", "must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class Word:
    """One spoken word with its timing (seconds from the start of the media).

    ``timing_uncertain`` marks a word whose start or end may be well off (:func:`uncertain`):
    do not cut on it without listening.
    """

    word: str
    start: float
    end: float
    probability: float
    segment: int
    timing_uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of decoded text (one VAD chunk or 30 s window at most)."""

    index: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said in one media file, and how it was transcribed.

    ``duration_s`` is the length of the decoded audio (0 when there is none); ``model`` is the
    Whisper spec's identity. Serialised with :mod:`genesis_pipeline.serde`.
    """

    language: str
    language_probability: float
    duration_s: float
    text: str
    segments: tuple[Segment, ...]
    words: tuple[Word, ...]
    model: str
    params: TranscribeParams = field(default_factory=TranscribeParams)


def transcribe(
    media: Path,
    model: WhisperModel,
    params: TranscribeParams = TranscribeParams(),
    progress: Progress = no_progress,
    *,
    model_identity: str = "",
) -> Transcript:
    """Transcribe the first audio stream of ``media`` with word timings.

    Args:
        media: An audio or video file.
        model: A loaded model (``genesis_pipeline.ml.whisper.load_whisper``).
        params: Decoding options.
        progress: Called with ``(ms transcribed, ms total, note)``.
        model_identity: The model spec's identity, recorded in the transcript.

    Returns:
        The transcript; empty (language ``""``) when the media has no audio stream or no
        speech.

    Raises:
        InvalidMediaError: ``media`` is missing or its audio cannot be decoded.
        StageError: the model failed while decoding.
    """
    audio = _decode_audio(Path(media))
    duration = 0.0 if audio is None else len(audio) / SAMPLE_RATE
    total_ms = max(1, round(duration * 1000))
    if audio is None or duration == 0.0:
        progress(total_ms, total_ms, "no audio")
        return _empty(duration, model_identity, params)

    progress(0, total_ms, "transcribing")
    parts = [
        transcribe_span(audio[first:stop], first, duration, model, params, progress, media)
        for first, stop in spans(audio)
    ]
    progress(total_ms, total_ms, "transcribed")
    return join_spans(parts, duration, params, model_identity=model_identity)


@dataclass(frozen=True, slots=True)
class SpanTranscript:
    """What one span of a recording said (:func:`spans`), timed from the start of the media.
    Segments are numbered from 0 within the span and words are kept in order within it only:
    :func:`join_spans` numbers and orders them across spans."""

    first: int
    segments: tuple[Segment, ...]
    words: tuple[Word, ...]
    language: str
    language_probability: float


def transcribe_span(
    samples: np.ndarray,
    first: int,
    duration: float,
    model: WhisperModel,
    params: TranscribeParams = TranscribeParams(),
    progress: Progress = no_progress,
    media: Path | str = "",
) -> SpanTranscript:
    """Transcribe one span of a recording: ``samples`` (16 kHz mono int16) start at sample
    ``first`` of media ``duration`` seconds long. Spans of one recording can be transcribed
    apart (on several workers) and joined with :func:`join_spans` into what
    :func:`transcribe` gives.

    Raises:
        StageError: the model failed while decoding (``media`` names the file).
    """
    import numpy as np

    offset = first / SAMPLE_RATE
    total_ms = max(1, round(duration * 1000))
    segments: list[Segment] = []
    words: list[Word] = []
    try:
        raw_segments, info = _run_model(samples.astype(np.float32) / 32768.0, model, params)
        for raw in raw_segments:
            index = len(segments)
            start = _clamp(offset + raw.start, duration)
            end = _clamp(offset + raw.end, duration)
            segments.append(
                Segment(
                    index=index,
                    start=start,
                    end=max(start, end),
                    text=raw.text.strip(),
                    avg_logprob=float(raw.avg_logprob),
                    no_speech_prob=float(raw.no_speech_prob),
                    compression_ratio=float(raw.compression_ratio),
                )
            )
            previous = words[-1] if words else None
            words.extend(_words(raw.words or (), index, offset, duration, previous))
            progress(min(total_ms, round(end * 1000)), total_ms, "transcribing")
    except RuntimeError as exc:  # CTranslate2 reports decoding failures as RuntimeError
        raise StageError("transcribe", f"{media}: {exc}") from exc
    timed = refine_word_times(words, samples, offset, snap=params.refine_words)
    return SpanTranscript(
        first, tuple(segments), timed, str(info.language), float(info.language_probability)
    )


def join_spans(
    parts: Sequence[SpanTranscript],
    duration: float,
    params: TranscribeParams = TranscribeParams(),
    *,
    model_identity: str = "",
) -> Transcript:
    """The transcript of a recording from its spans' (in any order): segments numbered on,
    words kept in order across the joins (a word never starts before the one before it), the
    language of the first span."""
    parts = sorted(parts, key=lambda p: p.first)
    segments: list[Segment] = []
    words: list[Word] = []
    for part in parts:
        shift = len(segments)
        segments += [dataclasses.replace(s, index=s.index + shift) for s in part.segments]
        floor = words[-1].start if words else 0.0
        for w in part.words:
            start = max(w.start, floor)
            words.append(
                dataclasses.replace(
                    w, start=start, end=max(w.end, start), segment=w.segment + shift
                )
            )
            floor = start
    if not segments or not parts:
        return _empty(duration, model_identity, params)
    return Transcript(
        language=parts[0].language,
        language_probability=parts[0].language_probability,
        duration_s=duration,
        text=" ".join(s.text for s in segments if s.text),
        segments=tuple(segments),
        words=tuple(words),
        model=model_identity,
        params=params,
    )


@dataclass(frozen=True, slots=True)
class RecordingSpans:
    """A recording's audio cut into spans (:func:`spans`) for transcribing apart."""

    duration_s: float
    spans: tuple[tuple[int, np.ndarray], ...]  # (first sample, 16 kHz mono int16 samples)


def split_recording(media: Path) -> RecordingSpans:
    """Decode ``media``'s audio once and cut it into the spans :func:`transcribe` would
    transcribe one after another (none when it has no audio).

    Raises:
        InvalidMediaError: ``media`` is missing or its audio cannot be decoded.
    """
    audio = _decode_audio(Path(media))
    if audio is None or len(audio) == 0:
        return RecordingSpans(0.0, ())
    cuts = spans(audio)
    return RecordingSpans(len(audio) / SAMPLE_RATE, tuple((a, audio[a:b]) for a, b in cuts))


def _run_model(audio: np.ndarray, model: WhisperModel, params: TranscribeParams) -> Any:
    """Start faster-whisper: batched over VAD chunks, or its sequential 30 s windows."""
    from faster_whisper import BatchedInferencePipeline

    from genesis_pipeline.ml.parallel_batches import ParallelBatchedPipeline

    common: dict[str, Any] = {
        "language": params.language,
        "beam_size": params.beam_size,
        "word_timestamps": True,
    }
    if not params.vad_filter:
        # The batched pipeline without VAD cuts blind 30 s windows and loses text at their
        # edges (WER 0.46 on a 64 s clip); the sequential decoder carries context across them.
        return model.transcribe(audio, vad_filter=False, **common)
    vad = {
        "min_silence_duration_ms": params.vad_min_silence_ms,
        "speech_pad_ms": params.vad_speech_pad_ms,
        "threshold": params.vad_threshold,
    }
    pipeline = (
        ParallelBatchedPipeline(model, params.workers)
        if params.workers > 1
        else BatchedInferencePipeline(model)
    )
    return pipeline.transcribe(
        audio, batch_size=params.batch_size, vad_filter=True, vad_parameters=vad, **common
    )


def spans(audio: np.ndarray) -> list[tuple[int, int]]:
    """Sample ranges transcribed one after another: the whole audio up to :data:`SPAN_S` plus
    a little, else stretches of about :data:`SPAN_S` that each end in the quietest 250 ms of
    their last :data:`SEEK_S` seconds (a pause, in speech). The pipeline holds a span's speech
    chunks and features at once, so memory stops growing with the length of the footage."""
    import numpy as np

    n, rate = len(audio), SAMPLE_RATE
    if n <= (SPAN_S + SEEK_S) * rate:
        return [(0, n)]
    win = rate // 4
    out: list[tuple[int, int]] = []
    first = 0
    while n - first > (SPAN_S + SEEK_S) * rate:
        lo = first + (SPAN_S - SEEK_S) * rate
        frames = audio[lo : lo + SEEK_S * rate].reshape(-1, win // 5)  # 50 ms frames
        energy = np.convolve(np.square(frames, dtype=np.float64).mean(axis=1), np.ones(5), "valid")
        cut = lo + (int(np.argmin(energy)) * win // 5) + win // 2  # middle of the quiet 250 ms
        out.append((first, cut))
        first = cut
    out.append((first, n))
    return out


def _decode_audio(media: Path) -> np.ndarray | None:
    """16 kHz mono 16-bit samples of the first audio stream, or None when there is none.

    Kept as int16 (2 bytes a sample) and turned into float32 a span at a
    time, as faster-whisper's own ``decode_audio`` would (``s16 / 32768``).
    """
    import av
    import numpy as np

    if not media.is_file():
        raise InvalidMediaError(media, "file does not exist")
    try:
        with av.open(str(media), metadata_errors="ignore") as container:
            if not container.streams.audio:
                log.info("%s has no audio stream: empty transcript", media)
                return None
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            chunks = []
            frames = container.decode(audio=0)
            while True:
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                except av.error.InvalidDataError:
                    continue  # a damaged packet: skip it, as faster-whisper's decoder does
                frame.pts = None  # resample by count; timestamps of odd files can jump
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InvalidMediaError(media, f"audio cannot be decoded ({exc})") from exc
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def _clamp(t: float, duration: float) -> float:
    return round(min(max(float(t), 0.0), duration), 3)


def _words(
    raw_words: Any, segment: int, offset: float, duration: float, previous: Word | None
) -> list[Word]:
    """Words moved by ``offset`` seconds, clamped into the media and kept in order (DTW can
    overlap neighbours slightly)."""
    out: list[Word] = []
    floor = previous.start if previous else 0.0
    for w in raw_words:
        text = w.word.strip()
        if not text:
            continue
        start = max(_clamp(offset + w.start, duration), floor)
        end = max(_clamp(offset + w.end, duration), start)
        out.append(Word(text, start, end, round(float(w.probability), 4), segment))
        floor = start
    return out


# Word edges are snapped to pauses: 10 ms frames quieter than QUIET_DB below the loud end of the
# audio (its 99th-percentile frame), in runs of at least MIN_PAUSE_S (the gap between two words
# spoken apart; shorter dips are stop consonants inside a word). A boundary moves only onto a
# pause within SNAP_WINDOW_S of where Whisper put it, once Whisper's lag (the median distance of
# its boundaries from their pauses, about +0.1 s on tiny.en) is taken off.
FRAME_S = 0.01
QUIET_DB = 35.0
MIN_PAUSE_S = 0.02
SNAP_WINDOW_S = 0.35
# Which pause: a stop consonant inside a word ("detec|ted", "in|tro") makes a short silence, often
# nearer Whisper's boundary than the gap between the words, and a word gap is longer: in the
# benchmark's espeak-ng speech, closures inside words last 20-50 ms and word gaps 20-120 ms. So a
# pause's distance from the boundary is reduced by PAUSE_WEIGHT times its length, counted up to
# PAUSE_FULL_S (a longer pause is surely a gap: past it, length tells nothing more). Measured
# (benchmarks/word_timings.py, word edges more than 150 ms off of 366 on seeds 0-2): 21 without
# the weight, 14 with it (12 and 16 on seeds 3-5 and 6-8); weights 3.5 to 8 give the same, 3
# leaves 17 and 2.5 leaves 19. Espeak's closures are short; a speaker's can reach 100 ms.
PAUSE_WEIGHT = 4.0
PAUSE_FULL_S = 0.15
# A word is marked uncertain when Whisper was unsure of it (probability below
# UNCERTAIN_PROBABILITY) or of a neighbour (below UNCERTAIN_NEIGHBOUR: a misheard neighbour drags
# the boundary they share), or when it lasts less than UNCERTAIN_SHORT_S or more than
# UNCERTAIN_LONG_S, or when a snapped word still holds a pause of UNCERTAIN_HELD_PAUSE_S or more
# (longer than any closure inside a word measured, 50 ms: it swallowed a word Whisper did not
# hear, or was cut at a closure and its neighbour holds the gap). Measured
# (benchmarks/word_timings.py, 183 paired words a set of 3 seeds): they catch 13 of the 14 words
# more than 150 ms off on seeds 0-2 (12 without the held pause), 7 of 12 on seeds 3-5 and 10 of
# 16 on seeds 6-8, flagging 41-44; the rest are words Whisper was sure of (p >= 0.6) beside a
# word it dropped, or "detected|at" cut at the "t". A large snap predicted nothing (Whisper's
# phrase-final ends run 0.8 s into the pause and are snapped right).
UNCERTAIN_PROBABILITY = 0.55
UNCERTAIN_NEIGHBOUR = 0.35
UNCERTAIN_SHORT_S = 0.08
UNCERTAIN_LONG_S = 1.0
UNCERTAIN_HELD_PAUSE_S = 0.06


def pauses(samples: np.ndarray, rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (seconds, from ``samples[0]``) of the pauses in ``samples``: runs of at
    least :data:`MIN_PAUSE_S` of 10 ms frames :data:`QUIET_DB` below the loudest speech."""
    import numpy as np

    hop = round(FRAME_S * rate)
    n = len(samples) // hop
    if n == 0:
        return np.zeros(0), np.zeros(0)
    frames = samples[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = float(np.percentile(rms, 99))
    quiet = rms < loud * 10 ** (-QUIET_DB / 20) if loud > 0 else np.ones(n, dtype=bool)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    first, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = (stop - first) * FRAME_S >= MIN_PAUSE_S - 1e-9
    return first[keep] * FRAME_S, stop[keep] * FRAME_S


def _assign(
    bounds: np.ndarray,
    lows: Sequence[float],
    highs: Sequence[float],
    starts: np.ndarray,
    ends: np.ndarray,
) -> list[int | None]:
    """The pause each word boundary moves onto, or None: the cheapest assignment in which
    pauses are used once and in order (Viterbi), a boundary costing its distance to its pause
    less :data:`PAUSE_WEIGHT` times the pause's length, or :data:`SNAP_WINDOW_S` when it keeps
    Whisper's time. Boundary ``i`` may only use a pause strictly between ``lows[i]`` and
    ``highs[i]`` (its neighbouring boundaries)."""
    import numpy as np

    Chain = tuple[int, int | None, Any] | None
    states: dict[int, tuple[float, Chain]] = {-1: (0.0, None)}
    for i, b in enumerate(bounds):
        j0 = int(np.searchsorted(ends, b - SNAP_WINDOW_S))
        j1 = int(np.searchsorted(starts, b + SNAP_WINDOW_S, side="right"))
        near = [j for j in range(j0, j1) if starts[j] > lows[i] and ends[j] < highs[i]]
        new: dict[int, tuple[float, Chain]] = {}
        for last, (cost, chain) in states.items():
            keep = (cost + SNAP_WINDOW_S, (i, None, chain))
            if last not in new or keep[0] < new[last][0]:
                new[last] = keep
            for j in near:
                if j > last:
                    near_edge = min(max(b, starts[j]), ends[j])
                    longer = PAUSE_WEIGHT * min(ends[j] - starts[j], PAUSE_FULL_S)
                    moved = cost + abs(near_edge - b) - longer
                    if j not in new or moved < new[j][0]:
                        new[j] = (moved, (i, j, chain))
        # States whose last pause lies before every pause still reachable are alike: keep one.
        behind = sorted((v[0], k) for k, v in new.items() if k < j0)
        for _, k in behind[1:]:
            del new[k]
        states = new
    chain = min(states.values(), key=lambda v: v[0])[1]
    out: list[int | None] = [None] * len(bounds)
    while chain is not None:
        i, pause, chain = chain
        out[i] = pause
    return out


def refine_word_times(
    words: Sequence[Word], samples: np.ndarray, offset: float = 0.0, *, snap: bool = True
) -> tuple[Word, ...]:
    """``words`` (timed from the start of the media) with their edges moved onto the pauses of
    ``samples`` (16 kHz mono, starting ``offset`` seconds into the media) and marked
    :func:`uncertain` where their timing may be off.

    Each boundary between two words moves onto the nearest pause, longer pauses counting as
    nearer (:func:`pauses`, after taking off Whisper's lag, pauses used once and in order:
    :func:`_assign`); then a word edge left inside a pause moves to the pause's speech side. A
    boundary with no pause near it (words run together) keeps Whisper's time. With ``snap`` off
    only the marks are set.
    """
    import numpy as np

    times = [[w.start, w.end] for w in words]
    if snap and len(words) > 1:
        starts, ends = pauses(samples)
        starts, ends = starts + offset, ends + offset
        bounds = np.array([(a.end + b.start) / 2 for a, b in itertools.pairwise(words)])
        # A boundary may move as far as its neighbouring boundaries, not only within its two
        # words as Whisper timed them: Whisper starts a phrase's first word up to 0.4 s late
        # ("the", "a"), past the gap after it. Edges more than 150 ms off, of 366 on seeds
        # 0-2 of benchmarks/word_timings.py: 32 bounded by the words, 21 by the boundaries.
        lows = [words[0].start, *bounds[:-1]]
        highs = [*bounds[1:], words[-1].end]
        first = _assign(bounds, lows, highs, starts, ends)
        lags = [bounds[i] - (starts[j] + ends[j]) / 2 for i, j in enumerate(first) if j is not None]
        lag = float(np.median(lags)) if lags else 0.0
        for i, j in enumerate(_assign(bounds - lag, lows, highs, starts, ends)):
            if j is not None:
                times[i][1], times[i + 1][0] = float(starts[j]), float(ends[j])
        for t in times:
            k = int(np.searchsorted(starts, t[0], side="right")) - 1
            if k >= 0 and t[0] < ends[k] < t[1]:
                t[0] = float(ends[k])
            k = int(np.searchsorted(starts, t[1], side="right")) - 1
            if k >= 0 and t[1] < ends[k] and starts[k] > t[0]:
                t[1] = float(starts[k])
    held = [0.0] * len(words)
    if snap and len(words) > 1:
        for k, (a, b) in enumerate(times):
            inside = (starts > a) & (ends < b)
            held[k] = float((ends[inside] - starts[inside]).max()) if inside.any() else 0.0
    neighbours = [
        min([words[j].probability for j in (i - 1, i + 1) if 0 <= j < len(words)] or [1.0])
        for i in range(len(words))
    ]
    return tuple(
        dataclasses.replace(
            w,
            start=round(a, 3),
            end=round(b, 3),
            timing_uncertain=uncertain(w.probability, n, b - a, h),
        )
        for w, (a, b), n, h in zip(words, times, neighbours, held, strict=True)
    )


def uncertain(
    probability: float, neighbour_probability: float, duration: float, held_pause: float = 0.0
) -> bool:
    """Whether a word's timing may be well off: Whisper was unsure of it (probability below
    :data:`UNCERTAIN_PROBABILITY`) or of a neighbour (below :data:`UNCERTAIN_NEIGHBOUR`), it
    lasts less than :data:`UNCERTAIN_SHORT_S` or more than :data:`UNCERTAIN_LONG_S`, or its
    longest pause inside (``held_pause``, seconds; snapped words only) is at least
    :data:`UNCERTAIN_HELD_PAUSE_S`."""
    return (
        probability < UNCERTAIN_PROBABILITY
        or neighbour_probability < UNCERTAIN_NEIGHBOUR
        or not UNCERTAIN_SHORT_S <= duration <= UNCERTAIN_LONG_S
        or held_pause >= UNCERTAIN_HELD_PAUSE_S
    )


def _empty(duration: float, model_identity: str, params: TranscribeParams) -> Transcript:
    return Transcript(
        language="",
        language_probability=0.0,
        duration_s=duration,
        text="",
        segments=(),
        words=(),
        model=model_identity,
        params=params,
    )
