"""Filter, sort and page the scenes table (pure pandas; the Scenes page calls it on every rerun)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

SORTS = {
    "timeline": (["media_position", "idx"], [True, True]),
    "lowest confidence first": (["min_confidence", "media_position", "idx"], [True, True, True]),
    "highest confidence first": (["min_confidence", "media_position", "idx"], [False, True, True]),
    "cut order": (["cut_position"], [True]),
    "longest first": (["kept_s", "media_position", "idx"], [False, True, True]),
    "shortest first": (["kept_s", "media_position", "idx"], [True, True, True]),
}
STATUS_FILTERS = ("all", "approved", "rejected", "unreviewed")


@dataclass(frozen=True, slots=True)
class ScenePage:
    rows: pd.DataFrame
    page: int  # 0-based, clamped
    pages: int
    matching: int


def min_confidence(df: pd.DataFrame) -> pd.Series:
    """A scene's weakest known confidence (detection, caption, transcript)."""
    cols = ["detection_confidence", "caption_confidence", "transcript_confidence"]
    return df[cols].min(axis=1, skipna=True)


def browse(
    df: pd.DataFrame,
    *,
    status: str = "all",
    text: str = "",
    media_id: int | None = None,
    max_confidence: float | None = None,
    sort: str = "timeline",
    page: int = 0,
    page_size: int = 24,
    ids: list[int] | None = None,
) -> ScenePage:
    """The scenes matching the filters, sorted, one page of them."""
    view = df
    if ids is not None:
        view = view[view.id.isin(ids)]
    if status == "unreviewed":
        view = view[~view.reviewed]
    elif status in ("approved", "rejected"):
        view = view[view.review_status == status]
    if media_id is not None:
        view = view[view.media_id == media_id]
    if text.strip():
        needle = text.strip().lower()
        view = view[view.caption.fillna("").str.lower().str.contains(needle, regex=False)]
    view = view.assign(min_confidence=min_confidence(view).fillna(1.0))
    if max_confidence is not None:
        view = view[view.min_confidence <= max_confidence]
    by, ascending = SORTS.get(sort, SORTS["timeline"])
    view = view.sort_values(by, ascending=ascending, kind="stable")
    matching = len(view)
    pages = max(1, math.ceil(matching / max(1, page_size)))
    page = min(max(0, page), pages - 1)
    rows = view.iloc[page * page_size : (page + 1) * page_size]
    return ScenePage(rows=rows.reset_index(drop=True), page=page, pages=pages, matching=matching)
