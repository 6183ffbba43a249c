"""Holding a Ray worker mid-stage at a gate, for fault tests that must act at a known moment
(no sleeps): a stage call wrapped by :func:`held` writes ``<gate>/started`` from inside its
worker, then waits until ``<gate>/release`` exists.

Run as a script, it is ``genesis`` with scene detection held (``python raygate.py GATE ARGS``):
the test waits for ``started``, does what it tests (stops the head), and the worker never
resumes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# How often a held worker looks for the release file.
POLL_S = 0.05


def held(real: Callable[..., Any], gate: Path) -> Callable[..., Any]:
    """``real`` (a stage call of ``genesis_pipeline.runs.executor.tasks``) held at ``gate``
    at its start, on whichever worker runs it."""

    def call(*args: Any, progress: Any) -> Any:
        (gate / "started").write_text("")
        while not (gate / "release").exists():
            time.sleep(POLL_S)
        return real(*args, progress=progress)

    return call


def wait_for(path: Path, proc: Any, timeout_s: float = 120.0) -> bool:
    """Whether ``path`` appeared before ``timeout_s`` (False at once if ``proc`` ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(POLL_S)
    return False


def main(argv: list[str]) -> int:
    import ray.cloudpickle

    from genesis_pipeline.cli import main as genesis
    from genesis_pipeline.runs.executor import tasks

    gate, args = Path(argv[0]), argv[1:]
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    tasks.detect_scenes_in = held(tasks.detect_scenes_in, gate)
    return genesis(args)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import support.raygate

    sys.exit(support.raygate.main(sys.argv[1:]))
