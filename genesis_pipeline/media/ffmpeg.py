"""Finding and running ffmpeg.

The system's ffmpeg is used when one is on PATH, else the static build shipped in the
``imageio-ffmpeg`` wheel. Arguments are always passed as a list (never through a shell).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import MediaToolError, ToolNotFoundError

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], None]

_TIME_RE = re.compile(r"^out_time_us=(\d+)$")
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


# Looked up once here: the forked child only makes the call (no imports, no allocation).
_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary to use.

    ``GENESIS_FFMPEG`` (:attr:`~genesis_pipeline.config.Settings.ffmpeg`) wins when set (tests
    use it to simulate a broken tool), then ffmpeg on PATH, then the binary bundled with
    imageio-ffmpeg. The answer is kept for the life of the process.

    Raises:
        ToolNotFoundError: no ffmpeg could be found.
        InvalidSettingError: a ``GENESIS_*`` variable has an unusable value.
    """
    override = Settings.from_env().ffmpeg
    if override:
        if not Path(override).is_file():
            raise ToolNotFoundError(f"GENESIS_FFMPEG: {override} does not exist")
        return override
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise ToolNotFoundError(
            "ffmpeg: not on PATH and the imageio-ffmpeg binary is unavailable "
            f"({exc}); install ffmpeg or `pip install imageio-ffmpeg`"
        ) from exc


def ffmpeg_failed(what: str, log_text: str, returncode: int, lines: int = 6) -> MediaToolError:
    """The error for an ffmpeg that exited ``returncode``: the last ``lines`` of its log."""
    tail = log_text.strip().splitlines()[-lines:]
    return MediaToolError(what, "ffmpeg: " + (" | ".join(tail) or f"exit code {returncode}"))


def run_ffmpeg(
    args: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    duration_s: float | None = None,
    progress: ProgressFn | None = None,
    timeout_s: float | None = None,
    die_with_parent: bool = False,
) -> None:
    """Run ffmpeg with ``args`` (everything after the binary), raising on failure.

    Args:
        args: ffmpeg arguments; ``-hide_banner -nostdin`` are added.
        what: a short description for error messages ("render project 3").
        duration_s: expected output duration, to turn ffmpeg's clock into progress.
        progress: ``(done_ms, total_ms, note)`` callback.
        timeout_s: kill ffmpeg after this long.
        die_with_parent: have the kernel kill ffmpeg when the calling thread's process dies
            (Linux; elsewhere ignored). ffmpeg ignores a closed progress pipe, so without this
            an encode outlives a worker killed with SIGKILL and keeps two cores busy.

    Raises:
        ToolNotFoundError: ffmpeg is missing.
        MediaToolError: ffmpeg exited non-zero or timed out; carries the tail of its log.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    want_progress = progress is not None and duration_s
    if want_progress:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += [os.fspath(a) for a in args]
    log.debug("ffmpeg: %s", " ".join(cmd))
    total_ms = int((duration_s or 0) * 1000)
    try:
        with subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE if want_progress else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            preexec_fn=_die_with_parent if die_with_parent and _PRCTL is not None else None,
        ) as proc:
            stderr_chunks: list[str] = []
            if want_progress and proc.stdout is not None and progress is not None:
                # stderr is drained after stdout closes; keep it small with -loglevel error.
                for line in proc.stdout:
                    m = _TIME_RE.match(line.strip())
                    if m:
                        done = min(total_ms, int(m.group(1)) // 1000)
                        progress(done, total_ms, what)
            try:
                _, err = proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.communicate()
                raise MediaToolError(what, f"ffmpeg timed out after {timeout_s:.0f} s") from exc
            stderr_chunks.append(err or "")
            if proc.returncode != 0:
                raise ffmpeg_failed(what, "".join(stderr_chunks), proc.returncode)
    except FileNotFoundError as exc:
        raise ToolNotFoundError(f"ffmpeg: cannot execute {cmd[0]}") from exc
