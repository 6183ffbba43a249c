"""What the store's records look like in ``--json`` output and the status document.

Each document is a frozen dataclass whose fields, in order, are the JSON document's keys
(``serde.to_json`` writes them in field order): the ``genesis`` command line's output is a
public format, so these classes are its schema. Build them from records with the ``*_doc``
functions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from genesis_pipeline.store.records import (
    MediaFile,
    Project,
    ReadModel,
    RenderRecord,
    RunRecord,
)

D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class ProjectDoc(ReadModel):
    id: int
    name: str
    created_at: datetime
    revision: int
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MediaDoc(ReadModel):
    """A media file without its full probe document."""

    id: int
    project_id: int
    position: int
    original_name: str
    stored_name: str
    path: str
    imported: bool
    sha256: str
    size_bytes: int
    kind: str
    duration_s: float
    width: int | None
    height: int | None
    fps: float | None
    is_vfr: bool | None
    rotation: int | None
    frame_count: int | None
    video_codec: str | None
    audio_codec: str | None
    has_audio: bool
    has_video: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AddedMediaDoc(MediaDoc):
    """A media file ``add-media`` added, or found already in the project (``duplicate``)."""

    duplicate: bool


@dataclass(frozen=True, slots=True)
class MediaAdded:
    """``genesis add-media --json``."""

    project_id: int
    media: list[AddedMediaDoc]


@dataclass(frozen=True, slots=True)
class RunDoc(ReadModel):
    """A run: its options, device and models, per-step details and live progress."""

    id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    pid: int | None
    options: dict[str, Any]
    device: dict[str, Any]
    step_details: list[dict[str, Any]]
    progress: dict[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True)
class RenderDoc(ReadModel):
    """A render with the settings it was made with (``voiceover``: the narration it mixed)."""

    id: int
    path: str
    duration_s: float
    size_bytes: int
    created_at: datetime
    run_id: int | None
    voiceover: Any
    settings: dict[str, Any]


def _copy(cls: type[D], source: object, **given: Any) -> D:
    """A ``cls`` from ``source``'s same-named fields, and the ``given`` ones."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: given[n] if n in given else getattr(source, n) for n in names})


def project_doc(project: Project) -> ProjectDoc:
    return _copy(ProjectDoc, project, settings=project.settings_json)


def media_doc(media: MediaFile) -> MediaDoc:
    return _copy(MediaDoc, media)


def added_media_doc(media: MediaFile, duplicate: bool) -> AddedMediaDoc:
    return _copy(AddedMediaDoc, media, duplicate=duplicate)


def run_doc(run: RunRecord) -> RunDoc:
    return _copy(
        RunDoc,
        run,
        options=run.options_json,
        device=run.device_json,
        progress=run.progress_json,
    )


def render_doc(render: RenderRecord, path: str | None = None) -> RenderDoc:
    """``path``: what to show instead of the recorded (data-dir relative) path."""
    return _copy(
        RenderDoc,
        render,
        path=render.path if path is None else path,
        voiceover=render.settings_json.get("voiceover"),
        settings=render.settings_json,
    )
