"""Transcript page (AppTest on the fixture project) and the subtitles behind its downloads."""

from __future__ import annotations

import re

import pytest
from support.apptest import assert_no_exception, texts

from genesis_pipeline.media.synth import DEFAULT_SCRIPT
from genesis_pipeline.services.queries import transcript_summary, transcript_tables
from genesis_pipeline.services.subtitles import split_lines, to_srt, to_vtt

SPAN = re.compile(r'<span title="p = ([0-9.]+)"(?: style="([^"]*)")?>([^<]*)</span>')


# -- subtitles: exact output ----------------------------------------------------------------------
SEGMENTS = [
    {"index": 1, "start": 3661.0, "end": 3662.5, "text": "Past the hour"},
    {"index": 0, "start": 0.5, "end": 3.25, "text": " Hello there. "},
    {"index": 2, "start": 5.0, "end": 5.0, "text": "zero length is dropped"},
    {"index": 3, "start": 6.0, "end": 7.0, "text": "   "},
]


def test_srt_exact() -> None:
    assert to_srt(SEGMENTS) == (
        "1\n00:00:00,500 --> 00:00:03,250\nHello there.\n\n"
        "2\n01:01:01,000 --> 01:01:02,500\nPast the hour\n"
    )


def test_vtt_exact() -> None:
    assert to_vtt(SEGMENTS) == (
        "WEBVTT\n\n"
        "00:00:00.500 --> 00:00:03.250\nHello there.\n\n"
        "01:01:01.000 --> 01:01:02.500\nPast the hour\n"
    )


def _w(word: str, start: float, end: float, seg: int = 0, p: float = 0.9) -> dict:
    return {"word": word, "start_s": start, "end_s": end, "probability": p, "segment_idx": seg}


def test_split_lines_at_sentences_length_and_duration() -> None:
    seg = {"index": 0, "start": 0.0, "end": 12.0, "text": "x"}
    words = [
        _w(" One", 0.0, 0.4),
        _w(" two.", 0.5, 1.0),
        _w(" Three", 1.2, 1.6),
        _w(" four?", 1.7, 2.0),
        *[_w(" la", 2.0 + 0.5 * i, 2.4 + 0.5 * i) for i in range(20)],  # 10 s, no full stop
    ]
    lines = split_lines([seg], words, max_chars=84, max_s=4.0)
    assert [ln["text"] for ln in lines[:2]] == ["One two.", "Three four?"]
    assert (lines[0]["start"], lines[0]["end"]) == (0.0, 1.0)
    assert (lines[1]["start"], lines[1]["end"]) == (1.2, 2.0)
    rest = lines[2:]
    assert sum(len(ln["words"]) for ln in rest) == 20
    assert all(ln["end"] - ln["start"] <= 4.0 for ln in rest)
    assert [ln["index"] for ln in lines] == list(range(len(lines)))
    # Character limit: 30 five-letter words (~180 characters) become lines of at most 84.
    long = split_lines([seg], [_w(" abcde", i * 0.1, i * 0.1 + 0.05) for i in range(30)])
    assert len(long) == 3 and all(len(ln["text"]) <= 84 for ln in long)
    # A segment without word timings stays one line.
    assert split_lines([{"index": 5, "start": 1.0, "end": 2.0, "text": " Plain. Text."}]) == [
        {"segment": 5, "start": 1.0, "end": 2.0, "text": "Plain. Text.", "words": [], "index": 0}
    ]


# -- the page ---------------------------------------------------------------------------------
@pytest.fixture()
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What the page hands to download buttons, by media-file id (the url's last part)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            seen[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    return seen


def _lines(store, pid: int, media_id: int) -> list[dict]:
    segments, words = transcript_tables(store, pid)
    return split_lines(
        segments[segments.media_id == media_id].to_dict("records"),
        words[words.media_id == media_id].to_dict("records"),
    )


def _seek_buttons(at) -> list:
    return [b for b in at.button if b.key and b.key.startswith("seek_")]


def _play_scripts(at) -> list[str]:
    """The scripts that seek the player and start it (st.html with JavaScript)."""
    return [h.proto.body for h in at.get("html") if "transcript_player" in h.proto.body]


def timecode(seconds: float) -> str:
    m, s = divmod(round(seconds, 1), 60)
    return f"{int(m)}:{s:04.1f}"


def _line_html(at) -> list[str]:
    return [m.value for m in at.markdown if '<span title="p = ' in m.value]


def test_transcript_page(make_app, app_project, downloads) -> None:
    store, pid = app_project
    summary = transcript_summary(store, pid)
    spoken = summary[summary.words > 0].iloc[0]
    lines = _lines(store, pid, int(spoken.media_id))
    assert len(lines) >= 3  # one 19 s segment is cut into sentences

    at = make_app("views/transcript.py")
    assert_no_exception(at)
    assert at.selectbox(key="transcript_media_pick").value == spoken.media_id
    html = _line_html(at)
    assert len(html) == len(lines) == len(_seek_buttons(at))

    # What is shown is what was said: most of the script's words are on the page.
    shown = [w.lower().strip(".,?!") for h in html for _p, _s, w in SPAN.findall(h)]
    said = [w.lower().strip(".,?!") for w in DEFAULT_SCRIPT.split()]
    recall = sum(w in set(shown) for w in said) / len(said)
    assert recall >= 0.7, recall
    # Every word is shaded by its probability: doubtful words red, sure words unshaded.
    spans = [(float(p), style) for h in html for p, style, _w in SPAN.findall(h)]
    assert len(spans) == spoken.words
    for p, style in spans:
        assert ("229, 72, 77" in style) == (p < 0.4)
        assert ("background" in style) == (p < 0.85)
    assert "Word confidence" in texts(at)
    # Words whose timing may be off are underlined, as stored.
    unsure = sum(bool(w.get("timing_uncertain")) for ln in lines for w in ln["words"])
    assert 0 < unsure == sum("underline dotted" in style for _p, style in spans)

    # Search filters lines and marks the matches.
    at.text_input(key="transcript_search").set_value("scenes")
    at.run()
    expected = [ln for ln in lines if "scenes" in ln["text"].lower()]
    assert expected and len(_seek_buttons(at)) == len(expected) < len(lines)
    for h in _line_html(at):
        marked = [w for _p, style, w in SPAN.findall(h) if "outline" in style]
        assert marked and all("scenes" in w.lower() for w in marked)
    at.text_input(key="transcript_search").set_value("no such phrase")
    at.run()
    assert not _seek_buttons(at) and "No line contains" in texts(at)
    at.text_input(key="transcript_search").set_value("")
    at.run()

    # ▶ on the third line seeks the player to the line's first word and plays it, once.
    assert not _play_scripts(at)  # nothing plays by itself
    target = lines[2]
    assert target["start"] != int(target["start"])  # a fractional time, as words have
    at.button(key=f"seek_{int(spoken.media_id)}_2").click()
    at.run()
    assert_no_exception(at)
    assert at.session_state["transcript_seek"] == pytest.approx(target["start"])
    video = at.get("video")[0].proto
    assert video.start_time == int(target["start"]) > 0  # what st.video can carry
    (script,) = _play_scripts(at)
    assert f"const start = {target['start']:.4f}, end = null," in script and ".play()" in script
    assert f"From **{timecode(target['start'])}**" in texts(at)
    at.run()  # any later rerun (a search, say) leaves the player alone
    assert not _play_scripts(at)
    at.button(key=f"seek_{int(spoken.media_id)}_2").click()  # the same line again plays again
    at.run()
    assert len(_play_scripts(at)) == 1

    # Downloads carry the transcript's lines as SRT and WebVTT.
    buttons = {b.key: b for b in at.download_button}
    mid = int(spoken.media_id)
    srt = downloads[buttons[f"srt_{mid}"].proto.url.rsplit("/", 1)[-1].split(".")[0]].decode()
    vtt = downloads[buttons[f"vtt_{mid}"].proto.url.rsplit("/", 1)[-1].split(".")[0]].decode()
    assert srt == to_srt(lines, mark_uncertain=True) and vtt == to_vtt(lines, mark_uncertain=True)
    assert srt.count(" --> ") == len(lines) and vtt.startswith("WEBVTT\n\n")
    assert lines[0]["text"] in srt.replace("<u>", "").replace("</u>", "")
    assert "<u>" in srt and "<c.uncertain>" in vtt  # the page marks uncertain timings


def test_media_without_speech(make_app, app_project) -> None:
    store, pid = app_project
    summary = transcript_summary(store, pid)
    silent = summary[~summary.has_audio].iloc[0]
    at = make_app("views/transcript.py")
    at.selectbox(key="transcript_media_pick").set_value(int(silent.media_id))
    at.run()
    assert_no_exception(at)
    assert "has no audio track" in texts(at)
    assert "Language **no audio**" in texts(at)
    assert "unknown language" not in texts(at) and "% sure" not in texts(at)
    assert not _seek_buttons(at)
    assert all(b.proto.disabled for b in at.download_button)
    assert at.session_state["transcript_seek"] == 0.0
