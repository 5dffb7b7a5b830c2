"""``reconciler init``: scaffold a config repository a team can push.

Called by ``cli/init.py``. Writes ``reconciler.yaml`` (the API target named
explicitly: a region, a URL or ``local``), ``configs/``, the default
``policies/`` and the ``schemas/`` editors read, a ``.gitignore``, a
``.pre-commit-config.yaml`` running this tool's ``reconciler-validate`` hook,
and ``.github/workflows/`` (pr-plan, apply, drift). The workflows are this
project's own, shipped in the package (``templates/``), with the step that
installs the reconciler from a checkout replaced by ``pip install
rtc-reconciler==<this version>``: CI runs exactly the release that wrote them.

Never overwrites an existing file unless ``force``; what was kept is listed.
Importing live pages (``init --import``) is :mod:`reconciler.adoption.importer`'s job.
"""

from __future__ import annotations

import dataclasses
import os
from importlib import resources
from pathlib import Path

import yaml

from reconciler import __version__, settings
from reconciler.checks import schemas

PACKAGE = "rtc-reconciler"
WORKFLOWS = ("pr-plan.yml", "apply.yml", "drift.yml")
#: (text in this project's workflows, what a config repository's copy says instead); each must apply.
_WORKFLOW_EDITS = {
    "pr-plan.yml": (
        ("python -m pip install ./base", 'python -m pip install "{pin}"'),
        ("- name: Install the reconciler from the base branch", "- name: Install the reconciler ({pin})"),
        ("the reconciler is installed from the base branch (./base)",
         "the reconciler is a pinned release from the package index"),
        ("the reconciler comes from ./base, nothing from ./pr runs",
         "the reconciler is a pinned release, nothing from ./pr runs"),
    ),
    "apply.yml": (("python -m pip install .", 'python -m pip install "{pin}"'),),
    "drift.yml": (("python -m pip install .", 'python -m pip install "{pin}"'),),
}
GITIGNORE = "# rtc-reconciler's local state (it also ignores itself)\n.reconciler/\n"


@dataclasses.dataclass(frozen=True)
class InitResult:
    """What ``init`` did, as paths relative to the repository."""

    root: Path
    written: tuple[str, ...]
    skipped: tuple[str, ...]
    """Files that existed and were kept (no ``--force``)."""


def target_block(*, region: str | None, api_url: str | None, local: bool) -> str:
    """The ``api:`` section for exactly one of the three ways to name the target; ValueError otherwise."""
    given = [name for name, value in (("--region", region), ("--api-url", api_url), ("--local", local)) if value]
    if len(given) != 1:
        raise ValueError("name the API target once: --region us|uk|eu|studio, --api-url URL or --local"
                         + (f" (got {', '.join(given)})" if given else ""))
    if region is not None:
        settings.region_url(region)                          # ValueError for an unknown region
        return f"api:\n  region: {region}                # -> {settings.region_url(region)}\n"
    if api_url is not None:
        return f"api:\n  url: {settings.check_api_url(api_url)}\n"
    return "api:\n  url: local                 # the embedded emulator; state in .reconciler/local.db\n"


def settings_text(api: str) -> str:
    return ("# yaml-language-server: $schema=schemas/reconciler.schema.json\n"
            "# rtc-reconciler settings (reference: `reconciler schema settings`). The API key is read from\n"
            "# POLYAI_API_KEY only, never from this file.\n"
            f"{api}"
            "environments:                 # order = promotion order\n"
            "  sandbox:     {sync: auto}\n"
            "  pre-release: {sync: auto}\n"
            "  live:        {sync: manual, selfHeal: false}\n"
            "concurrency: 16\n"
            "resync: 60s\n")


def precommit_text() -> str:
    """A ``local`` hook with this tool's hook definition, installing the same release (no repository URL needed)."""
    [hook] = yaml.safe_load(_template("pre-commit-hooks.yaml"))
    hook = {**hook, "additional_dependencies": [f"{PACKAGE}=={__version__}"]}
    return ("# Validate the repository offline before each commit (https://pre-commit.com): pre-commit install\n"
            + yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}, sort_keys=False))


def workflow_text(name: str) -> str:
    """This project's workflow ``name`` installing ``rtc-reconciler==<version>`` instead of a checkout."""
    text = _template(f"workflows/{name}")
    pin = f"{PACKAGE}=={__version__}"
    for old, new in _WORKFLOW_EDITS[name]:
        if old not in text:                 # pragma: no cover - guarded by tests/test_init.py
            raise RuntimeError(f"workflow template {name} no longer holds {old!r}")
        text = text.replace(old, new.format(pin=pin))
    return text


def scaffold_files(api: str) -> dict[str, str]:
    """Every file ``init`` writes: relative path -> content."""
    files = {"reconciler.yaml": settings_text(api), "configs/.gitkeep": "", ".gitignore": GITIGNORE,
             ".pre-commit-config.yaml": precommit_text()}
    for entry in sorted(resources.files("reconciler.adoption").joinpath("templates", "policies").iterdir(),
                        key=lambda e: e.name):
        files[f"policies/{entry.name}"] = entry.read_text(encoding="utf-8")
    for name, rel in schemas.REPOSITORY_COPIES.items():
        files[rel] = schemas.render(name)
    for name in WORKFLOWS:
        files[f".github/workflows/{name}"] = workflow_text(name)
    return files


def scaffold(root: Path, api: str, *, force: bool = False) -> InitResult:
    """Write the scaffold into ``root`` (created when missing); existing files kept unless ``force``."""
    root = Path(root)
    written, skipped = [], []
    for rel, text in scaffold_files(api).items():
        path = root / rel
        if os.path.lexists(path) and not force:
            skipped.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()                   # --force replaces the link itself, never writes through it
        path.write_text(text, encoding="utf-8")
        written.append(rel)
    return InitResult(root=root, written=tuple(written), skipped=tuple(skipped))


def _template(rel: str) -> str:
    return resources.files("reconciler.adoption").joinpath("templates", *rel.split("/")).read_text(encoding="utf-8")
