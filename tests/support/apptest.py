"""Helpers for Streamlit AppTest-based tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The app's entry point (``AppTest.from_file``), from tests/support up to the repository.
APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"


def assert_no_exception(at: Any) -> None:
    """Fail with the page's exception messages if the script raised."""
    assert not at.exception, [e.value for e in at.exception]


def texts(at: Any) -> str:
    """Everything the page wrote as markdown, captions, alerts and titles, joined (for asserts)."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "success",
        "warning",
        "error",
        "text",
    ):
        for el in getattr(at, kind, []):
            parts.append(str(el.value))
    return "\n".join(parts)


def open_page(pid: int, page: str) -> Any:
    """A fresh AppTest of the app with project ``pid`` chosen, switched to ``page``
    (``views/<name>.py``) and run without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["project_id"] = pid
    at.run()
    at.switch_page(page)
    at.run()
    assert_no_exception(at)
    return at
