"""Targets, the results JSON, the Markdown table and the chart.

Every target is a ratio or a figure measured in the same run (medians of the runs); where one
is missed, the table says by how much.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.suite import ClipResults

log = logging.getLogger(__name__)

#: The peers, by what they stand in for: each kind's fastest series is its fast path.
PEER_PREFIX = {
    "scenes": "peer_scenedetect_",
    "transcribe": "peer_whisper_",
    "render": "peer_stream_copy",
}
#: A run whose 1-minute load average (before or after) exceeds this share of the cores is flagged.
HIGH_LOAD = 0.5
STEPS = ("media", "proxies", "transcribe", "scenes", "captions", "chapters", "narration", "render")

TARGET_IDS = (
    "scenes_vs_decode",
    "transcribe_vs_peer",
    "wer_vs_peer",
    "cold_vs_cpu_floor",
    "pipeline_vs_hand",
    "cuts_vs_hand",
    "rerun_nothing_changed",
    "chapters_only",
    "chapters_process",
    "smart_render",
    "render_peers",
    "peak_memory",
    "long_peak_memory",
    "long_chapters_only",
    "long_chapters_process",
    "transcribe_speed",
    "device",
)

MEASUREMENT_ROWS = (
    "decode_only",
    "stage_scenes",
    "stage_transcribe",
    "pipeline_cold",
    "pipeline_rerun_cli",
    "chapters_change",
    "chapters_change_warm",
    "peer_scenedetect_defaults",
    "peer_scenedetect_opencv_d",
    "peer_scenedetect_pyav_d",
    "peer_whisper_b8_beam5",
    "peer_whisper_b8_beam3",
    "peer_whisper_b16_beam5",
    "peer_whisper_b16_beam3",
    "baseline_whisper",
    "baseline_reencode",
    "baseline_total",
    "render_reencode",
    "render_smart",
    "peer_stream_copy",
)


@dataclass(frozen=True, slots=True)
class Target:
    id: str
    what: str
    op: str  # "<=", ">=" or "info"
    limit: float | None
    unit: str
    measured: float | None
    detail: str = ""
    text: str | None = None  # for "info" rows

    @property
    def status(self) -> str:
        if self.op == "info":
            return "info"
        if self.measured is None or self.limit is None:
            return "n/a"
        ok = self.measured <= self.limit if self.op == "<=" else self.measured >= self.limit
        return "pass" if ok else "miss"

    @property
    def gap(self) -> str:
        """By how much a target is missed (or beaten), in the target's own terms."""
        if self.status not in ("pass", "miss") or self.limit in (None, 0):
            return ""
        assert self.measured is not None and self.limit is not None
        if self.unit in ("", "WER", "F1"):
            diff = self.measured - self.limit
            return f"{diff:+.3f}"
        pct = (self.measured / self.limit - 1.0) * 100
        return f"{pct:+.0f}%"

    def target_text(self) -> str:
        if self.op == "info" or self.limit is None:
            return ""
        sign = "≤" if self.op == "<=" else "≥"
        return f"{sign} {_fmt(self.limit, self.unit)}"

    def measured_text(self) -> str:
        if self.op == "info":
            return self.text or ""
        return "—" if self.measured is None else _fmt(self.measured, self.unit)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "what": self.what,
            "op": self.op,
            "limit": self.limit,
            "unit": self.unit,
            "measured": None if self.measured is None else round(self.measured, 4),
            "status": self.status,
            "gap": self.gap,
            "detail": self.detail,
            "text": self.text,
        }


def _dur(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _fmt(v: float, unit: str) -> str:
    if unit == "×":
        return f"{v:.2f}×"
    if unit == "s":
        return f"{v:.2f} s"
    if unit == "MB":
        return f"{v:.0f} MB"
    if unit == "× real time":
        return f"{v:.1f}× real time"
    return f"{v:.3f}"


def _med(res: ClipResults, name: str, key: str = "wall_s") -> float | None:
    s = res.series.get(name)
    return s.median(key) if s else None


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b in (None, 0) else a / b


def step_medians(res: ClipResults, series: str) -> dict[str, float]:
    """Median duration of each pipeline step over the runs of ``series``."""
    out: dict[str, list[float]] = {}
    s = res.series.get(series)
    for sample in s.samples if s else []:
        for d in sample.data.get("step_details", []):
            out.setdefault(d["step"], []).append(float(d.get("duration_s") or 0.0))
    return {k: statistics.median(v) for k, v in out.items()}


def step_status(res: ClipResults, series: str) -> dict[str, str]:
    s = res.series.get(series)
    if not s or not s.samples:
        return {}
    out = {}
    for d in s.samples[-1].data.get("step_details", []):
        hit = " (cache hit)" if d.get("cache_hit") else ""
        out[d["step"]] = f"{d.get('status')}{hit}"
    return out


def fastest(res: ClipResults, kind: str, key: str = "wall_s") -> tuple[str, float] | None:
    """The peer series of ``kind`` (scenes, transcribe, render) with the lowest median ``key``,
    and that median: the peer's fast path on this machine."""
    best: tuple[str, float] | None = None
    for name, series in res.series.items():
        if not name.startswith(PEER_PREFIX[kind]):
            continue
        v = series.median(key)
        if v is not None and (best is None or v < best[1]):
            best = (name, v)
    return best


def _rendered(res: ClipResults) -> bool:
    """Whether the cold pipeline rendered (it renders only when asked or reviewed)."""
    return step_status(res, "pipeline_cold").get("render", "").startswith("ok")


def hand_parts(res: ClipResults) -> list[str]:
    """The series "by hand" adds up: the fast path of each peer the cold pipeline stands for
    (scenes and transcription, and the render when the pipeline rendered)."""
    kinds = ["scenes", "transcribe"] + (["render"] if _rendered(res) else [])
    return [b[0] for k in kinds if (b := fastest(res, k)) is not None]


def baseline_total(res: ClipResults) -> float | None:
    parts = hand_parts(res)
    if len(parts) < 2:
        return None
    return sum(_med(res, n) or 0.0 for n in parts)


def cpu_floor(res: ClipResults, series: str) -> float | None:
    """``series``'s CPU seconds spread over every core: no run on this machine can be faster."""
    cores = res.facts.get("cores")
    cpu = _med(res, series, "cpu_s")
    return None if not cores or not cpu else cpu / float(cores)


def high_load(env: dict[str, Any]) -> bool:
    cores = env.get("cpu_count") or 1
    return max(env["load_before"][0], env["load_after"][0]) > HIGH_LOAD * cores


def targets(std: ClipResults, long: ClipResults | None = None) -> list[Target]:
    """Every target of the issue, evaluated on the standard clip (and the long one when run).

    Each is a ratio between things measured in the same run (or an exact figure), so it holds on
    any 2-core machine of this kind, not only on the one the goals were tuned on.
    """
    f = std.facts
    decode = _med(std, "decode_only")
    scenes = _med(std, "stage_scenes", "work_s")
    audio = _med(std, "stage_transcribe", "audio_s")
    transcribe = _med(std, "stage_transcribe", "work_s")
    peer_w = fastest(std, "transcribe", "work_s")
    hand = baseline_total(std)
    cold = _med(std, "pipeline_cold")
    floor = cpu_floor(std, "pipeline_cold")
    g_f1 = (f.get("cuts_genesis") or f.get("cuts_genesis_pipeline") or {}).get("f1")
    peer_f1 = max(
        (v["f1"] for k, v in f.items() if k.startswith("cuts_scenedetect_") and v), default=None
    )
    wer_g = f.get("wer_genesis", f.get("wer_genesis_pipeline"))
    wer_p = f.get(f"wer_{peer_w[0]}") if peer_w else None
    reenc = _med(std, "render_reencode", "work_s")
    smart = _med(std, "render_smart", "work_s")
    copy = _med(std, "peer_stream_copy", "work_s")
    peak = std.series["pipeline_cold"].peak_rss_mb if "pipeline_cold" in std.series else None
    dev = f.get("device", {})
    smart_why = (f.get("smart_render") or {}).get("why") or ""
    label = ROW_LABELS
    peer_text = f"{label[peer_w[0]]} {peer_w[1]:.2f} s" if peer_w else "no peer measured"
    rows = [
        Target(
            "scenes_vs_decode",
            "Scene detection + previews / decode only",
            "<=",
            1.05,
            "×",
            _div(scenes, decode),
            f"stage {scenes or 0:.2f} s vs `ffmpeg -i clip -map 0:v -f null -` {decode or 0:.2f} s",
        ),
        Target(
            "transcribe_vs_peer",
            "Fastest batched faster-whisper / Genesis transcription",
            ">=",
            1.3,
            "×",
            _div(peer_w[1] if peer_w else None, transcribe),
            f"{peer_text} vs Genesis {transcribe or 0:.2f} s (model loads apart)",
        ),
        Target(
            "wer_vs_peer",
            "Transcript WER − the fastest batched peer's WER",
            "<=",
            0.01,
            "WER",
            None if wer_g is None or wer_p is None else wer_g - wer_p,
            f"Genesis {wer_g} vs peer {wer_p}",
        ),
        Target(
            "cold_vs_cpu_floor",
            "Pipeline cold / its CPU floor (CPU seconds ÷ cores)",
            "<=",
            1.15,
            "×",
            _div(cold, floor),
            f"cold {cold or 0:.1f} s vs {_med(std, 'pipeline_cold', 'cpu_s') or 0:.1f} CPU s on "
            f"{f.get('cores')} cores = {floor or 0:.1f} s",
        ),
        Target(
            "pipeline_vs_hand",
            "By hand (peers' fast paths) / whole pipeline (captions skipped)",
            ">=",
            2.5,
            "×",
            _div(hand, cold),
            f"by hand {hand or 0:.1f} s ({' + '.join(label.get(n, n) for n in hand_parts(std))})"
            f" vs `genesis process-project` cold {cold or 0:.1f} s",
        ),
        Target(
            "cuts_vs_hand",
            "Cut F1 (±0.2 s) Genesis − best scenedetect CLI setting",
            ">=",
            0.0,
            "F1",
            None if g_f1 is None or peer_f1 is None else g_f1 - peer_f1,
            f"Genesis F1 {g_f1} vs scenedetect CLI {peer_f1}",
        ),
        Target(
            "rerun_nothing_changed",
            "Re-run, nothing changed (`genesis process-project`, end to end)",
            "<=",
            2.0,
            "s",
            _med(std, "pipeline_rerun_cli"),
            "wall time of the CLI process, interpreter start included",
        ),
        Target(
            "chapters_only",
            "Chapter rules changed: save + re-run (in-process)",
            "<=",
            0.5,
            "s",
            _med(std, "chapters_change_warm", "work_s"),
            "save_rules + ProjectPipelineService.run in a process that ran before (imports done)",
        ),
        Target(
            "chapters_process",
            "Chapter rules changed: save + re-run (a fresh process)",
            "<=",
            1.5,
            "s",
            _med(std, "chapters_change"),
            "the whole process: interpreter start, imports, save, re-run",
        ),
        Target(
            "smart_render",
            "Full re-encode / smart render (30% of scenes dropped)",
            ">=",
            5.0,
            "×",
            _div(reenc, smart),
            f"re-encode {reenc or 0:.1f} s vs smart {smart or 0:.1f} s"
            if smart
            else f"smart render not measured: {smart_why}",
        ),
        Target(
            "render_peers",
            "Render: keyframe stream copy ≤ smart ≤ re-encode",
            "info",
            None,
            "",
            None,
            "stream copy is the lower bound (not frame-accurate: each segment starts at the "
            "keyframe before it); smart is frame-exact",
            text=f"copy {copy or 0:.1f} s · smart {smart or 0:.1f} s · "
            f"re-encode {reenc or 0:.1f} s",
        ),
        Target(
            "peak_memory",
            "Peak memory, whole pipeline (process tree RSS)",
            "<=",
            1024.0,
            "MB",
            peak,
            f"{_dur(std.clip.duration_s)} clip, cold run",
        ),
    ]
    long_peak = long.series["pipeline_cold"].peak_rss_mb if long else None
    rows += [
        Target(
            "long_peak_memory",
            "Peak memory 20 min / 5 min",
            "<=",
            1.2,
            "×",
            _div(long_peak, peak),
            f"20 min {long_peak:.0f} MB" if long_peak else "run with --long",
        ),
        Target(
            "long_chapters_only",
            "Chapter rules changed, 20 min clip (in-process)",
            "<=",
            0.5,
            "s",
            _med(long, "chapters_change_warm", "work_s") if long else None,
            "" if long else "run with --long",
        ),
        Target(
            "long_chapters_process",
            "Chapter rules changed, 20 min clip (a fresh process)",
            "<=",
            1.5,
            "s",
            _med(long, "chapters_change") if long else None,
            "" if long else "run with --long",
        ),
        Target(
            "transcribe_speed",
            "Transcription speed (follows the CPU: not a goal)",
            "info",
            None,
            "",
            None,
            f"{audio or 0:.0f} s of audio in {transcribe or 0:.2f} s (model load apart)",
            text=f"{(_div(audio, transcribe) or 0):.1f}× real time",
        ),
        Target(
            "device",
            "Device",
            "info",
            None,
            "",
            None,
            f"whisper {dev.get('whisper_compute_type')} batch {dev.get('whisper_batch_size')}"
            f" x {dev.get('whisper_workers', 1)} workers, {dev.get('cpu_threads')} threads",
            text=f"{dev.get('device')} ({dev.get('device_name')})",
        ),
    ]
    return rows


def measurement_rows(res: ClipResults) -> list[dict[str, Any]]:
    """One row per measured thing: median wall, median work time, spread, peak memory."""
    rows = []
    for name in MEASUREMENT_ROWS:
        if name != "baseline_total" and name not in res.series:
            continue  # not measured on this clip (the 20-minute variant skips some)
        if name == "baseline_total":
            total = baseline_total(res)
            if total is None:
                continue
            parts = hand_parts(res)
            peaks = [p for n in parts if (p := res.series[n].peak_rss_mb) is not None]
            rows.append(
                {
                    "name": name,
                    "runs": min(len(res.series[n].samples) for n in parts),
                    "wall_s": total,
                    "work_s": None,
                    "cpu_s": sum(res.series[n].median("cpu_s") or 0.0 for n in parts),
                    "spread": None,
                    "peak_rss_mb": max(peaks) if peaks else None,
                }
            )
            continue
        s = res.series.get(name)
        rows.append(
            {
                "name": name,
                "runs": len(s.samples) if s else 0,
                "wall_s": s.median() if s else None,
                "work_s": s.median("work_s") if s else None,
                "cpu_s": s.median("cpu_s") if s else None,
                "spread": s.spread() if s else None,
                "peak_rss_mb": s.peak_rss_mb if s else None,
            }
        )
    return rows


ROW_LABELS = {
    "decode_only": "the limit: decode only (`ffmpeg -i clip -map 0:v -f null -`)",
    "stage_scenes": "scenes stage (detect + previews)",
    "stage_transcribe": "transcribe stage (tiny.en)",
    "pipeline_cold": "`genesis process-project`, cold (fresh data dir)",
    "pipeline_rerun_cli": "`genesis process-project`, nothing changed",
    "chapters_change": "chapter rules changed: save + re-run",
    "chapters_change_warm": "chapter rules changed, in a process that ran before",
    "peer_scenedetect_defaults": "peer: `scenedetect detect-adaptive list-scenes` (defaults)",
    "peer_scenedetect_opencv_d": "peer: scenedetect, OpenCV, downscaled like Genesis",
    "peer_scenedetect_pyav_d": "peer: scenedetect, PyAV, downscaled like Genesis",
    "peer_whisper_b8_beam5": "peer: faster-whisper batched, batch 8, beam 5 (its default)",
    "peer_whisper_b8_beam3": "peer: faster-whisper batched, batch 8, beam 3 (Genesis's)",
    "peer_whisper_b16_beam5": "peer: faster-whisper batched, batch 16, beam 5",
    "peer_whisper_b16_beam3": "peer: faster-whisper batched, batch 16, beam 3",
    "baseline_whisper": "faster-whisper unbatched defaults (beam 5, words), for reference",
    "baseline_reencode": "full re-encode of the clip (x264 veryfast crf 20, AAC), for reference",
    "baseline_total": "by hand: the peers' fast paths, one after another",
    "render_reencode": "render 70% of the scenes, re-encode",
    "render_smart": "render 70% of the scenes, smart",
    "peer_stream_copy": "peer: 70% of the scenes by keyframe stream copy (not frame-exact)",
}


def _s(v: float | None, nd: int = 2) -> str:
    return "—" if v is None else f"{v:.{nd}f}"


def markdown(doc: dict[str, Any], std: ClipResults, long: ClipResults | None) -> str:
    env = doc["environment"]
    lines = [
        f"# Genesis benchmark — {doc['date']} on {env['machine']}",
        "",
        f"{env['cpu_count']} CPU cores ({env['cpu_model']}), {env['memory_gb']:.0f} GB RAM; "
        f"device: {std.facts.get('device', {}).get('device')}. Load average (1/5/15 min) "
        f"before {_load(env['load_before'])}, after {_load(env['load_after'])}. "
        f"Medians of {doc['runs']} rounds (each round runs every measurement once, in turn). "
        "Captions skipped in every run (no BLIP checkpoint is reachable offline; "
        "`GENESIS_OFFLINE=1`).",
        *(
            [
                "",
                f"**Warning: the machine was busy** (1-minute load above {HIGH_LOAD:.0%} of the "
                "cores before or after): times are slower and noisier than on a quiet machine; "
                "re-run before drawing conclusions.",
            ]
            if high_load(env)
            else []
        ),
        "",
        f"Clip: {_clip_line(std)}" + (f"; long variant: {_clip_line(long)}" if long else "") + ".",
        "",
        "## Targets",
        "",
        "| target | goal | measured | result | by | how |",
        "|---|---|---|---|---|---|",
    ]
    for t in doc["targets_obj"]:
        lines.append(
            f"| {t.what} | {t.target_text()} | {t.measured_text()} | {t.status} | {t.gap} | "
            f"{t.detail} |"
        )
    for res in [std] + ([long] if long else []):
        lines += [
            "",
            f"## Measurements — {res.label} ({_dur(res.clip.duration_s)})",
            "",
            "| what | runs | wall (median) | measured call | min–max wall | CPU time | peak RSS |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in measurement_rows(res):
            spread = r["spread"]
            sp = f"{spread[0]:.2f}–{spread[1]:.2f} s" if spread else "—"
            lines.append(
                f"| {ROW_LABELS[r['name']]} | {r['runs']} | {_s(r['wall_s'])} s | "
                f"{_s(r['work_s'])} s | {sp} | {_s(r['cpu_s'])} s | {_s(r['peak_rss_mb'], 0)} MB |"
            )
        cold, cached = step_medians(res, "pipeline_cold"), step_medians(res, "pipeline_rerun_cli")
        status = step_status(res, "pipeline_cold")
        cached_status = step_status(res, "pipeline_rerun_cli")
        lines += [
            "",
            f"### Pipeline steps — {res.label} (`step_details`, medians)",
            "",
            "| step | cold | status | cached | status |",
            "|---|---|---|---|---|",
        ]
        for step in STEPS:
            lines.append(
                f"| {step} | {_s(cold.get(step))} s | {status.get(step, '')} | "
                f"{_s(cached.get(step), 3)} s | {cached_status.get(step, '')} |"
            )
        lines.append(
            f"| **sum of steps** | {_s(sum(cold.values()))} s | | "
            f"{_s(sum(cached.values()), 3)} s | |"
        )
    f = std.facts
    lines += [
        "",
        "## Accuracy",
        "",
        "| what | precision | recall | F1 | WER |",
        "|---|---|---|---|---|",
    ]
    for key, label in (
        ("cuts_genesis", "Genesis scenes stage"),
        ("cuts_genesis_pipeline", "Genesis pipeline (stored scenes)"),
        ("cuts_scenedetect_defaults", "scenedetect CLI, defaults"),
        ("cuts_scenedetect_opencv_d", "scenedetect CLI, OpenCV, downscaled"),
        ("cuts_scenedetect_pyav_d", "scenedetect CLI, PyAV, downscaled"),
    ):
        c = f.get(key)
        if c:
            lines.append(
                f"| cuts: {label} ({c['found']} found, {c['truth']} true) | {c['precision']:.3f} | "
                f"{c['recall']:.3f} | {c['f1']:.3f} | |"
            )
    wers = [
        ("wer_genesis", "Genesis transcribe stage"),
        ("wer_genesis_pipeline", "Genesis pipeline (stored words)"),
        ("wer_whisper_defaults", "faster-whisper unbatched defaults"),
    ]
    wers += [(f"wer_{n}", ROW_LABELS[n].removeprefix("peer: ")) for n in MEASUREMENT_ROWS
             if n.startswith("peer_whisper_")]  # fmt: skip
    for key, label in wers:
        if f.get(key) is not None:
            runs = f.get(f"{key}_runs") or []
            each = f" (runs: {', '.join(f'{v:.3f}' for v in runs)})" if len(runs) > 1 else ""
            lines.append(f"| transcript: {label}{each} | | | | {f[key]:.3f} |")
    rc = f.get("render_cut") or {}
    if rc:
        checks = []
        for mode in ("reencode", "smart"):
            s = std.series.get(f"render_{mode}")
            if s and s.samples:
                ok = all(x.data.get("frames") == x.data.get("expected_frames") for x in s.samples)
                d = s.samples[-1].data
                copied = f", {d.get('frames_copied')} stream-copied" if mode == "smart" else ""
                checks.append(
                    f"{mode}: {d.get('frames')} frames{copied} "
                    f"({'the expected count' if ok else 'NOT the expected count'} "
                    f"{d.get('expected_frames')})"
                )
        lines += [
            "",
            f"Render rows: {rc.get('rejected')} of {rc.get('scenes')} scenes rejected "
            f"(spread evenly); {'; '.join(checks)}.",
        ]
    return "\n".join(lines) + "\n"


def _clip_line(res: ClipResults) -> str:
    c = res.clip
    return (
        f"{c.duration_s:.0f} s {c.width}x{c.height} {c.fps} fps H.264, {len(c.cuts_s)} hard cuts, "
        f"{len(c.script.split())} words of espeak-ng speech (`{c.path.name}`)"
    )


def _load(v: Sequence[float]) -> str:
    return "/".join(f"{x:.2f}" for x in v)


def write_outputs(
    out_dir: Path,
    doc: dict[str, Any],
    std: ClipResults,
    long: ClipResults | None,
    *,
    png: bool = True,
) -> dict[str, Path]:
    """Write ``<date>-<machine>.json``, ``latest.md``, ``latest.html`` and ``latest.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{doc['date']}-{doc['environment']['machine']}"
    paths = {"json": out_dir / f"{stem}.json", "md": out_dir / "latest.md"}
    serialisable = {k: v for k, v in doc.items() if k != "targets_obj"}
    paths["json"].write_text(json.dumps(serialisable, indent=2, default=str) + "\n")
    paths["md"].write_text(markdown(doc, std, long))
    (out_dir / "latest.json").write_text(json.dumps(serialisable, indent=2, default=str) + "\n")
    paths["latest_json"] = out_dir / "latest.json"
    fig = chart(std)
    html = out_dir / "latest.html"
    # plotly.js from its CDN keeps the committed page small; the PNG is the offline view.
    fig.write_html(html, include_plotlyjs="cdn", full_html=True)
    paths["html"] = html
    if png:
        written = write_png(fig, out_dir / "latest.png")
        if written:
            paths["png"] = written
    return paths


def chart(res: ClipResults) -> Any:
    """Time per stage (cold, cached, by hand) against the decode-only limit."""
    import plotly.graph_objects as go

    cold = step_medians(res, "pipeline_cold")
    cached = step_medians(res, "pipeline_rerun_cli")
    stages = ["transcribe", "scenes", "chapters", "render"]
    hand = {
        kind: best[1] for kind in ("transcribe", "scenes", "render") if (best := fastest(res, kind))
    }
    fig = go.Figure()
    fig.add_bar(name="Genesis, cold", x=stages, y=[cold.get(s, 0) for s in stages])
    fig.add_bar(name="Genesis, nothing changed", x=stages, y=[cached.get(s, 0) for s in stages])
    fig.add_bar(name="Peers' fast paths", x=stages, y=[hand.get(s) for s in stages])
    decode = res.series["decode_only"].median() if "decode_only" in res.series else None
    if decode:
        fig.add_hline(
            y=decode,
            line_dash="dash",
            line_color="black",
            annotation_text=f"the limit: decode only {decode:.1f} s",
            annotation_position="top left",
        )
    c = res.clip
    fig.update_layout(
        title=f"Time per stage — {_dur(c.duration_s)} {c.width}x{c.height} clip "
        f"(medians; captions skipped)",
        yaxis_title="seconds",
        barmode="group",
        width=900,
        height=520,
        template="plotly_white",
    )
    return fig


def write_png(fig: Any, png: Path) -> Path | None:
    """PNG through kaleido when it is installed and finds a Chrome, else Playwright + chromium.

    Playwright screenshots a temporary page with plotly.js inlined (no network needed).
    """
    import tempfile

    chromium = "/usr/bin/chromium"
    try:
        import kaleido  # noqa: F401

        if Path(chromium).is_file():
            os.environ.setdefault("BROWSER_PATH", chromium)
        fig.write_image(png)
        return png
    except Exception as exc:  # not installed, or no browser it accepts: try Playwright
        log.debug("kaleido could not write the PNG (%s); using Playwright", exc)
    try:
        from playwright.sync_api import sync_playwright

        with tempfile.TemporaryDirectory(prefix="genesis-chart-") as tmp, sync_playwright() as p:
            html = Path(tmp) / "chart.html"
            fig.write_html(html, include_plotlyjs=True, full_html=True)
            kwargs: dict[str, Any] = {"headless": True, "args": ["--no-sandbox"]}
            if Path(chromium).is_file():
                kwargs["executable_path"] = chromium
            browser = p.chromium.launch(**kwargs)
            page = browser.new_page(viewport={"width": 920, "height": 540})
            page.goto(html.resolve().as_uri())
            page.wait_for_selector(".main-svg", timeout=15000)
            page.locator(".plotly-graph-div").screenshot(path=str(png))
            browser.close()
        return png
    except Exception as exc:
        log.warning("could not write %s (%s)", png, exc)
        return None


def environment(load_before: Sequence[float]) -> dict[str, Any]:
    import platform
    import socket

    import psutil

    cpu_model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for dist in ("faster-whisper", "ctranslate2", "scenedetect", "av", "opencv-python", "duckdb"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    from genesis_pipeline.media.ffmpeg import ffmpeg_exe

    try:
        ff = subprocess.run(
            [ffmpeg_exe(), "-version"], capture_output=True, text=True, check=False
        ).stdout.split("\n")[0]
    except OSError:
        ff = None
    return {
        "machine": socket.gethostname().split(".")[0],
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": psutil.virtual_memory().total / 2**30,
        "python": platform.python_version(),
        "versions": versions,
        "ffmpeg": ff,
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
    }
