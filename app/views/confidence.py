"""Confidence: where detection, captions and transcript are unsure, along the timeline and as
distributions; a selection on the timeline opens those scenes on the Scenes page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from genesis_app import reads, state, transitions
from genesis_pipeline import viz
from genesis_pipeline.services.scene_browser import min_confidence
from genesis_pipeline.services.wording import duration, plural

CONFIDENCE_COLUMNS = ("detection_confidence", "caption_confidence", "transcript_confidence")


def _median(df: pd.DataFrame, col: str) -> str:
    values = pd.to_numeric(df[col], errors="coerce").dropna()
    return f"{values.median():.2f}" if not values.empty else "—"


def _focus(ids: list[int]) -> None:
    st.session_state["scene_focus_ids"] = [int(i) for i in ids]
    st.session_state["scene_page"] = 0


st.title("Confidence")
state.show_flash()
pid = state.require_project()
scenes = reads.scenes(pid)
if scenes.empty:
    st.info("No scenes yet: process the project on the Run page first.")
    st.stop()

weakest = min_confidence(scenes)
# One scene numbering everywhere: "clip.mp4 · scene 3", counted within its file from 1.
names = {
    int(i): f"{f} · scene {int(x) + 1}"
    for i, f, x in zip(scenes.id, scenes.media_name, scenes.idx, strict=True)
}
m = st.columns(5)
m[0].metric("Scenes", len(scenes))
m[1].metric("Detection (median)", _median(scenes, "detection_confidence"))
m[2].metric("Caption (median)", _median(scenes, "caption_confidence"))
m[3].metric("Transcript (median)", _median(scenes, "transcript_confidence"))
m[4].metric("Below 0.5", int((weakest < 0.5).sum()), help="Scenes whose weakest confidence < 0.5")

skipped = reads.captions_skipped(pid)
if scenes.caption_confidence.isna().all():
    if skipped and skipped.startswith("captions skipped"):
        # The step's reason names settings and paths: for an administrator, behind a toggle.
        st.info(
            "Captions are off: no captioning model is installed on this server. Detection and "
            "transcript confidence are shown; the caption series stay empty.",
            icon=":material/info:",
        )
        if st.toggle("Show the details", key="conf_caption_details"):
            st.caption(skipped)
    else:
        st.info(
            "No caption confidence yet: captions are made by the next run (Run page). "
            "Detection and transcript confidence are shown.",
            icon=":material/info:",
        )
if scenes.transcript_confidence.isna().all():
    st.caption("No transcript confidence: no scene has transcribed speech.")

st.subheader("Along the timeline")
st.caption(
    "One point per scene at its start on the project timeline (files laid end to end; dotted "
    "lines mark file changes). Open markers are rejected scenes; the dotted grey series is the "
    "raw cut score on the right axis. Click a point, or drag a box or lasso, to pick scenes."
)
event = st.plotly_chart(
    viz.confidence_timeline(scenes),
    on_select="rerun",
    selection_mode=("points", "box", "lasso"),
    key="conf_timeline",
    width="stretch",
)
picked = viz.selected_scene_ids(event)
# Only a new selection moves the focus, so "Clear" sticks while the chart keeps its selection.
if picked and picked != st.session_state.get("conf_last_pick"):
    _focus(picked)
st.session_state["conf_last_pick"] = picked

focus = st.session_state.get("scene_focus_ids")
with st.container(border=True):
    cols = st.columns([5, 1.4, 1.2], vertical_alignment="center")
    if picked:
        cols[0].markdown(
            f"**{plural(len(picked), 'scene')} picked:** "
            + ", ".join(names[i] for i in picked[:20] if i in names)
            + (" …" if len(picked) > 20 else "")
        )
    elif focus:
        cols[0].markdown(f"**{plural(len(focus), 'scene')} in focus** for the Scenes page.")
    else:
        cols[0].markdown("No scenes picked yet: select points on the chart above.")
    if cols[1].button(
        "Open in Scenes",
        key="conf_open_scenes",
        type="primary",
        disabled=not focus,
        icon=":material/grid_view:",
        width="stretch",
    ):
        st.switch_page("views/scenes.py")
    if cols[2].button("Clear", key="conf_clear_focus", disabled=not focus, width="stretch"):
        st.session_state["scene_focus_ids"] = None
        st.rerun()

transitions.detector_section(pid)

st.subheader("Distributions")
st.plotly_chart(viz.confidence_histograms(scenes), key="conf_histograms", width="stretch")

st.subheader("Lowest confidence")
head = st.columns([1.2, 4], vertical_alignment="bottom")
n = head[0].number_input(
    "Scenes", min_value=1, max_value=200, value=10, step=5, **state.kept("conf_low_n")
)
lowest = (
    scenes.assign(weakest=weakest)
    .dropna(subset=["weakest"])
    .sort_values(["weakest", "timeline_start_s"], kind="stable")
    .head(int(n))
)
if head[1].button(
    f"Open these {len(lowest)} in Scenes", key="conf_open_lowest", disabled=lowest.empty
):
    _focus(lowest.id.tolist())
    st.switch_page("views/scenes.py")
st.dataframe(
    lowest[
        [
            "media_name",
            "idx",
            "timeline_start_s",
            "duration_s",
            "weakest",
            *CONFIDENCE_COLUMNS,
            "cut_score",
            "review_status",
            "caption",
        ]
    ].assign(
        idx=[f"scene {int(i) + 1}" for i in lowest.idx],
        timeline_start_s=[duration(v) for v in lowest.timeline_start_s],
        duration_s=[duration(v) for v in lowest.duration_s],
        review_status=[
            status if reviewed else "unreviewed"
            for status, reviewed in zip(lowest.review_status, lowest.reviewed, strict=True)
        ],
    ),
    hide_index=True,
    width="stretch",
    column_config={
        "media_name": "file",
        "idx": st.column_config.TextColumn("scene", width="small"),
        "timeline_start_s": st.column_config.TextColumn("at"),
        "duration_s": st.column_config.TextColumn("length"),
        "weakest": st.column_config.ProgressColumn("weakest", min_value=0.0, max_value=1.0),
        "detection_confidence": st.column_config.NumberColumn("detection", format="%.2f"),
        "caption_confidence": st.column_config.NumberColumn("caption", format="%.2f"),
        "transcript_confidence": st.column_config.NumberColumn("transcript", format="%.2f"),
        "cut_score": st.column_config.NumberColumn("cut score", format="%.1f"),
        "review_status": "status",
        "caption": st.column_config.TextColumn("caption", width="large"),
    },
    key="conf_lowest_table",
)
