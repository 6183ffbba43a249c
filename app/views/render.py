"""Render: render the approved cut in the background with live progress, play and download the
latest render, and every past render with the settings it was made with; export the cut
(timelines, subtitles, chapters) and import an edited timeline back as approvals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from genesis_app import comments as comment_ui
from genesis_app import reads, state
from genesis_app.overrun_notice import overrun_notice
from genesis_pipeline.errors import GenesisError, RunInProgressError
from genesis_pipeline.runs.control import run_fraction, run_state, start_background_run
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.services.cut import scene_status_counts
from genesis_pipeline.services.exports import (
    EXPORT_FORMATS,
    ExportPreview,
    TimelineImport,
    export_file_name,
    import_timeline_file,
)
from genesis_pipeline.services.render_settings import (
    RENDER_MODES,
    RENDER_SUBTITLES,
    set_render_mode,
    set_render_subtitles,
)
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
        f"Made by: {_MODE_LABELS[entry.mode]} · sound {entry.sound}  \n"
        f"Subtitles: {_SUBTITLE_LABELS.get(entry.subtitles, entry.subtitles)}"
    )


_MODE_LABELS = {
    "smart": "smart render (copies what the cut leaves whole)",
    "reencode": "full re-encode",
}
_SUBTITLE_LABELS = {
    "off": "off",
    "soft": "soft track (viewers switch it on)",
    "burned": "burned into the picture",
}


def _save_subtitles(pid: int) -> None:
    try:
        set_render_subtitles(
            reads.store(), pid, st.session_state[f"render_subtitles_{pid}"], actor=state.actor()
        )
    except GenesisError as exc:
        state.flash("error", str(exc))
    reads.clear()


def _save_mode(pid: int) -> None:
    try:
        set_render_mode(
            reads.store(), pid, st.session_state[f"render_mode_{pid}"], actor=state.actor()
        )
    except GenesisError as exc:
        state.flash("error", str(exc))
    reads.clear()


st.title("Render")
state.show_flash()
pid = state.require_project(follow=False)  # polls on its own while a render goes
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
        st.success(
            "The latest render matches the approved cut, narration, mix, render mode and subtitles."
        )
    elif history:
        st.info(
            "The cut, narration, mix, render mode or subtitles changed since the latest render: "
            "render again."
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
state.show_saved({f"render_subtitles_{pid}": overview.subtitles})
st.radio(
    "Subtitles in the render",
    RENDER_SUBTITLES,
    format_func=_SUBTITLE_LABELS.get,
    **state.kept(f"render_subtitles_{pid}"),
    horizontal=True,
    on_change=_save_subtitles,
    args=(pid,),
    disabled=live.active,
    help="The cut's subtitles (the kept scenes' words and the narration's, on the cut's clock). "
    "A soft track is added without touching the pictures; players and editors can switch it "
    "on. Burned-in text is drawn into every picture, so the render is a full re-encode even "
    "in smart mode. Saved for the project.",
)
if overview.subtitles == "burned" and overview.mode == "smart":
    st.caption(
        ":material/info: Burned-in subtitles change every picture: this render will be a full "
        "re-encode, not a smart render."
    )
cols = st.columns([1.6, 5], vertical_alignment="center")
start = cols[0].button(
    "Render approved cut",
    key="render_start",
    type="primary",
    icon=":material/movie:",
    disabled=live.active or not state.can("review"),
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
            start_background_run(store, pid, RunOptions(), actor=state.actor())
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
def _history() -> None:
    st.subheader("Latest render")
    if not history:
        st.caption("No render yet.")
        return
    latest = history[0]
    left, right = st.columns([2.4, 1], gap="large")
    with left, st.container(key="render_latest_player"):
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
                    "subtitles": h.subtitles,
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


_history()
if overview.approved:
    comment_ui.render_strip(pid, reads.cut(pid), "render_latest_player")


# -- exports and the timeline import ------------------------------------------------------------
def _export_bytes(pid: int, fmt: str) -> Callable[[], bytes]:
    """The export, built (or taken from the exports cache) when its button is clicked."""

    def build() -> bytes:
        from genesis_pipeline.runs.exports import export_project  # Whisper for the narration

        return export_project(reads.store(), pid, fmt).text.encode("utf-8")

    return build


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def _downloads(pid: int, preview: ExportPreview) -> None:
    cols = st.columns(4)
    for i, (fmt, spec) in enumerate(EXPORT_FORMATS.items()):
        no_block = fmt == "chapters-youtube" and preview.youtube_block is None
        cols[i % 4].download_button(
            spec.short,
            data=_export_bytes(pid, fmt),
            file_name=export_file_name(preview.project_name, fmt),
            mime=spec.mime,
            key=f"export_{fmt}",
            icon=":material/download:",
            on_click="ignore",
            disabled=no_block,
            width="stretch",
            help="No merge of the chapters meets YouTube's rules" if no_block else spec.label,
        )


def _chapters_preview(preview: ExportPreview) -> None:
    st.markdown(f"**Chapters** · {len(preview.chapters)} on a {preview.duration_s:.1f} s cut")
    st.dataframe(
        pd.DataFrame(
            [
                {"start": _clock(c.start_s), "title": c.title, "length (s)": round(c.duration_s, 1)}
                for c in preview.chapters
            ]
        ),
        hide_index=True,
        width="stretch",
        key="export_chapters",
    )
    check = preview.youtube
    if check.valid:
        st.success("Meets YouTube's chapter rules: the YouTube download holds them as they are.")
    else:
        st.warning("YouTube will not show these chapters: " + "; ".join(check.problems) + ".")
        if check.merged is None:
            st.error(
                "No merge of them meets YouTube's rules (at least three chapters of 10 s, the "
                "first at 0:00): there is no YouTube block for this cut."
            )
        else:
            st.markdown(
                f"The nearest valid merge, {len(check.merged)} chapters, is what the YouTube "
                "download holds:"
            )
    if preview.youtube_block is not None:
        st.code(preview.youtube_block, language=None)


def _cues_preview(preview: ExportPreview) -> None:
    narration = (
        f", {preview.narration_words} of the narration's words" if preview.narration_words else ""
    )
    st.markdown(f"**Subtitles** · {preview.cue_count} cues{narration}")
    if not preview.cues:
        st.caption("No words are heard in the cut: the subtitle files are empty.")
        return
    st.code(preview.cues_srt, language=None, wrap_lines=True)
    st.caption(f"The first {len(preview.cues)} of {preview.cue_count} cues, on the cut's clock.")


def _import_report(report: TimelineImport) -> None:
    st.markdown(
        f"`{report.file}`: {report.clips} clips, {len(report.kept)} scenes kept"
        + (" · **nothing changed yet**" if not report.applied else "")
    )
    changes = [
        {"scene": c.scene_id, "becomes": "rejected", "clip": c.label} for c in report.reject
    ] + [{"scene": c.scene_id, "becomes": "approved", "clip": c.label} for c in report.approve]
    if changes:
        st.dataframe(
            pd.DataFrame(changes), hide_index=True, width="stretch", key="timeline_changes"
        )
    else:
        st.info("The timeline keeps exactly the approved scenes: no approval changes.")
    if report.unmapped:
        st.warning(
            f"{len(report.unmapped)} clips could not be mapped onto one scene; they change "
            "nothing:\n\n" + "\n".join(f"* {u.clip}: {u.reason}" for u in report.unmapped)
        )
    if report.reordered:
        st.info(
            "The timeline's clip order differs from the cut's: the import keeps the cut's "
            "order (change it on the Cut order page)."
        )


def _timeline_import(pid: int) -> None:
    st.markdown("**Import an edited timeline**")
    st.caption(
        "An `.otio` or `.fcpxml` (or `.xml`, `.edl`) exported above and edited in an NLE: clips "
        "kept become approved scenes, clips removed become rejected. You see the report first; "
        "nothing changes until you apply it."
    )
    upload = st.file_uploader(
        "Edited timeline",
        type=["otio", "fcpxml", "xml", "edl"],
        key=f"timeline_file_{st.session_state['timeline_nonce']}",
        disabled=not state.can("review"),
    )
    if upload is None:
        return
    store = reads.store()
    try:
        report = import_timeline_file(
            store, pid, upload.name, upload.getvalue(), actor=state.actor()
        )
    except GenesisError as exc:
        st.error(f"The timeline cannot be imported: {exc}")
        return
    _import_report(report)
    if not (report.reject or report.approve):
        return
    label = f"Apply: reject {len(report.reject)}, approve {len(report.approve)}"
    if st.button(
        label,
        key="timeline_apply",
        type="primary",
        icon=":material/check:",
        disabled=not state.can("review"),
    ):
        try:
            done = import_timeline_file(
                store, pid, upload.name, upload.getvalue(), apply=True, actor=state.actor()
            )
        except GenesisError as exc:
            st.error(f"The timeline could not be applied: {exc}")
            return
        state.flash(
            "success",
            f"Imported {done.file}: {len(done.reject)} scenes rejected, {len(done.approve)} "
            "approved. Render again to see the new cut.",
        )
        st.session_state["timeline_nonce"] += 1
        reads.clear()
        st.rerun()


with st.container(key="export_section", border=True):
    st.subheader("Export")
    ex = reads.export_state(pid)
    if ex.preview is None:
        st.info(f"Nothing to export: {ex.error}")
    else:
        st.caption(
            "The approved cut for editors and platforms: timelines that open in DaVinci "
            "Resolve (OTIO), Final Cut Pro (FCPXML), Premiere (FCP 7 XML) or any NLE (EDL), "
            "referencing the original media frame-exact; subtitles of the cut; chapters for "
            "YouTube and for web players."
        )
        _downloads(pid, ex.preview)
        left, right = st.columns(2, gap="large")
        with left:
            _chapters_preview(ex.preview)
        with right:
            _cues_preview(ex.preview)
    _timeline_import(pid)
