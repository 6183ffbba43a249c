"""Transcripts: words with timings and probabilities (paged), search, SRT and WebVTT."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from genesis_pipeline.api.deps import PathId, QueryId, Reader, StoreDep
from genesis_pipeline.api.problems import responses
from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.services.media_facts import media_facts
from genesis_pipeline.services.projects import get_project
from genesis_pipeline.services.queries import transcript_tables
from genesis_pipeline.services.subtitles import transcript_subtitles

router = APIRouter(tags=["transcripts"], responses=responses(401, 403, 404, 422))


class Word(BaseModel):
    media_id: int
    index: int
    word: str
    start_s: float
    end_s: float
    probability: float
    segment: int


class WordPage(BaseModel):
    words: list[Word]
    total: int
    offset: int


class Segment(BaseModel):
    media_id: int
    index: int
    start_s: float
    end_s: float
    text: str


@router.get(
    "/projects/{project_id}/transcripts/words",
    response_model=WordPage,
    summary="Words with timings and probabilities, paged",
)
def words(
    project_id: PathId,
    store: StoreDep,
    _: Reader,
    media_id: QueryId = None,
    offset: int = Query(0, ge=0),
    limit: int = Query(500, ge=1, le=5000),
) -> WordPage:
    get_project(store, project_id)
    _segments, table = transcript_tables(store, project_id)
    if media_id is not None and not table.empty:
        table = table[table.media_id == media_id]
    page = table.iloc[offset : offset + limit]
    return WordPage(
        words=[
            Word(
                media_id=int(w.media_id),
                index=int(w.idx),
                word=str(w.word),
                start_s=float(w.start_s),
                end_s=float(w.end_s),
                probability=float(w.probability),
                segment=int(w.segment_idx),
            )
            for w in page.itertuples()
        ],
        total=len(table),
        offset=offset,
    )


@router.get(
    "/projects/{project_id}/transcripts/search",
    response_model=list[Segment],
    summary="Segments whose text contains the query (case-insensitive)",
)
def search(
    project_id: PathId,
    store: StoreDep,
    _: Reader,
    q: str = Query(min_length=1, max_length=200),
    limit: int = Query(100, ge=1, le=1000),
) -> list[Segment]:
    get_project(store, project_id)
    segments, _words = transcript_tables(store, project_id)
    if segments.empty:
        return []
    hits = segments[segments.text.str.lower().str.contains(q.lower(), regex=False)]
    return [
        Segment(
            media_id=int(s.media_id),
            index=int(s.index),
            start_s=float(s.start),
            end_s=float(s.end),
            text=str(s.text),
        )
        for s in hits.head(limit).itertuples()
    ]


@router.get(
    "/projects/{project_id}/transcripts/{media_id}/subtitles",
    response_class=PlainTextResponse,
    summary="A media file's transcript as SRT or WebVTT",
    responses={200: {"content": {"application/x-subrip": {}, "text/vtt": {}}}},
)
def subtitles(
    project_id: PathId,
    media_id: PathId,
    store: StoreDep,
    _: Reader,
    format: Literal["srt", "vtt"] = "srt",
    marks: bool = Query(
        True, description="mark words of uncertain timing (SRT <u>, WebVTT <c.uncertain>)"
    ),
) -> PlainTextResponse:
    media_facts(store, project_id, media_id)  # 404 for media of another project
    segments, words = transcript_tables(store, project_id)
    mine = segments[segments.media_id == media_id] if not segments.empty else segments
    if mine.empty:
        raise NotFoundError(f"media {media_id}: no transcript (run the pipeline first)")
    its_words = words[words.media_id == media_id] if not words.empty else words
    text = transcript_subtitles(
        mine.to_dict("records"), its_words.to_dict("records"), format, mark_uncertain=marks
    )
    return PlainTextResponse(
        text, media_type="text/vtt" if format == "vtt" else "application/x-subrip"
    )
