"""What routes depend on: the store, the caller (a bearer token) and its right, the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from fastapi import Depends, Path, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from genesis_pipeline.api.cache import reads_for, tokens_for
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor, Right
from genesis_pipeline.store import Store

_bearer = HTTPBearer(auto_error=False, description="a token from `genesis token create`")


# The dependencies are async and do no blocking work on the way every request takes (an
# accepted token is in memory), so they run on the event loop: a sync one costs each request
# a hand-off to a worker thread and back.


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]


async def current_actor(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Actor:
    """Raises: AuthenticationError: no bearer token, or an unknown or revoked one."""
    secret = credentials.credentials if credentials else None
    if not secret:
        return access.authenticate(store, secret)  # raises before it reads the store
    actor = accepted_actor(store, secret)
    if actor is not None:
        return actor
    return await anyio.to_thread.run_sync(
        tokens_for(store.home).get,
        access.token_sha256(secret),
        lambda: access.authenticate(store, secret),
    )


def accepted_actor(store: Store, secret: str) -> Actor | None:
    """The actor of a token the token cache holds as accepted (refreshed when due), else None:
    never reads the store, so the event loop may call it (``current_actor`` and the fast path)."""
    hit, actor = tokens_for(store.home).get_nowait(
        access.token_sha256(secret), lambda: access.authenticate(store, secret)
    )
    return actor if hit else None


def allowed(right: Right, action: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency: the caller, when its role holds ``right`` (checked in services.access)."""

    async def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        access.require(actor, right, action)
        return actor

    return check


Reader = Annotated[Actor, Depends(allowed("read", "read"))]
Reviewer = Annotated[Actor, Depends(allowed("review", "review, tune or run"))]
Admin = Annotated[Actor, Depends(allowed("manage", "manage projects, media and tokens"))]


def forget(store: Store, project_id: int | None) -> None:
    """After a write: the project's cached reads go (the service recorded the write itself,
    in its own transaction, through ``access.permit``)."""
    reads_for(store.home).forget(lambda key: isinstance(key, tuple) and key[1] == project_id)


def audit(
    store: Store, actor: Actor, action: str, project_id: int | None = None, **details: Any
) -> None:
    """Record what no service records (an upload's bytes arriving) and forget the project's
    cached reads."""
    forget(store, project_id)
    access.record(store, actor, action, project_id, details)


#: The largest id a path or query takes (JavaScript's safe integers; the store's are BIGINT).
MAX_ID = 2**53
PathId = Annotated[int, Path(ge=0, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=0, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=0, le=MAX_ID)]
