"""A voiceover that runs past the end of the cut: how far, what a render does about it (the
project's choice: trim, extend or freeze), and moving it early enough to end with the cut."""

from __future__ import annotations

from dataclasses import dataclass

from genesis_pipeline.errors import InvalidSettingError, NotFoundError
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.narration import (
    check_voiceover_offset,
    list_voiceovers,
    narration_clips,
    set_voiceover_offset,
)
from genesis_pipeline.services.render_settings import get_narration_overrun
from genesis_pipeline.store import Store


@dataclass(frozen=True, slots=True)
class Overrun:
    """A voiceover that runs past the end of the cut.

    Attributes:
        fit_start_s: where it would start (cut time) to end with the cut, None when it cannot
            (longer than the cut, or than its chapter to the cut's end).
        fit_offset_s: that start as the offset the reviewer sets (from the chapter's start for
            a chapter voiceover).
    """

    voiceover_id: int
    file: str
    target: str
    start_s: float
    duration_s: float
    overrun_s: float
    fit_start_s: float | None
    fit_offset_s: float | None


@dataclass(frozen=True, slots=True)
class OverrunReport:
    """The voiceovers that run past the cut's end and what a render will do about them.

    Attributes:
        choice: ``trim``, ``extend`` or ``freeze`` (the project's setting).
        cut_s: the cut's length.
        extend_s: how long ``extend``/``freeze`` run the cut on (0 when trimming).
    """

    choice: str
    cut_s: float
    overruns: tuple[Overrun, ...]
    extend_s: float

    @property
    def action(self) -> str:
        """What a render does about them, as :func:`overrun_action` says it."""
        return overrun_action(self.choice, self.extend_s)


def overrun_action(choice: str, extend_s: float, *, done: bool = False) -> str:
    """``trimmed, faded out over its last 0.5 s in the cut`` and the like (``done``: past)."""
    from genesis_pipeline.stages.render import NARRATION_FADE_S

    if choice == "extend":
        runs = "ran" if done else "runs"
        return f"the last scene {runs} on {extend_s:.1f} s in its source to let it finish"
    if choice == "freeze":
        return f"the last picture held {extend_s:.1f} s under its own sound to let it finish"
    return f"trimmed, faded out over its last {NARRATION_FADE_S:g} s in the cut"


def overrun_text(file: str, overrun_s: float, choice: str, extend_s: float, *, done: bool) -> str:
    """``voiceover X runs 1.1 s past the cut's end: trimmed, ...`` (``done``: ran)."""
    runs = "ran" if done else "runs"
    action = overrun_action(choice, extend_s, done=done)
    return f"voiceover {file} {runs} {overrun_s:.1f} s past the cut's end: {action}"


def overrun_report(store: Store, project_id: int) -> OverrunReport:
    """The voiceovers of the project that run past the cut's end, and the project's choice.

    Raises:
        InvalidSettingError: the narration plan cannot be made (an offset outside the cut).
        InvalidMediaError: a voiceover file is missing.
        NotFoundError: no such project.
    """
    from genesis_pipeline.stages.narration import extension_s

    choice = get_narration_overrun(store, project_id)
    cut = load_cut(store, project_id)
    voiceovers = list_voiceovers(store, project_id)
    clips, rows = narration_clips(store, cut, voiceovers) if cut.segments else ([], [])
    overruns = tuple(
        Overrun(
            voiceover_id=r.voiceover_id,
            file=r.file,
            target=r.target,
            start_s=r.offset_s,
            duration_s=r.duration_s,
            overrun_s=r.overrun_s,
            fit_start_s=r.fit_start_s,
            fit_offset_s=r.fit_offset_s,
        )
        for r in rows
        if r.offset_s is not None and r.overrun_s > 0
    )
    return OverrunReport(choice, cut.duration_s, overruns, extension_s(clips, choice))


def move_to_fit(store: Store, project_id: int, voiceover_id: int, *, actor: Actor) -> float:
    """Start a voiceover early enough to end with the cut (an offset override); returns its
    new start on the cut.

    Raises:
        InvalidSettingError: it cannot end with the cut (longer than the cut, or than its
            chapter to the cut's end): trim it or extend the cut instead.
        NotFoundError: no such active voiceover in the project.
        PermissionDeniedError: the actor may not tune narration.
    """
    access.require(actor, "review", "narration.offset")
    report = overrun_report(store, project_id)
    item = next((o for o in report.overruns if o.voiceover_id == voiceover_id), None)
    if item is None:
        vo = next((v for v in list_voiceovers(store, project_id) if v.id == voiceover_id), None)
        if vo is None:
            raise NotFoundError(f"voiceover {voiceover_id}: not an active voiceover of the project")
        return float(check_voiceover_offset(store, project_id, voiceover_id, vo.offset_s) or 0.0)
    if item.fit_offset_s is None or item.fit_start_s is None:
        where = "the cut" if item.target == "whole cut" else f"{item.target} to the cut's end"
        raise InvalidSettingError(
            "voiceover offset",
            f"{item.file} lasts {item.duration_s:.2f} s, longer than {where}: it cannot end "
            "with the cut; trim it or extend the cut instead",
        )
    set_voiceover_offset(store, project_id, voiceover_id, item.fit_offset_s, actor=actor)
    return item.fit_start_s
