"""The fast path (api/fastpath.py): a polled read FastAPI answered once is answered again in
front of the router, byte for byte as FastAPI answers it; anything it cannot vouch for falls
through to FastAPI (its errors, its re-teaching)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from genesis_pipeline.api import create_app
from genesis_pipeline.api.cache import reads_for, tokens_for
from genesis_pipeline.api.fastpath import Lessons
from genesis_pipeline.api.responses import Encoded, encode


@pytest.fixture()
def steady(api) -> Iterator[None]:
    """Cached reads and accepted tokens stay fresh for a minute: only a write's (or a
    revocation's) forgetting changes them, so two answers to one request are comparable."""
    caches = [reads_for(api.store.home), tokens_for(api.store.home)]
    kept = [(c.ttl_s, c.stale_s) for c in caches]
    for c in caches:
        c.ttl_s = c.stale_s = 60.0
        c.forget()
    yield
    for c, (ttl, stale) in zip(caches, kept, strict=True):
        c.ttl_s, c.stale_s = ttl, stale
        c.forget()


@pytest.fixture()
def fresh(api, steady: None) -> Iterator[tuple[TestClient, Lessons]]:
    """An app of its own over the fixture's data dir: nothing learned yet."""
    app = create_app(api.store.settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, lessons(app)


def lessons(app: FastAPI) -> Lessons:
    learned = app.state.lessons
    assert isinstance(learned, Lessons)
    return learned


class Answered(Protocol):  # what a TestClient's response offers here
    @property
    def status_code(self) -> int: ...
    @property
    def content(self) -> bytes: ...
    @property
    def headers(self) -> Any: ...


def same(a: Answered, b: Answered) -> None:
    assert (a.status_code, a.content) == (b.status_code, b.content)
    assert a.headers.raw == b.headers.raw  # names, values and order


POLLED = (
    "/runs/current",
    "",
    "?words=true",
    "?words=1",
    "/scenes",
    "/scenes?sort=-duration&page_size=2",
    "/scenes?page_size=2&sort=-duration",  # the same query spelled otherwise
    "/scenes?page_size=2&sort=-duration&page=1",
    "/scenes?status=approved&confidence_below=0.99&page_size=3",
)


def test_fast_answers_are_fastapis_byte_for_byte(api, fresh: tuple[TestClient, Lessons]) -> None:
    client, learned = fresh
    h, pid = api.headers("viewer"), api.project_id
    urls = [f"/projects/{pid}{route}" for route in POLLED]
    framework = {url: client.get(url, headers=h) for url in urls}  # FastAPI answers, teaches
    assert learned.answered == 0 and len(learned) == len(urls)
    for url in urls:
        fast = client.get(url, headers=h)
        assert framework[url].status_code == 200, framework[url].text
        same(fast, framework[url])
        assert fast.headers["content-type"] == "application/json"
        assert fast.headers["etag"] == encode_etag(fast.content)
    assert learned.answered == len(urls)  # every second answer was the fast path's
    # Each spelling is answered with its own query's bytes.
    bodies = {url: framework[url].content for url in urls}
    assert bodies[urls[5]] == bodies[urls[6]] != bodies[urls[7]]
    assert bodies[urls[4]] != bodies[urls[5]] and bodies[urls[1]] != bodies[urls[2]]


def encode_etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


@pytest.mark.parametrize("route", ["/runs/current", "", "/scenes?page=1&page_size=2"])
def test_not_modified_is_fastapis_too(api, fresh: tuple[TestClient, Lessons], route: str) -> None:
    client, learned = fresh
    h, url = api.headers("viewer"), f"/projects/{api.project_id}{route}"
    etag = client.get(url, headers=h).headers["etag"]
    for held in (etag, f"W/{etag}", f'"other", {etag}', "*", '"other"'):
        asked = {**h, "If-None-Match": held}
        before = learned.answered
        fast = client.get(url, headers=asked)
        assert learned.answered == before + 1, held
        # The same request answered by FastAPI: an app that has learned nothing.
        other = create_app(api.store.settings)
        with TestClient(other) as plain:
            same(fast, plain.get(url, headers=asked))
        assert lessons(other).answered == 0
        assert fast.status_code == (200 if held == '"other"' else 304)


def test_cors_headers_are_added_to_fast_answers(api, steady: None) -> None:
    app = create_app(api.store.settings, cors_origins=["http://panel.example"])
    h = {**api.headers("viewer"), "Origin": "http://panel.example"}
    url = f"/projects/{api.project_id}/runs/current"
    with TestClient(app) as client:
        framework, fast = client.get(url, headers=h), client.get(url, headers=h)
        preflight = client.options(
            url,
            headers={"Origin": "http://panel.example", "Access-Control-Request-Method": "GET"},
        )
    assert lessons(app).answered == 1
    same(fast, framework)
    assert fast.headers["access-control-allow-origin"] == "http://panel.example"
    assert preflight.status_code == 200 and lessons(app).answered == 1


def test_falls_through_without_an_accepted_read_token(
    api, fresh: tuple[TestClient, Lessons]
) -> None:
    client, learned = fresh
    url = f"/projects/{api.project_id}/scenes?page_size=2"
    assert client.get(url, headers=api.headers("viewer")).status_code == 200  # learned
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Bearer gen_not-a-token"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": f"Basic {api.tokens['viewer']}"}, 401),
        ({"Authorization": api.tokens["viewer"]}, 401),
    ):
        answered = client.get(url, headers=headers)
        assert answered.status_code == status, headers
        assert answered.headers["content-type"] == "application/problem+json"
    # A repeated header: FastAPI reads the first; the fast path leaves it to FastAPI.
    twice = [("Authorization", f"Bearer {api.tokens['viewer']}")] * 2
    assert client.get(url, headers=twice).status_code == 200
    assert client.head(url, headers=api.headers("viewer")).status_code == 405  # as FastAPI
    assert learned.answered == 0
    for role in ("reviewer", "admin"):  # the first ask puts the token in memory
        assert client.get(url, headers=api.headers(role)).status_code == 200
        assert client.get(url, headers=api.headers(role)).status_code == 200
    assert learned.answered == 2  # every role reads


def test_a_revoked_token_is_refused_at_once(api, fresh: tuple[TestClient, Lessons]) -> None:
    client, learned = fresh
    admin, url = api.headers("admin"), f"/projects/{api.project_id}/runs/current"
    made = client.post("/tokens", json={"name": "fast-revoked", "role": "viewer"}, headers=admin)
    assert made.status_code == 201, made.text
    h = {"Authorization": f"Bearer {made.json()['secret']}"}
    assert client.get(url, headers=h).status_code == 200  # the token read, the route learned
    assert client.get(url, headers=h).status_code == 200
    assert learned.answered == 1
    assert client.delete("/tokens/fast-revoked", headers=admin).status_code == 200
    refused = client.get(url, headers=h)
    assert refused.status_code == 401 and learned.answered == 1


def test_a_write_through_the_api_is_seen_at_once(api, fresh: tuple[TestClient, Lessons]) -> None:
    client, learned = fresh
    h, pid = api.headers("reviewer"), api.project_id
    url = f"/projects/{pid}/scenes?status=rejected&page_size=500"
    scenes = client.get(f"/projects/{pid}/scenes?page_size=500", headers=h).json()["scenes"]
    scene = next(s for s in scenes if s["review_status"] != "rejected")
    client.get(url, headers=h)
    before = client.get(url, headers=h)
    assert learned.answered == 1
    try:
        assert client.post(f"/projects/{pid}/scenes/{scene['id']}/reject", headers=h).is_success
        after = client.get(url, headers=h)  # the entry was forgotten: FastAPI answers
        assert learned.answered == 1
        assert scene["id"] in [s["id"] for s in after.json()["scenes"]]
        assert after.headers["etag"] != before.headers["etag"]
        again = client.get(url, headers=h)  # taught again
        assert learned.answered == 2
        same(again, after)
    finally:
        client.post(f"/projects/{pid}/scenes/{scene['id']}/approve", headers=h)
    assert scene["id"] not in [s["id"] for s in client.get(url, headers=h).json()["scenes"]]


def test_an_entry_past_its_staleness_is_fastapis(api, fresh: tuple[TestClient, Lessons]) -> None:
    client, learned = fresh
    h, url = api.headers("viewer"), f"/projects/{api.project_id}/runs/current"
    first = client.get(url, headers=h)
    reads = reads_for(api.store.home)
    reads.ttl_s = reads.stale_s = 0.0  # every entry is too old to answer without the store
    second = client.get(url, headers=h)
    assert learned.answered == 0
    assert second.status_code == 200 and second.content == first.content


def test_unknown_projects_are_fastapis_404(api, fresh: tuple[TestClient, Lessons]) -> None:
    client, learned = fresh
    h = api.headers("viewer")
    for route in ("", "/runs/current", "/scenes"):
        for _ in range(2):
            missing = client.get(f"/projects/987654{route}", headers=h)
            assert missing.status_code == 404, route
            assert missing.headers["content-type"] == "application/problem+json"
    assert client.get(f"/projects/{api.project_id}?words=maybe", headers=h).status_code == 422
    assert client.get(f"/projects/{api.project_id}?words=maybe", headers=h).status_code == 422
    assert learned.answered == 0 and len(learned) == 0


def test_lessons_are_bounded_least_recently_used_first() -> None:
    learned = Lessons(limit=2)

    def load() -> Encoded[Any]:
        return encode({"n": 1})

    learned.learn(("/a", b""), "a", load)
    learned.learn(("/b", b""), "b", load)
    assert learned.recall(("/a", b"")) is not None  # /a is now the most recent
    learned.learn(("/c", b"x=1"), "c", load)
    assert len(learned) == 2
    assert learned.recall(("/b", b"")) is None
    assert learned.recall(("/a", b"")) == ("a", load)
    assert learned.recall(("/c", b"")) is None and learned.recall(("/c", b"x=1")) is not None
