"""Render: render the approved cut in the background with live progress, play and download the
latest render, and every past render with the settings it was made with."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from genesis_app import reads, state
from genesis_app.overrun_notice import overrun_notice
from genesis_pipeline.errors import GenesisError, RunInProgressError
from genesis_pipeline.runs.control import run_fraction, run_state, start_background_run
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.services.cut import scene_status_counts
from genesis_pipeline.services.render_settings import RENDER_MODES, set_render_mode
from genesis_pipeline.services.render_view import RenderEntry


def _reader(path: str) -> Callable[[], bytes]:
    return lambda: Path(path).read_bytes()


def _player(entry: RenderEntry, key: str) -> None:
    """The render's video and a download button (or a note when its file is gone)."""
    if not entry.exists:
        st.warning(f"The file of render #{entry.id} is gone: `{entry.path}`")
        return
    st.video(entry.path)
    if entry.path.startswith(("http://", "https://")):  # S3 storage: a presigned URL
        st.link_button(
            f"Download {entry.file_name} ({entry.size_mb:.1f} MB)",
            entry.path,
            icon=":material/download:",
        )
        return
    st.download_button(
        f"Download {entry.file_name} ({entry.size_mb:.1f} MB)",
        data=_reader(entry.path),
        file_name=entry.file_name,
        mime="video/mp4",
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )


def _details(entry: RenderEntry) -> None:
    st.markdown(
        f"**Render #{entry.id}** · {entry.created_at.replace('T', ' ')}  \n"
        f"{entry.duration_s:.1f} s · {entry.scenes} scenes · {entry.size}  \n"
        f"Narration: {entry.narration}  \n"
        f"Mix: narration ×{entry.voiceover_gain or 1:g}, bed ×{entry.bed_gain or 1:g}  \n"
        f"Made by: {_MODE_LABELS[entry.mode]} · sound {entry.sound}"
    )


_MODE_LABELS = {
    "smart": "smart render (copies what the cut leaves whole)",
    "reencode": "full re-encode",
}


def _save_mode(pid: int) -> None:
    try:
        set_render_mode(reads.store(), pid, st.session_state[f"render_mode_{pid}"])
    except GenesisError as exc:
        state.flash("error", str(exc))
    reads.clear()


st.title("Render")
state.show_flash()
pid = state.require_project()
store = reads.store()
rs = reads.render_state(pid)
overview, history = rs.overview, rs.history
live = run_state(store, pid)
if live.active:
    st.session_state["render_watch"] = pid

m = st.columns(5)
m[0].metric("Approved scenes", f"{overview.approved} of {overview.total}")
m[1].metric("Cut length", f"{overview.cut_duration_s:.1f} s")
m[2].metric("Chapters in the cut", overview.chapters)
m[3].metric("Voiceovers", overview.voiceovers)
m[4].metric("Narration / bed gain", f"{overview.mix.voiceover_gain:g} / {overview.mix.bed_gain:g}")

if overview.total == 0:
    st.info("No scenes yet: process the project on the Run page first.")
elif overview.approved == 0:
    st.warning(
        "Nothing is approved: every scene is rejected, so there is nothing to render. "
        "Approve scenes on the Scenes page."
    )
for problem in overview.problems:
    st.error(f"A render would fail: {problem} (fix it on the Narration page).")
if overview.approved and not overview.problems and not live.active:
    if overview.latest_is_current:
        st.success("The latest render matches the approved cut, narration, mix and render mode.")
    elif history:
        st.info(
            "The cut, narration, mix or render mode changed since the latest render: render again."
        )
    else:
        st.info("Not rendered yet.")

overrun_notice(pid, "render", disabled=live.active)
# The choice shows the saved mode, also when another tab or the CLI changed it.
state.show_saved({f"render_mode_{pid}": overview.mode})
st.radio(
    "How to render",
    RENDER_MODES,
    format_func=_MODE_LABELS.get,
    **state.kept(f"render_mode_{pid}"),
    horizontal=True,
    on_change=_save_mode,
    args=(pid,),
    disabled=live.active,
    help="A smart render stream-copies the stretches of H.264 pictures and AAC sound that the "
    "cut leaves whole and encodes only around the cut points: the same frames, several times "
    "faster. Copied sound can sit up to 10.7 ms off its pictures (with narration it is encoded, "
    "in sync to the sample). A full re-encode decodes and encodes everything. Saved for the "
    "project.",
)
cols = st.columns([1.6, 5], vertical_alignment="center")
start = cols[0].button(
    "Render approved cut",
    key="render_start",
    type="primary",
    icon=":material/movie:",
    disabled=live.active,
    width="stretch",
)
cols[1].caption(
    "Runs the pipeline in the background: finished steps come from the cache, so usually only "
    "the render itself runs. Chapter rules saved on the Chapters page apply too."
)
if start:
    counts = scene_status_counts(store, pid)
    if not counts:
        st.error("Nothing to render: the project has no scenes yet. Process it on the Run page.")
    elif counts.get("approved", 0) == 0:
        st.error("Nothing to render: no scene is approved. Approve scenes on the Scenes page.")
    else:
        try:
            start_background_run(store, pid, RunOptions())
        except RunInProgressError:
            st.warning("A run of this project is already going: wait for it to finish.")
        except GenesisError as exc:
            st.error(f"The render could not start: {exc}")
        else:
            st.session_state["render_watch"] = pid
            st.rerun()


@st.fragment(run_every=1.0 if live.active else None)
def _progress() -> None:
    now = run_state(store, pid)
    if not now.active:
        if st.session_state.get("render_watch") == pid:
            # The run just ended: refresh the whole page (new render, history).
            st.session_state["render_watch"] = None
            run = now.run
            if run is not None and run.status == "failed":
                state.flash("error", f"The run failed: {run.error}")
            elif run is not None:
                step = next((d for d in run.step_details if d.get("step") == "render"), {})
                if step.get("cache_hit"):
                    state.flash("info", "Nothing changed: the latest render is already current.")
                elif step.get("status") == "skipped":
                    state.flash("warning", f"Nothing rendered: {step.get('note', 'skipped')}.")
                else:
                    state.flash("success", "Rendered: the new render is at the top.")
            st.rerun()
        return
    run = now.run
    with st.container(border=True):
        if now.starting or run is None or run.status != "running":
            st.progress(0.0, text="Starting the worker…")
        else:
            prog = run.progress_json or {}
            current = prog.get("step") or "starting"
            note = prog.get("note") or ""
            done, total = prog.get("done") or 0, prog.get("total") or 0
            detail = f" · {100 * done / total:.0f}%" if total else ""
            st.progress(
                run_fraction(run),
                text=f"Run #{run.id}: {current}{detail}{' · ' + note if note else ''}",
            )
        st.caption(
            "A run of this project is going: you can leave this page, it goes on in the "
            "background. Render again once it has finished."
        )


_progress()

# -- the latest render and the history ----------------------------------------------------------
st.subheader("Latest render")
if not history:
    st.caption("No render yet.")
    st.stop()
latest = history[0]
left, right = st.columns([2.4, 1], gap="large")
with left:
    _player(latest, "render_download_latest")
with right:
    _details(latest)

st.subheader(f"All renders ({len(history)})")
st.dataframe(
    pd.DataFrame(
        [
            {
                "render": h.id,
                "created": h.created_at.replace("T", " "),
                "length (s)": round(h.duration_s, 2),
                "scenes": h.scenes,
                "narration": h.narration,
                "narration gain": h.voiceover_gain,
                "bed gain": h.bed_gain,
                "mode": h.mode,
                "size": h.size,
                "MB": h.size_mb,
                "file": h.file_name if h.exists else "(missing)",
            }
            for h in history
        ]
    ),
    hide_index=True,
    width="stretch",
    key="render_history",
)
if len(history) > 1:
    by_id = {h.id: h for h in history}
    pick = st.selectbox(
        "Play or download an earlier render",
        [h.id for h in history[1:]],
        format_func=lambda i: (
            f"#{i} · {by_id[i].created_at.replace('T', ' ')} · {by_id[i].duration_s:.1f} s"
        ),
        **state.kept("render_pick"),
    )
    left, right = st.columns([2.4, 1], gap="large")
    with left:
        _player(by_id[pick], "render_download_pick")
    with right:
        _details(by_id[pick])
