"""What a step says while a model actor waits for resources other model actors hold, and the
line it fails with (pure; the Ray cases are in test_ray_idle_actors)."""

from __future__ import annotations

from genesis_pipeline.runs.executor import placement
from genesis_pipeline.runs.executor.placement import Holder


def test_model_actor_names_give_owner_and_kind() -> None:
    assert placement.model_actor("genesis-tests-whisper-0123456789ab-0") == (
        "genesis-tests",
        "whisper",
    )
    # An owner may hold dashes (GENESIS_RAY_OWNER allows them).
    assert placement.model_actor("genesis-studio-1-captions-0123456789ab-12") == (
        "genesis-studio-1",
        "captions",
    )
    for other in (
        "genesis-progress",
        "genesis--whisper-ab-0",
        "x-a-whisper-ab-0",
        "genesis-a-b-c-d",
    ):
        assert placement.model_actor(other) is None, other


def holder(owner: str, kind: str, gpu: float, idle_s: float = 200.0, busy: int = 0) -> Holder:
    return Holder(f"{owner}-{kind}-0123456789ab-0", owner, kind, idle_s, busy, {"GPU": gpu})


def test_a_shortage_is_named_only_when_the_holders_explain_it() -> None:
    need = {"GPU": 0.5, "CPU": 1.0}
    total = {"GPU": 1.0, "CPU": 4.0}
    two = [holder("genesis-a", "whisper", 0.5), holder("genesis-b", "captions", 0.5)]
    assert placement.lacking(need, {"GPU": 0.0, "CPU": 3.0}, total, two) == ["GPU"]
    # One holder: the other half is free of model actors (the asking actor itself is taking
    # it while its process starts): not a wait worth a note.
    assert placement.lacking(need, {"GPU": 0.0, "CPU": 3.0}, total, two[:1]) == []
    assert placement.lacking(need, {"GPU": 0.5, "CPU": 3.0}, total, two) == []
    assert placement.lacking({"GPU": 0.0, "CPU": 1.0}, {"CPU": 0.0}, total, two) == []


def test_the_note_and_the_failure_name_the_owners_their_idle_time_and_the_setting() -> None:
    need = {"GPU": 0.5, "CPU": 1.0}
    holders = [
        holder("genesis-b", "captions", 0.5, busy=1),
        holder("genesis-a", "whisper", 0.5, idle_s=185),
        holder("genesis-a", "captions", 0.0, idle_s=5),  # holds no GPU: not named
    ]
    note = placement.waiting_note("the whisper model actor", need, ["GPU"], holders, 12.4, 900)
    assert note == (
        "waiting for a GPU share for the whisper model actor: held by model actors of "
        "genesis-a (whisper idle 3 min), genesis-b (captions busy) "
        "(12 of 900 s, GENESIS_RAY_PLACE_WAIT_S)"
    )
    reason = placement.gave_up("the whisper model actor", need, ["GPU"], holders, 900)
    assert reason.startswith(
        "the whisper model actor waited 900 s for a GPU share, held by model actors of "
        "genesis-a (whisper idle 3 min), genesis-b (captions busy); "
    )
    assert "GENESIS_RAY_ACTOR_IDLE_S" in reason and "\n" not in reason
    # Nothing the model actors hold explains the wait: the line does not blame them.
    assert placement.gave_up("the captions model actor", need, [], [], 60) == (
        "the captions model actor waited 60 s to be placed; no model actor holds what it asks "
        "for (a GPU share and 1 CPU): other work fills the cluster"
    )
    assert placement.idle_words(42) == "idle 42 s"
    assert placement.share("GPU", 1.0) == "1 GPU" and placement.share("CPU", 2) == "2 CPU"
