"""JSON responses whose times carry their UTC offset.

The store records times as the server's local wall clock without an offset; RFC 3339 (the
OpenAPI ``date-time`` format) needs one. Every ``*_at`` field of a response is such a time, so
here, on the way out, each one gets the server's offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse


def with_offsets(value: Any) -> Any:
    """``value`` with every naive ISO time under a ``*_at`` key given the local offset."""
    if isinstance(value, dict):
        return {
            k: _aware(v) if k.endswith("_at") and isinstance(v, str) else with_offsets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [with_offsets(v) for v in value]
    return value


def _aware(text: str) -> str:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return text
    return text if t.tzinfo is not None else t.astimezone().isoformat()


class TimesJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return super().render(with_offsets(content))
