"""Every page launches against the fixture project without an exception."""

from __future__ import annotations

import pytest
from support.apptest import assert_no_exception

PAGES = [
    "views/projects.py",
    "views/upload.py",
    "views/run.py",
    "views/transcript.py",
    "views/scenes.py",
    "views/confidence.py",
    "views/chapters.py",
    "views/order.py",
    "views/narration.py",
    "views/render.py",
]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(make_app, page: str) -> None:
    at = make_app(page)
    assert_no_exception(at)
    assert at.title, f"{page} shows no title"
