"""Timecoded comments (services.comments): threads, mentions, resolve, author-only edits,
comments that stay with their scene through a re-detection and orphaned ones that stay at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.actors import ADMIN
from support.scenes import store_scenes

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError, NotFoundError, PermissionDeniedError
from genesis_pipeline.media.synth import Shot, make_footage
from genesis_pipeline.services import access, comments
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.review import set_scene_status
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store
from genesis_pipeline.store import chapters as chapters_sql

ANA = Actor("user", "ana", "reviewer")
VIC = Actor("user", "vic", "viewer")
BEA = Actor("user", "bea", "reviewer")
FPS = 25


def detect(store: Store, pid: int, media_id: int, cuts: list[int]) -> list[int]:
    return store_scenes(store, pid, media_id, cuts, frames=75, fps=FPS)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("comments-clip") / "clip.mp4"
    shots = (Shot("smptebars", 1.0), Shot("testsrc2", 1.0), Shot("rgbtestsrc", 1.0))
    return make_footage(out, shots, audio=False).path


@pytest.fixture()
def project(home: Path, clip: Path) -> tuple[Store, int, int, list[int]]:
    store = Store(Settings(home=home))
    pid = create_project(store, "Comments", actor=ADMIN).id
    media_id = add_media(store, pid, [clip], actor=ADMIN)[0].media.id
    return store, pid, media_id, detect(store, pid, media_id, [25, 50])


def test_threads_keep_their_order_and_replies_join_the_thread(project) -> None:
    store, pid, _m, scenes = project
    first = comments.add_comment(store, pid, "too dark", actor=ANA, scene_id=scenes[1])
    other = comments.add_comment(store, pid, "nice", actor=BEA, scene_id=scenes[0], start_s=0.4)
    r1 = comments.reply(store, pid, first.id, "agreed", actor=VIC)
    r2 = comments.reply(store, pid, r1.id, "fixed in the grade", actor=ANA)  # reply to a reply
    comments.reply(store, pid, other.id, "thanks", actor=ANA)
    threads = comments.threads(store, pid)
    assert [t.id for t in threads] == [first.id, other.id]
    assert [c.body for c in threads[0].comments] == ["too dark", "agreed", "fixed in the grade"]
    assert r2.parent_id == first.id and r2.thread_id == first.id
    assert [c.author_name for c in threads[0].comments] == ["ana", "vic", "ana"]
    assert threads[1].root.start_s == pytest.approx(0.4)
    per_scene = comments.scene_counts(threads)
    assert (per_scene[scenes[1]].threads, per_scene[scenes[1]].comments) == (1, 3)
    assert scenes[2] not in per_scene
    log = [e.action for e in access.audit_log(store, pid)]
    assert log.count("comments.create") == 2 and log.count("comments.reply") == 3


def test_resolve_and_reopen_by_reviewers_or_the_author_only(project) -> None:
    store, pid, _m, scenes = project
    mine = comments.add_comment(store, pid, "use take two", actor=VIC, scene_id=scenes[0])
    theirs = comments.add_comment(store, pid, "check the name", actor=ANA, scene_id=scenes[2])
    reply = comments.reply(store, pid, theirs.id, "on it", actor=VIC)
    assert comments.scenes_with_open_comments(comments.threads(store, pid)) == {
        scenes[0],
        scenes[2],
    }
    # A viewer resolves the thread they started, not one someone else started.
    assert comments.resolve_thread(store, pid, mine.id, actor=VIC).resolved
    with pytest.raises(PermissionDeniedError, match="resolve comment thread"):
        comments.resolve_thread(store, pid, reply.id, actor=VIC)
    done = comments.resolve_thread(store, pid, reply.id, actor=BEA)  # by a reply: its thread
    assert (done.id, done.resolved_by) == (theirs.id, "user:bea")
    threads = comments.threads(store, pid)
    assert comments.counts(threads).open == 0
    assert comments.scenes_with_open_comments(threads) == set()
    again = comments.reopen_thread(store, pid, theirs.id, actor=ANA)
    assert not again.resolved and again.resolved_by is None
    assert comments.scenes_with_open_comments(comments.threads(store, pid)) == {scenes[2]}


def test_only_the_author_edits_and_edited_at_is_kept(project) -> None:
    store, pid, _m, scenes = project
    c = comments.add_comment(store, pid, "too drak", actor=ANA, scene_id=scenes[0])
    assert c.edited_at is None
    for other in (BEA, Actor("user", "root", "admin"), Actor("token", "ana", "reviewer")):
        with pytest.raises(PermissionDeniedError, match="its author, user:ana"):
            comments.edit_comment(store, pid, c.id, "hijacked", actor=other)
    edited = comments.edit_comment(store, pid, c.id, "too dark", actor=ANA)
    assert edited.body == "too dark" and edited.edited_at is not None
    assert comments.threads(store, pid)[0].root.body == "too dark"
    with pytest.raises(InvalidSettingError, match="comment: it is empty"):
        comments.edit_comment(store, pid, c.id, "   ", actor=ANA)


def test_mentions_name_project_members_only(project) -> None:
    store, pid, _m, scenes = project
    comments.add_comment(store, pid, "first", actor=BEA, scene_id=scenes[0])
    c = comments.add_comment(
        store,
        pid,
        "@Bea, @nobody and mail@example.com; @ana. please",
        actor=ANA,
        scene_id=scenes[0],
    )
    # ana is a member once her first write is on record: her own comment cannot mention her.
    assert c.mentions == ("bea",)
    assert comments.members(store, pid)[-2:] == ["bea", "ana"]
    c2 = comments.reply(store, pid, c.id, "@ana. @BEA @bea", actor=VIC)
    assert c2.mentions == ("ana", "bea")


def test_a_scene_comment_survives_a_re_detection_that_keeps_the_scene(project) -> None:
    store, pid, media_id, scenes = project
    kept = comments.add_comment(store, pid, "keep me", actor=ANA, scene_id=scenes[0])
    moved = comments.add_comment(store, pid, "split me", actor=ANA, scene_id=scenes[1])
    set_scene_status(store, pid, [scenes[0]], "rejected", actor=ADMIN)
    # Re-detection: a new cut inside scene 2 (frames 25-50 become 25-40 and 40-50); scene 1
    # (frames 0-25) is kept with a new id, as its approval is.
    new = detect(store, pid, media_id, [25, 40, 50])
    assert new[0] not in scenes
    by_id = {t.id: t for t in comments.threads(store, pid)}
    assert by_id[kept.id].root.scene_id == new[0] and not by_id[kept.id].orphaned
    assert by_id[moved.id].root.scene_id == new[1]  # frame 25 still starts a scene
    # A detection that moves the cut leaves the second comment orphaned, kept and counted.
    last = detect(store, pid, media_id, [30, 50])
    threads = comments.threads(store, pid)
    orphan = next(t for t in threads if t.id == moved.id)
    assert orphan.orphaned and orphan.root.scene_id is None and orphan.root.body == "split me"
    assert comments.counts(threads).orphaned == 1
    # Still answerable and resolvable while orphaned; on no scene's card.
    comments.reply(store, pid, moved.id, "the cut moved", actor=BEA)
    assert comments.resolve_thread(store, pid, moved.id, actor=BEA).resolved
    assert set(comments.scene_counts(comments.threads(store, pid))) == {last[0]}


def test_chapter_and_cut_comments_and_their_place_on_the_cut(project) -> None:
    store, pid, _m, scenes = project
    ch = comments.add_comment(store, pid, "rename", actor=ANA, chapter_id=_chapter(store, pid))
    cut = comments.add_comment(store, pid, "music up", actor=VIC, start_s=2.0, end_s=2.5)
    sc = comments.add_comment(store, pid, "flash", actor=ANA, scene_id=scenes[2], start_s=2.2)
    set_scene_status(
        store, pid, [scenes[1]], "rejected", actor=ADMIN
    )  # scene 3 moves to 1 s on the cut
    marks = comments.cut_marks(store, pid)
    assert [(m.thread_id, m.start_s, m.end_s) for m in marks] == [
        (ch.id, 0.0, 0.0),
        (sc.id, pytest.approx(1.2), pytest.approx(1.2)),
        (cut.id, 2.0, 2.5),
    ]
    assert marks[0].label == "ana: rename"
    comments.resolve_thread(store, pid, cut.id, actor=VIC)
    assert [m.thread_id for m in comments.cut_marks(store, pid, open_only=True)] == [ch.id, sc.id]


def _chapter(store: Store, pid: int) -> int:
    with store.db.read() as con:
        return chapters_sql.chapters_for_project(con, pid)[0].id


def test_bad_comments_are_refused_with_the_setting_named(project) -> None:
    store, pid, _m, scenes = project
    with pytest.raises(InvalidSettingError, match="comment target"):
        comments.add_comment(store, pid, "where?", actor=ANA)
    with pytest.raises(InvalidSettingError, match="comment target"):
        comments.add_comment(store, pid, "x", actor=ANA, scene_id=scenes[0], chapter_id=1)
    with pytest.raises(InvalidSettingError, match=r"start_s: 9\.000 s is outside scene"):
        comments.add_comment(store, pid, "x", actor=ANA, scene_id=scenes[0], start_s=9.0)
    with pytest.raises(InvalidSettingError, match="end_s"):
        comments.add_comment(store, pid, "x", actor=ANA, start_s=2.0, end_s=1.0)
    with pytest.raises(InvalidSettingError, match="start_s"):
        comments.add_comment(store, pid, "x", actor=ANA, start_s=float("nan"))
    with pytest.raises(InvalidSettingError, match="at most 5000"):
        comments.add_comment(store, pid, "x" * 5001, actor=ANA, start_s=0.0)
    with pytest.raises(NotFoundError, match="scene 999"):
        comments.add_comment(store, pid, "x", actor=ANA, scene_id=999)
    with pytest.raises(NotFoundError, match="render 7"):
        comments.add_comment(store, pid, "x", actor=ANA, start_s=1.0, render_id=7)
    with pytest.raises(NotFoundError, match="comment 999"):
        comments.reply(store, pid, 999, "x", actor=ANA)
    assert comments.threads(store, pid) == []
