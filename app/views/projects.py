"""Projects: create one, pick one, see each project's media, last run and renders at a glance."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from genesis_app import reads, state
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services.projects import create_project

st.title("Projects")
state.show_flash()

with st.form("create_project", clear_on_submit=True):
    cols = st.columns([4, 1], vertical_alignment="bottom")
    name = cols[0].text_input(
        "New project", placeholder="e.g. Harbour shoot, day 1", **state.kept("new_project_name")
    )
    if cols[1].form_submit_button("Create", type="primary", width="stretch"):
        try:
            project = create_project(reads.store(), name)
        except GenesisError as exc:
            st.error(str(exc))
        else:
            reads.clear()
            state.set_project(project.id)
            state.flash("success", f"Created project “{project.name}”. Add footage on Upload.")
            st.rerun()

projects = reads.projects()
if not projects:
    st.info("No projects yet. Create one above.")
    st.stop()

current = state.project_id()


def minute(t: datetime) -> str:
    """``2026-12-01T09:30``: to the minute, as the page always showed times."""
    return t.isoformat()[:16]


for entry in reversed(projects):
    p = entry.project
    media, run, renders = entry.media, entry.last_run, entry.renders
    with st.container(border=True):
        top = st.columns([5, 2, 2, 1.4], vertical_alignment="center")
        marker = "▶ " if p.id == current else ""
        top[0].markdown(f"#### {marker}{p.name}  \n`#{p.id}` · created {minute(p.created_at)}")
        total = sum(m.duration_s for m in media)
        top[1].metric("Media", f"{len(media)} files", f"{total / 60:.1f} min", delta_color="off")
        if run:
            icon = {"succeeded": "✅", "failed": "❌", "running": "⏳"}.get(run.status, "•")
            top[2].metric(
                "Last run", f"{icon} {run.status}", minute(run.started_at), delta_color="off"
            )
        else:
            top[2].metric("Last run", "never")
        if top[3].button("Open", key=f"open_{p.id}", disabled=p.id == current, width="stretch"):
            state.set_project(p.id)
            st.rerun()
        if media:
            st.dataframe(
                [
                    {
                        "file": m.original_name,
                        "duration": f"{m.duration_s:.1f} s",
                        "video": f"{m.width}×{m.height} @ {m.fps:g} fps"
                        if m.has_video
                        else "audio only",
                        "audio": "yes" if m.has_audio else "no",
                    }
                    for m in media
                ],
                hide_index=True,
                width="stretch",
            )
        if run and run.error:
            st.error(f"Last run failed: {run.error}")
        if renders:
            latest = renders[0]
            st.caption(
                f"{len(renders)} render(s); latest {latest.duration_s:.1f} s at "
                f"{minute(latest.created_at)}: `{latest.path}`"
            )
