"""ffmpeg filter graphs and command lines, built with ffmpeg-python.

A graph is made of ffmpeg-python streams: :func:`open_input` (a file, ``-ss`` and other input
options), :func:`source` (a filter without input: ``color``, ``anullsrc``), :func:`chain` (a
run of :class:`Filter`\\ s), :func:`split` and :func:`join` (filters with several inputs or
outputs: ``concat``, ``amix``, ``sidechaincompress``); :func:`command` turns the outputs into
ffmpeg's arguments. ffmpeg-python numbers the inputs, labels the links and escapes every
filter argument (``:``, ``=``, quotes and backslashes inside a value, ``,``, ``;`` and brackets
in the graph), so an expression such as ``if(gt(dar,16/9),...)`` is written as it reads.

Where ffmpeg-python falls short, this module fills in (and the rest of the package never
touches ffmpeg-python directly):

* **Every node is its own.** ffmpeg-python takes two nodes with the same content and the same
  inputs for one: two silent pieces of equal length, or two inputs of one file with the same
  seek, would become a single node feeding two consumers, which it refuses (a filter) or which
  makes ffmpeg share one decoder (an input). Nodes made here compare by identity. That also
  makes ffmpeg-python's topological sort, which checks membership in a list, about fifteen
  times cheaper; it is still quadratic in the number of filters (``docs/render.md``: compile
  times for cuts of 100 to 2,000 pieces).
* **Source filters.** ffmpeg-python's filters need an input; :func:`source` makes one without.
* **Long graphs.** ffmpeg-python passes the graph as one argument, and one argument is capped
  at 128 KiB on Linux; :func:`graph_through_file` moves a long one into a file
  (``-/filter_complex``).
* **Pipes.** The smart render's x264 process reads raw frames on its stdin while decoders
  write them: ffmpeg-python builds those command lines, the pipe between them is plain
  ``subprocess`` (:mod:`genesis_pipeline.stages.render.x264`).
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from os import PathLike, fspath
from typing import Any

Stream = Any
"""An ffmpeg-python stream (``ffmpeg.nodes.FilterableStream``; the library has no type hints)."""

GRAPH_FILE_CHARS = 32_000
"""Filter graphs longer than this go through a file: one argv string is capped at 128 KiB on
Linux, and the whole command line at a few times that."""


def fps_fraction(fps: float | Fraction) -> Fraction:
    """A frame rate as an exact fraction: 29.97003 -> 30000/1001, 25.0 -> 25, 12.5 -> 25/2."""
    if isinstance(fps, Fraction):
        return fps
    return Fraction(fps).limit_denominator(1001)


def rate_text(rate: Fraction) -> str:
    """``30000/1001`` or ``25``: the form ffmpeg options and filters accept."""
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


@dataclass(frozen=True, slots=True)
class Filter:
    """One ffmpeg filter: its name, positional arguments and named options (unescaped)."""

    name: str
    args: tuple[object, ...] = ()
    options: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, *args: object, **options: object) -> Filter:
        """``Filter.of("trim", start_frame=3, end_frame=9)``."""
        return cls(name, args, options)


@functools.cache
def _nodes() -> tuple[type[Any], type[Any]]:
    """The node classes: ffmpeg-python is imported when a graph is first built (it costs a
    few tens of milliseconds, which the CLI and a cached re-run need not pay)."""
    from ffmpeg.nodes import FilterableStream, FilterNode, InputNode, Node

    class _FilterNode(FilterNode):  # type: ignore[misc]
        """A filter node that is equal only to itself, and may have no input (a source)."""

        __hash__ = object.__hash__
        __eq__ = object.__eq__

        def __init__(self, streams: Sequence[Stream], f: Filter) -> None:
            Node.__init__(
                self,
                stream_spec=list(streams),
                name=f.name,
                incoming_stream_types={FilterableStream},
                outgoing_stream_type=FilterableStream,
                min_inputs=0,
                max_inputs=None,
                args=list(f.args),
                kwargs=dict(f.options),
            )

    class _InputNode(InputNode):  # type: ignore[misc]
        """An input that is equal only to itself: each is its own ``-i`` and decoder."""

        __hash__ = object.__hash__
        __eq__ = object.__eq__

    return _FilterNode, _InputNode


def _filter_node(streams: Sequence[Stream], f: Filter) -> Any:
    return _nodes()[0](streams, f)


def open_input(filename: str | PathLike[str], **options: object) -> Stream:
    """An input (``-i filename``) with its input options (``ss="1.500000"``,
    ``format="lavfi"``...); select its streams with ``stream(input, "0")`` or ``"a:0"``."""
    kwargs = {**options, "filename": fspath(filename)}
    # "input" is the node name ffmpeg-python's compiler expects of an input.
    return _nodes()[1]("input", kwargs=kwargs).stream()


def stream(media: Stream, spec: str | int) -> Stream:
    """Stream ``spec`` of an input (an index, or ``v:0``, ``a:0``...)."""
    return media[str(spec)]


def source(f: Filter) -> Stream:
    """A source filter (``color``, ``anullsrc``) inside the graph."""
    return _filter_node([], f).stream()


def chain(start: Stream, filters: Sequence[Filter]) -> Stream:
    """``start`` through each filter in turn (none: ``start`` itself)."""
    out = start
    for f in filters:
        out = _filter_node([out], f).stream()
    return out


def split(start: Stream, n: int, *, audio: bool = False) -> list[Stream]:
    """``n`` copies of ``start`` (``split``/``asplit``); ``start`` itself when ``n`` is 1."""
    if n == 1:
        return [start]
    node = _filter_node([start], Filter("asplit" if audio else "split"))
    return [node.stream(label=i) for i in range(n)]


def join(inputs: Sequence[Stream], f: Filter, outputs: int = 1) -> list[Stream]:
    """A filter with several inputs and/or outputs (``concat``, ``amix``,
    ``sidechaincompress``): its output streams, in pad order."""
    node = _filter_node(inputs, f)
    return [node.stream(label=i) for i in range(outputs)]


def command(outputs: Sequence[Stream], target: str | PathLike[str], **options: object) -> list[str]:
    """ffmpeg's arguments (without the binary) that write ``outputs`` to ``target`` with the
    output ``options`` (``{"c:v": "libx264", "format": "mp4", "an": None}``: None is a flag).
    ``-y`` comes first: the caller always writes a temporary or a pipe."""
    import ffmpeg

    if any(_reads_input(s.node) for s in outputs):
        return ["-y", *ffmpeg.get_args(ffmpeg.output(*outputs, fspath(target), **options))]
    # A graph of sources only (the sound of a cut whose pieces are all silent): ffmpeg-python
    # cannot compile it (it folds the input arguments without a start value). It is compiled
    # with a placeholder input mapped last, whose arguments are then taken out again.
    placeholder = open_input("anullsrc", format="lavfi")
    args = ffmpeg.get_args(ffmpeg.output(*outputs, placeholder, fspath(target), **options))
    assert args[:4] == ["-f", "lavfi", "-i", "anullsrc"]
    mapped = len(args) - 1 - args[::-1].index("-map")  # the placeholder's -map, the last one
    return ["-y", *args[4:mapped], *args[mapped + 2 :]]


def _reads_input(node: Any) -> bool:
    """Whether a graph node reads an input file, or a node upstream of it does."""
    from ffmpeg.nodes import InputNode

    seen: set[int] = set()
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, InputNode):
            return True
        if id(n) not in seen:
            seen.add(id(n))
            todo += [e.upstream_node for e in n.incoming_edges]
    return False


def graph_of(args: Sequence[str]) -> str | None:
    """The filter graph in ``args`` (for the debug log), or None."""
    for i, a in enumerate(args[:-1]):
        if a in ("-filter_complex", "-/filter_complex"):
            return args[i + 1]
    return None


def graph_through_file(args: Sequence[str], stack: contextlib.ExitStack) -> list[str]:
    """``args`` with a graph longer than :data:`GRAPH_FILE_CHARS` moved into a temporary file
    (``-/filter_complex file``), removed when ``stack`` closes (after ffmpeg has run)."""
    out = list(args)
    for i, a in enumerate(out[:-1]):
        if a == "-filter_complex" and len(out[i + 1]) > GRAPH_FILE_CHARS:
            script = stack.enter_context(
                tempfile.NamedTemporaryFile("w", prefix="genesis-graph-", suffix=".txt")  # noqa: SIM115
            )
            script.write(out[i + 1])
            script.flush()
            out[i : i + 2] = ["-/filter_complex", script.name]
            break
    return out


def fit_video(width: int, height: int) -> list[Filter]:
    """Scale into ``width``x``height`` keeping the display aspect (sample aspect applied), pad
    the rest with black, and mark pixels square.

    ``dar`` in the scale expressions is the display aspect ratio, so anamorphic sources come out
    with their intended shape; dimensions are rounded to even numbers for 4:2:0 chroma.
    """
    w, h = width, height
    box = f"{w}/{h}"
    return [
        Filter.of(
            "scale",
            w=f"if(gt(dar,{box}),{w},2*trunc({h}*dar/2+0.5))",
            h=f"if(gt(dar,{box}),2*trunc({w}/dar/2+0.5),{h})",
        ),
        Filter.of("pad", w, h, "(ow-iw)/2", "(oh-ih)/2", color="black"),
        Filter.of("setsar", 1),
    ]


def audio_format(
    sample_rate: int,
    channels: int | None = None,
    *,
    align_start: bool = False,
    out_channels: int = 2,
) -> list[Filter]:
    """Resample to ``sample_rate`` float, stereo (or mono when ``out_channels`` is 1).

    Args:
        sample_rate: output rate in Hz.
        channels: the source's channel count; into stereo, mono is copied to both channels at
            unity gain (ffmpeg's default upmix would put it 3 dB lower on each).
        out_channels: 1 only when every source of the mix is mono (nothing to downmix).
        align_start: fill timestamp gaps with silence and pad/trim the head so that sample ``k``
            is at time ``k / sample_rate`` (counting samples then equals reading timestamps).
    """
    resample = (
        Filter.of("aresample", sample_rate, **{"async": 1, "first_pts": 0})
        if align_start
        else Filter.of("aresample", sample_rate)
    )
    if out_channels == 1:
        return [resample, Filter.of("aformat", sample_fmts="fltp", channel_layouts="mono")]
    upmix = [Filter.of("pan", "stereo|c0=c0|c1=c0")] if channels == 1 else []
    return [*upmix, resample, Filter.of("aformat", sample_fmts="fltp", channel_layouts="stereo")]
