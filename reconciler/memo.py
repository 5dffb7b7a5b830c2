"""A bounded memo keyed by a document's canonical JSON text.

Fleets repeat the same few schemas across thousands of agent x environments;
validation and the planner compute per-schema things (meta-schema problems, a
compiled validator) once per distinct text through :class:`JsonMemo`. Used by
``regexguard`` and ``validation``; values must be immutable or never mutated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class JsonMemo(Generic[T]):
    """``get(document, compute)``: ``compute(document)`` once per distinct JSON text (oldest evicted first).

    The loader hands out ONE shared (read-only) object per distinct file text, so the
    same object comes back thousands of times: it is recognised by identity first,
    which saves serialising it on every call. The memo holds the object itself, so
    its ``id`` cannot be reused while the entry lives.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: dict[str, T] = {}
        self._by_id: dict[int, tuple[Any, str]] = {}

    def get(self, document: Any, compute: Callable[[Any], T]) -> T:
        seen = self._by_id.get(id(document))
        if seen is not None and seen[0] is document and seen[1] in self._items:
            return self._items[seen[1]]
        try:
            key = json.dumps(document, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):      # not JSON data: nothing to share
            return compute(document)
        if isinstance(document, (dict, list)):
            if len(self._by_id) >= self._size:
                self._by_id.pop(next(iter(self._by_id)), None)
            self._by_id[id(document)] = (document, key)
        try:
            return self._items[key]
        except KeyError:
            pass
        value = compute(document)
        if len(self._items) >= self._size:
            self._items.pop(next(iter(self._items)), None)
        self._items[key] = value
        return value
