"""One module per policy check, each behind the same small interface.

A value check module exposes ``validate_args(args) -> list[str]`` (semantic
problems with the rule's argument, reported by the loader as ``policy.invalid``)
and ``check(ctx: EnvContext) -> Iterable[Violation]``. The engine (not the
checks) turns a :class:`Violation` into a located, masked
:class:`~reconciler.model.Finding`, applies severities and waivers. The change
check ``blast_radius`` works on a Plan instead and exposes ``evaluate``.
"""

from __future__ import annotations

from types import ModuleType

from reconciler.checks.policy.checks import (blast_radius, e164, hygiene, jsonschema_check, parity, pattern,
                                             required_keys)

#: check key (as written in a rule) -> module implementing it.
CHECKS: dict[str, ModuleType] = {
    "pattern": pattern,
    "e164": e164,
    "jsonschema": jsonschema_check,
    "schema_hygiene": hygiene,
    "parity": parity,
    "required_keys": required_keys,
    "blast_radius": blast_radius,
}
