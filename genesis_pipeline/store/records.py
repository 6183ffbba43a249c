"""Typed rows: what the store hands to services (frozen dataclasses, never tuples or dicts).

JSON columns are parsed here and nowhere else: :func:`from_row` turns every ``*_json`` column
(and ``step_details``) into Python values, and a scene's ``metadata_json`` becomes a
:class:`SceneMetadata`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from genesis_pipeline import serde

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

T = TypeVar("T")


class ReadModel:
    """Read models' fields can also be read by name, ``row["title"]``, as the dicts they
    replaced were (notebooks and scripts written against those index them that way)."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        if name in getattr(self, "__dataclass_fields__", {}):
            return getattr(self, name)
        raise KeyError(name)


def from_row(cls: type[T], cursor: Connection, row: tuple[Any, ...] | None) -> T | None:
    """Build ``cls`` from one DuckDB row by the cursor's column names (extra columns ignored);
    JSON columns are parsed."""
    if row is None:
        return None
    names = [d[0] for d in cursor.description or ()]
    wanted = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    data = {n: v for n, v in zip(names, row, strict=True) if n in wanted}
    for name, value in data.items():
        if (name.endswith("_json") or name == "step_details") and isinstance(value, str):
            data[name] = json.loads(value)
    return cls(**data)


def all_rows(cls: type[T], cursor: Connection) -> list[T]:
    rows = cursor.fetchall()
    return [r for r in (from_row(cls, cursor, row) for row in rows) if r is not None]


# -- projects, media, uploads --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Project:
    id: int
    name: str
    created_at: datetime
    revision: int
    settings_json: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MediaFile:
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
    probe_json: dict[str, Any]
    created_at: datetime

    @property
    def bytes_per_s(self) -> float:
        """The file's average data rate (a render's size estimate sums these)."""
        return self.size_bytes / max(self.duration_s, 0.001)


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """An upload ticket: issued → finalizing → finalized / rejected / expired."""

    id: str
    project_id: int
    token_sha256: str
    original_name: str
    target_path: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    status: str
    media_id: int | None
    error: str | None
    expected_size: int | None = None
    expected_sha256: str | None = None
    expected_part_sha256: str | None = None  # comma-separated hex, in part order

    @property
    def expected_parts(self) -> tuple[str, ...]:
        """The announced sha256 (hex) of each part of a multipart upload, in order."""
        return tuple(self.expected_part_sha256.split(",")) if self.expected_part_sha256 else ()


# -- access: API tokens and the audit log ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TokenRecord(ReadModel):
    """An API token (never its secret: only the secret's hash is stored)."""

    id: int
    name: str
    role: str  # viewer | reviewer | admin
    prefix: str  # the secret's first characters, to tell tokens apart in a list
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserRecord(ReadModel):
    """A local account of the app's sign-in form (never its password, nor its hash)."""

    id: int
    name: str
    role: str  # viewer | reviewer | admin
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry(ReadModel):
    """One write through a front end: who (``token:<name>``, ``cli:<user>``…), when, what."""

    id: int
    happened_at: datetime
    actor: str
    action: str
    project_id: int | None
    details_json: dict[str, Any]


# -- runs ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RunRecord:
    """A pipeline run. ``step_details`` and ``progress_json`` are the documents the pipeline's
    recorder writes (see ``genesis_pipeline.runs.recorder``)."""

    id: int
    project_id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    pid: int | None
    host: str | None
    options_json: dict[str, Any]
    device_json: dict[str, Any]
    step_details: list[dict[str, Any]]
    progress_json: dict[str, Any]
    error: str | None


# -- results: transcripts, scenes, chapters ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """One transcript segment as stored (Whisper's confidence figures where it gave them)."""

    start: float
    end: float
    text: str
    index: int | None = None
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


@dataclass(frozen=True, slots=True)
class TranscriptRecord:
    """A media file's transcript, without its words (:func:`transcripts.words_for_project`)."""

    media_id: int
    media_name: str
    language: str
    language_probability: float | None
    model: str
    text: str
    duration_s: float | None
    segments: tuple[SegmentRecord, ...]


@dataclass(frozen=True, slots=True)
class WordTiming:
    """One transcript word with its time in its file (what chapter rules read)."""

    media_id: int
    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class TranscriptSummaryRow:
    """Per media file, in project order: whether it was transcribed and what came out."""

    media_id: int
    media_name: str
    path: str
    has_audio: bool
    has_video: bool
    duration_s: float
    transcribed: bool
    language: str | None
    language_probability: float | None
    model: str | None
    segments: int
    words: int
    mean_probability: float | None


@dataclass(frozen=True, slots=True)
class Detection:
    """How sure scene detection was of the cut that starts a scene."""

    cut_score: float | None = None
    confidence: float | None = None
    detector: str | None = None
    threshold: float | None = None
    # The boundary the scene starts with: "cut" or "gradual" (a dissolve, fade or wipe over
    # [transition_start_s, transition_end_s)); None for a file's first scene or older runs.
    transition: str | None = None
    transition_start_s: float | None = None
    transition_end_s: float | None = None
    # What a gradual one looks like: "dissolve", "fade" or "wipe" (None when the detector cannot
    # tell: TransNet V2, or runs before it was recorded).
    transition_style: str | None = None


@dataclass(frozen=True, slots=True)
class SceneMetadata:
    """A scene's ``metadata_json``: previews and detection from the scenes step, the scene's
    transcript confidence, and its caption from the captions step (absent until made)."""

    previews: tuple[str, ...] = ()
    detection: Detection = field(default_factory=Detection)
    caption: str | None = None
    caption_confidence: float | None = None
    captions: tuple[tuple[str, float], ...] = ()
    caption_model: str | None = None
    caption_key: str | None = None
    transcript_key: str | None = None
    word_count: int | None = None
    transcript_confidence: float | None = None


@dataclass(frozen=True, slots=True)
class SceneRecord:
    """A scene in project order, with its file's position and its review status (every scene
    is approved until a reviewer rejects it; ``reviewed`` says whether one decided)."""

    id: int
    media_id: int
    media_position: int
    idx: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    preview_path: str | None
    metadata: SceneMetadata
    review_status: str
    reviewed: bool


@dataclass(frozen=True, slots=True)
class SceneTraceRecord:
    """A media file's detector trace as the scene stage wrote it (``trace``: the bytes of
    ``stages.scenes.trace.TRACE_FILE``), made with scenes of cache key ``cache_key``."""

    media_id: int
    cache_key: str
    detector: str
    frames: int
    trace: bytes


@dataclass(frozen=True, slots=True)
class CaptionUpdate:
    """What the captions step merges into a scene's metadata (field order is the stored one)."""

    caption_key: str
    caption: str
    caption_confidence: float
    captions: list[list[Any]]
    caption_model: str


@dataclass(frozen=True, slots=True)
class TranscriptConfidenceUpdate:
    """What the scenes step merges into a scene's metadata: the mean probability of the words
    inside it (``None`` values remove the key)."""

    transcript_key: str | None
    word_count: int
    transcript_confidence: float | None


@dataclass(frozen=True, slots=True)
class NewChapter:
    """A chapter the chapters step stores (``scene_ids`` in order)."""

    idx: int
    title: str
    title_edited: bool
    start_s: float
    end_s: float
    reasons: tuple[str, ...]
    scene_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChapterRecord:
    """A stored chapter with its scenes in project order (project timeline seconds)."""

    id: int
    idx: int
    title: str
    title_edited: bool
    start_s: float
    end_s: float
    rules_version: int
    reasons: tuple[str, ...]
    scene_ids: tuple[int, ...]


# -- review --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReviewActionRecord:
    """One logged review action: what it set on how many scenes, whether it was undone, and its
    first scene (``None`` when that scene is gone)."""

    id: int
    status: str  # approved | rejected | unreviewed
    scene_count: int
    created_at: datetime
    undone: bool
    first_media_name: str | None
    first_scene_idx: int | None


@dataclass(frozen=True, slots=True)
class CutOrderActionRecord(ReadModel):
    """One logged change of the cut's order: what it did in words, who, and whether it was
    undone."""

    id: int
    action: str  # move_scene | move_chapter | reset
    label: str
    actor: str  # an actor's label: user:rita
    created_at: datetime
    undone: bool

    @property
    def who(self) -> str:
        return self.actor.split(":", 1)[-1]


@dataclass(frozen=True, slots=True)
class RulesVersion(ReadModel):
    """A saved version of a project's chapter rules (``rules`` as stored)."""

    version: int
    rules: dict[str, Any]
    note: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CommentRecord:
    """A stored comment with where its target is now: ``scene_id`` (a scene comment's scene,
    found by its key) and ``chapter_id`` (a chapter comment's chapter, found by its first
    scene's key); both None when the target is gone (the comment is orphaned)."""

    id: int
    project_id: int
    parent_id: int | None
    target: str  # scene | chapter | cut
    media_id: int | None
    start_frame: int | None
    start_s: float | None
    end_s: float | None
    render_id: int | None
    author: str
    body: str
    mentions_json: list[str]
    created_at: datetime
    edited_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    scene_id: int | None
    chapter_id: int | None


@dataclass(frozen=True, slots=True)
class VoiceoverRecord:
    id: int
    project_id: int
    chapter_idx: int | None
    original_name: str
    path: str
    sha256: str
    duration_s: float
    offset_s: float | None
    gain: float
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RenderRecord:
    id: int
    project_id: int
    run_id: int | None
    path: str
    cache_key: str
    duration_s: float
    size_bytes: int
    settings_json: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProxyRecord:
    """A playable copy of a media file (or why none could be made)."""

    media_id: int
    project_id: int
    cache_key: str
    status: str  # ready | failed
    path: str | None
    reason: str
    error: str | None
    size_bytes: int | None
    duration_s: float | None
    encode_s: float | None
    metadata_json: dict[str, Any]
    updated_at: datetime


def scene_metadata(raw: str | Mapping[str, Any] | None) -> SceneMetadata:
    """A scene's stored metadata (text or already parsed) as :class:`SceneMetadata`."""
    data = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    return serde.from_json(SceneMetadata, data)
