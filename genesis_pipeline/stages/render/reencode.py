"""Assembly: render the approved cut, with its narration, to one H.264/AAC MP4.

Where every piece goes on the output's clock, and the output's frame rate, are planned by
:mod:`genesis_pipeline.stages.render.plan` (the frame-rate policy and how variable-rate footage is
conformed are stated there). Mode ``reencode``: one ffmpeg run decodes only what is kept, builds
the cut in a filter graph and encodes it:

* **Inputs.** Segments are grouped into *runs*: consecutive segments of one file in increasing
  frame order with gaps under :data:`SEEK_GAP_S`. Each run is one ffmpeg input opened with an
  input seek (``-ss``) half-way between its first frame and the one before, by their
  timestamps (decoding starts at the keyframe before it); inside a run the stream is ``split``
  and each segment cut by frame number (``trim=start_frame:end_frame``) and by sample number
  (``atrim=start_sample:end_sample``).
  Measured on a 60 s 1280x720 clip keeping 42 s in 7 pieces (decode + filter only): one input
  with split+trim 1.9 s, select by frame number 1.9 s, one seeked input per segment 2.2 s and
  2.5x the memory (a decoder each); but with the pieces in reverse order split+trim buffered
  every frame waiting for its turn (1.4 GB vs 0.15 GB), and for one late piece it decoded the
  whole file (4.1 s vs 1.0 s). Runs keep split+trim's single decoder where it is cheap and seek
  where it is not, so memory stays flat for any order.
* **Video.** Per segment: trim by frame number; a locked piece (constant-rate source at the
  output's rate) keeps its frames one for one, timestamps from the frame count; any other is
  conformed: its real timestamps placed on the cut's clock and ``fps`` (nearest rounding) shows
  at each output frame the source frame on screen then, duplicating or dropping frames (then
  padded/trimmed to the exact frame count). Then scaled into the output size keeping the
  display aspect, padded with black, ``setsar=1``. Rotated sources arrive upright (ffmpeg
  applies the display matrix when decoding).
* **Audio.** Per segment exactly as many samples as its video lasts on the output timeline
  (boundaries rounded from the cumulative frame count, so sync never drifts), from the source
  time its pictures show (a conformed piece: the cut's clock); a source without sound
  contributes silence (``anullsrc``). ``concat`` joins video and audio pairwise.
* **Narration.** Each clip is delayed to its offset (in samples) and scaled by its gain times
  ``narration_gain``; the clips are summed (``amix`` without normalisation) into a track as long
  as the cut. The bed (natural sound times ``bed_gain``) goes through ``sidechaincompress`` keyed
  by that track (both padded past the end, then trimmed back: the compressor stops at the first
  end of either input), the two are summed and ``alimiter`` (auto-level off, latency
  compensated) keeps peaks under -1 dBFS. Outside the narration (plus release) the bed comes
  out sample-for-sample as without narration. A clip still sounding at the cut's end fades out
  over its last :data:`NARRATION_FADE_S` inside the cut; to let it finish instead, the cut runs
  on (:attr:`AssemblyParams.extend_s`): its last piece continues in its file, or its last
  picture is held while its sound runs on (pieces of their own, planned with the cut).

Mode ``smart`` (the default; :mod:`genesis_pipeline.stages.render.smart`) shares the planning
(:func:`plan_for`, :func:`_plan_narration`) and this graph: the pictures stream-copied where
the sources allow and encoded by this graph (audio left out) only around the cuts; the sound
packet-copied where it is the sources' own, untouched
(:mod:`genesis_pipeline.stages.render.sound`), else exactly as here (video left out).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError, MediaToolError
from genesis_pipeline.files import atomic_path
from genesis_pipeline.media.ffmpeg import run_ffmpeg
from genesis_pipeline.media.filtergraph import FilterGraph, audio_format, fit_video, rate_text
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.stages.render.plan import CutPlan, Piece, Source, plan_cut
from genesis_pipeline.stages.timeline import CutSegment

log = logging.getLogger(__name__)

VERSION = 3  # 2: mono cuts stay mono; 3: real frame times, rate policy, VFR conformed

MODES = ("reencode", "smart")
"""Render modes: ``reencode`` decodes and encodes every picture; ``smart`` stream-copies the
pictures it can (see :mod:`genesis_pipeline.stages.render.smart`) and encodes the rest."""

SEEK_GAP_S = 10.0
"""A gap between two pieces of one file longer than this is skipped by seeking (a new input)
rather than decoded: a seek costs at most one GOP of decoding (x264's default is 250 frames)."""

LIMIT_DBFS = -1.0
"""Ceiling of the final limiter."""

NARRATION_FADE_S = 0.5
"""A narration clip still sounding at the cut's end fades out over this much of its end inside
the cut (less when it started later): a voice is never chopped off mid-word."""

EXTEND_WITH = ("source", "freeze")
"""How :attr:`AssemblyParams.extend_s` is filled: ``source`` runs the last piece on in its
file (its pictures and sound; its last frame held over silence where the file ends),
``freeze`` holds the last kept picture while the piece's sound runs on under it."""

_DUCK_TAIL_S = 2.0
"""Silence appended to both inputs of the ducking compressor (see :func:`_mix_graph`)."""

_X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
_BITRATE_RE = re.compile(r"^[1-9]\d*k?$")
# Filter graphs longer than this go through a file: one argv string is capped at 128 KiB on Linux.
_GRAPH_FILE_CHARS = 32_000


class NarrationClipLike(Protocol):
    """What assembly reads of a narration clip (``stages.narration.NarrationClip`` fits)."""

    @property
    def path(self) -> Path: ...

    @property
    def offset_s(self) -> float: ...

    @property
    def gain(self) -> float: ...


@dataclass(frozen=True, slots=True)
class AssemblyParams:
    """How the cut is rendered.

    Ducking: ``sidechaincompress`` keyed by the narration lowers the bed by ``1 - 1/duck_ratio``
    dB for every dB the narration's RMS level is above ``duck_threshold`` (so the depth follows
    the voice, not the bed). The threshold, 0.01 (-40 dBFS), sits far below speech (voice-overs
    read about -25 to -15 dBFS RMS), so the bed is ducked from the first syllable and ducking
    survives a quieter voice; ratio 4 keeps the depth moderate; 20 ms attack ducks before the
    first word is masked; 500 ms release holds the bed down through the pauses between words
    and lets it back within about half a second after the voice stops. Measured with a steady
    1 kHz tone as bed under an espeak-ng sentence (-21 dBFS RMS): the tone drops 19.0 dB while
    the voice plays, 10.4 dB with ``narration_gain=0.25`` (-12 dB), 5.9 dB at 0.125 (-18 dB),
    and is back within 0.01 dB afterwards (``tests/stages/test_assemble.py``).

    Attributes:
        width: output width in pixels (even); None = the first segment's display width.
        height: output height in pixels (even); None = the first segment's display height.
        fps: output frame rate; None = the rate of the footage covering most of the cut (a
            constant-rate file counts as its rate, a variable-rate one as the standard rate
            nearest its peak rate; see :mod:`~genesis_pipeline.stages.render.plan`). Footage at
            another rate, or at a variable rate, is conformed by its timestamps: each picture
            first shows within half an output frame of its time on the cut.
        crf: x264 constant rate factor (0-51, lower is better and bigger).
        preset: x264 speed preset.
        audio_bitrate: AAC bitrate (ffmpeg syntax, ``160k``).
        sample_rate: output audio sample rate in Hz.
        bed_gain: linear gain on the natural sound.
        narration_gain: linear gain on the narration, multiplying each clip's own gain.
        duck_threshold: narration level (linear, RMS) above which the bed is ducked.
        duck_ratio: compression ratio applied to the bed above the threshold (1-20).
        duck_attack_ms: how fast the bed goes down when narration starts.
        duck_release_ms: how fast the bed comes back when narration stops.
        extend_s: seconds added after the last kept frame (a voiceover that runs past the
            cut), filled as ``extend_with`` says (see :data:`EXTEND_WITH`); 0 = none.
        extend_with: ``source`` or ``freeze``.
        mode: ``smart`` (stream-copy the GOPs of compatible H.264 sources and the AAC packets
            that the cut leaves whole, encode only around the cuts: the same frames, the same
            sound within 10.7 ms of its pictures, several times faster; ``crf``, ``preset``
            and ``audio_bitrate`` then apply to the encoded stretches only) or ``reencode``
            (decode, cut and encode everything; sound in sync to the sample).
    """

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    crf: int = 20
    preset: str = "veryfast"
    audio_bitrate: str = "160k"
    sample_rate: int = 48000
    bed_gain: float = 1.0
    narration_gain: float = 1.0
    duck_threshold: float = 0.01
    duck_ratio: float = 4.0
    duck_attack_ms: float = 20.0
    duck_release_ms: float = 500.0
    mode: str = "smart"
    extend_s: float = 0.0
    extend_with: str = "source"


@dataclass(frozen=True, slots=True)
class RenderResult:
    """A finished render, as measured on the written file.

    ``frames_copied`` pictures were stream-copied from the sources (mode ``smart``),
    ``frames_encoded`` encoded; together they make ``frames``. ``frames_conformed`` of them were
    retimed onto the output's rate from variable-rate or other-rate footage (see
    :mod:`~genesis_pipeline.stages.render.plan`). ``sound_copied_s`` seconds of
    sound were packet-copied (mode ``smart``, see :mod:`~genesis_pipeline.stages.render.sound`),
    played at most ``sound_offset_ms`` after or before their pictures; otherwise the sound is
    encoded whole, sample-exact.
    """

    path: Path
    duration_s: float
    frames: int
    width: int
    height: int
    fps: float
    has_narration: bool
    params: AssemblyParams = field(default_factory=AssemblyParams)
    frames_copied: int = 0
    frames_encoded: int = 0
    sound_copied_s: float = 0.0
    sound_offset_ms: float = 0.0
    frames_conformed: int = 0

    def to_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["path"] = str(self.path)
        d["params"] = asdict(self.params)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RenderResult:
        return cls(**{**d, "path": Path(d["path"]), "params": AssemblyParams(**d["params"])})


def render_cut(
    segments: Sequence[CutSegment],
    out_path: Path,
    params: AssemblyParams = AssemblyParams(),
    narration: Sequence[NarrationClipLike] = (),
    progress: Progress = no_progress,
) -> RenderResult:
    """Render ``segments`` in order, with ``narration`` mixed over the ducked bed, to ``out_path``.

    The file is written under a temporary name beside ``out_path`` and renamed into place only
    when complete, so a failed or killed render never leaves a partial file there.

    Args:
        segments: the kept pieces, in cut order.
        out_path: the MP4 to write (replaced if it exists).
        params: output format, gains and ducking.
        narration: voice-over clips placed on the cut timeline.
        progress: ``(done_ms, total_ms, note)`` callback.

    Returns:
        What was written, measured on the file.

    Raises:
        InvalidSettingError: nothing to render, a malformed segment or clip, or a bad parameter.
        InvalidMediaError: a media or narration file is missing or is not usable media.
        MediaToolError: ffmpeg failed (the message carries ffmpeg's own).
        ToolNotFoundError: ffmpeg is missing.
    """
    _check_params(params)
    if not segments:
        raise InvalidSettingError("segments", "nothing approved to render")
    renderer = _RENDERERS[params.mode]
    return renderer(segments, Path(out_path), params, narration, progress)


# --- planning (shared by every mode) -------------------------------------------------------


def plan_for(segments: Sequence[CutSegment], params: AssemblyParams) -> CutPlan:
    """The cut on the output's clock for these parameters (see
    :mod:`~genesis_pipeline.stages.render.plan`).

    Raises:
        InvalidSettingError: a malformed segment.
        InvalidMediaError: a media file is missing or unusable.
    """
    return plan_cut(
        segments,
        width=params.width,
        height=params.height,
        fps=params.fps,
        sample_rate=params.sample_rate,
        extend_s=params.extend_s,
        freeze=params.extend_with == "freeze",
    )


@dataclass(frozen=True, slots=True)
class _Clip:
    path: Path
    channels: int | None
    delay_samples: int
    gain: float
    samples: int = 0  # length at the output's rate (0: unknown)


def _check_params(p: AssemblyParams) -> None:
    if p.mode not in MODES:
        raise InvalidSettingError("mode", f"{p.mode!r} is not one of {', '.join(MODES)}")
    for name in ("width", "height"):
        v = getattr(p, name)
        if v is not None and (v < 2 or v % 2):
            raise InvalidSettingError(name, f"{v} must be an even number of pixels >= 2")
    if p.extend_with not in EXTEND_WITH:
        raise InvalidSettingError(
            "extend_with", f"{p.extend_with!r} is not one of {', '.join(EXTEND_WITH)}"
        )
    if not (math.isfinite(p.extend_s) and 0 <= p.extend_s <= 3600):
        raise InvalidSettingError("extend_s", f"{p.extend_s} must be in [0, 3600] seconds")
    if p.fps is not None and not (0 < p.fps <= 240):
        raise InvalidSettingError("fps", f"{p.fps} must be in (0, 240]")
    if not 0 <= p.crf <= 51:
        raise InvalidSettingError("crf", f"{p.crf} must be in 0..51")
    if p.preset not in _X264_PRESETS:
        raise InvalidSettingError("preset", f"{p.preset!r} is not an x264 preset")
    if not _BITRATE_RE.match(p.audio_bitrate):
        raise InvalidSettingError("audio_bitrate", f"{p.audio_bitrate!r} is not like '160k'")
    if not 8000 <= p.sample_rate <= 192000:
        raise InvalidSettingError("sample_rate", f"{p.sample_rate} must be in 8000..192000 Hz")
    for name in ("bed_gain", "narration_gain"):
        v = getattr(p, name)
        if not (math.isfinite(v) and 0 <= v <= 64):
            raise InvalidSettingError(name, f"{v} must be a linear gain in [0, 64]")
    # Ranges are sidechaincompress's own.
    ranges = {
        "duck_threshold": (0.000976563, 1.0),
        "duck_ratio": (1.0, 20.0),
        "duck_attack_ms": (0.01, 2000.0),
        "duck_release_ms": (0.01, 9000.0),
    }
    for name, (lo, hi) in ranges.items():
        v = getattr(p, name)
        if not lo <= v <= hi:
            raise InvalidSettingError(name, f"{v} must be in [{lo:g}, {hi:g}]")


def _plan_narration(
    clips: Sequence[NarrationClipLike], plan: CutPlan, params: AssemblyParams
) -> list[_Clip]:
    """Check the clips and place them in samples; clips starting after the cut are dropped.

    Raises:
        InvalidSettingError: a negative offset or gain.
        InvalidMediaError: a clip file is missing or has no audio.
    """
    import av

    out: list[_Clip] = []
    for i, clip in enumerate(clips):
        path = Path(clip.path)
        name = f"narration[{i}] ({path.name})"
        if not (math.isfinite(clip.offset_s) and clip.offset_s >= 0):
            raise InvalidSettingError(name, f"offset {clip.offset_s} s must be >= 0")
        if not (math.isfinite(clip.gain) and clip.gain >= 0):
            raise InvalidSettingError(name, f"gain {clip.gain} must be >= 0")
        if not path.is_file():
            raise InvalidMediaError(path, "narration file does not exist")
        try:
            with av.open(str(path)) as c:
                has_audio = bool(c.streams.audio)
                channels = c.streams.audio[0].codec_context.channels if has_audio else None
                seconds = _seconds(c, c.streams.audio[0]) if has_audio else 0.0
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise InvalidMediaError(path, f"narration cannot be opened ({exc})") from None
        if not has_audio:
            raise InvalidMediaError(path, "narration file has no audio stream")
        delay = round(clip.offset_s * params.sample_rate)
        if delay >= plan.samples:
            log.warning(
                "%s starts at %.2f s, after the end of the cut (%.2f s): left out",
                name,
                clip.offset_s,
                plan.duration_s,
            )
            continue
        length = round(seconds * params.sample_rate)
        out.append(_Clip(path, channels, delay, clip.gain * params.narration_gain, length))
    return out


def _seconds(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    return float(container.duration or 0) / 1e6


# --- mode "reencode" ------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    """Consecutive pieces of one file, in increasing frame order: one ffmpeg input, seeked
    where its first piece says (:attr:`~genesis_pipeline.stages.render.plan.Piece.seek`)."""

    source: Source
    use_video: bool
    use_audio: bool
    pieces: list[Piece]

    @property
    def seek_s(self) -> float | None:
        seek = self.pieces[0].seek
        return seek[0] if seek is not None else None

    @property
    def origin_frame(self) -> int:
        """Number of the first frame the input gives (frame numbers restart at a seek)."""
        seek = self.pieces[0].seek
        return seek[1] if seek is not None else 0

    def accepts(self, piece: Piece, seek_gap_s: float) -> bool:
        last = self.pieces[-1]
        seg = piece.seg
        gap_s = piece.start_time_s - last.source.frame_time(last.seg.end_frame, last.rate)
        return (
            piece.source.path == self.source.path
            and piece.use_video == self.use_video
            and piece.use_audio == self.use_audio
            and seg.start_frame >= last.seg.end_frame
            and gap_s <= seek_gap_s
        )


def _runs(plan: CutPlan, seek_gap_s: Callable[[Path], float] | None = None) -> list[_Run]:
    """Group the pieces that read a file into runs (pieces adjacent in the cut only).

    Args:
        plan: the pieces.
        seek_gap_s: per file, the longest gap decoded through rather than skipped by a seek
            (default :data:`SEEK_GAP_S`).
    """
    runs: list[_Run] = []
    prev: Piece | None = None
    for piece in plan.pieces:
        if not (piece.use_video or piece.use_audio):
            prev = None
            continue
        gap = seek_gap_s(piece.source.path) if seek_gap_s is not None else SEEK_GAP_S
        if runs and prev is not None and runs[-1].accepts(piece, gap):
            runs[-1].pieces.append(piece)
        else:
            runs.append(_Run(piece.source, piece.use_video, piece.use_audio, [piece]))
        prev = piece
    return runs


def _reencode_graph(
    plan: CutPlan,
    clips: Sequence[_Clip],
    params: AssemblyParams,
    *,
    video: bool = True,
    audio: bool = True,
    seek_gap_s: Callable[[Path], float] | None = None,
) -> tuple[list[str], str, str | None, str | None]:
    """Build the inputs and the filter graph (video, audio or both; narration with audio).

    Returns:
        ``(input args, graph, video out label, audio out label)``; a label is None for the
        kind left out.
    """
    g = FilterGraph()
    sr = params.sample_rate
    ch = out_channels(plan, clips)
    layout = "mono" if ch == 1 else "stereo"
    inputs: list[str] = []
    vlabels: dict[int, str] = {}  # piece index -> label
    alabels: dict[int, str] = {}

    for run in _runs(plan, seek_gap_s):
        # Inputs and seeks do not depend on which kinds are wanted: the audio of a render is
        # the same whichever mode made its pictures.
        with_video, with_audio = run.use_video and video, run.use_audio and audio
        if not (with_video or with_audio):
            continue
        idx = _count_inputs(inputs)
        seek = run.seek_s
        if seek is not None:
            inputs += ["-ss", f"{seek:.6f}"]
        inputs += ["-i", str(run.source.path)]
        # Frame and sample numbers restart at the seek point.
        origin_frame = run.origin_frame
        origin_s = seek if seek is not None else 0.0
        n = len(run.pieces)
        if with_video:
            src = f"{idx}:{run.source.video_index}"
            branches = [g.label("vs") for _ in run.pieces]
            if n > 1:
                g.chain([src], [f"split={n}"], branches)
            else:
                branches = [src]
            for piece, branch in zip(run.pieces, branches, strict=True):
                label = g.label("v")
                g.chain([branch], _video_piece(piece, origin_frame, plan), [label])
                vlabels[piece.index] = label
        if with_audio:
            src = f"{idx}:{run.source.audio_index}"
            fmt = audio_format(sr, run.source.audio_channels, align_start=True, out_channels=ch)
            if n > 1:
                branches = [g.label("as") for _ in run.pieces]
                g.chain([src], [*fmt, f"asplit={n}"], branches)
                pre: list[str] = []
            else:
                branches = [src]
                pre = fmt
            for piece, branch in zip(run.pieces, branches, strict=True):
                first = round((piece.sound_start_s - origin_s) * sr)
                # A conformed piece's sound can start a little before its file does: silence.
                cut = (
                    [f"atrim=start_sample={first}:end_sample={first + piece.samples_out}"]
                    if first >= 0
                    else [
                        f"adelay=delays={-first}S:all=1",
                        f"atrim=end_sample={piece.samples_out}",
                    ]
                )
                label = g.label("a")
                g.chain(
                    [branch],
                    [*pre, *cut, "asetpts=PTS-STARTPTS", f"apad=whole_len={piece.samples_out}"],
                    [label],
                )
                alabels[piece.index] = label

    pairs: list[str] = []
    for piece in plan.pieces:
        if video and piece.index not in vlabels:
            label = g.label("v")
            g.chain(
                [],
                [
                    f"color=c=black:s={plan.width}x{plan.height}:r={rate_text(plan.rate)}",
                    f"trim=end_frame={piece.frames_out}",
                    "setsar=1",
                ],
                [label],
            )
            vlabels[piece.index] = label
        if audio and piece.index not in alabels:
            label = g.label("a")
            g.chain(
                [],
                [
                    f"anullsrc=r={sr}:cl={layout}",
                    f"atrim=end_sample={piece.samples_out}",
                    *audio_format(sr, out_channels=ch)[-1:],
                ],
                [label],
            )
            alabels[piece.index] = label
        pairs += [x[piece.index] for x, on in ((vlabels, video), (alabels, audio)) if on]

    outs = ["vcat"] * video + ["bed"] * audio
    g.chain(pairs, [f"concat=n={len(plan.pieces)}:v={int(video)}:a={int(audio)}"], outs)
    video_out = audio_out = None
    if video:
        g.chain(["vcat"], ["format=yuv420p"], ["vout"])
        video_out = "vout"
    if audio:
        audio_out = _mix_graph(g, inputs, clips, plan, params, ch)
    return inputs, g.render(), video_out, audio_out


def _count_inputs(args: Sequence[str]) -> int:
    return sum(1 for a in args if a == "-i")


def _video_piece(piece: Piece, origin_frame: int, plan: CutPlan) -> list[str]:
    """Filters that make a piece's output frames from its input (frames counted from
    ``origin_frame``): trim by frame number, then the source's own frames one for one (a
    locked piece) or conformed onto the output's grid by their timestamps."""
    seg = piece.seg
    if piece.hold_frame is not None:
        # A freeze frame: the one picture, repeated, on the output's grid.
        first = piece.hold_frame - origin_frame
        rate = plan.rate
        filters = [
            f"trim=start_frame={first}:end_frame={first + 1}",
            f"loop=loop={piece.frames_out - 1}:size=1:start=0",
            f"setpts=N*{rate.denominator}/({rate.numerator}*TB)",
        ]
        return [*filters, *fit_video(plan.width, plan.height)]
    first = seg.start_frame - origin_frame
    filters = [f"trim=start_frame={first}:end_frame={first + seg.frames}"]
    if not piece.conform:
        rate = plan.rate  # the source's own, exactly
        filters.append(f"setpts=N*{rate.denominator}/({rate.numerator}*TB)")
    else:
        # Source frame i at (t_i - t_first) - shift on the piece's output clock: fps shows at
        # each output frame the source frame on screen then (nearest rounding), from 0.
        shift_us = round(piece.shift_s * 1e6)
        filters += [
            "settb=AVTB",
            f"setpts=PTS-STARTPTS-({shift_us})",
            f"fps={rate_text(plan.rate)}:start_time=0:round=near",
            # A last frame held past the end of its stream: clone it, then cut to the count.
            f"tpad=stop_mode=clone:stop={piece.frames_out}",
            f"trim=end_frame={piece.frames_out}",
        ]
    return [*filters, *fit_video(plan.width, plan.height)]


def _mix_graph(
    g: FilterGraph,
    inputs: list[str],
    clips: Sequence[_Clip],
    plan: CutPlan,
    params: AssemblyParams,
    channels: int = 2,
) -> str:
    """Add the bed gain, narration, ducking and limiter; returns the audio output label."""
    limiter = (
        f"alimiter=limit={10 ** (LIMIT_DBFS / 20):.6f}:attack=5:release=50"
        ":level=disabled:latency=enabled"
    )
    if not clips:
        if params.bed_gain == 1.0:
            return "bed"
        g.chain(["bed"], [f"volume={params.bed_gain:.6f}", limiter], ["aout"])
        return "aout"

    sr = params.sample_rate
    total = plan.samples
    voice: list[str] = []
    for clip in clips:
        idx = _count_inputs(inputs)
        inputs += ["-i", str(clip.path)]
        label = g.label("n")
        fade = []
        if clip.samples and clip.delay_samples + clip.samples > total:
            # Still sounding at the end: fade out (sample positions are cut time here).
            n = min(round(NARRATION_FADE_S * sr), total - clip.delay_samples)
            fade = [f"afade=t=out:start_sample={total - n}:nb_samples={n}"]
        g.chain(
            [f"{idx}:a:0"],
            [
                *audio_format(sr, clip.channels, out_channels=channels),
                f"volume={clip.gain:.6f}",
                f"adelay=delays={clip.delay_samples}S:all=1",
                *fade,
            ],
            [label],
        )
        voice.append(label)
    # sidechaincompress ends as soon as either input ends, dropping what it holds of the other
    # (measured: 0-0.2 s of the bed lost at random). Both inputs run past the cut by
    # _DUCK_TAIL_S of silence, and the mix is trimmed back to the exact length.
    padded = total + round(_DUCK_TAIL_S * sr)
    fit = [f"apad=whole_len={padded}", f"atrim=end_sample={padded}", "asplit=2"]
    if len(voice) > 1:
        mix = f"amix=inputs={len(voice)}:normalize=0:duration=longest:dropout_transition=0"
        g.chain(voice, [mix, *fit], ["key", "voice"])
    else:
        g.chain(voice, fit, ["key", "voice"])
    g.chain(["bed"], [f"volume={params.bed_gain:.6f}", f"apad=whole_len={padded}"], ["bedg"])
    g.chain(
        ["bedg", "key"],
        [
            f"sidechaincompress=threshold={params.duck_threshold:g}:ratio={params.duck_ratio:g}"
            f":attack={params.duck_attack_ms:g}:release={params.duck_release_ms:g}"
        ],
        ["ducked"],
    )
    g.chain(
        ["ducked", "voice"],
        [
            "amix=inputs=2:normalize=0:duration=first",
            f"atrim=end_sample={total}",
            limiter,
            f"apad=whole_len={total}",  # a no-op unless the compressor ended even earlier
        ],
        ["aout"],
    )
    return "aout"


def _render_reencode(
    segments: Sequence[CutSegment],
    out_path: Path,
    params: AssemblyParams,
    narration: Sequence[NarrationClipLike],
    progress: Progress,
) -> RenderResult:
    plan = plan_for(segments, params)
    clips = _plan_narration(narration, plan, params)
    inputs, graph, vout, aout = _reencode_graph(plan, clips, params)
    log.info(
        "rendering %d pieces (%d inputs), %.2f s at %dx%d %s fps%s to %s",
        len(plan.pieces),
        _count_inputs(inputs),
        plan.duration_s,
        plan.width,
        plan.height,
        rate_text(plan.rate),
        f", {len(clips)} narration clips" if clips else "",
        out_path,
    )
    log.debug("filter graph:\n%s", graph)
    encode = [
        "-map", f"[{vout}]", "-map", f"[{aout}]",
        *_video_codec_args(params, plan.rate),
        *_audio_codec_args(params, out_channels(plan, clips)),
        *_MP4_ARGS,
    ]  # fmt: skip
    with contextlib.ExitStack() as stack:
        graph_args = _graph_args(stack, graph)
        tmp = stack.enter_context(atomic_path(out_path))
        progress(0, int(plan.duration_s * 1000), "render")
        run_ffmpeg(
            ["-y", *inputs, *graph_args, *encode, os.fspath(tmp)],
            what=f"render {out_path.name}",
            duration_s=plan.duration_s,
            progress=progress,
        )
        frames = _count_frames(tmp)
    if abs(frames - plan.frames) > 1:
        log.warning("%s has %d frames, %d were planned", out_path.name, frames, plan.frames)
    progress(int(plan.duration_s * 1000), int(plan.duration_s * 1000), "render done")
    return _result(plan, out_path, frames, params, clips, copied=0, encoded=frames)


def _result(
    plan: CutPlan,
    path: Path,
    frames: int,
    params: AssemblyParams,
    clips: Sequence[Any],
    *,
    copied: int,
    encoded: int,
    sound_copied_s: float = 0.0,
    sound_offset_ms: float = 0.0,
) -> RenderResult:
    """The result of a render of ``plan`` whose file holds ``frames`` frames."""
    return RenderResult(
        path=path,
        duration_s=frames / float(plan.rate),
        frames=frames,
        width=plan.width,
        height=plan.height,
        fps=float(plan.rate),
        has_narration=bool(clips),
        params=params,
        frames_copied=copied,
        frames_encoded=encoded,
        sound_copied_s=sound_copied_s,
        sound_offset_ms=sound_offset_ms,
        frames_conformed=plan.frames_conformed,
    )


_MP4_ARGS = ("-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4")


def _video_codec_args(params: AssemblyParams, rate: Fraction) -> list[str]:
    return [
        "-c:v", "libx264", "-preset", params.preset, "-crf", str(params.crf),
        "-pix_fmt", "yuv420p", "-r", rate_text(rate), "-fps_mode", "cfr",
    ]  # fmt: skip


def out_channels(plan: CutPlan, clips: Sequence[_Clip]) -> int:
    """1 when every sound in the cut (kept sources and narration) is mono, else 2.

    Upmixing mono to stereo adds nothing to hear and doubles the AAC encode, the slowest part
    of a smart render.
    """
    used = [p.source.audio_channels for p in plan.pieces if p.use_audio]
    used += [c.channels for c in clips]
    return 1 if used and all(c == 1 for c in used) else 2


def _audio_codec_args(params: AssemblyParams, channels: int = 2) -> list[str]:
    return [
        "-c:a", "aac", "-b:a", params.audio_bitrate,
        "-ar", str(params.sample_rate), "-ac", str(channels),
    ]  # fmt: skip


def _graph_args(stack: contextlib.ExitStack, graph: str) -> list[str]:
    """``-filter_complex graph``, or through a temporary file when it is too long for argv."""
    if len(graph) <= _GRAPH_FILE_CHARS:
        return ["-filter_complex", graph]
    # Closed (and removed) by the caller's stack once ffmpeg has run.
    script = stack.enter_context(
        tempfile.NamedTemporaryFile("w", prefix="genesis-graph-", suffix=".txt")  # noqa: SIM115
    )
    script.write(graph)
    script.flush()
    return ["-/filter_complex", script.name]


def _render_smart(
    segments: Sequence[CutSegment],
    out_path: Path,
    params: AssemblyParams,
    narration: Sequence[NarrationClipLike],
    progress: Progress,
) -> RenderResult:
    from genesis_pipeline.stages.render.smart import render_smart

    return render_smart(segments, out_path, params, narration, progress)


def _count_frames(path: Path) -> int:
    """Video frames in a written MP4 (from its sample table, no decoding).

    Raises:
        MediaToolError: ffmpeg reported success but the file has no video.
    """
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise MediaToolError("render", f"{path.name} has no video stream")
            return int(c.streams.video[0].frames)
    except av.error.FFmpegError as exc:
        raise MediaToolError("render", f"{path.name} cannot be read back ({exc})") from None


_RENDERERS: dict[
    str,
    Callable[
        [Sequence[CutSegment], Path, AssemblyParams, Sequence[NarrationClipLike], Progress],
        RenderResult,
    ],
] = {"reencode": _render_reencode, "smart": _render_smart}
