"""The ``warnings:`` section of ``reconciler.yaml``: the value the runs read.

:class:`reconciler.repository.settingsfile.WarningsFile` is the section as written
(a part of the settings file model, so ``reconciler schema settings`` describes
it); :func:`from_file` turns it into :class:`WarningSettings`, the ``warnings``
field of :class:`reconciler.settings.Settings`. Applying it to findings is
:mod:`reconciler.checks.warnfilter`'s job. Imports nothing of the reconciler (nor
pydantic), so ``settings.py`` can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.repository.settingsfile import WarningsFile

#: Warnings off unless ``warnings.enable`` names them: true, but nothing a user can act on.
OPT_IN_WARNINGS = frozenset({"schema.regex_dialect"})
#: A finding code as the reports print it (``repo.stray_file``).
CODE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"


@dataclass(frozen=True)
class WarningSettings:
    """``warnings:`` of reconciler.yaml: which warning codes are shown (errors are never hidden)."""

    ignore: frozenset[str] = frozenset()
    """Warning codes hidden everywhere in the repository."""
    ignore_in: tuple[tuple[str, frozenset[str]], ...] = ()
    """(path glob relative to the root, codes hidden for files it matches), in file order."""
    enable: frozenset[str] = frozenset()
    """Warning codes that are off by default and turned on (``schema.regex_dialect``)."""


def from_file(section: WarningsFile | None) -> WarningSettings:
    """The section as a value (absent: the defaults)."""
    if section is None:
        return WarningSettings()
    return WarningSettings(ignore=frozenset(section.ignore), enable=frozenset(section.enable),
                           ignore_in=tuple((glob, frozenset(codes)) for glob, codes in section.ignore_in.items()))
