"""Step: take in a voiceover given for this run, then plan the narration over the cut."""

from __future__ import annotations

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidSettingError
from genesis_pipeline.runs.context import RunContext, StepOutcome
from genesis_pipeline.services import access, render_settings
from genesis_pipeline.services import narration as narration_service
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.overrun import overrun_text


def apply_run_options(ctx: RunContext) -> None:
    """CLI flags (--voiceover, --voiceover-offset, --voiceover-gain, --bed-gain,
    --narration-overrun) become project state before anything runs, so a bad flag fails the run
    before any work and the app shows the same settings afterwards.

    Raises:
        InvalidSettingError: an option is unusable (a bad gain, an offset without a voiceover).
        InvalidMediaError: the voiceover file is missing or has no sound.
    """
    opts = ctx.options
    if opts.narration_overrun is not None:
        render_settings.set_narration_overrun(
            ctx.store, ctx.project_id, opts.narration_overrun, actor=access.system_actor("pipeline")
        )
    if opts.voiceover_gain is not None or opts.bed_gain is not None:
        narration_service.set_mix(
            ctx.store,
            ctx.project_id,
            voiceover_gain=opts.voiceover_gain,
            bed_gain=opts.bed_gain,
            actor=access.system_actor("pipeline"),
        )
    if opts.voiceover is not None:
        narration_service.add_voiceover(
            ctx.store,
            ctx.project_id,
            opts.voiceover,
            offset_s=opts.voiceover_offset or 0.0,
            actor=access.system_actor("pipeline"),
        )
    elif opts.voiceover_offset is not None:
        whole = [
            v
            for v in narration_service.list_voiceovers(ctx.store, ctx.project_id)
            if v.chapter_idx is None
        ]
        if not whole:
            raise InvalidSettingError(
                "--voiceover-offset", "the project has no voiceover; pass --voiceover PATH too"
            )
        narration_service.set_voiceover_offset(
            ctx.store,
            ctx.project_id,
            whole[0].id,
            opts.voiceover_offset,
            actor=access.system_actor("pipeline"),
        )


def run(ctx: RunContext) -> StepOutcome:
    voiceovers = narration_service.list_voiceovers(ctx.store, ctx.project_id)
    cut = load_cut(ctx.store, ctx.project_id)
    ctx.results.cut = cut
    if not voiceovers:
        ctx.results.narration = []
        return StepOutcome(status="skipped", note="no voiceover")
    # No voiceover is downloaded here: the worker that renders reads them from the storage.
    clips, rows = narration_service.narration_clips(ctx.store, cut, voiceovers, fetch=False)
    ctx.results.narration = clips
    counts: dict[str, float] = {"voiceovers": len(clips)}
    note = None
    over = [c for c in clips if c.overrun_s > 0]
    if over:
        from genesis_pipeline.stages.narration import extension_s

        choice = render_settings.get_narration_overrun(ctx.store, ctx.project_id)
        extend = extension_s(clips, choice)
        note = "; ".join(
            overrun_text(c.name, c.overrun_s, choice, extend, done=False) for c in over
        )
        counts["overrun_s"] = max(c.overrun_s for c in over)
    return StepOutcome(
        counts=counts, note=note, details={"clips": [serde.to_json(r) for r in rows]}
    )
