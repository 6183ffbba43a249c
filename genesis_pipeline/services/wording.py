"""Plain words for people: one duration format, counts with their plural, sizes, dates in
download names. Every page and message says a length, a count or a size through these."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date


def duration(seconds: float | None) -> str:
    """``m:ss.s`` (``h:mm:ss.s`` past an hour); ``—`` for no value. 59.96 s is ``1:00.0``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = round(max(0.0, float(seconds)), 1)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"{int(m)}:{s:04.1f}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 scene``, ``2 scenes``, ``1,200 files``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def size(n_bytes: int | float | None) -> str:
    """``812 KB``, ``3.4 MB``, ``1.2 GB`` (powers of 1000, as file managers show them)."""
    if n_bytes is None:
        return "—"
    value = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def download_name(project: str, what: str, ext: str, day: date | None = None) -> str:
    """A download's file name from the project and the date: ``Harbour shoot - cut -
    2026-12-01.mp4`` becomes ``harbour-shoot-cut-2026-12-01.mp4``."""
    text = unicodedata.normalize("NFKD", f"{project} {what}").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "genesis"
    return f"{slug[:80]}-{(day or date.today()).isoformat()}.{ext.lstrip('.')}"
