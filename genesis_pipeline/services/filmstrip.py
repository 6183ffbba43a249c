"""A scene's filmstrip: a few frames evenly across it, taken from its footage when first asked
for (one ffmpeg, a seek per frame) and kept in the stage cache, with the frames a trim leaves
out marked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline.errors import InvalidSettingError, NotFoundError
from genesis_pipeline.media.stills import grab_stills
from genesis_pipeline.services.cut import kept_range, scene_fps
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import ReadModel

STAGE = "filmstrip"
VERSION = 1
FRAMES = 6  # across a scene: enough to see what happens in it, small enough for a card
WIDTH = 160
MAX_FRAMES = 16


@dataclass(frozen=True, slots=True)
class FilmstripFrame(ReadModel):
    """One frame of the strip: its picture, its frame number and time in the source, and
    whether the cut keeps it (a trim leaves the frames outside its in/out points)."""

    path: Path
    frame: int
    time_s: float
    kept: bool


@dataclass(frozen=True, slots=True)
class Filmstrip(ReadModel):
    scene_id: int
    frames: tuple[FilmstripFrame, ...]
    in_frame: int  # the kept range, frames [in_frame, out_frame)
    out_frame: int
    trimmed: bool


def strip_frames(start_frame: int, end_frame: int, count: int) -> list[int]:
    """``count`` frame numbers evenly across ``[start_frame, end_frame)``, each in the middle
    of its share, no repeats (fewer when the scene has fewer frames)."""
    n = end_frame - start_frame
    picks = [start_frame + int((k + 0.5) * n / count) for k in range(min(count, n))]
    return sorted(set(picks))


def filmstrip(
    store: Store, project_id: int, scene_id: int, *, count: int = FRAMES, width: int = WIDTH
) -> Filmstrip:
    """The scene's filmstrip (made on the first call, then read from the cache).

    Raises:
        InvalidSettingError: ``count`` outside 1..16.
        NotFoundError: the scene is not in the project.
        MediaToolError: ffmpeg could not read the footage.
        ObjectMissingError: the footage is gone from the storage.
    """
    if not 1 <= int(count) <= MAX_FRAMES:
        raise InvalidSettingError("filmstrip frames", f"{count} is not between 1 and {MAX_FRAMES}")
    with store.db.read() as con:
        scene = next(
            (s for s in scenes_sql.scenes_for_project(con, project_id) if s.id == int(scene_id)),
            None,
        )
        if scene is None:
            raise NotFoundError(f"scene {scene_id}: not a scene of project {project_id}")
        media = media_sql.get(con, scene.media_id)
        trim = review_sql.trims(con, project_id).get((scene.media_id, scene.start_frame))
    fps = scene_fps(scene, media)
    frames = strip_frames(scene.start_frame, scene.end_frame, int(count))
    # Half a frame early: the first frame at or after that time is the frame itself.
    times = [scene.start_s + (f - scene.start_frame - 0.5) / fps for f in frames]
    times = [max(t, scene.start_s) for t in times]
    key = stage_key(STAGE, VERSION, {"width": int(width)}, {"media": media.sha256, "times": times})

    def load(d: Path) -> list[Path]:
        paths = [d / f"still-{k:02d}.jpg" for k in range(len(frames))]
        if not all(p.is_file() for p in paths):
            raise FileNotFoundError(d)
        return paths

    def compute(d: Path) -> dict[str, Any]:
        grab_stills(store.local_path(media.path), times, d, width=int(width))
        return {"project_id": project_id, "scene_id": scene.id, "frames": frames}

    cache = store.cache
    paths = cache.lookup(STAGE, key, load)
    if paths is None:
        paths = load(cache.store(STAGE, key, compute))
    kept = kept_range(scene, fps, trim)
    return Filmstrip(
        scene_id=scene.id,
        frames=tuple(
            FilmstripFrame(
                p,
                f,
                scene.start_s + (f - scene.start_frame) / fps,
                kept.start_frame <= f < kept.end_frame,
            )
            for p, f in zip(paths, frames, strict=True)
        ),
        in_frame=kept.start_frame,
        out_frame=kept.end_frame,
        trimmed=trim is not None,
    )
