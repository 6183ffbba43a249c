"""An edited timeline back onto the project's scenes: which scenes its picture clips keep, and
what cannot be mapped.

A clip maps to a scene by the scene id Genesis wrote in its metadata when the format kept it
(``.otio`` does), else by its media (the same URL, or the same file name) and its source range
(the scene whose range it overlaps). Scenes no clip maps to are rejected, scenes a clip maps to
approved; a clip that covers part of a scene (a trim inside it) or several scenes, and a clip of
media the project does not have, are reported and change nothing of their own.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from genesis_pipeline.stages.exports.timeline import META, SceneClip

if TYPE_CHECKING:
    import opentimelineio as otio


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A clip that does not map one to one onto a scene, and why."""

    clip: str
    reason: str


@dataclass(frozen=True, slots=True)
class TimelineMapping:
    """What an imported timeline means for the project's scenes.

    Attributes:
        kept: scenes the timeline's clips keep, in timeline order.
        dropped: scenes no clip keeps.
        unmapped: clips that are trims inside a scene, span several scenes, or use media the
            project does not have.
        reordered: the timeline's order differs from the project's (the cut keeps project
            order).
    """

    kept: tuple[int, ...]
    dropped: tuple[int, ...]
    unmapped: tuple[Unmapped, ...]
    reordered: bool
    clips: int


def map_timeline(timeline: otio.schema.Timeline, scenes: Sequence[SceneClip]) -> TimelineMapping:
    """Map the picture clips of ``timeline`` onto ``scenes`` (every scene of the project, in
    project order, with the source ranges an export gives them)."""
    by_id = {s.scene_id: s for s in scenes}
    kept: list[int] = []
    unmapped: list[Unmapped] = []
    clips = [c for track in timeline.video_tracks() for c in track.find_clips()]
    for clip in clips:
        name = clip.name or _file_name(clip) or "(unnamed clip)"
        lo, hi = _source_seconds(clip)
        meta = clip.metadata.get(META) if hasattr(clip.metadata, "get") else None
        sid = meta.get("scene_id") if meta is not None and hasattr(meta, "get") else None
        if sid is not None and int(sid) in by_id:
            candidates = [by_id[int(sid)]]
        else:
            media = _same_media(clip, scenes)
            if not media:
                unmapped.append(Unmapped(name, "its media is not in the project (new media)"))
                continue
            candidates = [s for s in media if _overlap(s, lo, hi) > 0]
            if not candidates:
                unmapped.append(Unmapped(name, "its source range lies outside every scene"))
                continue
        tol = max(1 / float(s.rate) for s in candidates)
        if len(candidates) > 1:
            ids = ", ".join(str(s.scene_id) for s in candidates)
            unmapped.append(
                Unmapped(name, f"spans scenes {ids}: each is kept, the extra frames are not")
            )
        else:
            s = candidates[0]
            a, b = _scene_seconds(s)
            if lo > a + tol or hi < b - tol:
                unmapped.append(
                    Unmapped(
                        name,
                        f"trims scene {s.scene_id} to {lo:.3f}-{hi:.3f} s of its "
                        f"{a:.3f}-{b:.3f} s: the whole scene is kept",
                    )
                )
            elif lo < a - tol or hi > b + tol:
                unmapped.append(
                    Unmapped(
                        name,
                        f"extends scene {s.scene_id} to {lo:.3f}-{hi:.3f} s past its "
                        f"{a:.3f}-{b:.3f} s: the scene is kept as it is",
                    )
                )
        kept += [s.scene_id for s in candidates if s.scene_id not in kept]
    order = {s.scene_id: i for i, s in enumerate(scenes)}
    ranks = [order[k] for k in kept]
    kept_set = set(kept)
    return TimelineMapping(
        kept=tuple(kept),
        dropped=tuple(s.scene_id for s in scenes if s.scene_id not in kept_set),
        unmapped=tuple(unmapped),
        reordered=ranks != sorted(ranks),
        clips=len(clips),
    )


def _scene_seconds(s: SceneClip) -> tuple[float, float]:
    return s.source_start / float(s.rate), (s.source_start + s.source_frames) / float(s.rate)


def _overlap(s: SceneClip, lo: float, hi: float) -> float:
    a, b = _scene_seconds(s)
    return min(b, hi) - max(a, lo)


def _source_seconds(clip: otio.schema.Clip) -> tuple[float, float]:
    r = clip.trimmed_range()
    return r.start_time.to_seconds(), r.end_time_exclusive().to_seconds()


def _url(clip: otio.schema.Clip) -> str | None:
    ref = clip.media_reference
    url = getattr(ref, "target_url", None)
    return str(url) if url else None


def _file_name(clip: otio.schema.Clip) -> str | None:
    url = _url(clip)
    if not url:
        return None
    return posixpath.basename(unquote(urlparse(url).path)) or None


def _same_media(clip: otio.schema.Clip, scenes: Sequence[SceneClip]) -> list[SceneClip]:
    """Scenes of the clip's media: the same URL, else the same file name."""
    url = _url(clip)
    same = [s for s in scenes if url is not None and s.url == url]
    if same:
        return same
    name = _file_name(clip)
    return [
        s
        for s in scenes
        if name is not None and posixpath.basename(unquote(urlparse(s.url).path)) == name
    ]
