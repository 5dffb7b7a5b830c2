"""The ``warnings:`` section of ``reconciler.yaml``: its file model and the value the runs read.

:class:`WarningsFile` is the section as written (a part of
:class:`reconciler.settings.SettingsFile`, so ``reconciler schema settings``
describes it); :func:`from_file` turns it into :class:`WarningSettings`, the
``warnings`` field of :class:`reconciler.settings.Settings`. Applying it to
findings is :mod:`reconciler.checks.warnfilter`'s job. Imports nothing of the
reconciler, so ``settings.py`` can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import pydantic

#: Warnings off unless ``warnings.enable`` names them: true, but nothing a user can act on.
OPT_IN_WARNINGS = frozenset({"schema.regex_dialect"})
#: A finding code as the reports print it (``repo.stray_file``).
CODE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
Code = Annotated[str, pydantic.StringConstraints(pattern=CODE_PATTERN)]


@dataclass(frozen=True)
class WarningSettings:
    """``warnings:`` of reconciler.yaml: which warning codes are shown (errors are never hidden)."""

    ignore: frozenset[str] = frozenset()
    """Warning codes hidden everywhere in the repository."""
    ignore_in: tuple[tuple[str, frozenset[str]], ...] = ()
    """(path glob relative to the root, codes hidden for files it matches), in file order."""
    enable: frozenset[str] = frozenset()
    """Warning codes that are off by default and turned on (``schema.regex_dialect``)."""


class WarningsFile(pydantic.BaseModel):
    """The section as written in reconciler.yaml (unknown keys are errors, as everywhere in the file)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, populate_by_name=False, title="warnings",
                                       json_schema_extra={"description": "Warning codes to hide (errors are "
                                                                         "never hidden) or to show."})
    ignore: list[Code] = pydantic.Field(default_factory=list, description="Warning codes hidden in every report "
                                        "of this repository, e.g. repo.stray_file.")
    ignore_in: dict[str, list[Code]] = pydantic.Field(
        default_factory=dict, description=(
            "Path glob (relative to the repository root; * within a folder, ** across folders) -> warning "
            "codes hidden for the files it matches, e.g. \"configs/legacy-*/**\": [yaml.ambiguous]."))
    enable: list[Literal["schema.regex_dialect"]] = pydantic.Field(default_factory=list, description=(
        "Warnings that are off by default: schema.regex_dialect (a pattern Python's re would match "
        "differently; the reconciler always matches ECMA-262, so this is for developers only)."))


def from_file(section: WarningsFile | None) -> WarningSettings:
    """The section as a value (absent: the defaults)."""
    if section is None:
        return WarningSettings()
    return WarningSettings(ignore=frozenset(section.ignore), enable=frozenset(section.enable),
                           ignore_in=tuple((glob, frozenset(codes)) for glob, codes in section.ignore_in.items()))
