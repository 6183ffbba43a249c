"""Safe on-disk names for user-supplied file names."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath

_MAX_LEN = 120
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def sanitize_filename(name: str, fallback: str = "media") -> str:
    """A name safe to create inside a directory: no path parts, no shell or control characters.

    Letters of any script are kept (NFC-normalised); everything else becomes ``_``. ``../x`` and
    absolute paths keep only their last part; a name that would be empty or hidden gets
    ``fallback``.
    """
    base = PurePath(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE.sub("_", base).strip("._ ")
    if not base:
        return fallback
    stem, dot, ext = base.rpartition(".")
    stem = stem.strip("._ ")
    if dot and stem and len(ext) <= 8:
        return stem[: _MAX_LEN - len(ext) - 1] + "." + ext.lower()
    return base[:_MAX_LEN]
