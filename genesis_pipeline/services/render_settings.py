"""How a project renders: the mode (smart or full re-encode), the narration mix, what to do
with a voiceover that runs past the cut's end and the subtitles it carries, as the assembly
stage's parameters, and the render's cache key. One place for the render step and for the
Render page's "is the latest render current" check, so the two can never disagree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.services import access
from genesis_pipeline.services.access import Actor
from genesis_pipeline.store import Store
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import transcripts as transcripts_sql
from genesis_pipeline.store.cache import fingerprint, stage_key

if TYPE_CHECKING:
    from genesis_pipeline.services.cut import CutPlan
    from genesis_pipeline.stages.narration import NarrationClip
    from genesis_pipeline.stages.render import AssemblyParams

#: The render's stage name in the cache key (renders are found by key in the ``renders`` table).
RENDER_STAGE = "render"

#: ``smart``: stream-copy the groups of pictures a cut leaves whole, encode only around the cut
#: points (several times faster, same frames). ``reencode``: decode and encode everything.
RENDER_MODES = ("smart", "reencode")
DEFAULT_RENDER_MODE = "smart"
_KEY = "render_mode"

#: What a render does with a voiceover that runs past the cut's end (stored beside the mix):
#: ``trim`` fades it out at the end, ``extend`` runs the last scene on in its source,
#: ``freeze`` holds its last picture under its own sound (see ``stages.narration``).
DEFAULT_NARRATION_OVERRUN = "trim"
_OVERRUN_KEY = "narration_overrun"

#: Subtitles in the render: ``off``; ``soft``, a ``mov_text`` track players can switch on; or
#: ``burned``, drawn into the pictures (every picture is then encoded: a full re-encode).
RENDER_SUBTITLES = ("off", "soft", "burned")
DEFAULT_RENDER_SUBTITLES = "off"
_SUBTITLES_KEY = "render_subtitles"


def get_render_subtitles(store: Store, project_id: int) -> str:
    """The subtitles of the project's renders: ``off`` (unless set), ``soft`` or ``burned``.

    Raises:
        NotFoundError: no such project.
    """
    return _subtitles_of(_settings(store, project_id))


def set_render_subtitles(
    store: Store, project_id: int, choice: str, what: str = "subtitles", *, actor: Actor
) -> str:
    """Save the subtitles renders of the project carry from now on.

    Args:
        what: the setting's name in an error (``--subtitles`` on the command line).

    Raises:
        InvalidSettingError: ``choice`` is not one of :data:`RENDER_SUBTITLES`.
        NotFoundError: no such project.
        PermissionDeniedError: the actor may not change render settings.
    """
    access.require(actor, "review", "render.subtitles")
    check_subtitles_choice(choice, what)
    with store.db.write() as con:
        current = projects_sql.get(con, project_id).settings_json.get(_SUBTITLES_KEY)
        if current != choice:
            access.permit(con, actor, "review", "render.subtitles", project_id, {"to": choice})
            projects_sql.update_settings(con, project_id, {_SUBTITLES_KEY: choice})
            projects_sql.bump_revision(con, project_id)
    return choice


def check_subtitles_choice(choice: str, what: str = "subtitles") -> None:
    """Raises: InvalidSettingError: ``choice`` is not one of :data:`RENDER_SUBTITLES`."""
    if choice not in RENDER_SUBTITLES:
        raise InvalidSettingError(what, f"{choice!r} is not one of {', '.join(RENDER_SUBTITLES)}")


def get_render_mode(store: Store, project_id: int) -> str:
    """The project's render mode (``smart`` unless set).

    Raises:
        NotFoundError: no such project.
    """
    return _mode_of(_settings(store, project_id))


def set_render_mode(store: Store, project_id: int, mode: str, *, actor: Actor) -> str:
    """Save how the project renders from now on.

    Raises:
        InvalidSettingError: ``mode`` is not one of :data:`RENDER_MODES`.
        NotFoundError: no such project.
        PermissionDeniedError: the actor may not change render settings.
    """
    access.require(actor, "review", "render.mode")
    if mode not in RENDER_MODES:
        raise InvalidSettingError(
            "render mode", f"{mode!r} is not one of {', '.join(RENDER_MODES)}"
        )
    with store.db.write() as con:
        current = projects_sql.get(con, project_id).settings_json.get(_KEY, DEFAULT_RENDER_MODE)
        if current != mode:
            access.permit(con, actor, "review", "render.mode", project_id, {"to": mode})
            projects_sql.update_settings(con, project_id, {_KEY: mode})
    return mode


def get_narration_overrun(store: Store, project_id: int) -> str:
    """What the project's renders do with a voiceover past the cut's end (``trim`` unless set).

    Raises:
        NotFoundError: no such project.
    """
    return _overrun_of(_settings(store, project_id))


def set_narration_overrun(store: Store, project_id: int, choice: str, *, actor: Actor) -> str:
    """Save what renders of the project do with a voiceover that runs past the cut's end.

    Raises:
        InvalidSettingError: ``choice`` is not ``trim``, ``extend`` or ``freeze``.
        NotFoundError: no such project.
        PermissionDeniedError: the actor may not change render settings.
    """
    from genesis_pipeline.stages.narration import check_overrun_choice

    access.require(actor, "review", "narration.overrun")
    check_overrun_choice(choice)
    with store.db.write() as con:
        current = projects_sql.get(con, project_id).settings_json.get(_OVERRUN_KEY)
        if current != choice:
            access.permit(con, actor, "review", "narration.overrun", project_id, {"to": choice})
            projects_sql.update_settings(con, project_id, {_OVERRUN_KEY: choice})
    return choice


def render_params(
    store: Store, project_id: int, clips: Sequence[NarrationClip] = ()
) -> AssemblyParams:
    """The assembly parameters a render of the project uses now: mode, mix, and for
    narration ``clips`` that run past the cut's end the extension its overrun choice asks for.

    Raises:
        NotFoundError: no such project.
    """
    from genesis_pipeline.services.narration import mix_of  # pandas: not for the CLI's parser
    from genesis_pipeline.stages.narration import extension_s
    from genesis_pipeline.stages.render import AssemblyParams

    settings = _settings(store, project_id)
    mix = mix_of(settings)
    choice = _overrun_of(settings)
    extend = extension_s(clips, choice)
    return AssemblyParams(
        bed_gain=mix.bed_gain,
        narration_gain=mix.voiceover_gain,
        # Burned-in text changes every picture: nothing can be copied, whatever the mode.
        mode="reencode" if _subtitles_of(settings) == "burned" else _mode_of(settings),
        extend_s=extend,
        # Only when it extends: with nothing past the end the choice changes no render.
        extend_with="freeze" if choice == "freeze" and extend else "source",
    )


def render_inputs(
    cut: CutPlan,
    clips: Sequence[NarrationClip],
    subtitles: str = DEFAULT_RENDER_SUBTITLES,
    transcription: Sequence[str] = (),
    sizes: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Everything besides the params that decides a render's output, for its cache key: the
    kept frames, the narration, the chapter markers, the subtitles and, when the render
    carries subtitles, the models that heard their words (``transcription``). ``sizes``: each
    clip's voiceover size by its path (:func:`clip_sizes`, no download), else read from the
    clip's file."""
    inputs: dict[str, Any] = {
        "chapters": [(c.title, c.start_s, c.end_s) for c in cut.chapters],
        "subtitles": subtitles,
        "segments": [
            (cut.media_sha[int(s.media_key)], s.start_frame, s.end_frame, s.start_s, s.end_s)
            for s in cut.segments
        ],
        "narration": [
            (
                fingerprint(str(c.path)),
                sizes[str(c.path)] if sizes is not None else c.path.stat().st_size,
                c.offset_s,
                c.gain,
            )
            for c in clips
        ],
    }
    if subtitles != "off":
        inputs["transcription"] = sorted(transcription)
    return inputs


def render_cache_key(
    params: AssemblyParams,
    cut: CutPlan,
    clips: Sequence[NarrationClip] = (),
    subtitles: str = DEFAULT_RENDER_SUBTITLES,
    transcription: Sequence[str] = (),
    sizes: Mapping[str, int] | None = None,
) -> str:
    """The cache key of a render of ``cut`` with ``clips``, ``params`` and ``subtitles``
    (their words heard by the ``transcription`` models, see :func:`transcription_models`;
    ``sizes`` as :func:`render_inputs` takes them)."""
    from genesis_pipeline.stages.render import VERSION

    inputs = render_inputs(cut, clips, subtitles, transcription, sizes)
    return stage_key(RENDER_STAGE, VERSION, params, inputs)


def clip_sizes(store: Store, clips: Sequence[NarrationClip]) -> dict[str, int]:
    """Each clip's voiceover size by its path, asked of the storage (no download).

    Raises:
        InvalidMediaError: a voiceover is gone (names it).
    """
    sizes = {}
    for c in clips:
        recorded = store.relative(c.path)
        size = store.object_size(recorded)
        if size is None:
            raise InvalidMediaError(
                c.name or c.path.name, f"voiceover file {store.location(recorded)} is missing"
            )
        sizes[str(c.path)] = size
    return sizes


def transcription_models(
    store: Store, project_id: int, cut: CutPlan, clips: Sequence[NarrationClip] = ()
) -> tuple[str, ...]:
    """Which models heard the words of a render's subtitles: the identity recorded with each
    kept file's transcript and, with narration, the configured Whisper model (the voiceovers
    are transcribed with it when the render is made). A new model changes the words, so it
    changes the key of every render that shows them.

    Raises:
        NotFoundError: no such project.
    """
    kept = {int(s.media_key) for s in cut.segments}
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        by_media = transcripts_sql.models_for_project(con, project_id)
    models = {f"media:{model}" for media_id, model in by_media.items() if media_id in kept}
    if clips:
        models.add(f"voiceovers:{store.settings.whisper_model or 'bundled tiny.en'}")
    return tuple(sorted(models))


def render_key(store: Store, project_id: int, cut: CutPlan | None = None) -> str | None:
    """The render step's cache key for the project as it is now (None when nothing is approved).

    Raises:
        InvalidSettingError: a voiceover offset lies outside the cut.
        InvalidMediaError: a voiceover file is missing.
        NotFoundError: no such project.
    """
    from genesis_pipeline.services.cut import load_cut
    from genesis_pipeline.services.narration import list_voiceovers, narration_clips

    cut = cut if cut is not None else load_cut(store, project_id)
    if not cut.segments:
        return None
    clips, _rows = narration_clips(store, cut, list_voiceovers(store, project_id), fetch=False)
    params = render_params(store, project_id, clips)
    subtitles = get_render_subtitles(store, project_id)
    models = transcription_models(store, project_id, cut, clips) if subtitles != "off" else ()
    sizes = clip_sizes(store, clips)
    return render_cache_key(params, cut, clips, subtitles, models, sizes)


def _settings(store: Store, project_id: int) -> dict[str, Any]:
    with store.db.read() as con:
        return projects_sql.get(con, project_id).settings_json


def _mode_of(settings: dict[str, Any]) -> str:
    mode = settings.get(_KEY, DEFAULT_RENDER_MODE)
    return mode if mode in RENDER_MODES else DEFAULT_RENDER_MODE


def _subtitles_of(settings: dict[str, Any]) -> str:
    choice = settings.get(_SUBTITLES_KEY, DEFAULT_RENDER_SUBTITLES)
    return choice if choice in RENDER_SUBTITLES else DEFAULT_RENDER_SUBTITLES


def _overrun_of(settings: dict[str, Any]) -> str:
    from genesis_pipeline.stages.narration import OVERRUN_CHOICES

    # Absent (projects from before the choice existed) or unknown: the default.
    choice = settings.get(_OVERRUN_KEY, DEFAULT_NARRATION_OVERRUN)
    return choice if choice in OVERRUN_CHOICES else DEFAULT_NARRATION_OVERRUN
