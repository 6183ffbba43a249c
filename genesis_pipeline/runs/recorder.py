"""Keeps a run's ``step_details`` and ``progress_json`` current while its steps run.

``step_details`` is a stored document (the Run page, ``genesis status`` and the runs' history
read it), so its shape is written here and only here, key by key in a fixed order: the keys a
step has on its start (step, status, started_at, cache_hit), those of its end (ended_at,
duration_s, counts, error, then error_type and note when given), then the step's own details.
A step never reached has step, status, cache_hit and duration_s.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from genesis_pipeline.progress import Progress
from genesis_pipeline.runs.context import StepOutcome
from genesis_pipeline.store import Store
from genesis_pipeline.store import runs as runs_sql

# Progress rows are written at most this often (each is a short write transaction).
PROGRESS_INTERVAL_S = 0.5


class StepRecorder:
    """Records one run's steps as they begin and end, and its progress within a step."""

    def __init__(self, store: Store, run_id: int, progress: Progress) -> None:
        self.store = store
        self.run_id = run_id
        self.user_progress = progress
        self.details: list[dict[str, Any]] = []
        self._t0: dict[str, float] = {}
        self._step = ("", 0, 0)
        self._last_write = 0.0

    def _write(self, progress: dict[str, Any] | None = None) -> None:
        with self.store.db.write() as con:
            runs_sql.update(con, self.run_id, step_details=self.details, progress=progress)

    def _progress_doc(self, done: int, total: int, note: str) -> dict[str, Any]:
        name, index, steps = self._step
        return {
            "step": name,
            "step_index": index,
            "steps": steps,
            "done": done,
            "total": total,
            "note": note,
            "updated_at": time.time(),
        }

    def begin(self, name: str, index: int, total: int) -> None:
        self._t0[name] = time.monotonic()
        self._step = (name, index, total)
        self.details.append(
            {
                "step": name,
                "status": "running",
                "started_at": datetime.now().isoformat(),
                "cache_hit": False,
            }
        )
        self._write(self._progress_doc(0, 0, ""))
        self.user_progress(0, 0, name)

    def progress(self, done: int, total: int, note: str) -> None:
        """The current step's progress (a :data:`~genesis_pipeline.progress.Progress`)."""
        self.user_progress(done, total, note)
        now = time.monotonic()
        if now - self._last_write < PROGRESS_INTERVAL_S and done < total:
            return
        self._last_write = now
        with self.store.db.write() as con:
            runs_sql.update(con, self.run_id, progress=self._progress_doc(done, total, note))

    def end(
        self,
        name: str,
        outcome: StepOutcome,
        error: str | None = None,
        error_type: str | None = None,
    ) -> None:
        d = self.details[-1]
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
        # Written with the next step's begin (or close): one short transaction per step.

    def fail_current(
        self, error: str, error_type: str, steps: tuple[str, ...], models: dict[str, Any]
    ) -> None:
        """End the run from outside its steps (the executor lost its cluster while a step was
        stuck in it): the step in progress failed with ``error``, the rest not run."""
        name = self._step[0]
        if name and self.details and self.details[-1].get("status") == "running":
            self.end(name, StepOutcome(status="failed"), error=error, error_type=error_type)
        self.finish_all_pending(steps, "not run")
        self.close("failed", f"{name}: {error}" if name else error, models)

    def finish_all_pending(self, names: tuple[str, ...], status: str) -> None:
        """Record the steps not reached (``not run``) after a failure."""
        seen = {d["step"] for d in self.details}
        for name in names:
            if name not in seen:
                self.details.append(
                    {"step": name, "status": status, "cache_hit": False, "duration_s": 0.0}
                )

    def close(self, status: str, error: str | None, models: dict[str, dict[str, Any]]) -> None:
        """The run's end: its status, error and the models it used."""
        with self.store.db.write() as con:
            run = runs_sql.get(con, self.run_id)
            runs_sql.update(
                con,
                self.run_id,
                step_details=self.details,
                progress={"step": "done", "status": status, "updated_at": time.time()},
                device={**run.device_json, "models": models},
            )
            runs_sql.finish(con, self.run_id, status, error)
