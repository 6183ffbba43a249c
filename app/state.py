"""Typed session-state keys, set up in one place, the widgets that keep their values, and the
sidebar project picker."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import streamlit as st

from genesis_app import reads
from genesis_pipeline.services import access

# Every key the app keeps in st.session_state, with its default.
DEFAULTS: dict[str, Any] = {
    "project_id": None,  # the project every page works on
    "scene_page": 0,  # Scenes: current page (0-based)
    "scene_focus_ids": None,  # Scenes: ids picked on the Confidence page, or None
    "transcript_seek": 0.0,  # Transcript: where the player starts (seconds, fractional)
    "transcript_play": 0,  # Transcript: presses of ▶ on a line (each one seeks and plays once)
    "transcript_played": 0,  # Transcript: the last press the player has acted on
    "transcript_media": None,  # Transcript: which media file plays
    "flash": None,  # a one-shot (kind, message) shown at the top of the next run
    "upload_nonce": 0,  # Upload: rotates the uploader's key to release finished files
    "import_nonce": 0,  # Upload: rotates the import picker's key
    "upload_results": None,  # Upload: what the last batch accepted and rejected
    "run_confirm_force": False,  # Run: the force re-run confirmation is open
    "scene_playing": None,  # Scenes: (scene id, press) playing in the player above the cards
    "scene_confirm_bulk": None,  # Scenes: (status, ids) of a bulk decision awaiting its OK
    "proj_confirm": None,  # Projects: ("delete" | "remove", project, media id) awaiting its OK
    "timeline_nonce": 0,  # Render: rotates the timeline import's uploader key after an apply
}
# Pages also keep page-local keys with these prefixes (widget state, cache-sync markers):
# ch_* (Chapters), conf_* (Confidence), order_* (Cut order), narr_* (Narration), proj_*
# (Projects, one per project), render_* (Render), scene_* (Scenes), transcript_* (Transcript),
# vo_* (Narration, one per voiceover), _saved_* (see show_saved).

# Streamlit forgets a widget's value in the first run that does not draw it, that is as soon as
# the reviewer opens another page, while plain keys (markers such as _saved_*) stay: the page
# came back with every slider at its minimum and a save wrote those. Value widgets therefore
# keep their value for the session (a reviewer's unsaved draft survives a look at another page).
# Buttons, form submit buttons, file uploaders and data editors cannot be given a value and do
# not take part.
PERSIST_STATE = "session"
# Kept widgets whose values only mean something in one project: forgotten when the project
# changes (filters, layout choices and sliders stay; saved values reload through show_saved).
PROJECT_WIDGETS = (
    "scene_media",
    "scene_text",
    "transcript_search",
    "transcript_page_pick",
    "ch_note",
    "ch_restore_pick",
    "narr_target",
    "narr_new_offset",
    "narr_preview_chapter",
    "render_pick",
)


def init() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def kept(key: str) -> dict[str, Any]:
    """Keyword arguments of a value widget that keeps its value across page switches, as in
    ``st.slider("Shortest chapter (s)", 0.0, 120.0, **state.kept("ch_min"))``."""
    return {"key": key, "persist_state": PERSIST_STATE}


def show_saved(values: Mapping[str, Any], saved_as: Hashable | None = None) -> None:
    """Put stored values into their widgets (``{widget key: value}``) when they were stored anew,
    or when a widget has no value yet; otherwise leave the reviewer's edits alone.

    Call it before the widgets are drawn. ``saved_as`` names what was stored (say the project and
    the rules version), so a save here, in another tab or by the CLI shows up in the widgets;
    by default each value names itself.
    """
    for key, value in values.items():
        marker = f"_saved_{key}"
        stamp = value if saved_as is None else saved_as
        if key not in st.session_state or st.session_state.get(marker) != stamp:
            st.session_state[key] = value
            st.session_state[marker] = stamp


def project_id() -> int | None:
    init()
    pid = st.session_state["project_id"]
    return int(pid) if pid is not None else None


def set_project(pid: int | None) -> None:
    init()
    if pid != st.session_state["project_id"]:
        st.session_state["project_id"] = pid
        st.session_state["scene_page"] = 0
        st.session_state["scene_focus_ids"] = None
        st.session_state["scene_confirm_bulk"] = None
        st.session_state["scene_playing"] = None
        st.session_state["transcript_media"] = None
        for key in PROJECT_WIDGETS:
            st.session_state.pop(key, None)


def actor() -> access.Actor:
    """Who is using this session: the service functions check its rights and audit its writes.
    The signed-in user (app/auth.py); with no sign-in configured the one person on localhost,
    with every right."""
    from genesis_app import auth

    return auth.current_actor()


def can(right: access.Right) -> bool:
    """Whether this session's user holds ``right`` (pages hide what the role cannot do; the
    services refuse it anyway)."""
    return access.allows(actor().role, right)


def flash(kind: str, message: str) -> None:
    """Show ``message`` at the top of the next run (after st.rerun)."""
    st.session_state["flash"] = (kind, message)


def show_flash() -> None:
    init()
    item = st.session_state.get("flash")
    if item:
        kind, message = item
        getattr(st, kind, st.info)(message)
        st.session_state["flash"] = None


def project_picker() -> None:
    """Sidebar: pick the project every page works on."""
    init()
    projects = reads.projects()
    with st.sidebar:
        st.markdown("### :material/movie_edit: Genesis")
        if not projects:
            st.caption("No projects yet: create one on the Projects page.")
            set_project(None)
            return
        ids = [p.project.id for p in projects]
        labels = {p.project.id: f"{p.project.name}  ·  #{p.project.id}" for p in projects}
        current = project_id()
        if current not in ids:
            current = ids[-1]
        set_project(current)
        # The picker shows whatever project_id says (a page may have switched project); a
        # choice in the picker writes project_id through the callback.
        st.session_state["project_picker"] = current
        st.selectbox(
            "Project",
            ids,
            format_func=lambda i: labels[i],
            key="project_picker",
            on_change=lambda: set_project(int(st.session_state["project_picker"])),
        )
        st.caption(f"Data dir: `{reads.store().home}`")


def require_project(*, follow: bool = True) -> int:
    """The selected project, or stop the page with a hint. The page then follows changes made
    elsewhere (:func:`follow_changes`) unless ``follow`` is False (pages that poll on their
    own while a run goes)."""
    pid = project_id()
    if pid is None:
        st.info("No project yet: create one on the **Projects** page, or pick one in the sidebar.")
        st.stop()
    if follow:
        follow_changes(int(pid))
    return int(pid)


# How often a page asks whether its project changed elsewhere: one short read of the revision.
FOLLOW_EVERY_S = 4.0


def follow_changes(pid: int) -> None:
    """Keep the page current when another reviewer (another tab, the CLI, a run) changes the
    project: a fragment polls the project's revision and, when it moved past what the page
    was drawn from, reruns the page and says why. This session's own changes rerun the page
    themselves, so they never show the notice."""
    seen = reads.revision(pid)
    if st.session_state.pop("_changed_elsewhere", False):
        st.info(
            "Updated: someone else changed this project since the page was drawn (another "
            "reviewer, another tab or a run). It now shows the latest.",
            icon=":material/sync:",
        )
    st.session_state["_drawn_revision"] = (pid, seen)

    @st.fragment(run_every=FOLLOW_EVERY_S)
    def poll() -> None:
        drawn = st.session_state.get("_drawn_revision")
        if drawn and drawn[0] == pid and reads.revision(pid) != drawn[1]:
            st.session_state["_changed_elsewhere"] = True
            st.rerun(scope="app")

    poll()
