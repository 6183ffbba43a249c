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
