"""Polled reads (project status, run status, scene pages) answered from cached encoded bytes:
the same bytes FastAPI's own serialization of the response model makes, forgotten at once by
a write through the API, with an ETag a client can send back for a 304."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from genesis_pipeline.api import create_app
from genesis_pipeline.api.cache import reads_for
from genesis_pipeline.api.routes.runs import RunStatus, run_status
from genesis_pipeline.api.routes.scenes import ScenePage, Sort, scene_page
from genesis_pipeline.services.status import ProjectStatus, status_report


@pytest.fixture()
def long_ttl(api) -> Iterator[None]:
    """Cached reads stay fresh for a minute: only a write's forgetting can refresh them."""
    reads = reads_for(api.store.home)
    kept = reads.ttl_s, reads.stale_s
    reads.ttl_s = reads.stale_s = 60.0
    reads.forget()
    yield
    reads.ttl_s, reads.stale_s = kept
    reads.forget()


@pytest.fixture()
def plain(api) -> Iterator[TestClient]:
    """The same documents served the ordinary FastAPI way: the handler returns the object and
    FastAPI validates and serializes it through the route's response_model."""
    app = create_app(api.store.settings)
    store = app.state.store

    def plain_run(pid: int) -> RunStatus:
        return run_status(store, pid)

    def plain_project(pid: int, words: bool = False) -> ProjectStatus:
        return status_report(store, pid, include_words=words)

    def plain_scenes(pid: int, sort: Sort = "timeline", page_size: int = 24) -> ScenePage:
        return scene_page(store, pid, sort=sort, page_size=page_size)

    app.add_api_route("/plain/{pid}/runs/current", plain_run, response_model=RunStatus)
    app.add_api_route("/plain/{pid}", plain_project, response_model=ProjectStatus)
    app.add_api_route("/plain/{pid}/scenes", plain_scenes, response_model=ScenePage)
    with TestClient(app) as client:
        yield client


POLLED = (
    "/runs/current",
    "",
    "?words=true",
    "/scenes",
    "/scenes?sort=-duration&page_size=100",
)


@pytest.mark.parametrize("route", POLLED)
def test_cached_bytes_are_what_fastapi_serializes(
    api, plain: TestClient, long_ttl: None, route: str
) -> None:
    h, pid = api.headers("viewer"), api.project_id
    loaded = api.client.get(f"/projects/{pid}{route}", headers=h)  # loaded, encoded, kept
    hit = api.client.get(f"/projects/{pid}{route}", headers=h)  # served from the cache
    uncached = plain.get(f"/plain/{pid}{route}")
    assert loaded.status_code == hit.status_code == uncached.status_code == 200, loaded.text
    assert loaded.content == hit.content == uncached.content
    assert loaded.headers["content-type"] == uncached.headers["content-type"]
    assert loaded.headers["etag"] == hit.headers["etag"]
    assert int(loaded.headers["content-length"]) == len(uncached.content)


def test_a_write_through_the_api_forgets_the_cached_reads_at_once(api, long_ttl: None) -> None:
    h, pid = api.headers("reviewer"), api.project_id
    rejected_url = f"/projects/{pid}/scenes?status=rejected&page_size=500"
    first = api.client.get(f"/projects/{pid}/scenes?page_size=500", headers=h).json()["scenes"]
    scene = next(s for s in first if s["review_status"] != "rejected")
    before = api.client.get(rejected_url, headers=h)
    status_before = api.client.get(f"/projects/{pid}", headers=h)
    assert scene["id"] not in [s["id"] for s in before.json()["scenes"]]
    try:
        assert api.client.post(f"/projects/{pid}/scenes/{scene['id']}/reject", headers=h).is_success
        after = api.client.get(rejected_url, headers=h)  # well within the minute's ttl
        assert scene["id"] in [s["id"] for s in after.json()["scenes"]]
        assert after.headers["etag"] != before.headers["etag"]
        stale = api.client.get(rejected_url, headers={**h, "If-None-Match": before.headers["etag"]})
        assert stale.status_code == 200 and stale.content == after.content
        status_after = api.client.get(f"/projects/{pid}", headers=h)
        assert status_after.headers["etag"] != status_before.headers["etag"]
        reviewed = {s["id"]: s for s in status_after.json()["scenes"]}
        assert reviewed[scene["id"]]["review_status"] == "rejected"
    finally:
        api.client.post(f"/projects/{pid}/scenes/{scene['id']}/approve", headers=h)
    back = api.client.get(rejected_url, headers=h).json()["scenes"]
    assert scene["id"] not in [s["id"] for s in back]


@pytest.mark.parametrize("route", ["/runs/current", "", "/scenes?page=1&page_size=2"])
def test_if_none_match_gets_304_while_the_etag_is_current(api, route: str) -> None:
    h, url = api.headers("viewer"), f"/projects/{api.project_id}{route}"
    full = api.client.get(url, headers=h)
    etag = full.headers["etag"]
    assert etag.startswith('"') and full.headers["cache-control"] == "no-cache"
    for held in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = api.client.get(url, headers={**h, "If-None-Match": held})
        assert again.status_code == 304, held
        assert again.content == b"" and again.headers["etag"] == etag
    other = api.client.get(url, headers={**h, "If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == full.content
    # The token is checked first: no answer, not even a 304, without one.
    assert api.client.get(url, headers={"If-None-Match": etag}).status_code == 401


def test_polled_routes_keep_their_response_model_in_the_schema(api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path, model in (
        ("/projects/{project_id}/runs/current", "RunStatus"),
        ("/projects/{project_id}", "ProjectStatus"),
        ("/projects/{project_id}/scenes", "ScenePage"),
    ):
        get = paths[path]["get"]
        ok = get["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{model}"}, path
        assert "304" in get["responses"]
        assert any(p["name"] == "if-none-match" and p["in"] == "header" for p in get["parameters"])
