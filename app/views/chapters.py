"""Chapters: tune the chapter rules with a live preview (no pipeline run), compare it with the
last saved rules, save the rules as a new version, and rename the saved chapters."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from genesis_app import comments as comment_ui
from genesis_app import reads, state
from genesis_pipeline import viz
from genesis_pipeline.errors import GenesisError
from genesis_pipeline.services.chapters import (
    ChapterOnCut,
    CutChapters,
    chapters_on_cut,
    compare_chapters,
    preview_chapters,
    restore_rules,
    rules_diff,
    save_rules,
    set_chapter_title,
    speech_intervals,
    with_edited_titles,
)
from genesis_pipeline.services.wording import duration, plural
from genesis_pipeline.stages.chapters import Chapter, Rules

# Widget keys of the rule controls, with the Rules field each one sets.
RULE_KEYS = {
    "ch_min": "min_chapter_s",
    "ch_max": "max_chapter_s",
    "ch_pause": "pause_split_s",
    "ch_sim": "caption_similarity",
    "ch_keep": "keep_sentences",
}


# What the page calls each rule (the controls' labels), never the Rules field names.
RULE_LABELS = {
    "min_chapter_s": "Shortest chapter",
    "max_chapter_s": "Longest chapter",
    "pause_split_s": "Split at speech pauses of",
    "caption_similarity": "Caption similarity below",
    "keep_sentences": "Keep spoken sentences together",
}


def _rule_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:g} s" if name.endswith("_s") else f"{value:g}"
    return str(value)


def _plain(text: str) -> str:
    """A rules error in the page's words: the controls' labels for the rule names."""
    text = text.replace("chapter rules: ", "")
    for name, label in RULE_LABELS.items():
        text = text.replace(name, f"“{label}”")
    return text


def _rule_values(rules: Rules) -> dict[str, float | bool]:
    """The controls' values for ``rules``, by widget key."""
    return {
        key: bool(getattr(rules, name)) if name == "keep_sentences" else float(getattr(rules, name))
        for key, name in RULE_KEYS.items()
    }


def _load_rules(rules: Rules) -> None:
    for key, value in _rule_values(rules).items():
        st.session_state[key] = value


def _rules_from_widgets() -> Rules:
    values = {name: st.session_state[key] for key, name in RULE_KEYS.items()}
    return Rules(
        min_chapter_s=float(values["min_chapter_s"]),
        max_chapter_s=float(values["max_chapter_s"]),
        pause_split_s=float(values["pause_split_s"]),
        caption_similarity=float(values["caption_similarity"]),
        keep_sentences=bool(values["keep_sentences"]),
    )


def _kept(on_cut: ChapterOnCut) -> str:
    if on_cut.dropped:
        return f"none of {on_cut.scenes} (not in the cut)"
    return f"{on_cut.kept} of {on_cut.scenes}"


def _chapter_rows(chapters: Sequence[Chapter], on_cut: CutChapters) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "#": c.index + 1,
                "starts at": duration(c.start_s),
                "length in the cut": duration(o.cut_s),
                "length in the footage": duration(o.footage_s),
                "scenes kept": _kept(o),
                "title": c.title,
                "starts because": ", ".join(c.reasons),
            }
            for c, o in zip(chapters, on_cut.chapters, strict=True)
        ]
    )


st.title("Chapters")
state.show_flash()
pid = state.require_project()
inputs = reads.chapter_inputs(pid)
if not inputs.scenes:
    st.info("No scenes yet: process the project on the Run page first.")
    st.stop()
saved_state = reads.chapter_state(pid)
version = saved_state.version
saved_rules = saved_state.rules
stored = saved_state.saved
scenes = reads.scenes(pid)
total_s = max(s.end_s for s in inputs.scenes)
# Chapters of the cut: rejected scenes leave the cut, so lengths on the cut count kept scenes.
rejected = {int(i) for i in scenes.id[scenes.review_status == "rejected"]}

# The controls show the saved rules when the project or the saved version changes (a save here,
# in another tab or from a notebook); in between they keep the reviewer's unsaved moves.
state.show_saved(_rule_values(saved_rules), saved_as=(pid, version))

st.caption(
    "Move the rules and the preview regroups the scenes at once; nothing is run or saved until "
    "you press **Save rules**. Saved rules apply on the next run (Run page, or Render page)."
)
left, right = st.columns([1, 2.7], gap="large")
with left, st.container(border=True):
    st.markdown(f"**Rules** · saved version {version or '— (defaults)'}")
    st.slider(
        "Shortest chapter (s)",
        0.0,
        float(max(120, math.ceil(saved_rules.min_chapter_s))),
        step=0.5,
        **state.kept("ch_min"),
        help="Chapters shorter than this are merged with a neighbour when possible.",
    )
    st.slider(
        "Longest chapter (s)",
        min(1.0, saved_rules.max_chapter_s),
        float(max(600, math.ceil(total_s), math.ceil(saved_rules.max_chapter_s))),
        step=1.0,
        **state.kept("ch_max"),
        help="Chapters longer than this are split when possible.",
    )
    st.slider(
        "Split at speech pauses of (s)",
        min(0.1, saved_rules.pause_split_s),
        float(max(10, math.ceil(saved_rules.pause_split_s))),
        step=0.1,
        **state.kept("ch_pause"),
        help="A pause in speech at least this long between scenes starts a chapter.",
    )
    st.slider(
        "Caption similarity below",
        0.0,
        1.0,
        step=0.05,
        **state.kept("ch_sim"),
        help="Split where consecutive captions share less than this (0 = no topic splits).",
    )
    st.toggle("Keep spoken sentences together", **state.kept("ch_keep"))
    st.button(
        "Back to saved rules",
        key="ch_reset",
        icon=":material/undo:",
        width="stretch",
        on_click=_load_rules,
        args=(saved_rules,),
    )

rules = _rules_from_widgets()
titles = saved_state.titles
preview: list[Chapter] | None = None
problem: str | None = None
try:
    preview = with_edited_titles(preview_chapters(inputs, rules), inputs, titles)
except GenesisError as exc:
    problem = str(exc)
saved_preview = with_edited_titles(preview_chapters(inputs, saved_rules), inputs, titles)
speech = speech_intervals(inputs.words)

with right:
    if problem is not None or preview is None:
        st.error(
            f"These rules cannot be used: {_plain(problem or '')}. Showing the saved rules' "
            "chapters."
        )
        st.plotly_chart(
            viz.chapter_timeline(scenes, saved_preview, speech),
            key="ch_timeline_saved",
            width="stretch",
        )
    else:
        diff = compare_chapters(saved_preview, preview)
        on_cut = chapters_on_cut(preview, inputs, rejected)
        dropped = len(on_cut.chapters) - len(on_cut.in_cut)
        m = st.columns(5)
        m[0].metric(
            "Preview chapters",
            len(preview),
            delta=len(preview) - len(saved_preview) or None,
            delta_color="off",
            help=f"Saved rules give {len(saved_preview)}",
        )
        m[1].metric("Boundaries added", len(diff.added))
        m[2].metric("Boundaries removed", len(diff.removed))
        m[3].metric(
            "Longest chapter in the cut",
            duration(on_cut.longest_s),
            help="Rejected scenes are left out of a chapter's length, as the render plays it.",
        )
        m[4].metric(
            "Chapters in the cut",
            len(on_cut.in_cut),
            help=(
                f"{plural(dropped, 'chapter')} had every scene rejected and "
                f"{'is' if dropped == 1 else 'are'} not in the cut."
                if dropped
                else "Every chapter keeps at least one scene."
            ),
        )
        compare = st.toggle(
            f"Compare with saved rules v{version}" if version else "Compare with the defaults",
            value=True,
            **state.kept("ch_compare"),
        )
        st.plotly_chart(
            viz.chapter_timeline(
                scenes,
                preview,
                speech,
                compare=saved_preview if compare else None,
                compare_label=f"saved v{version}" if version else "defaults",
            ),
            key="ch_timeline",
            width="stretch",
        )
        if diff.changed:
            st.caption(
                "Added boundaries (▼ on the preview): "
                + (", ".join(f"{b:.1f} s" for b in diff.added) or "none")
                + " · removed (✕ on the saved row): "
                + (", ".join(f"{b:.1f} s" for b in diff.removed) or "none")
            )
        if rejected:
            st.caption(
                f"{plural(len(rejected), 'rejected scene')} left out of the lengths in the cut; "
                "the timeline shows the footage with every scene."
            )
        st.dataframe(
            _chapter_rows(preview, on_cut), hide_index=True, width="stretch", key="ch_preview"
        )

# -- save ---------------------------------------------------------------------------------------
st.subheader("Save")
changes = rules_diff(saved_rules, rules)
if changes:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "rule": RULE_LABELS.get(c["rule"], c["rule"]),
                    "saved": _rule_value(c["rule"], c["saved"]),
                    "preview": _rule_value(c["rule"], c["preview"]),
                }
                for c in changes
            ]
        ),
        hide_index=True,
        key="ch_rules_diff",
    )
elif version:
    st.caption(f"The rules are those of saved version {version}.")
save_cols = st.columns([4, 1.6], vertical_alignment="bottom")
note = save_cols[0].text_input(
    "Note (optional)",
    placeholder="e.g. shorter chapters for the trailer",
    **state.kept("ch_note"),
)
if save_cols[1].button(
    "Save rules as new version",
    key="ch_save",
    type="primary",
    disabled=(problem is not None or (not changes and version > 0)) or not state.can("review"),
    width="stretch",
):
    try:
        new_version = save_rules(
            reads.store(), pid, rules, note.strip() or None, actor=state.actor()
        )
    except GenesisError as exc:
        st.error(str(exc))
    else:
        st.session_state.pop("ch_note", None)  # the note went with the version
        state.flash(
            "success",
            f"Saved as rules v{new_version}. They apply on the next run: start one on the Run "
            "page, or render on the Render page.",
        )
        st.rerun()

with st.expander(f"Rules history ({len(saved_state.history)} versions)"):
    if saved_state.history:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "version": f"v{h.version}",
                        "saved": h.created_at.strftime("%Y-%m-%d %H:%M"),
                        "note": h.note or "",
                    }
                    | {
                        RULE_LABELS.get(k, k): _rule_value(k, v)
                        for k, v in h.rules.items()
                        if k in RULE_LABELS
                    }
                    for h in reversed(saved_state.history)
                ]
            ),
            hide_index=True,
            width="stretch",
            key="ch_history",
        )
        older = [h.version for h in reversed(saved_state.history) if h.version != version]
        if older:
            r = st.columns([2, 2, 3], vertical_alignment="bottom")
            pick = r[0].selectbox(
                "Earlier version",
                older,
                format_func=lambda v: f"v{v}",
                **state.kept("ch_restore_pick"),
            )
            if r[1].button(
                "Restore as new version",
                key="ch_restore",
                icon=":material/history:",
                help="Saves that version's rules as a new version; the history stays.",
                width="stretch",
                disabled=not state.can("review"),
            ):
                try:
                    restored = restore_rules(reads.store(), pid, int(pick), actor=state.actor())
                except GenesisError as exc:
                    st.error(str(exc))
                else:
                    state.flash(
                        "success",
                        f"Restored the rules of v{pick} as v{restored}. They apply on the next "
                        "run.",
                    )
                    st.rerun()
    else:
        st.caption("No rules saved yet: the defaults apply.")

# -- titles of the saved chapters ---------------------------------------------------------------
st.subheader("Saved chapters")
if not stored:
    st.info("No chapters yet: they are made by the next run.")
    st.stop()
made_with = {c.rules_version for c in stored}
if version and made_with != {version}:
    st.warning(
        f"These chapters were made with rules v{', v'.join(str(v) for v in sorted(made_with))}; "
        f"saved rules v{version} apply on the next run (Run or Render page)."
    )
st.caption("Edit a title in the table, then save. A title stays with its chapter's first scene.")
stored_on_cut = chapters_on_cut(stored, inputs, rejected)
original = pd.DataFrame(
    [
        {
            "id": c.id,
            "#": c.index + 1,
            "starts at": duration(c.start_s),
            "length in the cut": duration(o.cut_s),
            "length in the footage": duration(c.duration_s),
            "scenes kept": _kept(o),
            "title": c.title,
            "edited": c.title_edited,
        }
        for c, o in zip(stored, stored_on_cut.chapters, strict=True)
    ]
)
edited = st.data_editor(
    original,
    key="ch_titles",
    hide_index=True,
    width="stretch",
    disabled=[
        "id",
        "#",
        "starts at",
        "length in the cut",
        "length in the footage",
        "scenes kept",
        "edited",
    ],
    column_config={
        "id": None,
        "title": st.column_config.TextColumn("title", width="large", max_chars=200),
        "edited": st.column_config.CheckboxColumn("renamed"),
    },
)
renamed = [
    (int(cid), str(new))
    for cid, old, new in zip(original.id, original.title, edited.title, strict=True)
    if str(new) != str(old)
]
if st.button(
    f"Save {plural(len(renamed), 'title')}" if renamed else "Save titles",
    key="ch_save_titles",
    disabled=not renamed or not state.can("review"),
):
    errors = []
    for cid, title in renamed:
        try:
            set_chapter_title(reads.store(), pid, cid, title, actor=state.actor())
        except GenesisError as exc:
            errors.append(str(exc))
    if errors:
        st.error("; ".join(errors))
    else:
        del st.session_state["ch_titles"]
        state.flash("success", f"Saved {plural(len(renamed), 'title')}.")
        st.rerun()

comment_ui.chapters_section(pid, stored)
