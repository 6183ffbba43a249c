"""Pipeline stages: pure functions of their inputs and a frozen ``Params`` dataclass.

Contract (see ARCHITECTURE.md): a stage never opens the database, never reads settings and
never calls another stage. Each module exposes ``VERSION`` (bump when its output changes), its
``Params`` dataclass, a ``run``-style function taking a :data:`Progress` callback, and result
dataclasses with ``to_json``/``from_json`` so the stage cache can store them.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]
"""``(done, total, note)``: the CLI draws a bar, the app an ``st.progress``."""


def no_progress(done: int, total: int, note: str) -> None:
    """A progress callback that ignores everything."""
