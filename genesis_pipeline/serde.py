"""Dataclasses to JSON and back, one way for the whole package.

Stage results, params and store records are frozen dataclasses; the stage cache, the store's
JSON columns and ``--json`` output need them as plain JSON values. pydantic's
:class:`~pydantic.TypeAdapter` does both directions from the type hints (paths as strings,
tuples as lists, nested dataclasses, datetimes as ISO text), so no class writes its own
``to_json``/``from_json`` pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from pydantic import TypeAdapter

T = TypeVar("T")


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    """One adapter per type (building one compiles a validator: milliseconds)."""
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def to_json(value: Any) -> Any:
    """``value`` (a dataclass, or a list/tuple/dict of them) as JSON-compatible Python values.

    Field order is the dataclass's, so ``json.dumps`` of the result is stable (cache keys rely
    on it).
    """
    return _adapter(type(value)).dump_python(value, mode="json")


def from_json(cls: type[T], data: Any) -> T:
    """Rebuild a ``cls`` from what :func:`to_json` made of one.

    Raises:
        pydantic.ValidationError: ``data`` does not fit ``cls`` (a stage cache entry written
            by another version, say: the cache treats that as a miss).
    """
    return cast(T, _adapter(cls).validate_python(data))
