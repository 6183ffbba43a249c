"""The app's sign-in with local accounts: the form, wrong passwords, what a viewer sees (no
approve buttons, no project management, no upload), sign-out and session expiry (#18)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.apptest import APP, assert_no_exception, texts

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import PermissionDeniedError
from genesis_pipeline.services import access, accounts, review
from genesis_pipeline.store import Store

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "hasher", lambda: cheap)


@pytest.fixture()
def team(app_project, app_env: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of the processed fixture project with local accounts: a reviewer and a viewer
    (the shared fixture stays without accounts for the other app tests)."""
    source, pid = app_project
    home = tmp_path / "team-home"
    shutil.copytree(source.home, home, ignore=shutil.ignore_patterns("*.lock", "*.wal"))
    monkeypatch.setenv("GENESIS_HOME", str(home))
    store = Store(Settings.from_env())
    accounts.add_user(store, "rita", "reviewer", PASSWORD, actor=ADMIN)
    accounts.add_user(store, "victor", "viewer", PASSWORD, actor=ADMIN)
    return store, pid


def _app(pid: int):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["project_id"] = pid
    at.run()
    assert_no_exception(at)
    return at


def _sign_in(at, name: str, password: str) -> None:
    at.text_input(key="auth_name").input(name)
    at.text_input(key="auth_password").input(password)
    at.button(key="FormSubmitter:auth_form-Sign in").click()
    at.run()
    assert_no_exception(at)


def test_the_form_refuses_a_wrong_password_and_signs_a_viewer_in_read_only(team) -> None:
    store, pid = team
    at = _app(pid)
    assert "Sign in to review" in texts(at)
    assert "Projects" not in [t.value for t in at.title]  # no page before signing in
    _sign_in(at, "victor", "not the password")
    assert "wrong user name or password" in texts(at)
    _sign_in(at, "victor", PASSWORD)
    shown = texts(at)
    assert "Signed in as **victor** · viewer" in shown
    assert "Sign in to review" not in shown
    # Projects: the feed, but no create form and no management for a viewer.
    assert not [b for b in at.button if b.key and b.key.startswith("FormSubmitter:create_project")]
    assert "Activity" in [s.value for s in at.subheader]
    at.switch_page("views/scenes.py")
    at.run()
    assert_no_exception(at)
    keys = [b.key or "" for b in at.button]
    assert any(k.startswith("play_") for k in keys)
    assert not [
        k for k in keys if k.startswith(("approve_", "reject_", "scene_bulk_", "unreview_"))
    ]
    # No Upload page for a viewer: adding footage is an admin's.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/upload.py")
    # The page hides the button; a forged service call as the viewer is refused anyway.
    viewer = accounts.user_actor(store, "victor")
    assert viewer is not None
    with pytest.raises(PermissionDeniedError):
        review.set_scene_status(store, pid, [1], "rejected", actor=viewer)


def test_a_reviewer_approves_and_the_scene_says_who(team) -> None:
    store, pid = team
    at = _app(pid)
    _sign_in(at, "rita", PASSWORD)
    at.switch_page("views/scenes.py")
    at.run()
    reject = next(b for b in at.button if (b.key or "").startswith("reject_"))
    sid = int(reject.key.split("_")[1])
    reject.click()
    at.run()
    assert_no_exception(at)
    assert review.last_decisions(store, pid)[sid].reviewer == "user:rita"
    assert "by rita" in texts(at)
    last = access.audit_log(store, pid, limit=1)[0]
    assert (last.actor, last.action) == ("user:rita", "scenes.review")


def test_sign_out_and_session_expiry_ask_again(team, monkeypatch: pytest.MonkeyPatch) -> None:
    _store, pid = team
    at = _app(pid)
    _sign_in(at, "rita", PASSWORD)
    at.button(key="auth_sign_out").click()
    at.run()
    assert "Sign in to review" in texts(at)
    monkeypatch.setenv("GENESIS_SESSION_HOURS", str(1 / 3600))  # one second
    _sign_in(at, "rita", PASSWORD)
    time.sleep(1.2)
    at.run()
    assert "Your session ended" in texts(at)
