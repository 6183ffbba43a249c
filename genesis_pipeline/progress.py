"""Progress reporting shared by every layer: one callback type and the one that ignores all."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]
"""``(done, total, note)``: the CLI draws a bar, the app an ``st.progress``."""


def no_progress(done: int, total: int, note: str) -> None:
    """A progress callback that ignores everything."""
