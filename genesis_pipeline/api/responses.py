"""JSON responses whose times carry their UTC offset; polled reads answered from their encoded
bytes, with an ETag.

The store records times as the server's local wall clock without an offset; RFC 3339 (the
OpenAPI ``date-time`` format) needs one. Every ``*_at`` field of a response is such a time, so
here, on the way out, each one gets the server's offset.

Polled reads (a project's status, a run's status, a page of scenes) are asked for by many
clients at once, many times a second. Encoding a document costs more CPU than the rest of the
request, so the read cache keeps the encoded bytes (with the document they came from) and an
async route answers a fresh entry without a thread hand-off, validation or encoding; a client
that sends the ETag it holds as ``If-None-Match`` gets ``304 Not Modified`` and no body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar, cast

import anyio
from fastapi import Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from genesis_pipeline.api.cache import reads_for
from genesis_pipeline.store import Store

M = TypeVar("M")


def with_offsets(value: Any) -> Any:
    """``value`` with every naive ISO time under a ``*_at`` key given the local offset."""
    if isinstance(value, dict):
        return {
            k: _aware(v) if k.endswith("_at") and isinstance(v, str) else with_offsets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [with_offsets(v) for v in value]
    return value


def _aware(text: str) -> str:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return text
    return text if t.tzinfo is not None else t.astimezone().isoformat()


class TimesJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return super().render(with_offsets(content))


@dataclass(frozen=True, slots=True)
class Encoded(Generic[M]):
    """A document with its response body (the bytes the route's own serialization makes) and
    the body's strong ETag."""

    document: M
    body: bytes
    etag: str


_adapters: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    adapter = _adapters.get(kind)
    return adapter if adapter is not None else _adapters.setdefault(kind, TypeAdapter(kind))


def encode(document: M) -> Encoded[M]:
    """``document`` (a pydantic model or a dataclass) serialized as FastAPI serializes a route's
    response_model (JSON mode, by alias) into the app's default response class: the same bytes
    as an uncached answer."""
    content = _adapter(type(document)).dump_python(document, mode="json", by_alias=True)
    body = bytes(TimesJSONResponse(content).body)
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    return Encoded(document, body, etag)


def cached_sync(store: Store, key: Hashable, load: Callable[[], M]) -> Encoded[M]:
    """The encoded document under ``key`` in the data dir's read cache (fresh, or loaded and
    encoded here, shared with concurrent callers)."""
    return reads_for(store.home).get(key, lambda: encode(load()))


#: The request scope's entry by which the fast path (``api.fastpath``) learns what a polled
#: request stands for: called with the read-cache key and load function that answered it.
TEACH = "genesis.fastpath.teach"


async def cached(
    request: Request, store: Store, key: Hashable, load: Callable[[], M]
) -> Encoded[M]:
    """:func:`cached_sync` from the event loop: a fresh entry, or a recent one while it is
    refreshed, at once; else loaded in a worker thread. Teaches the fast path that
    ``request`` stands for ``key``, so it can answer the same request itself next time."""
    reads = reads_for(store.home)

    def encoded() -> Encoded[M]:
        return encode(load())

    hit, entry = reads.get_nowait(key, encoded)
    if not hit:
        entry = await anyio.to_thread.run_sync(reads.get, key, encoded)
    teach = request.scope.get(TEACH)
    if teach is not None:
        teach(key, encoded)
    return cast(Encoded[M], entry)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
    return etag in {t.strip().removeprefix("W/") for t in if_none_match.split(",")}


IfNoneMatch = Annotated[
    str | None,
    Header(description="the ETag of the answer the client holds: 304 if it is still current"),
]


def answer(encoded: Encoded[Any], if_none_match: str | None) -> Response:
    """``encoded`` as a response: 304 with no body when the client's ``If-None-Match`` holds
    its ETag; ``no-cache``: a client may keep it but asks again (conditionally) each time."""
    headers = {"ETag": encoded.etag, "Cache-Control": "no-cache"}
    if _matches(if_none_match, encoded.etag):
        return Response(status_code=304, headers=headers)
    return Response(encoded.body, media_type="application/json", headers=headers)


#: OpenAPI for the 304 of a polled read.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` ETag is still the current one"}
}
