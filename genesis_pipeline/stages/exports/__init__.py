"""Exports of the approved cut, for NLEs and platforms: pure builders, one job per module.

``timeline`` (the OTIO timeline) <- ``formats`` (OTIO, FCP X XML, FCP 7 XML, EDL through the
OTIO adapters) | ``reimport`` (an edited timeline back onto scenes); ``chapters`` (YouTube's
rules, WebVTT chapters, MP4 chapter metadata); ``cues`` (subtitle cues of the cut, SRT and
WebVTT). Services gather the inputs from the store, cache each export on them and write it
atomically (``services/exports.py``).
"""

VERSION = 2
"""Bump when any export's output changes (part of every export's cache key)."""
