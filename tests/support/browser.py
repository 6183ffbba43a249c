"""What the browser tests share: Debian's chromium for Playwright (its own download fails
here), a free port for a server, the review app served by ``streamlit run``, a folder for
screenshots, and waiting for Streamlit to settle."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

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


@contextlib.contextmanager
def streamlit_server(
    env: Mapping[str, str], cwd: Path, log_path: Path, port: int | None = None
) -> Iterator[str]:
    """The review app under ``streamlit run`` on ``port`` (a free one), with ``env`` over this
    process's environment, run from ``cwd`` (its ``.streamlit`` folder is the app's config);
    yields its URL once it accepts connections, stops it after. Its output goes to
    ``log_path`` (shown when it does not start within a minute)."""
    port = port or free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app" / "streamlit_app.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    time.sleep(0.2)
            else:
                pytest.fail("streamlit did not start: " + log_path.read_text())
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


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
