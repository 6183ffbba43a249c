"""Workers write their own artifacts (on the session's Ray cluster and S3 server): scene
previews and playable copies are published to S3 by the workers that make them, voiceovers are
read from S3 by the worker that renders, and the app host fetches none of those bytes; every
row points at an object that is there."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from support.actors import ADMIN
from support.playback_media import make_clip
from support.rayrows import settings

from genesis_pipeline.media.synth import speak
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services import playback
from genesis_pipeline.services.narration import add_voiceover
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.storage import CACHE_DIR, worker_dir
from genesis_pipeline.store import Store
from genesis_pipeline.store import renders as renders_sql
from genesis_pipeline.store import scenes as scenes_sql

pytestmark = pytest.mark.slow

# As in test_ray_executor: the models' actors (CPU models on the "GPU" node) are shared.
ON_GPU_NODE = {"device": "cpu", "ray_gpu_per_model": 0.5}


def test_workers_publish_previews_and_copies_and_read_voiceovers_from_s3(
    ray_cluster, s3, tmp_path: Path, tiny_blip_session: Path
) -> None:
    bucket = s3.bucket()
    clip = make_clip(tmp_path / "clips", "mpeg4")  # MPEG-4 Part 2: browsers need a copy
    vo = tmp_path / "narration.wav"
    speak("A short narration.", vo)
    store = Store(
        settings(
            tmp_path / "home",
            tiny_blip_session,
            executor="ray",
            ray_address=ray_cluster.address,
            storage=f"s3://{bucket}/genesis",
            s3_endpoint_url=s3.endpoint,
            **ON_GPU_NODE,
        )
    )
    pid = create_project(store, "worker artifacts", actor=ADMIN).id
    [added] = add_media(store, pid, [clip], actor=ADMIN)
    add_voiceover(store, pid, vo, offset_s=0.5, actor=ADMIN)
    # The uploads left their bytes in the host's read-through cache: gone, so that whatever
    # the run fetches to the host shows.
    shutil.rmtree(store.home / CACHE_DIR)
    worker_cache = worker_dir() / CACHE_DIR / "objects" / f"s3:{bucket}"
    try:
        report = ProjectPipelineService(store).run(pid)
        assert report.status == "succeeded", report.error
        by_step: dict[str, dict[str, Any]] = {d["step"]: d for d in report.step_details}
        assert by_step["proxies"]["counts"]["made"] == 1, by_step["proxies"]
        assert by_step["render"]["status"] == "ok", by_step["render"]

        host = store.home / CACHE_DIR / "objects"
        fetched = [p.name for p in host.rglob("*") if p.is_file()] if host.exists() else []
        media_like = [n for n in fetched if Path(n).suffix in {".mp4", ".jpg", ".wav", ".m4a"}]
        assert not media_like, media_like
        # The workers fetched them: the source (scenes, copy, render) and the voiceover.
        assert (worker_cache / "genesis" / "media").is_dir()
        assert list((worker_cache / "genesis" / "voiceovers").rglob("*.wav"))

        pb = playback.playback(store, added.media.id)
        assert pb.state == "proxy", pb
        with store.db.read() as con:
            scenes = scenes_sql.scenes_for_project(con, pid)
            [render] = renders_sql.list_for_project(con, pid)
            [proxy_row] = [
                r for r in con.execute("SELECT path FROM media_proxies").fetchall() if r[0]
            ]
        previews = [p for s in scenes for p in s.metadata.previews]
        assert previews and all(store.exists(p) for p in previews), previews
        assert store.object_size(render.path) == render.size_bytes
        assert store.exists(proxy_row[0])
        assert render.settings_json["voiceover"][0]["path"].startswith(f"voiceovers/{pid}/")
    finally:
        shutil.rmtree(worker_cache, ignore_errors=True)
        shutil.rmtree(worker_dir() / CACHE_DIR / "tags" / f"s3:{bucket}", ignore_errors=True)


def test_make_proxies_under_ray_encodes_on_a_worker(
    ray_cluster, s3, tmp_path: Path, tiny_blip_session: Path
) -> None:
    from genesis_pipeline.runs.proxy_worker import make_project_proxies

    bucket = s3.bucket()
    clip = make_clip(tmp_path / "clips", "mpeg4")
    store = Store(
        settings(
            tmp_path / "home",
            tiny_blip_session,
            executor="ray",
            ray_address=ray_cluster.address,
            storage=f"s3://{bucket}/genesis",
            s3_endpoint_url=s3.endpoint,
        )
    )
    pid = create_project(store, "copies", actor=ADMIN).id
    [added] = add_media(store, pid, [clip], actor=ADMIN)
    shutil.rmtree(store.home / CACHE_DIR)
    notes: list[str] = []
    worker_cache = worker_dir() / CACHE_DIR / "objects" / f"s3:{bucket}"
    try:
        [made] = make_project_proxies(store, pid, progress=lambda d, t, n: notes.append(n))
        assert made.status == "made", made
        assert made.path is not None and store.exists(made.path)
        assert playback.playback(store, added.media.id).state == "proxy"
        # Encoded where the source was fetched: on a worker, not on the app host.
        host = store.home / CACHE_DIR / "objects"
        assert not (host.exists() and list(host.rglob("*.mp4")))
        assert list((worker_cache / "genesis" / "media").rglob("*.mp4"))
        assert any("mpeg4 part2.mp4: " in n for n in notes), notes
    finally:
        shutil.rmtree(worker_cache, ignore_errors=True)
        shutil.rmtree(worker_dir() / CACHE_DIR / "tags" / f"s3:{bucket}", ignore_errors=True)
