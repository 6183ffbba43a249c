"""The project status document (``genesis status --json``): everything about a project at once.

:func:`status_report` gives it typed (:class:`ProjectStatus`); :func:`project_status` gives
the JSON document the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from genesis_pipeline import serde
from genesis_pipeline.services.comments import CommentCounts, Thread, counts, to_threads
from genesis_pipeline.services.documents import (
    ProjectDoc,
    RenderDoc,
    RunDoc,
    project_doc,
    render_doc,
    run_doc,
)
from genesis_pipeline.store import Store
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import comments as comments_sql
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import renders as renders_sql
from genesis_pipeline.store import rules as rules_sql
from genesis_pipeline.store import runs as runs_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store import voiceovers as voiceovers_sql
from genesis_pipeline.store.records import ReadModel, VoiceoverRecord


@dataclass(frozen=True, slots=True)
class StatusMedia(ReadModel):
    id: int
    original_name: str
    stored_name: str
    path: str  # absolute
    sha256: str
    kind: str
    duration_s: float
    width: int | None
    height: int | None
    fps: float | None
    is_vfr: bool | None
    rotation: int | None
    has_audio: bool
    has_video: bool
    video_codec: str | None
    audio_codec: str | None
    size_bytes: int


@dataclass(frozen=True, slots=True)
class StatusWord(ReadModel):
    word: str
    start: float
    end: float
    probability: float
    timing_uncertain: bool = False


@dataclass(frozen=True, slots=True)
class StatusTranscript(ReadModel):
    media_id: int
    language: str
    language_probability: float | None
    model: str
    text: str
    duration_s: float | None
    words: tuple[StatusWord, ...] | None  # None when the words were not asked for


@dataclass(frozen=True, slots=True)
class SceneConfidence(ReadModel):
    detection: float | None
    cut_score: float | None
    caption: float | None
    transcript: float | None


@dataclass(frozen=True, slots=True)
class StatusScene(ReadModel):
    id: int
    media_id: int
    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    preview_path: str | None  # absolute
    preview_paths: tuple[str | None, ...]
    caption: str | None
    confidence: SceneConfidence
    review_status: str


@dataclass(frozen=True, slots=True)
class StatusChapter(ReadModel):
    id: int
    index: int
    title: str
    title_edited: bool
    start_s: float
    end_s: float
    scene_ids: tuple[int, ...]
    reasons: tuple[str, ...]
    rules_version: int


@dataclass(frozen=True, slots=True)
class StatusRules(ReadModel):
    version: int
    rules: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatusComment(ReadModel):
    id: int
    author: str  # the actor's label: user:ana, token:ci-bot, cli:root
    body: str
    mentions: tuple[str, ...]
    created_at: datetime
    edited_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatusThread(ReadModel):
    """An open thread: where it is (a scene, a chapter, or a range of the cut) and its
    comments in order. ``orphaned``: its scene or chapter is gone."""

    id: int
    target: str
    scene_id: int | None
    chapter_id: int | None
    media_id: int | None
    start_frame: int | None
    start_s: float | None
    end_s: float | None
    orphaned: bool
    comments: tuple[StatusComment, ...]


@dataclass(frozen=True, slots=True)
class StatusComments(ReadModel):
    counts: CommentCounts
    open_threads: tuple[StatusThread, ...]


def status_comments(threads: list[Thread]) -> StatusComments:
    return StatusComments(
        counts=counts(threads),
        open_threads=tuple(
            StatusThread(
                id=t.id,
                target=t.target,
                scene_id=t.root.scene_id,
                chapter_id=t.root.chapter_id,
                media_id=t.root.media_id,
                start_frame=t.root.start_frame,
                start_s=t.root.start_s,
                end_s=t.root.end_s,
                orphaned=t.orphaned,
                comments=tuple(
                    StatusComment(c.id, c.author, c.body, c.mentions, c.created_at, c.edited_at)
                    for c in t.comments
                ),
            )
            for t in threads
            if not t.resolved
        ),
    )


@dataclass(frozen=True, slots=True)
class ProjectStatus(ReadModel):
    """Everything about a project; ``serde.to_json`` of it is ``genesis status --json``."""

    project: ProjectDoc
    media: tuple[StatusMedia, ...]
    transcripts: tuple[StatusTranscript, ...]
    scenes: tuple[StatusScene, ...]
    chapters: tuple[StatusChapter, ...]
    chapter_rules: StatusRules | None
    voiceovers: tuple[VoiceoverRecord, ...]
    renders: tuple[RenderDoc, ...]
    last_run: RunDoc | None
    comments: StatusComments


def status_report(store: Store, project_id: int, *, include_words: bool = True) -> ProjectStatus:
    """Everything about a project, read in one transaction (paths absolute).

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        project = projects_sql.get(con, project_id)
        media = media_sql.list_for_project(con, project_id)
        transcripts = transcripts_sql.transcripts_for_project(con, project_id)
        words = transcripts_sql.words_for_project(con, project_id) if include_words else None
        scenes = scenes_sql.scenes_for_project(con, project_id)
        chapters = chapters_sql.chapters_for_project(con, project_id)
        renders = renders_sql.list_for_project(con, project_id)
        last = runs_sql.latest(con, project_id)
        rules = rules_sql.latest_rules(con, project_id)
        voiceovers = voiceovers_sql.active_voiceovers(con, project_id)
        threads = to_threads(comments_sql.for_project(con, project_id))

    def abs_path(p: str | None) -> str | None:
        return store.location(p) if p else None

    def words_of(media_id: int) -> tuple[StatusWord, ...] | None:
        if words is None:
            return None
        return tuple(
            StatusWord(
                str(w.word),
                float(w.start_s),
                float(w.end_s),
                float(w.probability),
                bool(w.timing_uncertain),
            )
            for w in words[words.media_id == media_id].itertuples()
        )

    return ProjectStatus(
        project=project_doc(project),
        media=tuple(
            StatusMedia(
                id=m.id,
                original_name=m.original_name,
                stored_name=m.stored_name,
                path=store.location(m.path),
                sha256=m.sha256,
                kind=m.kind,
                duration_s=m.duration_s,
                width=m.width,
                height=m.height,
                fps=m.fps,
                is_vfr=m.is_vfr,
                rotation=m.rotation,
                has_audio=m.has_audio,
                has_video=m.has_video,
                video_codec=m.video_codec,
                audio_codec=m.audio_codec,
                size_bytes=m.size_bytes,
            )
            for m in media
        ),
        transcripts=tuple(
            StatusTranscript(
                media_id=t.media_id,
                language=t.language,
                language_probability=t.language_probability,
                model=t.model,
                text=t.text,
                duration_s=t.duration_s,
                words=words_of(t.media_id),
            )
            for t in sorted(transcripts, key=lambda t: t.media_id)
        ),
        scenes=tuple(
            StatusScene(
                id=s.id,
                media_id=s.media_id,
                index=s.idx,
                start_s=s.start_s,
                end_s=s.end_s,
                start_frame=s.start_frame,
                end_frame=s.end_frame,
                preview_path=abs_path(s.preview_path),
                preview_paths=tuple(abs_path(p) for p in s.metadata.previews),
                caption=s.metadata.caption,
                confidence=SceneConfidence(
                    detection=s.metadata.detection.confidence,
                    cut_score=s.metadata.detection.cut_score,
                    caption=s.metadata.caption_confidence,
                    transcript=s.metadata.transcript_confidence,
                ),
                review_status=s.review_status,
            )
            for s in scenes
        ),
        chapters=tuple(
            StatusChapter(
                id=c.id,
                index=c.idx,
                title=c.title,
                title_edited=c.title_edited,
                start_s=c.start_s,
                end_s=c.end_s,
                scene_ids=c.scene_ids,
                reasons=c.reasons,
                rules_version=c.rules_version,
            )
            for c in chapters
        ),
        chapter_rules=StatusRules(*rules) if rules else None,
        voiceovers=tuple(voiceovers),
        renders=tuple(render_doc(r, abs_path(r.path)) for r in renders),
        last_run=run_doc(last) if last else None,
        comments=status_comments(threads),
    )


def project_status(store: Store, project_id: int, *, include_words: bool = True) -> dict[str, Any]:
    """:func:`status_report` as the JSON document ``genesis status --json`` prints
    (``words`` is null in each transcript unless ``include_words``).

    Raises:
        NotFoundError: no such project.
    """
    doc: dict[str, Any] = serde.to_json(
        status_report(store, project_id, include_words=include_words)
    )
    return doc
