"""The benchmark's own footage: hard cuts between ffmpeg test sources, espeak-ng speech under it.

Generated once and cached under ``benchmarks/media/`` (git-ignored) with its ground truth beside it
(``<name>.truth.json``: cut times, the spoken text and where each part is spoken). The name
carries every parameter, so a changed recipe makes a new file instead of reusing a stale one.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_pipeline.media.synth import SOURCES, Shot, make_footage, speak

log = logging.getLogger(__name__)

MEDIA_DIR = Path(__file__).resolve().parent / "media"
RECIPE_VERSION = 1

# Plain English without digits (so the reference needs no number normalisation), varied enough
# that the language model cannot coast on repetition within one pass over it.
SENTENCES = (
    "The editor opens the project early in the morning and looks at the raw footage.",
    "Every clip was filmed on the same day, so the light changes slowly from shot to shot.",
    "A good rough cut keeps the story moving and leaves out the moments that drag.",
    "The director wants the interview to start with the question about the harbour.",
    "Scene detection finds every hard cut, and a preview frame shows what each shot holds.",
    "Reviewers can approve a scene with one click or reject it when the take is weak.",
    "The transcript lets the team search for a word instead of scrubbing through hours of video.",
    "When the music comes in, the natural sound should sit quietly underneath the voice.",
    "Chapters group the scenes by topic, so the long recording becomes easy to navigate.",
    "The camera operator kept the frame steady while the boats came into the bay.",
    "Later that afternoon the crew moved inside to record the workshop scenes.",
    "Each speaker is given a name, and the subtitles follow the words as they are spoken.",
    "The producer asks for a shorter version that still explains how the project began.",
    "A render of the approved scenes should take less time than watching them.",
    "Nothing is uploaded to a remote service, because the footage stays on the local machine.",
    "The narration was recorded in a small room with blankets on the walls.",
    "If a scene is too short, it is merged with its neighbour to keep the rhythm calm.",
    "The team checks the colour of the sky in the wide shots before the final export.",
    "Some interviews were filmed twice, and the second take usually sounds more natural.",
    "A careful editor listens for breaths and pauses before deciding where to cut.",
    "The market scenes are busy, with people walking past the stalls and talking loudly.",
    "In the evening the city lights come on and the streets look completely different.",
    "Good sound matters as much as good pictures, and viewers notice when it is missing.",
    "The archive holds many hours of material that nobody has had time to watch.",
    "An automatic first pass saves the team a day of work on every new project.",
    "The reviewer writes a short note explaining why a scene was rejected.",
    "Titles for each chapter can be changed by hand, and the changes are kept.",
    "The voice over explains the history of the village while the camera moves slowly.",
    "Fishermen repair their nets on the pier and talk about the weather.",
    "The old bridge was built from stone that was carried down from the hills.",
    "A drone shot shows the forest from above, with a river winding through the trees.",
    "Children run along the beach while their parents watch from the dunes.",
    "The baker starts work before dawn, and the smell of bread fills the street.",
    "Every decision in the edit should help the audience follow the story.",
    "The final version will be shown at the festival at the end of the summer.",
    "The sound engineer lowers the background noise without making the voice thin.",
    "A good preview image tells the reviewer what happens in the scene at a glance.",
    "The pipeline remembers what it has already done, so a second run is quick.",
    "Changing the chapter rules should feel instant, even for a very long recording.",
    "The workshop is full of tools, and the carpenter explains how each one is used.",
    "Rain started to fall just as the crew packed up the last of the equipment.",
    "The museum opened its doors early so that the team could film the empty halls.",
    "A quiet moment between two lines of dialogue can say more than the words.",
    "The editor trims the start of each shot so that the action begins right away.",
    "The festival audience laughed at the scene with the dog and the umbrella.",
    "Careful notes during filming make the edit much faster a week later.",
    "The farmer walks through the field and points at the hills in the distance.",
    "The train crosses the valley, and the camera follows it from the road.",
    "A clear structure helps the viewer remember what they have seen.",
    "The team agreed to keep the opening shot long and slow.",
)

QUICK = "quick"
STANDARD = "standard"
LONG = "long"


@dataclass(frozen=True, slots=True)
class Recipe:
    """What to generate: length, picture size and rate, mean shot length, and a seed."""

    name: str
    duration_s: float
    size: tuple[int, int]
    fps: int
    mean_shot_s: float
    words_per_minute: int = 150
    seed: int = 7

    @property
    def file_stem(self) -> str:
        w, h = self.size
        return (
            f"{self.name}-{round(self.duration_s)}s-{w}x{h}-{self.fps}fps-"
            f"shot{self.mean_shot_s:g}-seed{self.seed}-v{RECIPE_VERSION}"
        )


RECIPES = {
    # Five minutes of 720p with ~30 hard cuts: the benchmark.
    STANDARD: Recipe(STANDARD, 300.0, (1280, 720), 30, 10.0),
    # The same density of cuts and speech over twenty minutes, for scaling.
    LONG: Recipe(LONG, 1200.0, (1280, 720), 30, 10.0),
    # A few seconds, for the smoke test of the benchmark code itself.
    QUICK: Recipe(QUICK, 8.0, (320, 180), 25, 2.7),
}


@dataclass(frozen=True, slots=True)
class BenchClip:
    """A generated clip and its ground truth."""

    path: Path
    truth_path: Path
    duration_s: float
    fps: int
    width: int
    height: int
    cuts_s: tuple[float, ...]
    script: str

    @classmethod
    def load(cls, truth_path: Path) -> BenchClip:
        d: dict[str, Any] = json.loads(Path(truth_path).read_text())
        return cls(
            # beside its ground truth: the folder may have moved (a copied cache, a new checkout)
            path=Path(truth_path).with_name(Path(d["path"]).name),
            truth_path=Path(truth_path),
            duration_s=float(d["duration_s"]),
            fps=int(d["fps"]),
            width=int(d["width"]),
            height=int(d["height"]),
            cuts_s=tuple(float(c) for c in d["cuts_s"]),
            script=str(d["script"] or ""),
        )


def shot_plan(recipe: Recipe) -> list[Shot]:
    """Shots of varied length (0.6 to 1.4 times the mean) filling the recipe's duration.

    Consecutive shots always come from different sources; no shot is longer than 30 s (the
    mandelbrot source zooms and would drift into false cuts over a minute).
    """
    rng = random.Random(recipe.seed)
    n = max(2, round(recipe.duration_s / recipe.mean_shot_s))
    raw = [rng.uniform(0.6, 1.4) for _ in range(n)]
    scale = recipe.duration_s / sum(raw)
    durations = [min(30.0, r * scale) for r in raw]
    durations[-1] += recipe.duration_s - sum(durations)
    order = list(SOURCES)
    shots = []
    for i, d in enumerate(durations):
        shots.append(Shot(order[i % len(order)], d))
    return shots


def speech_plan(recipe: Recipe, tmp: Path) -> list[tuple[float, str]]:
    """Paragraphs of the script placed one after another, filling the clip with speech.

    Each paragraph (about 20 s) is spoken once here to learn its length, so none overruns the
    clip; a 0.7 s pause separates paragraphs.
    """
    t, k = 0.5, 0
    parts: list[tuple[float, str]] = []
    sentences = list(SENTENCES)
    while True:
        para: list[str] = []
        words = 0
        target_words = recipe.words_per_minute * 20 / 60
        while words < target_words:
            s = sentences[k % len(sentences)]
            k += 1
            para.append(s)
            words += len(s.split())
            if recipe.duration_s < 20:
                break
        text = " ".join(para)
        length = speak(text, tmp / f"p{len(parts)}.wav", words_per_minute=recipe.words_per_minute)
        if t + length > recipe.duration_s - 0.3:
            break
        parts.append((round(t, 3), text))
        t += length + 0.7
    return parts


def ensure_clip(
    recipe: Recipe, media_dir: Path = MEDIA_DIR, *, gop: int | None = None
) -> BenchClip:
    """The clip for ``recipe``, generated on first use and cached in ``media_dir``; with
    ``gop``, the same shots and speech encoded with a keyframe every ``gop`` frames."""
    media_dir.mkdir(parents=True, exist_ok=True)
    stem = recipe.file_stem if gop is None else f"{recipe.file_stem}-gop{gop}"
    video = media_dir / f"{stem}.mp4"
    truth = media_dir / f"{stem}.truth.json"
    if video.is_file() and truth.is_file():
        return BenchClip.load(truth)
    log.info("generating %s (once; cached in %s)", video.name, media_dir)
    with tempfile.TemporaryDirectory(prefix="genesis-bench-") as tmp:
        speech = speech_plan(recipe, Path(tmp))
    footage = make_footage(
        video,
        shot_plan(recipe),
        size=recipe.size,
        fps=recipe.fps,
        script=None,
        more_speech=speech,
        words_per_minute=recipe.words_per_minute,
        gop=gop,
    )
    footage.write_ground_truth(truth)
    return BenchClip.load(truth)
