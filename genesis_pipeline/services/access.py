"""Who may do what: API tokens, roles and their rights, and the audit log of writes.

Rights are checked here, in one place, so every front end (the HTTP API now, the app's sign-in
later) enforces the same ones:

========  ==================================================================================
viewer    read everything
reviewer  + review: approve and reject scenes, tune chapter rules, titles and narration, start
          and cancel runs and renders, write exports
admin     + manage: create projects, upload and remove media, manage tokens
========  ==================================================================================

A token's secret is printed once by :func:`create_token`; the store keeps only its sha256.
Every write a front end makes is recorded by :func:`record` (who, when, what, which project).
"""

from __future__ import annotations

import getpass
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from genesis_pipeline.errors import (
    AuthenticationError,
    InvalidSettingError,
    NotFoundError,
    PermissionDeniedError,
)
from genesis_pipeline.store import Store
from genesis_pipeline.store import audit as audit_sql
from genesis_pipeline.store import tokens as tokens_sql
from genesis_pipeline.store.records import AuditEntry, TokenRecord

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

Role = Literal["viewer", "reviewer", "admin"]
Right = Literal["read", "review", "manage"]

#: Roles from least to most: each has the rights of those before it.
ROLES: tuple[Role, ...] = ("viewer", "reviewer", "admin")
#: The least role that holds each right.
NEEDS: dict[Right, Role] = {"read": "viewer", "review": "reviewer", "manage": "admin"}

TOKEN_PREFIX = "gen_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: ``kind`` ``token`` (HTTP API), ``cli`` or ``user`` (the app, later)."""

    kind: str
    name: str
    role: Role

    @property
    def label(self) -> str:
        """What the audit log records: ``token:ci-bot``."""
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """A new token: ``secret`` is shown this once and stored nowhere."""

    token: TokenRecord
    secret: str


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def cli_actor() -> Actor:
    """The person at the command line: the data dir's owner, with every right."""
    return Actor("cli", _os_user(), "admin")


def local_actor() -> Actor:
    """The one person using the app on localhost with no sign-in configured: every right."""
    return Actor("user", _os_user(), "admin")


def system_actor(what: str) -> Actor:
    """Genesis itself acting (``system:pipeline``, ``system:demo``): the pipeline applying a
    run's options (whoever started the run was checked then) and the demo it sets up."""
    return Actor("system", what, "admin")


def token_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_role(role: str, setting: str = "role") -> Role:
    """Raises: InvalidSettingError: ``role`` is not viewer, reviewer or admin."""
    for r in ROLES:
        if role == r:
            return r
    raise InvalidSettingError(setting, f"{role!r} is not one of {', '.join(ROLES)}")


def allows(role: Role, right: Right) -> bool:
    return ROLES.index(role) >= ROLES.index(NEEDS[right])


def require(actor: Actor, right: Right, action: str) -> None:
    """Raises: PermissionDeniedError: ``actor``'s role does not hold ``right``."""
    if not allows(actor.role, right):
        raise PermissionDeniedError(actor.label, actor.role, NEEDS[right], action)


def check_name(name: str, setting: str = "--name") -> str:
    """A token's or user's name, stripped.

    Raises:
        InvalidSettingError: not 1-64 letters, digits, '.', '_', '@' or '-' starting alnum.
    """
    name = (name or "").strip()
    if not _NAME.match(name):
        raise InvalidSettingError(
            setting, f"{name!r}: 1-64 letters, digits, '.', '_', '@' or '-', starting alnum"
        )
    return name


def create_token(store: Store, name: str, role: str, *, actor: Actor) -> CreatedToken:
    """Issue a token named ``name`` with ``role``; its secret is returned once.

    Raises:
        InvalidSettingError: a bad name or role, or an active token already has the name.
        PermissionDeniedError: the actor may not manage tokens.
    """
    require(actor, "manage", "tokens.create")
    name = check_name(name, "--name")
    checked = check_role(role, "--role")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.db.write() as con:
        if tokens_sql.active_by_name(con, name) is not None:
            raise InvalidSettingError("--name", f"a token named {name!r} exists; revoke it first")
        token = tokens_sql.insert(con, name, checked, token_sha256(secret), secret[:8])
        permit(con, actor, "manage", "tokens.create", None, {"name": name, "role": checked})
    return CreatedToken(token, secret)


def list_tokens(store: Store) -> list[TokenRecord]:
    """Every token ever issued (revoked ones with ``revoked_at``), oldest first."""
    with store.db.read() as con:
        return tokens_sql.list_all(con)


def revoke_token(store: Store, name: str, *, actor: Actor) -> TokenRecord:
    """Revoke the active token named ``name``; it is refused from then on.

    Raises:
        NotFoundError: no active token has that name.
        PermissionDeniedError: the actor may not manage tokens.
    """
    require(actor, "manage", "tokens.revoke")
    with store.db.write() as con:
        token = tokens_sql.active_by_name(con, name)
        if token is None:
            raise NotFoundError(f"token {name!r}: no active token has this name")
        tokens_sql.revoke(con, token.id)
        permit(con, actor, "manage", "tokens.revoke", None, {"name": name})
    return token


def authenticate(store: Store, secret: str | None) -> Actor:
    """The actor a bearer token's secret stands for.

    Raises:
        AuthenticationError: no secret, or one that is unknown or revoked.
    """
    if not secret:
        raise AuthenticationError("no token: send 'Authorization: Bearer <token>'")
    with store.db.read() as con:
        token = tokens_sql.active_by_hash(con, token_sha256(secret))
    if token is None:
        raise AuthenticationError("the token is unknown or was revoked")
    return Actor("token", token.name, check_role(token.role))


def permit(
    con: Connection,
    actor: Actor,
    right: Right,
    action: str,
    project_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Refuse ``actor`` unless its role holds ``right``, else record the write in the caller's
    transaction: a service's write and its audit row commit together or not at all.

    Raises:
        PermissionDeniedError: the role does not hold ``right`` (raised inside the transaction,
            so nothing the service wrote before the call is kept).
    """
    require(actor, right, action)
    audit_sql.append(con, actor.label, action, project_id, details or {})


def record(
    store: Store,
    actor: Actor,
    action: str,
    project_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one write to the audit log."""
    with store.db.write() as con:
        audit_sql.append(con, actor.label, action, project_id, details or {})


def audit_log(
    store: Store,
    project_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    actor: str | None = None,
) -> list[AuditEntry]:
    """The audit log, newest first (one project's entries, or one actor's, when given)."""
    with store.db.read() as con:
        return audit_sql.entries(con, project_id, limit, offset, actor)


def audit_actors(store: Store, project_id: int) -> list[str]:
    """The labels of everyone who changed the project (``user:rita``, ``cli:ana``…)."""
    with store.db.read() as con:
        return audit_sql.actors(con, project_id)
