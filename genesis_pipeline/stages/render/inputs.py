"""Which ffmpeg inputs read the pieces of a re-encode: runs of consecutive pieces of one file.

Inside a run one decoder serves every piece (the stream is split, each piece cut by frame and
sample number); a gap longer than :data:`SEEK_GAP_S`, or a piece that goes back in its file,
starts a new seeked input, so no decoder ever holds frames waiting for a later piece
(``docs/render.md``: memory stays flat for any order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genesis_pipeline.stages.render.plan import Piece, RenderPlan, Source

SEEK_GAP_S = 10.0
"""A gap between two pieces of one file longer than this is skipped by seeking (a new input)
rather than decoded: a seek costs at most one GOP of decoding (x264's default is 250 frames)."""


@dataclass(slots=True)
class InputRun:
    """Consecutive pieces of one file, in increasing frame order: one ffmpeg input, seeked
    where its first piece says
    (:attr:`~genesis_pipeline.stages.render.plan.Piece.seek`)."""

    source: Source
    use_video: bool
    use_audio: bool
    pieces: list[Piece]

    @property
    def seek_s(self) -> float | None:
        seek = self.pieces[0].seek
        return seek[0] if seek is not None else None

    @property
    def origin_frame(self) -> int:
        """Number of the first frame the input gives (frame numbers restart at a seek)."""
        seek = self.pieces[0].seek
        return seek[1] if seek is not None else 0

    def accepts(self, piece: Piece, seek_gap_s: float) -> bool:
        last = self.pieces[-1]
        seg = piece.seg
        gap_s = piece.start_time_s - last.source.frame_time(last.seg.end_frame, last.rate)
        return (
            piece.source.path == self.source.path
            and piece.use_video == self.use_video
            and piece.use_audio == self.use_audio
            and seg.start_frame >= last.seg.end_frame
            and gap_s <= seek_gap_s
        )


def input_runs(
    plan: RenderPlan, seek_gap_s: Callable[[Path], float] | None = None
) -> list[InputRun]:
    """Group the pieces that read a file into runs (pieces adjacent in the cut only).

    Args:
        plan: the pieces.
        seek_gap_s: per file, the longest gap decoded through rather than skipped by a seek
            (default :data:`SEEK_GAP_S`).
    """
    runs: list[InputRun] = []
    prev: Piece | None = None
    for piece in plan.pieces:
        if not (piece.use_video or piece.use_audio):
            prev = None
            continue
        gap = seek_gap_s(piece.source.path) if seek_gap_s is not None else SEEK_GAP_S
        if runs and prev is not None and runs[-1].accepts(piece, gap):
            runs[-1].pieces.append(piece)
        else:
            runs.append(InputRun(piece.source, piece.use_video, piece.use_audio, [piece]))
        prev = piece
    return runs
