"""Keeps a run's ``step_details`` and ``progress_json`` current while its steps run.

``step_details`` is a stored document (the Run page, ``genesis status`` and the runs' history
read it), so its shape is written here and only here, key by key in a fixed order: the keys a
step has on its start (step, status, started_at, cache_hit), those of its end (ended_at,
duration_s, counts, error, then error_type and note when given), then the step's own details.
A step never reached has step, status, cache_hit and duration_s.

Steps that need nothing from each other run at once (see ``runs.pipeline.TOGETHER``): each
reports its progress through its own :meth:`StepRecorder.progress_for`, and the progress document
then describes them together (``step`` "transcribe + scenes", ``span`` 2, ``done``/``total`` the
sum of their fractions, ``parallel`` each one's own figures).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from genesis_pipeline.progress import Progress
from genesis_pipeline.runs.context import StepOutcome
from genesis_pipeline.store import Store
from genesis_pipeline.store import runs as runs_sql

# Progress rows are written at most this often (each is a short write transaction).
PROGRESS_INTERVAL_S = 0.5
# A step's start is written once it has run this long (a step that ends sooner, as a cache hit
# does, is written with what comes next: a transaction of ~40 ms per step saved on a re-run).
BEGIN_WRITE_DELAY_S = 0.3
# Steps running together report done/total as the sum of their fractions in these units.
_UNITS = 1000


class StepRecorder:
    """Records one run's steps as they begin and end, and its progress within a step."""

    def __init__(self, store: Store, run_id: int, progress: Progress) -> None:
        self.store = store
        self.run_id = run_id
        self.user_progress = progress
        self.details: list[dict[str, Any]] = []
        self._t0: dict[str, float] = {}
        # The steps running now, in the order they began: name -> (index, done, total, note).
        self._running: dict[str, tuple[int, int, int, str]] = {}
        self._steps = 0
        self._last_write = 0.0
        self._lock = threading.RLock()  # steps running together report from their threads
        self._unwritten: threading.Timer | None = None  # a begin not written yet

    def _write(self, progress: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._cancel_begin_write()
            with self.store.db.write() as con:
                runs_sql.update(con, self.run_id, step_details=self.details, progress=progress)

    def _cancel_begin_write(self) -> None:
        if self._unwritten is not None:
            self._unwritten.cancel()
            self._unwritten = None

    def _write_begun(self) -> None:
        """The delayed write of a step's start (the steps begun and still running)."""
        with self._lock:
            if self._unwritten is None:
                return  # written meanwhile
            self._unwritten = None
            if not self._running:
                return  # every step begun has ended: written with what comes next
            self._last_write = time.monotonic()
            self._write(self._progress_doc())

    def _progress_doc(self) -> dict[str, Any]:
        running = list(self._running.items())
        if len(running) == 1:
            name, (index, done, total, note) = running[0]
            return {
                "step": name,
                "step_index": index,
                "steps": self._steps,
                "done": done,
                "total": total,
                "note": note,
                "updated_at": time.time(),
            }
        fractions = [min(1.0, d / t) if t > 0 else 0.0 for _, (_, d, t, _) in running]
        return {
            "step": " + ".join(name for name, _ in running),
            "step_index": min((i for _, (i, _, _, _) in running), default=0),
            "steps": self._steps,
            "span": len(running),
            "done": round(sum(fractions) * _UNITS),
            "total": len(running) * _UNITS,
            "note": " · ".join(f"{name}: {n}" for name, (_, _, _, n) in running if n),
            "parallel": [
                {"step": name, "done": d, "total": t, "note": n} for name, (_, d, t, n) in running
            ],
            "updated_at": time.time(),
        }

    def begin(self, name: str, index: int, total: int) -> None:
        with self._lock:
            self._t0[name] = time.monotonic()
            self._running[name] = (index, 0, 0, "")
            self._steps = total
            self.details.append(
                {
                    "step": name,
                    "status": "running",
                    "started_at": datetime.now().isoformat(),
                    "cache_hit": False,
                }
            )
            if self._unwritten is None:
                self._unwritten = threading.Timer(BEGIN_WRITE_DELAY_S, self._write_begun)
                self._unwritten.daemon = True
                self._unwritten.start()
        self.user_progress(0, 0, name)

    def progress_for(self, name: str) -> Progress:
        """Step ``name``'s progress callback (a :data:`~genesis_pipeline.progress.Progress`)."""

        def report(done: int, total: int, note: str) -> None:
            self._progress(name, done, total, note)

        return report

    def _progress(self, name: str, done: int, total: int, note: str) -> None:
        with self._lock:
            if name not in self._running:
                return  # a late report of a step that has ended
            index = self._running[name][0]
            self._running[name] = (index, done, total, note)
            together = len(self._running) > 1
            now = time.monotonic()
            if now - self._last_write < PROGRESS_INTERVAL_S and done < total:
                doc = None
            else:
                self._last_write = now
                doc = self._progress_doc()
            if doc is not None:
                with self.store.db.write() as con:
                    runs_sql.update(con, self.run_id, progress=doc)
        self.user_progress(done, total, f"{name}: {note}" if together else note)

    def end(
        self,
        name: str,
        outcome: StepOutcome,
        error: str | None = None,
        error_type: str | None = None,
    ) -> None:
        with self._lock:
            d = next(d for d in reversed(self.details) if d["step"] == name)
            d.update(
                status=outcome.status if error is None else "failed",
                ended_at=datetime.now().isoformat(),
                duration_s=round(time.monotonic() - self._t0[name], 3),
                cache_hit=outcome.cache_hit,
                counts=outcome.counts,
                error=error,
            )
            if error_type:
                d["error_type"] = error_type
            if outcome.note:
                d["note"] = outcome.note
            d.update({k: v for k, v in outcome.details.items() if k not in d})
            self._running.pop(name, None)
            if self._running:
                # A step that ran beside others shows as done while they go on.
                self._write(self._progress_doc())
            # Otherwise written with what comes next (a later step's delayed start or the run's
            # close): one short transaction.

    def fail_current(
        self, error: str, error_type: str, steps: tuple[str, ...], models: dict[str, Any]
    ) -> None:
        """End the run from outside its steps (the executor lost its cluster while a step was
        stuck in it): the steps in progress failed with ``error``, the rest not run."""
        with self._lock:
            running = list(self._running)
            for name in running:
                self.end(name, StepOutcome(status="failed"), error=error, error_type=error_type)
            self.finish_all_pending(steps, "not run")
            where = " + ".join(running)
            self.close("failed", f"{where}: {error}" if where else error, models)

    def finish_all_pending(self, names: tuple[str, ...], status: str) -> None:
        """Record the steps not reached (``not run``) after a failure."""
        with self._lock:
            seen = {d["step"] for d in self.details}
            for name in names:
                if name not in seen:
                    self.details.append(
                        {"step": name, "status": status, "cache_hit": False, "duration_s": 0.0}
                    )

    def close(self, status: str, error: str | None, models: dict[str, dict[str, Any]]) -> None:
        """The run's end: its status, error and the models it used."""
        with self._lock, self.store.db.write() as con:
            self._cancel_begin_write()
            run = runs_sql.get(con, self.run_id)
            runs_sql.update(
                con,
                self.run_id,
                step_details=self.details,
                progress={"step": "done", "status": status, "updated_at": time.time()},
                device={**run.device_json, "models": models},
            )
            runs_sql.finish(con, self.run_id, status, error)
