"""Request bodies streamed into a sink (an upload's file, a voiceover's temp file), never held
whole in memory; the OpenAPI description of such a body."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import anyio
from fastapi import Request

#: ``openapi_extra`` of a route whose body is raw bytes.
BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class Sink(Protocol):
    def write(self, chunk: bytes) -> None: ...


S = TypeVar("S", bound=Sink)
T = TypeVar("T")


async def receive_body(
    request: Request, opening: contextlib.AbstractContextManager[S], use: Callable[[S], T]
) -> T:
    """Open ``opening`` (its checks run before the first byte is read), write the body into the
    sink chunk by chunk, then ``use(sink)`` while it is still open; blocking work (opening,
    ``use``, closing or cleaning up after an error) runs off the event loop."""
    stack = contextlib.ExitStack()
    sink = await anyio.to_thread.run_sync(stack.enter_context, opening)
    try:
        async for chunk in request.stream():
            if chunk:
                sink.write(chunk)
        result = await anyio.to_thread.run_sync(use, sink)
    except BaseException:
        await anyio.to_thread.run_sync(lambda: stack.__exit__(*sys.exc_info()))
        raise
    await anyio.to_thread.run_sync(stack.close)
    return result
