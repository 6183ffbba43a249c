"""The command line with S3 storage: ``genesis config`` names the storage, ``upload-url`` prints
a presigned target a script uploads to, ``finalize-upload`` adds it, ``add-media`` registers
``s3://`` objects in place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from support.s3server import S3Server, object_keys


def _genesis(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_upload_url_finalize_and_add_media_from_s3(
    home: Path, footage, tone_footage, s3: S3Server
) -> None:
    bucket = s3.bucket()
    env = s3.env(bucket)
    shown = _json(_genesis(home, env, "config", "--json"))
    assert shown["storage"] == f"s3://{bucket}/genesis ({s3.endpoint})"
    assert shown["settings"]["storage"] == f"s3://{bucket}/genesis"
    text = _genesis(home, env, "config").stdout
    assert f"storage in effect: s3://{bucket}/genesis" in text

    assert _json(_genesis(home, env, "create-project", "--name", "p", "--json"))["project_id"] == 1
    target = _json(
        _genesis(home, env, "upload-url", "--project-id", "1", "--filename", "a b.mp4", "--json")
    )
    assert target["url"].startswith(s3.endpoint) and target["parts"] == []
    assert target["path"] is None and target["finalize"].startswith("genesis finalize-upload")
    requests.put(target["url"], data=footage.path.read_bytes(), timeout=30).raise_for_status()
    added = _json(
        _genesis(
            home,
            env,
            "finalize-upload",
            "--upload-id",
            target["upload_id"],
            "--token",
            target["token"],
            "--json",
        )
    )
    (media,) = added["media"]
    assert media["original_name"] == "a b.mp4" and media["duplicate"] is False

    s3.client().put_object(
        Bucket=bucket, Key="incoming/tone.mp4", Body=tone_footage.path.read_bytes()
    )
    uri = f"s3://{bucket}/incoming/tone.mp4"
    added = _json(_genesis(home, env, "add-media", "--project-id", "1", uri, "--json"))
    (media,) = added["media"]
    assert media["original_name"] == "tone.mp4"
    status = _json(_genesis(home, env, "status", "--project-id", "1", "--json"))
    paths = [m["path"] for m in status["media"]]
    assert paths[1] == uri and paths[0].startswith(f"s3://{bucket}/genesis/media/1/")
    assert "incoming/tone.mp4" in object_keys(s3, bucket, "incoming/")


def test_local_storage_prints_a_path_and_refuses_s3_uris(home: Path, footage) -> None:
    env = {"GENESIS_STORAGE": ""}
    assert _genesis(home, env, "create-project", "--name", "p").returncode == 0
    target = _json(
        _genesis(home, env, "upload-url", "--project-id", "1", "--filename", "a.mp4", "--json")
    )
    assert target["url"] is None and target["path"].startswith(str(home.resolve()))
    assert target["commands"] == [f"cp FILE {target['path']}"]
    Path(target["path"]).write_bytes(footage.path.read_bytes())
    fin = _genesis(
        home, env, "finalize-upload", "--upload-id", target["upload_id"], "--token", "nope"
    )
    assert fin.returncode == 2 and "wrong token" in fin.stderr
    proc = _genesis(home, env, "add-media", "--project-id", "1", "s3://b/x.mp4")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "genesis: error: GENESIS_STORAGE: s3://b/x.mp4 is in S3 but the storage is local; "
        "set s3://bucket/…"
    ]
    shown = _genesis(home, env, "config").stdout
    assert f"storage in effect: the data dir {home.resolve()}" in shown


def test_upload_url_part_checksums_need_a_multipart_upload(home: Path, s3: S3Server) -> None:
    env = s3.env(s3.bucket())
    assert _genesis(home, env, "create-project", "--name", "p").returncode == 0
    sha = "ab" * 32
    proc = _genesis(
        home, env, "upload-url", "--project-id", "1", "--filename", "a.mp4",
        "--size", "1000", "--part-sha256", f"{sha},{sha}",
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("genesis: error: part_sha256: "), (
        proc.stderr
    )
    assert "multipart" in proc.stderr
