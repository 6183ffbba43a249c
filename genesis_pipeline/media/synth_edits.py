"""Synthetic footage with the edits real footage has, each with exact ground truth.

:mod:`~genesis_pipeline.media.synth` joins test sources by hard cuts only. Here shots are joined
by cuts or by ffmpeg ``xfade`` transitions (cross-dissolves, fades through black or white,
wipes and slides), and shots may carry the things that fool shot detectors without being a
boundary: fast pans, fast zooms, flash frames and a dark, grainy scene. The ground truth is in
frames: every boundary's kind and the frames ``[start, end)`` its transition touches (a cut has
``start == end``, the first frame of the new shot).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from genesis_pipeline.media.ffmpeg import run_ffmpeg

# The xfade transitions each gradual kind is drawn from.
XFADES: dict[str, tuple[str, ...]] = {
    "dissolve": ("fade", "dissolve", "fadegrays"),
    "fade": ("fadeblack", "fadewhite"),
    "wipe": ("wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "circleopen", "radial"),
}
KINDS = ("cut", *XFADES)
# Shot effects that are no boundary: traps for a detector.
EFFECTS = ("", "pan", "zoom", "flash", "dark")
# Frames of a flash: a photographer's flash or a strobe lasts one to three frames.
FLASH_FRAMES = 2


@dataclass(frozen=True, slots=True)
class EditShot:
    """One shot: an ffmpeg test source, its length, and an optional trap effect."""

    source: str
    duration_s: float
    effect: str = ""


@dataclass(frozen=True, slots=True)
class Join:
    """How a shot joins the previous one: a cut, or an xfade ``transition`` of ``duration_s``."""

    kind: str = "cut"
    duration_s: float = 0.0
    transition: str = ""


@dataclass(frozen=True, slots=True)
class Boundary:
    """A true boundary: its kind and the frames ``[start, end)`` the transition touches.

    A cut has ``start == end`` (the first frame of the new shot); a gradual transition's
    frames mix both shots.
    """

    kind: str
    start: int
    end: int
    transition: str = ""

    @property
    def gradual(self) -> bool:
        return self.end > self.start

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2


@dataclass(frozen=True, slots=True)
class EditedFootage:
    """A generated clip and its ground truth."""

    path: Path
    fps: int
    frames: int
    width: int
    height: int
    boundaries: tuple[Boundary, ...]
    shots: tuple[EditShot, ...]
    # Frames ``[start, end)`` of each trap effect (no boundary there), with the effect's name.
    traps: tuple[tuple[str, int, int], ...] = ()

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    def write_ground_truth(self) -> Path:
        out = self.path.with_suffix(".truth.json")
        doc = asdict(self)
        doc["path"] = str(self.path)
        out.write_text(json.dumps(doc, indent=2))
        return out


def _shot_filter(shot: EditShot, frames: int, size: tuple[int, int], fps: int) -> str:
    """The lavfi source and effect chain of one shot, ending in a uniform stream."""
    w, h = size
    tail = f"format=yuv420p,setsar=1,fps={fps},settb=AVTB"
    if shot.effect == "pan":
        # A whip pan: the frame crosses three frame widths of a wider picture in the shot.
        return (
            f"{shot.source}=size={4 * w}x{h}:rate={fps},"
            f"crop={w}:{h}:x='(iw-ow)*n/{max(1, frames - 1)}':y=0,{tail}"
        )
    if shot.effect == "zoom":
        # A fast push-in to 2.5x over the shot.
        return (
            f"{shot.source}=size={w}x{h}:rate={fps},"
            f"zoompan=z='1+1.5*on/{max(1, frames - 1)}':d=1:"
            f"x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':s={w}x{h}:fps={fps},{tail}"
        )
    if shot.effect == "flash":
        first = frames // 2
        return (
            f"{shot.source}=size={w}x{h}:rate={fps},"
            f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:"
            f"enable='between(n,{first},{first + FLASH_FRAMES - 1})',{tail}"
        )
    if shot.effect == "dark":
        # Under-exposed and grainy: low contrast, crushed brightness, fresh noise every frame.
        return (
            f"{shot.source}=size={w}x{h}:rate={fps},"
            f"eq=brightness=-0.3:contrast=0.35,noise=alls=14:allf=t,{tail}"
        )
    if shot.effect:
        raise ValueError(f"unknown shot effect {shot.effect!r} (one of {EFFECTS})")
    return f"{shot.source}=size={w}x{h}:rate={fps},{tail}"


def offset_overlaps(previous: Boundary, start: int) -> bool:
    """Whether a transition starting at frame ``start`` overlaps ``previous`` (no clean frame
    of the shot between them)."""
    return start <= previous.end


def make_edited_footage(
    out: Path,
    shots: Sequence[EditShot],
    joins: Sequence[Join],
    *,
    size: tuple[int, int] = (320, 180),
    fps: int = 25,
) -> EditedFootage:
    """Generate ``shots`` joined by ``joins`` (one fewer than shots), video only, H.264.

    Lengths are whole frames, so every boundary is exact. A transition of ``d`` frames overlaps
    the end of one shot and the start of the next (the clip is ``d`` frames shorter than the
    sum of the shots).

    Raises:
        ValueError: the joins do not fit the shots (count, kind, or a transition longer than
            a shot it overlaps).
        MediaToolError: ffmpeg failed.
    """
    if len(joins) != len(shots) - 1:
        raise ValueError(f"{len(shots)} shots need {len(shots) - 1} joins (got {len(joins)})")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frames = [max(2, round(s.duration_s * fps)) for s in shots]
    graph: list[str] = []
    for i, (shot, n) in enumerate(zip(shots, frames, strict=True)):
        graph.append(f"{_shot_filter(shot, n, size, fps)},trim=end_frame={n}[s{i}]")
    boundaries: list[Boundary] = []
    traps: list[tuple[str, int, int]] = []
    length = frames[0]
    starts = [0]
    current = "s0"
    for j, join in enumerate(joins):
        nxt = f"s{j + 1}"
        label = f"j{j}"
        if join.kind == "cut":
            graph.append(f"[{current}][{nxt}]concat=n=2:v=1:a=0,settb=AVTB[{label}]")
            boundaries.append(Boundary("cut", length, length))
            starts.append(length)
            length += frames[j + 1]
        elif join.kind in XFADES:
            d = max(2, round(join.duration_s * fps))
            if d >= min(frames[j], frames[j + 1]):
                raise ValueError(f"join {j}: a {d}-frame transition is as long as a shot")
            if boundaries and offset_overlaps(boundaries[-1], length - d):
                raise ValueError(f"join {j}: its transition overlaps the one before")
            name = join.transition or XFADES[join.kind][0]
            offset = length - d
            graph.append(
                f"[{current}][{nxt}]xfade=transition={name}:duration={d / fps}:"
                f"offset={offset / fps},settb=AVTB[{label}]"
            )
            boundaries.append(Boundary(join.kind, offset, length, name))
            starts.append(offset)
            length = offset + frames[j + 1]
        else:
            raise ValueError(f"join {j}: unknown kind {join.kind!r} (one of {KINDS})")
        current = label
    for shot, start, n in zip(shots, starts, frames, strict=True):
        if shot.effect == "flash":
            traps.append(("flash", start + n // 2, start + n // 2 + FLASH_FRAMES))
        elif shot.effect:
            traps.append((shot.effect, start, start + n))
    args = ["-y", "-filter_complex", ";".join(graph), "-map", f"[{current}]"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", str(2 * fps)]
    args += ["-pix_fmt", "yuv420p", "-r", str(fps), "-frames:v", str(length), str(out)]
    run_ffmpeg(args, what=f"generate {out.name}")
    return EditedFootage(
        path=out,
        fps=fps,
        frames=length,
        width=size[0],
        height=size[1],
        boundaries=tuple(boundaries),
        shots=tuple(shots),
        traps=tuple(traps),
    )
