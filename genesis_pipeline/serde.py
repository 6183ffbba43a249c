"""Dataclasses to JSON and back, one way for the whole package.

Stage results, params and store records are frozen dataclasses; the stage cache, the store's
JSON columns and ``--json`` output need them as plain JSON values. pydantic's
:class:`~pydantic.TypeAdapter` does both directions from the type hints (paths as strings,
tuples as lists, nested dataclasses, datetimes as ISO text), so no class writes its own
``to_json``/``from_json`` pair.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")


@functools.cache
def _cached_adapter(cls: Hashable) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


def _adapter(cls: object) -> Any:
    """One adapter per type (building one compiles a validator: milliseconds)."""
    return _cached_adapter(cast(Hashable, cls))


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
