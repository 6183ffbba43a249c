"""Timeline files: the OTIO timeline written and read in the formats NLEs import, through
OpenTimelineIO's adapters (``otio_json`` built in; FCP X XML, FCP 7 XML and CMX 3600 from their
maintained plug-in packages)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from genesis_pipeline.errors import InvalidMediaError, InvalidSettingError
from genesis_pipeline.stages.exports.fcpxml import read_fcpxml, write_fcpxml
from genesis_pipeline.stages.exports.timeline import (
    VIDEO_TRACK,
    CutTimeline,
    SceneClip,
    build_timeline,
    otio_rate,
)

if TYPE_CHECKING:
    import opentimelineio as otio


@dataclass(frozen=True, slots=True)
class TimelineFormat:
    """A timeline file format: the OTIO adapter that writes it, its file suffix, and who reads
    it."""

    name: str
    adapter: str
    suffix: str
    label: str


TIMELINE_FORMATS: dict[str, TimelineFormat] = {
    f.name: f
    for f in (
        TimelineFormat("otio", "otio_json", ".otio", "OpenTimelineIO (DaVinci Resolve 18.5+)"),
        TimelineFormat("fcpxml", "fcpx_xml", ".fcpxml", "Final Cut Pro X XML"),
        TimelineFormat("fcp7", "fcp_xml", ".xml", "Premiere Pro / Final Cut Pro 7 XML"),
        TimelineFormat("edl", "cmx_3600", ".edl", "CMX 3600 EDL (picture, one rate)"),
    )
}
"""The timeline formats by name (``genesis export --format``)."""


def write_timeline(cut: CutTimeline, fmt: str) -> str:
    """``cut`` as the text of timeline format ``fmt``.

    FCP X XML comes from :mod:`.fcpxml` (exact rational times); the others from the OTIO
    timeline through OTIO's adapters. An EDL holds one picture track at one rate: it gets the
    pictures only, each clip at another rate expressed in the timeline's rate (its source in
    at the nearest frame, its length the frames the render gives it), as CMX 3600 knows no
    other.

    Raises:
        InvalidSettingError: an unknown format.
    """
    import opentimelineio as otio

    spec = timeline_format(fmt)
    if spec.name == "fcpxml":
        return write_fcpxml(cut)
    if spec.name == "edl":
        picture = build_timeline(
            replace(cut, clips=tuple(_at_rate(c, cut.rate) for c in cut.clips))
        )
        for track in list(picture.tracks):
            if track.name != VIDEO_TRACK:
                picture.tracks.remove(track)
        text = str(
            otio.adapters.write_to_string(
                picture, adapter_name=spec.adapter, rate=otio_rate(cut.rate)
            )
        )
        # The adapter leaves out the frame-code mode line; it writes 29.97 and 59.94 as
        # drop-frame timecode.
        drop = Fraction(cut.rate) in (Fraction(30000, 1001), Fraction(60000, 1001))
        title, _, rest = text.partition("\n")
        fcm = "FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME"
        return f"{title}\n{fcm}\n\n{rest.lstrip(chr(10))}"
    return str(otio.adapters.write_to_string(build_timeline(cut), adapter_name=spec.adapter))


def _at_rate(c: SceneClip, rate: Fraction) -> SceneClip:
    """``c`` with its source range in frames of ``rate`` (unchanged at its own rate but for
    its length, the render's frames for it)."""
    if c.rate == rate:
        return replace(c, source_frames=c.record_frames)
    start = math.floor(c.source_start / c.rate * rate + Fraction(1, 2))
    frames = math.floor(c.media_frames / c.rate * rate + Fraction(1, 2))
    return replace(
        c, rate=rate, source_start=start, source_frames=c.record_frames, media_frames=frames
    )


def read_timeline(path: Path, rate: Fraction | None = None) -> otio.schema.Timeline:
    """Read a timeline file of any format in :data:`TIMELINE_FORMATS` (by its suffix).

    Args:
        path: the file.
        rate: the frame rate an EDL is read at (EDLs do not say); None = 24.

    Raises:
        InvalidSettingError: the suffix is not a timeline format.
        InvalidMediaError: the file cannot be read or parsed.
    """
    import opentimelineio as otio

    spec = format_of(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidMediaError(path, f"cannot be read ({exc})") from None
    kwargs = {"rate": otio_rate(rate)} if spec.name == "edl" and rate is not None else {}
    try:
        if spec.name == "fcpxml":
            # Exact times (OTIO's FCP X reader rounds NTSC rates down to whole numbers).
            return read_fcpxml(text)
        result = otio.adapters.read_from_string(text, adapter_name=spec.adapter, **kwargs)
    except Exception as exc:  # adapters raise anything from ValueError to ParseError
        raise InvalidMediaError(path, f"is not a readable {spec.label} file ({exc})") from None
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline))
        if not timelines:
            raise InvalidMediaError(path, "holds no timeline")
        result = timelines[0]
    if not isinstance(result, otio.schema.Timeline):
        raise InvalidMediaError(path, f"holds a {type(result).__name__}, not a timeline")
    return result


def timeline_format(name: str) -> TimelineFormat:
    """Raises: InvalidSettingError: ``name`` is not a timeline format."""
    try:
        return TIMELINE_FORMATS[name]
    except KeyError:
        raise InvalidSettingError(
            "format", f"{name!r} is not one of {', '.join(TIMELINE_FORMATS)}"
        ) from None


def format_of(path: Path) -> TimelineFormat:
    """The timeline format of ``path`` by its suffix.

    Raises:
        InvalidSettingError: the suffix is not one of a timeline format.
    """
    suffix = Path(path).suffix.lower()
    for spec in TIMELINE_FORMATS.values():
        if spec.suffix == suffix:
            return spec
    known = ", ".join(f.suffix for f in TIMELINE_FORMATS.values())
    raise InvalidSettingError(
        str(path), f"{suffix or 'no suffix'} is not a timeline file ({known})"
    )
