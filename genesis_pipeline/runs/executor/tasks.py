"""What runs on a worker: module-level functions of (input locators, params, model) that return
a stage's ``Result``, plus the model loading a worker does once.

Nothing here opens the store or reads Settings: inputs arrive as locators (paths or ``s3://``
URIs) with the call's :class:`~genesis_pipeline.storage.StorageAccess`, and the worker fetches
them itself (:func:`.inputs.reading`: with S3 through its own read-through cache). Small
artifacts go back by value (preview JPEG bytes); the render is published to the storage by the
worker that made it, and the host records a row only for an object that is there.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidSettingError, ModelUnavailableError, StageError
from genesis_pipeline.progress import Progress, no_progress
from genesis_pipeline.runs.executor.base import ModelConfig, ModelInfo
from genesis_pipeline.runs.executor.inputs import reading
from genesis_pipeline.storage import StorageAccess, storage_for
from genesis_pipeline.store.cache import StageCache

#: The stage cache folders the workers publish entries to (the steps' ``STAGE`` names).
SCENES_STAGE = "scenes"

if TYPE_CHECKING:
    import numpy as np

    from genesis_pipeline.ml.device import DevicePlan
    from genesis_pipeline.services.playback import ProxyJob
    from genesis_pipeline.stages.captions import CaptionParams, CaptionResult
    from genesis_pipeline.stages.narration import NarrationClip
    from genesis_pipeline.stages.proxy import Proxy
    from genesis_pipeline.stages.render import AssemblyParams, RenderExtras, RenderResult
    from genesis_pipeline.stages.scenes import SceneList, SceneParams
    from genesis_pipeline.stages.timeline import CutSegment
    from genesis_pipeline.stages.transcribe import (
        RecordingSpans,
        SpanTranscript,
        TranscribeParams,
        Transcript,
    )


# -- models --------------------------------------------------------------------------------------
def model_info(config: ModelConfig, where: str = "local") -> ModelInfo:
    """Resolve ``config`` on this machine without loading the weights: the identity for cache
    keys and this machine's device plan. A caption model that cannot be used comes back with
    ``error`` set (the captions step is then skipped with the reason).

    Raises:
        InvalidSettingError: a name or device setting is unusable here.
        ModelUnavailableError: the Whisper model cannot be found.
    """
    plan = config.plan()
    if config.kind == "whisper":
        from genesis_pipeline.ml.whisper import resolve_whisper_model

        spec = resolve_whisper_model(config.name, config.offline)
        return ModelInfo(spec.identity, plan, spec.note, spec.fallback, where)
    from genesis_pipeline.ml.blip import captioner_identity

    try:
        identity = captioner_identity(config.name, plan, config.offline)
    except ModelUnavailableError as exc:
        return ModelInfo("", plan, where=where, error=str(exc))
    return ModelInfo(identity, plan, where=where)


def planned_model_info(config: ModelConfig, plan: DevicePlan) -> ModelInfo:
    """Resolve ``config`` for workers elsewhere, from the settings alone: the identity the model
    has when loaded with ``plan`` (decided by the host, not by a live worker), so a run whose
    steps all hit the cache never needs the cluster. The weights are fingerprinted where this
    runs: the model must sit at the same path (or hub cache) on the workers, which check it
    when they load it (:func:`load_planned`).

    Raises:
        InvalidSettingError: a name setting is unusable.
        ModelUnavailableError: the Whisper model cannot be found.
    """
    if config.kind == "whisper":
        from genesis_pipeline.ml.whisper import resolve_whisper_model

        spec = resolve_whisper_model(config.name, config.offline)
        return ModelInfo(spec.identity, plan, spec.note, spec.fallback, "ray")
    from genesis_pipeline.ml.blip import planned_captioner_identity

    try:
        identity = planned_captioner_identity(config.name, plan.caption_dtype, config.offline)
    except ModelUnavailableError as exc:
        return ModelInfo("", plan, where="ray", error=str(exc))
    return ModelInfo(identity, plan, where="ray")


def load_planned(config: ModelConfig, plan: DevicePlan, identity: str, node: str) -> Any:
    """Load ``config``'s model on a worker with the host's ``plan`` (this machine's CPU threads)
    and check it is the model the host keyed the cache with (``identity``).

    Raises:
        InvalidSettingError: the plan's device is not usable on this worker, or the worker's
            model is not the host's (another folder, other weights).
        ModelUnavailableError: the model cannot be loaded.
    """
    from genesis_pipeline.ml.device import cuda_device_count

    setting = "GENESIS_WHISPER_MODEL" if config.kind == "whisper" else "GENESIS_CAPTION_MODEL"
    if plan.device == "cuda" and cuda_device_count() == 0:
        raise InvalidSettingError(
            "GENESIS_DEVICE",
            f"the {config.kind} model is planned on CUDA (GENESIS_DEVICE=cuda, or auto with "
            f"GENESIS_RAY_GPU_PER_MODEL > 0) but node {node} has no CUDA device",
        )
    here = dataclasses.replace(plan, cpu_threads=os.cpu_count() or 1)
    if config.kind == "whisper":
        from genesis_pipeline.ml.whisper import load_whisper, resolve_whisper_model

        spec = resolve_whisper_model(config.name, config.offline)
        found, model = spec.identity, None
        if found == identity:
            model = load_whisper(spec, here)
    else:
        from genesis_pipeline.ml.blip import load_captioner

        model = load_captioner(config.name, here, config.offline)
        found = str(model.identity)
    if found != identity:
        raise InvalidSettingError(
            setting,
            f"node {node} has another model than the app host ({found} there, {identity} on "
            "the host): the model must be the same folder or hub snapshot on both",
        )
    return model


def load_model(config: ModelConfig) -> Any:
    """The loaded model for ``config`` on this machine, once per process (the loaders keep it).

    Raises:
        ModelUnavailableError: the model cannot be loaded.
    """
    plan = config.plan()
    if config.kind == "whisper":
        from genesis_pipeline.ml.whisper import load_whisper, resolve_whisper_model

        return load_whisper(resolve_whisper_model(config.name, config.offline), plan)
    from genesis_pipeline.ml.blip import load_captioner

    return load_captioner(config.name, plan, config.offline)


# -- stage calls ---------------------------------------------------------------------------------
def transcribe_media(
    model: Any,
    access: StorageAccess,
    locator: str,
    params: TranscribeParams,
    identity: str,
    *,
    progress: Progress = no_progress,
) -> Transcript:
    """Transcribe one media file with a loaded Whisper model.

    Raises:
        InvalidMediaError: the file is missing or its audio cannot be decoded.
        ObjectMissingError: the object is gone from the storage.
        StageError: the model failed while decoding.
    """
    from genesis_pipeline.stages.transcribe import transcribe

    with reading(access) as fetch:
        return transcribe(fetch(locator), model, params, progress, model_identity=identity)


def transcribe_silent(
    access: StorageAccess,
    locator: str,
    params: TranscribeParams,
    identity: str,
    *,
    progress: Progress = no_progress,
) -> Transcript:
    """The (empty) transcript of media with no audio stream: no model needed.

    Raises:
        InvalidMediaError: the file is missing.
        ObjectMissingError: the object is gone from the storage.
    """
    return transcribe_media(None, access, locator, params, identity, progress=progress)


def split_audio(
    access: StorageAccess, locator: str, *, progress: Progress = no_progress
) -> RecordingSpans:
    """Decode a long recording's audio once and cut it into spans, for transcribing them on
    several workers at once.

    Raises:
        InvalidMediaError: the file is missing or its audio cannot be decoded.
        ObjectMissingError: the object is gone from the storage.
    """
    from genesis_pipeline.stages.transcribe import split_recording

    progress(0, 1, "cutting into spans")
    with reading(access) as fetch:
        recording = split_recording(fetch(locator))
    progress(1, 1, f"{len(recording.spans)} spans")
    return recording


def transcribe_part(
    model: Any,
    samples: np.ndarray,
    first: int,
    duration: float,
    params: TranscribeParams,
    label: str,
    *,
    progress: Progress = no_progress,
) -> SpanTranscript:
    """Transcribe one span of a recording (``samples`` from sample ``first``) with a loaded
    Whisper model; progress counts within the span.

    Raises:
        StageError: the model failed while decoding.
    """
    from genesis_pipeline.stages.transcribe import SAMPLE_RATE, transcribe_span

    first_ms = round(1000 * first / SAMPLE_RATE)
    span_ms = max(1, round(1000 * len(samples) / SAMPLE_RATE))

    def within(done: int, total: int, note: str) -> None:
        progress(min(span_ms, max(0, done - first_ms)), span_ms, note)

    return transcribe_span(samples, first, duration, model, params, within, label)


def unreadable_files(
    files: Sequence[tuple[str, int]], *, progress: Progress = no_progress
) -> list[str]:
    """Which of ``files`` (path, size) this worker cannot read at that path with that size:
    host-folder imports reach a worker only through a shared mount."""
    missing = []
    for path, size in files:
        try:
            readable = os.access(path, os.R_OK) and Path(path).stat().st_size == size
        except OSError:
            readable = False
        if not readable:
            missing.append(path)
    progress(1, 1, f"{len(files) - len(missing)} of {len(files)} readable here")
    return missing


@dataclass(frozen=True, slots=True)
class DetectedScenes:
    """A file's scenes, published by the worker as the stage cache entry ``entry``
    (``cache/scenes/<key>``: ``previews/<name>`` for each preview ``scenes[i].previews`` names,
    ``scenes.json``, the detector's per-frame trace as the file ``scenes.trace`` names, and the
    manifest last), with each preview's size as uploaded, so the host records rows only for
    previews that are there, and the trace by value (kilobytes; the host stores it in the
    database)."""

    scenes: SceneList
    entry: str
    previews: dict[str, int]
    trace: bytes | None = None


def stage_cache(access: StorageAccess) -> StageCache:
    """The stage cache in the storage ``access`` names, as this process sees it (the data dir's
    ``cache/``, or objects under ``cache/`` in S3 written through this worker's staging area)."""
    storage = storage_for(access)
    return StageCache(Path(access.root) / "cache", storage if access.remote else None)


def detect_scenes_in(
    access: StorageAccess,
    locator: str,
    params: SceneParams,
    key: str,
    device: str = "auto",
    *,
    progress: Progress = no_progress,
) -> DetectedScenes:
    """Detect the scenes of one video and publish them, previews and trace included, from this
    worker as the ``scenes`` stage cache entry ``key`` (complete when its manifest is there).
    ``device`` is ``GENESIS_DEVICE`` (where the neural detector runs, planned on the worker).

    Raises:
        InvalidMediaError: the file is missing, not media, or has no decodable video.
        ObjectMissingError: the object is gone from the storage.
        StorageError: the entry could not be published.
    """
    from genesis_pipeline import serde
    from genesis_pipeline.stages.scenes import detect_scenes

    cache = stage_cache(access)
    found: list[SceneList] = []
    sizes: dict[str, int] = {}
    traces: list[bytes] = []

    def write(d: Path) -> None:
        previews = d / "previews"
        previews.mkdir()
        scenes = detect_scenes(fetch(locator), previews, params, progress, device)
        if scenes.trace:  # written beside the previews: it belongs at the entry's top
            (previews / scenes.trace).replace(d / scenes.trace)
            traces.append((d / scenes.trace).read_bytes())
        sizes.update({p.name: p.stat().st_size for p in previews.iterdir() if p.is_file()})
        (d / "scenes.json").write_text(json.dumps(serde.to_json(scenes)))
        found.append(scenes)

    with reading(access) as fetch:
        cache.store(SCENES_STAGE, key, write)
    entry = cache.entry_key(SCENES_STAGE, key)
    return DetectedScenes(found[0], entry, sizes, traces[0] if traces else None)


def make_proxy_in(
    access: StorageAccess, job: ProxyJob, *, progress: Progress = no_progress
) -> Proxy:
    """Make a playable copy on this worker: the source read from the storage, the copy
    published as its ``proxy`` stage cache entry (complete when its manifest is there).

    Raises:
        InvalidMediaError: the source is missing.
        ObjectMissingError: the object is gone from the storage.
        MediaToolError: ffmpeg failed.
        StageError: the copy came out wrong.
    """
    from genesis_pipeline.services.playback import encode_entry

    with reading(access) as fetch:
        return encode_entry(stage_cache(access), job, fetch(job.source), progress)


def caption_previews(
    model: Any,
    access: StorageAccess,
    previews: Sequence[Sequence[str]],
    params: CaptionParams,
    *,
    progress: Progress = no_progress,
) -> CaptionResult:
    """Caption each scene from its preview images (locators), with a loaded captioner.

    Raises:
        InvalidMediaError: a preview is missing or not a readable image.
        ObjectMissingError: a preview is gone from the storage.
        StageError: the captioner returned a different number of captions than images.
    """
    from genesis_pipeline.stages.captions import caption_scenes

    with reading(access) as fetch:
        local = [[fetch(p) for p in scene] for scene in previews]
        return caption_scenes(local, model, params, progress)


@dataclass(frozen=True, slots=True)
class RenderInputs:
    """Where a render's inputs are, as locators: the media file of each segment (by the
    segment's ``media_key``), each narration clip's voiceover (in order) and the subtitles' text
    (SubRip, written to a file on the worker)."""

    media: dict[int | str, str]
    narration: tuple[str, ...]
    subtitles_srt: str | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A render published to the storage under ``key`` (``size_bytes`` as uploaded); its
    ``result.path`` is the worker's copy, not a path for the host."""

    result: RenderResult
    key: str
    size_bytes: int


def render_segments(
    access: StorageAccess,
    segments: Sequence[CutSegment],
    inputs: RenderInputs,
    key: str,
    needed_bytes: int,
    params: AssemblyParams,
    narration: Sequence[NarrationClip],
    extras: RenderExtras,
    *,
    progress: Progress = no_progress,
) -> Rendered:
    """Render the cut and publish it under ``key`` from this worker (with S3: written to its
    staging area, then uploaded; locally: renamed into place in the data dir), with ``extras``
    (chapters; the subtitles come as text in ``inputs``).

    Raises:
        InvalidSettingError: a malformed segment, clip or parameter.
        InvalidMediaError: a media or narration file is missing or unusable.
        ObjectMissingError: an input is gone from the storage.
        MediaToolError: ffmpeg failed.
        StageError: the disk holding the output cannot hold ``needed_bytes``.
        OSError: the output could not be written (a full disk, say).
    """
    from genesis_pipeline.stages.render import render_cut

    storage = storage_for(access)
    with reading(access) as fetch, tempfile.TemporaryDirectory(prefix="genesis-render-") as tmp:
        segments = [
            dataclasses.replace(s, media_path=fetch(inputs.media[s.media_key])) for s in segments
        ]
        narration = [
            dataclasses.replace(c, path=fetch(loc))
            for c, loc in zip(narration, inputs.narration, strict=True)
        ]
        if inputs.subtitles_srt is not None:
            srt = Path(tmp) / "subtitles.srt"
            srt.write_text(inputs.subtitles_srt, encoding="utf-8")
            if extras.burn_in is not None:
                extras = dataclasses.replace(
                    extras, burn_in=dataclasses.replace(extras.burn_in, subtitles=srt)
                )
            else:
                extras = dataclasses.replace(extras, subtitles=srt)
        with storage.writing(key) as out:
            check_free_space(out.parent, needed_bytes)
            result = render_cut(segments, out, params, narration, progress, extras)
            size = out.stat().st_size
    return Rendered(dataclasses.replace(result, path=storage.local_path(key)), key, size)


def check_free_space(folder: Path, needed: int) -> None:
    """Raises: StageError: the disk cannot hold the render (checked before starting it)."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise StageError(
            "render",
            f"not enough free space in {folder}: {free / 1e6:.0f} MB free, the render needs about "
            f"{needed / 1e6:.0f} MB",
        )
