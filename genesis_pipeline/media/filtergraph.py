"""Building ffmpeg ``-filter_complex`` graphs as text, one labelled chain at a time.

The graph is plain ffmpeg filter syntax (readable in logs, pasteable into a shell for debugging);
this module only keeps labels unique and holds the few chains that
normalise heterogeneous sources (size, aspect, frame rate, audio format).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from fractions import Fraction


def fps_fraction(fps: float | Fraction) -> Fraction:
    """A frame rate as an exact fraction: 29.97003 -> 30000/1001, 25.0 -> 25, 12.5 -> 25/2."""
    if isinstance(fps, Fraction):
        return fps
    return Fraction(fps).limit_denominator(1001)


def rate_text(rate: Fraction) -> str:
    """``30000/1001`` or ``25``: the form ffmpeg options and filters accept."""
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


class FilterGraph:
    """An ordered list of chains ``[in1][in2]f1=a,f2=b[out]`` with generated unique labels."""

    def __init__(self) -> None:
        self._chains: list[str] = []
        self._counter = itertools.count()

    def label(self, prefix: str) -> str:
        """A fresh label such as ``v3`` (without brackets)."""
        return f"{prefix}{next(self._counter)}"

    def chain(self, inputs: Iterable[str], filters: Sequence[str], outputs: Iterable[str]) -> None:
        """Append ``[inputs]filters[outputs]``; an empty filter list means ``null``/``anull``."""
        ins = "".join(f"[{i}]" for i in inputs)
        outs = "".join(f"[{o}]" for o in outputs)
        if not filters:
            raise ValueError("a chain needs at least one filter")
        self._chains.append(f"{ins}{','.join(filters)}{outs}")

    def __len__(self) -> int:
        return len(self._chains)

    def render(self) -> str:
        """The whole graph, one chain per line (ffmpeg accepts ``;`` followed by newlines)."""
        return ";\n".join(self._chains)


def fit_video(width: int, height: int) -> list[str]:
    """Scale into ``width``x``height`` keeping the display aspect (sample aspect applied), pad
    the rest with black, and mark pixels square.

    ``dar`` in the scale expressions is the display aspect ratio, so anamorphic sources come out
    with their intended shape; dimensions are rounded to even numbers for 4:2:0 chroma.
    """
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
    """Resample to ``sample_rate`` float, stereo (or mono when ``out_channels`` is 1).

    Args:
        sample_rate: output rate in Hz.
        channels: the source's channel count; into stereo, mono is copied to both channels at
            unity gain (ffmpeg's default upmix would put it 3 dB lower on each).
        out_channels: 1 only when every source of the mix is mono (nothing to downmix).
        align_start: fill timestamp gaps with silence and pad/trim the head so that sample ``k``
            is at time ``k / sample_rate`` (counting samples then equals reading timestamps).
    """
    resample = f"aresample={sample_rate}"
    if align_start:
        resample += ":async=1:first_pts=0"
    if out_channels == 1:
        return [resample, "aformat=sample_fmts=fltp:channel_layouts=mono"]
    upmix = ["pan=stereo|c0=c0|c1=c0"] if channels == 1 else []
    return [*upmix, resample, "aformat=sample_fmts=fltp:channel_layouts=stereo"]
