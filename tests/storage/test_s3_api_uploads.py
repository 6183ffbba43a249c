"""Uploads through the HTTP API with S3 storage: the API hands out presigned targets (a single
PUT signed with the file's checksum, or part URLs), a plain HTTP client puts the bytes straight
into the bucket (the API host never sees them), and the API's finalize verifies and adds them."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient
from support.actors import ADMIN
from support.s3server import S3Server, object_keys, s3_would_accept, write_noise_clip

from genesis_pipeline.api import create_app
from genesis_pipeline.config import Settings
from genesis_pipeline.services import access
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.store import Store


@dataclass(frozen=True)
class S3Api:
    client: TestClient
    bucket: str
    project_id: int
    headers: dict[str, str]


@pytest.fixture(scope="module")
def s3_api(tmp_path_factory: pytest.TempPathFactory, s3: S3Server) -> Iterator[S3Api]:
    bucket = s3.bucket()
    settings = Settings(
        home=tmp_path_factory.mktemp("s3-api"),
        storage=f"s3://{bucket}/genesis",
        s3_endpoint_url=s3.endpoint,
        s3_multipart_mb=5,
    )
    store = Store(settings)
    pid = create_project(store, "S3 uploads", actor=ADMIN).id
    auth = {
        "Authorization": "Bearer "
        + access.create_token(store, "ingest", "admin", actor=ADMIN).secret
    }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield S3Api(client, bucket, pid, auth)


def _media_names(api: S3Api) -> list[str]:
    r = api.client.get(f"/projects/{api.project_id}/media", headers=api.headers)
    assert r.status_code == 200, r.text
    return [m["original_name"] for m in r.json()]


def test_presigned_put_with_its_checksum_then_finalize(
    s3_api: S3Api, s3: S3Server, footage
) -> None:
    data = footage.path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    r = s3_api.client.post(
        f"/projects/{s3_api.project_id}/uploads",
        headers=s3_api.headers,
        json={"filename": "harbour.mp4", "size_bytes": len(data), "sha256": sha},
    )
    assert r.status_code == 201, r.text
    target = r.json()
    assert target["presigned"] and target["parts"] == []
    url, signed = target["put_url"], target["headers"]
    assert url.startswith(s3.endpoint) and f"/{s3_api.bucket}/" in url
    assert list(signed) == ["x-amz-checksum-sha256"]
    # What S3 checks of that URL (moto's server checks no presigned signature): these bytes'
    # length and checksum, and nothing else.
    assert s3_would_accept(url, "PUT", {"Content-Length": str(len(data)), **signed}, time.time())
    assert not s3_would_accept(url, "PUT", {"Content-Length": str(len(data))}, time.time())
    requests.put(url, data=data, headers=signed, timeout=30).raise_for_status()

    done = s3_api.client.post(
        target["finalize_url"], headers=s3_api.headers, json={"token": target["token"]}
    )
    assert done.status_code == 200, done.text
    media = done.json()
    assert media["sha256"] == sha and media["size_bytes"] == len(data)
    assert f"genesis/{media['path']}" in object_keys(s3, s3_api.bucket)
    assert "harbour.mp4" in _media_names(s3_api)
    again = s3_api.client.post(
        target["finalize_url"], headers=s3_api.headers, json={"token": target["token"]}
    )
    assert again.status_code == 409 and "already used" in again.json()["detail"]


def test_multipart_targets_through_the_api(s3_api: S3Api, s3: S3Server, tmp_path: Path) -> None:
    clip = write_noise_clip(tmp_path / "big take.mp4", seconds=2.0)
    data = clip.read_bytes()
    part_size = 5 * 1024 * 1024
    chunks = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    r = s3_api.client.post(
        f"/projects/{s3_api.project_id}/uploads",
        headers=s3_api.headers,
        json={
            "filename": clip.name,
            "size_bytes": len(data),
            "part_sha256s": [hashlib.sha256(c).hexdigest() for c in chunks],
        },
    )
    assert r.status_code == 201, r.text
    target = r.json()
    assert target["put_url"] is None and len(target["parts"]) == len(chunks) >= 2
    assert sum(p["size"] for p in target["parts"]) == len(data)
    for part, chunk in zip(target["parts"], chunks, strict=True):
        signed = {"Content-Length": str(part["size"]), **part["headers"]}
        assert list(part["headers"]) == ["x-amz-checksum-sha256"]
        assert s3_would_accept(part["url"], "PUT", signed, time.time())
        assert not s3_would_accept(
            part["url"], "PUT", {"Content-Length": signed["Content-Length"]}, time.time()
        )
        requests.put(
            part["url"], data=chunk, headers=part["headers"], timeout=60
        ).raise_for_status()
    done = s3_api.client.post(
        target["finalize_url"], headers=s3_api.headers, json={"token": target["token"]}
    )
    assert done.status_code == 200, done.text
    assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert not [k for k in object_keys(s3, s3_api.bucket) if "/uploads/" in k]
    assert clip.name in _media_names(s3_api)


def test_a_bad_checksum_is_refused_before_any_target_is_made(s3_api: S3Api) -> None:
    r = s3_api.client.post(
        f"/projects/{s3_api.project_id}/uploads",
        headers=s3_api.headers,
        json={"filename": "x.mp4", "size_bytes": 10, "sha256": "not-a-sha"},
    )
    assert r.status_code == 422 and "sha256" in r.text
