"""The order of the cut: chapters move as blocks, scenes move within their chapter.

A reviewer's moves are keyed like approvals on a scene's ``(media, first frame)`` (a chapter on
its first scene's), so a re-run that keeps the scenes keeps the order. Scenes and chapters
nobody moved keep source order: each follows the one before it in the source. Every move and
reset goes to an undo log (:func:`undo_order_change` takes the newest back). The cut
(:func:`genesis_pipeline.services.cut.load_cut`), and with it the render, the chapters of the
cut and the exports, plays scenes in this order.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from genesis_pipeline.errors import NotFoundError
from genesis_pipeline.services import access
from genesis_pipeline.services.wording import plural
from genesis_pipeline.store import Store
from genesis_pipeline.store import chapters as chapters_sql
from genesis_pipeline.store import cut_order as order_sql
from genesis_pipeline.store import media as media_sql
from genesis_pipeline.store import projects as projects_sql
from genesis_pipeline.store import scenes as scenes_sql
from genesis_pipeline.store.records import (
    ChapterRecord,
    CutOrderActionRecord,
    ReadModel,
    SceneRecord,
)

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

K = TypeVar("K", bound=Hashable)
Key = tuple[int, int]  # (media id, first frame)


@dataclass(frozen=True, slots=True)
class OrderBlock(ReadModel):
    """A chapter in the cut's order with its scenes in order (``chapter_id`` None: scenes no
    chapter holds, as before the first run's chapters step)."""

    chapter_id: int | None
    index: int | None  # the chapter's place in source order (0-based)
    title: str
    scene_ids: tuple[int, ...]
    key: Key  # its first scene in source order: what its position is stored on


@dataclass(frozen=True, slots=True)
class CutOrder(ReadModel):
    """Every scene of the project in the cut's order, by chapter."""

    blocks: tuple[OrderBlock, ...]
    reordered: bool  # a reviewer moved something (Reset order is offered)

    @property
    def scene_ids(self) -> tuple[int, ...]:
        return tuple(s for b in self.blocks for s in b.scene_ids)


def merge_order(natural: Sequence[K], stored: Mapping[K, int]) -> list[K]:
    """``natural`` sorted by the ``stored`` positions; an item without one follows the nearest
    item before it in ``natural`` that has one (items before any stored one come first)."""
    anchor = float("-inf")
    keys = []
    for i, item in enumerate(natural):
        pos = stored.get(item)
        if pos is not None:
            anchor = float(pos)
            keys.append((anchor, 0, i))
        else:
            keys.append((anchor, 1, i))
    return [natural[k[2]] for k in sorted(keys)]


def order_blocks(
    scenes: Sequence[SceneRecord],
    chapters: Sequence[ChapterRecord],
    scene_positions: Mapping[Key, int],
    chapter_positions: Mapping[Key, int],
) -> list[OrderBlock]:
    """Scenes (source order) grouped by chapter, chapters and scenes in the stored order."""
    chapter_of = {sid: ch for ch in chapters for sid in ch.scene_ids}
    groups: list[tuple[ChapterRecord | None, list[SceneRecord]]] = []
    for scene in scenes:
        ch = chapter_of.get(scene.id)
        if groups and groups[-1][0] is ch:
            groups[-1][1].append(scene)
        else:
            groups.append((ch, [scene]))
    blocks = []
    for ch, members in groups:
        keys = {(s.media_id, s.start_frame): s.id for s in members}
        ordered = merge_order(list(keys), scene_positions)
        blocks.append(
            OrderBlock(
                chapter_id=ch.id if ch is not None else None,
                index=ch.idx if ch is not None else None,
                title=ch.title if ch is not None else "Scenes without a chapter",
                scene_ids=tuple(keys[k] for k in ordered),
                key=(members[0].media_id, members[0].start_frame),
            )
        )
    by_key = {b.key: b for b in blocks}
    return [by_key[k] for k in merge_order(list(by_key), chapter_positions)]


def read_order(con: Connection, project_id: int) -> CutOrder:
    """The project's cut order from an open connection (the cut and the moves share it)."""
    return order_from(
        scenes_sql.scenes_for_project(con, project_id),
        chapters_sql.chapters_for_project(con, project_id),
        order_sql.positions(con, project_id, "scene"),
        order_sql.positions(con, project_id, "chapter"),
    )


def order_from(
    scenes: Sequence[SceneRecord],
    chapters: Sequence[ChapterRecord],
    scene_positions: Mapping[Key, int],
    chapter_positions: Mapping[Key, int],
) -> CutOrder:
    blocks = order_blocks(scenes, chapters, scene_positions, chapter_positions)
    natural = tuple(s.id for s in scenes)
    ordered = tuple(s for b in blocks for s in b.scene_ids)
    return CutOrder(tuple(blocks), reordered=ordered != natural)


def cut_order(store: Store, project_id: int) -> CutOrder:
    """The order the cut plays the project's scenes in.

    Raises:
        NotFoundError: no such project.
    """
    with store.db.read() as con:
        projects_sql.get(con, project_id)
        return read_order(con, project_id)


def _moved(items: Sequence[K], item: K, delta: int) -> list[K]:
    i = list(items).index(item)
    j = min(max(i + int(delta), 0), len(items) - 1)
    out = list(items)
    out.insert(j, out.pop(i))
    return out


def _places(before: int, after: int) -> str:
    """ "2 places earlier", "later" (one place)."""
    step = after - before
    way = "earlier" if step < 0 else "later"
    return way if abs(step) == 1 else f"{plural(abs(step), 'place')} {way}"


def move_scene(
    store: Store, project_id: int, scene_id: int, delta: int, *, actor: access.Actor
) -> int:
    """Move a scene ``delta`` places later (negative: earlier) within its chapter in the cut,
    stopping at the chapter's ends; returns its new place in the chapter (0-based).

    Raises:
        NotFoundError: the scene is not in the project.
        PermissionDeniedError: ``actor`` may not review.
    """
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        scenes = {s.id: s for s in scenes_sql.scenes_for_project(con, project_id)}
        scene = scenes.get(int(scene_id))
        if scene is None:
            raise NotFoundError(f"scene {scene_id}: not a scene of project {project_id}")
        order = read_order(con, project_id)
        block = next(b for b in order.blocks if scene.id in b.scene_ids)
        moved = _moved(block.scene_ids, scene.id, delta)
        was, now = block.scene_ids.index(scene.id), moved.index(scene.id)
        if was == now:  # at the chapter's end already: nothing to store or undo
            access.require(actor, "review", "cut.move_scene")
            return now
        access.permit(
            con, actor, "review", "cut.move_scene", project_id,
            {"scene_id": scene.id, "delta": int(delta)},
        )  # fmt: skip
        name = media_sql.get(con, scene.media_id).original_name
        order_sql.record_action(
            con, project_id, "move_scene",
            f"Moved scene {scene.idx + 1} of {name} {_places(was, now)}", actor.label,
        )  # fmt: skip
        order_sql.set_positions(
            con,
            project_id,
            "scene",
            {(scenes[s].media_id, scenes[s].start_frame): i for i, s in enumerate(moved)},
        )
        projects_sql.bump_revision(con, project_id)
    return now


def move_chapter(
    store: Store, project_id: int, chapter_id: int, delta: int, *, actor: access.Actor
) -> int:
    """Move a chapter, with all its scenes, ``delta`` places later (negative: earlier) in the
    cut; returns its new place (0-based).

    Raises:
        NotFoundError: no such chapter in the project.
        PermissionDeniedError: ``actor`` may not review.
    """
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        order = read_order(con, project_id)
        block = next((b for b in order.blocks if b.chapter_id == int(chapter_id)), None)
        if block is None:
            raise NotFoundError(f"chapter {chapter_id}: not a chapter of project {project_id}")
        keys = [b.key for b in order.blocks]
        moved = _moved(keys, block.key, delta)
        was, now = keys.index(block.key), moved.index(block.key)
        if was == now:
            access.require(actor, "review", "cut.move_chapter")
            return now
        access.permit(
            con, actor, "review", "cut.move_chapter", project_id,
            {"chapter_id": int(chapter_id), "delta": int(delta)},
        )  # fmt: skip
        order_sql.record_action(
            con, project_id, "move_chapter",
            f"Moved chapter “{block.title}” {_places(was, now)}", actor.label,
        )  # fmt: skip
        order_sql.set_positions(con, project_id, "chapter", {k: i for i, k in enumerate(moved)})
        projects_sql.bump_revision(con, project_id)
    return now


def reset_order(store: Store, project_id: int, *, actor: access.Actor) -> int:
    """Back to source order (every move forgotten); returns how many stored places went.

    Raises:
        NotFoundError: no such project.
        PermissionDeniedError: ``actor`` may not review.
    """
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        access.permit(con, actor, "review", "cut.reset_order", project_id, {})
        if order_sql.places(con, project_id):
            order_sql.record_action(
                con, project_id, "reset", "Reset the order to the footage's", actor.label
            )
        n = order_sql.clear(con, project_id)
        projects_sql.bump_revision(con, project_id)
    return n


def order_history(store: Store, project_id: int, limit: int = 10) -> list[CutOrderActionRecord]:
    """The project's latest moves and resets of the cut's order, newest first (undone ones
    say so)."""
    with store.db.read() as con:
        return order_sql.list_actions(con, project_id, limit)


def undo_order_change(
    store: Store, project_id: int, *, actor: access.Actor
) -> CutOrderActionRecord:
    """Take back the newest move or reset of the cut's order still standing (the order goes
    back to what it was just before it); returns that action, marked undone.

    Raises:
        NotFoundError: no such project, or nothing left to undo.
        PermissionDeniedError: ``actor`` may not review.
    """
    with store.db.write() as con:
        projects_sql.get(con, project_id)
        access.require(actor, "review", "cut.undo")
        undone = order_sql.undo_last(con, project_id)
        access.permit(
            con, actor, "review", "cut.undo", project_id,
            {"action_id": undone.id, "label": undone.label},
        )  # fmt: skip
        projects_sql.bump_revision(con, project_id)
    return undone
