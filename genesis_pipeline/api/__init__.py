"""The HTTP API: FastAPI routers over the same services and run control the app and CLI call.

Route handlers only parse, check the caller's right (``deps``, through ``services.access``),
call a service, record the write in the audit log and present; every error is a problem
document (``problems``). Repeated polled reads are answered in front of the router
(``fastpath``). ``genesis api`` serves :func:`create_app` with uvicorn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from genesis_pipeline import __version__
from genesis_pipeline.api import problems
from genesis_pipeline.api.fastpath import FastPath, Lessons
from genesis_pipeline.api.responses import TimesJSONResponse
from genesis_pipeline.api.routes import (
    access,
    chapters,
    comments,
    cut_order,
    projects,
    renders,
    runs,
    scenes,
    transcripts,
    uploads,
)
from genesis_pipeline.config import Settings
from genesis_pipeline.store import Store

#: The largest JSON body a route reads (uploads have their own limit, GENESIS_MAX_UPLOAD_MB).
MAX_JSON_BYTES = 1_000_000
#: Routes whose body is a streamed file: their handlers check GENESIS_MAX_UPLOAD_MB instead.
STREAMED_PATHS = re.compile(r"/uploads/[^/]+/content$|/projects/[^/]+/narration/voiceovers$")

DESCRIPTION = """Raw footage in, a reviewed rough cut out, over HTTP.

Every call needs `Authorization: Bearer <token>` (`genesis token create --name N --role R`).
Viewers read; reviewers also approve scenes, tune chapter rules and narration, start runs;
admins also create projects, upload media and manage tokens. Every error is an
`application/problem+json` document whose `detail` names the field or file at fault.
"""


class BodyLimit:
    """Refuse a request whose announced body is too large with 413, before reading it (streamed
    uploads excepted: their routes check the upload limit)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if (
                    name == b"content-length"
                    and value.isdigit()
                    and int(value) > self.limit
                    and not STREAMED_PATHS.search(scope["path"])  # only for a large body
                ):
                    from starlette.requests import Request

                    response = problems.problem(
                        413,
                        "too-large",
                        "Request body too large",
                        f"body of {int(value)} bytes is over the {self.limit} bytes a call takes",
                        Request(scope),
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_app(settings: Settings, *, cors_origins: Sequence[str] = ()) -> FastAPI:
    """The API over the data dir ``settings.home``."""
    app = FastAPI(
        title="Genesis API",
        version=__version__,
        description=DESCRIPTION,
        responses=problems.responses(401, 422),
        default_response_class=TimesJSONResponse,
        # Genesis configures no OpenTelemetry (the SDK is not installed); FastAPI's native
        # telemetry would still look for providers, in the environment too, on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.store = store = Store(settings)
    app.state.lessons = lessons = Lessons()  # what the fast path learned, and its answers
    problems.install(app)
    for module in (
        projects,
        uploads,
        runs,
        scenes,
        chapters,
        cut_order,
        transcripts,
        renders,
        access,
        comments,
    ):
        app.include_router(module.router)
    # Innermost (added first): the body limit and CORS apply to its answers too.
    app.add_middleware(FastPath, store=store, lessons=lessons)
    app.add_middleware(BodyLimit, limit=MAX_JSON_BYTES)
    if cors_origins:  # off unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "X-Upload-Token"],
        )
    return app


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8600,
    cors_origins: Sequence[str] = (),
    log_level: str = "info",
) -> int:
    """Serve the API until interrupted (binds to localhost unless told otherwise)."""
    import uvicorn

    app = create_app(settings, cors_origins=cors_origins)
    app.state.store.db.ensure_schema()
    uvicorn.run(app, host=host, port=port, log_level=log_level)
    return 0


__all__ = ["create_app", "serve"]
