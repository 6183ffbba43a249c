"""Chapters: the saved chapters, the rules' history, save a rules version, preview a rules change
without saving (the Chapters page's own function), chapter titles."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from genesis_pipeline.api.deps import PathId, Reader, Reviewer, StoreDep, forget
from genesis_pipeline.api.problems import responses
from genesis_pipeline.services.chapters import (
    SavedChapter,
    current_rules,
    load_chapter_inputs,
    preview_chapters,
    rules_history,
    save_rules,
    saved_chapters,
    set_chapter_title,
)
from genesis_pipeline.services.projects import get_project
from genesis_pipeline.stages.chapters import Rules
from genesis_pipeline.store.records import RulesVersion

router = APIRouter(tags=["chapters"], responses=responses(401, 403, 404, 422))

_DEFAULT = Rules()


class RulesBody(BaseModel):
    """Chapter rules (each defaults to the built-in value)."""

    min_chapter_s: float = Field(_DEFAULT.min_chapter_s, ge=0, le=86400)
    max_chapter_s: float = Field(_DEFAULT.max_chapter_s, ge=0, le=86400)
    pause_split_s: float = Field(_DEFAULT.pause_split_s, ge=0, le=3600)
    caption_similarity: float = Field(_DEFAULT.caption_similarity, ge=0, le=1)
    keep_sentences: bool = _DEFAULT.keep_sentences

    def rules(self) -> Rules:
        return Rules(
            min_chapter_s=self.min_chapter_s,
            max_chapter_s=self.max_chapter_s,
            pause_split_s=self.pause_split_s,
            caption_similarity=self.caption_similarity,
            keep_sentences=self.keep_sentences,
        )


class RulesSave(RulesBody):
    note: str | None = Field(None, max_length=500, examples=["fewer, longer chapters"])


class RulesSaved(BaseModel):
    version: int


class CurrentRules(BaseModel):
    version: int = Field(description="0: never saved (the defaults)")
    rules: RulesBody
    history: list[RulesVersion]


class PreviewChapter(BaseModel):
    index: int
    start_s: float
    end_s: float
    scene_ids: list[int]
    title: str
    reasons: list[str]


class TitleBody(BaseModel):
    title: str = Field(min_length=1, max_length=200, examples=["Arrival at the harbour"])


@router.get(
    "/projects/{project_id}/chapters",
    response_model=list[SavedChapter],
    summary="The chapters of the last run (with edited titles)",
)
def chapters(project_id: PathId, store: StoreDep, _: Reader) -> list[SavedChapter]:
    return saved_chapters(store, project_id)


@router.get(
    "/projects/{project_id}/chapters/rules",
    response_model=CurrentRules,
    summary="The rules in effect and every saved version",
)
def rules(project_id: PathId, store: StoreDep, _: Reader) -> CurrentRules:
    version, now = current_rules(store, project_id)
    return CurrentRules(
        version=version,
        rules=RulesBody(
            min_chapter_s=now.min_chapter_s,
            max_chapter_s=now.max_chapter_s,
            pause_split_s=now.pause_split_s,
            caption_similarity=now.caption_similarity,
            keep_sentences=now.keep_sentences,
        ),
        history=rules_history(store, project_id),
    )


@router.post(
    "/projects/{project_id}/chapters/rules",
    response_model=RulesSaved,
    summary="Save a rules version (the next run re-chapters with it)",
)
def save(project_id: PathId, body: RulesSave, store: StoreDep, actor: Reviewer) -> RulesSaved:
    version = save_rules(store, project_id, body.rules(), body.note, actor=actor)
    forget(store, project_id)
    return RulesSaved(version=version)


@router.post(
    "/projects/{project_id}/chapters/preview",
    response_model=list[PreviewChapter],
    summary="The chapters these rules would make, without saving anything",
)
def preview(
    project_id: PathId, body: RulesBody, store: StoreDep, _: Reader
) -> list[PreviewChapter]:
    get_project(store, project_id)
    made = preview_chapters(load_chapter_inputs(store, project_id), body.rules())
    return [
        PreviewChapter(
            index=c.index,
            start_s=c.start_s,
            end_s=c.end_s,
            scene_ids=[int(k) for k in c.scene_keys],
            title=c.title,
            reasons=list(c.reasons),
        )
        for c in made
    ]


@router.put(
    "/projects/{project_id}/chapters/{chapter_id}/title",
    response_model=list[SavedChapter],
    summary="Rename a chapter",
)
def title(
    project_id: PathId, chapter_id: PathId, body: TitleBody, store: StoreDep, actor: Reviewer
) -> list[SavedChapter]:
    set_chapter_title(store, project_id, chapter_id, body.title, actor=actor)
    forget(store, project_id)
    return saved_chapters(store, project_id)
