"""Tokens, roles and the audit log (services.access) and `genesis token`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.actors import ADMIN

from genesis_pipeline.cli import main
from genesis_pipeline.config import Settings
from genesis_pipeline.errors import (
    AuthenticationError,
    InvalidSettingError,
    NotFoundError,
    PermissionDeniedError,
)
from genesis_pipeline.services import access
from genesis_pipeline.store import Store
from genesis_pipeline.store import audit as audit_sql


@pytest.fixture()
def store(home: Path) -> Store:
    return Store(Settings(home=home))


def test_token_is_shown_once_and_only_its_hash_is_stored(store: Store) -> None:
    made = access.create_token(store, "ci-bot", "reviewer", actor=ADMIN)
    assert made.secret.startswith(access.TOKEN_PREFIX) and len(made.secret) > 40
    actor = access.authenticate(store, made.secret)
    assert (actor.label, actor.role) == ("token:ci-bot", "reviewer")
    raw = (store.home / "genesis.duckdb").read_bytes()
    assert made.secret.encode() not in raw
    assert [t.name for t in access.list_tokens(store)] == ["ci-bot"]


def test_revoked_unknown_and_missing_tokens_are_refused(store: Store) -> None:
    made = access.create_token(store, "old", "admin", actor=ADMIN)
    access.revoke_token(store, "old", actor=ADMIN)
    for secret in (made.secret, "gen_nope", None, ""):
        with pytest.raises(AuthenticationError):
            access.authenticate(store, secret)
    assert access.list_tokens(store)[0].revoked_at is not None
    with pytest.raises(NotFoundError, match="old"):
        access.revoke_token(store, "old", actor=ADMIN)
    # The name is free again once revoked.
    access.create_token(store, "old", "viewer", actor=ADMIN)


def test_bad_names_roles_and_duplicates_name_the_flag(store: Store) -> None:
    with pytest.raises(InvalidSettingError, match="--role"):
        access.create_token(store, "x", "owner", actor=ADMIN)
    with pytest.raises(InvalidSettingError, match="--name"):
        access.create_token(store, "has space", "viewer", actor=ADMIN)
    access.create_token(store, "dup", "viewer", actor=ADMIN)
    with pytest.raises(InvalidSettingError, match="exists"):
        access.create_token(store, "dup", "admin", actor=ADMIN)


@pytest.mark.parametrize(
    ("role", "right", "ok"),
    [
        ("viewer", "read", True),
        ("viewer", "review", False),
        ("viewer", "manage", False),
        ("reviewer", "review", True),
        ("reviewer", "manage", False),
        ("admin", "manage", True),
        ("admin", "read", True),
    ],
)
def test_rights_of_each_role(role, right, ok) -> None:
    actor = access.Actor("token", "t", role)
    if ok:
        access.require(actor, right, "do it")
    else:
        with pytest.raises(PermissionDeniedError, match=f"role {role} may not do it"):
            access.require(actor, right, "do it")


def test_audit_log_records_writes_newest_first(store: Store) -> None:
    actor = access.Actor("user", "ann", "reviewer")
    access.record(store, actor, "scenes.review", 3, {"scene_ids": [1, 2]})
    access.create_token(store, "bot", "viewer", actor=access.Actor("token", "root", "admin"))
    log = access.audit_log(store)
    assert [(e.actor, e.action) for e in log] == [
        ("token:root", "tokens.create"),
        ("user:ann", "scenes.review"),
    ]
    assert access.audit_log(store, 3)[0].details_json == {"scene_ids": [1, 2]}


def test_token_command_creates_lists_and_revokes(home: Path, capsys) -> None:
    assert main(["--data-dir", str(home), "--json", "token", "create", "--name", "a", "--role",
                 "viewer"]) == 0  # fmt: skip
    secret = json.loads(capsys.readouterr().out)["token"]
    store = Store(Settings(home=home))
    assert access.authenticate(store, secret).name == "a"
    assert main(["--data-dir", str(home), "token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "a" in listed and secret not in listed
    assert main(["--data-dir", str(home), "token", "revoke", "--name", "a"]) == 0
    with pytest.raises(AuthenticationError):
        access.authenticate(store, secret)
    assert main(["--data-dir", str(home), "token", "create", "--name", "b", "--role", "boss"]) == 2
    assert "--role" in capsys.readouterr().err


def test_permit_audits_in_the_callers_transaction_and_a_refusal_keeps_nothing(
    store: Store,
) -> None:
    viewer = access.Actor("user", "vic", "viewer")
    with pytest.raises(PermissionDeniedError), store.db.write() as con:
        audit_sql.append(con, "user:ann", "written before the check", 1, {})
        access.permit(con, viewer, "review", "scenes.review", 1)
    assert access.audit_log(store) == []
    with store.db.write() as con:
        access.permit(con, access.local_actor(), "manage", "projects.rename", 1, {"name": "b"})
    (entry,) = access.audit_log(store)
    assert entry.actor.startswith("user:") and entry.details_json == {"name": "b"}
