"""Roles enforced in the service functions: a call without the right is refused and writes
nothing; a permitted write and its audit row commit together or not at all (#18)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.actors import ADMIN, REVIEWER, VIEWER

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import NotFoundError, PermissionDeniedError
from genesis_pipeline.runs.cancel import cancel_run
from genesis_pipeline.runs.control import start_background_run
from genesis_pipeline.services import access, narration, render_settings, review
from genesis_pipeline.services.activity import activity, people
from genesis_pipeline.services.chapters import rules_history, save_rules, set_chapter_title
from genesis_pipeline.services.projects import (
    create_project,
    delete_project,
    get_project,
    has_projects,
    rename_project,
)
from genesis_pipeline.services.upload import add_media, create_upload
from genesis_pipeline.stages.chapters import Rules
from genesis_pipeline.store import Store
from genesis_pipeline.store import audit as audit_sql


@pytest.fixture()
def store(home: Path) -> Store:
    return Store(Settings(home=home))


def _actions(store: Store) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in access.audit_log(store, limit=1000)]


def test_a_viewer_cannot_create_rename_or_delete_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(PermissionDeniedError, match="user:victor: role viewer"):
        create_project(store, "forged", actor=VIEWER)
    assert not has_projects(store)
    assert _actions(store) == []
    pid = create_project(store, "real", actor=ADMIN).id
    for role in (VIEWER, REVIEWER):
        with pytest.raises(PermissionDeniedError, match="needs admin"):
            rename_project(store, pid, "renamed", actor=role)
        with pytest.raises(PermissionDeniedError):
            delete_project(store, pid, actor=role)
    assert get_project(store, pid).name == "real"
    assert _actions(store) == [("cli:tests", "projects.create")]


def test_a_viewer_cannot_review_tune_or_run(store: Store, tmp_path: Path) -> None:
    pid = create_project(store, "p", actor=ADMIN).id
    before = rules_history(store, pid)
    forged = [
        # Refused before anything is looked up: even a scene that does not exist.
        lambda: review.set_scene_status(store, pid, [999], "approved", actor=VIEWER),
        lambda: review.reset_reviews(store, pid, actor=VIEWER),
        lambda: review.undo_review(store, pid, actor=VIEWER),
        lambda: review.set_trim(store, pid, 999, 0, 10, actor=VIEWER),
        lambda: save_rules(store, pid, Rules(min_chapter_s=9.0), actor=VIEWER),
        lambda: set_chapter_title(store, pid, 1, "x", actor=VIEWER),
        lambda: narration.set_mix(store, pid, bed_gain=0.1, actor=VIEWER),
        lambda: narration.remove_voiceover(store, pid, 1, actor=VIEWER),
        lambda: render_settings.set_render_mode(store, pid, "reencode", actor=VIEWER),
        lambda: render_settings.set_render_subtitles(store, pid, "soft", actor=VIEWER),
        lambda: render_settings.set_narration_overrun(store, pid, "freeze", actor=VIEWER),
        lambda: start_background_run(store, pid, actor=VIEWER),
        lambda: cancel_run(store, pid, actor=VIEWER),
        lambda: add_media(store, pid, [tmp_path / "x.mp4"], actor=REVIEWER),
        lambda: create_upload(store, pid, "x.mp4", actor=REVIEWER),
        lambda: access.create_token(store, "bot", "admin", actor=REVIEWER),
    ]
    for call in forged:
        with pytest.raises(PermissionDeniedError):
            call()
    assert rules_history(store, pid) == before
    assert narration.get_mix(store, pid) == narration.mix_of({})
    assert render_settings.get_render_mode(store, pid) == "smart"
    assert access.list_tokens(store) == []
    assert _actions(store) == [("cli:tests", "projects.create")]


def test_a_reviewer_write_and_its_audit_row_commit_together(store: Store) -> None:
    pid = create_project(store, "p", actor=ADMIN).id
    version = save_rules(store, pid, Rules(min_chapter_s=7.0), note="tighter", actor=REVIEWER)
    entry = access.audit_log(store, pid)[0]
    assert (entry.actor, entry.action) == ("user:rita", "chapters.rules")
    assert entry.details_json["version"] == version
    # A write that fails after permit() leaves no audit row: the transaction rolled back.
    with pytest.raises(NotFoundError):
        set_chapter_title(store, pid, 424242, "nope", actor=REVIEWER)
    assert [e.action for e in access.audit_log(store, pid)] == ["chapters.rules", "projects.create"]


def test_an_audit_row_that_cannot_be_written_keeps_the_write_out(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = create_project(store, "p", actor=ADMIN).id
    before = rules_history(store, pid)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit_sql, "append", broken)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        save_rules(store, pid, Rules(min_chapter_s=3.0), actor=REVIEWER)
    with pytest.raises(RuntimeError):
        rename_project(store, pid, "renamed", actor=ADMIN)
    monkeypatch.undo()
    assert rules_history(store, pid) == before
    assert get_project(store, pid).name == "p"


def test_the_activity_feed_says_who_did_what_in_words(store: Store) -> None:
    pid = create_project(store, "Harbour", actor=ADMIN).id
    save_rules(store, pid, Rules(min_chapter_s=7.0), actor=REVIEWER)
    rename_project(store, pid, "Harbour day 1", actor=ADMIN)
    feed = activity(store, pid)
    assert [(i.who, i.via, i.what) for i in feed] == [
        ("tests", "cli", "renamed the project 'Harbour' to 'Harbour day 1'"),
        ("rita", "user", "saved chapter rules v1"),
        ("tests", "cli", "created the project 'Harbour'"),
    ]
    assert people(store, pid) == ["cli:tests", "user:rita"]
    assert [i.what for i in activity(store, pid, person="user:rita")] == ["saved chapter rules v1"]
