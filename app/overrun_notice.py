"""A voiceover that runs past the cut's end, said before rendering: how far, what the render
will do, the choices (trim, extend, freeze; saved for the project) and one click to start it
early enough to end with the cut. One block shared by the Narration and Render pages."""

from __future__ import annotations

import streamlit as st

from genesis_app import reads, state
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services.overrun import move_to_fit
from genesis_pipeline.services.render_settings import set_narration_overrun

CHOICES = {
    "trim": "Trim: fade it out at the cut's end",
    "extend": "Extend: the last scene runs on in its source",
    "freeze": "Freeze: hold the last picture under its own sound",
}


def _save_choice(pid: int, key: str) -> None:
    try:
        set_narration_overrun(reads.store(), pid, st.session_state[key], actor=state.actor())
    except GenesisError as exc:
        state.flash("error", str(exc))
    reads.clear()


def overrun_notice(pid: int, prefix: str, *, disabled: bool = False) -> None:
    """Warn about every voiceover past the cut's end, with the choices; nothing when none.

    ``prefix`` keeps the widget keys the page's own (``narr``, ``render``).
    """
    report = reads.overrun_state(pid)
    if report is None or not report.overruns:
        return
    with st.container(border=True, key=f"{prefix}_overrun"):
        for o in report.overruns:
            st.warning(
                f"**{o.file}** ({o.target}) runs **{o.overrun_s:.1f} s** past the end of the "
                f"cut ({report.cut_s:.2f} s). Rendered now: {report.action}."
            )
            if o.fit_start_s is not None:
                if st.button(
                    f"Move it earlier: start at {o.fit_start_s:.2f} s on the cut",
                    key=f"{prefix}_overrun_fit_{o.voiceover_id}",
                    disabled=disabled or not state.can("review"),
                    help="Sets its start so that it ends with the cut (saved as its offset)",
                ):
                    try:
                        start = move_to_fit(reads.store(), pid, o.voiceover_id, actor=state.actor())
                    except GenesisError as exc:
                        st.error(str(exc))
                    else:
                        reads.clear()
                        state.flash("success", f"{o.file} now starts at {start:.2f} s.")
                        st.rerun()
            else:
                st.caption(
                    f"{o.file} is longer than the cut from where it may start: it cannot end "
                    "with the cut. Trim it, or extend the cut."
                )
        key = f"{prefix}_overrun_choice_{pid}"
        # The stored choice, also when another tab, page or the CLI changed it.
        state.show_saved({key: report.choice})
        st.radio(
            "At the cut's end",
            list(CHOICES),
            format_func=CHOICES.get,
            **state.kept(key),
            horizontal=True,
            on_change=_save_choice,
            args=(pid, key),
            disabled=disabled,
            help="What every render of this project does with a voiceover that runs past the "
            "end of the cut. Extend and freeze lengthen the render by the overrun plus "
            "0.5 s; trim keeps its length and fades the voice out over its last 0.5 s.",
        )
