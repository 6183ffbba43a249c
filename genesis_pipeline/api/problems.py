"""Every error as a problem document (RFC 9457, ``application/problem+json``).

Errors Genesis raises on purpose map to their 4xx status here, in one table; request validation
names the field; anything else is a bug: logged with its traceback on the server, answered as a
500 problem without one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from genesis_pipeline.errors import (
    AuthenticationError,
    GenesisError,
    InvalidMediaError,
    InvalidSettingError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RunInProgressError,
    StoreBusyError,
    UploadError,
)

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://genesis.invalid/problems/"

#: Error class -> (status, type slug, title); the first match in order wins.
STATUS: tuple[tuple[type[GenesisError], int, str, str], ...] = (
    (AuthenticationError, 401, "unauthenticated", "Missing or unknown token"),
    (PermissionDeniedError, 403, "forbidden", "Your role may not do this"),
    (NotFoundError, 404, "not-found", "No such resource"),
    (RunInProgressError, 409, "run-in-progress", "A run is in progress"),
    (UploadError, 409, "upload", "The upload cannot be used"),
    (PayloadTooLargeError, 413, "too-large", "Request body too large"),
    (InvalidSettingError, 422, "invalid-setting", "Invalid value"),
    (InvalidMediaError, 422, "invalid-media", "Unusable media"),
    (StoreBusyError, 503, "store-busy", "The store is busy"),
)


class Problem(BaseModel):
    """An error (RFC 9457). ``detail`` names the field, file or setting and the reason."""

    type: str = Field(examples=[TYPE_BASE + "not-found"])
    title: str = Field(examples=["No such resource"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["project 7: no such project"])
    instance: str | None = Field(default=None, examples=["/projects/7"])
    field: str | None = Field(
        default=None, description="the request field at fault", examples=["body.name"]
    )


def problem(
    status: int, slug: str, title: str, detail: str, request: Request, field: str | None = None
) -> JSONResponse:
    body = Problem(
        type=TYPE_BASE + slug,
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        field=field,
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def genesis_problem(exc: GenesisError, request: Request) -> JSONResponse:
    for cls, status, slug, title in STATUS:
        if isinstance(exc, cls):
            field = getattr(exc, "setting", None)
            return problem(status, slug, title, str(exc), request, field)
    # A stage or tool failure reached a request: the server's fault, said in one line.
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return problem(500, "server", "The server could not do this", str(exc), request)


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    """Answer every error as a problem document."""

    @app.exception_handler(GenesisError)
    async def on_genesis(request: Request, exc: GenesisError) -> JSONResponse:
        return genesis_problem(exc, request)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _location(first.get("loc", ()))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        detail = f"{field}: {first.get('msg', 'invalid')}{more}"
        return problem(422, "invalid-request", "Invalid request", detail, request, field)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        return problem(exc.status_code, slug, str(exc.detail), str(exc.detail), request)

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "server", "Internal error", "the server failed; see its log", request)


#: The error responses every route documents (OpenAPI).
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "Missing, unknown or revoked token",
        403: "The token's role may not do this",
        404: "Unknown id",
        409: "Conflict (a run in progress, an upload already used)",
        413: "Body over the limit (refused before it is read)",
        422: "Invalid input; `field` names it",
    }
    return {
        s: {
            "description": described[s],
            "model": Problem,
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }
