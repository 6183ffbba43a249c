"""Transcript: read each media file's transcript, spot weak words, search, jump the player.

Words are shaded by Whisper's word probability, and underlined (dotted) where their timing may
be well off; the search box filters lines and marks the
matches; ▶ on a line starts the player there. SRT and WebVTT come from
``services.subtitles`` for the file shown.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd
import streamlit as st

from genesis_app import player, reads, state
from genesis_pipeline.services.wording import download_name

# (lower bound, background, label): a word at or above the first bound is left unshaded.
LEVELS = (
    (0.85, None, "≥ 0.85 sure"),
    (0.60, "rgba(240, 165, 0, 0.28)", "0.60–0.85"),
    (0.40, "rgba(245, 110, 30, 0.50)", "0.40–0.60"),
    (0.00, "rgba(229, 72, 77, 0.65)", "< 0.40 doubtful"),
)
MARK = "background: rgba(80, 160, 255, 0.35); outline: 1px solid #5aa0ff; border-radius: 3px;"
# A word whose timing may be well off (the transcribe stage's timing_uncertain): do not cut on it
# without listening.
UNSURE_TIMING = "text-decoration: underline dotted;"
PAGE = 100  # lines per page: long interviews stay quick

st.title("Transcript")
state.show_flash()
pid = state.require_project()


def shade(probability: float) -> str | None:
    for bound, colour, _label in LEVELS:
        if probability >= bound:
            return colour
    return LEVELS[-1][1]


def timecode(seconds: float) -> str:
    seconds = round(max(0.0, float(seconds)), 1)  # 59.96 s is 1:00.0, not 0:60.0
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"{int(m)}:{s:04.1f}"


def match_spans(text: str, needle: str) -> list[tuple[int, int]]:
    if not needle:
        return []
    return [(m.start(), m.end()) for m in re.finditer(re.escape(needle), text, re.IGNORECASE)]


def line_html(text: str, words: list[dict[str, Any]], needle: str) -> str:
    """A line as HTML: each word shaded by its probability, words inside a match marked."""
    if not words:  # no word timings: shade nothing, mark the matches in the text
        out, last = [], 0
        for a, b in match_spans(text, needle):
            out += [
                html.escape(text[last:a]),
                f'<span style="{MARK}">{html.escape(text[a:b])}</span>',
            ]
            last = b
        return "".join(out) + html.escape(text[last:])
    tokens = [str(w["word"]).strip() for w in words]
    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    spans = match_spans(" ".join(tokens), needle)
    parts = []
    for token, start, w in zip(tokens, starts, words, strict=True):
        end = start + len(token)
        p = float(w["probability"])
        style = []
        colour = shade(p)
        if colour:
            style.append(f"background: {colour}; border-radius: 3px; padding: 0 2px;")
        if any(a < end and start < b for a, b in spans):
            style.append(MARK)
        if w.get("timing_uncertain"):
            style.append(UNSURE_TIMING)
        attr = f' style="{" ".join(style)}"' if style else ""
        parts.append(f'<span title="p = {p:.2f}"{attr}>{html.escape(token)}</span>')
    return " ".join(parts)


def seek(media_id: int, start: float) -> None:
    st.session_state["transcript_media"] = media_id
    st.session_state["transcript_seek"] = float(start)
    st.session_state["transcript_play"] = int(st.session_state.get("transcript_play") or 0) + 1


def pick_media() -> None:
    st.session_state["transcript_media"] = st.session_state["transcript_media_pick"]
    st.session_state["transcript_seek"] = 0.0
    st.session_state.pop("transcript_page_pick", None)


summary = reads.transcript_summary(pid)
if summary.empty:
    st.info("No media yet: add footage on the Upload page.")
    st.stop()

ids = [int(i) for i in summary.media_id]
info_by_id = {int(r["media_id"]): r for r in summary.to_dict("records")}
current = st.session_state.get("transcript_media")
if current not in ids:
    spoken = [i for i in ids if info_by_id[i]["words"] > 0]
    current = spoken[0] if spoken else ids[0]
    st.session_state["transcript_media"] = current
if st.session_state.get("transcript_media_pick") != current:
    st.session_state["transcript_media_pick"] = current


def label(i: int) -> str:
    r = info_by_id[i]
    if not r["transcribed"]:
        return f"{r['media_name']}  ·  not transcribed yet"
    return f"{r['media_name']}  ·  {r['words']} words"


top = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
media_id = int(
    top[0].selectbox(
        "Media file",
        ids,
        format_func=label,
        on_change=pick_media,
        **state.kept("transcript_media_pick"),
    )
)
info: dict[str, Any] = info_by_id[media_id]
lines = reads.transcript_lines(pid, media_id)
top[1].metric("Lines", len(lines))
top[2].metric("Words", int(info["words"]))
mean = info["mean_probability"]
top[3].metric("Mean word confidence", "—" if pd.isna(mean) else f"{mean:.2f}")
if info["transcribed"] and not info["has_audio"]:
    st.caption("Language **no audio** · this file has no sound to transcribe")
elif info["transcribed"] and info["model"]:
    lang = info["language"] or "unknown language"
    sure = info["language_probability"]
    if info["language"] and sure is not None and not pd.isna(sure):
        lang = f"{lang} ({sure:.0%} sure)"
    st.caption(f"Language **{lang}** · transcribed with `{info['model']}`")

left, right = st.columns([3, 2], gap="large")

with right, st.container(key="transcript_player"):
    start = float(st.session_state.get("transcript_seek") or 0.0)
    vtt = reads.subtitles(pid, media_id, "vtt") if len(lines) else None
    # Footage browsers cannot play is played from a small copy (or a message says why not).
    path = player.playable_path(media_id)
    if path is not None and info["has_video"]:
        st.video(path, start_time=int(start), subtitles={"Transcript": vtt} if vtt else None)
    elif path is not None:
        st.audio(path, start_time=int(start))
    press = st.session_state.get("transcript_play") or 0
    if press != st.session_state.get("transcript_played"):
        st.session_state["transcript_played"] = press
        if press and path is not None:
            player.play("transcript_player", start, press=press)
    st.caption(f"From **{timecode(start)}**. Press ▶ on a line to play from there.")
    project_name = next(
        (p.project.name for p in reads.projects() if p.project.id == pid), "genesis"
    )
    stem = info["media_name"].rsplit(".", 1)[0] or "media"
    d = st.columns(2)
    d[0].download_button(
        "SRT",
        icon=":material/download:",
        data=reads.subtitles(pid, media_id, "srt") if len(lines) else "",
        file_name=download_name(project_name, f"{stem} transcript", "srt"),
        mime="application/x-subrip",
        key=f"srt_{media_id}",
        disabled=not len(lines),
        on_click="ignore",
        width="stretch",
    )
    d[1].download_button(
        "WebVTT",
        icon=":material/download:",
        data=vtt or "",
        file_name=download_name(project_name, f"{stem} transcript", "vtt"),
        mime="text/vtt",
        key=f"vtt_{media_id}",
        disabled=not len(lines),
        on_click="ignore",
        width="stretch",
    )

with left:
    if not info["transcribed"]:
        st.info(
            f"**{info['media_name']}** has not been transcribed yet: process the project on the "
            "Run page."
        )
        st.stop()
    if not lines:
        why = (
            "has no audio track"
            if not info["has_audio"]
            else "has sound, but no speech was found in it"
        )
        st.info(f"**{info['media_name']}** {why}: there is no transcript to show.")
        st.stop()
    needle = st.text_input(
        "Search the transcript",
        placeholder="word or phrase",
        **state.kept("transcript_search"),
        on_change=lambda: st.session_state.pop("transcript_page_pick", None),
    ).strip()
    legend = " ".join(
        f'<span style="background: {c or "transparent"}; border-radius: 3px; padding: 0 4px;">'
        f"{html.escape(text)}</span>"
        for _b, c, text in LEVELS
    )
    legend += f' · <span style="{UNSURE_TIMING}">timing uncertain</span>'
    st.markdown(f"<small>Word confidence: {legend}</small>", unsafe_allow_html=True)
    shown = lines
    if needle:
        shown = [ln for ln in lines if needle.lower() in ln["text"].lower()]
        st.caption(f"{len(shown)} of {len(lines)} lines contain “{needle}”.")
    if not shown:
        st.warning(f"No line contains “{needle}”.")
    pages = max(1, -(-len(shown) // PAGE))
    page = 0
    if pages > 1:
        if int(st.session_state.get("transcript_page_pick", 1)) > pages:
            st.session_state["transcript_page_pick"] = 1
        picked = st.number_input(
            f"Page (of {pages})", 1, pages, **state.kept("transcript_page_pick")
        )
        page = int(picked) - 1
    for ln in shown[page * PAGE : (page + 1) * PAGE]:
        row = st.columns([0.7, 1.5, 8], vertical_alignment="top", gap="small")
        row[0].button(
            "",
            icon=":material/play_arrow:",
            key=f"seek_{media_id}_{ln['index']}",
            help=f"Play from {timecode(ln['start'])}",
            on_click=seek,
            args=(media_id, float(ln["start"])),
        )
        probs = [float(w["probability"]) for w in ln["words"]]
        conf = f" · {sum(probs) / len(probs):.2f}" if probs else ""
        row[1].caption(f"{timecode(ln['start'])}–{timecode(ln['end'])}{conf}")
        row[2].markdown(line_html(ln["text"], ln["words"], needle), unsafe_allow_html=True)
