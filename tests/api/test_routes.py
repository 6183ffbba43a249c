"""Route tests through FastAPI's TestClient on a processed project: every resource, problem
documents for every error, roles on every write route, the audit log. The tests of managing
projects and media (rename, delete, remove a file) and of voiceover uploads work on projects of
their own and delete them, so the shared project stays as the tests before them expect."""

from __future__ import annotations

import io
import math
import re
import struct
import wave
from collections.abc import Iterator

import pytest
from support.actors import ADMIN

from genesis_pipeline.services import access
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.store.locks import exclusive_or_none

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
#: POSTs that only read (a body too rich for a query string).
READ_POSTS = {"/projects/{project_id}/chapters/preview"}
#: Writes a viewer may make: comments (their own rules: author-only edits, see the test below).
VIEWER_WRITES = {
    "comments",
    "comments/{comment_id}",
    "comments/{comment_id}/replies",
    "comments/{comment_id}/{verb}",
}


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    doc = response.json()
    assert doc["status"] == status and doc["title"] and doc["detail"] and doc["type"]
    return doc


def write_routes(api) -> list[tuple[str, str]]:
    """Every write operation in the OpenAPI schema, with placeholder ids."""
    out = []
    for template, ops in api.client.app.openapi()["paths"].items():
        path = re.sub(r"\{[a-z_]*id\}", "1", template)
        path = path.replace("{verdict}", "approve").replace("{name}", "x")
        if template not in READ_POSTS and template.split("/", 3)[-1] not in VIEWER_WRITES:
            out += [(m.upper(), path) for m in ops if m.upper() in WRITES]
    return out


def test_every_write_route_refuses_viewers_and_revoked_tokens(api) -> None:
    routes = write_routes(api)
    assert len(routes) >= 15
    revoked = access.create_token(api.store, "revoked-soon", "admin", actor=ADMIN).secret
    access.revoke_token(api.store, "revoked-soon", actor=ADMIN)
    for method, path in routes:
        r = api.client.request(method, path, headers=api.headers("viewer"), json={})
        doc = problem_of(r, 403)
        assert "role viewer may not" in doc["detail"], (method, path)
        r = api.client.request(method, path, headers={"Authorization": f"Bearer {revoked}"})
        problem_of(r, 401)
        problem_of(api.client.request(method, path), 401)


def test_errors_are_problem_documents(api) -> None:
    h = api.headers("admin")
    assert problem_of(api.client.get("/projects"), 401)["detail"].startswith("no token")
    problem_of(api.client.get("/projects", headers={"Authorization": "Bearer nope"}), 401)
    assert (
        "no such project" in problem_of(api.client.get("/projects/999", headers=h), 404)["detail"]
    )
    problem_of(api.client.get("/no/such/route", headers=h), 404)
    doc = problem_of(api.client.post("/projects", headers=h, json={"name": ""}), 422)
    assert doc["field"] == "body.name"
    doc = problem_of(api.client.get("/projects/abc", headers=h), 422)
    assert doc["field"] == "path.project_id"
    big = api.client.post(
        "/projects", headers={**h, "Content-Type": "application/json"}, content=b"x" * 2_000_000
    )
    problem_of(big, 413)
    doc = problem_of(
        api.client.post(
            f"/projects/{api.project_id}/chapters/rules",
            headers=api.headers("reviewer"),
            json={"min_chapter_s": 100, "max_chapter_s": 10},
        ),
        422,
    )
    assert "chapter rules" in doc["detail"]


def test_projects_status_and_settings(api) -> None:
    h, pid = api.headers("viewer"), api.project_id
    listed = api.client.get("/projects", headers=h).json()
    assert [p["project"]["id"] for p in listed] == [pid]
    doc = api.client.get(f"/projects/{pid}", headers=h).json()
    assert doc["project"]["name"] == "API fixture" and len(doc["scenes"]) >= 4
    assert doc["last_run"]["status"] == "succeeded"
    assert doc["transcripts"][0]["words"] is None
    with_words = api.client.get(f"/projects/{pid}?words=true", headers=h).json()
    assert len(with_words["transcripts"][0]["words"]) > 10
    settings = api.client.get(f"/projects/{pid}/settings", headers=h).json()
    assert settings["render_mode"] == "smart"
    changed = api.client.patch(
        f"/projects/{pid}/settings", headers=api.headers("reviewer"), json={"subtitles": "soft"}
    )
    assert changed.json()["subtitles"] == "soft"
    api.client.patch(
        f"/projects/{pid}/settings", headers=api.headers("reviewer"), json={"subtitles": "off"}
    )
    problem_of(
        api.client.patch(
            f"/projects/{pid}/settings", headers=api.headers("reviewer"), json={"subtitles": "x"}
        ),
        422,
    )


def test_scene_list_filters_sorts_pages_and_reviews(api) -> None:
    h, pid = api.headers("reviewer"), api.project_id
    page = api.client.get(f"/projects/{pid}/scenes?page_size=2", headers=h).json()
    assert page["pages"] >= 2 and len(page["scenes"]) == 2 and page["matching"] >= 4
    every = api.client.get(f"/projects/{pid}/scenes?page_size=100", headers=h).json()["scenes"]
    ids = [s["id"] for s in every]
    by_conf = api.client.get(
        f"/projects/{pid}/scenes?sort=-duration&page_size=100", headers=h
    ).json()["scenes"]
    durations = [s["duration_s"] for s in by_conf]
    assert durations == sorted(durations, reverse=True)
    one = api.client.post(f"/projects/{pid}/scenes/{ids[0]}/reject", headers=h)
    assert one.json() == {"updated": 1}
    many = api.client.post(
        f"/projects/{pid}/scenes/review",
        headers=h,
        json={"scene_ids": ids[1:3], "status": "rejected", "note": "shaky"},
    )
    assert many.json() == {"updated": 2}
    rejected = api.client.get(f"/projects/{pid}/scenes?status=rejected", headers=h).json()
    assert sorted(s["id"] for s in rejected["scenes"]) == sorted(ids[:3])
    api.client.post(
        f"/projects/{pid}/scenes/review", headers=h, json={"scene_ids": ids, "status": "approved"}
    )
    problem_of(
        api.client.post(
            f"/projects/{pid}/scenes/review",
            headers=h,
            json={"scene_ids": [999999], "status": "approved"},
        ),
        404,
    )
    log = api.client.get(f"/projects/{pid}/audit", headers=api.headers("admin")).json()
    mine = [
        e for e in log if e["action"] == "scenes.review" and e["actor"] == "token:test-reviewer"
    ]
    assert any(e["details_json"]["scene_ids"] == ids[1:3] for e in mine)
    pic = api.client.get(f"/projects/{pid}/scenes/{ids[0]}/preview", headers=h)
    assert pic.status_code == 200 and pic.content[:3] == b"\xff\xd8\xff"
    problem_of(api.client.get(f"/projects/{pid}/scenes/{ids[0]}/preview?n=99", headers=h), 404)


def test_chapters_rules_preview_and_titles(api) -> None:
    h, pid = api.headers("reviewer"), api.project_id
    saved = api.client.get(f"/projects/{pid}/chapters", headers=h).json()
    assert saved and saved[0]["scene_ids"]
    preview = api.client.post(
        f"/projects/{pid}/chapters/preview",
        headers=h,
        json={"min_chapter_s": 1, "max_chapter_s": 5},
    ).json()
    assert len(preview) > len(saved)
    before = api.client.get(f"/projects/{pid}/chapters/rules", headers=h).json()
    assert api.client.get(f"/projects/{pid}/chapters", headers=h).json() == saved
    v = api.client.post(
        f"/projects/{pid}/chapters/rules", headers=h, json={"min_chapter_s": 4.5, "note": "api"}
    ).json()["version"]
    after = api.client.get(f"/projects/{pid}/chapters/rules", headers=h).json()
    assert v == before["version"] + 1 == after["version"]
    assert after["rules"]["min_chapter_s"] == 4.5 and after["history"][-1]["note"] == "api"
    titled = api.client.put(
        f"/projects/{pid}/chapters/{saved[0]['id']}/title", headers=h, json={"title": "Opening"}
    ).json()
    assert titled[0]["title"] == "Opening" and titled[0]["title_edited"]
    problem_of(
        api.client.put(f"/projects/{pid}/chapters/999999/title", headers=h, json={"title": "x"}),
        404,
    )


def test_cut_order_moves_history_undo_and_reset(api) -> None:
    h, pid = api.headers("reviewer"), api.project_id
    url = f"/projects/{pid}/cut-order"
    order = api.client.get(url, headers=api.headers("viewer")).json()
    assert order["reordered"] is False
    block = next(b for b in order["blocks"] if len(b["scene_ids"]) >= 2)
    first, second = block["scene_ids"][:2]
    try:
        top = order["blocks"][0]["chapter_id"]
        if top is not None and len(order["blocks"]) >= 2:
            r = api.client.post(f"{url}/chapters/{top}/move", headers=h, json={"delta": 1})
            assert r.status_code == 200 and api.client.get(url, headers=h).json()["reordered"]
            assert api.client.post(f"{url}/undo", headers=h).json()["undone"]
        moved = api.client.post(f"{url}/scenes/{first}/move", headers=h, json={"delta": 1})
        assert moved.status_code == 200 and moved.json() == {"place": 1}
        now = api.client.get(url, headers=h).json()
        again = next(b for b in now["blocks"] if b["key"] == block["key"])
        assert now["reordered"] and again["scene_ids"][:2] == [second, first]
        history = api.client.get(f"{url}/history", headers=h).json()
        assert history[0]["label"].startswith("Moved scene ") and history[0]["actor"].endswith(
            "test-reviewer"
        )
        undone = api.client.post(f"{url}/undo", headers=h).json()
        assert undone["undone"] and undone["id"] == history[0]["id"]
        assert api.client.get(url, headers=h).json() == order
        problem_of(api.client.post(f"{url}/scenes/999999/move", headers=h, json={"delta": 1}), 404)
        problem_of(api.client.post(f"{url}/scenes/{first}/move", headers=h, json={}), 422)
        big = api.client.post(f"{url}/scenes/{first}/move", headers=h, json={"delta": 10**9})
        assert problem_of(big, 422)["field"] == "body.delta"
        assert api.client.post(f"{url}/reset", headers=h).json() == {"forgotten": 0}
    finally:
        api.client.post(f"{url}/reset", headers=h)


def test_transcripts_words_search_and_subtitles(api) -> None:
    h, pid = api.headers("viewer"), api.project_id
    first = api.client.get(f"/projects/{pid}/transcripts/words?limit=5", headers=h).json()
    assert len(first["words"]) == 5 and first["total"] > 5
    w = first["words"][0]
    assert 0 <= w["probability"] <= 1 and w["end_s"] >= w["start_s"]
    nxt = api.client.get(f"/projects/{pid}/transcripts/words?offset=5&limit=5", headers=h).json()
    assert nxt["words"][0]["index"] != w["index"]
    term = w["word"].strip(" ,.").lower()
    hits = api.client.get(f"/projects/{pid}/transcripts/search?q={term}", headers=h).json()
    assert hits and term in hits[0]["text"].lower()
    media_id = w["media_id"]
    srt = api.client.get(f"/projects/{pid}/transcripts/{media_id}/subtitles", headers=h)
    assert srt.text.startswith("1\n00:00:") and " --> " in srt.text
    vtt = api.client.get(f"/projects/{pid}/transcripts/{media_id}/subtitles?format=vtt", headers=h)
    assert vtt.text.startswith("WEBVTT") and vtt.headers["content-type"].startswith("text/vtt")


def test_media_runs_and_render_download_with_range(api) -> None:
    h, pid = api.headers("viewer"), api.project_id
    media = api.client.get(f"/projects/{pid}/media", headers=h).json()
    facts = api.client.get(f"/projects/{pid}/media/{media[0]['id']}", headers=h).json()
    assert facts["media"]["duration_s"] > 20 and facts["probe"]
    problem_of(api.client.get(f"/projects/{pid}/media/999999", headers=h), 404)
    runs = api.client.get(f"/projects/{pid}/runs", headers=h).json()
    assert runs[0]["status"] == "succeeded"
    one = api.client.get(f"/projects/{pid}/runs/{runs[0]['id']}", headers=h).json()
    assert one["step_details"][0]["step"] == "media"
    current = api.client.get(f"/projects/{pid}/runs/current", headers=h).json()
    assert not current["running"] and current["fraction"] == 1.0 and len(current["steps"]) == 8
    with api.client.stream("GET", f"/projects/{pid}/runs/events?wait_s=0", headers=h) as r:
        text = "".join(r.iter_text())
    assert "event: progress" in text and "event: end" in text
    renders = api.client.get(f"/projects/{pid}/renders", headers=h).json()
    rid = renders[0]["id"]
    whole = api.client.get(f"/projects/{pid}/renders/{rid}/file", headers=h)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    part = api.client.get(
        f"/projects/{pid}/renders/{rid}/file", headers={**h, "Range": "bytes=100-1099"}
    )
    assert part.status_code == 206 and part.content == whole.content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(whole.content)}"
    problem_of(api.client.get(f"/projects/{pid}/renders/999999/file", headers=h), 404)
    problem_of(api.client.post(f"/projects/{pid}/runs/cancel", headers=api.headers("reviewer")),
               404)  # fmt: skip


def test_upload_streams_limit_first_then_finalize(api, footage) -> None:
    h, pid = api.headers("admin"), api.project_id
    made = api.client.post(
        f"/projects/{pid}/uploads", headers=h, json={"filename": "again.mp4"}
    ).json()
    assert made["put_url"].endswith(f"/uploads/{made['upload_id']}/content")
    data = footage.path.read_bytes()
    too_big = api.client.put(
        f"/uploads/{made['upload_id']}/content",
        headers={**h, "X-Upload-Token": made["token"], "Content-Length": str(6 * 1024 * 1024)},
        content=b"",
    )
    assert "GENESIS_MAX_UPLOAD_MB" in problem_of(too_big, 413)["detail"]
    wrong = api.client.put(
        f"/uploads/{made['upload_id']}/content",
        headers={**h, "X-Upload-Token": "nope"},
        content=data,
    )
    problem_of(wrong, 409)

    def chunks():
        for i in range(0, len(data), 64 * 1024):
            yield data[i : i + 64 * 1024]

    sent = api.client.put(
        f"/uploads/{made['upload_id']}/content",
        headers={**h, "X-Upload-Token": made["token"], "Content-Length": str(len(data))},
        content=chunks(),
    )
    assert sent.json()["received_bytes"] == len(data), sent.text
    done = api.client.post(
        f"/uploads/{made['upload_id']}/finalize", headers=h, json={"token": made["token"]}
    ).json()
    assert done["duplicate"] is True  # the fixture's own footage again
    again = api.client.post(
        f"/uploads/{made['upload_id']}/finalize", headers=h, json={"token": made["token"]}
    )
    problem_of(again, 409)
    bad = api.client.post(f"/projects/{pid}/uploads", headers=h, json={"filename": "x.mp4"}).json()
    api.client.put(
        f"/uploads/{bad['upload_id']}/content",
        headers={**h, "X-Upload-Token": bad["token"], "Content-Length": "12"},
        content=b"not a video!",
    )
    problem_of(
        api.client.post(
            f"/uploads/{bad['upload_id']}/finalize", headers=h, json={"token": bad["token"]}
        ),
        422,
    )
    rejected = api.client.get(f"/projects/{pid}/uploads/rejected", headers=h).json()
    assert rejected[0]["original_name"] == "x.mp4" and rejected[0]["reason"]


def test_tokens_over_the_api(api) -> None:
    h = api.headers("admin")
    made = api.client.post("/tokens", headers=h, json={"name": "made-here", "role": "viewer"})
    secret = made.json()["secret"]
    assert api.client.get("/projects", headers={"Authorization": f"Bearer {secret}"}).is_success
    assert api.client.delete("/tokens/made-here", headers=h).json()["revoked_at"] is None
    problem_of(api.client.get("/projects", headers={"Authorization": f"Bearer {secret}"}), 401)
    log = api.client.get("/audit", headers=h).json()
    assert {"tokens.create", "tokens.revoke"} <= {e["action"] for e in log}
    problem_of(api.client.post("/tokens", headers=h, json={"name": "y", "role": "root"}), 422)


def new_project(api, name: str) -> int:
    made = api.client.post("/projects", headers=api.headers("admin"), json={"name": name})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def audit_actions(api, project_id: int) -> list[tuple[str, str]]:
    """The project's audit entries, newest first (from the whole log: it outlives a project)."""
    log = api.client.get("/audit?limit=1000", headers=api.headers("admin")).json()
    return [(e["action"], e["actor"]) for e in log if e["project_id"] == project_id]


def tone_wav(seconds: float, rate: int = 48_000) -> bytes:
    """A mono 16-bit 440 Hz tone (a voiceover the importer accepts: audio, not silence)."""
    one_second = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(rate)
    )
    frames = one_second * int(seconds)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_rename_disk_and_delete_project(api, footage) -> None:
    h = api.headers("admin")
    pid = new_project(api, "To manage")
    renamed = api.client.patch(f"/projects/{pid}", headers=h, json={"name": "  Managed  "})
    assert renamed.json()["name"] == "Managed" and renamed.json()["id"] == pid
    assert api.client.get(f"/projects/{pid}", headers=h).json()["project"]["name"] == "Managed"
    assert problem_of(api.client.patch(f"/projects/{pid}", headers=h, json={"name": ""}), 422)[
        "field"
    ] == ("body.name")
    problem_of(api.client.patch("/projects/999999", headers=h, json={"name": "x"}), 404)
    problem_of(
        api.client.patch(f"/projects/{pid}", headers=api.headers("reviewer"), json={"name": "x"}),
        403,
    )

    empty = api.client.get(f"/projects/{pid}/disk", headers=api.headers("viewer")).json()
    assert empty["total_bytes"] == 0 and "media" in empty["by_folder"]
    add_media(api.store, pid, [footage.path], actor=ADMIN)
    used = api.client.get(f"/projects/{pid}/disk", headers=api.headers("viewer")).json()
    assert used["by_folder"]["media"] == footage.path.stat().st_size
    assert used["total_bytes"] == sum(used["by_folder"].values()) and used["in_place_bytes"] == 0
    problem_of(api.client.get("/projects/999999/disk", headers=h), 404)

    problem_of(api.client.delete(f"/projects/{pid}", headers=api.headers("reviewer")), 403)
    with exclusive_or_none(api.store.run_lock_path(pid)) as held:  # as a run holds it
        assert held is not None
        busy = problem_of(api.client.delete(f"/projects/{pid}", headers=h), 409)
        assert "a run is using it" in busy["detail"]
    assert api.client.get(f"/projects/{pid}", headers=h).status_code == 200
    gone = api.client.delete(f"/projects/{pid}", headers=h)
    assert gone.status_code == 200, gone.text
    assert gone.json()["name"] == "Managed" and gone.json()["files"] >= 1
    problem_of(api.client.get(f"/projects/{pid}", headers=h), 404)
    problem_of(api.client.delete(f"/projects/{pid}", headers=h), 404)
    # The project's audit log outlives it: who made, renamed and deleted it.
    actions = [a for a, _ in audit_actions(api, pid) if a.startswith("projects.")]
    assert actions == ["projects.delete", "projects.rename", "projects.create"]
    assert not (api.store.home / "media" / str(pid)).exists()


def test_remove_media_refused_during_a_run_then_removed(api, footage) -> None:
    h = api.headers("admin")
    pid = new_project(api, "Media to remove")
    media_id = add_media(api.store, pid, [footage.path], actor=ADMIN)[0].media.id
    theirs = api.client.get(f"/projects/{api.project_id}/media", headers=h).json()
    problem_of(api.client.delete(f"/projects/{pid}/media/{theirs[0]['id']}", headers=h), 404)
    as_reviewer = api.client.delete(
        f"/projects/{pid}/media/{media_id}", headers=api.headers("reviewer")
    )
    problem_of(as_reviewer, 403)
    with exclusive_or_none(api.store.run_lock_path(pid)) as held:
        assert held is not None
        busy = problem_of(api.client.delete(f"/projects/{pid}/media/{media_id}", headers=h), 409)
        assert f"project {pid}" in busy["detail"] and "remove the file" in busy["detail"]
    assert [m["id"] for m in api.client.get(f"/projects/{pid}/media", headers=h).json()] == [
        media_id
    ]
    removed = api.client.delete(f"/projects/{pid}/media/{media_id}", headers=h)
    assert removed.status_code == 200, removed.text
    assert removed.json() == {"name": footage.path.name, "files": 1, "kept_in_place": False}
    assert api.client.get(f"/projects/{pid}/media", headers=h).json() == []
    problem_of(api.client.delete(f"/projects/{pid}/media/{media_id}", headers=h), 404)
    problem_of(api.client.delete(f"/projects/999999/media/{media_id}", headers=h), 404)
    assert ("media.remove", "token:test-admin") in audit_actions(api, pid)
    # The shared project's media were not touched.
    assert api.client.get(f"/projects/{api.project_id}/media", headers=h).json() == theirs
    assert api.client.delete(f"/projects/{pid}", headers=h).status_code == 200


def test_voiceover_upload_streams_with_the_limit_checked_first(api) -> None:
    h = api.headers("reviewer")
    pid = new_project(api, "Narrated")
    url = f"/projects/{pid}/narration/voiceovers"
    data = tone_wav(12.0)  # 1.15 MB: over the 1 MB a JSON call takes, under the 5 MB upload limit
    assert len(data) > 1_000_000
    sent = api.client.post(
        f"{url}?filename=take%201.wav&offset_s=2.5&gain=0.8",
        headers={**h, "Content-Length": str(len(data)), "Content-Type": "application/octet-stream"},
        content=chunks(data),
    )
    assert sent.status_code == 201, sent.text
    [vo] = sent.json()["voiceovers"]
    assert vo["original_name"] == "take 1.wav" and vo["chapter_idx"] is None
    assert vo["offset_s"] == 2.5 and vo["gain"] == 0.8 and abs(vo["duration_s"] - 12.0) < 0.05
    listed = api.client.get(f"/projects/{pid}/narration", headers=api.headers("viewer")).json()
    assert [v["id"] for v in listed["voiceovers"]] == [vo["id"]]
    assert ("narration.add", "token:test-reviewer") in audit_actions(api, pid)

    too_big = api.client.post(
        f"{url}?filename=long.wav",
        headers={**h, "Content-Length": str(6 * 1024 * 1024)},
        content=b"",
    )
    assert "GENESIS_MAX_UPLOAD_MB" in problem_of(too_big, 413)["detail"]
    unannounced = api.client.post(f"{url}?filename=x.wav", headers=h, content=chunks(data))
    assert "Content-Length" in problem_of(unannounced, 413)["detail"]
    not_audio = api.client.post(f"{url}?filename=notes.txt", headers=h, content=b"just words")
    assert "notes.txt" in problem_of(not_audio, 422)["detail"]
    problem_of(api.client.post(url, headers=h, content=data), 422)  # no filename
    problem_of(
        api.client.post("/projects/999999/narration/voiceovers?filename=a.wav", headers=h,
                        content=data),
        404,
    )  # fmt: skip
    problem_of(
        api.client.post(f"{url}?filename=a.wav", headers=api.headers("viewer"), content=data), 403
    )
    after = api.client.get(f"/projects/{pid}/narration", headers=h).json()["voiceovers"]
    assert [v["id"] for v in after] == [vo["id"]]
    assert api.client.delete(f"/projects/{pid}", headers=api.headers("admin")).status_code == 200


def test_comments_threads_roles_and_the_status_document(api) -> None:
    pid = api.project_id
    viewer, reviewer = api.headers("viewer"), api.headers("reviewer")
    scene = api.client.get(f"/projects/{pid}/scenes", headers=viewer).json()["scenes"][0]
    at = scene["start_s"] + 0.1
    # The reviewer acts on the project (audited), so it is a member one can mention.
    api.client.post(f"/projects/{pid}/scenes/{scene['id']}/approve", headers=reviewer)
    r = api.client.post(
        f"/projects/{pid}/comments",
        headers=viewer,
        json={"body": "too dark, @test-reviewer", "scene_id": scene["id"], "start_s": at},
    )
    assert r.status_code == 201, r.text
    thread = r.json()
    assert thread["target"] == "scene" and thread["scene_id"] == scene["id"]
    assert thread["start_s"] == pytest.approx(at) and not thread["resolved"]
    first = thread["comments"][0]
    assert (first["author"], first["mentions"]) == ("token:test-viewer", ["test-reviewer"])
    tid = thread["id"]
    r = api.client.post(
        f"/projects/{pid}/comments/{tid}/replies",
        headers=reviewer,
        json={"body": "fixed in the grade"},
    )
    assert [c["body"] for c in r.json()["comments"]] == [
        "too dark, @test-reviewer",
        "fixed in the grade",
    ]
    reply_id = r.json()["comments"][1]["id"]
    # Only the author edits; a viewer resolves only a thread it started; reviewers any.
    doc = problem_of(
        api.client.patch(
            f"/projects/{pid}/comments/{reply_id}", headers=viewer, json={"body": "hijacked"}
        ),
        403,
    )
    assert "its author, token:test-reviewer" in doc["detail"]
    r = api.client.patch(f"/projects/{pid}/comments/{tid}", headers=viewer, json={"body": "dark"})
    assert r.json()["comments"][0]["edited_at"] is not None
    cut = api.client.post(
        f"/projects/{pid}/comments",
        headers=reviewer,
        json={"body": "music up", "start_s": 1.0, "end_s": 2.0},
    ).json()
    problem_of(
        api.client.post(f"/projects/{pid}/comments/{cut['id']}/resolve", headers=viewer), 403
    )
    r = api.client.post(f"/projects/{pid}/comments/{tid}/resolve", headers=viewer)
    assert r.json()["resolved"] and r.json()["resolved_by"] == "token:test-viewer"
    listed = api.client.get(f"/projects/{pid}/comments?state=open", headers=viewer).json()
    assert [t["id"] for t in listed["threads"]] == [cut["id"]]
    assert (listed["open"], listed["resolved"], listed["orphaned"]) == (1, 1, 0)
    status = api.client.get(f"/projects/{pid}", headers=viewer).json()
    assert status["comments"]["counts"]["threads"] == 2
    assert [t["id"] for t in status["comments"]["open_threads"]] == [cut["id"]]
    assert (
        api.client.post(f"/projects/{pid}/comments/{tid}/reopen", headers=reviewer).json()[
            "resolved"
        ]
        is False
    )
    # Bad input: problem documents naming the field.
    problem_of(
        api.client.post(f"/projects/{pid}/comments", headers=viewer, json={"body": "where?"}), 422
    )
    problem_of(
        api.client.post(
            f"/projects/{pid}/comments", headers=viewer, json={"body": "", "start_s": 1}
        ),
        422,
    )
    problem_of(
        api.client.post(
            f"/projects/{pid}/comments", headers=viewer, json={"body": "x", "scene_id": 10**9}
        ),
        404,
    )
    problem_of(
        api.client.post(
            f"/projects/{pid}/comments/999999/replies", headers=viewer, json={"body": "x"}
        ),
        404,
    )
    problem_of(api.client.get(f"/projects/{pid}/comments"), 401)
    actions = [a for a, _ in audit_actions(api, pid) if a.startswith("comments.")]
    assert actions[::-1] == [
        "comments.create",
        "comments.reply",
        "comments.edit",
        "comments.create",
        "comments.resolve",
        "comments.reopen",
    ]
