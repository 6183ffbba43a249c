"""Step: group scenes into chapters under the project's latest rules version."""

from __future__ import annotations

from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.services import access
from genesis_pipeline.services.chapters import current_rules, load_chapter_inputs, save_rules
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import review as review_sql
from genesis_pipeline.store.cache import stage_key
from genesis_pipeline.store.records import NewChapter

STAGE = "chapters"


def run(ctx: RunContext) -> StepOutcome:
    from genesis_pipeline.stages.chapters import VERSION, group_chapters

    version, rules = current_rules(ctx.store, ctx.project_id)
    if version == 0:
        version = save_rules(
            ctx.store, ctx.project_id, rules, note="defaults", actor=access.system_actor("pipeline")
        )
    inputs = load_chapter_inputs(ctx.store, ctx.project_id)
    if not inputs.scenes:
        return StepOutcome(status="skipped", note="no scenes to group")
    key = stage_key(STAGE, VERSION, rules, {"inputs": inputs.fingerprint(), "rules": version})
    ctx.results.chapters_key = key
    with ctx.store.db.read() as con:
        stored = chapters_sql.chapters_key(con, ctx.project_id)
        titles = review_sql.edited_titles(con, ctx.project_id)
    if stored == key and not ctx.force:
        return StepOutcome(cache_hit=True, counts={"rules_version": version})
    chapters = group_chapters(inputs.scenes, inputs.words, rules)
    rows = []
    for ch in chapters:
        first = inputs.scene_frames[int(ch.scene_keys[0])]
        edited = titles.get(first)
        rows.append(
            NewChapter(
                idx=ch.index,
                title=edited or ch.title,
                title_edited=edited is not None,
                start_s=ch.start_s,
                end_s=ch.end_s,
                reasons=tuple(ch.reasons),
                scene_ids=tuple(int(k) for k in ch.scene_keys),
            )
        )
    with ctx.store.db.write() as con:
        chapters_sql.replace_chapters(
            con, project_id=ctx.project_id, rules_version=version, cache_key=key, chapters=rows
        )
    return StepOutcome(
        counts={"chapters": len(rows), "scenes": len(inputs.scenes), "rules_version": version}
    )
