"""The approved cut as an OpenTimelineIO timeline, for NLEs (Resolve, Premiere, Final Cut).

Tracks: ``V1`` holds one clip per kept scene in project order, each referencing its original
media (a ``file://`` URL, or the storage URI as given) with its source range in the source's
own rate; ``A1`` the same clips' natural sound; ``Narration`` each voiceover at its offset (a gap
before it), with its gain. Chapters are markers with their titles on the ``V1`` clip where each
chapter starts (at the clip's first frame: every adapter writes clip markers, not all write
track markers), spanning the chapter. Scene ids, frame numbers, times, captions and confidences
ride in each clip's ``metadata["genesis"]`` (what :mod:`.reimport` reads back). Reviewers'
comment threads are markers too, on the clip under their time (red while open, green once
resolved), the thread's id, author and state in the marker's ``metadata["genesis"]``.

Rates. A constant-rate source keeps its exact rate (``30000/1001`` is the double nearest it, as
OTIO stores rates) and its frame numbers. A variable-rate source is referenced at the standard
rate the render counts it as (its peak rate; see ``stages/render/plan.py``), its source range
its presentation times rounded to that rate: how NLEs conform variable-rate footage on import.
The timeline runs at the render's output rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from genesis_pipeline.stages.exports.chapters import ChapterMark

if TYPE_CHECKING:
    import opentimelineio as otio

META = "genesis"
"""The key of Genesis's own metadata on timelines and clips."""

VIDEO_TRACK, SOUND_TRACK, NARRATION_TRACK = "V1", "A1", "Narration"


@dataclass(frozen=True, slots=True)
class SceneClip:
    """One kept scene as a timeline clip.

    Attributes:
        url: the original media: a ``file://`` URL or a storage URI.
        rate: the source's frame rate (a variable-rate source: the standard rate it counts as).
        variable_rate: the source's frames are not evenly spaced.
        source_start / source_frames: the source range, in frames at ``rate``.
        media_frames: the whole file's length in frames at ``rate``.
        start_frame / end_frame / start_s / end_s: the scene as Genesis keeps it (frame
            numbers in decode order and presentation times).
        record_frames: the frames the render plan gives the scene at the timeline's rate.
    """

    scene_id: int
    media_id: int
    url: str
    name: str
    media_name: str
    rate: Fraction
    variable_rate: bool
    source_start: int
    source_frames: int
    media_frames: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    record_frames: int
    has_audio: bool = True
    caption: str | None = None
    caption_confidence: float | None = None
    cut_confidence: float | None = None
    transcript_confidence: float | None = None


@dataclass(frozen=True, slots=True)
class NarrationItem:
    """A voiceover on the cut: from ``offset_s`` for ``duration_s`` (its part inside the cut),
    at linear ``gain`` (the clip's gain times the project's narration gain). On the timeline
    it starts at the frame nearest its offset (NLE tracks are counted in frames; the exact
    offset rides in its metadata)."""

    url: str
    name: str
    offset_s: float
    duration_s: float
    gain: float


@dataclass(frozen=True, slots=True)
class CommentMark:
    """A comment thread on the cut's clock (``end_s == start_s``: a point)."""

    thread_id: int
    start_s: float
    end_s: float
    author: str
    body: str
    resolved: bool = False
    replies: int = 0

    @property
    def name(self) -> str:
        return f"{self.author}: {self.body}"


@dataclass(frozen=True, slots=True)
class CutTimeline:
    """Everything a timeline export holds."""

    name: str
    project_id: int
    rate: Fraction
    clips: tuple[SceneClip, ...]
    chapters: tuple[ChapterMark, ...] = ()
    narration: tuple[NarrationItem, ...] = ()
    comments: tuple[CommentMark, ...] = ()
    width: int = 1920
    height: int = 1080


def source_range_frames(start_s: float, end_s: float, rate: Fraction) -> tuple[int, int]:
    """``(first frame, frames)`` at ``rate`` for presentation times ``[start_s, end_s)`` of a
    variable-rate source (each rounded to the nearest frame)."""
    first = math.floor(start_s * rate + Fraction(1, 2))
    last = math.floor(end_s * rate + Fraction(1, 2))
    return first, max(1, last - first)


def otio_rate(rate: Fraction) -> float:
    """A rate as OTIO stores it (the double nearest the fraction)."""
    return float(rate)


def build_timeline(cut: CutTimeline) -> otio.schema.Timeline:
    """The OTIO timeline of ``cut`` (see the module docstring)."""
    import opentimelineio as otio

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    rate = otio_rate(cut.rate)
    timeline = otio.schema.Timeline(name=cut.name, global_start_time=rt(0, rate))
    timeline.metadata[META] = {"project_id": cut.project_id, "rate": str(cut.rate)}
    video = otio.schema.Track(name=VIDEO_TRACK, kind=otio.schema.TrackKind.Video)
    sound = otio.schema.Track(name=SOUND_TRACK, kind=otio.schema.TrackKind.Audio)
    starts = []  # each clip's start on the cut (seconds), for the chapter markers
    t = 0.0
    for c in cut.clips:
        r = otio_rate(c.rate)
        ref = otio.schema.ExternalReference(
            target_url=c.url, available_range=tr(rt(0, r), rt(c.media_frames, r))
        )
        source = tr(rt(c.source_start, r), rt(c.source_frames, r))
        meta = {k: v for k, v in asdict(c).items() if k not in ("url", "name", "media_name")}
        meta["rate"] = str(c.rate)
        clip = otio.schema.Clip(
            name=c.name, media_reference=ref, source_range=source, metadata={META: meta}
        )
        video.append(clip)
        if c.has_audio:
            audio_ref = otio.schema.ExternalReference(
                target_url=c.url, available_range=tr(rt(0, r), rt(c.media_frames, r))
            )
            sound.append(
                otio.schema.Clip(
                    name=c.name,
                    media_reference=audio_ref,
                    source_range=source,
                    metadata={META: {"scene_id": c.scene_id}},
                )
            )
        else:
            sound.append(otio.schema.Gap(source_range=tr(rt(0, r), rt(c.source_frames, r))))
        starts.append(t)
        t += c.source_frames / c.rate

    def mark(at_s: float, length_s: float, name: str, color: str, meta: dict[str, object]) -> None:
        # On the clip ``at_s`` falls in, at its place inside the clip's source range.
        if not video:
            return
        k = max((i for i, s in enumerate(starts) if s <= at_s + 1e-6), default=0)
        clip = video[k]
        r = otio_rate(cut.clips[k].rate)
        offset = round((at_s - starts[k]) * r)
        clip.markers.append(
            otio.schema.Marker(
                name=name,
                marked_range=tr(
                    clip.source_range.start_time + rt(offset, r),
                    rt(max(1, round(length_s * r)), r),
                ),
                color=color,
                metadata={META: meta},
            )
        )

    for ch in cut.chapters:
        mark(
            ch.start_s,
            ch.duration_s,
            ch.title,
            otio.schema.MarkerColor.BLUE,
            {"chapter": True, "start_s": ch.start_s, "end_s": ch.end_s},
        )
    for cm in cut.comments:
        mark(
            cm.start_s,
            cm.end_s - cm.start_s,
            cm.name,
            otio.schema.MarkerColor.GREEN if cm.resolved else otio.schema.MarkerColor.RED,
            {
                "comment": cm.thread_id,
                "author": cm.author,
                "resolved": cm.resolved,
                "replies": cm.replies,
                "start_s": cm.start_s,
                "end_s": cm.end_s,
            },
        )
    timeline.tracks.append(video)
    timeline.tracks.append(sound)
    for track in _narration_tracks(cut.narration, cut.rate):
        timeline.tracks.append(track)
    return timeline


def _narration_tracks(items: Sequence[NarrationItem], rate: Fraction) -> list[otio.schema.Track]:
    """The voiceovers on audio tracks of their own: each on the first track where it does not
    overlap another (``Narration``, ``Narration 2``…), after a gap to its offset."""
    import opentimelineio as otio

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    sr = otio_rate(rate)
    tracks: list[tuple[otio.schema.Track, list[int]]] = []  # track, frames used so far
    for item in sorted(items, key=lambda n: n.offset_s):
        start = math.floor(item.offset_s * rate + Fraction(1, 2))
        samples = math.floor((item.offset_s + item.duration_s) * rate + Fraction(1, 2)) - start
        if samples <= 0:
            continue
        slot = next((t for t in tracks if t[1][0] <= start), None)
        if slot is None:
            name = NARRATION_TRACK if not tracks else f"{NARRATION_TRACK} {len(tracks) + 1}"
            slot = (otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio), [0])
            tracks.append(slot)
        track, used = slot
        if start > used[0]:
            track.append(otio.schema.Gap(source_range=tr(rt(0, sr), rt(start - used[0], sr))))
        clip = otio.schema.Clip(
            name=item.name,
            media_reference=otio.schema.ExternalReference(
                target_url=item.url, available_range=tr(rt(0, sr), rt(samples, sr))
            ),
            source_range=tr(rt(0, sr), rt(samples, sr)),
            metadata={META: {"gain": item.gain, "offset_s": item.offset_s}},
        )
        db = 20 * math.log10(item.gain) if item.gain > 0 else -144.0
        clip.effects.append(
            otio.schema.Effect(
                name="Gain", effect_name="AudioLevel", metadata={"gain": item.gain, "db": db}
            )
        )
        track.append(clip)
        used[0] = start + samples
    return [t for t, _ in tracks]
