"""What the browser tests share: Debian's chromium for Playwright (its own download fails
here), a free port for a server, a folder for screenshots, and waiting for Streamlit to settle."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``GENESIS_SCREENSHOTS`` (to refresh the README's), or a temporary folder."""
    out = os.environ.get("GENESIS_SCREENSHOTS")
    d = Path(out) if out else tmp_path_factory.mktemp("screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def settle(pg, quiet_s: float = 1.0, timeout_s: float = 60.0) -> None:
    """Wait until Streamlit has finished the current script run: no running indicator and the
    page's text unchanged for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        running = pg.locator("[data-testid='stStatusWidget']").count() > 0
        text = pg.inner_text("body")
        if text != last or running:
            last, since = text, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        pg.wait_for_timeout(200)
