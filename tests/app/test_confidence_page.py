"""Confidence page: charts of the scenes' confidences, a selection focuses the Scenes page."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from support.apptest import APP, assert_no_exception, texts

from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.queries import scenes_table
from genesis_pipeline.services.scene_browser import min_confidence


def _array(values: list | dict) -> np.ndarray:
    """A figure's data array as the JSON carries it: a list, or numpy's bytes in base64."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def _charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_charts_show_every_scene_in_timeline_order(make_app, app_project) -> None:
    store, pid = app_project
    scenes = scenes_table(store, pid)
    at = make_app("views/confidence.py")
    assert_no_exception(at)
    timeline, detector, histograms = _charts(at)
    names = [t["name"] for t in timeline["data"]]
    assert names == ["detection", "caption", "transcript", "cut score"]
    ordered = scenes.sort_values("timeline_start_s")
    for trace in timeline["data"]:
        assert [row[0] for row in trace["customdata"]] == ordered.id.tolist()
        assert trace["x"] == pytest.approx(ordered.timeline_start_s.tolist())
    detection = timeline["data"][0]["y"]
    assert detection == pytest.approx(ordered.detection_confidence.tolist())
    assert [t["type"] for t in histograms["data"]] == ["histogram"] * 4
    # The detector's score along the first file, a point per frame, with its boundaries.
    first = scenes[scenes.media_id == scenes.media_id.iloc[0]]
    series = ["adaptive_ratio", "gradual_step", "gradual_low"]
    assert [t["meta"] for t in detector["data"]] == series
    assert len(_array(detector["data"][0]["x"])) == int(first.end_frame.max())
    lines = [s for s in detector["layout"]["shapes"] if s["type"] == "line" and s["x0"] == s["x1"]]
    starts = {round(float(v), 3) for v in first.start_s.iloc[1:]}
    assert {round(s["x0"], 3) for s in lines} == starts
    assert len(histograms["data"][0]["x"]) == len(scenes)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Scenes"] == str(len(scenes))
    # The lowest-confidence table starts with the weakest scene.
    weakest = scenes.assign(w=min_confidence(scenes)).sort_values(["w", "timeline_start_s"])
    table = at.dataframe[0].value
    head = weakest.head(10)
    # One scene numbering: the file and the scene's number in it, as the Scenes page says.
    assert list(zip(table["media_name"], table["idx"], strict=True)) == [
        (f, f"scene {int(i) + 1}") for f, i in zip(head.media_name, head.idx, strict=True)
    ]


def test_selection_sets_focus_and_opens_scenes(make_app, app_project) -> None:
    store, pid = app_project
    ids = scenes_table(store, pid).id.tolist()[1:3]
    at = make_app("views/confidence.py")
    assert at.button(key="conf_open_scenes").disabled
    # What the browser sends for a box selection over two scenes (on two traces).
    at.session_state["conf_timeline"] = {
        "selection": {
            "points": [
                {"curve_number": 0, "point_index": 1, "customdata": [ids[0], "main.mp4"]},
                {"curve_number": 0, "point_index": 2, "customdata": [ids[1], "main.mp4"]},
                {"curve_number": 1, "point_index": 1, "customdata": [ids[0], "main.mp4"]},
            ],
            "point_indices": [1, 2],
            "box": [{"x": [2.0, 9.0], "y": [0, 1]}],
            "lasso": [],
        }
    }
    at.run()
    assert_no_exception(at)
    assert at.session_state["scene_focus_ids"] == ids
    scenes = scenes_table(store, pid).set_index("id")
    named = [f"{scenes.media_name[i]} · scene {int(scenes.idx[i]) + 1}" for i in ids]
    assert f"2 scenes picked:** {named[0]}, {named[1]}" in texts(at)
    at.button(key="conf_open_scenes").click().run()
    assert_no_exception(at)
    assert at.title[0].value == "Scenes"
    assert at.session_state["scene_focus_ids"] == ids


def test_clear_and_lowest_scenes_button(make_app, app_project) -> None:
    store, pid = app_project
    scenes = scenes_table(store, pid)
    at = make_app("views/confidence.py")
    at.session_state["scene_focus_ids"] = [int(scenes.id.iloc[0])]
    at.run()
    at.button(key="conf_clear_focus").click().run()
    assert at.session_state["scene_focus_ids"] is None
    at.number_input(key="conf_low_n").set_value(3).run()
    at.button(key="conf_open_lowest").click().run()
    assert_no_exception(at)
    weakest = scenes.assign(w=min_confidence(scenes)).sort_values(["w", "timeline_start_s"])
    assert at.session_state["scene_focus_ids"] == weakest.id.head(3).tolist()
    assert at.title[0].value == "Scenes"


@pytest.fixture()
def captionless(small_project):
    """A processed project of its own whose captions step was skipped (the model is missing)."""
    store, pid = small_project
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    return store, pid


def test_missing_captions_are_explained(captionless) -> None:
    from streamlit.testing.v1 import AppTest

    _store, pid = captionless
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["project_id"] = pid
    at.run()
    at.switch_page("views/confidence.py")
    at.run()
    assert_no_exception(at)
    note = " ".join(i.value for i in at.info)
    assert "Captions are off: no captioning model is installed on this server" in note
    assert "no-such-model" not in texts(at)  # the detail waits behind a toggle
    at.toggle(key="conf_caption_details").set_value(True).run()
    assert "no-such-model" in texts(at)
    timeline, _detector, histograms = _charts(at)
    caption = next(t for t in timeline["data"] if t["name"] == "caption")
    assert all(v is None for v in caption["y"])
    assert [a["text"] for a in histograms["layout"]["annotations"]].count("no values") >= 1
