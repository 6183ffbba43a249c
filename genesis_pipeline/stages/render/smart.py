"""Mode ``smart`` (the default): stream-copy the GOPs and the AAC packets that a cut leaves whole,
encode pictures and sound only around the cut points.

The cut is planned as for a re-encode (same frame counts, same samples:
:mod:`~genesis_pipeline.stages.render.plan`). Then:

* **Pictures.** :mod:`~genesis_pipeline.stages.render.layout` decides which GOPs are copied;
  :mod:`~genesis_pipeline.stages.render.x264` encodes the rest into one matched x264 stream.
* **Sound.** Built meanwhile, in a thread. Where it is the sources' own sound, untouched, its
  packets are copied and only the stretches around the cuts encoded
  (:mod:`~genesis_pipeline.stages.render.sound`); otherwise, or when a join cannot be made
  clean, exactly as a re-encode builds it
  (:func:`~genesis_pipeline.stages.render.reencode.encode_sound`), sample-identical to it.
* **Join and checks.** :mod:`~genesis_pipeline.stages.render.mux`. When a check fails the
  render is redone as a full re-encode (logged as a warning), never delivered doubtful. If
  nothing can be copied the cut is simply re-encoded.

Why this design and how fast it is: ``docs/render.md``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from genesis_pipeline.files import atomic_path, tmp_prefix
from genesis_pipeline.progress import Progress
from genesis_pipeline.stages.render.layout import Doubtful, PictureLayout, SmartPlan, lay_out
from genesis_pipeline.stages.render.mux import check_output, mux
from genesis_pipeline.stages.render.params import AssemblyParams, RenderResult, check_params
from genesis_pipeline.stages.render.plan import RenderPlan, plan_render
from genesis_pipeline.stages.render.reencode import encode_sound, render_reencode
from genesis_pipeline.stages.render.result import count_frames, render_result
from genesis_pipeline.stages.render.sound import SoundJoinError, SoundLayout, copy_sound, plan_sound
from genesis_pipeline.stages.render.x264 import check_encoded, encode_stretches
from genesis_pipeline.stages.timeline import CutSegment

log = logging.getLogger(__name__)
T = TypeVar("T")


def plan_smart(segments: Sequence[CutSegment], params: AssemblyParams | None = None) -> SmartPlan:
    """What a smart render of ``segments`` would copy and encode (nothing is written).

    ``params`` default to ``AssemblyParams()``.

    Raises:
        InvalidSettingError: nothing to render or a malformed segment.
        InvalidMediaError: a media file is missing or unusable.
    """
    params = params or AssemblyParams()
    check_params(params)
    plan = plan_render(segments, params)
    public = lay_out(plan).public()
    sound = plan_sound(plan, params)
    if isinstance(sound, str):
        return replace(public, sound_late=(0,) * len(plan.pieces), sound_not_copied=sound)
    return replace(public, sound_late=sound.late, sound_copied=sound.samples_copied)


def render_smart(
    plan: RenderPlan, params: AssemblyParams, out_path: Path, progress: Progress
) -> RenderResult:
    """Render ``plan`` copying what can be copied (see the module docstring).

    Raises:
        MediaToolError: ffmpeg failed (the message carries ffmpeg's own).
        ToolNotFoundError: ffmpeg is missing.
    """
    layout = lay_out(plan)
    for path, reason in layout.not_copied.items():
        log.info("%s is encoded, not copied: %s", path.name, reason)
    copied = layout.frames_copied
    if not copied:
        log.info("smart render: nothing can be copied, re-encoding %s", out_path.name)
        return render_reencode(plan, params, out_path, progress)
    log.info(
        "smart render of %d pieces to %s: %d of %d frames copied in %d stretches",
        len(plan.pieces),
        out_path.name,
        copied,
        plan.frames,
        len(layout.spans) - len(layout.encodes),
    )
    try:
        return _render(layout, out_path, params, progress)
    except Doubtful as exc:
        log.warning("smart render of %s failed a check (%s): re-encoding it", out_path.name, exc)
        return render_reencode(plan, params, out_path, progress)


def _render(
    layout: PictureLayout, out_path: Path, params: AssemblyParams, progress: Progress
) -> RenderResult:
    plan = layout.plan
    meter = _Meter(progress, int(plan.duration_s * 1000))
    encodes = layout.encodes
    prefix = f"{tmp_prefix()}smart-"
    meter.report("render")
    with (
        tempfile.TemporaryDirectory(prefix=prefix, dir=out_path.parent) as tmp_dir,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="genesis-sound") as pool,
    ):
        work = Path(tmp_dir)
        # The sound is independent of how the pictures are made: build it meanwhile.
        sound_path = work / "sound.mp4"
        sound = pool.submit(
            make_sound, plan, params, sound_path, meter.part("sound", report=False), out_path.name
        )
        enc_index = None
        if encodes:
            enc_path = work / "encoded.mp4"
            encode_stretches(layout, enc_path, params, meter.part("pictures"))
            enc_index = check_encoded(enc_path, encodes)
        copied_sound = meter.wait(sound)
        with atomic_path(out_path) as tmp:
            mux(layout, enc_index, sound_path, tmp)
            check_output(tmp, plan)
            frames = count_frames(tmp)
    meter.done()
    encoded = sum(s.frames for s in encodes)
    sound_s = copied_sound.copied_s if copied_sound else 0.0
    offset_ms = copied_sound.max_offset_ms if copied_sound else 0.0
    return render_result(
        plan, out_path, frames, params, copied=plan.frames - encoded, encoded=encoded,
        sound_copied_s=round(sound_s, 3), sound_offset_ms=round(offset_ms, 2),
    )  # fmt: skip


class _Meter:
    """Progress of the picture and sound passes (run side by side), always reported from the
    calling thread: the sound pass's callback only records its share."""

    def __init__(self, progress: Progress, total_ms: int) -> None:
        self._progress = progress
        self._total = total_ms
        self._parts = {"pictures": 0.0, "sound": 0.0}
        self._last = -1

    def part(self, name: str, *, report: bool = True) -> Progress:
        def update(done: int, of: int, note: str) -> None:
            self._parts[name] = min(1.0, done / max(1, of))
            if report:
                self.report(note)

        return update

    def report(self, note: str) -> None:
        # Joining the two into the file takes the last 5 %.
        done = int(self._total * 0.95 * sum(self._parts.values()) / len(self._parts))
        if done > self._last:
            self._last = done
            self._progress(done, self._total, note)

    def wait(self, future: Future[T]) -> T:
        """Wait for the sound pass, reporting its progress; its result, or re-raise what it
        raised."""
        self._parts["pictures"] = 1.0
        while True:
            try:
                result = future.result(timeout=0.25)
            except FuturesTimeout:
                self.report("render: sound")
                continue
            self._parts["sound"] = 1.0
            self.report("render: joining")
            return result

    def done(self) -> None:
        self._progress(self._total, self._total, "render done")


def make_sound(
    plan: RenderPlan, params: AssemblyParams, out: Path, progress: Progress, name: str
) -> SoundLayout | None:
    """The sound of render ``name`` to ``out``: packets copied where the sources' own sound
    plays untouched (the layout is returned), else encoded whole as a re-encode does (None).

    Raises:
        MediaToolError: ffmpeg failed encoding the whole sound.
    """
    import av

    layout = plan_sound(plan, params)
    if isinstance(layout, str):
        log.info("sound of %s is encoded, not copied: %s", name, layout)
    else:
        try:
            copy_sound(layout, out)
        except (SoundJoinError, ValueError, av.error.FFmpegError) as exc:
            # A join that stays audible, or packets not where the index saw them (a file
            # changed underneath, a demuxer surprise): the whole sound, encoded, is never wrong.
            log.warning("sound of %s is encoded, not copied: %s", name, exc)
        else:
            log.info(
                "sound: %.1f of %.1f s copied, %d joins re-tried, worst join %.1f dBFS, "
                "at most %.1f ms off the pictures",
                layout.copied_s,
                layout.total / layout.sample_rate,
                layout.retries,
                layout.worst_join_db,
                layout.max_offset_ms,
            )
            return layout
    encode_sound(plan, params, out, progress)
    return None
