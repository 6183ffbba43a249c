"""Final Cut Pro X XML (FCPXML 1.8) of the cut, written directly.

OTIO's FCP X adapter looks frame rates up in a table keyed by their integer part, so it cannot
write 30000/1001 or 24000/1001 footage (and rounds times through floats); this writer keeps
every time an exact fraction. The document is what the adapter reads back (asset ``src``
attributes, spine ``asset-clip``s, connected clips on lanes, ``marker``s):

* a ``format`` per frame rate (``frameDuration`` the exact inverse of the rate) and an
  ``asset`` per media file (its ``src`` the URL), in ``resources``;
* one ``asset-clip`` per kept scene in the project's ``spine``, placed where the render plan
  puts it (``offset`` and ``duration`` on the sequence's frame grid) and reading its source
  from ``start`` in the source's own time; chapter ``marker``s inside the clip a chapter starts
  in, and each comment thread as a to-do ``marker`` (``completed`` once resolved) where its
  time falls; the scene's facts as ``metadata``;
* each voiceover as an audio clip connected below (``lane="-1"``) to the scene it starts over,
  with its gain as ``adjust-volume``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from genesis_pipeline.stages.exports.timeline import META, CutTimeline, SceneClip

if TYPE_CHECKING:
    import opentimelineio as otio

VERSION = "1.8"

_Placed = tuple[ET.Element, Fraction, Fraction, Fraction]  # clip, offset, start, duration


def seconds(value: Fraction) -> str:
    """An FCPXML time: ``n/ds`` (or ``ns``), exact."""
    value = Fraction(value)
    if value == 0:
        return "0s"
    if value.denominator == 1:
        return f"{value.numerator}s"
    return f"{value.numerator}/{value.denominator}s"


def frame_duration(rate: Fraction) -> str:
    return seconds(1 / Fraction(rate))


def write_fcpxml(cut: CutTimeline) -> str:
    """The FCPXML document of ``cut``; each clip lasts its ``record_frames`` frames of the
    sequence (the render plan's frames for it)."""
    record_frames = [c.record_frames for c in cut.clips]
    width, height = cut.width, cut.height
    root = ET.Element("fcpxml", version=VERSION)
    resources = ET.SubElement(root, "resources")
    formats: dict[Fraction, str] = {}
    assets: dict[str, str] = {}
    ids = iter(f"r{i}" for i in range(1, 1_000_000))

    def fmt(rate: Fraction, w: int | None = None, h: int | None = None) -> str:
        if rate not in formats:
            formats[rate] = next(ids)
            attrs = {"id": formats[rate], "frameDuration": frame_duration(rate)}
            if w and h:
                attrs |= {"width": str(w), "height": str(h)}
            ET.SubElement(resources, "format", attrs)
        return formats[rate]

    seq_rate = Fraction(cut.rate)
    seq_format = fmt(seq_rate, width, height)

    def asset(url: str, name: str, *, rate: Fraction | None, frames: int | None,
              video: bool, audio: bool, duration_s: float | None = None) -> str:  # fmt: skip
        if url not in assets:
            assets[url] = next(ids)
            length = Fraction(frames) / rate if rate and frames else Fraction(duration_s or 0)
            attrs = {
                "id": assets[url],
                "name": name,
                "src": url,
                "start": "0s",
                "duration": seconds(length),
                "hasVideo": "1" if video else "0",
                "hasAudio": "1" if audio else "0",
            }
            if rate is not None:
                attrs["format"] = fmt(rate)
            if audio:
                attrs |= {"audioSources": "1", "audioChannels": "2", "audioRate": "48000"}
            ET.SubElement(resources, "asset", attrs)
        return assets[url]

    library = ET.SubElement(root, "library")
    event = ET.SubElement(library, "event", name="Genesis")
    project = ET.SubElement(event, "project", name=cut.name)
    total = sum(record_frames)
    sequence = ET.SubElement(
        project,
        "sequence",
        format=seq_format,
        duration=seconds(Fraction(total) / seq_rate),
        tcStart="0s",
        tcFormat="NDF",
        audioLayout="stereo",
        audioRate="48k",
    )
    spine = ET.SubElement(sequence, "spine")
    placed: list[_Placed] = []
    at = 0
    for c, frames in zip(cut.clips, record_frames, strict=True):
        rate = Fraction(c.rate)
        ref = asset(c.url, c.media_name, rate=rate, frames=c.media_frames, video=True,
                    audio=c.has_audio)  # fmt: skip
        offset = Fraction(at) / seq_rate
        start = Fraction(c.source_start) / rate
        duration = Fraction(frames) / seq_rate
        clip = ET.SubElement(
            spine,
            "asset-clip",
            ref=ref,
            name=c.name,
            offset=seconds(offset),
            start=seconds(start),
            duration=seconds(duration),
            format=fmt(rate),
            tcFormat="NDF",
        )
        if c.caption:
            ET.SubElement(clip, "note").text = c.caption
        placed.append((clip, offset, start, duration))
        at += frames
    _connect_narration(cut, placed, seq_rate, asset)
    for clip, offset, start, duration in placed:
        for ch in cut.chapters:
            at_s = Fraction(ch.start_s)
            # Chapter starts are scene starts: the marker sits on the clip's first frame.
            if (
                offset - Fraction(1, 2) / seq_rate
                <= at_s
                < offset + duration - Fraction(1, 2) / seq_rate
            ):
                delta = Fraction(math.floor((at_s - offset) * seq_rate + Fraction(1, 2))) / seq_rate
                length = Fraction(max(1, round(ch.duration_s * seq_rate))) / seq_rate
                ET.SubElement(
                    clip, "marker", start=seconds(start + delta), duration=seconds(length),
                    value=ch.title,
                )  # fmt: skip
        for cm in cut.comments:
            # A comment thread is a to-do marker (done once resolved) where its time falls.
            at_s = Fraction(cm.start_s)
            if offset <= at_s < offset + duration or (
                at_s >= offset + duration and clip is placed[-1][0]
            ):
                delta = Fraction(math.floor((at_s - offset) * seq_rate)) / seq_rate
                delta = min(delta, duration - 1 / seq_rate)
                length = Fraction(max(1, round((cm.end_s - cm.start_s) * seq_rate))) / seq_rate
                ET.SubElement(
                    clip, "marker", start=seconds(start + delta), duration=seconds(length),
                    value=cm.name, completed="1" if cm.resolved else "0",
                )  # fmt: skip
    for (clip, *_), c in zip(placed, cut.clips, strict=True):
        _metadata(clip, c)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{body}\n'


def _connect_narration(
    cut: CutTimeline, placed: Sequence[_Placed], seq_rate: Fraction, asset: Callable[..., str]
) -> None:
    """Each voiceover connected below the spine clip it starts over (its offset in that
    clip's own time)."""
    for item in cut.narration:
        frames_at = math.floor(Fraction(item.offset_s) * seq_rate + Fraction(1, 2))
        at = Fraction(frames_at) / seq_rate
        length = (
            Fraction(
                math.floor(Fraction(item.offset_s + item.duration_s) * seq_rate + Fraction(1, 2))
                - frames_at
            )
            / seq_rate
        )
        if length <= 0 or not placed:
            continue
        host = next((p for p in reversed(placed) if p[1] <= at), placed[0])
        clip, offset, start, _ = host
        ref = asset(item.url, item.name, rate=None, frames=None, video=False, audio=True,
                    duration_s=item.duration_s)  # fmt: skip
        vo = ET.SubElement(
            clip,
            "asset-clip",
            ref=ref,
            lane="-1",
            name=item.name,
            offset=seconds(start + at - offset),
            start="0s",
            duration=seconds(length),
            audioRole="dialogue",
        )
        db = 20 * math.log10(item.gain) if item.gain > 0 else -96.0
        ET.SubElement(vo, "adjust-volume", amount=f"{db:.2f}dB")


def _metadata(clip: ET.Element, c: SceneClip) -> None:
    meta = ET.SubElement(clip, "metadata")
    facts = {
        "scene_id": c.scene_id,
        "media_id": c.media_id,
        "start_frame": c.start_frame,
        "end_frame": c.end_frame,
        "caption": c.caption,
        "caption_confidence": c.caption_confidence,
        "cut_confidence": c.cut_confidence,
        "transcript_confidence": c.transcript_confidence,
    }
    for key, value in facts.items():
        if value is not None:
            ET.SubElement(meta, "md", key=f"com.genesis.{key}", value=str(value))


def _time(value: str | None) -> Fraction:
    """An FCPXML time (``n/ds``, ``ns``) as an exact fraction of a second."""
    if not value:
        return Fraction(0)
    text = value.removesuffix("s")
    num, _, den = text.partition("/")
    return Fraction(int(num), int(den or 1)) if num.lstrip("-").isdigit() else Fraction(text)


def read_fcpxml(text: str) -> otio.schema.Timeline:
    """The picture clips of an FCPXML document's first project spine as an OTIO timeline, with
    exact times (OTIO's FCP X reader rounds NTSC rates down to whole numbers): each clip's
    source range at its format's rate, its ``src`` as the media URL, its markers, and the
    scene id Genesis wrote in its metadata.

    Raises:
        ValueError: the document has no project with a spine.
    """
    import opentimelineio as otio

    root = ET.fromstring(text)
    formats = {
        f.get("id"): 1 / _time(f.get("frameDuration"))
        for f in root.iter("format")
        if f.get("frameDuration")
    }
    assets = {a.get("id"): a for a in root.iter("asset")}
    spine = root.find(".//project/sequence/spine")
    if spine is None:
        raise ValueError("no project sequence with a spine")
    seq = root.find(".//project/sequence")
    name = root.find(".//project")
    seq_rate = formats.get(seq.get("format") if seq is not None else None, Fraction(25))
    timeline = otio.schema.Timeline(name=(name.get("name") if name is not None else "") or "")
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    for el in spine:
        if el.tag == "gap":
            frames = float(_time(el.get("duration")) * seq_rate)
            gap = tr(rt(0, float(seq_rate)), rt(frames, float(seq_rate)))
            track.append(otio.schema.Gap(source_range=gap))
            continue
        if el.tag not in ("asset-clip", "clip", "ref-clip"):
            continue
        asset = assets.get(el.get("ref"))
        rate = formats.get(el.get("format") or (asset.get("format") if asset is not None else None))
        rate = rate or seq_rate
        r = float(rate)
        start = float(_time(el.get("start")) * rate)
        duration = float(_time(el.get("duration")) * rate)
        ref = (
            otio.schema.ExternalReference(target_url=asset.get("src"))
            if asset is not None and asset.get("src")
            else otio.schema.MissingReference()
        )
        meta = {
            md.get("key", "").removeprefix("com.genesis."): md.get("value", "")
            for md in el.findall("metadata/md")
            if md.get("key", "").startswith("com.genesis.")
        }
        clip = otio.schema.Clip(
            name=el.get("name") or "",
            media_reference=ref,
            source_range=tr(rt(start, r), rt(duration, r)),
            metadata={META: {"scene_id": int(meta["scene_id"])}}
            if meta.get("scene_id", "").isdigit()
            else {},
        )
        for m in el.findall("marker"):
            clip.markers.append(
                otio.schema.Marker(
                    name=m.get("value") or "",
                    marked_range=tr(rt(float(_time(m.get("start")) * rate), r),
                                    rt(float(_time(m.get("duration")) * rate), r)),
                )
            )  # fmt: skip
        track.append(clip)
    timeline.tracks.append(track)
    return timeline
