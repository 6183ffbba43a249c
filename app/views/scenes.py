"""Scenes: review every detected scene as a thumbnail card; approve or reject, filter, sort, page.

Approvals are stored through ``services.review`` (they survive reloads and other browsers); the
table is read once per project revision and filtered/sorted/paged in pandas by
``services.scene_browser.browse``, so a page of 2,000 scenes stays quick.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from genesis_app import comments as comment_ui
from genesis_app import player, reads, state, transitions
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services.filmstrip import Filmstrip
from genesis_pipeline.services.review import (
    UNREVIEWED,
    VERBS,
    set_scene_status,
    set_trim,
    undo_review,
)
from genesis_pipeline.services.scene_browser import SORTS, STATUS_FILTERS, browse
from genesis_pipeline.services.wording import duration as timecode
from genesis_pipeline.services.wording import plural

PAGE_SIZES = (12, 24, 48)
COLUMNS = 4
CAPTION_CHARS = 70  # longer captions are cut on the card
# Confidence levels: at least HIGH is green, at least MEDIUM amber, below that red.
HIGH, MEDIUM = 0.75, 0.5
ALL_FILES = -1  # the "Media file" choice of every file (a None option reads as "nothing chosen")

st.title("Scenes")
state.show_flash()
pid = state.require_project()

# Rejected cards get a red border and a greyed thumbnail; explicit approvals a green border.
st.html(
    """
<style>
[class*="st-key-scene-rejected-"] { border: 2px solid #e5484d !important; }
[class*="st-key-scene-rejected-"] img { filter: grayscale(100%); opacity: .45; }
[class*="st-key-scene-rejected-"] p { opacity: .7; }
[class*="st-key-scene-approved-"] { border: 1px solid #30a46c !important; }
/* Filmstrip frames a trim leaves out. */
[class*="st-key-strip-cut-"] img { filter: grayscale(100%); opacity: .35; }
/* Cards of a row line up: the caption and the place/length line keep a fixed height. */
[class*="st-key-scene_caption_"] {
  height: 4.9em !important; flex: 0 0 4.9em !important; overflow: hidden;
}
[class*="st-key-scene_where_"] {
  height: 4.2em !important; flex: 0 0 4.2em !important; overflow: hidden;
}
</style>
"""
)


def badge(label: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f":gray-badge[{label} —]"
    colour = "green" if value >= HIGH else "orange" if value >= MEDIUM else "red"
    return f":{colour}-badge[{label} {value:.2f}]"


def reset_page() -> None:
    st.session_state["scene_page"] = 0


def review(ids: list[int], status: str) -> None:
    """Button callback: store the decision before the rerun (the revision-keyed cache refreshes)."""
    st.session_state["scene_confirm_bulk"] = None
    try:
        n = set_scene_status(reads.store(), pid, ids, status, actor=state.actor())
    except GenesisError as exc:
        state.flash("error", f"Could not save the review: {exc}")
    else:
        if len(ids) > 1:
            state.flash("success", f"{VERBS[status]} {plural(n, 'scene')}. Undo takes it back.")


def ask_bulk(status: str | None, ids: list[int] | None = None) -> None:
    """Open (or with ``None`` close) the confirmation of a bulk decision on the shown scenes."""
    st.session_state["scene_confirm_bulk"] = None if status is None else (status, ids or [])


def undo(action_id: int | None) -> None:
    """Button callback: undo one action (``None``: the last one still standing)."""
    try:
        result = undo_review(reads.store(), pid, action_id, actor=state.actor())
    except GenesisError as exc:
        state.flash("warning", f"Nothing undone: {exc}")
    else:
        state.flash("success", result.message)


def play(sid: int) -> None:
    """Card button: play this scene in the player above the cards (each press plays once)."""
    press = int(st.session_state.get("scene_play_press") or 0) + 1
    st.session_state["scene_playing"] = (sid, press)
    st.session_state["scene_play_press"] = press


def stop_playing() -> None:
    st.session_state["scene_playing"] = None


def clear_focus() -> None:
    st.session_state["scene_focus_ids"] = None
    reset_page()


def turn_page(delta: int) -> None:
    st.session_state["scene_page"] = max(0, int(st.session_state.get("scene_page", 0)) + delta)


# A viewer sees the decisions; the buttons that change them are a reviewer's (the services
# refuse a viewer anyway).
can_review = state.can("review")
scenes = reads.scenes(pid)
if scenes.empty:
    st.info("No scenes yet: add footage on Upload and process it on the Run page.")
    st.stop()

rejected = int((scenes.review_status == "rejected").sum())
unreviewed = int((~scenes.reviewed).sum())
m = st.columns(5)
m[0].metric("Scenes", f"{len(scenes):,}")
# Render and Narration count every scene not rejected as in the cut; say it the same way here.
m[1].metric(
    "In the cut",
    f"{len(scenes) - rejected:,}",
    help=f"Every scene is in the cut until a reviewer rejects it; "
    f"{len(scenes) - rejected - unreviewed:,} approved by a reviewer.",
)
m[2].metric("Rejected", f"{rejected:,}")
m[3].metric("Unreviewed", f"{unreviewed:,}", help="Unreviewed scenes are in the cut.")
kept = scenes.kept_s[scenes.review_status != "rejected"].sum()
m[4].metric(
    "Kept length", f"{timecode(kept)}", help="Approved and unreviewed scenes, trimmed ones trimmed."
)

focus = st.session_state.get("scene_focus_ids")
if focus is not None:
    with st.container(border=True):
        cols = st.columns([5, 1.3], vertical_alignment="center")
        cols[0].markdown(
            f"**Showing the {len(focus)} scenes picked on the Confidence page.** "
            "Filters below apply within this selection."
        )
        cols[1].button(
            "Clear selection", key="scene_clear_focus", on_click=clear_focus, width="stretch"
        )

media_names = {
    int(k): v
    for k, v in scenes.drop_duplicates("media_id").set_index("media_id").media_name.items()
}
f = st.columns([1.1, 1.7, 1.8, 1.6, 1.6, 0.9], vertical_alignment="bottom")
status = f[0].selectbox(
    "Status", STATUS_FILTERS, on_change=reset_page, **state.kept("scene_status")
)
media_choice = f[1].selectbox(
    "Media file",
    [ALL_FILES, *media_names],
    format_func=lambda i: "All files" if i == ALL_FILES else media_names.get(i, f"file #{i}"),
    on_change=reset_page,
    **state.kept("scene_media"),
)
media_id = None if media_choice == ALL_FILES else int(media_choice)
text = f[2].text_input(
    "Caption contains",
    placeholder="e.g. bars",
    on_change=reset_page,
    **state.kept("scene_text"),
)
max_conf = f[3].slider(
    "Confidence at most",
    0.0,
    1.0,
    1.0,
    0.05,
    on_change=reset_page,
    help="A scene's confidence is its weakest of detection, caption and transcript.",
    **state.kept("scene_max_conf"),
)
sort = f[4].selectbox("Sort", list(SORTS), on_change=reset_page, **state.kept("scene_sort"))
page_size = f[5].selectbox(
    "Per page", PAGE_SIZES, index=1, on_change=reset_page, **state.kept("scene_page_size")
)

threads = comment_ui.threads(pid)
comment_counts = comment_ui.counts_by_scene(threads)
comment_ui.open_filter(on_change=reset_page)
result = browse(
    scenes,
    status=status,
    text=text,
    media_id=media_id,
    max_confidence=None if max_conf >= 1.0 else max_conf,
    sort=sort,
    page=int(st.session_state.get("scene_page", 0)),
    page_size=int(page_size),
    ids=comment_ui.filter_ids(threads, focus),
)
st.session_state["scene_page"] = result.page
shown = [int(i) for i in result.rows.id]

bar = st.columns([3, 0.8, 1.2, 0.8, 1.6, 1.6], vertical_alignment="center")
if result.matching:
    first = result.page * int(page_size) + 1
    bar[0].markdown(
        f"**{first:,}–{first + len(shown) - 1:,}** of **{result.matching:,}** matching scenes"
    )
else:
    bar[0].markdown("No scene matches these filters.")
# Icons only: the words did not fit beside the page count ("P…", "N…").
bar[1].button(
    "",
    icon=":material/chevron_left:",
    help="Previous page",
    key="scene_prev",
    disabled=result.page == 0,
    on_click=turn_page,
    args=(-1,),
)
bar[2].markdown(f"Page **{result.page + 1}** of {result.pages}")
bar[3].button(
    "",
    icon=":material/chevron_right:",
    help="Next page",
    key="scene_next",
    disabled=result.page >= result.pages - 1,
    on_click=turn_page,
    args=(1,),
)
if can_review:
    bar[4].button(
        "Approve all shown",
        key="scene_bulk_approve",
        disabled=not shown,
        on_click=ask_bulk,
        args=("approved", shown),
        width="stretch",
    )
    bar[5].button(
        "Reject all shown",
        key="scene_bulk_reject",
        disabled=not shown,
        on_click=ask_bulk,
        args=("rejected", shown),
        width="stretch",
    )

pending = st.session_state.get("scene_confirm_bulk")
if pending and can_review:
    bulk_status, bulk_ids = pending
    verb = "Approve" if bulk_status == "approved" else "Reject"
    with st.container(border=True, key="scene_confirm_box"):
        c = st.columns([4, 1.2, 1], vertical_alignment="center")
        c[0].markdown(
            f"**{verb} {plural(len(bulk_ids), 'scene')} shown?** You can take it back with Undo."
        )
        c[1].button(
            f"{verb} {plural(len(bulk_ids), 'scene')}",
            key="scene_bulk_confirm",
            type="primary",
            on_click=review,
            args=(list(bulk_ids), bulk_status),
            width="stretch",
        )
        c[2].button("Cancel", key="scene_bulk_cancel", on_click=ask_bulk, args=(None,))

if can_review:
    history = reads.recent_reviews(pid)
    standing = [a for a in history if not a.undone]
    u = st.columns([1.3, 5], vertical_alignment="center")
    u[0].button(
        "Undo last",
        key="scene_undo_last",
        icon=":material/undo:",
        disabled=not standing,
        help=f"Undo “{standing[0].label}”" if standing else "No decision to undo",
        on_click=undo,
        args=(None,),
        width="stretch",
    )
    with u[1].expander(f"Recent decisions ({len(standing)} can be undone)"):
        if not history:
            st.caption("No decisions yet: approve or reject a scene on its card.")
        for action in history:
            row_cols = st.columns([4, 1.2], vertical_alignment="center")
            when = action.created_at.strftime("%H:%M:%S")
            row_cols[0].markdown(
                f":gray[{when}] ~~{action.label}~~ · undone"
                if action.undone
                else f":gray[{when}] {action.label}"
            )
            row_cols[1].button(
                "Undo",
                key=f"scene_undo_{action.id}",
                disabled=action.undone,
                on_click=undo,
                args=(action.id,),
                width="stretch",
            )


def save_trim(sid: int, in_key: str, out_key: str) -> None:
    try:
        trim = set_trim(
            reads.store(),
            pid,
            sid,
            int(st.session_state[in_key]),
            int(st.session_state[out_key]),
            actor=state.actor(),
        )
    except GenesisError as exc:
        state.flash("error", f"Trim not saved: {exc}")
    else:
        state.flash(
            "success",
            f"Trimmed to frames {trim.in_frame}–{trim.out_frame}. The render, the chapters of "
            "the cut and the exports follow.",
        )


def trim_controls(row: pd.Series) -> None:
    """In and out points of the scene in whole frames of its source, within the scene."""
    sid, first, last = int(row.id), int(row.start_frame), int(row.end_frame)
    fps = (last - first) / max(float(row.duration_s), 1e-6)
    trim = reads.trims(pid).get(sid)
    now = (trim.in_frame, trim.out_frame) if trim else (first, last)
    in_key, out_key = f"scene_in_{sid}", f"scene_out_{sid}"
    state.show_saved({in_key: now[0], out_key: now[1]}, saved_as=(sid, now))
    t = st.columns([1, 1, 1.2], vertical_alignment="bottom")
    t[0].number_input(
        "In (frame)", min_value=first, max_value=last - 1, step=1, **state.kept(in_key)
    )
    t[1].number_input(
        "Out (frame)", min_value=first + 1, max_value=last, step=1, **state.kept(out_key)
    )
    t[2].button(
        "Save trim",
        key=f"scene_trim_{sid}",
        icon=":material/content_cut:",
        on_click=save_trim,
        args=(sid, in_key, out_key),
        width="stretch",
    )
    a, b = int(st.session_state[in_key]), int(st.session_state[out_key])
    st.caption(
        f"Keeps frames {a}–{b} of {first}–{last} ({timecode((b - a) / fps)} of "
        f"{timecode(row.duration_s)})" + (" · trimmed" if trim else "")
    )


def played_range(row: pd.Series) -> tuple[float, float]:
    """Where the scene starts and ends in its source, in seconds, trimmed when it is."""
    return float(row.kept_start_s), float(row.kept_end_s)


def scene_player(row: pd.Series, press: int) -> None:
    """The scene playing: its range of the footage (first frame to last, then it stops) and a
    filmstrip of frames across it."""
    # The frames first (an ffmpeg on first open): the player then loads and starts with no
    # script work left after it.
    strip = load_filmstrip(row)
    with st.container(border=True, key="scene_player"):
        head = st.columns([5, 1], vertical_alignment="center")
        head[0].markdown(
            f":material/play_circle: **{row.media_name} · scene {int(row.idx) + 1}** · "
            + kept_span(row)
        )
        head[1].button(
            "Close", key="scene_player_close", icon=":material/close:", on_click=stop_playing
        )
        cols = st.columns([3, 2], gap="medium")
        with cols[0]:
            path = player.playable_path(int(row.media_id))
            if path is not None:
                st.video(path, start_time=int(row.start_s))
                if press != st.session_state.get("scene_played"):
                    st.session_state["scene_played"] = press
                    start, end = played_range(row)
                    length = max(int(row.end_frame) - int(row.start_frame), 1)
                    frame_s = float(row.duration_s) / length
                    player.play("scene_player", start, end=end, frame_s=frame_s, press=press)
            if can_review:
                trim_controls(row)
        with cols[1]:
            filmstrip_view(strip)


STRIP_COLUMNS = 3


def load_filmstrip(row: pd.Series) -> Filmstrip | str:
    """A few frames evenly across the scene (made from its footage on first open), or why
    there are none."""
    try:
        with st.spinner("Taking frames across the scene…"):
            return reads.filmstrip(pid, int(row.id))
    except GenesisError as exc:
        return str(exc)


def filmstrip_view(strip: Filmstrip | str) -> None:
    """The filmstrip; the frames a trim leaves out are greyed and marked."""
    if isinstance(strip, str):
        st.caption(f"No filmstrip: {strip}")
        return
    left_out = sum(not f.kept for f in strip.frames)
    st.caption(
        f"Filmstrip: {plural(len(strip.frames), 'frame')} across the scene"
        + (f" · {left_out} outside the trim (greyed)" if left_out else "")
    )
    grid = st.columns(STRIP_COLUMNS)
    for i, frame in enumerate(strip.frames):
        look = "kept" if frame.kept else "cut"
        with grid[i % STRIP_COLUMNS], st.container(key=f"strip-{look}-{i}"):
            st.image(str(frame.path), width="stretch")
            st.caption(
                f"{timecode(frame.time_s)} · frame {frame.frame}" + ("" if frame.kept else " · cut")
            )


def kept_span(row: pd.Series) -> str:
    """Where the scene plays from and to and how long (its trim when it has one)."""
    span = f"{timecode(row.kept_start_s)}–{timecode(row.kept_end_s)} · {timecode(row.kept_s)} long"
    return span + (f" (trimmed from {timecode(row.duration_s)})" if bool(row.trimmed) else "")


def scene_line(row: pd.Series) -> str:
    return f"{row.media_name} · scene {int(row.idx) + 1} · {kept_span(row)}"


def card(row: pd.Series) -> None:
    sid = int(row.id)
    status = str(row.review_status)
    look = status if row.reviewed else "default"
    with st.container(border=True, key=f"scene-{look}-{sid}"):
        preview = row.preview_path
        # A local file, or with S3 storage a presigned URL.
        if preview and (preview.startswith(("http://", "https://")) or Path(preview).is_file()):
            st.image(preview, width="stretch")
        else:
            st.caption("no preview frame")
        caption = row.caption if isinstance(row.caption, str) and row.caption else None
        if caption and len(caption) > CAPTION_CHARS:
            caption = caption[: CAPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
        with st.container(key=f"scene_caption_{sid}"):
            st.markdown(f"**{caption}**" if caption else ":gray[*no caption*]")
        with st.container(key=f"scene_where_{sid}"):
            st.caption(scene_line(row))
        st.markdown(
            " ".join(
                (
                    badge("det", row.detection_confidence),
                    badge("cap", row.caption_confidence),
                    badge("txt", row.transcript_confidence),
                )
            )
        )
        transitions.transition_line(pid, row)
        # The status word on a line of its own: beside three buttons it broke ("unreviewe/d").
        if status == "rejected":
            label = ":red[:material/cancel: **Rejected**]"
        elif row.reviewed:
            label = ":green[:material/check_circle: **Approved**]"
        else:
            label = ":gray[:material/radio_button_unchecked: Unreviewed]"
        decided = reads.decisions(pid).get(sid) if row.reviewed else None
        if decided is not None:
            when = decided.decided_at.strftime("%d %b %H:%M")
            label += f" :gray[by {decided.who} · {when}]"
        st.markdown(label)
        b = st.columns(4, vertical_alignment="center")
        b[3].button(
            "",
            icon=":material/play_arrow:",
            key=f"play_{sid}",
            help="Play this scene (from its first frame to its last)",
            on_click=play,
            args=(sid,),
            width="stretch",
        )
        if not can_review:  # a viewer plays and comments; decisions are a reviewer's
            with b[2]:
                comment_ui.card_button(sid, comment_counts.get(sid))
            return
        b[0].button(
            "",
            icon=":material/check:",
            key=f"approve_{sid}",
            help="Approve this scene",
            disabled=bool(row.reviewed) and status == "approved",
            on_click=review,
            args=([sid], "approved"),
            width="stretch",
        )
        b[1].button(
            "",
            icon=":material/close:",
            key=f"reject_{sid}",
            help="Reject this scene",
            disabled=status == "rejected",
            on_click=review,
            args=([sid], "rejected"),
            width="stretch",
        )
        b[2].button(
            "",
            icon=":material/undo:",
            key=f"unreview_{sid}",
            help="Back to unreviewed",
            disabled=not row.reviewed,
            on_click=review,
            args=([sid], UNREVIEWED),
            width="stretch",
        )
        comment_ui.card_button(sid, comment_counts.get(sid))


playing = st.session_state.get("scene_playing")
if playing:
    match = scenes[scenes.id == int(playing[0])]
    if match.empty:
        st.session_state["scene_playing"] = None
    else:
        scene_player(match.iloc[0], int(playing[1]))
comment_ui.scene_panel(pid, scenes, threads)

rows = list(result.rows.iterrows())
for start in range(0, len(rows), COLUMNS):
    cols = st.columns(COLUMNS)
    for col, (_, row) in zip(cols, rows[start : start + COLUMNS], strict=False):
        with col:
            card(row)
