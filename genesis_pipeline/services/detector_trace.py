"""What the scene detector saw: its score along a media file with the boundaries it found (the
Confidence page plots it, ``viz.detector_timeline``; read from what the scenes step stored,
nothing computed again), and a strip of frames across a gradual transition (the Scenes page)."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline.stages.scenes.trace import DetectorTrace
from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import traces as traces_sql

log = logging.getLogger(__name__)

# A transition's strip on the Scenes page: frames, and their width.
STRIP_FRAMES = 5
STRIP_WIDTH = 160


@dataclass(frozen=True, slots=True)
class Boundary:
    """Where a scene starts in its file: ``kind`` is ``cut``, or the gradual transition's style
    (``dissolve``, ``fade``, ``wipe``; ``gradual`` when the detector cannot tell) over
    ``[transition_start_s, transition_end_s)`` (both ``start_s`` for a cut)."""

    scene_id: int
    idx: int
    start_s: float
    kind: str
    transition_start_s: float
    transition_end_s: float
    confidence: float | None


@dataclass(frozen=True, slots=True)
class MediaTrace:
    """One media file's detector trace and the boundaries its scenes start with."""

    media_id: int
    media_name: str
    trace: DetectorTrace
    boundaries: tuple[Boundary, ...]


def traced_media(store: Store, project_id: int) -> list[tuple[int, str]]:
    """``(media id, name)`` of the project's files whose scenes have a trace, in project order."""
    with store.db.read() as con:
        media = media_sql.list_for_project(con, project_id)
        have = traces_sql.traced_media_ids(con, project_id)
    return [(m.id, m.original_name) for m in media if m.id in have]


def media_trace(store: Store, project_id: int, media_id: int) -> MediaTrace | None:
    """The detector's score on every frame of one media file with its scene boundaries; None
    when its scenes were detected before traces were kept (or it has no scenes)."""
    with store.db.read() as con:
        record = traces_sql.trace_for_media(con, project_id, media_id)
        if record is None:
            return None
        names = {m.id: m.original_name for m in media_sql.list_for_project(con, project_id)}
        scenes = [s for s in scenes_sql.scenes_for_project(con, project_id)]
    try:
        trace = DetectorTrace.from_bytes(record.trace)
    except ValueError as exc:
        log.warning("media %d: unreadable detector trace (%s)", media_id, exc)
        return None
    boundaries = []
    for s in scenes:
        if s.media_id != media_id or s.idx == 0:
            continue
        d = s.metadata.detection
        boundaries.append(
            Boundary(
                scene_id=s.id,
                idx=s.idx,
                start_s=s.start_s,
                kind=d.transition_style or d.transition or "cut",
                transition_start_s=(
                    d.transition_start_s if d.transition_start_s is not None else s.start_s
                ),
                transition_end_s=d.transition_end_s
                if d.transition_end_s is not None
                else s.start_s,
                confidence=d.confidence,
            )
        )
    boundaries.sort(key=lambda b: b.start_s)
    return MediaTrace(media_id, names.get(media_id, ""), trace, tuple(boundaries))


@dataclass(frozen=True, slots=True)
class Still:
    """One frame of a strip: its time in the file and its JPEG bytes."""

    time_s: float
    jpeg: bytes


def transition_strip(
    store: Store,
    project_id: int,
    scene_id: int,
    *,
    frames: int = STRIP_FRAMES,
    width: int = STRIP_WIDTH,
) -> list[Still]:
    """Frames across the gradual transition a scene starts with: the old shot's last frame
    before it, ``frames - 2`` evenly inside it, the new shot's first frame after it (decoded
    from the footage now: nothing is kept per frame). Empty for a cut or a first scene.

    Raises:
        NotFoundError: no such scene in the project.
        InvalidMediaError: the footage cannot be read.
    """
    from genesis_pipeline.errors import NotFoundError

    with store.db.read() as con:
        scene = next(
            (s for s in scenes_sql.scenes_for_project(con, project_id) if s.id == scene_id), None
        )
        if scene is None:
            raise NotFoundError(f"scene {scene_id} is not in project {project_id}")
        media = media_sql.get(con, scene.media_id)
    d = scene.metadata.detection
    a, b = d.transition_start_s, d.transition_end_s
    if d.transition in (None, "cut") or a is None or b is None or b <= a:
        return []
    step = 1.0 / media.fps if media.fps else 0.04
    inside = max(1, frames - 2)
    times = [max(0.0, a - step)]
    times += [a + (b - a) * (k + 0.5) / inside for k in range(inside)]
    times.append(b)
    path = store.local_copy(store.absolute(media.path))
    return [Still(t, jpeg) for t, jpeg in zip(times, _stills(path, times, width), strict=True)]


def _stills(path: Path, times: list[float], width: int) -> list[bytes]:
    """The frame shown at each of ``times`` (seconds from the first frame, ascending) as an
    upright JPEG ``width`` wide: one seek, then decoding forward."""
    import av

    from genesis_pipeline.errors import InvalidMediaError
    from genesis_pipeline.media.streams import picture_stream

    out: list[bytes] = []
    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            stream = picture_stream(c)
            if stream is None or stream.time_base is None:
                raise InvalidMediaError(path, "has no video stream")
            tb = float(stream.time_base)
            first = stream.start_time or 0
            c.seek(first + int(times[0] / tb), stream=stream, backward=True)
            last = None
            for frame in c.decode(stream):
                if frame.pts is None:
                    continue
                t = (frame.pts - first) * tb
                while len(out) < len(times) and t > times[len(out)] + 1e-6 and last is not None:
                    out.append(_jpeg(last, width))
                last = frame
                if len(out) == len(times):
                    break
            while last is not None and len(out) < len(times):
                out.append(_jpeg(last, width))
    except av.error.FFmpegError as exc:
        raise InvalidMediaError(path, f"cannot be decoded ({exc})") from None
    return out


def _jpeg(frame: Any, width: int) -> bytes:
    from PIL import Image

    from genesis_pipeline.stages.scenes.previews import preview_size, upright

    rotation = int(frame.rotation or 0) % 360
    w, h = preview_size(frame.width, frame.height, rotation, width)
    rgb = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
    buf = io.BytesIO()
    Image.fromarray(upright(rgb, rotation)).save(buf, format="JPEG", quality=80)
    return buf.getvalue()
