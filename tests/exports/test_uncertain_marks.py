"""Words of uncertain timing marked in the subtitle files (SRT underlined, WebVTT a
``<c.uncertain>`` span with a NOTE), and the marked files still read by ffmpeg's subtitle
decoders as the same words."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from genesis_pipeline.media.ffmpeg import ffmpeg_exe
from genesis_pipeline.services.subtitles import split_lines, transcript_subtitles
from genesis_pipeline.stages.exports.cues import (
    VTT_NOTE,
    Block,
    Cue,
    layout_cues,
    one_at_a_time,
    retime_words,
    to_srt,
    to_vtt,
)

WORDS = [  # (text, start, end, timing uncertain) on the source's clock
    ("Rock", 10.0, 10.3, False),
    ("&", 10.35, 10.45, False),
    ("roll", 10.5, 10.8, True),
    ("is", 10.9, 11.0, False),
    ("here.", 11.1, 11.5, True),
    ("Second", 12.5, 12.9, False),
    ("cue", 13.0, 13.3, True),
]


def cues_of(words=WORDS) -> list[Cue]:
    cut = retime_words(words, [(10.0, 14.0, 0.0)])
    return layout_cues(cut, [Block(0.0, 4.0)])


def test_cues_keep_which_words_are_uncertain() -> None:
    cues = cues_of()
    assert [c.text for c in cues] == ["Rock & roll is here.", "Second cue"]
    assert [c.uncertain for c in cues] == [(2, 4), (1,)]
    assert cues[0].marked_lines("[", "]") == ("Rock & [roll] is [here.]",)


def test_srt_underlines_uncertain_words_and_plain_when_asked() -> None:
    cues = cues_of()
    marked = to_srt(cues, mark_uncertain=True)
    assert "Rock & <u>roll</u> is <u>here.</u>\n" in marked
    assert "Second <u>cue</u>\n" in marked
    plain = to_srt(cues)
    assert "<u>" not in plain and "Rock & roll is here." in plain
    assert re.sub(r"</?u>", "", marked) == plain


def test_vtt_spans_escapes_and_notes() -> None:
    cues = cues_of()
    marked = to_vtt(cues, mark_uncertain=True)
    assert marked.startswith(f"WEBVTT\n\n{VTT_NOTE}\n\n00:00:00.000 --> ")
    assert "Rock &amp; <c.uncertain>roll</c> is <c.uncertain>here.</c>\n" in marked
    plain = to_vtt(cues)
    assert "NOTE" not in plain and "<c." not in plain and "Rock &amp; roll is here." in plain
    # Nothing uncertain: no note either.
    sure = [(t, a, b, False) for t, a, b, _u in WORDS]
    assert "NOTE" not in to_vtt(cues_of(sure), mark_uncertain=True)


def test_marks_survive_one_cue_at_a_time() -> None:
    a = Cue(0.0, 2.0, ("one two",), 0, (1,))
    b = Cue(1.0, 3.0, ("three four", "five six"), 1, (0, 2, 3))
    out = one_at_a_time([a, b])
    assert [c.uncertain for c in out] == [(1,), (1, 2, 4, 5), (0, 2, 3)]
    # A run of uncertain words on one line is one span; a span never crosses lines.
    assert out[1].marked_lines("<", ">") == ("one <two>", "<three> four", "<five six>")


def _ffmpeg_text(path: Path) -> str:
    """The subtitle file read by ffmpeg's decoder and written as ASS: its dialogue lines."""
    out = path.with_suffix(".ass")
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(path), str(out)],
        check=True,
        capture_output=True,
    )
    lines = out.read_text().splitlines()
    return "\n".join(line.split(",", 9)[9] for line in lines if line.startswith("Dialogue:"))


def test_ffmpeg_reads_the_marked_files(tmp_path: Path) -> None:
    cues = cues_of()
    srt = tmp_path / "cut.srt"
    srt.write_text(to_srt(cues, mark_uncertain=True))
    read = _ffmpeg_text(srt)
    # SubRip's <u> is ASS's underline; the words are all there.
    assert r"Rock & {\u1}roll{\u0} is {\u1}here.{\u0}" in read, read
    assert r"Second {\u1}cue{\u0}" in read
    vtt = tmp_path / "cut.vtt"
    vtt.write_text(to_vtt(cues, mark_uncertain=True))
    read = _ffmpeg_text(vtt)
    # The class span and the NOTE are markup, not text: the cue reads as the words.
    assert read.splitlines() == ["Rock & roll is here.", "Second cue"], read


def test_transcript_subtitles_mark_uncertain_words() -> None:
    segments = [{"index": 0, "start": 0.0, "end": 2.0, "text": "Hello there. Bye now."}]
    words = [
        {"word": " Hello", "start_s": 0.0, "end_s": 0.4, "segment_idx": 0},
        {"word": " there.", "start_s": 0.5, "end_s": 0.9, "segment_idx": 0,
         "timing_uncertain": True},
        {"word": " Bye", "start_s": 1.2, "end_s": 1.5, "segment_idx": 0,
         "timing_uncertain": False},
        {"word": " now.", "start_s": 1.5, "end_s": 1.9, "segment_idx": 0,
         "timing_uncertain": True},
    ]  # fmt: skip
    srt = transcript_subtitles(segments, words, "srt")
    assert "1\n00:00:00,000 --> 00:00:00,900\nHello <u>there.</u>\n" in srt
    assert "2\n00:00:01,200 --> 00:00:01,900\nBye <u>now.</u>\n" in srt
    vtt = transcript_subtitles(segments, words, "vtt", mark_uncertain=False)
    assert "<c." not in vtt and "Hello there." in vtt
    # A segment without word timings is one cue with nothing marked.
    lines = split_lines(segments, [])
    assert transcript_subtitles(segments, [], "vtt").count("-->") == len(lines) == 1
