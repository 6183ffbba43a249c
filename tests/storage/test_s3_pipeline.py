"""The whole pipeline with footage and artifacts in S3 (a real S3 API server over HTTP): the same
rows and an equivalent render as with local storage; rows point only at objects that exist; a
cache-hit re-run; objects deleted behind Genesis's back are recomputed or named clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.metrics import video_frames_and_duration
from support.reference import Processed, process
from support.s3server import S3Server, object_keys

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService, RunReport
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import renders as renders_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store import transcripts as transcripts_sql

pytestmark = pytest.mark.slow

PREFIX = "genesis"


@pytest.fixture(scope="module")
def s3_bucket(s3: S3Server) -> str:
    return s3.bucket()


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory,
    s3: S3Server,
    s3_bucket: str,
    tiny_blip_session: Path,
    footage: Any,
    local_pipeline: Processed,
) -> tuple[Processed, Processed]:
    """The session's reference run (local storage) and the same footage with S3 storage."""
    remote = process(
        Settings(
            home=tmp_path_factory.mktemp("s3"),
            storage=f"s3://{s3_bucket}/{PREFIX}",
            s3_endpoint_url=s3.endpoint,
            caption_model=str(tiny_blip_session),
            offline="1",
        ),
        footage.path,
    )
    return local_pipeline, remote


def _rows(p: Processed) -> dict[str, Any]:
    with p.store.db.read() as con:
        scenes = scenes_sql.scenes_for_project(con, p.pid)
        words = transcripts_sql.words_for_project(con, p.pid)
        chapters = chapters_sql.chapters_for_project(con, p.pid)
    return {
        "scenes": [
            (s.idx, s.start_frame, s.end_frame, round(s.start_s, 6), round(s.end_s, 6))
            for s in scenes
        ],
        "captions": [s.metadata.caption for s in scenes],
        "words": [
            (str(w.word), round(float(w.start_s), 3), round(float(w.end_s), 3))
            for w in words.itertuples()
        ],
        "chapters": [(c.idx, c.title, round(c.start_s, 6), round(c.end_s, 6)) for c in chapters],
    }


def steps(report: RunReport) -> dict[str, dict[str, Any]]:
    return {d["step"]: d for d in report.step_details}


def test_same_rows_as_local_storage(both: tuple[Processed, Processed]) -> None:
    local, remote = both
    a, b = _rows(local), _rows(remote)
    assert a["scenes"] and a["words"] and a["chapters"]
    assert all(a["captions"])
    assert a == b
    assert [d["status"] for d in local.report.step_details] == [
        d["status"] for d in remote.report.step_details
    ]


def test_equivalent_render(both: tuple[Processed, Processed], s3_bucket: str) -> None:
    local, remote = both
    assert local.report.render_path and remote.report.render_path
    assert remote.report.render_path.startswith(f"s3://{s3_bucket}/{PREFIX}/renders/")
    with remote.store.db.read() as con:
        (rec,) = renders_sql.list_for_project(con, remote.pid)
    remote_file = remote.store.local_path(rec.path)
    a = video_frames_and_duration(Path(local.report.render_path))
    b = video_frames_and_duration(remote_file)
    assert a[0] == b[0]  # frames
    assert abs(a[1] - b[1]) < 1e-3 and a[2] is not None and b[2] is not None
    assert abs(a[2] - b[2]) < 1e-3
    assert rec.size_bytes == remote_file.stat().st_size


def test_bytes_live_in_the_bucket_and_rows_point_only_at_objects_there(
    both: tuple[Processed, Processed], s3: S3Server, s3_bucket: str
) -> None:
    _local, remote = both
    store = remote.store
    keys = set(object_keys(s3, s3_bucket, PREFIX + "/"))
    with store.db.read() as con:
        media = media_sql.list_for_project(con, remote.pid)
        scenes = scenes_sql.scenes_for_project(con, remote.pid)
        renders = renders_sql.list_for_project(con, remote.pid)
        artifacts = [
            str(r[0])
            for r in con.execute(
                "SELECT artifact_path FROM transcripts WHERE project_id = ?", [remote.pid]
            ).fetchall()
        ]
    recorded = [m.path for m in media] + [r.path for r in renders] + artifacts
    recorded += [p for s in scenes for p in s.metadata.previews]
    assert len(recorded) > 5
    for path in recorded:
        assert not Path(path).is_absolute()
        assert f"{PREFIX}/{path}" in keys, path
    # Nothing of it in the data dir: only the DuckDB file, locks, logs and the local cache.
    home = store.home
    assert not (home / "media").exists() and not (home / "renders").exists()
    assert not (home / "cache").exists() and not (home / "scene_previews").exists()
    assert (home / "genesis.duckdb").is_file()
    assert any(k.startswith(f"{PREFIX}/cache/transcribe/") for k in keys)
    assert not any(k.startswith(f"{PREFIX}/uploads/") for k in keys)  # upload objects removed


def test_second_run_is_a_cache_hit(both: tuple[Processed, Processed]) -> None:
    _local, remote = both
    again = ProjectPipelineService(remote.store).run(remote.pid, RunOptions())
    assert again.status == "succeeded", again.error
    s = steps(again)
    for name in ("transcribe", "scenes", "captions", "chapters", "render"):
        assert s[name]["cache_hit"], s[name]
    assert again.render_path == remote.report.render_path


def _delete(s3: S3Server, bucket: str, prefix: str) -> list[str]:
    keys = object_keys(s3, bucket, prefix)
    for k in keys:
        s3.client().delete_object(Bucket=bucket, Key=k)
    return keys


def test_cache_entry_or_render_deleted_behind_its_back_is_made_again(
    both: tuple[Processed, Processed], s3: S3Server, s3_bucket: str
) -> None:
    _local, remote = both
    store = remote.store
    # Half a cache entry (its manifest stays): recomputed, not a crash.
    gone = _delete(s3, s3_bucket, f"{PREFIX}/cache/transcribe/")
    assert [k for k in gone if k.endswith("transcript.json")]
    for k in gone:
        if k.endswith("manifest.json"):
            s3.client().put_object(Bucket=s3_bucket, Key=k, Body=b"{}")
    with store.db.read() as con:
        (rec,) = renders_sql.list_for_project(con, remote.pid)
    s3.client().delete_object(Bucket=s3_bucket, Key=f"{PREFIX}/{rec.path}")
    report = ProjectPipelineService(store).run(remote.pid, RunOptions())
    assert report.status == "succeeded", report.error
    s = steps(report)
    assert not s["transcribe"]["cache_hit"] and s["transcribe"]["status"] == "ok"
    assert s["scenes"]["cache_hit"]
    assert not s["render"]["cache_hit"] and s["render"]["status"] == "ok"
    assert report.render_path is not None
    assert report.render_path.split("/")[-1] in {
        k.split("/")[-1] for k in object_keys(s3, s3_bucket, f"{PREFIX}/renders/")
    }


def test_media_deleted_behind_its_back_fails_the_run_naming_it(
    both: tuple[Processed, Processed], s3: S3Server, s3_bucket: str
) -> None:
    _local, remote = both
    (media_key,) = _delete(s3, s3_bucket, f"{PREFIX}/media/")
    report = ProjectPipelineService(remote.store).run(remote.pid, RunOptions(force=True))
    assert report.status == "failed"
    assert report.error is not None and "\n" not in report.error
    assert f"s3://{s3_bucket}/{media_key}" in report.error
    assert "missing" in report.error
