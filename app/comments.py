"""Comment threads in the app: a scene's thread beside its thumbnail and player, the Scenes
page's count per card and "open comments" filter, the Render page's strip along the cut, and a
chapter's thread on the Chapters page.

The rules (who may edit, resolve, re-open) are the service's (``services/comments.py``); the
widgets here only hide what the session's actor cannot do. Threads are read fresh on every run
(one small query), so a comment made in another browser shows on the next rerun.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from genesis_app import player, reads, state
from genesis_pipeline import viz
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services import access
from genesis_pipeline.services import comments as svc
from genesis_pipeline.services.chapters import SavedChapter
from genesis_pipeline.services.comments import Comment, CommentCounts, Thread
from genesis_pipeline.services.cut import CutPlan
from genesis_pipeline.services.wording import duration as timecode
from genesis_pipeline.services.wording import plural

OPEN_FILTER = "scene_open_comments"  # the Scenes page's filter checkbox
THREAD = "scene_thread_open"  # the scene whose thread is open (id), or None
PLAY = "scene_comment_play"  # (scene id, seconds, press) the thread's player starts at


def threads(project_id: int) -> list[Thread]:
    try:
        return reads.comment_threads(project_id)
    except GenesisError as exc:
        st.warning(f"Comments could not be read: {exc}")
        return []


# -- writes (button and form callbacks) ---------------------------------------------------------
def _write(done: str, call: Callable[..., object], *args: object, **kwargs: object) -> None:
    try:
        call(reads.store(), *args, actor=state.actor(), **kwargs)
    except GenesisError as exc:
        state.flash("error", f"Comment not saved: {exc}")
    else:
        state.flash("success", done)


def _add(project_id: int, key: str, **target: object) -> None:
    body = str(st.session_state.get(key) or "")
    at = st.session_state.get(f"{key}_at")
    if at is not None and "scene_id" in target:
        target["start_s"] = float(at)
    _write("Comment added.", svc.add_comment, project_id, body, **target)
    st.session_state[key] = ""


def _reply(project_id: int, comment_id: int, key: str) -> None:
    _write("Reply added.", svc.reply, project_id, comment_id, str(st.session_state.get(key) or ""))
    st.session_state[key] = ""


def _edit(project_id: int, comment_id: int, key: str) -> None:
    body = str(st.session_state.get(key) or "")
    _write("Comment edited.", svc.edit_comment, project_id, comment_id, body)


def _resolve(project_id: int, thread_id: int, resolve: bool) -> None:
    call = svc.resolve_thread if resolve else svc.reopen_thread
    _write("Thread resolved." if resolve else "Thread re-opened.", call, project_id, thread_id)


# -- pieces -------------------------------------------------------------------------------------
def _comment(c: Comment, project_id: int, prefix: str, *, play_at: bool) -> None:
    me = state.actor()
    when = c.created_at.strftime("%Y-%m-%d %H:%M")
    edited = f" · edited {c.edited_at.strftime('%H:%M')}" if c.edited_at else ""
    cols = st.columns([5, 1.2], vertical_alignment="top")
    cols[0].markdown(f"**{c.author_name}** :gray[{when}{edited}]  \n{c.body}")
    if play_at and c.start_s is not None and c.scene_id is not None:
        cols[1].button(
            timecode(c.start_s),
            key=f"{prefix}_at_{c.id}",
            icon=":material/play_arrow:",
            help="Play the scene from this comment's time",
            on_click=_play_from,
            args=(c.scene_id, c.start_s),
            width="stretch",
        )
    if c.author == me.label:
        with st.popover("Edit", icon=":material/edit:"):
            key = f"{prefix}_edit_{c.id}"
            st.session_state.setdefault(key, c.body)
            st.text_area("Comment", key=key, max_chars=svc.MAX_BODY)
            st.button(
                "Save",
                key=f"{prefix}_save_{c.id}",
                on_click=_edit,
                args=(project_id, c.id, key),
            )


def thread_view(t: Thread, project_id: int, prefix: str, *, play_at: bool = True) -> None:
    """One thread: its comments in order, then reply and resolve/re-open."""
    me = state.actor()
    with st.container(border=True, key=f"{prefix}_thread_{t.id}"):
        head = []
        if t.resolved:
            who = svc.author_name(t.resolved_by or "")
            head.append(f":green[:material/check_circle: resolved by {who}]")
        else:
            head.append(":red[:material/chat: open]")
        if t.orphaned:
            head.append(":orange[:material/link_off: orphaned: its scene or chapter is gone]")
        st.markdown(" · ".join(head))
        for c in t.comments:
            _comment(c, project_id, prefix, play_at=play_at)
        key = f"{prefix}_reply_{t.id}"
        st.text_input(
            "Reply", key=key, placeholder="Reply… (@name mentions)", max_chars=svc.MAX_BODY
        )
        b = st.columns(2)
        b[0].button(
            "Reply", key=f"{prefix}_send_{t.id}", on_click=_reply, args=(project_id, t.id, key)
        )
        may_resolve = t.root.author == me.label or access.allows(me.role, "review")
        if may_resolve:
            b[1].button(
                "Re-open" if t.resolved else "Resolve",
                key=f"{prefix}_{'reopen' if t.resolved else 'resolve'}_{t.id}",
                icon=":material/replay:" if t.resolved else ":material/done:",
                on_click=_resolve,
                args=(project_id, t.id, not t.resolved),
            )


def _play_from(scene_id: int, at_s: float) -> None:
    press = int((st.session_state.get(PLAY) or (0, 0.0, 0))[2]) + 1
    st.session_state[PLAY] = (scene_id, float(at_s), press)


# -- Scenes page --------------------------------------------------------------------------------
def open_filter(on_change: Callable[[], None] | None = None) -> bool:
    """The Scenes page's "scenes with open comments" filter."""
    return bool(
        st.checkbox(
            "Scenes with open comments",
            help="Only scenes with a comment thread nobody has resolved yet.",
            on_change=on_change,
            **state.kept(OPEN_FILTER),
        )
    )


def counts_by_scene(all_threads: Sequence[Thread]) -> dict[int, CommentCounts]:
    return svc.scene_counts(all_threads)


def filter_ids(all_threads: Sequence[Thread], focus: Sequence[int] | None) -> list[int] | None:
    """The scene ids the page shows when the filter is on (within a focus), else ``focus``."""
    if not st.session_state.get(OPEN_FILTER):
        return None if focus is None else [int(i) for i in focus]
    open_ids = svc.scenes_with_open_comments(all_threads)
    return sorted(i for i in open_ids if focus is None or i in set(focus))


def _toggle(scene_id: int) -> None:
    st.session_state[THREAD] = None if st.session_state.get(THREAD) == scene_id else scene_id


def card_button(scene_id: int, counts: CommentCounts | None) -> None:
    """A card's comment button: how many threads the scene has (open ones in red)."""
    if counts is None:
        label, tip = "", "Comment on this scene"
    elif counts.open:
        label, tip = f":red[{counts.open}]/{counts.threads}", plural(counts.open, "open thread")
    else:
        label, tip = f"{counts.threads}", "All threads resolved"
    st.button(
        label,
        key=f"scene_comments_{scene_id}",
        icon=":material/chat_bubble:",
        help=tip,
        on_click=_toggle,
        args=(scene_id,),
        width="stretch",
    )


def scene_panel(project_id: int, scenes: pd.DataFrame, all_threads: Sequence[Thread]) -> None:
    """The open scene's threads beside its thumbnail (and its player from a comment's time),
    with a form for a new comment; nothing when no thread is open."""
    sid = st.session_state.get(THREAD)
    if sid is None:
        return
    match = scenes[scenes.id == int(sid)]
    if match.empty:  # gone after a re-detection
        st.session_state[THREAD] = None
        return
    row = match.iloc[0]
    with st.container(border=True, key="scene_thread_panel"):
        head = st.columns([5, 1], vertical_alignment="center")
        head[0].markdown(
            f":material/forum: **Comments · {row.media_name} · scene {int(row.idx) + 1}** · "
            f"{timecode(row.start_s)}–{timecode(row.end_s)}"
        )
        head[1].button(
            "Close",
            key="scene_thread_close",
            icon=":material/close:",
            on_click=_toggle,
            args=(int(sid),),
        )
        left, right = st.columns([2, 3], gap="medium")
        with left:
            playing = st.session_state.get(PLAY)
            if playing and int(playing[0]) == int(sid):
                with st.container(key="comment_player"):
                    path = player.playable_path(int(row.media_id))
                    if path is not None:
                        st.video(path, start_time=int(playing[1]))
                        if playing[2] != st.session_state.get("scene_comment_played"):
                            st.session_state["scene_comment_played"] = playing[2]
                            player.play("comment_player", float(playing[1]), press=playing[2])
            else:
                preview = row.preview_path
                if preview and (
                    str(preview).startswith(("http://", "https://")) or Path(preview).is_file()
                ):
                    st.image(preview, width="stretch")
            key = f"scene_new_comment_{int(sid)}"
            st.text_area(
                "New comment",
                key=key,
                placeholder="Too dark? Use take two? @name",
                max_chars=svc.MAX_BODY,
            )
            st.number_input(
                "At (s of the source, optional)",
                min_value=float(row.start_s),
                max_value=float(row.end_s),
                value=None,
                step=0.1,
                key=f"{key}_at",
            )
            st.button(
                "Comment",
                key=f"scene_add_comment_{int(sid)}",
                type="primary",
                on_click=_add,
                args=(project_id, key),
                kwargs={"scene_id": int(sid)},
            )
        with right:
            mine = svc.scene_threads(all_threads, int(sid))
            if not mine:
                st.caption("No comments on this scene yet.")
            for t in mine:
                thread_view(t, project_id, "scene_c")
    orphans = [t for t in all_threads if t.orphaned and t.target == "scene"]
    if orphans:
        with st.expander(f"Orphaned comments ({len(orphans)}): their scenes are gone"):
            for t in orphans:
                thread_view(t, project_id, "scene_o", play_at=False)


# -- Render page --------------------------------------------------------------------------------
def render_strip(project_id: int, plan: CutPlan, media_key: str) -> None:
    """The cut's comment threads as a Plotly strip; clicking one plays the render from there
    (in the container keyed ``media_key``) and shows its thread; a form comments on a range."""
    marks = svc.cut_marks(reads.store(), project_id, plan=plan)
    st.subheader("Comments on the cut")
    event = st.plotly_chart(
        viz.comment_strip(plan, marks),
        on_select="rerun",
        selection_mode=("points",),
        key="render_comment_strip",
        width="stretch",
    )
    picked = viz.selected_comment(event)
    if picked is not None:
        tid, at = picked
        if picked != st.session_state.get("render_comment_played"):
            st.session_state["render_comment_played"] = picked
            press = int(st.session_state.get("render_comment_press") or 0) + 1
            st.session_state["render_comment_press"] = press
            player.play(media_key, at, press=press)
        for t in threads(project_id):
            if t.id == tid:
                thread_view(t, project_id, "render_c", play_at=False)
    elif not marks:
        st.caption("No comments on the cut yet.")
    with st.expander("Comment on a range of the cut"):
        c = st.columns([1, 1, 3, 1], vertical_alignment="bottom")
        end = max(float(plan.duration_s), 0.0)
        c[0].number_input("From (s)", 0.0, end, 0.0, 0.1, key="render_comment_from")
        c[1].number_input("To (s)", 0.0, end, None, 0.1, key="render_comment_to")
        c[2].text_input("Comment", key="render_comment_body", max_chars=svc.MAX_BODY)
        c[3].button("Comment", key="render_comment_add", on_click=_add_cut, args=(project_id,))


def _add_cut(project_id: int) -> None:
    start = float(st.session_state.get("render_comment_from") or 0.0)
    end = st.session_state.get("render_comment_to")
    body = str(st.session_state.get("render_comment_body") or "")
    _write(
        "Comment added.",
        svc.add_comment,
        project_id,
        body,
        start_s=start,
        end_s=None if end is None else float(end),
    )
    st.session_state["render_comment_body"] = ""


# -- Chapters page ------------------------------------------------------------------------------
def chapters_section(project_id: int, chapters: Sequence[SavedChapter]) -> None:
    """Each saved chapter's threads and a box to start one."""
    st.subheader("Comments on chapters")
    all_threads = threads(project_id)
    for ch in chapters:
        mine = [t for t in all_threads if t.target == "chapter" and t.root.chapter_id == ch.id]
        n_open = sum(not t.resolved for t in mine)
        count = f" · {plural(len(mine), 'thread')}, {n_open} open" if mine else ""
        with st.expander(f"{ch.index + 1}. {ch.title}{count}"):
            for t in mine:
                thread_view(t, project_id, "ch_c", play_at=False)
            key = f"ch_new_comment_{ch.id}"
            st.text_input("New comment", key=key, max_chars=svc.MAX_BODY)
            st.button(
                "Comment",
                key=f"ch_add_comment_{ch.id}",
                on_click=_add,
                args=(project_id, key),
                kwargs={"chapter_id": ch.id},
            )
    orphans = [t for t in all_threads if t.target == "chapter" and t.orphaned]
    if orphans:
        with st.expander(f"Orphaned chapter comments ({len(orphans)}): their chapters are gone"):
            for t in orphans:
                thread_view(t, project_id, "ch_o", play_at=False)
