"""``python -m benchmarks.detectors``: every scene detector against edits with exact ground truth.

    .venv/bin/python -m benchmarks.detectors [--quick] [--detectors content,adaptive,transnetv2]
        [--out DIR]

Generates (once, cached in ``benchmarks/media/``) clips of cuts, cross-dissolves, fades through
black or white, wipes, and trap shots (fast pans, fast zooms, flash frames, a dark grainy scene)
at several frame rates and lengths (:func:`clips`), runs each detector's scene stage on them and
scores it the way PySceneDetect's benchmark does: precision, recall and F1 per transition kind,
a found boundary matching a true one when their frame spans overlap once widened by
:data:`TOLERANCE_FRAMES` (so a cut must be within 2 frames; a dissolve is found by any boundary
inside it). False positives on the trap clip are given per 10 minutes. Speed is the scene
stage's wall time over decoding alone (PyAV, every frame, nothing else). Writes
``<out>/detectors-latest.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline.media.synth import SOURCES
from genesis_pipeline.media.synth_edits import (
    XFADES,
    EditedFootage,
    EditShot,
    Join,
    make_edited_footage,
)
from genesis_pipeline.metrics import Span, TimeMatch, match_spans
from genesis_pipeline.stages.scenes import SceneList, SceneParams, detect_scenes

log = logging.getLogger("benchmarks.detectors")

MEDIA_DIR = Path(__file__).resolve().parent / "media"
RESULTS = Path(__file__).resolve().parent / "results"
RECIPE_VERSION = 1
TOLERANCE_FRAMES = 2
DETECTORS = ("content", "adaptive", "content+gradual", "adaptive+gradual", "transnetv2")
GRADUAL_KINDS = tuple(XFADES)


@dataclass(frozen=True, slots=True)
class ClipPlan:
    """One benchmark clip: which kind of edit it holds, its frame rate and its shots."""

    name: str
    kind: str  # "cut", a gradual kind, or "traps"
    fps: int
    shots: int
    seed: int


def clips(quick: bool = False) -> list[ClipPlan]:
    """The clip set: one clip per kind of edit, at 24, 25, 30 and 60 fps and 5 to 14 shots."""
    if quick:
        return [
            ClipPlan("cut", "cut", 25, 4, 1),
            ClipPlan("dissolve", "dissolve", 30, 4, 2),
            ClipPlan("fade", "fade", 24, 3, 3),
            ClipPlan("wipe", "wipe", 25, 4, 4),
            ClipPlan("traps", "traps", 25, 4, 5),
        ]
    return [
        ClipPlan("cut-25", "cut", 25, 14, 11),
        ClipPlan("cut-60", "cut", 60, 6, 12),
        ClipPlan("dissolve-30", "dissolve", 30, 12, 13),
        ClipPlan("dissolve-24", "dissolve", 24, 6, 14),
        ClipPlan("fade-24", "fade", 24, 10, 15),
        ClipPlan("wipe-30", "wipe", 30, 12, 16),
        ClipPlan("wipe-60", "wipe", 60, 5, 17),
        ClipPlan("traps-25", "traps", 25, 8, 18),
    ]


def build(plan: ClipPlan, media_dir: Path = MEDIA_DIR) -> EditedFootage:
    """Generate (or reuse) the clip of ``plan``: shots of 2.5 to 5 s cycling through distinct
    sources; gradual joins of 0.4 to 1.5 s drawn from the kind's xfade transitions; the trap
    clip's shots carry a pan, a zoom, a flash or darkness and are joined by hard cuts."""
    rng = random.Random(plan.seed)
    shots: list[EditShot] = []
    joins: list[Join] = []
    effects = ("pan", "zoom", "flash", "dark")
    for i in range(plan.shots):
        source = SOURCES[(i + plan.seed) % len(SOURCES)]
        effect = effects[i % len(effects)] if plan.kind == "traps" else ""
        duration = rng.uniform(4.0, 6.0) if plan.kind == "traps" else rng.uniform(2.5, 5.0)
        shots.append(EditShot(source, round(duration, 2), effect))
        if i == 0:
            continue
        if plan.kind in XFADES:
            name = rng.choice(XFADES[plan.kind])
            joins.append(Join(plan.kind, round(rng.uniform(0.4, 1.5), 2), name))
        else:
            joins.append(Join("cut"))
    joins = _separate(shots, joins)
    digest = hashlib.sha256(repr((shots, joins)).encode()).hexdigest()[:8]
    stem = f"edits-v{RECIPE_VERSION}-{plan.name}-{plan.fps}fps-{digest}"
    out = media_dir / f"{stem}.mp4"
    truth = out.with_suffix(".truth.json")
    if out.exists() and truth.exists():
        return load(truth)
    footage = make_edited_footage(out, shots, joins, fps=plan.fps)
    footage.write_ground_truth()
    return footage


# Every shot shows at least this long with no transition on it, as in real edits (two
# transitions that overlap would make one boundary of three shots).
CLEAN_S = 1.0


def _separate(shots: list[EditShot], joins: list[Join]) -> list[Join]:
    """Shorten transitions so that every shot keeps :data:`CLEAN_S` to itself."""
    out = list(joins)
    for i, shot in enumerate(shots):
        before = out[i - 1] if i > 0 else None
        after = out[i] if i < len(out) else None
        spare = shot.duration_s - CLEAN_S
        used = (before.duration_s if before else 0.0) + (after.duration_s if after else 0.0)
        if used > spare and used > 0:
            k = spare / used
            if before and before.duration_s:
                out[i - 1] = Join(before.kind, round(before.duration_s * k, 2), before.transition)
            if after and after.duration_s:
                out[i] = Join(after.kind, round(after.duration_s * k, 2), after.transition)
    return out


def load(truth_path: Path) -> EditedFootage:
    from genesis_pipeline.media.synth_edits import Boundary

    d = json.loads(truth_path.read_text())
    return EditedFootage(
        path=Path(d["path"]),
        fps=d["fps"],
        frames=d["frames"],
        width=d["width"],
        height=d["height"],
        boundaries=tuple(Boundary(**b) for b in d["boundaries"]),
        shots=tuple(EditShot(**s) for s in d["shots"]),
        traps=tuple(tuple(t) for t in d["traps"]),
    )


def detector_params(name: str) -> SceneParams:
    """``content``, ``adaptive``, ``transnetv2``, or a classical one with ``+gradual``."""
    base, _, extra = name.partition("+")
    return SceneParams(detector=base, gradual=extra == "gradual")


def found_spans(result: SceneList) -> list[Span]:
    """Each detected boundary as frames: a cut at its frame, a gradual transition as its span."""
    spans = []
    for s in result.scenes[1:]:
        t = s.transition
        if t is not None and t.kind == "gradual":
            spans.append(Span(t.start_frame, t.end_frame))
        else:
            spans.append(Span(s.start_frame, s.start_frame))
    return spans


def score(footage: EditedFootage, result: SceneList) -> TimeMatch:
    truth = [Span(b.start, b.end) for b in footage.boundaries]
    return match_spans(truth, found_spans(result), TOLERANCE_FRAMES)


def typed(footage: EditedFootage, result: SceneList) -> tuple[int, int]:
    """``(found, typed right)`` over the true boundaries: each found one is typed right when
    its label (cut, dissolve, fade, wipe) is the edit's kind, or it says ``gradual`` (a
    detector that does not tell them apart) for a gradual edit."""
    found = right = 0
    for b in footage.boundaries:
        lo, hi = b.start - TOLERANCE_FRAMES, b.end + TOLERANCE_FRAMES
        for s, span in zip(result.scenes[1:], found_spans(result), strict=True):
            if span.start <= hi and span.end >= lo:
                label = s.transition.label if s.transition else "cut"
                found += 1
                right += label == b.kind or (label == "gradual" and b.kind != "cut")
                break
    return found, right


def decode_only_s(path: Path) -> float:
    """Wall time to decode every frame of ``path`` with PyAV and do nothing else."""
    import av

    t0 = time.perf_counter()
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in c.decode(stream):
            pass
    return time.perf_counter() - t0


@dataclass
class Row:
    detector: str
    kind: str
    truth: int = 0
    found: int = 0
    matched: int = 0
    seconds: float = 0.0
    decode_s: float = 0.0
    video_s: float = 0.0
    typed_found: int = 0
    typed_right: int = 0

    @property
    def match(self) -> TimeMatch:
        """Precision, recall and F1 of the counts (metrics' own formulas)."""
        return TimeMatch(self.truth, self.found, self.matched, (), ())

    @property
    def false_positives(self) -> int:
        return self.found - self.matched

    @property
    def fp_per_10min(self) -> float:
        return self.false_positives / self.video_s * 600 if self.video_s else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "kind": self.kind,
            "truth": self.truth,
            "found": self.found,
            "matched": self.matched,
            "precision": round(self.match.precision, 4),
            "recall": round(self.match.recall, 4),
            "f1": round(self.match.f1, 4),
            "false_positives": self.false_positives,
            "fp_per_10min": round(self.fp_per_10min, 2),
            "seconds": round(self.seconds, 3),
            "decode_s": round(self.decode_s, 3),
            "speed_ratio": round(self.seconds / self.decode_s, 2) if self.decode_s else None,
            "typed_right": round(self.typed_right / self.typed_found, 4)
            if self.typed_found
            else None,
        }


def run(
    detectors: list[str], plans: list[ClipPlan], scratch: Path, device: str = "auto"
) -> list[Row]:
    """Every detector on every clip; one row per detector and kind (clips of a kind summed)."""
    MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    footage = [(p, build(p)) for p in plans]
    decode = {p.name: min(decode_only_s(f.path) for _ in range(2)) for p, f in footage}
    rows: dict[tuple[str, str], Row] = {}
    for det in detectors:
        params = detector_params(det)
        for plan, clip in footage:
            t0 = time.perf_counter()
            result = detect_scenes(clip.path, scratch / det / plan.name, params, device=device)
            took = time.perf_counter() - t0
            m = score(clip, result)
            row = rows.setdefault((det, plan.kind), Row(det, plan.kind))
            row.truth += m.truth
            row.found += m.found
            row.matched += m.matched
            row.seconds += took
            row.decode_s += decode[plan.name]
            row.video_s += clip.duration_s
            n, right = typed(clip, result)
            row.typed_found += n
            row.typed_right += right
            log.info(
                "%s on %s: %d/%d found, %d extra, %.1f s (decode %.2f s)",
                det,
                plan.name,
                m.matched,
                m.truth,
                len(m.extra),
                took,
                decode[plan.name],
            )
    return list(rows.values())


def table(rows: list[Row]) -> str:
    """The Markdown table: F1 per kind, false positives on the traps, speed over decode-only."""
    kinds = [k for k in ("cut", *GRADUAL_KINDS) if any(r.kind == k for r in rows)]
    dets = list(dict.fromkeys(r.detector for r in rows))
    head = [
        "detector",
        *(f"F1 {k}" for k in kinds),
        "F1 gradual",
        "FP/10 min (traps)",
        "× decode",
        "typed right",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for det in dets:
        mine = {r.kind: r for r in rows if r.detector == det}
        gradual = Row(det, "gradual")
        for k in GRADUAL_KINDS:
            if k in mine:
                gradual.truth += mine[k].truth
                gradual.found += mine[k].found
                gradual.matched += mine[k].matched
        traps = mine.get("traps")
        secs = sum(r.seconds for r in mine.values())
        dec = sum(r.decode_s for r in mine.values())
        cells = [det, *(f"{mine[k].match.f1:.3f}" for k in kinds), f"{gradual.match.f1:.3f}"]
        cells.append(f"{traps.fp_per_10min:.1f}" if traps else "-")
        cells.append(f"{secs / dec:.1f}" if dec else "-")
        n = sum(r.typed_found for r in mine.values())
        cells.append(f"{sum(r.typed_right for r in mine.values()) / n:.3f}" if n else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.detectors", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--quick", action="store_true", help="one small clip per kind")
    ap.add_argument("--detectors", default=",".join(DETECTORS), help="comma-separated")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (transnetv2)")
    ap.add_argument("--clips", default="", help="comma-separated clip names (default: all)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    detectors = [d.strip() for d in args.detectors.split(",") if d.strip()]
    with tempfile.TemporaryDirectory(prefix="genesis-detectors-") as tmp:
        chosen = [c for c in clips(args.quick) if not args.clips or c.name in args.clips.split(",")]
        rows = run(detectors, chosen, Path(tmp), args.device)
    md = table(rows)
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "detectors-quick" if args.quick else "detectors-latest"
    (args.out / f"{name}.md").write_text(
        f"Tolerance {TOLERANCE_FRAMES} frames (gradual: span overlap).\n\n{md}\n"
    )
    (args.out / f"{name}.json").write_text(
        json.dumps({"tolerance_frames": TOLERANCE_FRAMES, "rows": [r.to_json() for r in rows]})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
