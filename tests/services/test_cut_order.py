"""The order of the cut: chapters move as blocks, scenes within their chapter; the cut's
segments, its chapters, an export and a render follow; a re-run keeps the order; moves and
resets are undone one at a time (also from the CLI); trims count in the chapters of the cut."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import NotFoundError, PermissionDeniedError
from genesis_pipeline.media.ffmpeg import ffmpeg_exe
from genesis_pipeline.media.synth import Shot, make_footage
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.access import Actor, local_actor
from genesis_pipeline.services.chapters import chapters_on_cut, load_chapter_inputs, save_rules
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.cut_order import (
    OrderBlock,
    cut_order,
    merge_order,
    move_chapter,
    move_scene,
    order_history,
    reset_order,
    undo_order_change,
)
from genesis_pipeline.services.exports import build_export
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.queries import scenes_table
from genesis_pipeline.services.review import set_trim
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.chapters import Rules
from genesis_pipeline.store import Store

ME = local_actor()


def cid(block: OrderBlock) -> int:
    assert block.chapter_id is not None
    return block.chapter_id


def test_merge_order_keeps_unmoved_items_after_their_predecessor() -> None:
    assert merge_order(list("abcd"), {}) == list("abcd")
    # c moved first: d (never moved) follows c, b follows a.
    assert merge_order(list("abcd"), {"c": 0, "a": 1}) == list("cdab")
    # A new item before every stored one stays first.
    assert merge_order(list("xab"), {"b": 0, "a": 1}) == list("xba")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, int]:
    """Two silent clips of distinct shots, chaptered short so there are several chapters."""
    d = tmp_path_factory.mktemp("order")
    a = make_footage(
        d / "a.mp4",
        (Shot("smptebars", 1.6), Shot("testsrc2", 1.6), Shot("mandelbrot", 1.6)),
        audio=False,
    )
    b = make_footage(d / "b.mp4", (Shot("rgbtestsrc", 1.6), Shot("testsrc", 1.6)), audio=False)
    store = Store(Settings(home=d / "home", offline="1", caption_model=str(d / "none")))
    pid = create_project(store, "Order", actor=ADMIN).id
    add_media(store, pid, [a.path, b.path], actor=ADMIN)
    save_rules(
        store, pid, Rules(min_chapter_s=3.0, max_chapter_s=5.0, caption_similarity=0.0), actor=ADMIN
    )
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    return store, pid


def test_moves_reorder_the_cut_and_its_chapters(project) -> None:
    store, pid = project
    order = cut_order(store, pid)
    assert not order.reordered
    assert len(order.blocks) >= 2, order
    natural = list(order.scene_ids)
    assert list(load_cut(store, pid).scene_ids) == natural
    try:
        last = order.blocks[-1]
        assert move_chapter(store, pid, cid(last), -1, actor=ME) == len(order.blocks) - 2
        moved = cut_order(store, pid)
        assert moved.reordered
        assert moved.blocks[-2].chapter_id == last.chapter_id
        cut = load_cut(store, pid)
        assert list(cut.scene_ids) == list(moved.scene_ids) != natural
        # The chapters of the cut follow, in cut order and back to back.
        assert [c.chapter_id for c in cut.chapters] == [b.chapter_id for b in moved.blocks]
        assert cut.chapters[0].start_s == 0
        for a, b in zip(cut.chapters, cut.chapters[1:], strict=False):
            assert b.start_s == pytest.approx(a.end_s)
        # A scene moves within its chapter only, and stops at its ends.
        big = next(b for b in moved.blocks if len(b.scene_ids) >= 2)
        first = big.scene_ids[0]
        assert move_scene(store, pid, first, 5, actor=ME) == len(big.scene_ids) - 1
        again = next(b for b in cut_order(store, pid).blocks if b.chapter_id == big.chapter_id)
        assert again.scene_ids == (*big.scene_ids[1:], first)
        with pytest.raises(NotFoundError):
            move_scene(store, pid, 10**9, 1, actor=ME)
        with pytest.raises(PermissionDeniedError):
            move_chapter(store, pid, cid(last), 1, actor=Actor("user", "v", "viewer"))
        # The page's table and the "cut order" sort say the same.
        table = scenes_table(store, pid).sort_values("cut_position")
        assert list(table.id) == list(cut_order(store, pid).scene_ids)
    finally:
        reset_order(store, pid, actor=ME)
    assert list(cut_order(store, pid).scene_ids) == natural


def scene_keys(store: Store, pid: int) -> list[tuple[int, int]]:
    """The cut order as scenes' (media, first frame): what survives a re-detection."""
    table = scenes_table(store, pid).set_index("id")
    return [
        (int(table.media_id[i]), int(table.start_frame[i])) for i in cut_order(store, pid).scene_ids
    ]


def test_a_rerun_keeps_the_order(project) -> None:
    store, pid = project
    order = cut_order(store, pid)
    natural = scene_keys(store, pid)
    try:
        move_chapter(store, pid, cid(order.blocks[0]), 1, actor=ME)
        before = scene_keys(store, pid)
        assert before != natural
        report = ProjectPipelineService(store).run(pid, RunOptions(render=False, force=True))
        assert report.status == "succeeded", report.error
        assert scene_keys(store, pid) == before
    finally:
        reset_order(store, pid, actor=ME)


def undo_everything(store: Store, pid: int) -> None:
    """Undo every standing move of earlier tests (back to the footage's order, log all undone)."""
    while any(not c.undone for c in order_history(store, pid, limit=1000)):
        undo_order_change(store, pid, actor=ME)


def test_undo_takes_moves_and_a_reset_back_one_at_a_time(project) -> None:
    from genesis_pipeline.services.activity import activity

    store, pid = project
    undo_everything(store, pid)
    natural = cut_order(store, pid)
    assert not natural.reordered
    last = natural.blocks[-1]
    big = next(b for b in natural.blocks if len(b.scene_ids) >= 2)
    try:
        move_chapter(store, pid, cid(last), -1, actor=ME)
        after_chapter = cut_order(store, pid).scene_ids
        move_scene(store, pid, big.scene_ids[0], 1, actor=ME)
        after_scene = cut_order(store, pid).scene_ids
        assert len({natural.scene_ids, after_chapter, after_scene}) == 3
        # A move that changes nothing (a chapter's last scene moved later) is not logged.
        move_scene(store, pid, cut_order(store, pid).blocks[0].scene_ids[-1], 1, actor=ME)
        reset_order(store, pid, actor=ME)
        assert cut_order(store, pid).scene_ids == natural.scene_ids
        history = order_history(store, pid)
        labels = [c.label for c in history[:3]]
        assert labels[0] == "Reset the order to the footage's"
        assert labels[1].startswith("Moved scene ") and labels[1].endswith(" later")
        assert labels[2] == f"Moved chapter “{last.title}” earlier"
        assert history[0].who == ME.name and not any(c.undone for c in history[:3])
        with pytest.raises(PermissionDeniedError):
            undo_order_change(store, pid, actor=Actor("user", "v", "viewer"))
        # Undo walks back: the reset, the scene's move, the chapter's move.
        assert undo_order_change(store, pid, actor=ME).label == labels[0]
        assert cut_order(store, pid).scene_ids == after_scene
        undo_order_change(store, pid, actor=ME)
        assert cut_order(store, pid).scene_ids == after_chapter
        undo_order_change(store, pid, actor=ME)
        assert cut_order(store, pid).scene_ids == natural.scene_ids
        assert all(c.undone for c in order_history(store, pid, limit=1000))
        with pytest.raises(NotFoundError, match="nothing to undo"):
            undo_order_change(store, pid, actor=ME)
        # A move after an undo is undone on its own.
        move_scene(store, pid, big.scene_ids[0], 1, actor=ME)
        undo_order_change(store, pid, actor=ME)
        assert cut_order(store, pid).scene_ids == natural.scene_ids
        feed = [a.what for a in activity(store, pid)]
        assert f"undid “{labels[0]}”" in feed and "moved a chapter in the cut's order" in feed
    finally:
        reset_order(store, pid, actor=ME)


def genesis(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_order_from_the_command_line(project) -> None:
    store, pid = project
    undo_everything(store, pid)
    p = ["--project-id", str(pid)]
    shown = json.loads(genesis(store.home, "order", "show", *p, "--json").stdout)
    assert shown["reordered"] is False
    blocks = shown["blocks"]
    chapter = blocks[-1]["chapter_id"]
    moved = genesis(store.home, "order", "move-chapter", *p, "--chapter-id", str(chapter),
                    "--by", "-1", "--json")  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["place"] == len(blocks) - 2
    assert cut_order(store, pid).blocks[-2].chapter_id == chapter
    text = genesis(store.home, "order", "show", *p).stdout
    assert f"(chapter id {chapter})" in text and "scene 1 (scene id" in text
    history = genesis(store.home, "order", "history", *p).stdout
    assert history.splitlines()[0].endswith(f"Moved chapter “{blocks[-1]['title']}” earlier")
    undone = genesis(store.home, "order", "undo", *p)
    assert undone.returncode == 0 and undone.stdout.startswith("undid: Moved chapter")
    assert not cut_order(store, pid).reordered
    missing = genesis(store.home, "order", "move-scene", *p, "--scene-id", "999999", "--by", "1")
    assert missing.returncode == 2, missing
    assert missing.stderr.strip().startswith("genesis: error: scene 999999")
    assert len(missing.stderr.strip().splitlines()) == 1


def edl_sources(text: str) -> list[tuple[str, str]]:
    """(source in, source out) of each picture event of a CMX 3600 EDL, in record order."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0].isdigit() and parts[2] == "V":
            out.append((parts[-4], parts[-3]))
    return out


def test_an_export_follows_the_order(project) -> None:
    store, pid = project
    natural = edl_sources(build_export(store, pid, "edl").text)
    order = cut_order(store, pid)
    try:
        move_chapter(store, pid, cid(order.blocks[-1]), -(len(order.blocks) - 1), actor=ME)
        moved = edl_sources(build_export(store, pid, "edl").text)
        assert sorted(moved) == sorted(natural) and moved != natural
        n = len(order.blocks[-1].scene_ids)
        assert moved[:n] == natural[-n:]
    finally:
        reset_order(store, pid, actor=ME)


def gray_frame(path: Path, t: float) -> np.ndarray:
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{t:.3f}", "-i", str(path), "-frames:v", "1",
         "-vf", "scale=64:36", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).astype(float).reshape(36, 64)


def test_the_render_follows_the_order(project, tmp_path: Path) -> None:
    """A small render of the reordered cut shows each scene where the cut puts it."""
    from genesis_pipeline.stages.render import AssemblyParams, render_cut
    from genesis_pipeline.stages.timeline import cut_starts

    store, pid = project
    order = cut_order(store, pid)
    try:
        move_chapter(store, pid, cid(order.blocks[-1]), -1, actor=ME)
        cut = load_cut(store, pid)
        out = tmp_path / "cut.mp4"
        render_cut(
            list(cut.segments), out, AssemblyParams(width=160, height=90, preset="ultrafast")
        )
        for start, seg in zip(cut_starts(cut.segments), cut.segments, strict=True):
            mid = seg.duration_s / 2
            got = gray_frame(out, start + mid)
            want = gray_frame(seg.media_path, seg.start_s + mid)
            others = [
                gray_frame(o.media_path, o.start_s + o.duration_s / 2)
                for o in cut.segments
                if o is not seg
            ]
            err = np.abs(got - want).mean()
            assert all(err < np.abs(got - o).mean() for o in others), (seg, err)
    finally:
        reset_order(store, pid, actor=ME)


def test_chapters_of_the_cut_count_trimmed_lengths(project) -> None:
    store, pid = project
    scenes = scenes_table(store, pid)
    row = scenes.iloc[0]
    sid, first, last = int(row.id), int(row.start_frame), int(row.end_frame)
    before = chapters_on_cut(_saved(store, pid), load_chapter_inputs(store, pid), set())
    try:
        set_trim(store, pid, sid, first + 10, last, actor=ADMIN)
        inputs = load_chapter_inputs(store, pid)
        fps = (last - first) / float(row.duration_s)
        assert inputs.kept_s[sid] == pytest.approx(float(row.duration_s) - 10 / fps)
        after = chapters_on_cut(_saved(store, pid), inputs, set())
        assert after.cut_s == pytest.approx(before.cut_s - 10 / fps)
        assert after.cut_s == pytest.approx(load_cut(store, pid).duration_s)
        table = scenes_table(store, pid).set_index("id")
        assert bool(table.trimmed[sid])
        assert table.kept_s[sid] == pytest.approx(inputs.kept_s[sid])
    finally:
        set_trim(store, pid, sid, first, last, actor=ADMIN)


def _saved(store: Store, pid: int):
    from genesis_pipeline.services.chapters import saved_chapters

    return saved_chapters(store, pid)
