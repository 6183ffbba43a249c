"""NLE timelines of a cut mixing 25, 30, 30000/1001 and 24000/1001 fps footage and a
variable-rate clip: every format read back (OTIO's readers; the EDL by a CMX 3600 event-line
parser of our own; FCPXML also by its structure) against the render plan, frame for frame; and
the round trip: remove two clips, import, exactly those two scenes rejected (only on apply)."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree as ET

import opentimelineio as otio
import pytest
from support.actors import ADMIN
from support.framecode import CodedClip, alternating_times, cfr_times, write_clip

from genesis_pipeline.config import Settings
from genesis_pipeline.runs.options import RunOptions
from genesis_pipeline.runs.pipeline import ProjectPipelineService
from genesis_pipeline.services.cut import load_cut
from genesis_pipeline.services.exports import build_export, import_timeline
from genesis_pipeline.services.narration import add_voiceover
from genesis_pipeline.services.projects import create_project
from genesis_pipeline.services.upload import add_media
from genesis_pipeline.stages.render.plan import plan_cut
from genesis_pipeline.store import Store

pytestmark = pytest.mark.slow

RATES = {
    "c25": Fraction(25),
    "c30": Fraction(30),
    "c2997": Fraction(30000, 1001),
    "c23976": Fraction(24000, 1001),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("rates")
    clips: list[CodedClip] = [
        write_clip(d / f"{name}.mp4", *cfr_times(round(2 * rate), rate), clip=i + 1, rate=rate)
        for i, (name, rate) in enumerate(RATES.items())
    ]
    clips.append(write_clip(d / "vfr.mp4", *alternating_times(40), clip=5, bframes=False))
    from genesis_pipeline.media.synth import speak

    vo = d / "vo.wav"
    speak("Narration over the cut.", vo)
    store = Store(Settings(home=d / "home", offline="1"))
    pid = create_project(store, "Rates", actor=ADMIN).id
    add_media(store, pid, [c.path for c in clips], actor=ADMIN)
    add_voiceover(store, pid, vo, offset_s=1.25, gain=0.5, actor=ADMIN)
    report = ProjectPipelineService(store).run(pid, RunOptions(render=False))
    assert report.status == "succeeded", report.error
    return store, pid, d


def plan_of(store: Store, pid: int):
    cut = load_cut(store, pid)
    plan = plan_cut(list(cut.segments))
    return cut, plan


def export(store: Store, pid: int, fmt: str, d: Path) -> Path:
    suffix = {"otio": ".otio", "fcpxml": ".fcpxml", "fcp7": ".xml", "edl": ".edl"}[fmt]
    out = d / f"cut{suffix}"
    build_export(store, pid, fmt, out=out)
    return out


def picture_clips(tl: otio.schema.Timeline) -> list[otio.schema.Clip]:
    return [c for t in tl.video_tracks() for c in t.find_clips()]


def expected_source(piece) -> tuple[int, int, Fraction]:
    """(first frame, frames, rate) the timeline must give a piece's source."""
    clock = piece.source.clock
    rate = clock.nominal_rate
    if clock.is_constant:
        return piece.seg.start_frame, piece.seg.frames, rate
    a = round(clock.time(piece.seg.start_frame) * rate)
    b = round(clock.time(piece.seg.end_frame) * rate)
    return a, b - a, rate


@pytest.mark.parametrize("fmt", ["otio", "fcp7"])
def test_timeline_reads_back_frame_exact(project, fmt: str) -> None:
    store, pid, d = project
    cut, plan = plan_of(store, pid)
    tl = otio.adapters.read_from_file(str(export(store, pid, fmt, d / fmt)))
    clips = picture_clips(tl)
    assert len(clips) == len(plan.pieces) >= 5
    for clip, piece in zip(clips, plan.pieces, strict=True):
        start, frames, rate = expected_source(piece)
        url = clip.media_reference.target_url
        assert url == Path(piece.seg.media_path).resolve().as_uri(), url
        r = clip.source_range
        # FCP 7 XML says 29.97 as timebase 30 + NTSC: its reader calls that rate 29.97.
        assert r.start_time.rate == pytest.approx(float(rate), abs=0.01)
        assert r.start_time.value == start, (piece.seg.media_path.name, r)
        if fmt == "otio" or rate == plan.rate:
            assert r.duration.value == frames, (piece.seg.media_path.name, r)
    # Rational rates kept exact (the double nearest the fraction, as OTIO stores rates).
    if fmt == "otio":
        rates = {round(c.source_range.start_time.rate, 9) for c in clips}
        assert round(30000 / 1001, 9) in rates and round(24000 / 1001, 9) in rates
        meta = clips[0].metadata["genesis"]
        assert {"scene_id", "start_frame", "end_frame", "caption", "cut_confidence"} <= set(meta)
    # Chapters as markers with their titles; the narration on its own track with its gain.
    markers = [m.name for c in clips for m in c.markers]
    assert markers == [ch.title for ch in cut.chapters], markers
    narration = [t for t in tl.audio_tracks() if list(t.find_clips()) and
                 any(c.name == "vo.wav" for c in t.find_clips())]  # fmt: skip
    assert narration, [t.name for t in tl.audio_tracks()]
    vo = next(c for c in narration[0].find_clips() if c.name == "vo.wav")
    at = vo.range_in_parent().start_time
    assert at.to_seconds() == pytest.approx(1.25, abs=0.5 / float(plan.rate))
    if fmt == "otio":
        assert vo.metadata["genesis"]["gain"] == pytest.approx(0.5)


TC = re.compile(r"(\d\d):(\d\d):(\d\d)[:;](\d\d)")
EVENT = re.compile(
    r"^(\d{3})\s+(\S+)\s+(V|A|AA|B|A2|AA/V)\s+(C|D|W\d{3})\s+(?:\d{3}\s+)?"
    r"(\S+) (\S+) (\S+) (\S+)\s*$"
)


def tc_frames(tc: str, fps: int, drop: bool) -> int:
    """CMX 3600 timecode to a frame count (drop-frame: two numbers skipped each minute but
    every tenth, at 30 fps nominal)."""
    m = TC.fullmatch(tc)
    assert m, tc
    h, mi, s, f = map(int, m.groups())
    frames = ((h * 60 + mi) * 60 + s) * fps + f
    if drop:
        minutes = h * 60 + mi
        frames -= 2 * (minutes - minutes // 10)
    return frames


def parse_edl(text: str) -> tuple[str, list[dict]]:
    """Title, FCM and the event lines of a CMX 3600 EDL, each checked against the format."""
    lines = text.splitlines()
    assert lines[0].startswith("TITLE: ")
    assert lines[1] in ("FCM: DROP FRAME", "FCM: NON-DROP FRAME")
    events = []
    for line in lines[2:]:
        if not line.strip() or line.startswith("*"):
            continue
        m = EVENT.match(line)
        assert m, f"not a CMX 3600 event line: {line!r}"
        num, reel, track, kind, *tcs = m.groups()
        assert len(reel) <= 8
        events.append({"num": int(num), "reel": reel, "track": track, "kind": kind, "tc": tcs})
    return lines[1], events


def test_edl_events_match_the_render_plan(project) -> None:
    store, pid, d = project
    _cut, plan = plan_of(store, pid)
    text = export(store, pid, "edl", d / "edl").read_text()
    fcm, events = parse_edl(text)
    drop = fcm == "FCM: DROP FRAME"
    assert drop == (plan.rate == Fraction(30000, 1001))
    fps = round(plan.rate)
    assert [e["num"] for e in events] == list(range(1, len(plan.pieces) + 1))
    record = 0
    for e, piece in zip(events, plan.pieces, strict=True):
        src_in, src_out, rec_in, rec_out = (tc_frames(t, fps, drop) for t in e["tc"])
        assert e["track"] == "V" and e["kind"] == "C"
        # Records follow each other by the render plan's frames, exactly.
        assert (rec_in, rec_out) == (record, record + piece.frames_out), e
        start, _frames, rate = expected_source(piece)
        # Sources in the EDL's one rate: at the timeline's rate frame for frame, other
        # rates at the nearest frame of theirs.
        want = start if rate == plan.rate else round(start / rate * plan.rate)
        assert src_in == want, (e, piece.seg.media_path.name)
        assert src_out - src_in == piece.frames_out
        record += piece.frames_out
    assert record == plan.frames
    tl = otio.adapters.read_from_string(text, adapter_name="cmx_3600", rate=float(plan.rate))
    assert len(picture_clips(tl)) == len(plan.pieces)


def find(el: ET.Element, path: str) -> ET.Element:
    found = el.find(path)
    assert found is not None, path
    return found


def fcpx_time(value: str | None) -> Fraction:
    m = re.fullmatch(r"(\d+)(?:/(\d+))?s", value or "")
    assert m, value
    return Fraction(int(m.group(1)), int(m.group(2) or 1))


def test_fcpxml_structure_and_times_are_exact(project) -> None:
    store, pid, d = project
    cut, plan = plan_of(store, pid)
    path = export(store, pid, "fcpxml", d / "fcpxml")
    root = ET.parse(path).getroot()
    assert root.tag == "fcpxml" and root.get("version") == "1.8"
    assert [c.tag for c in root] == ["resources", "library"]
    resources = find(root, "resources")
    formats = {f.get("id"): fcpx_time(f.get("frameDuration")) for f in resources.iter("format")}
    assets = {a.get("id"): a for a in resources.iter("asset")}
    seq = find(root, "library/event/project/sequence")
    assert formats[seq.get("format")] == 1 / plan.rate
    spine = find(seq, "spine")
    clips = spine.findall("asset-clip")
    assert len(clips) == len(plan.pieces)
    offset = Fraction(0)
    for el, piece in zip(clips, plan.pieces, strict=True):
        start, _frames, rate = expected_source(piece)
        asset = assets[el.get("ref")]
        assert asset.get("src") == Path(piece.seg.media_path).resolve().as_uri()
        assert formats[el.get("format")] == 1 / rate  # 1001/30000s, 1001/24000s exactly
        assert fcpx_time(el.get("start")) == start / rate
        assert fcpx_time(el.get("offset")) == offset
        assert fcpx_time(el.get("duration")) == piece.frames_out / plan.rate
        # DTD order inside a clip: anchored clips, then markers, then metadata last.
        tags = [c.tag for c in el if c.tag != "note"]
        assert tags == sorted(tags, key=["asset-clip", "marker", "metadata"].index), tags
        offset += piece.frames_out / plan.rate
    assert fcpx_time(seq.get("duration")) == offset
    markers = [m.get("value") for m in spine.iter("marker")]
    assert markers == [c.title for c in cut.chapters]
    vo = next(c for c in spine.iter("asset-clip") if c.get("lane") == "-1")
    assert find(vo, "adjust-volume").get("amount") == "-6.02dB"
    # OTIO's own FCP X reader takes it: clips, media, markers, the narration lane.
    tl = otio.adapters.read_from_file(str(path))
    read = [c for c in tl.find_clips() if c.media_reference.target_url.endswith(".mp4")]
    assert [c.media_reference.target_url for c in read] == [
        Path(p.seg.media_path).resolve().as_uri() for p in plan.pieces
    ]
    assert [m.name for c in read for m in c.markers] == markers
    assert any(c.name == "vo.wav" for c in tl.find_clips())
    # Its reader counts whole-number rates exactly (it rounds NTSC rates down to 29 / 23).
    for c, piece in zip(read, plan.pieces, strict=True):
        start, _frames, rate = expected_source(piece)
        if rate.denominator == 1 and piece.source.clock.is_constant:
            assert c.source_range.start_time.value == start


@pytest.mark.parametrize("fmt", ["otio", "fcpxml"])
def test_round_trip_removing_two_clips_rejects_exactly_those_scenes(project, fmt: str) -> None:
    store, pid, d = project
    cut = load_cut(store, pid)
    out = export(store, pid, fmt, d / f"rt-{fmt}")
    edited = out.with_name(f"edited{out.suffix}")
    if fmt == "otio":
        tl = otio.adapters.read_from_file(str(out))
        track = tl.video_tracks()[0]
        del track[3]
        del track[1]
        otio.adapters.write_to_file(tl, str(edited))
    else:
        root = ET.parse(out)
        spine = find(root.getroot(), "library/event/project/sequence/spine")
        clips = spine.findall("asset-clip")
        for i in (3, 1):
            spine.remove(clips[i])
        root.write(edited, encoding="unicode")
    removed = {cut.scene_ids[1], cut.scene_ids[3]}
    before = load_cut(store, pid).scene_ids
    report = import_timeline(store, pid, edited, actor=ADMIN)
    assert {c.scene_id for c in report.reject} == removed
    assert not report.approve and not report.unmapped and not report.reordered
    assert load_cut(store, pid).scene_ids == before  # nothing changes until applied
    applied = import_timeline(store, pid, edited, apply=True, actor=ADMIN)
    assert applied.applied
    assert set(load_cut(store, pid).scene_ids) == set(before) - removed
    # Back to every scene approved for the next test.
    from genesis_pipeline.services.review import reset_reviews

    reset_reviews(store, pid, actor=ADMIN)


def test_comment_threads_are_markers_where_they_fall_on_the_cut(project) -> None:
    from genesis_pipeline.services import comments
    from genesis_pipeline.services.access import Actor

    store, pid, d = project
    ana = Actor("user", "ana", "reviewer")
    cut, plan = plan_of(store, pid)
    scene = cut.scene_ids[2]
    seg = cut.segments[2]
    on_scene = comments.add_comment(
        store, pid, "flash frame", actor=ana, scene_id=scene, start_s=seg.start_s + 0.3
    )
    ranged = comments.add_comment(store, pid, "music up", actor=ana, start_s=3.0, end_s=4.0)
    scene_at = sum(s.duration_s for s in cut.segments[:2]) + 0.3
    tl = otio.adapters.read_from_file(str(export(store, pid, "otio", d / "comments")))
    found = {}
    for clip in picture_clips(tl):
        for m in clip.markers:
            meta = m.metadata["genesis"]
            if "comment" not in meta:
                continue
            # Where the marker sits on the cut: the clip's place plus its offset in the clip.
            offset = m.marked_range.start_time - clip.source_range.start_time
            at = clip.range_in_parent().start_time.to_seconds() + offset.to_seconds()
            found[meta["comment"]] = (m.name, m.color, at, m.marked_range.duration.to_seconds())
    frame = 1 / float(plan.rate)
    assert found[on_scene.id][:2] == ("ana: flash frame", otio.schema.MarkerColor.RED)
    assert found[on_scene.id][2] == pytest.approx(scene_at, abs=frame)
    assert found[ranged.id][2] == pytest.approx(3.0, abs=frame)
    assert found[ranged.id][3] == pytest.approx(1.0, abs=frame)
    # FCPXML: to-do markers, done once resolved; the export's cache follows the comments.
    comments.resolve_thread(store, pid, ranged.id, actor=ana)
    root = ET.parse(export(store, pid, "fcpxml", d / "comments-fcpxml")).getroot()
    marks = {m.get("value"): m.get("completed") for m in root.iter("marker")}
    assert marks["ana: flash frame"] == "0" and marks["ana: music up"] == "1"
    tl = otio.adapters.read_from_file(str(export(store, pid, "otio", d / "comments-2")))
    colors = {m.name: m.color for c in picture_clips(tl) for m in c.markers}
    assert colors["ana: music up"] == otio.schema.MarkerColor.GREEN
