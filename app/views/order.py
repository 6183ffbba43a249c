"""Cut order: the order the render, the chapters of the cut and the exports play the scenes in.

Chapters move as blocks with their scenes; a scene moves within its chapter. Moves are stored
through ``services.cut_order`` keyed like approvals, so a re-run that keeps the scenes keeps
them; Reset order goes back to the footage's order; Undo takes back the last move or reset.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from genesis_app import reads, state
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services.cut_order import (
    OrderBlock,
    move_chapter,
    move_scene,
    reset_order,
    undo_order_change,
)
from genesis_pipeline.services.wording import duration, plural

st.title("Cut order")
state.show_flash()
pid = state.require_project()
may_reorder = state.can("review")  # viewers see the order; reviewers change it


def shift_chapter(chapter_id: int, delta: int) -> None:
    try:
        move_chapter(reads.store(), pid, chapter_id, delta, actor=state.actor())
    except GenesisError as exc:
        state.flash("error", f"Chapter not moved: {exc}")


def shift_scene(scene_id: int, delta: int) -> None:
    try:
        move_scene(reads.store(), pid, scene_id, delta, actor=state.actor())
    except GenesisError as exc:
        state.flash("error", f"Scene not moved: {exc}")


def reset() -> None:
    try:
        reset_order(reads.store(), pid, actor=state.actor())
    except GenesisError as exc:
        state.flash("error", f"Order not reset: {exc}")
    else:
        state.flash("success", "Back to the footage's order.")


def undo() -> None:
    try:
        undone = undo_order_change(reads.store(), pid, actor=state.actor())
    except GenesisError as exc:
        state.flash("warning", f"Nothing undone: {exc}")
    else:
        state.flash("success", f"Undid “{undone.label}”.")


def arrows(key: str, place: int, count: int, on_move, target: int, what: str) -> None:
    """Earlier / later buttons for one item at ``place`` of ``count``."""
    up, down = st.columns(2)
    up.button(
        "",
        icon=":material/arrow_upward:",
        key=f"{key}_up_{target}",
        help=f"Move this {what} earlier",
        disabled=place == 0 or not may_reorder,
        on_click=on_move,
        args=(target, -1),
        width="stretch",
    )
    down.button(
        "",
        icon=":material/arrow_downward:",
        key=f"{key}_down_{target}",
        help=f"Move this {what} later",
        disabled=place >= count - 1 or not may_reorder,
        on_click=on_move,
        args=(target, 1),
        width="stretch",
    )


def scene_line(row: pd.Series, place: int, count: int) -> None:
    cols = st.columns([0.9, 5, 1.2], vertical_alignment="center")
    preview = row.preview_path
    if preview and (preview.startswith(("http://", "https://")) or Path(preview).is_file()):
        cols[0].image(preview, width="stretch")
    status = str(row.review_status)
    note = " · :red[rejected: not in the cut]" if status == "rejected" else ""
    trimmed = " · trimmed" if bool(row.trimmed) else ""
    caption = row.caption if isinstance(row.caption, str) and row.caption else "no caption"
    cols[1].markdown(
        f"**{place + 1}.** {row.media_name} · scene {int(row.idx) + 1} · "
        f"{duration(row.kept_s)}{trimmed}{note}  \n:gray[{caption}]"
    )
    with cols[2]:
        arrows("order_scene", place, count, shift_scene, int(row.id), "scene within its chapter")


def chapter_block(block: OrderBlock, place: int, count: int, rows: pd.DataFrame) -> None:
    kept = rows[rows.review_status != "rejected"]
    with st.container(border=True, key=f"order-chapter-{place}"):
        head = st.columns([6, 1.2], vertical_alignment="center")
        head[0].markdown(
            f"**{place + 1}. {block.title}** · {plural(len(rows), 'scene')} · "
            f"{duration(kept.kept_s.sum())} in the cut"
            + ("" if len(kept) else " · :red[all rejected]")
        )
        with head[1]:
            if block.chapter_id is not None:
                arrows("order_chapter", place, count, shift_chapter, block.chapter_id, "chapter")
        with st.expander(f"Scenes of chapter {place + 1}", expanded=len(rows) <= 6):
            for i, (_, row) in enumerate(rows.iterrows()):
                scene_line(row, i, len(rows))


scenes = reads.scenes(pid)
if scenes.empty:
    st.info(
        "No scenes yet: add footage on **Upload** and process it on the **Run** page."
        if state.can("manage")
        else "No scenes yet: they appear once footage is added and processed."
    )
    st.stop()
order = reads.cut_order(pid)

st.caption(
    "The render, the chapters of the cut and the exports play the scenes in this order. A "
    "chapter moves with all its scenes; a scene moves within its chapter. Rejected scenes keep "
    "their place but are left out of the cut. A re-run keeps the order."
)
changes = reads.order_changes(pid)
standing = [c for c in changes if not c.undone]
top = st.columns([4, 1.4, 1.4], vertical_alignment="center")
top[0].markdown(
    f"{plural(len(order.blocks), 'chapter')} · {plural(len(scenes), 'scene')}"
    + (" · :orange[reordered]" if order.reordered else " · footage order")
)
top[1].button(
    "Undo move",
    key="order_undo",
    icon=":material/undo:",
    disabled=not standing or not may_reorder,
    help=f"Undo “{standing[0].label}” (by {standing[0].who})" if standing else "No move to undo",
    on_click=undo,
    width="stretch",
)
top[2].button(
    "Reset order",
    key="order_reset",
    icon=":material/restart_alt:",
    disabled=not order.reordered or not may_reorder,
    help="Back to the footage's order (Undo move brings it back)",
    on_click=reset,
    width="stretch",
)
if changes:
    with st.expander(f"Recent moves ({len(standing)} can be undone, newest first)"):
        for change in changes:
            when = change.created_at.strftime("%H:%M:%S")
            text = f"~~{change.label}~~ · undone" if change.undone else change.label
            st.markdown(f":gray[{when}] {text} · :gray[by {change.who}]")
by_id = scenes.set_index("id", drop=False)
for place, block in enumerate(order.blocks):
    chapter_block(block, place, len(order.blocks), by_id.loc[list(block.scene_ids)])
