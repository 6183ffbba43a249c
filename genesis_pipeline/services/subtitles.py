"""SRT and WebVTT of a transcript: its segments, or the readable lines :func:`split_lines` makes
of them, written by the cut's subtitle writers (:mod:`genesis_pipeline.stages.exports.cues`),
words of uncertain timing marked the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from genesis_pipeline.stages.exports import cues as cue_writer


def _cues(segments: Iterable[Mapping[str, Any]]) -> list[cue_writer.Cue]:
    cues = []
    for seg in segments:
        text = str(seg["text"]).strip()
        start, end = float(seg["start"]), float(seg["end"])
        if not text or end <= start:
            continue
        unsure: list[int] = []
        pos = 0
        for w in seg.get("words", ()):  # a line's words: positions over its text's words
            n = len(str(w["word"]).strip().split(" "))
            if w.get("timing_uncertain"):
                unsure += range(pos, pos + n)
            pos += n
        cues.append(cue_writer.Cue(start, end, (text,), 0, tuple(unsure)))
    cues.sort(key=lambda c: (c.start_s, c.end_s, c.text))
    return cues


def to_srt(segments: Iterable[Mapping[str, Any]], *, mark_uncertain: bool = False) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times. With ``mark_uncertain``, the words (of
    lines from :func:`split_lines`) whose timing is uncertain are underlined."""
    return cue_writer.to_srt(_cues(segments), mark_uncertain=mark_uncertain)


def to_vtt(segments: Iterable[Mapping[str, Any]], *, mark_uncertain: bool = False) -> str:
    """WebVTT: ``WEBVTT`` header, ``HH:MM:SS.mmm`` times. With ``mark_uncertain``, the words (of
    lines from :func:`split_lines`) whose timing is uncertain are in ``<c.uncertain>`` spans."""
    return cue_writer.to_vtt(_cues(segments), mark_uncertain=mark_uncertain)


def transcript_subtitles(
    segments: Iterable[Mapping[str, Any]],
    words: Iterable[Mapping[str, Any]],
    fmt: str,
    *,
    mark_uncertain: bool = True,
) -> str:
    """One media file's transcript as ``srt`` or ``vtt``: its :func:`split_lines` as cues."""
    lines = split_lines(segments, words)
    write = to_srt if fmt == "srt" else to_vtt
    return write(lines, mark_uncertain=mark_uncertain)


_SENTENCE_END = (".", "?", "!", "…")


def split_lines(
    segments: Iterable[Mapping[str, Any]],
    words: Iterable[Mapping[str, Any]] = (),
    *,
    max_chars: int = 84,
    max_s: float = 7.0,
) -> list[dict[str, Any]]:
    """Cut transcript segments into readable lines (subtitle cues) at word boundaries.

    Whisper can return one segment for twenty seconds of speech; a line ends after a word that
    ends a sentence, or before a word that would make it longer than ``max_chars`` characters or
    ``max_s`` seconds. Words are matched to their segment by ``segment_idx`` (or ``segment``);
    a segment without word timings stays one line.

    Returns:
        Dicts in time order with ``index`` (0-based line number), ``segment`` (the segment's
        ``index``), ``start``, ``end``, ``text`` and ``words`` (the line's word dicts).
    """
    by_segment: dict[int, list[Mapping[str, Any]]] = {}
    for w in words:
        key = int(w.get("segment_idx", w.get("segment", 0)))
        by_segment.setdefault(key, []).append(w)
    lines: list[dict[str, Any]] = []

    def emit(seg_index: int, group: list[Mapping[str, Any]]) -> None:
        text = " ".join(str(w["word"]).strip() for w in group).strip()
        if text:
            start = float(group[0].get("start_s", group[0].get("start", 0.0)))
            end = float(group[-1].get("end_s", group[-1].get("end", start)))
            lines.append(
                {"segment": seg_index, "start": start, "end": end, "text": text, "words": group}
            )

    for seg in sorted(segments, key=lambda s: float(s["start"])):
        seg_index = int(seg.get("index", 0))
        seg_words = sorted(
            by_segment.get(seg_index, []), key=lambda w: float(w.get("start_s", w.get("start", 0)))
        )
        if not seg_words:
            text = str(seg["text"]).strip()
            if text:
                lines.append(
                    {
                        "segment": seg_index,
                        "start": float(seg["start"]),
                        "end": float(seg["end"]),
                        "text": text,
                        "words": [],
                    }
                )
            continue
        group: list[Mapping[str, Any]] = []
        for w in seg_words:
            token = str(w["word"]).strip()
            if group:
                first = float(group[0].get("start_s", group[0].get("start", 0.0)))
                end = float(w.get("end_s", w.get("end", 0.0)))
                chars = sum(len(str(g["word"]).strip()) + 1 for g in group) + len(token)
                if chars > max_chars or end - first > max_s:
                    emit(seg_index, group)
                    group = []
            group.append(w)
            if token.endswith(_SENTENCE_END):
                emit(seg_index, group)
                group = []
        if group:
            emit(seg_index, group)
    for i, line in enumerate(lines):
        line["index"] = i
    return lines
