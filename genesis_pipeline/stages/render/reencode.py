"""Mode ``reencode``: one ffmpeg run decodes only what is kept, builds the cut in a filter graph
and encodes it. The graph (:func:`cut_graph`) and the codec arguments are shared with mode
``smart``, which encodes its stretches around the cuts, and its sound when it cannot copy it,
exactly as here.

The graph, built with ffmpeg-python (:mod:`genesis_pipeline.media.filtergraph`):

* **Inputs.** One per :class:`~genesis_pipeline.stages.render.inputs.InputRun`, seeked
  (``-ss``) half-way between the run's first frame and the one before; inside a run the
  stream is ``split`` and each piece cut by frame number (``trim``) and by sample number
  (``atrim``).
* **Video.** Per piece: a locked piece keeps its frames one for one (timestamps from the frame
  count); a conformed one has its real timestamps placed on the cut's clock and ``fps``
  (nearest rounding) shows at each output frame the source frame on screen then (then padded
  or trimmed to the exact frame count); a freeze repeats one picture. Then scaled into the
  output size keeping the display aspect, padded with black, ``setsar=1``. Rotated sources
  arrive upright (ffmpeg applies the display matrix when decoding).
* **Audio.** Per piece exactly as many samples as its pictures last on the output's clock,
  from the source time its pictures show (a conformed piece: the cut's clock); a piece
  without sound contributes silence (``anullsrc``). ``concat`` joins pictures and sound
  pairwise.
* **Narration** (:func:`mix`). Each clip delayed to its offset (in samples), scaled by its
  gain, summed (``amix`` without normalisation) into a track as long as the cut; a clip still
  sounding at the cut's end fades out over its last
  :data:`~genesis_pipeline.stages.render.params.NARRATION_FADE_S` inside it. The bed (natural
  sound times ``bed_gain``) goes through ``sidechaincompress`` keyed by that track, the two are
  summed and ``alimiter`` (auto-level off, latency compensated) keeps peaks under -1 dBFS.
  Outside the narration (plus release) the bed comes out sample for sample as without it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from genesis_pipeline.files import atomic_path
from genesis_pipeline.media.ffmpeg import run_ffmpeg
from genesis_pipeline.media.filtergraph import (
    Filter,
    Stream,
    audio_format,
    chain,
    command,
    fit_video,
    graph_of,
    graph_through_file,
    join,
    open_input,
    rate_text,
    source,
    split,
    stream,
)
from genesis_pipeline.progress import Progress
from genesis_pipeline.stages.render.inputs import input_runs
from genesis_pipeline.stages.render.params import (
    NARRATION_FADE_S,
    AssemblyParams,
    BurnIn,
    RenderResult,
)
from genesis_pipeline.stages.render.plan import Piece, RenderPlan
from genesis_pipeline.stages.render.result import count_frames, render_result

log = logging.getLogger(__name__)

LIMIT_DBFS = -1.0
"""Ceiling of the final limiter."""

DUCK_TAIL_S = 2.0
"""Silence appended to both inputs of the ducking compressor (see :func:`mix`)."""

MP4_OPTIONS: dict[str, object] = {
    "map_metadata": -1,
    "map_chapters": -1,
    "movflags": "+faststart",
    "format": "mp4",
}
"""Output options of every render: no metadata or chapters carried over, index up front."""


def video_codec_options(params: AssemblyParams, rate: Fraction) -> dict[str, object]:
    """x264 at the render's quality and preset, 4:2:0, constant rate ``rate``."""
    return {
        "c:v": "libx264",
        "preset": params.preset,
        "crf": params.crf,
        "pix_fmt": "yuv420p",
        "r": rate_text(rate),
        "fps_mode": "cfr",
    }


def audio_codec_options(params: AssemblyParams, channels: int = 2) -> dict[str, object]:
    """AAC at the render's bit rate, sample rate and ``channels``."""
    return {
        "c:a": "aac",
        "b:a": params.audio_bitrate,
        "ar": params.sample_rate,
        "ac": channels,
    }


def cut_graph(
    plan: RenderPlan,
    params: AssemblyParams,
    *,
    video: bool = True,
    audio: bool = True,
    seek_gap_s: Callable[[Path], float] | None = None,
) -> tuple[Stream | None, Stream | None]:
    """The cut's pictures and sound (with the narration mixed in) as filter-graph outputs.

    Args:
        plan: the pieces, the output's format and the narration clips.
        params: gains and ducking.
        video / audio: which kinds to build; the one left out is None.
        seek_gap_s: see :func:`~genesis_pipeline.stages.render.inputs.input_runs`.

    Returns:
        ``(pictures, sound)``.
    """
    sr = params.sample_rate
    ch = plan.channels
    layout = "mono" if ch == 1 else "stereo"
    vparts: dict[int, Stream] = {}  # piece index -> its pictures
    aparts: dict[int, Stream] = {}

    for run in input_runs(plan, seek_gap_s):
        # Inputs and seeks do not depend on which kinds are wanted: the audio of a render is
        # the same whichever mode made its pictures.
        with_video, with_audio = run.use_video and video, run.use_audio and audio
        if not (with_video or with_audio):
            continue
        seek = run.seek_s
        media = (
            open_input(run.source.path, ss=f"{seek:.6f}")
            if seek is not None
            else open_input(run.source.path)
        )
        # Frame and sample numbers restart at the seek point.
        origin_frame = run.origin_frame
        origin_s = seek if seek is not None else 0.0
        n = len(run.pieces)
        if with_video:
            assert run.source.video_index is not None  # pieces use video only when it exists
            branches = split(stream(media, run.source.video_index), n)
            for piece, branch in zip(run.pieces, branches, strict=True):
                vparts[piece.index] = chain(branch, video_piece(piece, origin_frame, plan))
        if with_audio:
            fmt = audio_format(sr, run.source.audio_channels, align_start=True, out_channels=ch)
            assert run.source.audio_index is not None
            sound = stream(media, run.source.audio_index)
            branches = split(chain(sound, fmt), n, audio=True) if n > 1 else [sound]
            pre = [] if n > 1 else fmt
            for piece, branch in zip(run.pieces, branches, strict=True):
                first = round((piece.sound_start_s - origin_s) * sr)
                # A conformed piece's sound can start a little before its file does: silence.
                cut = (
                    [Filter.of("atrim", start_sample=first, end_sample=first + piece.samples_out)]
                    if first >= 0
                    else [
                        Filter.of("adelay", delays=f"{-first}S", all=1),
                        Filter.of("atrim", end_sample=piece.samples_out),
                    ]
                )
                aparts[piece.index] = chain(
                    branch,
                    [
                        *pre,
                        *cut,
                        Filter.of("asetpts", "PTS-STARTPTS"),
                        Filter.of("apad", whole_len=piece.samples_out),
                    ],
                )

    pairs: list[Stream] = []
    for piece in plan.pieces:
        if video and piece.index not in vparts:
            black = Filter.of(
                "color", c="black", s=f"{plan.width}x{plan.height}", r=rate_text(plan.rate)
            )
            vparts[piece.index] = chain(
                source(black),
                [Filter.of("trim", end_frame=piece.frames_out), Filter.of("setsar", 1)],
            )
        if audio and piece.index not in aparts:
            aparts[piece.index] = chain(
                source(Filter.of("anullsrc", r=sr, cl=layout)),
                [
                    Filter.of("atrim", end_sample=piece.samples_out),
                    *audio_format(sr, out_channels=ch)[-1:],
                ],
            )
        pairs += [x[piece.index] for x, on in ((vparts, video), (aparts, audio)) if on]

    joined = join(
        pairs,
        Filter.of("concat", n=len(plan.pieces), v=int(video), a=int(audio)),
        outputs=int(video) + int(audio),
    )
    pictures = chain(joined[0], [Filter.of("format", "yuv420p")]) if video else None
    sound = mix(joined[-1], plan, params) if audio else None
    return pictures, sound


def video_piece(piece: Piece, origin_frame: int, plan: RenderPlan) -> list[Filter]:
    """Filters that make a piece's output frames from its input (frames counted from
    ``origin_frame``): trim by frame number, then the source's own frames one for one (a
    locked piece) or conformed onto the output's grid by their timestamps."""
    seg = piece.seg
    rate = plan.rate
    if piece.hold_frame is not None:
        # A freeze frame: the one picture, repeated, on the output's grid.
        first = piece.hold_frame - origin_frame
        filters = [
            Filter.of("trim", start_frame=first, end_frame=first + 1),
            Filter.of("loop", loop=piece.frames_out - 1, size=1, start=0),
            Filter.of("setpts", f"N*{rate.denominator}/({rate.numerator}*TB)"),
        ]
        return [*filters, *fit_video(plan.width, plan.height)]
    first = seg.start_frame - origin_frame
    filters = [Filter.of("trim", start_frame=first, end_frame=first + seg.frames)]
    if not piece.conform:
        # The source's own rate, exactly.
        filters.append(Filter.of("setpts", f"N*{rate.denominator}/({rate.numerator}*TB)"))
    else:
        # Source frame i at (t_i - t_first) - shift on the piece's output clock: fps shows at
        # each output frame the source frame on screen then (nearest rounding), from 0.
        shift_us = round(piece.shift_s * 1e6)
        filters += [
            Filter.of("settb", "AVTB"),
            Filter.of("setpts", f"PTS-STARTPTS-({shift_us})"),
            Filter.of("fps", rate_text(rate), start_time=0, round="near"),
            # A last frame held past the end of its stream: clone it, then cut to the count.
            Filter.of("tpad", stop_mode="clone", stop=piece.frames_out),
            Filter.of("trim", end_frame=piece.frames_out),
        ]
    return [*filters, *fit_video(plan.width, plan.height)]


def mix(bed: Stream, plan: RenderPlan, params: AssemblyParams) -> Stream:
    """The natural sound ``bed`` with its gain, the narration, ducking and the limiter."""
    limiter = Filter.of(
        "alimiter",
        limit=f"{10 ** (LIMIT_DBFS / 20):.6f}",
        attack=5,
        release=50,
        level="disabled",
        latency="enabled",
    )
    if not plan.clips:
        if params.bed_gain == 1.0:
            return bed
        return chain(bed, [Filter.of("volume", f"{params.bed_gain:.6f}"), limiter])

    sr = params.sample_rate
    total = plan.samples
    voices: list[Stream] = []
    for clip in plan.clips:
        fade = []
        if clip.samples and clip.delay_samples + clip.samples > total:
            # Still sounding at the end: fade out (sample positions are cut time here).
            n = min(round(NARRATION_FADE_S * sr), total - clip.delay_samples)
            fade = [Filter.of("afade", t="out", start_sample=total - n, nb_samples=n)]
        voice = chain(
            stream(open_input(clip.path), "a:0"),
            [
                *audio_format(sr, clip.channels, out_channels=plan.channels),
                Filter.of("volume", f"{clip.gain:.6f}"),
                Filter.of("adelay", delays=f"{clip.delay_samples}S", all=1),
                *fade,
            ],
        )
        voices.append(voice)
    # sidechaincompress ends as soon as either input ends, dropping what it holds of the other
    # (0-0.2 s of the bed lost at random). Both inputs run past the cut by DUCK_TAIL_S of
    # silence, and the mix is trimmed back to the exact length.
    padded = total + round(DUCK_TAIL_S * sr)
    if len(voices) > 1:
        amix = Filter.of(
            "amix", inputs=len(voices), normalize=0, duration="longest", dropout_transition=0
        )
        voices = join(voices, amix)
    narration = chain(
        voices[0],
        [Filter.of("apad", whole_len=padded), Filter.of("atrim", end_sample=padded)],
    )
    key, voice = split(narration, 2, audio=True)
    bed = chain(
        bed,
        [Filter.of("volume", f"{params.bed_gain:.6f}"), Filter.of("apad", whole_len=padded)],
    )
    compress = Filter.of(
        "sidechaincompress",
        threshold=f"{params.duck_threshold:g}",
        ratio=f"{params.duck_ratio:g}",
        attack=f"{params.duck_attack_ms:g}",
        release=f"{params.duck_release_ms:g}",
    )
    (ducked,) = join([bed, key], compress)
    (mixed,) = join([ducked, voice], Filter.of("amix", inputs=2, normalize=0, duration="first"))
    return chain(
        mixed,
        [
            Filter.of("atrim", end_sample=total),
            limiter,
            Filter.of("apad", whole_len=total),  # a no-op unless the compressor ended earlier
        ],
    )


def burn_subtitles(burn: BurnIn) -> Filter:
    """libass's ``subtitles`` filter drawing ``burn``'s SubRip file into the pictures. It goes
    after the cut is joined, where timestamps are the cut's clock, the clock the cues are on."""
    return Filter.of(
        "subtitles",
        filename=str(burn.subtitles),
        charenc="UTF-8",
        force_style=burn.style.force_style(),
    )


def render_reencode(
    plan: RenderPlan,
    params: AssemblyParams,
    out_path: Path,
    progress: Progress,
    burn_in: BurnIn | None = None,
) -> RenderResult:
    """Render ``plan`` by decoding and encoding everything (see the module docstring), with
    ``burn_in`` subtitles drawn into the pictures when given.

    Raises:
        MediaToolError: ffmpeg failed (the message carries ffmpeg's own), or wrote no video.
        ToolNotFoundError: ffmpeg is missing.
    """
    pictures, sound = cut_graph(plan, params)
    if burn_in is not None and pictures is not None:
        pictures = chain(pictures, [burn_subtitles(burn_in)])
    options = {
        **video_codec_options(params, plan.rate),
        **audio_codec_options(params, plan.channels),
        **MP4_OPTIONS,
    }
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(out_path))
        args = command([pictures, sound], tmp, **options)
        log.info(
            "rendering %d pieces (%d inputs), %.2f s at %dx%d %s fps%s%s to %s",
            len(plan.pieces),
            args.count("-i"),
            plan.duration_s,
            plan.width,
            plan.height,
            rate_text(plan.rate),
            f", {len(plan.clips)} narration clips" if plan.clips else "",
            ", subtitles burned in" if burn_in is not None else "",
            out_path,
        )
        log.debug("filter graph:\n%s", graph_of(args))
        progress(0, int(plan.duration_s * 1000), "render")
        run_ffmpeg(
            graph_through_file(args, stack),
            what=f"render {out_path.name}",
            duration_s=plan.duration_s,
            progress=progress,
        )
        frames = count_frames(tmp)
    if abs(frames - plan.frames) > 1:
        log.warning("%s has %d frames, %d were planned", out_path.name, frames, plan.frames)
    progress(int(plan.duration_s * 1000), int(plan.duration_s * 1000), "render done")
    return render_result(plan, out_path, frames, params, copied=0, encoded=frames)


def encode_sound(plan: RenderPlan, params: AssemblyParams, out: Path, progress: Progress) -> None:
    """The whole sound of the cut, exactly as a re-encode makes it, to an AAC MP4 at ``out``.

    Raises:
        MediaToolError: ffmpeg failed.
        ToolNotFoundError: ffmpeg is missing.
    """
    _, sound = cut_graph(plan, params, video=False)
    options = {**audio_codec_options(params, plan.channels), "map_metadata": -1, "format": "mp4"}
    with contextlib.ExitStack() as stack:
        args = graph_through_file(command([sound], out, **options), stack)
        run_ffmpeg(args, what=f"sound of {out.name}", duration_s=plan.duration_s, progress=progress)
