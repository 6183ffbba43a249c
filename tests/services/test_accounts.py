"""Local accounts (services.accounts, `genesis user`), the sign-in rate limit, and how the app
decides its sign-in mode and which addresses it may serve (services.sign_in) (#18)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.actors import ADMIN, REVIEWER, VIEWER

from genesis_pipeline.cli import main
from genesis_pipeline.config import Settings
from genesis_pipeline.errors import (
    AuthenticationError,
    InvalidSettingError,
    NotFoundError,
    PermissionDeniedError,
    TooManyAttemptsError,
)
from genesis_pipeline.services import access, accounts, sign_in
from genesis_pipeline.store import Store

PASSWORD = "correct horse battery staple"


def _store(home: Path, **settings: object) -> Store:
    return Store(Settings(home=home, **settings))  # type: ignore[arg-type]


@pytest.fixture()
def store(home: Path) -> Store:
    return _store(home)


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with the least cost: the same algorithm and checks, milliseconds a hash (the
    real parameters take ~1 s a hash on a loaded 2-core machine)."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "hasher", lambda: cheap)


def test_the_right_password_signs_in_and_a_wrong_one_is_refused(store: Store) -> None:
    accounts.add_user(store, "rita", "reviewer", PASSWORD, actor=ADMIN)
    actor = accounts.sign_in(store, "rita", PASSWORD, "10.0.0.5")
    assert (actor.label, actor.role) == ("user:rita", "reviewer")
    for name, password in (("rita", PASSWORD + "!"), ("rita", ""), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            accounts.sign_in(store, name, password, "10.0.0.5")
    entries = access.audit_log(store, limit=10)
    assert [(e.actor, e.action) for e in entries] == [
        ("user:rita", "users.sign_in"),
        ("cli:tests", "users.add"),
    ]


def test_no_password_is_stored_or_logged_only_a_salted_argon2_hash(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    accounts.add_user(store, "ana", "admin", PASSWORD, actor=ADMIN)
    accounts.add_user(store, "ben", "viewer", PASSWORD, actor=ADMIN)
    with pytest.raises(AuthenticationError):
        accounts.sign_in(store, "ana", "a wrong password", "c")
    accounts.set_password(store, "ana", PASSWORD + " 2", actor=ADMIN)
    with store.db.write() as con:
        con.execute("CHECKPOINT")
        rows = con.execute("SELECT password_hash FROM users ORDER BY name").fetchall()
    hashes = [r[0] for r in rows]
    raw = b"".join(p.read_bytes() for p in store.home.glob("genesis.duckdb*"))
    for secret in (PASSWORD, PASSWORD + " 2", "a wrong password"):
        assert secret.encode() not in raw
        assert secret not in caplog.text
    assert all(h.startswith("$argon2id$") for h in hashes)
    # Salted: the same password gives two different hashes.
    assert len(set(accounts.hash_password(PASSWORD) for _ in range(2))) == 2
    audit = json.dumps([e.details_json for e in access.audit_log(store, limit=100)])
    assert PASSWORD not in audit


def test_sign_ins_are_rate_limited_per_user_and_the_limit_survives_a_restart(home: Path) -> None:
    store = _store(home, signin_max_failures=3, signin_client_max_failures=100)
    accounts.add_user(store, "rita", "reviewer", PASSWORD, actor=ADMIN)
    for i in range(3):
        with pytest.raises(AuthenticationError):
            accounts.sign_in(store, "rita", f"guess {i}", f"10.0.0.{i}")
    # The right password is refused too while locked, and the refusal says when to retry.
    restarted = _store(home, signin_max_failures=3, signin_client_max_failures=100)
    with pytest.raises(TooManyAttemptsError, match=r"user 'rita'.*try again after") as locked:
        accounts.sign_in(restarted, "rita", PASSWORD, "10.0.0.9")
    assert 0 < locked.value.retry_after_s <= 900
    # Another user is not locked out by rita's failures.
    accounts.add_user(restarted, "sam", "viewer", PASSWORD, actor=ADMIN)
    assert accounts.sign_in(restarted, "sam", PASSWORD, "10.0.0.9").name == "sam"


def test_a_client_guessing_many_names_is_rate_limited_and_the_window_passes(home: Path) -> None:
    store = _store(home, signin_max_failures=100, signin_client_max_failures=3, signin_window_s=60)
    accounts.add_user(store, "rita", "reviewer", PASSWORD, actor=ADMIN)
    start = datetime.now()
    for i, name in enumerate(("a", "b", "c")):
        with pytest.raises(AuthenticationError):
            accounts.sign_in(store, name, "guess", "203.0.113.7", now=start + timedelta(seconds=i))
    later = start + timedelta(seconds=10)
    with pytest.raises(TooManyAttemptsError, match=r"this client \(203.0.113.7\)") as locked:
        accounts.sign_in(store, "rita", PASSWORD, "203.0.113.7", now=later)
    assert locked.value.retry_at == start + timedelta(seconds=60)
    assert locked.value.retry_after_s == 50
    assert accounts.sign_in(store, "rita", PASSWORD, "198.51.100.1", now=later).name == "rita"
    # Once the first failure leaves the window, the client may try again.
    after = start + timedelta(seconds=60.5)
    assert accounts.sign_in(store, "rita", PASSWORD, "203.0.113.7", now=after).name == "rita"


def test_managing_users_needs_admin_and_bad_input_names_the_setting(store: Store) -> None:
    for who in (VIEWER, REVIEWER):
        with pytest.raises(PermissionDeniedError):
            accounts.add_user(store, "eve", "admin", PASSWORD, actor=who)
    assert accounts.list_users(store) == []
    with pytest.raises(InvalidSettingError, match="password: must be at least 8"):
        accounts.add_user(store, "eve", "viewer", "short", actor=ADMIN)
    with pytest.raises(InvalidSettingError, match="--role"):
        accounts.add_user(store, "eve", "owner", PASSWORD, actor=ADMIN)
    with pytest.raises(InvalidSettingError, match="user name"):
        accounts.add_user(store, "no spaces", "viewer", PASSWORD, actor=ADMIN)
    accounts.add_user(store, "victor", "viewer", PASSWORD, actor=ADMIN)
    with pytest.raises(InvalidSettingError, match="exists"):
        accounts.add_user(store, "victor", "admin", PASSWORD, actor=ADMIN)
    # A user may change their own password, not someone else's.
    accounts.set_password(store, "victor", "victor's new one", actor=VIEWER)
    accounts.add_user(store, "rita", "reviewer", PASSWORD, actor=ADMIN)
    with pytest.raises(PermissionDeniedError):
        accounts.set_password(store, "rita", "hijacked!!", actor=VIEWER)
    # A removed user's session ends: the app looks the user up on every page.
    assert accounts.user_actor(store, "victor") == access.Actor("user", "victor", "viewer")
    accounts.remove_user(store, "victor", actor=ADMIN)
    assert accounts.user_actor(store, "victor") is None
    with pytest.raises(NotFoundError):
        accounts.remove_user(store, "victor", actor=ADMIN)


def test_genesis_user_reads_the_password_from_stdin_never_argv(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GENESIS_HOME", str(home))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "rita", "--role", "reviewer", "--password-stdin"]) == 0
    assert "user rita (reviewer) added" in capsys.readouterr().out
    assert main(["user", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["role"]) for u in listed["users"]] == [("rita", "reviewer")]
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password\n"))
    assert main(["user", "passwd", "rita", "--password-stdin"]) == 0
    store = _store(home)
    assert accounts.sign_in(store, "rita", "a brand new password", "cli").name == "rita"
    # No flag takes a password on the command line.
    with pytest.raises(SystemExit):
        main(["user", "add", "eve", "--role", "admin", "--password", PASSWORD])
    # No terminal and no --password-stdin: one clear line, not a hang.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["user", "add", "eve", "--role", "admin"]) == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert main(["user", "remove", "rita"]) == 0
    assert accounts.list_users(store) == []


def test_the_sign_in_mode_and_the_address_the_app_may_serve(store: Store, tmp_path: Path) -> None:
    assert sign_in.sign_in_mode({}, store) == "none"
    sign_in.check_address("127.0.0.1", "none")
    sign_in.check_address("localhost", "none")
    sign_in.check_address("::1", "none")
    for public in ("0.0.0.0", "192.168.1.20", "review.example.com"):
        with pytest.raises(InvalidSettingError, match=r"--address.*--insecure-no-auth"):
            sign_in.check_address(public, "none")
        sign_in.check_address(public, "none", insecure_no_auth=True)
        sign_in.check_address(public, "local")
    accounts.add_user(store, "ana", "admin", PASSWORD, actor=ADMIN)
    assert sign_in.sign_in_mode({}, store) == "local"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
        'cookie_secret = "s"\nclient_id = "genesis"\nclient_secret = "x"\n'
        'server_metadata_url = "http://localhost:9400/.well-known/openid-configuration"\n'
        '[genesis]\ndefault_role = "viewer"\n'
        '[genesis.roles]\n"Rita@Example.com" = "reviewer"\n'
    )
    loaded = sign_in.read_secrets([secrets, tmp_path / "missing.toml"])
    assert sign_in.sign_in_mode(loaded, store) == "oidc"
    config = sign_in.oidc_config(loaded)
    assert config is not None and config.providers == (None,)
    assert config.role_for("rita@example.com", "sub-1") == "reviewer"
    assert config.role_for("someone@example.com", "sub-2") == "viewer"
    secrets.write_text('[auth.corp]\nclient_id = "g"\n[genesis.roles]\n"x@y.z" = "owner"\n')
    with pytest.raises(InvalidSettingError, match=r"\[genesis.roles\] x@y.z"):
        sign_in.oidc_config(sign_in.read_secrets([secrets]))
    secrets.write_text('[auth.corp]\nclient_id = "g"\n')
    config = sign_in.oidc_config(sign_in.read_secrets([secrets]))
    assert config is not None and config.providers == ("corp",)
    assert config.role_for("anyone@example.com", None) is None  # not listed: refused


def test_genesis_app_refuses_a_public_address_with_no_sign_in(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GENESIS_HOME", str(home))
    monkeypatch.setattr("pathlib.Path.home", lambda: home)  # no user-wide secrets.toml

    def launched(*args: object, **kwargs: object) -> int:
        raise AssertionError("the app must not start")

    monkeypatch.setattr("subprocess.call", launched)
    assert main(["app", "--address", "0.0.0.0"]) == 2
    assert "--insecure-no-auth" in capsys.readouterr().err
