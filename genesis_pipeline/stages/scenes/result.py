r"""What scene detection gives: each file's :class:`Scene`\ s in a :class:`SceneList`, and how
confident each cut is (:func:`confidence`). Serialised with :mod:`genesis_pipeline.serde`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from genesis_pipeline.stages.scenes.params import SceneParams

TRANSITION_KINDS = ("cut", "gradual")
TRANSITION_STYLES = ("dissolve", "fade", "wipe")


@dataclass(frozen=True, slots=True)
class Transition:
    """The boundary a scene starts with: a ``cut``, or a ``gradual`` transition (dissolve,
    fade, wipe) whose frames ``[start_frame, end_frame)`` mix both shots.

    A scene that starts with a gradual transition starts at its middle frame; ``probability``
    is the neural detector's (None for the classical detectors). ``style`` is what a gradual
    transition looks like: ``dissolve``, ``fade`` (through a plain frame) or ``wipe``, as the
    classical gradual pass tells them apart (None for a cut, and from TransNet V2, which does
    not say).
    """

    kind: str
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    probability: float | None = None
    style: str | None = None

    @property
    def label(self) -> str:
        """What people read: ``cut``, the style, or ``gradual`` when it has none."""
        return self.style or self.kind


@dataclass(frozen=True, slots=True)
class Found:
    """A boundary as a detector reports it: the new scene starts at frame ``split``; the
    transition covers frames ``[start, end)`` (``start == end == split`` for a cut);
    ``style`` says what a gradual one looks like, when the detector can tell (see
    :class:`Transition`)."""

    split: int
    start: int
    end: int
    score: float | None
    probability: float | None = None
    style: str | None = None

    @property
    def kind(self) -> str:
        return "gradual" if self.end > self.start else "cut"


@dataclass(frozen=True, slots=True)
class Scene:
    """One shot: frames ``[start_frame, end_frame)`` of the file.

    Times are presentation times relative to the first frame. ``cut_score`` is the detector's
    metric at the cut that starts the scene (None for scene 0); ``confidence`` is derived from it
    (see :func:`confidence`). ``previews`` are JPEG names relative to the output folder, taken
    at ``preview_times_s``, never inside a transition. ``transition`` is the boundary the
    scene starts with (None for scene 0).
    """

    index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    cut_score: float | None
    confidence: float
    previews: tuple[str, ...] = ()
    preview_times_s: tuple[float, ...] = ()
    transition: Transition | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


@dataclass(frozen=True, slots=True)
class SceneList:
    """The scenes of one file, with the facts of its video and the params that made them;
    ``trace`` names the file beside the previews that holds the detector's score on every frame
    (:mod:`~genesis_pipeline.stages.scenes.trace`; None in results made before it)."""

    scenes: tuple[Scene, ...]
    fps: float
    frame_count: int
    duration_s: float
    params: SceneParams = field(default_factory=SceneParams)
    trace: str | None = None

    @property
    def cuts_s(self) -> tuple[float, ...]:
        """Times of the detected cuts (the start of every scene but the first)."""
        return tuple(s.start_s for s in self.scenes[1:])


def confidence(score: float | None, threshold: float) -> float:
    """How sure the detector is of a cut: ``r² / (1 + r²)`` with ``r = score / threshold``.

    ``score`` is the detector's metric at the cut (``content_val`` for the content detector,
    ``adaptive_ratio`` for the adaptive one): 0.5 for a score just at the threshold, 0.8 at
    twice it, 0.9 at three times, tending to 1. Scene 0 starts with the file: 1.0 when there
    is no cut (``score`` None).
    """
    if score is None:
        return 1.0
    r2 = (max(score, 0.0) / threshold) ** 2
    return r2 / (1.0 + r2)
