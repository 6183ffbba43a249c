"""Narration: voiceovers for the whole cut or one chapter, where each plays on the cut (automatic
or set by hand), the narration and bed gains, and a mixed preview of one chapter."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from genesis_app import reads, state
from genesis_app.overrun_notice import overrun_notice
from genesis_pipeline import viz
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services.chapter_preview import find_chapter_preview, preview_chapter_mix
from genesis_pipeline.services.cut import CutChapterSpan
from genesis_pipeline.services.narration import (
    add_voiceover,
    check_voiceover_offset,
    remove_voiceover,
    set_mix,
    set_voiceover_gain,
    set_voiceover_offset,
)

AUDIO_TYPES = ["wav", "mp3", "m4a", "aac", "flac", "ogg", "opus", "mp4", "mov", "mkv", "webm"]


WHOLE_CUT = -1  # the "For" choice of a whole-cut voiceover (a None option reads as "nothing")


def _chapter_label(spans: dict[int, CutChapterSpan], idx: int | None) -> str:
    if idx is None or idx == WHOLE_CUT:
        return "Whole cut"
    span = spans.get(idx)
    title = f" — {span.title}" if span is not None else " (not in the cut)"
    return f"Chapter {idx + 1}{title}"


st.title("Narration")
state.show_flash()
pid = state.require_project()
store = reads.store()
ns = reads.narration_state(pid)
cut, voiceovers, placements, plan_error, mix = (
    ns.cut,
    ns.voiceovers,
    ns.placements,
    ns.error,
    ns.mix,
)
spans = {c.index: c for c in cut.chapters}

m = st.columns(5)
m[0].metric("Cut length", f"{cut.duration_s:.1f} s")
m[1].metric("Scenes in the cut", f"{len(cut.segments)} of {cut.total_scenes}")
m[2].metric("Chapters in the cut", len(cut.chapters))
m[3].metric("Voiceovers", len(voiceovers))
m[4].metric("Narration / bed gain", f"{mix.voiceover_gain:g} / {mix.bed_gain:g}")

if not cut.segments:
    st.warning(
        "Nothing is approved, so there is no cut to narrate yet: approve scenes on the Scenes "
        "page (a whole-cut voiceover can still be added below)."
    )
if plan_error and cut.segments:
    st.error(f"The narration plan cannot be made: {plan_error}. Fix the offset below.")
st.caption(
    "Changes here apply to the next render (Render page). A chapter voiceover starts where it "
    "talks over the least on-camera speech, unless you give its start after the chapter's start."
)

# -- the plan -----------------------------------------------------------------------------------
st.subheader("Plan on the cut")
if cut.segments:
    st.plotly_chart(viz.narration_timeline(cut, placements), key="narr_timeline", width="stretch")
    overrun_notice(pid, "narr")

# -- voiceovers ---------------------------------------------------------------------------------
st.subheader("Voiceovers")
if not voiceovers:
    st.info("No voiceover yet: add one below.")
by_id = {p.voiceover_id: p for p in placements}
for vo in voiceovers:
    placed = by_id.get(vo.id)  # None when the plan could not be made
    is_chapter = vo.chapter_idx is not None
    span = spans.get(vo.chapter_idx) if vo.chapter_idx is not None else None
    start = placed.offset_s if placed else None
    with st.container(border=True):
        head = st.columns([3.2, 1.2, 1.2, 1.2], vertical_alignment="center")
        head[0].markdown(
            f"**{_chapter_label(spans, vo.chapter_idx)}**  \n`{vo.original_name}` · "
            f"{vo.duration_s:.2f} s"
        )
        head[1].metric("Starts on the cut", "—" if start is None else f"{start:.2f} s")
        placement = "auto" if placed and placed.automatic else "default"
        if vo.offset_s is not None:
            placement = "manual"
        head[2].metric("Placement", placement)
        head[3].metric(
            "Over speech",
            f"{placed.speech_overlap_s if placed else 0.0:.2f} s",
            help="Seconds of on-camera speech the narration talks over",
        )
        # The offset box shows the override, or for a chapter where the automatic start falls.
        shown = vo.offset_s
        if shown is None:
            shown = (start - span.start_s) if (is_chapter and span and start is not None) else 0.0
        shown = round(float(shown), 3)
        state.show_saved({f"vo_offset_{vo.id}": shown, f"vo_gain_{vo.id}": float(vo.gain)})
        with st.form(f"vo_form_{vo.id}", border=False):
            f = st.columns([2, 2, 1.2], vertical_alignment="bottom")
            offset = f[0].number_input(
                "Start after the chapter's start (s)" if is_chapter else "Start on the cut (s)",
                step=0.1,
                format="%.2f",
                **state.kept(f"vo_offset_{vo.id}"),
            )
            gain = f[1].number_input(
                "Gain (1.0 = unchanged)", step=0.1, format="%.2f", **state.kept(f"vo_gain_{vo.id}")
            )
            apply = f[2].form_submit_button(
                "Apply",
                type="primary",
                width="stretch",
                key=f"vo_apply_{vo.id}",
                disabled=not state.can("review"),
            )
        if apply:
            try:
                if abs(float(offset) - float(shown)) > 1e-6:
                    check_voiceover_offset(store, pid, vo.id, float(offset))
                    set_voiceover_offset(store, pid, vo.id, float(offset), actor=state.actor())
                if abs(float(gain) - vo.gain) > 1e-9:
                    set_voiceover_gain(store, pid, vo.id, float(gain), actor=state.actor())
            except GenesisError as exc:
                st.error(str(exc))
            else:
                state.flash("success", f"Updated {vo.original_name}.")
                st.rerun()
        actions = st.columns([1.4, 1.2, 4]) if is_chapter else st.columns([1.2, 5])
        if is_chapter and actions[0].button(
            "Automatic start",
            key=f"vo_auto_{vo.id}",
            disabled=(vo.offset_s is None) or not state.can("review"),
            help="Forget the override: start where the narration talks over the least speech",
        ):
            try:
                set_voiceover_offset(store, pid, vo.id, None, actor=state.actor())
            except GenesisError as exc:
                st.error(str(exc))
            else:
                state.flash("success", f"{vo.original_name} starts automatically again.")
                st.rerun()
        if actions[1 if is_chapter else 0].button(
            "Remove",
            key=f"vo_remove_{vo.id}",
            icon=":material/delete:",
            disabled=not state.can("review"),
        ):
            try:
                remove_voiceover(store, pid, vo.id, actor=state.actor())
            except GenesisError as exc:
                st.error(str(exc))
            else:
                state.flash("success", f"Removed {vo.original_name}.")
                st.rerun()

# -- add a voiceover; the mix -------------------------------------------------------------------
add_col, mix_col = st.columns([1.6, 1], gap="large")
with add_col:
    st.subheader("Add a voiceover")
    # Rotating the key empties the uploader once the file is stored (and frees its memory).
    st.session_state.setdefault("narr_upload_nonce", 0)
    upload = st.file_uploader(
        "Audio (or a video whose sound to use)",
        type=AUDIO_TYPES,
        key=f"narr_upload_{st.session_state['narr_upload_nonce']}",
        disabled=not state.can("review"),
    )
    targets = [WHOLE_CUT, *sorted(spans)]
    cols = st.columns([2, 1.2], vertical_alignment="bottom")
    target = cols[0].selectbox(
        "For",
        targets,
        format_func=lambda i: _chapter_label(spans, i),
        **state.kept("narr_target"),
        help="A new voiceover replaces the current one for the same target.",
    )
    new_offset = cols[1].number_input(
        "Start on the cut (s)",
        value=0.0,
        step=0.5,
        **state.kept("narr_new_offset"),
        disabled=target != WHOLE_CUT,
        help="Chapter voiceovers start automatically; set an override afterwards if needed.",
    )
    if st.button(
        "Add voiceover",
        key="narr_add",
        type="primary",
        icon=":material/mic:",
        disabled=not state.can("review"),
    ):
        if upload is None:
            st.warning("Choose a file to upload first.")
        else:
            try:
                with tempfile.TemporaryDirectory(prefix="genesis-vo-") as tmp:
                    path = Path(tmp) / f"upload{Path(upload.name).suffix.lower()}"
                    path.write_bytes(upload.getbuffer())
                    vo = add_voiceover(
                        store,
                        pid,
                        path,
                        chapter_idx=None if target == WHOLE_CUT else int(target),
                        offset_s=float(new_offset) if target == WHOLE_CUT else None,
                        original_name=upload.name,
                        actor=state.actor(),
                    )
            except GenesisError as exc:
                st.error(f"Voiceover not added: {exc}")
            else:
                st.session_state["narr_upload_nonce"] += 1
                state.flash(
                    "success",
                    f"Added {vo.original_name} ({vo.duration_s:.1f} s) for "
                    f"{_chapter_label(spans, target)}.",
                )
                st.rerun()

with mix_col:
    st.subheader("Mix")
    state.show_saved({"narr_gain": float(mix.voiceover_gain), "narr_bed_gain": float(mix.bed_gain)})
    with st.form("narr_mix", border=False):
        narr_gain = st.number_input(
            "Narration gain",
            step=0.1,
            format="%.2f",
            help="1.0 = unchanged",
            **state.kept("narr_gain"),
        )
        bed_gain = st.number_input(
            "Bed gain (natural sound)",
            step=0.1,
            format="%.2f",
            **state.kept("narr_bed_gain"),
            help="The bed is also ducked under the narration",
        )
        if st.form_submit_button(
            "Apply mix",
            key="narr_mix_apply",
            disabled=not state.can("review"),
        ):
            try:
                set_mix(
                    store,
                    pid,
                    voiceover_gain=float(narr_gain),
                    bed_gain=float(bed_gain),
                    actor=state.actor(),
                )
            except GenesisError as exc:
                st.error(str(exc))
            else:
                state.flash("success", "Mix saved.")
                st.rerun()

# -- preview ------------------------------------------------------------------------------------
st.subheader("Preview a chapter")
if not cut.chapters:
    st.caption("No chapter in the cut to preview (approve scenes and run the pipeline).")
    st.stop()
cols = st.columns([3, 1.2], vertical_alignment="bottom")
chapter = cols[0].selectbox(
    "Chapter",
    sorted(spans),
    format_func=lambda i: f"{_chapter_label(spans, i)} · {spans[i].end_s - spans[i].start_s:.1f} s",
    **state.kept("narr_preview_chapter"),
)
if cols[1].button("Render preview", key="narr_preview", icon=":material/play_arrow:"):
    try:
        with st.spinner("Rendering a small preview of the chapter…"):
            preview_chapter_mix(store, pid, int(chapter))
    except GenesisError as exc:
        st.error(f"No preview: {exc}")
# The preview shown is the one made from what the chapter is now (its scenes, the narration in
# it, the gains): after new chapter rules, approvals or a new mix an older one is not shown.
plan = reads.chapter_preview_plan(pid, int(chapter))
preview = find_chapter_preview(store, plan) if plan is not None else None
if preview is not None:
    player, _ = st.columns([3, 2])
    player.caption(f"Preview of {_chapter_label(spans, int(chapter))} (small, fast encode)")
    player.video(str(preview))
