"""Wall time and peak memory of a command run in a fresh process.

Peak memory is the larger of two readings: the resident set of the whole process tree, sampled
every 20 ms with psutil (catches the sum of a Python process and the ffmpeg it starts), and the
child's own ``ru_maxrss`` from ``wait4`` (exact for the largest single process, however short its
peak). A worker may print one JSON document as the last line of its stdout; it is returned.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_POLL_S = 0.02

Arg = str | os.PathLike[str]  # one word of a measured command line


class CommandFailed(RuntimeError):
    """A measured command exited non-zero."""


@dataclass(slots=True)
class Sample:
    """One measured run."""

    wall_s: float
    peak_rss_mb: float
    data: dict[str, Any] = field(default_factory=dict)
    cpu_s: float = 0.0  # user + system time of the process and the children it waited for


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(
    cmd: Sequence[Arg],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 3600.0,
) -> Sample:
    """Run ``cmd`` to completion; its wall time, peak tree RSS and trailing JSON line.

    Raises:
        CommandFailed: the command exited non-zero (the message carries its stderr tail).
    """
    import psutil

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [os.fspath(c) for c in cmd], stdout=out, stderr=err, env=env, cwd=cwd
        )
        peak = 0
        done = threading.Event()

        def poll() -> None:
            nonlocal peak
            try:
                ps = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not done.is_set():
                peak = max(peak, _tree_rss(ps))
                done.wait(_POLL_S)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        killer = threading.Timer(timeout_s, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        done.set()
        watcher.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak = max(peak, usage.ru_maxrss * 1024)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = " | ".join(stderr.strip().splitlines()[-8:])
        raise CommandFailed(f"{' '.join(map(str, cmd))[:200]} exited {proc.returncode}: {tail}")
    return Sample(
        wall_s=wall,
        peak_rss_mb=peak / 2**20,
        data=_json_tail(stdout),
        cpu_s=usage.ru_utime + usage.ru_stime,
    )


def _json_tail(stdout: str) -> dict[str, Any]:
    """The whole stdout as one JSON object, else its last line, else its last lines as text."""
    lines = [ln for ln in stdout.strip().splitlines() if ln.strip()]
    for candidate in (stdout, lines[-1] if lines else ""):
        try:
            parsed = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            return parsed
    # Not every command speaks JSON (ffmpeg, the scenedetect CLI); the text is kept.
    return {"stdout_tail": lines[-3:]} if lines else {}


@dataclass(slots=True)
class Series:
    """Several runs of one measurement; figures are medians."""

    name: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, key: str = "wall_s") -> float | None:
        values = [self._value(s, key) for s in self.samples]
        clean = [v for v in values if v is not None]
        return statistics.median(clean) if clean else None

    def spread(self, key: str = "wall_s") -> tuple[float, float] | None:
        values = [v for v in (self._value(s, key) for s in self.samples) if v is not None]
        return (min(values), max(values)) if values else None

    @staticmethod
    def _value(s: Sample, key: str) -> float | None:
        if key == "wall_s":
            return s.wall_s
        if key == "peak_rss_mb":
            return s.peak_rss_mb
        if key == "cpu_s":
            return s.cpu_s
        v = s.data.get(key)
        return float(v) if isinstance(v, int | float) else None

    @property
    def peak_rss_mb(self) -> float | None:
        values = [s.peak_rss_mb for s in self.samples]
        return max(values) if values else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "runs": len(self.samples),
            "wall_s": [round(s.wall_s, 4) for s in self.samples],
            "median_wall_s": _round(self.median()),
            "cpu_s": [round(s.cpu_s, 4) for s in self.samples],
            "peak_rss_mb": _round(self.peak_rss_mb),
            "peak_rss_mb_runs": [round(s.peak_rss_mb, 1) for s in self.samples],
            "data": [s.data for s in self.samples],
        }


def _round(v: float | None, nd: int = 4) -> float | None:
    return None if v is None else round(v, nd)
