"""Preview frames for scenes, picked during the single decode pass of scene detection.

Scene boundaries are known only when a scene closes, so :class:`PreviewSampler` keeps a bounded,
evenly spaced set of candidate frames of the scene being decoded: it samples every ``stride``-th
frame and, when the set outgrows its capacity, drops every other candidate and doubles the
stride. When the detector reports a cut, the candidates before it belong to the closing scene and
:func:`pick` chooses the ones nearest to evenly spaced targets inside it (away from both cuts).
Memory stays bounded by ``capacity`` images whatever the length of the scene.

Candidates are the decoded frames themselves (a reference, no copy and no scaling) while
``capacity`` of them fit in :data:`RAW_BUDGET_BYTES`; only the few chosen are scaled, converted
and encoded. Larger pictures (4K with many previews per scene) are scaled to preview size as
they are sampled (kept as YUV: only the chosen ones are converted to RGB): scaling every sampled
candidate is a cost worth avoiding (``docs/scenes.md``).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline.files import tmp_prefix

if TYPE_CHECKING:
    import av.video.frame
    import numpy as np

log = logging.getLogger(__name__)

# Candidates kept per scene for each preview asked for (and at least MIN_CAPACITY).
CANDIDATES_PER_PREVIEW = 4
MIN_CAPACITY = 8
# Candidates are sampled at most this often while a scene is young (per second of video).
MAX_SAMPLES_PER_S = 4.0
# Candidates are kept unscaled while ``capacity`` decoded frames fit in this many bytes.
RAW_BUDGET_BYTES = 96 * 2**20


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sampled frame: its index in the file, its time, and its picture (as decoded, or
    already scaled to preview size)."""

    index: int
    time_s: float
    frame: av.video.frame.VideoFrame


def preview_size(
    coded_w: int, coded_h: int, rotation: int, max_width: int, sar: float = 1.0
) -> tuple[int, int]:
    """Size ``(w, h)`` to scale a coded frame to, so that it is ``max_width`` wide once upright.

    Never upscales; the sample aspect ratio is applied; the height follows the display aspect.
    """
    disp_w, disp_h = coded_w * (sar if sar > 0 else 1.0), float(coded_h)
    if rotation in (90, 270):
        disp_w, disp_h = disp_h, disp_w
    width = max(2, min(max_width, round(disp_w)))
    height = max(2, round(disp_h * width / disp_w))
    return (height, width) if rotation in (90, 270) else (width, height)


class PreviewSampler:
    """Bounded, evenly spaced candidate frames of the scene currently being decoded."""

    def __init__(self, size: tuple[int, int], per_scene: int, fps: float) -> None:
        """
        Args:
            size: ``(width, height)`` of a preview, in coded orientation.
            per_scene: previews wanted per scene (0 samples nothing).
            fps: nominal frame rate, to space samples in a young scene.
        """
        import av.video.reformatter

        self.size = size
        self.per_scene = per_scene
        self.capacity = max(MIN_CAPACITY, CANDIDATES_PER_PREVIEW * per_scene)
        self.base_stride = max(1, int(fps / MAX_SAMPLES_PER_S))
        self.start = 0
        self.stride = self.base_stride
        self.pool: list[Candidate] = []
        self._force_next = False
        self._keep_raw: bool | None = None  # decided on the first sampled frame
        self._scaler = av.video.reformatter.VideoReformatter()

    def offer(self, index: int, time_s: float, frame: av.video.frame.VideoFrame) -> None:
        """Consider decoded frame ``index`` as a candidate of the current scene."""
        if self.per_scene <= 0:
            return
        if not self._force_next and (index - self.start) % self.stride:
            return
        self._force_next = False
        if self._keep_raw is None:
            frame_bytes = sum(p.buffer_size for p in frame.planes)
            self._keep_raw = frame_bytes * (self.capacity + 1) <= RAW_BUDGET_BYTES
        if not self._keep_raw:
            w, h = self.size
            frame = self._scaler.reformat(
                frame, width=w, height=h, format="yuv420p", interpolation="AREA", threads=1
            )
        self.pool.append(Candidate(index, time_s, frame))
        while len(self.pool) > self.capacity:
            self.pool = [c for c in self.pool if ((c.index - self.start) // self.stride) % 2 == 0]
            self.stride *= 2

    def split(self, cut_index: int) -> list[Candidate]:
        """Start a new scene at ``cut_index``; return the candidates of the scene that closed.

        Frames at or after the cut already sampled (detectors may report a cut a few frames
        late) move to the new scene.
        """
        closed = [c for c in self.pool if c.index < cut_index]
        self.pool = [c for c in self.pool if c.index >= cut_index]
        self.start = cut_index
        self.stride = self.base_stride
        # The new scene may have no candidate yet; take the next frame whatever the stride.
        self._force_next = not self.pool
        return closed


def pick(candidates: list[Candidate], start: int, end: int, n: int) -> list[Candidate]:
    """The candidate nearest each of ``n`` evenly spaced targets inside frames ``[start, end)``.

    Targets sit at ``k/(n+1)`` of the scene (the middle for one preview), away from both cuts.
    With fewer candidates than targets a candidate is used for more than one preview.
    """
    if not candidates or n <= 0:
        return []
    span = end - start
    targets = [start + span * (k + 1) / (n + 1) for k in range(n)]
    return [min(candidates, key=lambda c: abs(c.index - t)) for t in targets]


def upright(image: np.ndarray[Any, Any], rotation: int) -> np.ndarray[Any, Any]:
    """Rotate a coded-orientation image as its display matrix says (counterclockwise degrees)."""
    import numpy as np

    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


class PreviewWriter:
    """Turns chosen candidates into upright JPEG files of preview size."""

    def __init__(self, rotation: int, quality: int, size: tuple[int, int]) -> None:
        """
        Args:
            rotation: display rotation of the source (counterclockwise degrees).
            quality: JPEG quality.
            size: ``(width, height)`` of a preview, in coded orientation.
        """
        import av.video.reformatter

        self.rotation = rotation
        self.quality = quality
        self.size = size
        self._to_rgb = av.video.reformatter.VideoReformatter()

    def write(self, path: Path, candidate: Candidate) -> Path:
        """Write ``candidate`` as a JPEG at ``path``.

        The file appears complete or not at all (temporary name, then rename); it is not
        fsynced: the caller publishes the folder (the stage cache fsyncs a whole entry once).
        """
        from PIL import Image

        w, h = self.size
        rgb = self._to_rgb.reformat(
            candidate.frame, width=w, height=h, format="rgb24", interpolation="AREA", threads=1
        ).to_ndarray()
        buf = io.BytesIO()
        Image.fromarray(upright(rgb, self.rotation)).save(buf, format="JPEG", quality=self.quality)
        tmp = path.with_name(f"{tmp_prefix()}{path.name}")
        try:
            tmp.write_bytes(buf.getvalue())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


def preview_name(scene_index: int, k: int) -> str:
    """File name of preview ``k`` (1-based) of scene ``scene_index``: ``scene_0003_1.jpg``."""
    return f"scene_{scene_index:04d}_{k}.jpg"
