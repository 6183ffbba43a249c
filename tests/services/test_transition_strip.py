"""A strip of frames across a gradual transition (the Scenes page's cards), decoded from the
footage where the stored scene says the transition lies."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.media.synth_edits import EditShot, Join, make_edited_footage
from genesis_pipeline.services.detector_trace import transition_strip
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.queries import scenes_table
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store
from genesis_pipeline.store import scenes as scenes_sql

FPS = 25


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    """A 0.8 s (20-frame) dissolve from frame 30 to 50, then a hard cut at frame 80."""
    return make_edited_footage(
        tmp_path_factory.mktemp("strip") / "strip.mp4",
        [EditShot("testsrc2", 2.0), EditShot("smptebars", 2.0), EditShot("rgbtestsrc", 1.6)],
        [Join("dissolve", 0.8, "fade"), Join("cut")],
        fps=FPS,
    )


def _small(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L").resize((64, 36)), np.float32)


@pytest.fixture(scope="module")
def frames(clip) -> list[np.ndarray]:
    with av.open(str(clip.path)) as c:
        return [_small(f.to_image()) for f in c.decode(video=0)]


def test_strip_spans_the_transition(clip, frames, tmp_path: Path) -> None:
    store = Store(Settings(home=tmp_path / "home"))
    pid = create_project(store, "strip", actor=ADMIN).id
    (added,) = add_media(store, pid, [clip.path], actor=ADMIN)
    media = added.media
    diss, cut = clip.boundaries
    assert (diss.start, diss.end, cut.start) == (30, 50, 80)

    def row(i: int, a: int, b: int, transition: dict) -> dict:
        detection = {"detector": "adaptive", **transition}
        return {"idx": i, "start_frame": a, "end_frame": b, "start_s": a / FPS,
                "end_s": b / FPS, "metadata": {"detection": detection}}  # fmt: skip

    rows = [
        row(0, 0, 40, {}),
        row(1, 40, 80, {"transition": "gradual", "transition_style": "dissolve",
                        "transition_start_s": 30 / FPS, "transition_end_s": 50 / FPS}),
        row(2, 80, clip.frames, {"transition": "cut", "transition_start_s": 80 / FPS,
                                 "transition_end_s": 80 / FPS}),
    ]  # fmt: skip
    with store.db.write() as con:
        scenes_sql.replace_scenes(con, project_id=pid, media_id=media.id, cache_key="k", rows=rows)
    table = scenes_table(store, pid).sort_values("idx")
    first, *rest = table.transition.tolist()
    assert not isinstance(first, str) and rest == ["dissolve", "cut"]  # a first scene: none
    ids = table.id.tolist()

    strip = transition_strip(store, pid, ids[1])
    assert len(strip) == 5
    # The old shot's last frame before, three frames inside (evenly), the new shot's first.
    times = [s.time_s * FPS for s in strip]
    assert times == pytest.approx([29, 33.33, 40, 46.67, 50], abs=0.01)
    # Each still is the frame shown at its time (the last one starting by then).
    for t, s in zip(times, strip, strict=True):
        pic = _small(Image.open(io.BytesIO(s.jpeg)))
        nearest = int(np.argmin([np.abs(pic - f).mean() for f in frames]))
        assert nearest == int(t + 1e-6), (t, nearest)
    assert Image.open(io.BytesIO(strip[0].jpeg)).width == 160
    # A cut and a first scene have no strip; a scene of another project is not found.
    assert transition_strip(store, pid, ids[2]) == []
    assert transition_strip(store, pid, ids[0]) == []
    with pytest.raises(NotFoundError):
        transition_strip(store, pid + 1, ids[1])
