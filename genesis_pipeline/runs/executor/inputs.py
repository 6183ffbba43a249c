"""Where a worker turns an input locator into a local file: the one seam between the executor
and storage.

A locator is what the host hands a worker for an input (a media file, a preview, a voiceover):
today an absolute path on a disk the worker shares with the host. Storage that lives elsewhere
(an object store) plugs in here, e.g. a read-through cache that fetches the object and returns
its local copy.
"""

from __future__ import annotations

from pathlib import Path


def local_input(locator: str) -> Path:
    """A local path holding the input ``locator`` names (today: the path itself)."""
    return Path(locator)
