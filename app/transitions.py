"""Scene boundaries as the detector saw them: its score along each file (the Confidence page)
and each scene's opening transition with a strip of frames across a gradual one (the Scenes
page's cards). Blocks of their own, called from each page with one line."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from genesis_app import reads
from genesis_pipeline import viz


def detector_section(pid: int) -> None:
    """The detector's score on every frame of one file, its thresholds and the boundaries."""
    st.subheader("Detector score along each file")
    files = reads.traced_files(pid)
    if not files:
        st.caption(
            "No detector scores stored yet: they are kept from the next scene detection on "
            "(process the project on the Run page)."
        )
        return
    names = dict(files)
    media_id = files[0][0]
    if len(files) > 1:
        media_id = st.selectbox(
            "File", [m for m, _n in files], format_func=names.__getitem__, key="conf_trace_media"
        )
    trace = reads.detector_trace(pid, int(media_id))
    if trace is None:
        st.caption("This file's detector scores cannot be read: re-run scene detection.")
        return
    st.caption(
        "The score the scene detector computed on every frame (the top row decides cuts, the "
        "bottom one gradual transitions), dashed at its threshold. Red lines are cuts; a purple "
        "band is a dissolve, fade or wipe, its line where the new scene starts. Long files are "
        "drawn as each stretch's peak."
    )
    st.plotly_chart(viz.detector_timeline(trace), key="conf_detector_trace", width="stretch")


# How each boundary reads on a card: badge colour and icon.
KINDS = {
    "cut": ("gray", ":material/content_cut:"),
    "dissolve": ("violet", ":material/gradient:"),
    "fade": ("blue", ":material/contrast:"),
    "wipe": ("orange", ":material/swipe_right:"),
    "gradual": ("violet", ":material/gradient:"),
}


def transition_line(pid: int, row: Any) -> None:
    """On a scene card: how the scene starts (cut, dissolve, fade, wipe) and, after a gradual
    transition, a strip of frames across it. Nothing for a file's first scene."""
    kind = row.transition if isinstance(row.transition, str) else None
    if kind is None:
        return
    colour, icon = KINDS.get(kind, KINDS["gradual"])
    a, b = row.transition_start_s, row.transition_end_s
    timed = kind != "cut" and math.isfinite(float(a)) and math.isfinite(float(b))
    length = f" {float(b) - float(a):.2f} s" if timed else ""
    st.markdown(
        f":{colour}-badge[{icon} {kind}{length}]",
        help="How this scene starts: a hard cut, or a gradual transition (dissolve, fade "
        "through a plain frame, wipe) split at its middle.",
    )
    if kind == "cut":
        return
    frames = reads.transition_strip(pid, int(row.id))
    if frames:
        st.image(frames, width=44)
