"""faster-whisper's batched pipeline with several batches decoded at once.

On a CPU, CTranslate2 spreads one batch over the cores poorly: beam search over a few
sequences leaves them idle much of the time.
A model loaded with ``num_workers=N`` holds N replicas that run truly in parallel from N Python
threads (CTranslate2 releases the GIL), each on ``cores / N`` threads. This pipeline keeps
faster-whisper's VAD, chunking, features and per-batch decoding (``forward``) unchanged and
only hands the batches to N threads, so the text is the same as one worker's; results are
yielded in order. How much faster it is: ``docs/transcription.md``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from faster_whisper import BatchedInferencePipeline
from faster_whisper.transcribe import Segment, Word


def batch_sizes(n: int, batch_size: int, workers: int) -> list[int]:
    """Split ``n`` chunks into batches of at most ``batch_size``, as many as a multiple of
    ``workers`` and as even as possible, so that no worker waits for the others at the end."""
    if n <= 0:
        return []
    count = -(-n // batch_size)
    count = min(n, -(-count // workers) * workers)
    return [n // count + (1 if i < n % count else 0) for i in range(count)]


class ParallelBatchedPipeline(BatchedInferencePipeline):  # type: ignore[misc]
    """A ``BatchedInferencePipeline`` whose batches run on ``workers`` model replicas at once
    (load the model with ``num_workers=workers``)."""

    def __init__(self, model: Any, workers: int) -> None:
        super().__init__(model)
        self.workers = workers

    def _batched_segments_generator(
        self,
        features: Any,
        tokenizer: Any,
        chunks_metadata: list[dict[str, Any]],
        batch_size: int,
        options: Any,
        log_progress: bool,
    ) -> Iterator[Segment]:
        # Overrides faster-whisper 1.x's private method of this name: the same batches through
        # the same ``forward``, several at a time, yielded as it yields them.
        sizes = batch_sizes(len(features), batch_size, self.workers)
        starts = list(itertools.accumulate([0, *sizes]))

        def run(k: int) -> list[list[dict[str, Any]]]:
            a, b = starts[k], starts[k + 1]
            worker = copy.copy(self)  # ``forward`` keeps per-batch state on the pipeline
            # Where the previous batch's speech ends (for the long-first-word fix-up).
            previous = chunks_metadata[a - 1] if a else None
            worker.last_speech_timestamp = (
                previous["offset"] + previous["duration"] if previous else 0.0
            )
            result: list[list[dict[str, Any]]] = worker.forward(
                features[a:b], tokenizer, chunks_metadata[a:b], options
            )
            return result

        ids = itertools.count(1)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="genesis-whisper") as pool:
            for batch in pool.map(run, range(len(sizes))):
                for chunk in batch:
                    for seg in chunk:
                        yield Segment(
                            seek=seg["seek"],
                            id=next(ids),
                            text=seg["text"],
                            start=round(seg["start"], 3),
                            end=round(seg["end"], 3),
                            words=(
                                [Word(**w) for w in seg["words"]]
                                if options.word_timestamps
                                else None
                            ),
                            tokens=seg["tokens"],
                            avg_logprob=seg["avg_logprob"],
                            no_speech_prob=seg["no_speech_prob"],
                            compression_ratio=seg["compression_ratio"],
                            temperature=options.temperatures[0],
                        )
        self.last_speech_timestamp = 0.0
