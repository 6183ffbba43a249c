"""Accuracy beside speed: cut precision/recall against ground truth, transcript WER."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genesis_pipeline.metrics import match_times

CUT_TOLERANCE_S = 0.2


def normalise(text: str) -> str:
    """Lower case, hyphens as spaces, punctuation out: what WER compares."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def cut_scores(
    truth: Sequence[float], found: Sequence[float], tolerance: float = CUT_TOLERANCE_S
) -> dict[str, Any]:
    """Precision, recall and F1 of ``found`` cuts, matched one-to-one within ``tolerance``."""
    m = match_times(truth, found, tolerance)
    return {
        "truth": m.truth,
        "found": m.found,
        "matched": m.matched,
        "precision": round(m.precision, 4),
        "recall": round(m.recall, 4),
        "f1": round(m.f1, 4),
    }


def scenedetect_cuts(csv_path: Path) -> list[float]:
    """Cut times from the scenedetect CLI's ``list-scenes`` CSV (start of every scene but one).

    The CSV starts with a line of cut timecodes, then a header row and one row per scene.
    """
    rows = list(csv.reader(csv_path.read_text().splitlines()))
    header_at = next(i for i, r in enumerate(rows) if r and r[0].strip() == "Scene Number")
    header = rows[header_at]
    col = header.index("Start Time (seconds)")
    starts = sorted(float(r[col]) for r in rows[header_at + 1 :] if len(r) > col)
    return [s for s in starts if s > 0]
