"""The app's only door to Genesis: cached reads keyed on the project's revision, plain writes.

``st.cache_resource`` holds the :class:`Store` (paths and settings, never an open connection:
an open DuckDB connection would lock every other process out of the file). ``st.cache_data``
holds read models keyed on ``(project_id, revision)``, so pages are instant until something
changes, and a change made in another browser shows up on the next rerun.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import streamlit as st

from genesis_pipeline.config import Settings
from genesis_pipeline.services import queries
from genesis_pipeline.services.projects import list_projects, project_revision
from genesis_pipeline.store import Store


@st.cache_resource(show_spinner=False)
def _store(home: str) -> Store:
    return Store(Settings.from_env(home=home))


def store() -> Store:
    return _store(os.environ.get("GENESIS_HOME") or "data")


def revision(project_id: int) -> int:
    """Changes whenever anything about the project changes (one short read)."""
    return project_revision(store(), project_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _projects(home: str, stamp: tuple[int, ...]) -> list[dict[str, Any]]:
    return list_projects(_store(home))


def projects() -> list[dict[str, Any]]:
    s = store()
    with s.db.read() as con:
        stamp = tuple(
            int(x)
            for row in con.execute(
                "SELECT count(*), coalesce(sum(revision), 0), coalesce(sum(id), 0),"
                " (SELECT coalesce(max(id), 0) FROM runs),"
                " (SELECT count(*) FROM runs WHERE status <> 'running') FROM projects"
            ).fetchall()
            for x in row
        )
    return _projects(str(s.home), stamp)


@st.cache_data(show_spinner=False, max_entries=32)
def _scenes(home: str, project_id: int, rev: int) -> pd.DataFrame:
    return queries.scenes_table(_store(home), project_id)


def scenes(project_id: int) -> pd.DataFrame:
    return _scenes(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _media(home: str, project_id: int, rev: int) -> pd.DataFrame:
    return queries.media_table(_store(home), project_id)


def media(project_id: int) -> pd.DataFrame:
    return _media(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _transcript(home: str, project_id: int, rev: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return queries.transcript_tables(_store(home), project_id)


def transcript(project_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _transcript(str(store().home), project_id, revision(project_id))


def clear() -> None:
    """Forget cached reads (after a write in this session, for an immediate refresh)."""
    _projects.clear()


def ensure_demo() -> None:
    """On an empty data dir, create the demo project and start processing it in the background."""
    if st.session_state.get("_demo_checked"):
        return
    st.session_state["_demo_checked"] = True
    if os.environ.get("GENESIS_NO_DEMO") == "1":
        return
    from genesis_pipeline.runs.demo import ensure_demo_project

    ensure_demo_project(store())


# -- Upload, Run, Transcript and Scenes pages -----------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _transcript_summary(home: str, project_id: int, rev: int) -> pd.DataFrame:
    from genesis_pipeline.services.queries import transcript_summary as summary

    return summary(_store(home), project_id)


def transcript_summary(project_id: int) -> pd.DataFrame:
    """Transcript page: one row per media file (transcribed? words, language, model)."""
    return _transcript_summary(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=64)
def _transcript_lines(home: str, project_id: int, rev: int, media_id: int) -> list[dict[str, Any]]:
    from genesis_pipeline.services.subtitles import split_lines

    segments, words = _transcript(home, project_id, rev)
    return split_lines(
        segments[segments.media_id == media_id].to_dict("records"),
        words[words.media_id == media_id].to_dict("records"),
    )


def transcript_lines(project_id: int, media_id: int) -> list[dict[str, Any]]:
    """Transcript page: one media file's transcript as readable lines with their words."""
    return _transcript_lines(str(store().home), project_id, revision(project_id), media_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _subtitles(home: str, project_id: int, rev: int, media_id: int, fmt: str) -> str:
    from genesis_pipeline.services.subtitles import to_srt, to_vtt

    lines = _transcript_lines(home, project_id, rev, media_id)
    return to_srt(lines) if fmt == "srt" else to_vtt(lines)


def subtitles(project_id: int, media_id: int, fmt: str) -> str:
    """Transcript page: one media file's transcript as ``srt`` or ``vtt`` text."""
    return _subtitles(str(store().home), project_id, revision(project_id), media_id, fmt)


@st.cache_data(show_spinner=False, max_entries=32)
def _runs(home: str, project_id: int, rev: int) -> list[dict[str, Any]]:
    from genesis_pipeline.runs.control import list_runs

    return [r.to_dict() for r in list_runs(_store(home), project_id)]


def runs(project_id: int) -> list[dict[str, Any]]:
    """Run page: the project's latest runs, newest first (revision moves when a run starts/ends)."""
    return _runs(str(store().home), project_id, revision(project_id))


# -- Confidence, Chapters, Narration and Render pages ---------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _captions_skipped(home: str, project_id: int, rev: int) -> str | None:
    from genesis_pipeline.runs.control import list_runs

    for run in list_runs(_store(home), project_id, limit=5):
        for step in run.step_details or []:
            if step.get("step") == "captions" and step.get("status") != "running":
                if step.get("status") == "skipped":
                    return str(step.get("note") or "the captions step was skipped")
                return None
    return None


def captions_skipped(project_id: int) -> str | None:
    """Confidence page: why the latest run skipped captions, or None when it made them."""
    return _captions_skipped(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=16)
def _chapter_inputs(home: str, project_id: int, rev: int) -> Any:
    from genesis_pipeline.services.chapters import load_chapter_inputs

    return load_chapter_inputs(_store(home), project_id)


def chapter_inputs(project_id: int) -> Any:
    """Chapters page: scenes, captions and words on the project timeline (``ChapterInputs``)."""
    return _chapter_inputs(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _chapter_state(home: str, project_id: int, rev: int) -> dict[str, Any]:
    from genesis_pipeline.services import chapters

    s = _store(home)
    version, rules = chapters.current_rules(s, project_id)
    return {
        "version": version,
        "rules": rules,
        "history": chapters.rules_history(s, project_id),
        "saved": chapters.saved_chapters(s, project_id),
        "titles": chapters.edited_titles(s, project_id),
    }


def chapter_state(project_id: int) -> dict[str, Any]:
    """Chapters page: latest rules ``version`` and ``rules``, rules ``history``, ``saved``
    chapters of the last run and the reviewers' ``titles``."""
    return _chapter_state(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _narration_state(home: str, project_id: int, rev: int) -> dict[str, Any]:
    from genesis_pipeline.errors import GenesisError
    from genesis_pipeline.services import narration
    from genesis_pipeline.services.cut import load_cut

    s = _store(home)
    cut = load_cut(s, project_id)
    voiceovers = narration.list_voiceovers(s, project_id)
    rows: list[dict[str, Any]] = []
    error = None
    try:
        _clips, rows = narration.narration_clips(s, cut, voiceovers)
    except GenesisError as exc:
        error = str(exc)
    return {
        "cut": cut,
        "voiceovers": voiceovers,
        "rows": rows,
        "error": error,
        "mix": narration.get_mix(s, project_id),
    }


def narration_state(project_id: int) -> dict[str, Any]:
    """Narration page: the ``cut`` plan, active ``voiceovers``, the plan ``rows`` (or the plan's
    ``error``) and the ``mix``."""
    return _narration_state(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _render_state(home: str, project_id: int, rev: int) -> dict[str, Any]:
    from genesis_pipeline.services.render_view import render_history, render_overview

    s = _store(home)
    return {"overview": render_overview(s, project_id), "history": render_history(s, project_id)}


def render_state(project_id: int) -> dict[str, Any]:
    """Render page: ``overview`` (approved scenes, cut, current?) and the render ``history``."""
    return _render_state(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=64)
def _chapter_preview_plan(home: str, project_id: int, rev: int, chapter_idx: int) -> Any:
    from genesis_pipeline.errors import GenesisError
    from genesis_pipeline.services.narration import plan_chapter_preview

    try:
        return plan_chapter_preview(_store(home), project_id, chapter_idx)
    except GenesisError:  # the Render preview button says why
        return None


def chapter_preview_plan(project_id: int, chapter_idx: int) -> Any:
    """Narration page: what the mixed preview of a chapter is made of now
    (``ChapterPreviewPlan``), or None when it cannot be made."""
    return _chapter_preview_plan(str(store().home), project_id, revision(project_id), chapter_idx)


# -- players ------------------------------------------------------------------------------------
def playback(media_id: int) -> Any:
    """What a player should load for a media file (``services.playback.Playback``): the footage,
    its playable copy, or nothing yet and why. Not cached: a copy appears without a revision
    change, and the read is one short query."""
    from genesis_pipeline.services.playback import playback as media_playback

    return media_playback(store(), media_id)


def prepare_playback(project_id: int) -> None:
    """Start making the project's missing playable copies in a background worker (after an
    upload; does nothing when none is missing or a worker is at it)."""
    import logging

    from genesis_pipeline.errors import GenesisError
    from genesis_pipeline.services.playback import start_proxy_worker

    try:
        start_proxy_worker(store(), project_id)
    except (GenesisError, OSError) as exc:  # the page goes on; the run makes them instead
        logging.getLogger(__name__).warning("playable copies not started: %s", exc)


@st.cache_data(show_spinner=False, max_entries=32)
def _overrun_state(home: str, project_id: int, rev: int) -> Any:
    from genesis_pipeline.errors import GenesisError
    from genesis_pipeline.services.narration import overrun_report

    try:
        return overrun_report(_store(home), project_id)
    except GenesisError:
        return None  # the narration plan cannot be made: the pages say why on their own


def overrun_state(project_id: int) -> Any:
    """Narration and Render pages: the voiceovers that run past the cut's end and the project's
    choice (an ``OverrunReport``), or None when the narration plan cannot be made."""
    return _overrun_state(str(store().home), project_id, revision(project_id))
