"""The project status document (``genesis status --json``): everything about a project at once."""

from __future__ import annotations

import json
from typing import Any

from genesis_pipeline.store import Store
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import renders as renders_sql
from genesis_pipeline.store import results as results_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store import runs as runs_sql


def project_status(store: Store, project_id: int, *, include_words: bool = True) -> dict[str, Any]:
    """Raises: NotFoundError: no such project."""
    with store.db.read() as con:
        project = projects_sql.get(con, project_id)
        media = media_sql.list_for_project(con, project_id)
        transcripts = con.execute(
            "SELECT media_id, language, language_probability, model, text, duration_s"
            " FROM transcripts WHERE project_id = ? ORDER BY media_id",
            [project_id],
        ).fetchall()
        words = results_sql.words_for_project(con, project_id) if include_words else None
        scenes = results_sql.scenes_for_project(con, project_id)
        chapters = results_sql.chapters_for_project(con, project_id)
        renders = renders_sql.list_for_project(con, project_id)
        last = runs_sql.latest(con, project_id)
        rules = review_sql.latest_rules(con, project_id)
        voiceovers = review_sql.active_voiceovers(con, project_id)

    def abs_path(p: str | None) -> str | None:
        return str(store.absolute(p)) if p else None

    doc_transcripts = []
    for media_id, lang, lang_p, model, text, dur in transcripts:
        entry: dict[str, Any] = {
            "media_id": int(media_id),
            "language": lang,
            "language_probability": lang_p,
            "model": model,
            "text": text,
            "duration_s": dur,
        }
        if words is not None:
            w = words[words.media_id == media_id]
            entry["words"] = [
                {
                    "word": r.word,
                    "start": float(r.start_s),
                    "end": float(r.end_s),
                    "probability": float(r.probability),
                }
                for r in w.itertuples()
            ]
        doc_transcripts.append(entry)
    doc_scenes = []
    for r in scenes.itertuples():
        meta = json.loads(r.metadata_json or "{}")
        det = meta.get("detection", {})
        doc_scenes.append(
            {
                "id": int(r.id),
                "media_id": int(r.media_id),
                "index": int(r.idx),
                "start_s": float(r.start_s),
                "end_s": float(r.end_s),
                "start_frame": int(r.start_frame),
                "end_frame": int(r.end_frame),
                "preview_path": abs_path(r.preview_path),
                "preview_paths": [abs_path(p) for p in meta.get("previews", [])],
                "caption": meta.get("caption"),
                "confidence": {
                    "detection": det.get("confidence"),
                    "cut_score": det.get("cut_score"),
                    "caption": meta.get("caption_confidence"),
                    "transcript": meta.get("transcript_confidence"),
                },
                "review_status": r.review_status,
            }
        )
    return {
        "project": project.to_dict(),
        "media": [
            {
                "id": m.id,
                "original_name": m.original_name,
                "stored_name": m.stored_name,
                "path": str(store.absolute(m.path)),
                "sha256": m.sha256,
                "kind": m.kind,
                "duration_s": m.duration_s,
                "width": m.width,
                "height": m.height,
                "fps": m.fps,
                "is_vfr": m.is_vfr,
                "rotation": m.rotation,
                "has_audio": m.has_audio,
                "has_video": m.has_video,
                "video_codec": m.video_codec,
                "audio_codec": m.audio_codec,
                "size_bytes": m.size_bytes,
            }
            for m in media
        ],
        "transcripts": doc_transcripts,
        "scenes": doc_scenes,
        "chapters": [
            {
                "id": int(c["id"]),
                "index": int(c["idx"]),
                "title": c["title"],
                "title_edited": bool(c["title_edited"]),
                "start_s": float(c["start_s"]),
                "end_s": float(c["end_s"]),
                "scene_ids": c["scene_ids"],
                "reasons": c["reasons"],
                "rules_version": int(c["rules_version"]),
            }
            for c in chapters
        ],
        "chapter_rules": {"version": rules[0], "rules": rules[1]} if rules else None,
        "voiceovers": [v.to_dict() for v in voiceovers],
        "renders": [{**r.to_dict(), "path": abs_path(r.path)} for r in renders],
        "last_run": last.to_dict() if last else None,
    }
