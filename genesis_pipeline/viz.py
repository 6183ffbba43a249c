"""Plotly figures for the review app and notebooks: pure functions returning ``go.Figure``.

No Streamlit here. Figures have transparent backgrounds and muted grids so they read on the app's
dark theme and in a light notebook alike. Every scene point or bar carries the scene id as the
first ``customdata`` item, so a selection maps back to scenes (:func:`selected_scene_ids`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from genesis_pipeline.services.chapters import ChapterInputs, SavedChapter, compare_chapters
from genesis_pipeline.services.comments import CutMark
from genesis_pipeline.services.cut import CutChapterSpan, CutPlan
from genesis_pipeline.services.detector_trace import MediaTrace
from genesis_pipeline.services.narration import VoiceoverPlacement
from genesis_pipeline.stages.chapters import Chapter

#: A chapter to draw: a stage ``Chapter`` (a preview), a saved one, one on the cut, or a dict
#: with ``start_s``, ``end_s`` and optionally ``title``, ``index``/``idx``, ``reasons``.
ChapterLike = Chapter | SavedChapter | CutChapterSpan | Mapping[str, Any]
#: A voiceover placed on the cut: a plan row or a dict with ``offset_s`` and ``duration_s``
#: (optionally ``target``, ``file``, ``automatic``).
PlacementLike = VoiceoverPlacement | Mapping[str, Any]

# Colours that hold up on a dark background (and on white).
CONFIDENCE_COLORS = {
    "detection_confidence": "#4cc9f0",
    "caption_confidence": "#f0a500",
    "transcript_confidence": "#80ed99",
    "cut_score": "#9d9d9d",
}
CONFIDENCE_LABELS = {
    "detection_confidence": "detection",
    "caption_confidence": "caption",
    "transcript_confidence": "transcript",
    "cut_score": "cut score",
}
STATUS_COLORS = {"approved": "#2a9d8f", "rejected": "#e63946", "unknown": "#6c757d"}
CHAPTER_COLORS = ("#f0a500", "#c77d00")
SAVED_COLORS = ("#5a7bd8", "#3f5ba9")
SPEECH_COLOR = "#80ed99"
NARRATION_COLORS = {"automatic": "#b388eb", "override": "#f0a500"}
OVERLAP_COLOR = "#e63946"
PAST_END_COLOR = "#9d0208"
MEDIA_COLORS = ("#4a4e69", "#22577a")
COMMENT_COLORS = {"open": "#e63946", "resolved": "#2a9d8f"}
_GRID = "rgba(160,160,160,0.18)"
# Word gaps shorter than this are drawn as one speech bar.
SPEECH_JOIN_S = 0.3


def merge_intervals(
    intervals: Iterable[tuple[float, float]], join_gap_s: float = 0.0
) -> list[tuple[float, float]]:
    """Sorted union of intervals; gaps shorter than ``join_gap_s`` are closed (for drawing)."""
    out: list[tuple[float, float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in intervals):
        if out and a - out[-1][1] < join_gap_s:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _style(fig: go.Figure, *, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 36, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "title": None},
        hoverlabel={"namelength": -1},
    )
    fig.update_xaxes(gridcolor=_GRID, zeroline=False)
    fig.update_yaxes(gridcolor=_GRID, zeroline=False)
    return fig


def _num(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# -- confidence ---------------------------------------------------------------------------------
def _scene_order(scenes_df: pd.DataFrame) -> pd.DataFrame:
    if scenes_df.empty:
        return scenes_df
    return scenes_df.sort_values("timeline_start_s", kind="stable").reset_index(drop=True)


def _scene_customdata(df: pd.DataFrame) -> list[list[Any]]:
    return [
        [
            int(r.id),
            str(r.media_name),
            int(r.idx) + 1,
            float(r.duration_s),
            str(r.review_status),
            (str(r.caption)[:80] if isinstance(r.caption, str) else "—"),
        ]
        for r in df.itertuples()
    ]


def confidence_timeline(scenes_df: pd.DataFrame) -> go.Figure:
    """Per-scene confidences along the project timeline, cut score on a second axis.

    One point per scene at its ``timeline_start_s`` (a step line holds the value for the scene's
    length), for detection, caption and transcript confidence; the raw cut score (content
    detector, no fixed scale) is drawn dotted against the right axis. Rejected scenes have open
    markers. Media file boundaries are dotted vertical lines. Every trace keeps every scene in
    the same order (missing values are gaps), so a point's index is its scene's row.

    Args:
        scenes_df: :func:`genesis_pipeline.services.queries.scenes_table`.

    Returns:
        The figure; box select is the default drag mode.
    """
    df = _scene_order(scenes_df)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    custom = _scene_customdata(df)
    rejected = (df.review_status == "rejected").tolist() if not df.empty else []
    hover = (
        "<b>%{fullData.name}</b> %{y:.2f}<br>scene #%{customdata[0]} · %{customdata[1]} "
        "#%{customdata[2]}<br>%{x:.1f} s · %{customdata[3]:.1f} s long · %{customdata[4]}"
        "<br>%{customdata[5]}<extra></extra>"
    )
    for col in ("detection_confidence", "caption_confidence", "transcript_confidence", "cut_score"):
        values = [_num(v) for v in df[col]] if not df.empty else []
        is_score = col == "cut_score"
        fig.add_trace(
            go.Scatter(
                x=df.timeline_start_s.tolist() if not df.empty else [],
                y=values,
                customdata=custom,
                name=CONFIDENCE_LABELS[col],
                mode="lines+markers",
                line={
                    "shape": "hv",
                    "width": 1 if is_score else 1.5,
                    "dash": "dot" if is_score else "solid",
                    "color": CONFIDENCE_COLORS[col],
                },
                marker={
                    "size": 5 if is_score else 8,
                    "color": CONFIDENCE_COLORS[col],
                    "symbol": ["circle-open" if r else "circle" for r in rejected],
                },
                connectgaps=False,
                hovertemplate=hover,
                meta=col,
            ),
            secondary_y=is_score,
        )
    if not df.empty:
        firsts = df.drop_duplicates("media_id")
        for r in firsts.itertuples():
            if float(r.timeline_start_s) > 0:
                fig.add_vline(
                    x=float(r.timeline_start_s), line={"dash": "dot", "width": 1, "color": _GRID}
                )
    fig.update_yaxes(title_text="confidence", range=[-0.03, 1.05], secondary_y=False)
    fig.update_yaxes(
        title_text="cut score",
        showgrid=False,
        secondary_y=True,
        rangemode="tozero",
        tickformat=".0f",
    )
    fig.update_xaxes(title_text="project time (s)")
    fig.update_layout(dragmode="select", hovermode="closest", clickmode="event+select")
    return _style(fig, height=380)


# The detector's series: which row of the figure each goes in, its colour and line.
TRACE_STYLE = {
    "content_val": (1, "#4cc9f0", "solid"),
    "adaptive_ratio": (1, "#4cc9f0", "solid"),
    "transnet_single": (1, "#4cc9f0", "solid"),
    "gradual_step": (2, "#f0a500", "solid"),
    "gradual_low": (2, "#9d9d9d", "dot"),
    "transnet_transition": (2, "#f0a500", "solid"),
}
TRANSITION_COLORS = {"cut": "#e63946", "gradual": "#b388eb"}
# Points drawn per series at most: longer files are binned, each bin drawn as its maximum (a
# peak, which is what decides a boundary, survives any zoom-out).
TRACE_POINTS = 4000


def _binned_max(
    times: np.ndarray[Any, Any], values: np.ndarray[Any, Any], points: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    n = len(values)
    if n <= points:
        return times, values
    per = math.ceil(n / points)
    pad = (-n) % per
    v = np.concatenate([values, np.full(pad, np.nan, dtype=values.dtype)]).reshape(-1, per)
    t = np.concatenate([times, np.full(pad, times[-1], dtype=times.dtype)]).reshape(-1, per)
    with warnings.catch_warnings():  # an all-NaN bin is a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        peak = np.nanmax(v, axis=1)
        where = np.nanargmax(np.where(np.isnan(v), -np.inf, v), axis=1)
    return t[np.arange(len(t)), where], peak


def detector_timeline(media: MediaTrace, *, points: int = TRACE_POINTS) -> go.Figure:
    """The scene detector's score on every frame of one file, with the boundaries it found.

    Row 1 is the score that decides a cut (``content_val``, ``adaptive_ratio`` on a log axis,
    or TransNet V2's shot-end probability) with its threshold dashed; row 2, when the detector
    has one, the gradual evidence (the gradual pass's thumbnail step against its moving
    threshold, or TransNet V2's in-a-transition probability). Each boundary is a vertical
    line at the frame its scene starts (red for a cut), a gradual transition also a shaded
    band over the frames it mixes. Files longer than ``points`` frames are drawn binned (each
    bin's maximum).

    Args:
        media: :func:`genesis_pipeline.services.detector_trace.media_trace`.
        points: most points drawn per series.
    """
    trace = media.trace
    rows = 2 if any(TRACE_STYLE.get(s.name, (1,))[0] == 2 for s in trace.series) else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    times = trace.times_s.astype(np.float64)
    for series in trace.series:
        row, color, dash = TRACE_STYLE.get(series.name, (1, "#9d9d9d", "solid"))
        x, y = _binned_max(times, series.values.astype(np.float64), points)
        fig.add_trace(
            go.Scattergl(
                x=x,
                y=y,
                name=series.label,
                mode="lines",
                line={"color": color, "width": 1.2, "dash": dash},
                connectgaps=False,
                hovertemplate="%{x:.3f} s: %{y:.3g}<extra>" + series.label + "</extra>",
                meta=series.name,
            ),
            row=row,
            col=1,
        )
        if series.threshold is not None:
            fig.add_hline(
                y=series.threshold,
                line={"dash": "dash", "width": 1, "color": color},
                annotation_text=f"threshold {series.threshold:g}",
                annotation_position="top left",
                row=row,
                col=1,
            )
    for b in media.boundaries:
        color = TRANSITION_COLORS["cut" if b.kind == "cut" else "gradual"]
        if b.transition_end_s > b.transition_start_s:
            fig.add_vrect(
                x0=b.transition_start_s,
                x1=b.transition_end_s,
                fillcolor=color,
                opacity=0.25,
                line_width=0,
                row="all",
                col=1,
            )
        fig.add_vline(x=b.start_s, line={"width": 1, "color": color}, row="all", col=1)
    if trace.get("adaptive_ratio") is not None:
        fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(title_text="cut score" if rows == 1 else "cut", row=1, col=1)
    if rows == 2:
        fig.update_yaxes(title_text="gradual", row=2, col=1)
    fig.update_xaxes(title_text=f"{media.media_name} time (s)", row=rows, col=1)
    fig.update_layout(hovermode="x unified")
    return _style(fig, height=220 + 140 * rows)


def confidence_histograms(scenes_df: pd.DataFrame) -> go.Figure:
    """Distributions of detection, caption and transcript confidence and of the cut score.

    Confidences share 0.05-wide bins over [0, 1]; a panel with no values says so.
    """
    cols = ("detection_confidence", "caption_confidence", "transcript_confidence", "cut_score")
    fig = make_subplots(
        rows=1,
        cols=len(cols),
        subplot_titles=[CONFIDENCE_LABELS[c] for c in cols],
        horizontal_spacing=0.06,
    )
    for i, col in enumerate(cols, start=1):
        values = [v for v in (_num(x) for x in scenes_df.get(col, [])) if v is not None]
        bins = None if col == "cut_score" else {"start": 0.0, "end": 1.0001, "size": 0.05}
        fig.add_trace(
            go.Histogram(
                x=values,
                name=CONFIDENCE_LABELS[col],
                marker={"color": CONFIDENCE_COLORS[col], "line": {"width": 0}},
                xbins=bins,
                showlegend=False,
                hovertemplate="%{x}: %{y} scenes<extra></extra>",
                meta=col,
            ),
            row=1,
            col=i,
        )
        if not values:
            fig.add_annotation(
                text="no values",
                showarrow=False,
                xref=f"x{i if i > 1 else ''} domain",
                yref=f"y{i if i > 1 else ''} domain",
                x=0.5,
                y=0.5,
                font={"color": "#9d9d9d"},
            )
        if col != "cut_score":
            fig.update_xaxes(range=[0, 1], row=1, col=i)
    fig.update_yaxes(title_text="scenes", row=1, col=1)
    fig.update_layout(bargap=0.05)
    return _style(fig, height=260)


def selected_scene_ids(selection: Mapping[str, Any] | None) -> list[int]:
    """Scene ids of the points in a Plotly selection (``st.plotly_chart(on_select=...)``).

    Accepts the chart's state (``{"selection": {...}}``) or the selection itself; points carry
    the scene id as their first ``customdata`` item. Ids come back unique, in selection order.
    """
    if not selection:
        return []
    sel = selection.get("selection", selection)
    points = sel.get("points", []) if isinstance(sel, Mapping) else []
    ids: list[int] = []
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, Mapping) else None
        if isinstance(custom, list | tuple):
            custom = custom[0] if custom else None
        value = _num(custom)
        if value is not None and int(value) not in ids:
            ids.append(int(value))
    return ids


# -- bars on a time axis ------------------------------------------------------------------------
def _get(item: object, *names: str, default: Any = None) -> Any:
    """The first of ``names`` that ``item`` has, as a key of a mapping or an attribute."""
    for name in names:
        if isinstance(item, Mapping) and name in item:
            return item[name]
        if not isinstance(item, Mapping) and hasattr(item, name):
            return getattr(item, name)
    return default


@dataclass(frozen=True, slots=True)
class _Span:
    """A chapter as drawn."""

    index: int
    start_s: float
    end_s: float
    title: str
    reasons: str  # joined


def _spans(chapters: Iterable[ChapterLike]) -> list[_Span]:
    out = []
    for i, ch in enumerate(chapters):
        index = int(_get(ch, "index", "idx", default=i))
        reasons = _get(ch, "reasons", default=()) or ()
        out.append(
            _Span(
                index=index,
                start_s=float(_get(ch, "start_s")),
                end_s=float(_get(ch, "end_s")),
                title=str(_get(ch, "title", default="") or f"Chapter {index + 1}"),
                reasons=", ".join(str(r) for r in reasons),
            )
        )
    return out


def _bars(
    fig: go.Figure,
    row: str,
    spans: Sequence[tuple[float, float]],
    *,
    name: str,
    color: str | Sequence[str],
    customdata: Sequence[Sequence[Any]] | None = None,
    text: Sequence[str] | None = None,
    hovertemplate: str | None = None,
    width: float = 0.7,
    showlegend: bool = True,
    opacity: float = 1.0,
) -> None:
    fig.add_trace(
        go.Bar(
            orientation="h",
            y=[row] * len(spans),
            base=[a for a, _ in spans],
            x=[max(b - a, 0.0) for a, b in spans],
            name=name,
            marker={"color": color, "line": {"width": 1, "color": "rgba(0,0,0,0.45)"}},
            customdata=customdata,
            text=text,
            textposition="inside" if text is not None else None,
            insidetextanchor="start" if text is not None else None,
            textfont={"color": "#111111"} if text is not None else None,
            hovertemplate=hovertemplate,
            width=width,
            showlegend=showlegend,
            opacity=opacity,
            meta=name,
        )
    )


def _alternating(colors: Sequence[str], n: int) -> list[str]:
    return [colors[i % len(colors)] for i in range(n)]


def _scene_spans(scenes: pd.DataFrame | ChapterInputs) -> list[dict[str, Any]]:
    """Scenes from a ``scenes_table`` frame or a ``ChapterInputs`` (no review status there)."""
    if isinstance(scenes, pd.DataFrame):
        if scenes.empty:
            return []
        return [
            {
                "id": int(r.id),
                "start_s": float(r.timeline_start_s),
                "end_s": float(r.timeline_end_s),
                "status": str(r.review_status),
            }
            for r in scenes.itertuples()
        ]
    return [
        {"id": s.key, "start_s": float(s.start_s), "end_s": float(s.end_s), "status": "unknown"}
        for s in scenes.scenes
    ]


def chapter_timeline(
    scenes: pd.DataFrame | ChapterInputs,
    chapters: Sequence[ChapterLike],
    speech_intervals: Sequence[tuple[float, float]],
    *,
    compare: Sequence[ChapterLike] | None = None,
    compare_label: str = "saved",
) -> go.Figure:
    """Chapters over scenes and speech on the project timeline.

    Rows, top to bottom: the chapters (bars titled inside), the ``compare`` chapters (e.g. the
    last saved rules' chapters) with boundary markers where the two differ, the scenes coloured
    by review status, and the speech intervals.

    Args:
        scenes: a ``scenes_table`` frame (coloured by status) or ``ChapterInputs``.
        chapters: see :data:`ChapterLike`.
        speech_intervals: ``(start_s, end_s)`` on the project timeline.
        compare: chapters to draw on a second row, or None.
        compare_label: that row's name.

    Returns:
        The figure; trace names: ``chapters``, ``{compare_label} chapters``, ``scenes:
        <status>``, ``speech``, ``boundary added``, ``boundary removed``.
    """
    fig = go.Figure()
    rows = ["chapters"] + ([compare_label] if compare is not None else []) + ["scenes", "speech"]
    spans = _spans(chapters)
    chapter_hover = (
        "<b>%{customdata[1]}</b><br>chapter %{customdata[0]} · %{base:.1f}–%{customdata[2]:.1f} s"
        " (%{x:.1f} s)<br>%{customdata[3]}<extra></extra>"
    )

    def chapter_custom(items: list[_Span]) -> list[list[Any]]:
        return [[c.index + 1, c.title, c.end_s, c.reasons] for c in items]

    _bars(
        fig,
        "chapters",
        [(c.start_s, c.end_s) for c in spans],
        name="chapters",
        color=_alternating(CHAPTER_COLORS, len(spans)),
        customdata=chapter_custom(spans),
        text=[c.title for c in spans],
        hovertemplate=chapter_hover,
    )
    if compare is not None:
        old = _spans(compare)
        _bars(
            fig,
            compare_label,
            [(c.start_s, c.end_s) for c in old],
            name=f"{compare_label} chapters",
            color=_alternating(SAVED_COLORS, len(old)),
            customdata=chapter_custom(old),
            text=[c.title for c in old],
            hovertemplate=chapter_hover,
        )
        diff = compare_chapters(old, spans)
        added, removed = list(diff.added), list(diff.removed)
        for name, points, row, symbol, color in (
            ("boundary added", added, "chapters", "triangle-down", "#80ed99"),
            ("boundary removed", removed, compare_label, "x", OVERLAP_COLOR),
        ):
            fig.add_trace(
                go.Scatter(
                    x=points,
                    y=[row] * len(points),
                    mode="markers",
                    name=name,
                    marker={"symbol": symbol, "size": 13, "color": color, "line": {"width": 1}},
                    hovertemplate=f"{name} at %{{x:.2f}} s<extra></extra>",
                    meta=name,
                )
            )
    scene_items = _scene_spans(scenes)
    for status in ("approved", "rejected", "unknown"):
        group = [s for s in scene_items if s["status"] == status]
        if not group and status != "approved":
            continue
        _bars(
            fig,
            "scenes",
            [(s["start_s"], s["end_s"]) for s in group],
            name=f"scenes: {status}",
            color=STATUS_COLORS[status],
            customdata=[[s["id"]] for s in group],
            hovertemplate=f"scene #%{{customdata[0]}} ({status})<br>%{{base:.1f}} s, "
            "%{x:.1f} s long<extra></extra>",
            width=0.55,
        )
    _bars(
        fig,
        "speech",
        [(float(a), float(b)) for a, b in speech_intervals],
        name="speech",
        color=SPEECH_COLOR,
        hovertemplate="speech %{base:.2f} s, %{x:.2f} s<extra></extra>",
        width=0.4,
    )
    fig.update_layout(barmode="overlay", bargap=0.2, hovermode="closest")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(rows)), showgrid=False)
    fig.update_xaxes(title_text="project time (s)", rangemode="tozero")
    return _style(fig, height=120 + 48 * len(rows))


# -- narration ----------------------------------------------------------------------------------
def _intersections(
    span: tuple[float, float], intervals: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    a, b = span
    return [(max(a, x), min(b, y)) for x, y in intervals if min(b, y) > max(a, x)]


def narration_timeline(cut_plan: CutPlan, clips: Sequence[PlacementLike]) -> go.Figure:
    """The cut with its chapters, on-camera speech and the narration planned over it.

    Args:
        cut_plan: a :class:`genesis_pipeline.services.cut.CutPlan` (segments, chapters and
            speech on the cut timeline).
        clips: where :func:`genesis_pipeline.services.narration.narration_clips` placed each
            voiceover (see :data:`PlacementLike`). Voiceovers without a start are left out.

    Returns:
        Rows ``chapters``, ``cut`` (segments shaded by media file), ``speech`` (words with
        gaps under :data:`SPEECH_JOIN_S` drawn as one bar) and ``narration`` (automatic and
        override clips in two colours, the speech bars they talk over in red, the part past the
        cut's end in dark red); trace names ``chapters``, ``cut``, ``speech``, ``narration:
        automatic``, ``narration: override``, ``talks over speech``, ``past the cut's end``.
    """
    fig = go.Figure()
    spans = _spans(cut_plan.chapters)
    _bars(
        fig,
        "chapters",
        [(c.start_s, c.end_s) for c in spans],
        name="chapters",
        color=_alternating(CHAPTER_COLORS, len(spans)),
        customdata=[[c.index + 1, c.title] for c in spans],
        text=[c.title for c in spans],
        hovertemplate="<b>%{customdata[1]}</b><br>chapter %{customdata[0]} starts at "
        "%{base:.2f} s on the cut<extra></extra>",
    )
    seg_spans: list[tuple[float, float]] = []
    colors: list[str] = []
    media_seen: dict[int | str, int] = {}
    t = 0.0
    for seg in cut_plan.segments:
        seg_spans.append((t, t + seg.duration_s))
        media_seen.setdefault(seg.media_key, len(media_seen))
        colors.append(MEDIA_COLORS[media_seen[seg.media_key] % len(MEDIA_COLORS)])
        t += seg.duration_s
    ids: list[int | None] = list(cut_plan.scene_ids) or [None] * len(seg_spans)
    _bars(
        fig,
        "cut",
        seg_spans,
        name="cut",
        color=colors,
        customdata=[[sid] for sid in ids],
        hovertemplate="scene #%{customdata[0]} at %{base:.2f} s on the cut<extra></extra>",
        width=0.55,
    )
    speech = merge_intervals(cut_plan.speech, SPEECH_JOIN_S)
    _bars(
        fig,
        "speech",
        speech,
        name="speech",
        color=SPEECH_COLOR,
        hovertemplate="on-camera speech %{base:.2f} s, %{x:.2f} s<extra></extra>",
        width=0.4,
    )
    placed: list[dict[str, Any]] = []
    for clip in clips:
        start = _num(_get(clip, "offset_s"))
        duration = _num(_get(clip, "duration_s"))
        if start is None or duration is None:
            continue
        placed.append(
            {
                "span": (start, start + duration),
                "auto": bool(_get(clip, "automatic", "auto", default=False)),
                "label": f"{_get(clip, 'target', default='narration')}: "
                f"{_get(clip, 'file', default='')}".strip(": "),
            }
        )
    for kind in ("automatic", "override"):
        group = [p for p in placed if p["auto"] == (kind == "automatic")]
        if not group and kind == "automatic":
            continue
        _bars(
            fig,
            "narration",
            [p["span"] for p in group],
            name=f"narration: {kind}",
            color=NARRATION_COLORS[kind],
            customdata=[[p["label"]] for p in group],
            text=[p["label"] for p in group],
            hovertemplate="<b>%{customdata[0]}</b><br>starts %{base:.2f} s, %{x:.2f} s long"
            f" ({kind})<extra></extra>",
        )
    overlap = [iv for p in placed for iv in _intersections(p["span"], speech)]
    _bars(
        fig,
        "narration",
        overlap,
        name="talks over speech",
        color=OVERLAP_COLOR,
        hovertemplate="narration over speech %{base:.2f} s, %{x:.2f} s<extra></extra>",
        width=0.25,
    )
    end = float(cut_plan.duration_s)
    past = [(end, b) for p in placed for b in (p["span"][1],) if end > 0 and b > end + 1e-3]
    if past:
        _bars(
            fig,
            "narration",
            past,
            name="past the cut's end",
            color=PAST_END_COLOR,
            hovertemplate="runs %{x:.2f} s past the end of the cut<extra></extra>",
            width=0.25,
        )
    if end > 0:
        fig.add_vline(x=end, line={"dash": "dot", "width": 1, "color": "#9d9d9d"})
    fig.update_layout(barmode="overlay", bargap=0.2, hovermode="closest")
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=["narration", "speech", "cut", "chapters"],
        showgrid=False,
    )
    fig.update_xaxes(title_text="cut time (s)", rangemode="tozero")
    return _style(fig, height=320)


# -- comments on the cut ------------------------------------------------------------------------
def comment_strip(cut_plan: CutPlan, marks: Sequence[CutMark]) -> go.Figure:
    """Comment threads along the cut: the cut's scenes as a grey bar, each thread a point at
    its time (a range also as a line to its end), red while open, green once resolved.

    Points carry ``[thread id, start on the cut]`` as ``customdata`` (what
    :func:`selected_comment` reads back); trace names ``cut``, ``open``, ``resolved``.
    """
    fig = go.Figure()
    seg_spans: list[tuple[float, float]] = []
    t = 0.0
    for seg in cut_plan.segments:
        seg_spans.append((t, t + seg.duration_s))
        t += seg.duration_s
    _bars(
        fig,
        "cut",
        seg_spans,
        name="cut",
        color=_alternating(MEDIA_COLORS, len(seg_spans)),
        customdata=[[sid] for sid in cut_plan.scene_ids] or None,
        hovertemplate="scene #%{customdata[0]} at %{base:.2f} s on the cut<extra></extra>",
        width=0.35,
    )
    for state in ("open", "resolved"):
        group = [m for m in marks if m.resolved == (state == "resolved")]
        if not group:
            continue
        for m in group:
            if m.end_s > m.start_s:
                fig.add_trace(
                    go.Scatter(
                        x=[m.start_s, m.end_s],
                        y=["comments", "comments"],
                        mode="lines",
                        line={"color": COMMENT_COLORS[state], "width": 6},
                        hoverinfo="skip",
                        showlegend=False,
                    )
                )
        fig.add_trace(
            go.Scatter(
                x=[m.start_s for m in group],
                y=["comments"] * len(group),
                mode="markers",
                name=state,
                marker={"color": COMMENT_COLORS[state], "size": 14, "symbol": "diamond"},
                customdata=[[m.thread_id, m.start_s, _short(m.label), m.replies] for m in group],
                hovertemplate="<b>%{customdata[2]}</b><br>%{customdata[1]:.2f} s on the cut · "
                "%{customdata[3]} replies<extra></extra>",
            )
        )
    end = float(cut_plan.duration_s)
    fig.update_layout(hovermode="closest", clickmode="event+select")
    fig.update_yaxes(categoryorder="array", categoryarray=["cut", "comments"], showgrid=False)
    fig.update_xaxes(title_text="cut time (s)", range=[0, max(end, 1.0)])
    return _style(fig, height=180)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def selected_comment(selection: Mapping[str, Any] | None) -> tuple[int, float] | None:
    """The thread id and cut time of the comment point picked on :func:`comment_strip`."""
    if not selection:
        return None
    sel = selection.get("selection", selection)
    points = sel.get("points", []) if isinstance(sel, Mapping) else []
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, Mapping) else None
        # Comment points carry four items (the cut's scene bars one).
        if isinstance(custom, list | tuple) and len(custom) == 4:
            tid, at = _num(custom[0]), _num(custom[1])
            if tid is not None and at is not None:
                return int(tid), at
    return None


__all__ = [
    "chapter_timeline",
    "comment_strip",
    "confidence_histograms",
    "confidence_timeline",
    "merge_intervals",
    "narration_timeline",
    "selected_comment",
    "selected_scene_ids",
]
