"""Why a model actor is not placed yet, in words: what it asks for that the cluster has not free,
and which model actors (of which owners) hold it. Pure: the Ray executor gathers the facts
(the named actors, their :class:`Holder` status, the free resources) and says what this
module words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from genesis_pipeline.runs.executor.base import MODEL_KINDS

#: The setting that bounds the wait.
PLACE_WAIT_SETTING = "GENESIS_RAY_PLACE_WAIT_S"
IDLE_SETTING = "GENESIS_RAY_ACTOR_IDLE_S"


@dataclass(frozen=True, slots=True)
class Holder:
    """A live model actor: its name, owner (``genesis-<owner>``), model kind, seconds since
    its last call, calls in flight and the resources it holds."""

    name: str
    owner: str
    kind: str
    idle_s: float
    busy: int
    resources: Mapping[str, float]


def model_actor(name: str) -> tuple[str, str] | None:
    """``(genesis-<owner>, kind)`` for a model actor's name (``genesis-<owner>-<kind>-<tag>-<i>``,
    the owner may hold dashes), None for any other name."""
    parts = name.rsplit("-", 3)
    if len(parts) != 4:
        return None
    head, kind, tag, index = parts
    if not head.startswith("genesis-") or head == "genesis-" or kind not in MODEL_KINDS:
        return None
    if not tag or not index.isdigit():
        return None
    return head, kind


def lacking(
    need: Mapping[str, float],
    available: Mapping[str, float],
    total: Mapping[str, float],
    holders: Sequence[Holder],
) -> list[str]:
    """The resources of ``need`` the cluster has not free (``available``) because ``holders``
    hold them: what is left of the ``total`` beside the holders' shares is less than asked. A
    shortage the holders do not explain (the asking actor itself starting up, CPU tasks) is
    not listed: it passes by itself."""
    short = []
    for kind, amount in need.items():
        if amount <= 0 or available.get(kind, 0.0) >= amount:
            continue
        held = sum(h.resources.get(kind, 0.0) for h in holders)
        if held > 0 and total.get(kind, 0.0) - held < amount:
            short.append(kind)
    return short


def share(kind: str, amount: float) -> str:
    """``a GPU share`` (a fraction), ``1 GPU``, ``2 CPU``."""
    if kind == "GPU" and amount < 1:
        return "a GPU share"
    return f"{amount:g} {kind}"


def idle_words(seconds: float) -> str:
    if seconds < 90:
        return f"idle {seconds:.0f} s"
    return f"idle {seconds / 60:.0f} min"


def held_by(holders: Sequence[Holder], kinds: Sequence[str]) -> str:
    """``model actors of genesis-a (whisper idle 3 min), genesis-b (captions busy)``: the
    holders of any of ``kinds``, grouped by owner."""
    owners: dict[str, list[str]] = {}
    for h in sorted(holders, key=lambda h: (h.owner, h.kind, h.name)):
        if any(h.resources.get(k, 0.0) > 0 for k in kinds):
            doing = "busy" if h.busy else idle_words(h.idle_s)
            owners.setdefault(h.owner, []).append(f"{h.kind} {doing}")
    return "model actors of " + ", ".join(f"{o} ({'; '.join(a)})" for o, a in owners.items())


def waiting_note(
    what: str,
    need: Mapping[str, float],
    kinds: Sequence[str],
    holders: Sequence[Holder],
    waited_s: float,
    wait_s: float,
) -> str:
    """The step's progress note while ``what`` waits for ``kinds`` of ``need``."""
    asked = " and ".join(share(k, need[k]) for k in kinds)
    return (
        f"waiting for {asked} for {what}: held by {held_by(holders, kinds)} "
        f"({waited_s:.0f} of {wait_s:g} s, {PLACE_WAIT_SETTING})"
    )


def gave_up(
    what: str,
    need: Mapping[str, float],
    kinds: Sequence[str],
    holders: Sequence[Holder],
    wait_s: float,
) -> str:
    """The reason a step fails with after waiting ``wait_s`` (one line)."""
    if not kinds:
        asked = " and ".join(share(k, v) for k, v in need.items() if v > 0)
        return (
            f"{what} waited {wait_s:g} s to be placed; no model actor holds what it asks for "
            f"({asked}): other work fills the cluster"
        )
    asked = " and ".join(share(k, need[k]) for k in kinds)
    return (
        f"{what} waited {wait_s:g} s for {asked}, held by {held_by(holders, kinds)}; each "
        f"ends after its owner's {IDLE_SETTING} without calls, or stop those apps' runs"
    )
