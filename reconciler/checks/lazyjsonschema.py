"""The one way to python-jsonschema: :mod:`reconciler.checks.fullvalidator`, imported when first needed.

jsonschema-rs decides whether a schema or a values file is valid
(:mod:`reconciler.checks.fastcheck`); python-jsonschema is needed only to explain an
error (every error, at its path, in its words), to check a ``format`` the compiled validator
hands back to Python, or for a policy file that breaks its schema. Importing it (with
referencing and attrs) costs about a tenth of a second of start-up that a valid
repository's ``reconciler validate`` never needs, so the modules on that road import this
one instead and call :func:`fullvalidator` when there is something to explain.
"""

from __future__ import annotations

from types import ModuleType


def fullvalidator() -> ModuleType:
    """:mod:`reconciler.checks.fullvalidator` (imported on the first call; the same module after)."""
    from reconciler.checks import fullvalidator as module  # deferred: python-jsonschema, ~0.1 s of start-up
    return module
