"""Run: start the pipeline in a background worker and watch it go.

The worker is its own process (``runs.control.start_background_run``): closing the tab or
restarting the app does not stop it. While a run is going, a fragment polls the store once a
second; when nothing runs, nothing polls.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from genesis_app import reads, state
from genesis_pipeline.errors import GenesisError, RunInProgressError
from genesis_pipeline.runs.control import (
    RunState,
    StepRow,
    models_used,
    run_fraction,
    run_state,
    start_background_run,
    step_checklist,
)
from genesis_pipeline.runs.options import RunOptions

# Material icons render in every browser (emoji fonts are not everywhere).
ICONS = {
    "ok": ":green[:material/check_circle:]",
    "skipped": ":gray[:material/skip_next:]",
    "failed": ":red[:material/cancel:]",
    "running": ":orange[:material/autorenew:]",
    "pending": ":gray[:material/radio_button_unchecked:]",
    "not run": ":gray[:material/remove_circle_outline:]",
}
RUN_ICONS = {
    "succeeded": ":green[:material/check_circle:]",
    "failed": ":red[:material/cancel:]",
    "running": ":orange[:material/autorenew:]",
}

st.title("Run")
state.show_flash()
pid = state.require_project(follow=False)  # polls on its own while a run goes
st.session_state.setdefault("run_confirm_force", False)


def current() -> RunState:
    return run_state(reads.store(), pid)


def start(force: bool) -> None:
    """Launch a worker; a run already going shows as a message, not a traceback."""
    st.session_state["run_confirm_force"] = False
    options = RunOptions(force=force, render=bool(st.session_state.get("run_render", False)))
    try:
        worker = start_background_run(reads.store(), pid, options, actor=state.actor())
    except RunInProgressError as exc:
        state.flash("warning", f"Not started: {exc}")
    except GenesisError as exc:
        state.flash("error", f"Could not start the run: {exc}")
    else:
        what = "Full re-run" if force else "Run"
        state.flash("success", f"{what} started in the background (worker pid {worker}).")


def confirm_force(ask: bool) -> None:
    st.session_state["run_confirm_force"] = ask


def fmt_counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def fmt_seconds(seconds: float | None) -> str:
    """Seconds for a table cell; a step or run without a duration yet reads "—" (a missing
    number in st.dataframe reads "None")."""
    return "—" if seconds is None or pd.isna(seconds) else f"{float(seconds):.2f}"


def controls(active: bool) -> None:
    cols = st.columns([1.2, 1.6, 2.4, 3], vertical_alignment="center")
    cols[0].button(
        "Run",
        icon=":material/play_arrow:",
        key="run_start",
        type="primary",
        disabled=active or not state.can("review"),
        on_click=start,
        args=(False,),
        width="stretch",
        help="Process what changed since the last run (cached steps are reused).",
    )
    cols[1].button(
        "Force re-run…",
        key="run_force",
        disabled=active or not state.can("review"),
        on_click=confirm_force,
        args=(True,),
        width="stretch",
        help="Recompute every step, ignoring the cache.",
    )
    cols[2].toggle(
        "Render the cut",
        disabled=active,
        help="Make the MP4 of the cut at the end of the run (a cut already rendered from the "
        "same scenes, narration and settings is reused).",
        **state.kept("run_render"),
    )
    if active:
        cols[3].markdown(":orange[**A run is going.**] It keeps going if you close this tab.")
    elif not reviewed:
        if st.session_state.get("run_render"):
            cols[3].markdown(
                ":orange[:material/info: **Renders every scene:**] nobody has reviewed the "
                "scenes yet."
            )
        else:
            cols[3].caption(
                "No render yet: nobody has reviewed the scenes. Review them on the Scenes page, "
                "then render here or on the Render page (or turn on Render the cut to render "
                "every scene now)."
            )
    if st.session_state["run_confirm_force"] and not active:
        with st.container(border=True):
            st.warning(
                "Force re-run recomputes every step (transcripts, scenes, captions, render) "
                "and ignores the cache. This can take a while."
            )
            c = st.columns([1.6, 1, 4])
            c[0].button(
                "Yes, re-run everything",
                key="run_force_confirm",
                type="primary",
                on_click=start,
                args=(True,),
                disabled=not state.can("review"),
            )
            c[1].button("Cancel", key="run_force_cancel", on_click=confirm_force, args=(False,))


def progress(s: RunState) -> None:
    run = s.run
    if s.starting or (s.running and (run is None or run.status != "running")):
        st.progress(0.0, text="Starting the worker…")
        return
    if run is None:
        st.info("This project has not been processed yet. Press **Run** to start.")
        return
    if run.status == "running" and not s.active:
        st.warning(
            f"Run #{run.id} stopped without finishing (its worker, pid {run.pid} on {run.host}, "
            "is gone). The next run marks it failed and picks up from the cache."
        )
        return
    if run.status == "running":
        prog = run.progress_json or {}
        step, note = prog.get("step") or "…", prog.get("note") or ""
        done, total = prog.get("done") or 0, prog.get("total") or 0
        counter = f" {min(1.0, done / total):.0%}" if total else ""
        first, span = int(prog.get("step_index", 0)) + 1, int(prog.get("span") or 1)
        which = f"steps {first}–{first + span - 1}" if span > 1 else f"step {first}"
        st.progress(
            run_fraction(run),
            text=f"Run #{run.id} · {which}/{prog.get('steps', '?')}: **{step}**{counter}"
            + (f" · {note}" if note else ""),
        )
    else:
        icon = RUN_ICONS.get(run.status, "•")
        ended = run.ended_at or run.started_at
        took = (ended - run.started_at).total_seconds()
        st.markdown(
            f"#### {icon} Run #{run.id} {run.status} · {ended:%Y-%m-%d %H:%M:%S} · "
            f"took {took:.1f} s"
        )
        if run.error:
            st.error(f"Run #{run.id} failed: {run.error}")


def checklist(steps: list[StepRow]) -> None:
    cols = st.columns(len(steps))
    for col, d in zip(cols, steps, strict=True):
        secs = f" · {d.duration_s:.1f} s" if d.duration_s is not None else ""
        cached = " · cached" if d.cache_hit else ""
        col.markdown(f"{ICONS.get(d.status, '•')} **{d.step}**")
        col.caption(f"{d.status}{secs}{cached}")


def step_table(steps: list[StepRow]) -> None:
    table = pd.DataFrame(
        [
            {
                "step": d.step,
                "status": d.status,
                "duration_s": fmt_seconds(d.duration_s),
                "cache_hit": d.cache_hit,
                "counts": fmt_counts(d.counts),
                "note": d.note or "",
                "error": d.error or "",
            }
            for d in steps
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "duration_s": st.column_config.TextColumn("duration (s)"),
            "cache_hit": st.column_config.CheckboxColumn("cache hit"),
            "counts": st.column_config.TextColumn("counts", width="medium"),
            "note": st.column_config.TextColumn("note", width="large"),
        },
    )


def device_panel(s: RunState) -> None:
    info = models_used(s.run)
    if not info.device:
        return
    st.markdown("##### Device and models")
    c = st.columns([1, 2, 2])
    name = info.device_name or info.device
    threads = f"{info.cpu_threads} CPU threads" if info.cpu_threads else None
    c[0].metric("Device", str(info.device).upper())
    c[0].caption(" · ".join(x for x in (name if name != info.device else None, threads) if x))
    if info.whisper_model:
        c[1].markdown(
            f"**Whisper** · `{info.whisper_model}`  \ncompute type "
            f"`{info.whisper_compute_type}`"
            + (" · :orange[fallback]" if info.whisper_fallback else "")
        )
        if info.whisper_note:
            c[1].caption(info.whisper_note)
    else:
        c[1].markdown(f"**Whisper** · compute type `{info.whisper_compute_type}`")
    if info.captions_skipped:
        c[2].markdown("**Captions** · :orange[skipped]")
        c[2].caption(info.captions_skipped)
    elif info.caption_model:
        c[2].markdown(f"**Captions** · `{info.caption_model}`  \ndtype `{info.caption_dtype}`")
    else:
        c[2].markdown(f"**Captions** · dtype `{info.caption_dtype}`")


initial = current()
# Render only when asked: before any reviewer decided anything, a run does not render (the cut
# would be every scene) unless the reviewer turns the toggle on. The default follows the project
# and whether it has reviews; a reviewer's own choice stands until either changes.
scenes = reads.scenes(pid)
reviewed = bool(not scenes.empty and scenes.reviewed.any())
state.show_saved({"run_render": reviewed}, saved_as=(pid, reviewed))


@st.fragment(run_every=1.0 if initial.active else None)
def live() -> None:
    s = initial if st.session_state.get("_run_full_pass") else current()
    st.session_state["_run_full_pass"] = False
    if s.active != initial.active:
        # A run started or ended: rerun the whole page so polling starts or stops.
        st.rerun(scope="app")
    state.show_flash()  # a message from a button in this fragment (full runs show it on top)
    controls(s.active)
    progress(s)
    steps = step_checklist(s.run)
    if s.run is not None:
        checklist(steps)
        with st.container():
            st.markdown("##### Steps")
            step_table(steps)
        device_panel(s)
    if s.log_tail and (s.active or (s.run is not None and s.run.status == "failed")):
        with st.expander("Worker log (last lines)"):
            st.code(s.log_tail[-1500:], language="text")


st.session_state["_run_full_pass"] = True
live()

with st.expander("Run history"):
    history = reads.runs(pid)
    if not history:
        st.caption("No runs yet.")
    else:
        rows = []
        for r in history:
            took = (r.ended_at - r.started_at).total_seconds() if r.ended_at else None
            rows.append(
                {
                    "run": r.id,
                    "status": r.status,
                    "started": r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "took (s)": fmt_seconds(took),
                    "forced": bool((r.options_json or {}).get("force")),
                    "device": (r.device_json or {}).get("device"),
                    "error": r.error or "",
                }
            )
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
