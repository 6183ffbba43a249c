"""SRT and WebVTT from transcript segments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(segments: Iterable[Mapping[str, Any]]) -> list[tuple[float, float, str]]:
    cues = []
    for seg in segments:
        text = str(seg["text"]).strip()
        start, end = float(seg["start"]), float(seg["end"])
        if text and end > start:
            cues.append((start, end, text))
    cues.sort()
    return cues


def to_srt(segments: Iterable[Mapping[str, Any]]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times."""
    out = []
    for n, (start, end, text) in enumerate(_cues(segments), 1):
        out.append(f"{n}\n{_stamp(start, ',')} --> {_stamp(end, ',')}\n{text}\n")
    return "\n".join(out)


def to_vtt(segments: Iterable[Mapping[str, Any]]) -> str:
    """WebVTT: ``WEBVTT`` header, ``HH:MM:SS.mmm`` times."""
    body = [
        f"{_stamp(start, '.')} --> {_stamp(end, '.')}\n{text}\n"
        for start, end, text in _cues(segments)
    ]
    return "WEBVTT\n\n" + "\n".join(body)


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
