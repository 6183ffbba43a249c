"""The single decode of a file's pictures for scene detection: frames decoded ahead in a worker
thread, each with a small BGR copy for the detector."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesis_pipeline.errors import InvalidMediaError

if TYPE_CHECKING:
    import av.container
    import av.video.frame
    import av.video.stream
    import numpy as np

log = logging.getLogger(__name__)

# Decoded frames waiting for the detector; bounds memory while decoding runs ahead.
_QUEUE_FRAMES = 8
# Nearest-neighbour ("POINT") is a little cheaper but cut scores lose margin; bilinear is
# what PySceneDetect itself uses to downscale.
_DETECT_INTERPOLATION = "FAST_BILINEAR"


Item = tuple["av.video.frame.VideoFrame", "np.ndarray[Any, Any]"]
"""A decoded frame and its small BGR copy for the detector."""


def decode_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    video: Path,
    downscale_width: int,
) -> Generator[Item, None, None]:
    """Decoded frames with their downscaled BGR copy, decoded ahead in a worker thread.

    PyAV releases the GIL while decoding, so decoding overlaps detection. The worker only
    demuxes and decodes; the downscale runs in the consuming thread, beside the detector, which
    waits for frames most of the time (``docs/scenes.md``). Packets that fail to decode are
    skipped (and counted); a demuxing error after some frames ends the file there (warned).

    Raises:
        InvalidMediaError: no frame of the stream can be decoded, or the file cannot be read
            before its first frame.
    """
    import av

    items: queue.Queue[av.video.frame.VideoFrame | BaseException | None] = queue.Queue(
        maxsize=_QUEUE_FRAMES
    )
    stop = threading.Event()
    stats = {"bad_packets": 0, "frames": 0}

    def put(item: av.video.frame.VideoFrame | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as exc:
                    stats["bad_packets"] += 1
                    log.debug("%s: skipped a packet that failed to decode: %s", video, exc)
                    continue
                for frame in frames:
                    stats["frames"] += 1
                    if not put(frame):
                        return
        except av.error.FFmpegError as exc:
            # A demuxing error (truncated container): keep what was decoded.
            put(InvalidMediaError(video, f"cannot be read ({short_reason(exc)})"))
            return
        except BaseException as exc:  # surfaced in the consumer
            put(exc)
            return
        put(None)

    worker = threading.Thread(target=produce, name=f"decode-{video.name}", daemon=True)
    worker.start()
    # One scaler for the whole file: a frame's own (frame.reformat) sets up swscale anew.
    scaler = av.video.reformatter.VideoReformatter()
    size: tuple[int, int] | None = None
    try:
        while True:
            item = items.get()
            if item is None:
                break
            if isinstance(item, InvalidMediaError) and stats["frames"]:
                log.warning("%s: stopped after %d frames: %s", video, stats["frames"], item.reason)
                break
            if isinstance(item, BaseException):
                raise item
            if size is None:
                _warn_single_threaded(stream, video)
                w = min(downscale_width, item.width)
                size = (w, max(2, round(item.height * w / item.width)))
            small = scaler.reformat(
                item,
                width=size[0],
                height=size[1],
                format="bgr24",
                interpolation=_DETECT_INTERPOLATION,
                threads=1,
            ).to_ndarray()
            yield item, small
    finally:
        stop.set()
        worker.join()
    if stats["bad_packets"]:
        log.warning("%s: %d video packets could not be decoded", video, stats["bad_packets"])
    if not stats["frames"]:
        raise InvalidMediaError(video, "has a video stream but no decodable frames")


def decode_threads(stream: av.video.stream.VideoStream) -> int:
    """How many threads FFmpeg decodes ``stream`` with, once its decoder is open (after the
    first frame): its frame or slice threads, 1 when the decoder offers neither (FFmpeg then
    sets the count to 1 instead of failing, so nothing else says so)."""
    return int(stream.codec_context.thread_count)


def _warn_single_threaded(stream: av.video.stream.VideoStream, video: Path) -> None:
    cores = os.cpu_count() or 1
    if cores > 1 and decode_threads(stream) == 1:
        log.warning(
            "%s: its %s video decodes on one thread of %d cores (FFmpeg's decoder for it has no "
            "frame or slice threads): scene detection runs at single-core decode speed",
            video.name,
            stream.codec_context.name,
            cores,
        )


def short_reason(exc: BaseException) -> str:
    """The reason in a PyAV or OS error, without the path it repeats."""
    text = str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__
    return text.split(": '")[0][:160]
