"""The render's last pass, in both modes: the chapters as MP4 chapter markers and, when asked,
the subtitles as a soft ``mov_text`` track, added by a stream copy (no picture or sound is
decoded, so frames and sync are exactly the render's). Burned-in subtitles are not added here:
they are drawn while the pictures are encoded (:class:`RenderExtras` ``burn_in``).

Chapter times are put on the output's frame grid: a chapter that starts with a piece starts at
that piece's first output frame.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from genesis_pipeline.files import atomic_path, tmp_prefix
from genesis_pipeline.media.ffmpeg import run_ffmpeg
from genesis_pipeline.stages.render.params import BurnIn


@dataclass(frozen=True, slots=True)
class ChapterMarker:
    """A chapter on the cut's clock (seconds)."""

    title: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class RenderExtras:
    """What a render carries besides pictures and sound.

    Attributes:
        chapters: chapter markers, in order, on the cut's clock.
        subtitles: a SubRip file on the cut's clock, added as a soft subtitle track
            (``mov_text``), or None.
        subtitle_language: its ISO 639-2 language code.
        burn_in: subtitles drawn into the pictures, or None. Every picture is then encoded:
            the render is a full re-encode whatever its mode.
    """

    chapters: tuple[ChapterMarker, ...] = ()
    subtitles: Path | None = None
    subtitle_language: str = "eng"
    burn_in: BurnIn | None = None

    @property
    def last_pass(self) -> bool:
        """Whether the render needs the last stream-copy pass (chapters or a soft track)."""
        return bool(self.chapters) or self.subtitles is not None


def on_frames(
    chapters: Sequence[ChapterMarker], rate: Fraction, frames: int
) -> list[tuple[str, int, int]]:
    """``(title, first frame, end frame)`` of each chapter on the output's frame grid (nearest
    frame), empty chapters left out, the last one ending with the render."""
    out: list[tuple[str, int, int]] = []
    starts = [
        min(frames, math.floor(Fraction(c.start_s) * rate + Fraction(1, 2))) for c in chapters
    ]
    for i, (c, a) in enumerate(zip(chapters, starts, strict=True)):
        b = starts[i + 1] if i + 1 < len(chapters) else frames
        if b > a:
            out.append((c.title, a, b))
    return out


def ffmetadata(chapters: Sequence[tuple[str, int, int]], rate: Fraction) -> str:
    """FFmpeg's metadata file with one ``[CHAPTER]`` per ``(title, first, end frame)``, in the
    output's own time base (``1/rate``: times exact on the frame grid)."""
    lines = [";FFMETADATA1"]
    for title, a, b in chapters:
        text = " ".join(title.split()) or "Untitled"
        for ch in ("\\", "=", ";", "#"):
            text = text.replace(ch, "\\" + ch)
        lines += [
            "[CHAPTER]",
            f"TIMEBASE={rate.denominator}/{rate.numerator}",
            f"START={a}",
            f"END={b}",
            f"title={text}",
        ]
    return "\n".join(lines) + "\n"


def add_extras(
    rendered: Path, out_path: Path, extras: RenderExtras, rate: Fraction, frames: int
) -> None:
    """Copy ``rendered`` to ``out_path`` (atomically) with ``extras`` added.

    Raises:
        MediaToolError: ffmpeg failed.
        ToolNotFoundError: ffmpeg is missing.
    """
    with tempfile.TemporaryDirectory(prefix=f"{tmp_prefix()}extras-", dir=out_path.parent) as d:
        meta = Path(d) / "chapters.txt"
        meta.write_text(ffmetadata(on_frames(extras.chapters, rate, frames), rate), "utf-8")
        args: list[str | Path] = ["-i", rendered, "-f", "ffmetadata", "-i", meta]
        maps = ["-map", "0:v", "-map", "0:a?"]
        codecs = ["-c", "copy"]
        if extras.subtitles is not None:
            args += ["-i", extras.subtitles]
            maps += ["-map", "2:s"]
            codecs += [
                "-c:s",
                "mov_text",
                "-metadata:s:s:0",
                f"language={extras.subtitle_language}",
            ]
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(atomic_path(out_path))
            run_ffmpeg(
                [*args, *maps, "-map_metadata", "1", "-map_chapters", "1", *codecs,
                 "-movflags", "+faststart", "-f", "mp4", "-y", tmp],
                what=f"chapters and subtitles of {out_path.name}",
            )  # fmt: skip
