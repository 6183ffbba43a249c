"""Projects: create one, pick one, see each project's media, last run, renders and disk use at a
glance; rename or delete a project and remove a media file (each asks first; an admin's); the
current project's activity feed (who changed what, when), filterable by person."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from genesis_app import reads, state
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services.activity import activity, people
from genesis_pipeline.services.projects import (
    ProjectSummary,
    create_project,
    delete_project,
    remove_media,
    rename_project,
)
from genesis_pipeline.services.wording import duration, plural, size

# Material icons render in every browser (emoji fonts are not everywhere).
RUN_WORDS = {
    "succeeded": ":green[:material/check_circle:] Succeeded",
    "failed": ":red[:material/cancel:] Failed",
    "running": ":orange[:material/autorenew:] Running",
}

st.title("Projects")
state.show_flash()

# Creating, renaming and deleting projects and removing footage are an admin's.
can_manage = state.can("manage")
if can_manage:
    with st.form("create_project", clear_on_submit=True):
        cols = st.columns([4, 1], vertical_alignment="bottom")
        name = cols[0].text_input(
            "New project", placeholder="e.g. Harbour shoot, day 1", **state.kept("new_project_name")
        )
        if cols[1].form_submit_button("Create", type="primary", width="stretch"):
            try:
                project = create_project(reads.store(), name, actor=state.actor())
            except GenesisError as exc:
                st.error(str(exc))
            else:
                reads.clear()
                state.set_project(project.id)
                state.flash("success", f"Created project “{project.name}”. Add footage on Upload.")
                st.rerun()

projects = reads.projects()
if not projects:
    st.info(
        "No projects yet: name one above and press **Create**, then add footage on Upload."
        if can_manage
        else "No projects yet: an admin creates them."
    )
    st.stop()

current = state.project_id()


def minute(t: datetime) -> str:
    """``2026-12-01 09:30``: to the minute."""
    return t.strftime("%Y-%m-%d %H:%M")


def ask(what: tuple[str, int, int] | None) -> None:
    """Open (or with ``None`` close) a confirmation: ``("delete", project, 0)`` or
    ``("remove", project, media id)``."""
    st.session_state["proj_confirm"] = what


def do_rename(pid: int) -> None:
    try:
        project = rename_project(
            reads.store(), pid, st.session_state.get(f"proj_name_{pid}", ""), actor=state.actor()
        )
    except GenesisError as exc:
        state.flash("error", f"Not renamed: {exc}")
    else:
        reads.clear()
        state.flash("success", f"Renamed to “{project.name}”.")


def do_delete(pid: int) -> None:
    ask(None)
    try:
        removed = delete_project(reads.store(), pid, actor=state.actor())
    except GenesisError as exc:
        state.flash("error", f"Not deleted: {exc}")
    else:
        reads.clear()
        if state.project_id() == pid:
            state.set_project(None)
        state.flash("success", f"Deleted “{removed.name}” and its {plural(removed.files, 'file')}.")


def do_remove(pid: int, media_id: int) -> None:
    ask(None)
    try:
        removed = remove_media(reads.store(), pid, media_id, actor=state.actor())
    except GenesisError as exc:
        state.flash("error", f"Not removed: {exc}")
    else:
        reads.clear()
        where = (
            " (the footage itself stays where it was imported from)"
            if (removed.kept_in_place)
            else ""
        )
        state.flash(
            "success",
            f"Removed “{removed.name}” from the project{where}. Run again to update the "
            "chapters and the cut.",
        )


def manage(entry: ProjectSummary) -> None:
    p = entry.project
    confirm = st.session_state.get("proj_confirm")
    with st.expander("Rename, delete, remove files", icon=":material/settings:"):
        state.show_saved({f"proj_name_{p.id}": p.name}, saved_as=p.name)
        r = st.columns([4, 1.2], vertical_alignment="bottom")
        r[0].text_input("Name", max_chars=200, **state.kept(f"proj_name_{p.id}"))
        r[1].button(
            "Rename", key=f"proj_rename_{p.id}", on_click=do_rename, args=(p.id,), width="stretch"
        )
        if entry.media:
            names = {m.id: m.original_name for m in entry.media}
            f = st.columns([4, 1.2], vertical_alignment="bottom")
            pick = f[0].selectbox(
                "Media file",
                list(names),
                format_func=names.__getitem__,
                **state.kept(f"proj_media_{p.id}"),
            )
            f[1].button(
                "Remove file…",
                key=f"proj_remove_{p.id}",
                on_click=ask,
                args=(("remove", p.id, int(pick)),),
                width="stretch",
            )
            if confirm and confirm[0] == "remove" and confirm[1] == p.id:
                media_id = int(confirm[2])
                with st.container(border=True):
                    st.warning(
                        f"Remove **{names.get(media_id, 'this file')}** from “{p.name}”? Its "
                        "transcript, scenes and their reviews go with it; renders already made "
                        "stay. A file cannot be removed while a run uses it."
                    )
                    c = st.columns([1.6, 1, 4])
                    c[0].button(
                        "Yes, remove it",
                        key=f"proj_remove_ok_{p.id}",
                        type="primary",
                        on_click=do_remove,
                        args=(p.id, media_id),
                    )
                    c[1].button("Cancel", key=f"proj_remove_no_{p.id}", on_click=ask, args=(None,))
        st.button(
            "Delete project…",
            key=f"proj_delete_{p.id}",
            icon=":material/delete:",
            on_click=ask,
            args=(("delete", p.id, 0),),
        )
        if confirm and confirm[0] == "delete" and confirm[1] == p.id:
            with st.container(border=True):
                st.warning(
                    f"Delete “{p.name}” with its {plural(len(entry.media), 'media file')}, "
                    f"{plural(len(entry.renders), 'render')}, transcripts, scenes and reviews? "
                    "This cannot be undone."
                )
                c = st.columns([1.6, 1, 4])
                c[0].button(
                    "Yes, delete it",
                    key=f"proj_delete_ok_{p.id}",
                    type="primary",
                    on_click=do_delete,
                    args=(p.id,),
                )
                c[1].button("Cancel", key=f"proj_delete_no_{p.id}", on_click=ask, args=(None,))


for entry in reversed(projects):
    p = entry.project
    media, run, renders = entry.media, entry.last_run, entry.renders
    with st.container(border=True, key=f"project-{p.id}"):
        top = st.columns([5, 1.6, 2, 1.6, 1.4], vertical_alignment="center")
        marker = ":material/play_arrow: " if p.id == current else ""
        top[0].markdown(f"#### {marker}{p.name}  \ncreated {minute(p.created_at)}")
        total = sum(m.duration_s for m in media)
        top[1].metric(
            "Media", plural(len(media), "file"), help=f"{duration(total)} of footage in all"
        )
        if run:
            top[2].markdown(
                f"**Last run**  \n{RUN_WORDS.get(run.status, run.status)}  \n"
                f":gray[{minute(run.started_at)}]"
            )
        else:
            top[2].markdown("**Last run**  \n:gray[never]")
        usage = reads.disk_usage(p.id)
        top[3].metric(
            "Disk used",
            size(usage.total_bytes),
            help="Footage, playable copies, previews, transcripts, voiceovers and renders."
            + (
                f" Footage kept in place: {size(usage.in_place_bytes)}."
                if usage.in_place_bytes
                else ""
            ),
        )
        if top[4].button("Open", key=f"open_{p.id}", disabled=p.id == current, width="stretch"):
            state.set_project(p.id)
            st.rerun()
        if media:
            st.dataframe(
                [
                    {
                        "file": m.original_name,
                        "length": duration(m.duration_s),
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
        else:
            st.caption(
                "No footage yet: add some on the **Upload** page."
                if state.can("manage")
                else "No footage yet: an admin adds it on the Upload page."
            )
        if run and run.error:
            st.error(f"Last run failed: {run.error}")
        if renders:
            latest = renders[0]
            st.caption(
                f"{plural(len(renders), 'render')}; the latest is {duration(latest.duration_s)} "
                f"long, made {minute(latest.created_at)}. Play or download it on the Render page."
            )
        if can_manage:
            manage(entry)


def activity_feed(pid: int) -> None:
    """Who changed the current project, when and what, newest first (the audit log)."""
    st.subheader("Activity", anchor=False)
    everyone = people(reads.store(), pid)
    if not everyone:
        st.caption("Nothing recorded yet: approvals, rules, renders and uploads show here.")
        return
    pick = st.selectbox(
        "Person",
        ["", *everyone],
        format_func=lambda a: f"{a.partition(':')[2]} ({a.partition(':')[0]})" if a else "Everyone",
        key="proj_activity_person",
    )
    items = activity(reads.store(), pid, person=pick or None)
    st.dataframe(
        [
            {"when": minute(i.happened_at), "who": i.who, "via": i.via, "what": i.what}
            for i in items
        ],
        hide_index=True,
        width="stretch",
    )


if current is not None:
    activity_feed(int(current))
