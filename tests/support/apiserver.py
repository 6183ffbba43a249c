"""A real `genesis api` server in a child process on a free port, for end-to-end tests and the
benchmark."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from support.procs import genesis_cmd, kill_hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def api_server(
    home: Path, env: dict[str, str] | None = None, timeout_s: float = 60.0
) -> Iterator[str]:
    """Start ``genesis api`` on ``home``; yields its base URL once it answers."""
    port = free_port()
    log = open(home / "api-server.log", "ab")  # noqa: SIM115  (kept open for the server's life)
    proc = subprocess.Popen(
        genesis_cmd(home, "api", "--port", str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"genesis api exited: {(home / 'api-server.log').read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("genesis api did not answer in time")
            time.sleep(0.2)
        yield url
    finally:
        kill_hard(proc)
        log.close()
