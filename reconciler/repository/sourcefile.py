"""The durations of ``reconciler.yaml`` (``resync``, ``source.interval``) and of the daemon's flags.

``source:`` (the git repository ``reconciler watch`` follows) is read by its pydantic
model, :class:`reconciler.repository.settingsfile.SourceFile`; the daemon's source
(:mod:`reconciler.daemon.sourcing`) reads the parsed section.
:func:`parse_duration` is the one reader of durations (``resync``,
``source.interval``, ``--resync``, ``--interval``). No pydantic here: the plain
reader of ``reconciler.yaml`` uses it too.
"""

from __future__ import annotations

import re
from typing import Any

#: ``60``, ``60s``, ``5m``, ``1h``, ``1h30m`` …
DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(value: Any, what: str = "resync") -> float:
    """``60`` / ``"60s"`` / ``"5m"`` / ``"1h30m"`` -> seconds (at least 1); ``what`` names it in errors."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a duration such as 60s, 5m or 1h")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = DURATION.match(str(value).strip())
        if not match or not any(match.groups()):
            raise ValueError(f"{what} {value!r} is not a duration such as 60s, 5m or 1h")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds < 1:
        raise ValueError(f"{what} must be at least 1 second")
    return seconds
