"""Smart render vs full re-encode of an approved cut, with every boundary checked.

The cut keeps 70% of the scenes of a generated clip (the ground-truth cuts, so pieces are
frame-exact scenes; the dropped 30% are spread evenly). Each mode renders it ``--runs`` times in
a fresh process (wall time of ``render_cut`` and peak memory of the process tree); the whole
sound encoded alone (trim, concat, AAC: what a re-encode does) is timed too, as the floor of a
smart render that cannot copy the sound. Then both outputs are decoded and checked against the
source: frame count, every piece's first and last frame and the frames either side of every
copy/encode joint (mean absolute difference of 8x-downscaled grey frames, against the source
frame they should be and its neighbours), timestamps (increasing, unique, one frame apart),
sound length, and sound sync at every piece (cross-correlation with the source where it holds
speech: a re-encode is in sync to the sample, a smart render's copied sound is where its plan
put it, up to 512 samples off its pictures).

    .venv/bin/python benchmarks/render_modes.py [--clip standard|gop60|quick] [--ambience]
        [--runs 3] [--no-verify] [--keep DIR]

``standard`` is the suite's 5-minute 1280x720 30 fps clip (x264 defaults: GOP 250, keyframes
at scene cuts); ``gop60`` the same shots and speech encoded with ``-g 60``. Clips are cached in
``benchmarks/media/``. ``--ambience`` puts a pink-noise bed under the speech: the synthetic
speech alone (band-limited, with digital silence) is the AAC encoder's slowest kind of input
(4 s for the 225 s cut, against 2 s with the bed), and that sound pass is the floor of a smart
render whenever the sound cannot be copied (narration mixed in, a gain on the natural sound).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: `benchmarks` is a folder, not a package
    sys.path.insert(0, str(REPO))

DROP = 0.3
TARGET = 5.0
DOWNSCALE = 8


# --- the clip and the cut -------------------------------------------------------------------


def clip_for(name: str, *, ambience: bool = False) -> Any:
    """The benchmark clip (generated once, cached); with ``ambience``, the same pictures with a
    pink-noise bed under the speech (full-band sound, as a camera records it)."""
    clip = _clip(name)
    if not ambience:
        return clip
    import dataclasses

    from genesis_pipeline.media.ffmpeg import run_ffmpeg

    out = clip.path.with_name(f"{clip.path.stem}-ambience.mp4")
    if not out.is_file():
        tmp = out.with_name(f"tmp-{out.name}")
        noise = f"anoisesrc=color=pink:amplitude=0.03:sample_rate=48000:duration={clip.duration_s}"
        run_ffmpeg(
            ["-y", "-i", clip.path, "-f", "lavfi", "-i", noise, "-filter_complex",
             "[0:a][1:a]amix=inputs=2:normalize=0:duration=first[a]",
             "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", tmp],
            what=f"add ambience to {clip.path.name}",
        )  # fmt: skip
        tmp.replace(out)
    return dataclasses.replace(clip, path=out)


def _clip(name: str) -> Any:
    from benchmarks.footage import QUICK, RECIPES, STANDARD, ensure_clip

    if name == "quick":
        return ensure_clip(RECIPES[QUICK])
    if name == "standard":
        return ensure_clip(RECIPES[STANDARD])
    if name == "gop60":
        return ensure_clip(RECIPES[STANDARD], gop=60)
    raise SystemExit(f"unknown clip {name!r}")


def cut_of(clip: Any) -> list[Any]:
    """The approved cut: every scene but an evenly spread 30%."""
    from genesis_pipeline.media.synth import scene_frames
    from genesis_pipeline.stages.timeline import CutSegment

    scenes = scene_frames(clip)
    n = round(len(scenes) * DROP)
    step = len(scenes) / max(n, 1)
    dropped = {min(len(scenes) - 1, int(step * k + step / 2)) for k in range(n)}
    return [CutSegment.of_frames(clip, a, b) for i, (a, b) in enumerate(scenes) if i not in dropped]


# --- the measured work (child process) ------------------------------------------------------


def child(task: dict[str, Any]) -> dict[str, Any]:
    from genesis_pipeline.stages.render import AssemblyParams, render_cut

    clip = clip_for(task["clip"], ambience=task["ambience"])
    segments = cut_of(clip)
    out = Path(task["out"])
    if task["mode"] == "sound":
        from genesis_pipeline.stages.render.plan import plan_render
        from genesis_pipeline.stages.render.reencode import encode_sound

        params = AssemblyParams()
        plan = plan_render(segments, params)
        t0 = time.perf_counter()
        encode_sound(plan, params, out, lambda *_: None)
        return {"work_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    result = render_cut(segments, out, AssemblyParams(mode=task["mode"]))
    return {
        "work_s": time.perf_counter() - t0,
        "frames": result.frames,
        "frames_copied": result.frames_copied,
        "frames_encoded": result.frames_encoded,
    }


# --- checks ---------------------------------------------------------------------------------


def small(frame: Any) -> Any:
    import numpy as np

    g = frame.to_ndarray(format="gray").astype(np.float32)
    h, w = g.shape[0] // DOWNSCALE * DOWNSCALE, g.shape[1] // DOWNSCALE * DOWNSCALE
    return g[:h, :w].reshape(h // DOWNSCALE, DOWNSCALE, w // DOWNSCALE, DOWNSCALE).mean((1, 3))


def decode_some(path: Path, wanted: set[int]) -> tuple[dict[int, Any], list[float]]:
    """The wanted frames (by decode rank) downscaled, and every frame's time."""
    import av

    frames, times = {}, []
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for n, frame in enumerate(c.decode(stream)):
            times.append(float(frame.time))
            if n in wanted:
                frames[n] = small(frame)
    return frames, times


def verify(clip: Any, segments: list[Any], out: Path, *, smart: bool) -> dict[str, Any]:
    """Check ``out`` against the source at every boundary; the figures for the table."""
    import numpy as np

    from genesis_pipeline.media.audio_analysis import decode_audio, rms_db
    from genesis_pipeline.stages.render.smart import plan_smart

    # Output frame -> source frame; the boundaries worth looking at.
    src_of: list[int] = [f for s in segments for f in range(s.start_frame, s.end_frame)]
    smart_plan = plan_smart(segments)
    spans = smart_plan.spans
    planned = smart_plan.sound_late if smart else (0,) * len(segments)
    copied = {
        f for s in spans if smart and s.kind == "copy" for f in range(s.start, s.start + s.frames)
    }
    out_points: set[int] = set()
    cut_points: list[int] = []  # output frames that start a piece
    t = 0
    for s in segments:
        cut_points.append(t)
        out_points |= {t, t + 1, t + s.frames - 2, t + s.frames - 1}
        t += s.frames
    for s in spans:
        out_points |= {s.start + d for d in (-2, -1, 0, 1)}
    out_points = {p for p in out_points if 0 <= p < len(src_of)}
    src_points = {src_of[p] + d for p in out_points for d in (-1, 0, 1)}
    out_frames, out_times = decode_some(out, out_points)
    src_frames, _ = decode_some(clip.path, src_points)

    def mad(a: Any, b: Any) -> float:
        return float(np.abs(a - b).mean())

    err_copy = [mad(out_frames[p], src_frames[src_of[p]]) for p in out_points if p in copied]
    err_enc = [mad(out_frames[p], src_frames[src_of[p]]) for p in out_points if p not in copied]
    # Across each cut, the frame that should not be there is far from what is there.
    neighbour = []
    for k, p in enumerate(cut_points):
        first = src_of[p]
        if first - 1 in src_frames:
            neighbour.append(mad(out_frames[p], src_frames[first - 1]))
        last_out = (cut_points[k + 1] if k + 1 < len(cut_points) else len(src_of)) - 1
        if src_of[last_out] + 1 in src_frames:
            neighbour.append(mad(out_frames[last_out], src_frames[src_of[last_out] + 1]))
    steps = np.diff(np.array(out_times))
    fps = clip.fps
    pts_ok = bool(
        len(out_times) == len(src_of)
        and steps.size
        and np.all(np.abs(steps - 1 / fps) < 1e-3 / fps)
        and abs(out_times[0]) < 1e-6
    )

    sr = 48000
    out_a, src_a = decode_audio(out, sr), decode_audio(clip.path, sr)
    lags, misses = [], []
    win, search = sr, 960
    t = 0
    for s, late in zip(segments, planned, strict=True):
        o0 = round(t / fps * sr) + sr // 4
        s0 = round(s.start_frame / fps * sr) + sr // 4
        t += s.frames
        ref = src_a[max(0, s0 - search) : s0 + win + search]
        if s0 < search or ref.size < win + 2 * search or rms_db(ref) < -40:
            continue
        corr = np.correlate(ref, out_a[o0 : o0 + win], mode="valid")
        lag = search - int(np.argmax(corr))  # samples the sound plays after its pictures
        lags.append(lag)
        misses.append(lag - late)
    return {
        "frames": len(out_times),
        "expected": len(src_of),
        "max_err_copied": max(err_copy, default=None),
        "max_err_encoded": max(err_enc, default=None),
        "min_err_neighbour": min(neighbour, default=None),
        "boundary_frames": len(out_points),
        "pts_ok": pts_ok,
        "av_diff_ms": round(abs(out_a.size / sr - len(out_times) / fps) * 1000, 2),
        "max_sync_lag_samples": max((abs(x) for x in lags), default=None),
        "max_sync_lag_vs_plan_samples": max((abs(x) for x in misses), default=None),
        "sync_pieces": len(lags),
    }


# --- driver ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", default="standard", choices=("standard", "gop60", "quick"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ambience", action="store_true", help="add a full-band noise bed")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the renders in this folder")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        sys.stdout.write("\n" + json.dumps(child(json.loads(args.child))) + "\n")
        return 0

    from benchmarks.measure import run_measured

    clip = clip_for(args.clip, ambience=args.ambience)
    segments = cut_of(clip)
    work = args.keep or Path(tempfile.mkdtemp(prefix="genesis-render-modes-"))
    work.mkdir(parents=True, exist_ok=True)
    kept = sum(s.frames for s in segments)
    print(
        f"clip {clip.path.name}: {clip.duration_s:.0f} s {clip.width}x{clip.height} "
        f"{clip.fps} fps, "
        f"{len(clip.cuts_s) + 1} scenes; cut keeps {len(segments)} ({kept} frames, "
        f"{kept / clip.fps:.1f} s)",
        flush=True,
    )
    rows: dict[str, list[Any]] = {}
    # Modes take turns, so that a change in the machine's load hits them alike.
    for r in range(args.runs):
        for mode in ("reencode", "smart", "sound"):
            out = work / f"{mode}.mp4"
            task = {"clip": args.clip, "ambience": args.ambience, "mode": mode, "out": str(out)}
            cmd = [sys.executable, __file__, "--child", json.dumps(task)]
            sample = run_measured(cmd)
            rows.setdefault(mode, []).append(sample)
            print(
                f"  run {r + 1} {mode}: {sample.data['work_s']:.2f} s, CPU {sample.cpu_s:.1f} s",
                flush=True,
            )

    def med(mode: str) -> float:
        return statistics.median(s.data["work_s"] for s in rows[mode])

    speedup = med("reencode") / med("smart")
    print()
    print(
        f"| mode | work s (median of {args.runs}) | min | max | CPU s | peak RSS MB "
        "| frames copied / encoded |"
    )
    print("|---|---|---|---|---|---|---|")
    for mode, label in (
        ("reencode", "full re-encode"),
        ("smart", "smart"),
        ("sound", "sound encoded whole, alone"),
    ):
        ws = [s.data["work_s"] for s in rows[mode]]
        rss = max(s.peak_rss_mb for s in rows[mode])
        d = rows[mode][0].data
        counts = f"{d['frames_copied']} / {d['frames_encoded']}" if "frames" in d else "-"
        cpu = statistics.median(s.cpu_s for s in rows[mode])
        print(
            f"| {label} | {med(mode):.2f} | {min(ws):.2f} | {max(ws):.2f} | {cpu:.1f} "
            f"| {rss:.0f} | {counts} |"
        )
    verdict = "meets" if speedup >= TARGET else "misses"
    cpu_ratio = statistics.median(s.cpu_s for s in rows["reencode"]) / statistics.median(
        s.cpu_s for s in rows["smart"]
    )
    print(
        f"\nspeed-up smart vs re-encode: {speedup:.1f}x wall ({verdict} the {TARGET:g}x target), "
        f"{cpu_ratio:.1f}x CPU"
    )

    if not args.no_verify:
        print("\n| check | re-encode | smart |\n|---|---|---|")
        checks = {
            mode: verify(clip, segments, work / f"{mode}.mp4", smart=mode == "smart")
            for mode in ("reencode", "smart")
        }
        for key in checks["smart"]:
            print(f"| {key} | {checks['reencode'][key]} | {checks['smart'][key]} |")
    if args.keep is None:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
