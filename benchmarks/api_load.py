"""Clients for the API benchmark, in a process of their own: ``--clients`` asyncio tasks, each
with one keep-alive connection, asking for the given paths in turn.

    python -m benchmarks.api_load --url URL --token T --path status=/p/1/runs/current
        --path scenes=/p/1/scenes [--clients 50] [--interval 0] [--conditional] [--seconds S]
        [--client h11|httptools|httpx]

``--interval 0`` is closed-loop (each client asks again as soon as it is answered); ``--interval
1`` is a polling client (each asks once a second, starts spread over the first second). With
``--conditional`` a client sends the ETag it last got for a path as ``If-None-Match`` (a 304 is
a success). Runs for ``--seconds`` or until a line (or end of file) arrives on stdin, then
prints one JSON document: latencies in ms by path name, 304 counts, errors, the wall time and
this process's CPU seconds. Kept apart from the server's process so the figures are the
server's latency, not the load generator's contention for the GIL; the connections speak h11
directly by default (``--client httpx``: an ``httpx.AsyncClient`` each, about twice the CPU
per request, which the load generator takes from the cores the server shares; ``--client
httptools``: requests written as bytes, responses parsed with httptools, less than h11).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import h11
import httptools
import httpx


@dataclass(slots=True)
class Tally:
    latencies_ms: dict[str, list[float]]
    not_modified: dict[str, int]
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    etag: str | None
    head: str  # the body's start, for an error's message


class Getter(Protocol):
    async def get(self, path: str, headers: list[tuple[str, str]]) -> Answer: ...

    async def aclose(self) -> None: ...


class HttpxGetter:
    """One ``httpx.AsyncClient`` with one connection."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            limits=httpx.Limits(max_connections=1),
        )

    async def get(self, path: str, headers: list[tuple[str, str]]) -> Answer:
        r = await self.client.get(path, headers=headers)
        return Answer(r.status_code, r.headers.get("etag"), r.text[:160])

    async def aclose(self) -> None:
        await self.client.aclose()


class H11Getter:
    """A keep-alive HTTP/1.1 connection spoken with h11 (the protocol library under httpx)
    over asyncio streams: the same requests for a fraction of httpx's CPU."""

    def __init__(self, url: str, token: str) -> None:
        where = urlsplit(url)
        self.host, self.port = where.hostname or "127.0.0.1", where.port or 80
        self.fixed = [("Host", f"{self.host}:{self.port}"), ("Authorization", f"Bearer {token}")]
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.conn = h11.Connection(h11.CLIENT)

    async def get(self, path: str, headers: list[tuple[str, str]]) -> Answer:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
            self.conn = h11.Connection(h11.CLIENT)
        reader, writer = self.streams
        request = h11.Request(method="GET", target=path, headers=[*self.fixed, *headers])
        writer.write(self.conn.send(request) + (self.conn.send(h11.EndOfMessage()) or b""))
        status, etag, body = 0, None, bytearray()
        try:
            while True:
                event = self.conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(1 << 16)
                    if not data:
                        raise ConnectionError("the server closed the connection")
                    self.conn.receive_data(data)
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    etag = next((v.decode() for k, v in event.headers if k == b"etag"), None)
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
            self.conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError):
            await self.aclose()
            raise
        return Answer(status, etag, bytes(body[:160]).decode(errors="replace"))

    async def aclose(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class _Parsed:
    """httptools' callbacks for one response."""

    def __init__(self) -> None:
        self.etag: str | None = None
        self.body = bytearray()
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"etag":
            self.etag = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


class HttptoolsGetter:
    """A keep-alive HTTP/1.1 connection: each request written as bytes, each response parsed
    with httptools (llhttp, the parser uvicorn uses): less client CPU per request than h11."""

    def __init__(self, url: str, token: str) -> None:
        where = urlsplit(url)
        host, port = where.hostname or "127.0.0.1", where.port or 80
        self.host, self.port = host, port
        self.fixed = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str, headers: list[tuple[str, str]]) -> Answer:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        writer.write(f"GET {path} HTTP/1.1\r\n{self.fixed}{extra}\r\n".encode("latin-1"))
        got = _Parsed()
        parser = httptools.HttpResponseParser(got)
        try:
            while not got.done:
                data = await reader.read(1 << 16)
                if not data:
                    raise ConnectionError("the server closed the connection")
                parser.feed_data(data)
        except (httptools.HttpParserError, ConnectionError):
            await self.aclose()
            raise
        status = parser.get_status_code()
        return Answer(status, got.etag, bytes(got.body[:160]).decode(errors="replace"))

    async def aclose(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


GETTERS: dict[str, type[HttpxGetter] | type[H11Getter] | type[HttptoolsGetter]] = {
    "h11": H11Getter,
    "httptools": HttptoolsGetter,
    "httpx": HttpxGetter,
}


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _client(
    i: int,
    clients: int,
    c: Getter,
    paths: list[tuple[str, str]],
    interval: float,
    conditional: bool,
    stop: asyncio.Event,
    tally: Tally,
) -> None:
    loop = asyncio.get_running_loop()
    if interval:  # spread the pollers over the first interval, as independent editors would be
        await asyncio.sleep(interval * i / clients)
    etags: dict[str, str] = {}
    n = i
    while not stop.is_set():
        name, path = paths[n % len(paths)]
        n += 1
        headers = [("If-None-Match", etags[name])] if conditional and name in etags else []
        t0 = loop.time()
        try:
            r = await c.get(path, headers)
            ok, why = 200 <= r.status < 300 or r.status == 304, f"{name}: {r.status} {r.head}"
        except (httpx.HTTPError, h11.ProtocolError, httptools.HttpParserError, OSError) as exc:
            ok, why, r = False, f"{name}: {type(exc).__name__}: {exc}", None
        ms = (loop.time() - t0) * 1000
        if not ok or r is None:
            tally.errors.append(why)
        else:
            tally.latencies_ms[name].append(ms)
            if r.status == 304:
                tally.not_modified[name] += 1
            if r.etag is not None:
                etags[name] = r.etag
        if interval:
            left = t0 + interval - loop.time()
            if left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), left)


async def run_load(
    url: str,
    token: str,
    paths: list[tuple[str, str]],
    clients: int,
    interval: float,
    conditional: bool,
    seconds: float | None,
    client: str = "h11",
) -> dict[str, Any]:
    tally = Tally({name: [] for name, _ in paths}, {name: 0 for name, _ in paths})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # A connection per client: one shared pool of 50 connections costs httpx more CPU per
    # request than the server spends answering it.
    conns: list[Getter] = [GETTERS[client](url, token) for _ in range(clients)]
    try:
        cpu0, t0 = _cpu_s(), time.monotonic()
        tasks = [
            asyncio.create_task(
                _client(i, clients, conns[i], paths, interval, conditional, stop, tally)
            )
            for i in range(clients)
        ]
        if seconds is not None:
            await asyncio.sleep(seconds)
        else:  # until the parent says so (a line, or stdin closed)
            await loop.run_in_executor(None, sys.stdin.readline)
        stop.set()
        await asyncio.gather(*tasks)
        wall_s, cpu_s = time.monotonic() - t0, _cpu_s() - cpu0
    finally:
        for c in conns:
            await c.aclose()
    return {
        "clients": clients,
        "client": client,
        "interval_s": interval,
        "conditional": conditional,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "latencies_ms": tally.latencies_ms,
        "not_modified": tally.not_modified,
        "errors": tally.errors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.api_load", description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--path", action="append", required=True, help="NAME=/path (repeatable)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--interval", type=float, default=0.0, help="seconds between a client's asks")
    ap.add_argument("--conditional", action="store_true", help="send If-None-Match")
    ap.add_argument("--seconds", type=float, help="run this long (default: until stdin says)")
    ap.add_argument("--client", choices=sorted(GETTERS), default="h11", help="HTTP client")
    args = ap.parse_args(argv)
    paths = [tuple(p.split("=", 1)) for p in args.path]
    if any(len(p) != 2 for p in paths):
        ap.error("--path takes NAME=/path")
    out = asyncio.run(
        run_load(
            args.url,
            args.token,
            [(n, p) for n, p in paths],
            args.clients,
            args.interval,
            args.conditional,
            args.seconds,
            args.client,
        )
    )
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
