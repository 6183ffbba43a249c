"""Upload: add footage to the project through the upload service, or import it from a folder.

Streamlit holds browser uploads in server memory, so each file is written to its upload ticket's
location in chunks at once, finalized (probed, deduplicated, registered; with S3 storage
uploaded to the bucket), and the uploader is cleared by rotating its key, which releases the
bytes from the session. With S3 storage, big footage goes straight to the bucket: the "direct
upload" panel issues a presigned URL (and the one-line command that uses it), then finalizes;
objects already in S3 are registered in place from a prefix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from genesis_app import reads, state
from genesis_pipeline.errors import GenesisError, InvalidMediaError
from genesis_pipeline.services.documents import media_doc
from genesis_pipeline.services.upload import (
    AddedMedia,
    UploadTarget,
    create_upload,
    finalize_upload,
    import_from_folder,
    import_from_s3,
    importable_files,
    importable_objects,
    upload_target,
    write_upload,
)

FORMATS = "MP4, MOV, MKV, WebM, AVI, MXF, MTS; audio: WAV, MP3, M4A, AAC, FLAC, Ogg, Opus"

st.title("Upload")
state.show_flash()
pid = state.require_project(follow=False)  # polls on its own while a run goes
if not state.can("manage"):
    st.info(
        f"Adding and removing footage is an admin's; you are signed in as {state.actor().role}.",
        icon=":material/lock:",
    )
    st.stop()
st.session_state.setdefault("upload_nonce", 0)
st.session_state.setdefault("import_nonce", 0)
st.session_state.setdefault("upload_results", None)
st.session_state.setdefault("direct_upload", None)
st.session_state.setdefault("s3_candidates", None)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one file of a batch: added (``media``: its probe facts as a table row's
    source), already in the project (``duplicate``), or refused (``reason``)."""

    name: str
    ok: bool
    duplicate: bool = False
    media: dict[str, Any] | None = None
    reason: str = ""


def outcome(name: str, added: AddedMedia | None = None, error: Exception | None = None) -> Outcome:
    if added is None:
        # The message names the file; say it once when it is the file this row is about.
        if isinstance(error, InvalidMediaError) and error.path == name:
            return Outcome(name, False, reason=error.reason)
        return Outcome(name, False, reason=str(error))
    return Outcome(name, True, added.duplicate, dataclasses.asdict(media_doc(added.media)))


def save_uploads(project_id: int, files: Iterable[Any]) -> list[Outcome]:
    """Write each uploaded file to its ticket's location in chunks, then finalize it.

    One bad file does not stop the others; its reason is kept for the page to show.
    """
    store = reads.store()
    results = []
    for f in files:
        try:
            ticket = create_upload(store, project_id, f.name, actor=state.actor())
            f.seek(0)
            write_upload(store, ticket, f)
            added = finalize_upload(store, ticket.upload_id, ticket.token, actor=state.actor())
        except GenesisError as exc:
            results.append(outcome(f.name, error=exc))
        except OSError as exc:
            results.append(outcome(f.name, error=OSError(f"{f.name}: could not be saved ({exc})")))
        else:
            results.append(outcome(f.name, added))
        finally:
            release(f)
    return results


def release(f: Any) -> None:
    """Drop an uploaded file's bytes from server memory as soon as they are on disk.

    Streamlit's in-memory upload manager keeps every file of a session until the session ends;
    ``st.chat_input`` frees its files the same way once it has read them.
    """
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    f.close()
    ctx = get_script_run_ctx()
    if ctx is not None and isinstance(ctx.uploaded_file_mgr, MemoryUploadedFileManager):
        ctx.uploaded_file_mgr.remove_file(session_id=ctx.session_id, file_id=f.file_id)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return "—"
    h, rem = divmod(round(float(seconds), 1), 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"{int(m)}:{s:04.1f}"


def describe(media: dict[str, Any]) -> dict[str, Any]:
    """One row of what was probed, for a media file's fields (a ``MediaDoc`` or a row of the
    media table)."""
    # Rows from a DataFrame carry NaN where the store has NULL.
    m = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in media.items()}
    video = bool(m.get("has_video"))
    return {
        "file": m["original_name"],
        "duration": fmt_duration(m.get("duration_s")),
        "resolution": f"{m['width']}×{m['height']}" if video and m.get("width") else "audio only",
        "fps": f"{m['fps']:.3g}" if video and m.get("fps") else "—",
        "VFR": ("yes" if m.get("is_vfr") else "no") if video else "—",
        "rotation": f"{int(m.get('rotation') or 0)}°" if video else "—",
        "audio": "yes" if m.get("has_audio") else "no",
        "codecs": " / ".join(c for c in (m.get("video_codec"), m.get("audio_codec")) if c) or "—",
        "size": f"{(m.get('size_bytes') or 0) / 1e6:,.1f} MB",
    }


def show_results(results: list[Outcome]) -> None:
    accepted = [r for r in results if r.ok]
    rejected = [r for r in results if not r.ok]
    with st.container(border=True):
        head = st.columns([5, 1], vertical_alignment="center")
        new = sum(not r.duplicate for r in accepted)
        head[0].markdown(
            f"**Last batch:** {new} added, {len(accepted) - new} already in the project, "
            f"{len(rejected)} rejected"
        )
        if head[1].button("Dismiss", key="upload_results_clear", width="stretch"):
            st.session_state["upload_results"] = None
            st.rerun()
        if accepted:
            rows = [
                {"status": "duplicate" if r.duplicate else "new", **describe(r.media or {})}
                for r in accepted
            ]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        for r in rejected:
            st.error(f"**{r.name}** was not added: {r.reason}")


# -- browser upload -------------------------------------------------------------------------------
st.subheader("Upload files")
files = st.file_uploader(
    "Drop footage here (several files at once)",
    accept_multiple_files=True,
    key=f"uploader_{st.session_state['upload_nonce']}",
    help=f"Video or audio up to 2 GB each ({FORMATS}). Larger footage: import from a folder.",
)
if files:
    with st.spinner(f"Saving and checking {len(files)} file(s)…"):
        results = save_uploads(pid, files)
    reads.prepare_playback(pid)  # playable copies of footage browsers cannot play, meanwhile
    st.session_state["upload_results"] = results
    st.session_state["upload_nonce"] += 1  # a new, empty uploader replaces the old one
    st.rerun()

if st.session_state["upload_results"]:
    show_results(st.session_state["upload_results"])

# -- direct upload to S3 --------------------------------------------------------------------------
store = reads.store()


def direct_upload_panel(project_id: int) -> None:
    """Big footage straight to the bucket: a presigned URL, the command, then Finalize."""
    st.subheader("Direct upload to S3")
    target: UploadTarget | None = st.session_state["direct_upload"]
    if target is None:
        st.caption(
            "For footage too big for the browser: get a presigned upload URL, upload with the "
            "command shown (from any machine), then finalize here. The URL expires with the "
            f"ticket ({store.settings.upload_ttl_s // 60} minutes)."
        )
        cols = st.columns([3, 2, 1], vertical_alignment="bottom")
        name = cols[0].text_input("File name", key="direct_name", placeholder="day1-cam-a.mp4")
        size = cols[1].number_input(
            f"Size in bytes (optional: multipart over {store.settings.s3_multipart_mb} MB)",
            min_value=0,
            value=0,
            step=1,
            key="direct_size",
        )
        if cols[2].button("Get upload URL", key="direct_create", disabled=not name):
            try:
                ticket = create_upload(
                    store, project_id, name, size_bytes=int(size) or None, actor=state.actor()
                )
            except GenesisError as exc:
                st.error(str(exc))
            else:
                st.session_state["direct_upload"] = upload_target(store, ticket)
                st.rerun()
        return
    st.markdown(f"**{target.filename}** · ticket expires {target.expires_at.replace('T', ' ')}")
    if target.url:
        st.text_input("Presigned PUT URL", target.url, key="direct_url", disabled=True)
    elif target.parts:
        st.caption(f"{len(target.parts)} parts: PUT each byte range to its URL, in any order.")
    st.code("\n".join(target.commands), language="bash", wrap_lines=True)
    cols = st.columns([1, 1, 4])
    if cols[0].button("Finalize", key="direct_finalize", type="primary"):
        with st.spinner(f"Checking {target.filename}…"):
            try:
                added = finalize_upload(store, target.upload_id, target.token, actor=state.actor())
            except GenesisError as exc:
                results = [outcome(target.filename, error=exc)]
            else:
                results = [outcome(target.filename, added)]
                reads.prepare_playback(project_id)
        st.session_state["upload_results"] = results
        st.session_state["direct_upload"] = None
        st.rerun()
    if cols[1].button("Cancel", key="direct_cancel"):
        st.session_state["direct_upload"] = None
        st.rerun()


def keep_results(
    project_id: int, chosen: list[str], register: Callable[[], list[AddedMedia]]
) -> None:
    """Register files or objects imported in place (``register``: the import service) and keep
    one result per file for the page; playable copies are prepared for what was added.

    The import services check every file before registering any: on an error nothing was added,
    and the one result names the files chosen."""
    try:
        added = register()
    except GenesisError as exc:
        results = [outcome(", ".join(chosen), error=exc)]
    else:
        results = [outcome(a.media.original_name, a) for a in added]
        reads.prepare_playback(project_id)
    st.session_state["upload_results"] = results


def s3_import_panel(project_id: int) -> None:
    """Objects already in S3, registered in place (rows keep their s3:// URIs)."""
    st.subheader("Import from an S3 prefix")
    st.caption("Objects under the prefix are registered in place (not copied); keep them there.")
    cols = st.columns([5, 1], vertical_alignment="bottom")
    prefix = cols[0].text_input("Prefix", key="s3_prefix", placeholder="s3://bucket/footage/day1")
    if cols[1].button("List", key="s3_list", disabled=not prefix):
        try:
            st.session_state["s3_candidates"] = importable_objects(store, prefix)
        except GenesisError as exc:
            st.warning(str(exc))
            st.session_state["s3_candidates"] = None
    candidates: list[str] | None = st.session_state["s3_candidates"]
    if candidates is None:
        return
    if not candidates:
        st.info("No media objects under that prefix.")
        return
    cols = st.columns([5, 1], vertical_alignment="bottom")
    chosen = cols[0].multiselect(
        "Objects to import", candidates, key="s3_chosen", placeholder="Pick one or more"
    )
    if cols[1].button("Import", key="s3_import", type="primary", disabled=not chosen):
        with st.spinner(f"Checking {len(chosen)} object(s)…"):
            keep_results(
                project_id,
                chosen,
                lambda: import_from_s3(store, project_id, chosen, actor=state.actor()),
            )
        st.session_state["s3_candidates"] = None
        st.rerun()


if store.remote:
    direct_upload_panel(pid)
    s3_import_panel(pid)

# -- import from folder ---------------------------------------------------------------------------
st.subheader("Import from folder")
if store.settings.import_dir is None:
    st.info(
        "For footage too large for the browser, set **GENESIS_IMPORT_DIR** to a folder on this "
        "machine and restart the app: its files can then be registered in place, without a copy."
    )
else:
    try:
        candidates = [str(p) for p in importable_files(store)]
    except GenesisError as exc:
        st.warning(str(exc))
        candidates = []
    st.caption(
        f"Files under `{store.settings.import_dir}` are registered in place (not copied); "
        "keep them there while the project uses them."
    )
    if not candidates and store.settings.import_dir.is_dir():
        st.info("No media files in the import folder yet.")
    elif candidates:
        cols = st.columns([5, 1], vertical_alignment="bottom")
        chosen = cols[0].multiselect(
            "Files to import",
            candidates,
            placeholder="Pick one or more files",
            **state.kept(f"import_files_{st.session_state['import_nonce']}"),
        )
        if cols[1].button("Import", key="import_button", type="primary", disabled=not chosen):
            # Under Ray with S3 the files are copied into the bucket: the bar says how far.
            bar = st.progress(0.0, text=f"Checking {len(chosen)} file(s)…")

            def note(done: int, total: int, what: str) -> None:
                bar.progress(min(done / max(total, 1), 1.0), text=what)

            keep_results(
                pid,
                chosen,
                lambda: import_from_folder(store, pid, chosen, note, actor=state.actor()),
            )
            bar.empty()
            st.session_state["import_nonce"] += 1
            st.rerun()

# -- the project's media --------------------------------------------------------------------------
st.subheader("Media in this project")
media = reads.media(pid)
if media.empty:
    st.info("No media yet: upload or import footage above, then process it on the Run page.")
else:
    m = st.columns(3)
    m[0].metric("Files", len(media))
    m[1].metric("Total length", fmt_duration(media.duration_s.sum()))
    m[2].metric("Total size", f"{media.size_bytes.sum() / 1e6:,.1f} MB")
    rows = [
        {
            "#": int(r["position"]) + 1,
            **describe(r),
            "source": "imported" if r["imported"] else "uploaded",
        }
        for r in media.to_dict("records")
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
