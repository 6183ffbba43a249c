"""The benchmark's code path on an 8 s clip (``--quick``), so it cannot rot.

Runs ``python -m benchmarks --quick`` as a user would and checks that every target and every
measurement made it into the JSON and the Markdown table, with figures that make sense (the
accuracy figures are real: the quick clip's cuts and words are known).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is a top-level folder, not an installed package
    sys.path.insert(0, str(REPO))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-results")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-png", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_json_has_every_target_and_measurement(quick_results: Path) -> None:
    from benchmarks.report import MEASUREMENT_ROWS, TARGET_IDS

    files = sorted(quick_results.glob("????-??-??-*.json"))
    assert len(files) == 1
    doc = json.loads(files[0].read_text())
    assert doc["quick"] is True and doc["runs"] == 1
    assert [t["id"] for t in doc["targets"]] == list(TARGET_IDS)
    statuses = {t["id"]: t["status"] for t in doc["targets"]}
    # Every target the quick run can measure has a verdict; only the 20-minute ones wait.
    assert {k for k, v in statuses.items() if v == "n/a"} == {
        "long_peak_memory",
        "long_chapters_only",
        "long_chapters_process",
    }
    (clip,) = doc["clips"]
    series = clip["series"]
    wanted = set(MEASUREMENT_ROWS) - {"baseline_total"}
    assert wanted <= set(series), wanted - set(series)
    for name in wanted:
        assert series[name]["runs"] == 1
        assert series[name]["median_wall_s"] > 0
        assert series[name]["peak_rss_mb"] > 10
    # Every pipeline step was recorded, cold and re-run; the re-run hit the cache throughout.
    cold = series["pipeline_cold"]["data"][0]["step_details"]
    rerun = series["pipeline_rerun_cli"]["data"][0]["step_details"]
    steps = ["media", "proxies", "transcribe", "scenes", "captions", "chapters"]
    steps += ["narration", "render"]
    assert [d["step"] for d in cold] == [d["step"] for d in rerun] == steps
    assert all(d["cache_hit"] for d in rerun if d["step"] in ("transcribe", "scenes", "render"))
    # Both renders hold exactly the approved frames.
    for mode in ("reencode", "smart"):
        r = series[f"render_{mode}"]["data"][0]
        assert r["frames"] == r["expected_frames"] > 0


def test_accuracy_is_measured_against_ground_truth(quick_results: Path) -> None:
    doc = json.loads((quick_results / "latest.json").read_text())
    facts = doc["clips"][0]["facts"]
    cuts = ["cuts_genesis", "cuts_genesis_pipeline"]
    cuts += [f"cuts_scenedetect_{v}" for v in ("defaults", "opencv_d", "pyav_d")]
    for key in cuts:
        assert facts[key]["truth"] == 2
        assert facts[key]["recall"] == 1.0 and facts[key]["precision"] == 1.0, (key, facts[key])
    wers = ["wer_genesis", "wer_genesis_pipeline", "wer_whisper_defaults"]
    wers += [f"wer_peer_whisper_b{b}_beam{k}" for b in (8, 16) for k in (5, 3)]
    for key in wers:
        assert 0.0 <= facts[key] <= 0.35, (key, facts[key])


def test_markdown_table_has_every_row(quick_results: Path) -> None:
    from benchmarks.report import ROW_LABELS

    md = (quick_results / "latest.md").read_text()
    doc = json.loads((quick_results / "latest.json").read_text())
    assert "| target | goal | measured | result | by | how |" in md
    for t in doc["targets"]:
        assert f"| {t['what']} |" in md
    for label in ROW_LABELS.values():
        assert f"| {label} |" in md
    assert "Load average" in md
    assert (quick_results / "latest.html").is_file()
