"""Local accounts for the app's sign-in form: add, list, remove, change a password, and sign in.

A password is never stored, logged or returned: the store keeps its argon2id hash (salted and
slow, parameters inside the hash; argon2-cffi's defaults, RFC 9106's low-memory choice). Failed
sign-ins are kept in the store per user and per client address, so the limit survives a
restart: more than ``GENESIS_SIGNIN_MAX_FAILURES`` failures of a user (or
``GENESIS_SIGNIN_CLIENT_MAX_FAILURES`` from a client) within ``GENESIS_SIGNIN_WINDOW_S`` refuse
further attempts until the oldest of them leaves the window, and the refusal says when.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from genesis_pipeline.errors import (
    AuthenticationError,
    InvalidSettingError,
    NotFoundError,
    TooManyAttemptsError,
)
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.store import Store
from genesis_pipeline.store import users as users_sql
from genesis_pipeline.store.records import UserRecord

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = logging.getLogger(__name__)

#: The shortest password accepted (NIST SP 800-63B's floor for a chosen secret).
MIN_PASSWORD = 8
#: The longest: argon2 takes any length, but a megabyte "password" is an attack on the CPU.
MAX_PASSWORD = 1024


@cache
def hasher() -> PasswordHasher:
    """The password hasher: argon2id with argon2-cffi's defaults (t=3, 64 MiB, 4 lanes;
    measured ~0.1 s a hash on an idle core, ~0.9 s on this loaded 2-core VM). A stored hash
    names its parameters, so raising them later rehashes each password at its next sign-in."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@cache
def _decoy_hash() -> str:
    """A hash to verify against when the user does not exist, so that an unknown name takes as
    long to refuse as a wrong password (no user enumeration by timing)."""
    return hasher().hash("not a password of anyone")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (a new random salt each time).

    Raises:
        InvalidSettingError: shorter than :data:`MIN_PASSWORD` or longer than
            :data:`MAX_PASSWORD` characters.
    """
    if len(password) < MIN_PASSWORD:
        raise InvalidSettingError("password", f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidSettingError("password", f"must be at most {MAX_PASSWORD} characters")
    return hasher().hash(password)


def _verify(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return hasher().verify(stored, password)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        log.warning("a stored password hash could not be verified (damaged row?)")
        return False


def add_user(store: Store, name: str, role: str, password: str, *, actor: Actor) -> UserRecord:
    """Add a local account.

    Raises:
        InvalidSettingError: a bad name, role or password, or the name is taken.
        PermissionDeniedError: the actor may not manage users.
    """
    access.require(actor, "manage", "users.add")
    name = access.check_name(name, "user name")
    checked = access.check_role(role, "--role")
    hashed = hash_password(password)
    with store.db.write() as con:
        if users_sql.by_name(con, name) is not None:
            raise InvalidSettingError("user name", f"{name!r} exists; remove it first")
        user = users_sql.insert(con, name, checked, hashed)
        access.permit(con, actor, "manage", "users.add", None, {"name": name, "role": checked})
    return user


def list_users(store: Store) -> list[UserRecord]:
    """Every local account, by name."""
    with store.db.read() as con:
        return users_sql.list_all(con)


def has_users(store: Store) -> bool:
    """Whether any local account exists (the app then asks for a sign-in)."""
    with store.db.read() as con:
        return users_sql.count(con) > 0


def get_user(store: Store, name: str) -> UserRecord | None:
    with store.db.read() as con:
        return users_sql.by_name(con, name)


def remove_user(store: Store, name: str, *, actor: Actor) -> UserRecord:
    """Remove a local account; its sessions end at their next page (the app looks the user up).

    Raises:
        NotFoundError: no such user.
        PermissionDeniedError: the actor may not manage users.
    """
    access.require(actor, "manage", "users.remove")
    with store.db.write() as con:
        user = users_sql.by_name(con, name)
        if user is None:
            raise NotFoundError(f"user {name!r}: no such local account")
        users_sql.delete(con, name)
        users_sql.clear_failures(con, f"user:{name}")
        access.permit(con, actor, "manage", "users.remove", None, {"name": name})
    return user


def set_password(store: Store, name: str, password: str, *, actor: Actor) -> UserRecord:
    """Give ``name`` a new password (an admin for anyone, a signed-in user for themself); the
    user's failed sign-ins are forgotten.

    Raises:
        InvalidSettingError: the password is too short or too long.
        NotFoundError: no such user.
        PermissionDeniedError: neither an admin nor the user.
    """
    own = actor.kind == "user" and actor.name == name
    if not own:
        access.require(actor, "manage", "users.passwd")
    hashed = hash_password(password)
    with store.db.write() as con:
        user = users_sql.by_name(con, name)
        if user is None:
            raise NotFoundError(f"user {name!r}: no such local account")
        users_sql.set_password_hash(con, name, hashed)
        users_sql.clear_failures(con, f"user:{name}")
        right: access.Right = "read" if own else "manage"
        access.permit(con, actor, right, "users.passwd", None, {"name": name})
    return user


def user_actor(store: Store, name: str) -> Actor | None:
    """The signed-in user ``name`` as their account says now (None: the account is gone), so
    a removed user or a changed role takes effect at the user's next page."""
    user = get_user(store, name)
    return None if user is None else Actor("user", user.name, access.check_role(user.role))


def _locked_until(
    store: Store, subject: str, limit: int, window: timedelta, now: datetime
) -> datetime | None:
    with store.db.read() as con:
        failed = users_sql.failures_since(con, subject, now - window)
    if len(failed) < limit:
        return None
    # The attempt is allowed again once enough of the failures have left the window.
    return failed[len(failed) - limit] + window


def sign_in(
    store: Store,
    name: str,
    password: str,
    client: str = "unknown",
    *,
    now: datetime | None = None,
) -> Actor:
    """Check a local account's password; returns the user as an actor.

    Every failure is recorded for the user and for ``client`` (the browser's address);
    too many within the window refuse the next attempts, right or wrong, until the oldest
    failure leaves it. ``now`` is the attempt's time (the clock's by default).

    Raises:
        TooManyAttemptsError: the user or the client failed too often lately (says when to
            retry).
        AuthenticationError: an unknown name or a wrong password (the message does not say
            which).
    """
    settings = store.settings
    window = timedelta(seconds=settings.signin_window_s)
    now = now or datetime.now()
    name = (name or "").strip()
    limits = (
        (f"user:{name}", f"user {name!r}", settings.signin_max_failures),
        (f"client:{client}", f"this client ({client})", settings.signin_client_max_failures),
    )
    for subject, who, limit in limits:
        until = _locked_until(store, subject, limit, window, now)
        if until is not None:
            wait = max(1, int((until - now).total_seconds() + 0.999))
            raise TooManyAttemptsError(who, until, wait)
    with store.db.read() as con:
        stored = users_sql.password_hash(con, name) if name else None
    ok = _verify(stored or _decoy_hash(), password or "") and stored is not None
    if not ok:
        with store.db.write() as con:
            users_sql.add_failure(con, [s for s, _, _ in limits], now)
            users_sql.prune_failures(con, now - window)
        raise AuthenticationError("wrong user name or password")
    actor = user_actor(store, name)
    if actor is None:  # removed while signing in
        raise AuthenticationError("wrong user name or password")
    with store.db.write() as con:
        users_sql.clear_failures(con, f"user:{name}")
        if stored is not None and hasher().check_needs_rehash(stored):
            users_sql.set_password_hash(con, name, hasher().hash(password))
        access.permit(con, actor, "read", "users.sign_in", None, {"client": client})
    return actor
