"""Accuracy beside speed: cut precision/recall against ground truth, transcript WER."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    remaining = sorted(found)
    matched = 0
    for t in truth:
        best = min(remaining, key=lambda f: abs(f - t), default=None)
        if best is not None and abs(best - t) <= tolerance:
            remaining.remove(best)
            matched += 1
    precision = matched / len(found) if found else (1.0 if not truth else 0.0)
    recall = matched / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "truth": len(truth),
        "found": len(found),
        "matched": matched,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
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
