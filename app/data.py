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
                "SELECT count(*), coalesce(sum(revision), 0),"
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
    from genesis_pipeline.services.demo import ensure_demo_project

    ensure_demo_project(store())
