"""S3 misconfigured: a wrong endpoint, wrong credentials or a missing bucket fail the first
operation within seconds with one line naming the setting to fix (no long retry hangs)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.actors import ADMIN
from support.s3server import S3Server, free_port

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store import Store

#: "Within a few seconds": the first operation checks the bucket with a 3 s connect timeout
#: and one attempt.
FAST_S = 5.0


def _genesis(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genesis_pipeline.cli", *args, "--data-dir", str(home)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@contextlib.contextmanager
def _credentials_checked() -> Iterator[None]:
    """Make the S3 server check signatures against the access keys it knows (it knows none,
    so any key is wrong), as moto's own ``set_initial_no_auth_action_count(0)`` does."""
    from moto import settings

    before = settings.INITIAL_NO_AUTH_ACTION_COUNT
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = before


def _fails_fast(settings: Settings, footage_path: Path, setting: str) -> str:
    store = Store(settings)
    pid = create_project(store, "p", actor=ADMIN).id  # the database is local: no S3 needed yet
    t0 = time.monotonic()
    with pytest.raises(InvalidSettingError) as err:
        add_media(store, pid, [footage_path], actor=ADMIN)
    took = time.monotonic() - t0
    assert took < FAST_S, took
    assert err.value.setting.startswith(setting)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(setting)
    return msg


def test_wrong_endpoint_names_the_setting(home: Path, footage, s3: S3Server) -> None:
    bucket = s3.bucket()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = Settings(home=home, storage=f"s3://{bucket}/g", s3_endpoint_url=dead)
    msg = _fails_fast(settings, footage.path, "GENESIS_S3_ENDPOINT_URL")
    assert dead in msg


def test_missing_bucket_names_the_setting(home: Path, footage, s3: S3Server) -> None:
    settings = Settings(home=home, storage="s3://no-such-bucket/g", s3_endpoint_url=s3.endpoint)
    msg = _fails_fast(settings, footage.path, "GENESIS_STORAGE")
    assert "no-such-bucket" in msg


def test_wrong_credentials_name_the_setting(home: Path, footage, s3: S3Server) -> None:
    bucket = s3.bucket()
    settings = Settings(home=home, storage=f"s3://{bucket}/g", s3_endpoint_url=s3.endpoint)
    with _credentials_checked():
        msg = _fails_fast(settings, footage.path, "AWS credentials")
    assert "AWS_ACCESS_KEY_ID" in msg


def test_cli_says_it_in_one_line(home: Path, footage, s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.bucket()
    env = s3.env(bucket)
    made = _genesis(home, env, "create-project", "--name", "p", "--json")
    assert made.returncode == 0, made.stderr
    with _credentials_checked():
        proc = _genesis(home, env, "add-media", "--project-id", "1", str(footage.path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genesis: error: AWS credentials"), lines
    assert "Traceback" not in proc.stderr
    # A run against a dead endpoint fails the same way, before any work.
    assert _genesis(home, env, "add-media", "--project-id", "1", str(footage.path)).returncode == 0
    dead = {**env, "GENESIS_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    t0 = time.monotonic()
    run = _genesis(home, dead, "process-project", "--project-id", "1")
    assert time.monotonic() - t0 < 60  # the CLI's imports included; the S3 part is seconds
    assert run.returncode == 2, run.stderr
    assert "GENESIS_S3_ENDPOINT_URL" in run.stderr and "Traceback" not in run.stderr
