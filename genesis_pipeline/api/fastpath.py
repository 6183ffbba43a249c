"""The fast path: a repeated polled read answered before FastAPI's routing and dependencies.

Clients poll a few reads (a project's status, a run's status, a page of scenes) many times a
second with the same URL; their answer is already in the read cache as encoded bytes
(``responses.cached``), so what a request costs is mostly FastAPI's routing and dependency
resolution (path, query and header validation, the bearer scheme, the ``Depends`` chain).

:class:`FastPath` sits in front of the router. A polled route that answers from the read cache
teaches it (through the request's scope, :data:`responses.TEACH`) which cache key and load
function its raw request (path and query string, byte for byte) stands for: the layer copies
no parsing or validation, and different spellings of the same query are separate lessons. Then,
for a ``GET`` of a learned request whose bearer token the token cache holds as accepted and
whose role holds ``read``, it answers the cached entry as the route does (``responses.answer``:
200 with the body and ETag, or 304 for a matching ``If-None-Match``), starting its refresh when
due, exactly as the route's own ``get_nowait`` would. Anything else falls through to FastAPI
untouched: no lesson, no cache entry (a write through the API forgot the project's entries, or
the entry is older than ``stale_s``), no token or one not in memory, a role without ``read``, a
repeated ``Authorization`` or ``If-None-Match`` header, any other method. So every error (401,
403, 404, 422) is the framework's, and FastAPI's answer teaches again.

The routes read only ``Authorization`` and ``If-None-Match`` from the request's headers (CORS
and the body limit are middleware outside this one), so those two, the path and the query
string determine the answer. Lessons are kept for the most recently used :data:`MAX_LESSONS`
requests; they map a request to a cache key, never to bytes, so a forgotten entry is never
answered from here. Everything here runs on the event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from genesis_pipeline.api.cache import reads_for
from genesis_pipeline.api.deps import accepted_actor
from genesis_pipeline.api.responses import TEACH, Encoded, answer
from genesis_pipeline.services import access
from genesis_pipeline.store import Store

#: How many distinct polled requests the fast path remembers (least recently used go first).
MAX_LESSONS = 1024

#: A request as sent: its path and raw query string.
Raw = tuple[str, bytes]
Lesson = tuple[Hashable, Callable[[], Encoded[Any]]]


class Lessons:
    """What polled routes taught: a raw request's read-cache key and load function (bounded,
    least recently used dropped first), and how many requests were answered from them."""

    def __init__(self, limit: int = MAX_LESSONS) -> None:
        self.limit = limit
        self.answered = 0
        self._lessons: OrderedDict[Raw, Lesson] = OrderedDict()

    def __len__(self) -> int:
        return len(self._lessons)

    def learn(self, raw: Raw, key: Hashable, load: Callable[[], Encoded[Any]]) -> None:
        self._lessons[raw] = (key, load)
        self._lessons.move_to_end(raw)
        while len(self._lessons) > self.limit:
            self._lessons.popitem(last=False)

    def recall(self, raw: Raw) -> Lesson | None:
        lesson = self._lessons.get(raw)
        if lesson is not None:
            self._lessons.move_to_end(raw)
        return lesson


class FastPath:
    """Answer learned polled reads from the read cache; pass everything else on (see the
    module's doc)."""

    def __init__(self, app: ASGIApp, store: Store, lessons: Lessons) -> None:
        self.app, self.store, self.lessons = app, store, lessons
        self.reads = reads_for(store.home)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        raw: Raw = (scope["path"], scope["query_string"])
        lesson = self.lessons.recall(raw)
        if lesson is not None:
            response = self._answer(lesson, scope["headers"])
            if response is not None:
                self.lessons.answered += 1
                await response(scope, receive, send)
                return
        scope[TEACH] = partial(self.lessons.learn, raw)
        await self.app(scope, receive, send)

    def _answer(self, lesson: Lesson, headers: list[tuple[bytes, bytes]]) -> Response | None:
        """The route's answer to a learned request, or None when FastAPI must answer."""
        authorization = if_none_match = None
        for name, value in headers:
            if name == b"authorization":
                if authorization is not None:
                    return None
                authorization = value.decode("latin-1")
            elif name == b"if-none-match":
                if if_none_match is not None:
                    return None
                if_none_match = value.decode("latin-1")
        # The bearer scheme as FastAPI's HTTPBearer reads it.
        scheme, secret = get_authorization_scheme_param(authorization)
        if not secret or scheme.lower() != "bearer":
            return None
        actor = accepted_actor(self.store, secret)  # in memory, as deps.current_actor takes it
        if actor is None or not access.allows(actor.role, "read"):
            return None
        key, load = lesson
        hit, entry = self.reads.get_nowait(key, load)
        if not hit or entry is None:
            return None
        return answer(entry, if_none_match)


__all__ = ["MAX_LESSONS", "FastPath", "Lessons"]
