"""Runs: start one in the background with the CLI's options, its status with every step, live
progress as Server-Sent Events, cancel, history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from genesis_pipeline.api.deps import PathId, Reader, Reviewer, StoreDep, forget
from genesis_pipeline.api.problems import responses
from genesis_pipeline.api.responses import NOT_MODIFIED, IfNoneMatch, answer, cached, cached_sync
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.runs.cancel import cancel_run, get_run
from genesis_pipeline.runs.control import (
    StepRow,
    list_runs,
    run_fraction,
    run_state,
    start_background_run,
    step_checklist,
)
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.services.documents import RunDoc, run_doc
from genesis_pipeline.services.projects import get_project
from genesis_pipeline.services.render_settings import RENDER_MODES, check_subtitles_choice
from genesis_pipeline.stages.narration import check_overrun_choice
from genesis_pipeline.store import Store

router = APIRouter(tags=["runs"], responses=responses(401, 403, 404, 422))

#: How often the progress stream looks at the run (the recorder writes about as often).
POLL_S = 0.5


class RunStart(BaseModel):
    """The options of ``genesis process-project``."""

    force: bool = Field(False, description="recompute every step, ignore the cache")
    render: bool = Field(True, description="false: stop before rendering")
    voiceover: str | None = Field(
        None, description="narration for the whole cut: a file inside the data dir"
    )
    voiceover_offset: float | None = Field(None, ge=0, le=86400)
    voiceover_gain: float | None = Field(None, ge=0, le=16)
    bed_gain: float | None = Field(None, ge=0, le=16)
    render_mode: str | None = Field(None, examples=["smart"], description="smart | reencode")
    narration_overrun: str | None = Field(None, description="trim | extend | freeze")
    subtitles: str | None = Field(None, description="off | soft | burned")


class RunStarted(BaseModel):
    project_id: int
    pid: int = Field(description="the background worker's process id")
    status_url: str
    events_url: str


class RunStatus(BaseModel):
    """Whether a run is going, the latest run with its step details and live progress."""

    running: bool
    starting: bool
    fraction: float = Field(description="how far the latest run got, 0..1")
    run: RunDoc | None
    steps: list[StepRow]


def _status(store: Store, project_id: int) -> RunStatus:
    return cached_sync(
        store, ("status", project_id), lambda: run_status(store, project_id)
    ).document


def run_status(store: Store, project_id: int) -> RunStatus:
    """The project's latest run, read from the store (the route serves it cached)."""
    get_project(store, project_id)
    state = run_state(store, project_id)
    return RunStatus(
        running=state.running,
        starting=state.starting,
        fraction=run_fraction(state.run),
        run=run_doc(state.run) if state.run else None,
        steps=step_checklist(state.run),
    )


@router.post(
    "/projects/{project_id}/runs",
    response_model=RunStarted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a run in the background",
    responses=responses(409),
)
def start(project_id: PathId, body: RunStart, store: StoreDep, actor: Reviewer) -> RunStarted:
    if body.narration_overrun is not None:
        check_overrun_choice(body.narration_overrun, "narration_overrun")
    if body.subtitles is not None:
        check_subtitles_choice(body.subtitles, "subtitles")
    if body.render_mode is not None and body.render_mode not in RENDER_MODES:
        raise InvalidSettingError("render_mode", f"{body.render_mode!r} is not smart or reencode")
    voiceover = (
        Path(store.inside(body.voiceover, "voiceover")) if body.voiceover is not None else None
    )
    options = RunOptions(
        force=body.force,
        voiceover=voiceover,
        voiceover_offset=body.voiceover_offset,
        voiceover_gain=body.voiceover_gain,
        bed_gain=body.bed_gain,
        render=body.render,
        render_mode=body.render_mode,
        narration_overrun=body.narration_overrun,
        subtitles=body.subtitles,
    )
    pid = start_background_run(store, project_id, options, actor=actor)
    forget(store, project_id)
    base = f"/projects/{project_id}/runs"
    return RunStarted(
        project_id=project_id, pid=pid, status_url=f"{base}/current", events_url=f"{base}/events"
    )


@router.get(
    "/projects/{project_id}/runs/current",
    response_model=RunStatus,
    summary="The latest run: steps, progress, whether one is going",
    responses=NOT_MODIFIED,
)
async def current(
    request: Request,
    project_id: PathId,
    store: StoreDep,
    _: Reader,
    if_none_match: IfNoneMatch = None,
) -> Response:
    polled = await cached(
        request, store, ("status", project_id), lambda: run_status(store, project_id)
    )
    return answer(polled, if_none_match)


@router.get(
    "/projects/{project_id}/runs/events",
    response_class=EventSourceResponse,
    summary="Follow the run's progress (Server-Sent Events: `progress` events, then `end`)",
)
async def events(
    project_id: PathId,
    store: StoreDep,
    _: Reader,
    wait_s: float = Query(30.0, ge=0, le=600, description="how long to wait for a run to start"),
) -> AsyncIterator[ServerSentEvent]:
    first = await anyio.to_thread.run_sync(_status, store, project_id)
    last = ""
    seen_active = first.running or first.starting
    deadline = anyio.current_time() + wait_s
    doc = first
    while True:
        body = doc.model_dump_json()
        if body != last:
            yield ServerSentEvent(event="progress", raw_data=body)
            last = body
        active = doc.running or doc.starting
        seen_active = seen_active or active
        if not active and (seen_active or anyio.current_time() > deadline):
            break
        await anyio.sleep(POLL_S)
        doc = await anyio.to_thread.run_sync(_status, store, project_id)
    yield ServerSentEvent(event="end", raw_data=doc.model_dump_json())


@router.post(
    "/projects/{project_id}/runs/cancel",
    response_model=RunDoc | None,
    summary="Stop the run in progress (what finished stays cached)",
    responses=responses(409),
)
def cancel(project_id: PathId, store: StoreDep, actor: Reviewer) -> RunDoc | None:
    run = cancel_run(store, project_id, f"cancelled by {actor.label}", actor=actor)
    forget(store, project_id)
    return run_doc(run) if run else None


@router.get(
    "/projects/{project_id}/runs", response_model=list[RunDoc], summary="Run history, newest first"
)
def history(
    project_id: PathId, store: StoreDep, _: Reader, limit: int = Query(20, ge=1, le=500)
) -> list[RunDoc]:
    get_project(store, project_id)
    return [run_doc(r) for r in list_runs(store, project_id, limit)]


@router.get("/projects/{project_id}/runs/{run_id}", response_model=RunDoc, summary="One run")
def one_run(project_id: PathId, run_id: PathId, store: StoreDep, _: Reader) -> RunDoc:
    return run_doc(get_run(store, project_id, run_id))
