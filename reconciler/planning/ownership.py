"""Keys the live side owns: where desired and live meet, live's value wins. Pure.

Called by :mod:`reconciler.planning.planner` for every page it compares, so
``plan``, ``drift``, ``apply`` (and its re-plans) and the daemon's passes all
honour the ``ownership`` rules of ``reconciler.yaml``
(:class:`reconciler.governance.OwnershipRule`). One function,
:func:`take_from_live`, does it: before the comparison, each owned key or
JSON pointer of the desired values is replaced by live's value (or removed
when live has none). So an owned key is never in the PATCH, never in the
diff, never an orphan, and a UI edit of it is never drift nor reverted; the
prediction still validates the page live will hold (owned values included).

``import`` leaves owned keys out of ``values.yaml`` (:func:`without_owned`),
and :mod:`reconciler.checks.ownership` makes a value for an owned key in
``values.yaml`` an error at its line.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from reconciler import governance
from reconciler.model import EnvDesired, JsonPath

_MISSING = object()


def owned_paths(rules: governance.Governance, agent: str, env: Any) -> tuple[tuple[str, JsonPath], ...]:
    """``(as written, path)`` of every key live owns on one page."""
    return tuple((text, governance.parse_pointer(text)) for text in rules.owned_keys(agent, env))


def take_from_live(values: Mapping[str, Any], live: Mapping[str, Any],
                   paths: tuple[tuple[str, JsonPath], ...]) -> Mapping[str, Any]:
    """``values`` with every owned path holding live's value (absent from live: absent here). Never mutates."""
    if not paths:
        return values
    out: dict[str, Any] = dict(values)
    for _, path in paths:
        live_value = get(live, path)
        if len(path) == 1:
            if live_value is _MISSING:
                out.pop(str(path[0]), None)
            else:
                out[str(path[0])] = live_value
            continue
        top = str(path[0])
        if top not in out or get(out, path[:-1]) is _MISSING:
            continue                    # the repository has no parent here: nothing of live's to keep
        out[top] = copy.deepcopy(out[top])
        _set(out, path, live_value)
    return out


def apply(desired: EnvDesired, variables: Mapping[str, Any], rules: governance.Governance
          ) -> tuple[EnvDesired, tuple[str, ...]]:
    """(the page's desired state with live-owned values taken from ``variables``, the owned keys as written)."""
    paths = owned_paths(rules, desired.agent, desired.env)
    if not paths:
        return desired, ()
    owned = tuple(text for text, _ in paths)
    if desired.values is None:
        return desired, owned
    return dataclasses.replace(desired, values=take_from_live(desired.values, variables, paths)), owned


def without_owned(variables: Mapping[str, Any], paths: tuple[tuple[str, JsonPath], ...]
                  ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(``variables`` without the owned paths, the owned paths that were there, as written). For ``import``."""
    return dict(take_from_live(variables, {}, paths)), tuple(t for t, p in paths if get(variables, p) is not _MISSING)


def present(values: Mapping[str, Any], paths: tuple[tuple[str, JsonPath], ...]) -> list[tuple[str, JsonPath]]:
    """The owned paths that ``values`` holds (each is an error in ``values.yaml``)."""
    return [(text, path) for text, path in paths if get(values, path) is not _MISSING]


def get(doc: Any, path: JsonPath) -> Any:
    """The value at ``path`` (digits index arrays, are keys in objects), or the private ``_MISSING``."""
    node = doc
    for part in path:
        if isinstance(node, Mapping) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _set(doc: dict[str, Any], path: JsonPath, value: Any) -> None:
    """Set (or, for ``_MISSING``, delete) ``path`` in ``doc``, whose parent of ``path`` exists (copied)."""
    node: Any = doc
    for part in path[:-1]:
        node = node[str(part)] if isinstance(node, Mapping) else node[part]
    last = path[-1]
    if isinstance(node, list):
        if isinstance(last, int) and 0 <= last < len(node) and value is not _MISSING:
            node[last] = value
        return                          # an array item is never deleted: that would shift the others
    if value is _MISSING:
        node.pop(str(last), None)
    else:
        node[str(last)] = value
