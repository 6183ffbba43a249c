"""Which streams of an open container carry a file's pictures and its sound.

The one place that decides it, so the prober, scene detection, the GOP index and the render all
read the same streams: the pictures are the first video stream that is not cover art (an MP3 or
M4A with album art has a one-picture "video" stream marked as an attached picture), the sound is
the first audio stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import av.audio.stream
    import av.container
    import av.video.stream

# AV_DISPOSITION_ATTACHED_PIC: the stream is one still picture (cover art).
_ATTACHED_PIC = 0x400


def is_attached_picture(stream: Any) -> bool:
    """Whether ``stream`` is cover art: a video stream that is one attached still picture."""
    try:
        return bool(int(stream.disposition) & _ATTACHED_PIC)
    except (TypeError, ValueError, AttributeError):
        return False


def picture_streams(container: av.container.InputContainer) -> list[av.video.stream.VideoStream]:
    """The video streams of ``container`` that are moving pictures (cover art left out)."""
    return [s for s in container.streams.video if not is_attached_picture(s)]


def picture_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The stream a file's pictures are read from, or None when it has none."""
    return next(iter(picture_streams(container)), None)


def sound_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The stream a file's sound is read from, or None when it has none."""
    return next(iter(container.streams.audio), None)
