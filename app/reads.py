"""The app's only door to Genesis reads: cached read models keyed on the project's revision.

``st.cache_resource`` holds the :class:`Store` (paths and settings, never an open connection:
an open DuckDB connection would lock every other process out of the file). ``st.cache_data``
holds read models keyed on ``(project_id, revision)``, so pages are instant until something
changes, and a change made in another browser shows up on the next rerun. Everything here
calls ``genesis_pipeline`` services; there is no SQL in the app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services import queries
from genesis_pipeline.services.chapter_preview import ChapterPreviewPlan, plan_chapter_preview
from genesis_pipeline.services.chapters import (
    ChapterInputs,
    SavedChapter,
    current_rules,
    edited_titles,
    load_chapter_inputs,
    rules_history,
    saved_chapters,
)
from genesis_pipeline.services.comments import Thread, threads
from genesis_pipeline.services.cut import CutPlan, load_cut
from genesis_pipeline.services.cut_order import CutOrder, order_history
from genesis_pipeline.services.cut_order import cut_order as read_cut_order
from genesis_pipeline.services.detector_trace import MediaTrace, media_trace, traced_media
from genesis_pipeline.services.exports import ExportPreview
from genesis_pipeline.services.filmstrip import Filmstrip
from genesis_pipeline.services.filmstrip import filmstrip as make_filmstrip
from genesis_pipeline.services.narration import (
    MixSettings,
    VoiceoverPlacement,
    get_mix,
    list_voiceovers,
    narration_clips,
)
from genesis_pipeline.services.overrun import OverrunReport, overrun_report
from genesis_pipeline.services.playback import Playback
from genesis_pipeline.services.projects import (
    DiskUsage,
    ProjectSummary,
    list_projects,
    project_revision,
    projects_revision,
)
from genesis_pipeline.services.render_view import (
    RenderEntry,
    RenderOverview,
    render_history,
    render_overview,
)
from genesis_pipeline.services.review import (
    Decision,
    ReviewAction,
    Trim,
    last_decisions,
    review_history,
    scene_trims,
)
from genesis_pipeline.services.subtitles import split_lines, to_srt, to_vtt
from genesis_pipeline.stages.chapters import Rules
from genesis_pipeline.store import Store
from genesis_pipeline.store.records import (
    CutOrderActionRecord,
    RulesVersion,
    RunRecord,
    VoiceoverRecord,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChapterState:
    """The Chapters page's saved side: the latest rules (``version`` 0: the defaults), their
    history, the last run's chapters and the reviewers' titles by first scene."""

    version: int
    rules: Rules
    history: tuple[RulesVersion, ...]
    saved: tuple[SavedChapter, ...]
    titles: dict[tuple[int, int], str]


@dataclass(frozen=True, slots=True)
class NarrationState:
    """The Narration page: the cut, the active voiceovers, where the plan puts each (or why no
    plan can be made: ``error``) and the mix."""

    cut: CutPlan
    voiceovers: tuple[VoiceoverRecord, ...]
    placements: tuple[VoiceoverPlacement, ...]
    error: str | None
    mix: MixSettings


@dataclass(frozen=True, slots=True)
class ExportState:
    """The Render page's Export section: what the exports hold, or why there are none."""

    preview: ExportPreview | None
    error: str | None


@dataclass(frozen=True, slots=True)
class RenderState:
    """The Render page: the cut as a render would see it now, and every past render."""

    overview: RenderOverview
    history: tuple[RenderEntry, ...]


@st.cache_resource(show_spinner=False)
def _store(home: str) -> Store:
    return Store(Settings.from_env(home=home))


def settings() -> Settings:
    """The app's settings (``GENESIS_*``; the data dir from ``GENESIS_HOME``, else ``data``)."""
    return Settings.from_env()


def store() -> Store:
    return _store(str(settings().home))


def revision(project_id: int) -> int:
    """Changes whenever anything about the project changes (one short read)."""
    return project_revision(store(), project_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _projects(home: str, stamp: tuple[int, ...]) -> list[ProjectSummary]:
    return list_projects(_store(home))


def projects() -> list[ProjectSummary]:
    """Projects page and the picker: every project at a glance."""
    s = store()
    return _projects(str(s.home), projects_revision(s))


@st.cache_data(show_spinner=False, max_entries=64)
def _disk_usage(home: str, project_id: int, rev: int) -> DiskUsage:
    from genesis_pipeline.services.projects import disk_usage as project_disk_usage

    return project_disk_usage(_store(home), project_id)


def disk_usage(project_id: int) -> DiskUsage:
    """Projects page: how much storage a project takes (listed once per revision)."""
    return _disk_usage(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _scenes(home: str, project_id: int, rev: int) -> pd.DataFrame:
    return queries.scenes_table(_store(home), project_id)


def scenes(project_id: int) -> pd.DataFrame:
    return _scenes(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=128)
def _filmstrip(home: str, project_id: int, rev: int, scene_id: int) -> Filmstrip:
    return make_filmstrip(_store(home), project_id, scene_id)


def filmstrip(project_id: int, scene_id: int) -> Filmstrip:
    """Scenes page: a few frames across a scene (made from the footage on first call)."""
    return _filmstrip(str(store().home), project_id, revision(project_id), scene_id)


@st.cache_data(show_spinner=False, max_entries=32)
def _cut_order(home: str, project_id: int, rev: int) -> CutOrder:
    return read_cut_order(_store(home), project_id)


def cut_order(project_id: int) -> CutOrder:
    """Cut order page: chapters and their scenes in the order the cut plays them."""
    return _cut_order(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _order_history(home: str, project_id: int, rev: int) -> list[CutOrderActionRecord]:
    return order_history(_store(home), project_id, limit=10)


def order_changes(project_id: int) -> list[CutOrderActionRecord]:
    """Cut order page: the latest moves and resets, newest first (what Undo can take back)."""
    return _order_history(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _trims(home: str, project_id: int, rev: int) -> dict[int, Trim]:
    return scene_trims(_store(home), project_id)


def trims(project_id: int) -> dict[int, Trim]:
    """Scenes page: the reviewers' in/out points by scene id."""
    return _trims(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _decisions(home: str, project_id: int, rev: int) -> dict[int, Decision]:
    return last_decisions(_store(home), project_id)


def decisions(project_id: int) -> dict[int, Decision]:
    """Scenes page: who approved or rejected each reviewed scene last, by scene id."""
    return _decisions(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _review_history(home: str, project_id: int, rev: int) -> list[ReviewAction]:
    return review_history(_store(home), project_id, limit=10)


def recent_reviews(project_id: int) -> list[ReviewAction]:
    """Scenes page: the latest review decisions, newest first (what Undo can take back)."""
    return _review_history(str(store().home), project_id, revision(project_id))


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
    """On an empty data dir, create the demo project and start processing it in the background
    (unless ``GENESIS_NO_DEMO``)."""
    if st.session_state.get("_demo_checked"):
        return
    st.session_state["_demo_checked"] = True
    if settings().no_demo:
        return
    from genesis_pipeline.runs.demo import ensure_demo_project

    ensure_demo_project(store())


# -- Upload, Run, Transcript and Scenes pages -----------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _transcript_summary(home: str, project_id: int, rev: int) -> pd.DataFrame:
    return queries.transcript_summary(_store(home), project_id)


def transcript_summary(project_id: int) -> pd.DataFrame:
    """Transcript page: one row per media file (transcribed? words, language, model)."""
    return _transcript_summary(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=64)
def _transcript_lines(home: str, project_id: int, rev: int, media_id: int) -> list[dict[str, Any]]:
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
    lines = _transcript_lines(home, project_id, rev, media_id)
    return (to_srt if fmt == "srt" else to_vtt)(lines, mark_uncertain=True)


def subtitles(project_id: int, media_id: int, fmt: str) -> str:
    """Transcript page: one media file's transcript as ``srt`` or ``vtt`` text."""
    return _subtitles(str(store().home), project_id, revision(project_id), media_id, fmt)


@st.cache_data(show_spinner=False, max_entries=32)
def _runs(home: str, project_id: int, rev: int) -> list[RunRecord]:
    from genesis_pipeline.runs.control import list_runs

    return list_runs(_store(home), project_id)


def runs(project_id: int) -> list[RunRecord]:
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
def _chapter_inputs(home: str, project_id: int, rev: int) -> ChapterInputs:
    return load_chapter_inputs(_store(home), project_id)


def chapter_inputs(project_id: int) -> ChapterInputs:
    """Chapters page: scenes, captions and words on the project timeline."""
    return _chapter_inputs(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _chapter_state(home: str, project_id: int, rev: int) -> ChapterState:
    s = _store(home)
    version, rules = current_rules(s, project_id)
    return ChapterState(
        version=version,
        rules=rules,
        history=tuple(rules_history(s, project_id)),
        saved=tuple(saved_chapters(s, project_id)),
        titles=edited_titles(s, project_id),
    )


def chapter_state(project_id: int) -> ChapterState:
    """Chapters page: the saved rules, their history, the saved chapters and titles."""
    return _chapter_state(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _narration_state(home: str, project_id: int, rev: int) -> NarrationState:
    s = _store(home)
    cut = load_cut(s, project_id)
    voiceovers = list_voiceovers(s, project_id)
    placements: list[VoiceoverPlacement] = []
    error = None
    try:
        _clips, placements = narration_clips(s, cut, voiceovers)
    except GenesisError as exc:
        error = str(exc)
    return NarrationState(cut, tuple(voiceovers), tuple(placements), error, get_mix(s, project_id))


def narration_state(project_id: int) -> NarrationState:
    """Narration page: the cut, the voiceovers, where the plan puts them, the mix."""
    return _narration_state(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _render_state(home: str, project_id: int, rev: int) -> RenderState:
    s = _store(home)
    return RenderState(render_overview(s, project_id), tuple(render_history(s, project_id)))


def render_state(project_id: int) -> RenderState:
    """Render page: the cut as a render sees it now (is the latest render current?) and every
    past render."""
    return _render_state(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=16)
def _export_state(home: str, project_id: int, rev: int) -> ExportState:
    from genesis_pipeline.runs.exports import preview_exports  # Whisper for the narration

    try:
        return ExportState(preview_exports(_store(home), project_id), None)
    except GenesisError as exc:
        return ExportState(None, str(exc))


def export_state(project_id: int) -> ExportState:
    """Render page: the chapters, YouTube's verdict and the first subtitle cues of the cut (the
    voiceovers transcribed once, cached), or why nothing can be exported."""
    return _export_state(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=64)
def _chapter_preview_plan(
    home: str, project_id: int, rev: int, chapter_idx: int
) -> ChapterPreviewPlan | None:
    try:
        return plan_chapter_preview(_store(home), project_id, chapter_idx)
    except GenesisError:  # the Render preview button says why
        return None


def chapter_preview_plan(project_id: int, chapter_idx: int) -> ChapterPreviewPlan | None:
    """Narration page: what the mixed preview of a chapter is made of now, or None when it
    cannot be made."""
    return _chapter_preview_plan(str(store().home), project_id, revision(project_id), chapter_idx)


# -- players ------------------------------------------------------------------------------------
def playback(media_id: int) -> Playback:
    """What a player should load for a media file: the footage, its playable copy, or nothing
    yet and why. Not cached: a copy appears without a revision change, and the read is one
    short query."""
    from genesis_pipeline.services.playback import playback as media_playback

    return media_playback(store(), media_id)


def prepare_playback(project_id: int) -> None:
    """Start making the project's missing playable copies in a background worker (after an
    upload; does nothing when none is missing or a worker is at it)."""
    from genesis_pipeline.runs import proxy_worker

    try:
        proxy_worker.start_proxy_worker(store(), project_id)
    except (GenesisError, OSError) as exc:  # the page goes on; the run makes them instead
        log.warning("playable copies not started: %s", exc)


@st.cache_data(show_spinner=False, max_entries=32)
def _overrun_state(home: str, project_id: int, rev: int) -> OverrunReport | None:
    try:
        return overrun_report(_store(home), project_id)
    except GenesisError:
        return None  # the narration plan cannot be made: the pages say why on their own


def overrun_state(project_id: int) -> OverrunReport | None:
    """Narration and Render pages: the voiceovers that run past the cut's end and the project's
    choice, or None when the narration plan cannot be made."""
    return _overrun_state(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=32)
def _cut(home: str, project_id: int, rev: int) -> CutPlan:
    return load_cut(_store(home), project_id)


def cut(project_id: int) -> CutPlan:
    """The approved cut as it stands (segments, chapters and speech on the cut's clock)."""
    return _cut(str(store().home), project_id, revision(project_id))


def comment_threads(project_id: int) -> list[Thread]:
    """The project's comment threads, read fresh each time (a comment does not change the
    project's revision, and one made in another browser should show on the next rerun)."""
    return threads(store(), project_id)


# -- the scene detector's trace (Confidence page) -------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _traced_media(home: str, project_id: int, rev: int) -> list[tuple[int, str]]:
    return traced_media(_store(home), project_id)


def traced_files(project_id: int) -> list[tuple[int, str]]:
    """Confidence page: ``(media id, name)`` of the files whose scenes have a detector trace."""
    return _traced_media(str(store().home), project_id, revision(project_id))


@st.cache_data(show_spinner=False, max_entries=8)
def _media_trace(home: str, project_id: int, rev: int, media_id: int) -> MediaTrace | None:
    return media_trace(_store(home), project_id, media_id)


def detector_trace(project_id: int, media_id: int) -> MediaTrace | None:
    """Confidence page: the detector's score on every frame of a file, with its boundaries."""
    return _media_trace(str(store().home), project_id, revision(project_id), media_id)


@st.cache_data(show_spinner=False, max_entries=256)
def _transition_strip(home: str, project_id: int, rev: int, scene_id: int) -> list[bytes]:
    from genesis_pipeline.services.detector_trace import transition_strip as strip

    try:
        return [s.jpeg for s in strip(_store(home), project_id, scene_id)]
    except GenesisError as exc:  # the card goes on without its strip
        log.warning("no transition strip for scene %d: %s", scene_id, exc)
        return []


def transition_strip(project_id: int, scene_id: int) -> list[bytes]:
    """Scenes page: JPEG frames across the gradual transition a scene starts with (none for a
    cut)."""
    return _transition_strip(str(store().home), project_id, revision(project_id), scene_id)
