"""``reconciler promote AGENT --from ENV --to ENV``: copy a page to the next environment, in the repository.

A change to review in a pull request, not an API write: the schema file and
the values (all of them, or only ``--keys``) of one environment directory are
copied to the next environment in promotion order (``environments:`` of
``reconciler.yaml``). Skipping an environment, or going backwards, is refused
unless ``force``. Without ``--keys`` the files are copied as written
(comments included); with ``--keys`` the target's values are read, the
selected top-level keys replaced or added from the source, and the result
written with :mod:`reconciler.repository.yamlwrite`. Called by ``cli/adopt.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.repository import safepath, writer as repowrite, yamlsafe, yamlwrite
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv


@dataclass(frozen=True)
class Promotion:
    agent: str
    source: ClientEnv
    target: ClientEnv
    written: tuple[str, ...]
    keys: tuple[str, ...] = ()
    """The values keys copied (all of the source's when no ``--keys``)."""


def check_order(source: ClientEnv, target: ClientEnv, order: Sequence[ClientEnv], *, force: bool) -> None:
    """Refuse a promotion that is not to the very next environment (unless ``force``)."""
    if source == target:
        raise ConfigError(f"--from and --to are both {source.value}", code="promote.order")
    for env in (source, target):
        if env not in order:
            raise ConfigError(f"{env.value} is not in the environments of reconciler.yaml "
                              f"({', '.join(e.value for e in order)})", code="promote.order")
    i, j = order.index(source), order.index(target)
    if j == i + 1 or force:
        return
    if j < i:
        raise ConfigError(f"{target.value} comes before {source.value} in promotion order "
                          f"({' → '.join(e.value for e in order)}); pass --force to copy backwards",
                          code="promote.order")
    skipped = ", ".join(e.value for e in order[i + 1:j])
    raise ConfigError(f"promoting {source.value} → {target.value} would skip {skipped} "
                      f"(promotion order {' → '.join(e.value for e in order)}); promote to "
                      f"{order[i + 1].value} first, or pass --force", code="promote.order")


def promote(root: Path, agent: str, source: ClientEnv, target: ClientEnv, *, keys: Sequence[str] = (),
            force: bool = False, order: Sequence[ClientEnv] = tuple(ClientEnv)) -> Promotion:
    root = Path(root)
    check_order(source, target, tuple(order), force=force)
    src, dst = repowrite.env_dir(agent, source), repowrite.env_dir(agent, target)
    if not (root / "configs" / agent).is_dir():
        known = sorted(p.name for p in (root / "configs").iterdir() if p.is_dir()) if (root / "configs").is_dir() else []
        raise ConfigError(f"unknown agent {agent!r}: no configs/{agent} directory (known: {', '.join(known) or 'none'})",
                          code="promote.agent")
    schema_rel, values_rel = _find(root, src, "schema"), _find(root, src, "values")
    if schema_rel is None and values_rel is None:
        raise ConfigError("no schema.yaml or values.yaml to promote", file=src, code="promote.empty")
    files: dict[str, str] = {}
    if schema_rel is not None:
        files[f"{dst}/schema.yaml"] = _read(root, schema_rel)[0]
    copied: tuple[str, ...] = ()
    if values_rel is not None:
        text, values = _read(root, values_rel)
        if keys:
            files[f"{dst}/values.yaml"], copied = _merge_keys(root, dst, values_rel, values, keys)
        else:
            files[f"{dst}/values.yaml"], copied = text, tuple(values)
    elif keys:
        raise ConfigError("no values.yaml here: --keys has nothing to copy", file=src, code="promote.keys")
    written = repowrite.write_files(root, files, force=True, replace_dirs=())
    for stale in (f"{dst}/schema.yml", f"{dst}/values.yml"):    # the .yaml just written replaces them
        if f"{stale[:-4]}.yaml" in files and repowrite.existing(root, [stale]):
            repowrite.inside(root, stale).unlink()
    return Promotion(agent, source, target, tuple(written), copied)


def _find(root: Path, directory: str, stem: str) -> str | None:
    found = repowrite.existing(root, [f"{directory}/{stem}.yaml", f"{directory}/{stem}.yml"])
    return found[0] if found else None


def _read(root: Path, rel: str) -> tuple[str, dict]:
    """A repository YAML file's text and data (read safely; a broken file is an error here)."""
    text = safepath.read_text(root / rel, root)
    data, _ = yamlsafe.parse_yaml(text, rel)
    return text, data


def _merge_keys(root: Path, dst: str, values_rel: str, values: dict, keys: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    missing = [k for k in keys if k not in values]
    if missing:
        raise ConfigError(f"--keys {', '.join(missing)}: not in this file (keys there: "
                          f"{', '.join(values) or 'none'})", file=values_rel, code="promote.keys")
    target_rel = _find(root, dst, "values")
    merged = dict(_read(root, target_rel)[1]) if target_rel else {}
    for key in keys:
        merged[key] = values[key]
    return yamlwrite.dump(merged), tuple(dict.fromkeys(keys))
