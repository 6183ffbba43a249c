"""The re-encode filter graph as it was built before ffmpeg-python built it (hand-joined text,
frozen from genesis_pipeline/stages/render/reencode.py and media/filtergraph.py at f964274).

Kept only to prove that the graph ffmpeg-python builds gives the same frames and samples
(``tests/stages/test_render_graph.py``). It reads the render's plan objects by their fields.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

SEEK_GAP_S = 10.0
LIMIT_DBFS = -1.0
NARRATION_FADE_S = 0.5
DUCK_TAIL_S = 2.0


def rate_text(rate: Fraction) -> str:
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


class FilterGraph:
    def __init__(self) -> None:
        self._chains: list[str] = []
        self._counter = itertools.count()

    def label(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def chain(self, inputs: Iterable[str], filters: Sequence[str], outputs: Iterable[str]) -> None:
        ins = "".join(f"[{i}]" for i in inputs)
        outs = "".join(f"[{o}]" for o in outputs)
        self._chains.append(f"{ins}{','.join(filters)}{outs}")

    def render(self) -> str:
        return ";\n".join(self._chains)


def fit_video(width: int, height: int) -> list[str]:
    w, h = width, height
    box = f"{w}/{h}"
    sw = f"if(gt(dar\\,{box})\\,{w}\\,2*trunc({h}*dar/2+0.5))"
    sh = f"if(gt(dar\\,{box})\\,2*trunc({w}/dar/2+0.5)\\,{h})"
    return [
        f"scale=w='{sw}':h='{sh}'",
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black",
        "setsar=1",
    ]


def audio_format(
    sample_rate: int,
    channels: int | None = None,
    *,
    align_start: bool = False,
    out_channels: int = 2,
) -> list[str]:
    resample = f"aresample={sample_rate}"
    if align_start:
        resample += ":async=1:first_pts=0"
    if out_channels == 1:
        return [resample, "aformat=sample_fmts=fltp:channel_layouts=mono"]
    upmix = ["pan=stereo|c0=c0|c1=c0"] if channels == 1 else []
    return [*upmix, resample, "aformat=sample_fmts=fltp:channel_layouts=stereo"]


def out_channels(plan: Any, clips: Sequence[Any]) -> int:
    used = [p.source.audio_channels for p in plan.pieces if p.use_audio]
    used += [c.channels for c in clips]
    return 1 if used and all(c == 1 for c in used) else 2


@dataclass(slots=True)
class _Run:
    source: Any
    use_video: bool
    use_audio: bool
    pieces: list[Any]

    @property
    def seek_s(self) -> float | None:
        seek = self.pieces[0].seek
        return seek[0] if seek is not None else None

    @property
    def origin_frame(self) -> int:
        seek = self.pieces[0].seek
        return seek[1] if seek is not None else 0

    def accepts(self, piece: Any, seek_gap_s: float) -> bool:
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


def _runs(plan: Any) -> list[_Run]:
    runs: list[_Run] = []
    prev = None
    for piece in plan.pieces:
        if not (piece.use_video or piece.use_audio):
            prev = None
            continue
        if runs and prev is not None and runs[-1].accepts(piece, SEEK_GAP_S):
            runs[-1].pieces.append(piece)
        else:
            runs.append(_Run(piece.source, piece.use_video, piece.use_audio, [piece]))
        prev = piece
    return runs


def old_graph(
    plan: Any, clips: Sequence[Any], params: Any, *, video: bool = True, audio: bool = True
) -> tuple[list[str], str, str | None, str | None]:
    """``(input args, graph, video out label, audio out label)`` as the old code built them."""
    g = FilterGraph()
    sr = params.sample_rate
    ch = out_channels(plan, clips)
    layout = "mono" if ch == 1 else "stereo"
    inputs: list[str] = []
    vlabels: dict[int, str] = {}
    alabels: dict[int, str] = {}

    for run in _runs(plan):
        with_video, with_audio = run.use_video and video, run.use_audio and audio
        if not (with_video or with_audio):
            continue
        idx = _count_inputs(inputs)
        seek = run.seek_s
        if seek is not None:
            inputs += ["-ss", f"{seek:.6f}"]
        inputs += ["-i", str(run.source.path)]
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
                g.chain([branch], old_video_piece(piece, origin_frame, plan), [label])
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


def old_video_piece(piece: Any, origin_frame: int, plan: Any) -> list[str]:
    seg = piece.seg
    if piece.hold_frame is not None:
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
        rate = plan.rate
        filters.append(f"setpts=N*{rate.denominator}/({rate.numerator}*TB)")
    else:
        shift_us = round(piece.shift_s * 1e6)
        filters += [
            "settb=AVTB",
            f"setpts=PTS-STARTPTS-({shift_us})",
            f"fps={rate_text(plan.rate)}:start_time=0:round=near",
            f"tpad=stop_mode=clone:stop={piece.frames_out}",
            f"trim=end_frame={piece.frames_out}",
        ]
    return [*filters, *fit_video(plan.width, plan.height)]


def _mix_graph(
    g: FilterGraph,
    inputs: list[str],
    clips: Sequence[Any],
    plan: Any,
    params: Any,
    channels: int = 2,
) -> str:
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
    padded = total + round(DUCK_TAIL_S * sr)
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
            f"apad=whole_len={total}",
        ],
        ["aout"],
    )
    return "aout"
