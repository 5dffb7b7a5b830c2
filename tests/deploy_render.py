"""Offline reading of ``deploy/``: the kustomization rendered in Python, the Dockerfile parsed.

:func:`render` does what ``kubectl kustomize deploy/kubernetes`` does for the few fields our
kustomization uses (``resources``, ``namespace``, ``labels`` on metadata, ``images``,
``replicas``) and refuses any other field, so a new one cannot be silently ignored.
``tests/test_deploy_manifests.py`` compares it with the real kustomize whenever ``kubectl``
is installed. :func:`dockerfile_commands` parses the Dockerfile with BuildKit's parser.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dockerfile
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"

SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "labels", "resources", "images", "replicas"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "PriorityClass"}
WORKLOADS = {"StatefulSet", "Deployment", "DaemonSet", "ReplicaSet", "Job"}


def kustomization(directory: Path = K8S) -> dict[str, Any]:
    return yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document of a manifest file (anchors resolved, as the API server sees it)."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def pod_spec(resource: dict[str, Any]) -> dict[str, Any] | None:
    if resource.get("kind") in WORKLOADS:
        return resource["spec"]["template"]["spec"]
    return None


def all_containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def render(directory: Path = K8S) -> list[dict[str, Any]]:
    """The resources ``kubectl kustomize DIRECTORY`` would print (same content; order not guaranteed)."""
    kust = kustomization(directory)
    unknown = set(kust) - SUPPORTED_FIELDS
    if unknown:
        raise ValueError(f"kustomization fields this renderer does not implement: {sorted(unknown)}")
    resources = [copy.deepcopy(doc) for entry in kust.get("resources", [])
                 for doc in load_documents(directory / entry)]
    for resource in resources:
        _apply_namespace(resource, kust.get("namespace"))
        _apply_labels(resource, kust.get("labels", []))
        _apply_images(resource, kust.get("images", []))
        _apply_replicas(resource, kust.get("replicas", []))
    return resources


def _apply_namespace(resource: dict[str, Any], namespace: str | None) -> None:
    if namespace and resource["kind"] not in CLUSTER_SCOPED:
        resource["metadata"]["namespace"] = namespace


def _apply_labels(resource: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        if entry.get("includeSelectors") or entry.get("includeTemplates") or entry.get("fields"):
            raise ValueError("labels with includeSelectors/includeTemplates/fields are not implemented here")
        resource["metadata"].setdefault("labels", {}).update(entry["pairs"])


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    name, _, digest = image.partition("@")
    tag = None
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest or None


def _apply_images(resource: dict[str, Any], images: list[dict[str, Any]]) -> None:
    spec = pod_spec(resource)
    if spec is None:
        return
    for container in all_containers(spec):
        name, tag, digest = _split_image(container["image"])
        for entry in images:
            if entry["name"] != name:
                continue
            name = entry.get("newName", name)
            if "digest" in entry:
                tag, digest = None, entry["digest"]
            elif "newTag" in entry:
                tag, digest = str(entry["newTag"]), None
            container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _apply_replicas(resource: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        if entry["name"] == resource["metadata"]["name"] and resource["kind"] in WORKLOADS:
            resource["spec"]["replicas"] = entry["count"]


def find(resources: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)]


# --- Dockerfile ---------------------------------------------------------------------------------------

def dockerfile_commands(path: Path = DOCKERFILE) -> tuple[dockerfile.Command, ...]:
    """The Dockerfile as BuildKit's own parser reads it (the ``dockerfile`` package wraps it)."""
    return dockerfile.parse_file(str(path))


def final_stage(commands: tuple[dockerfile.Command, ...]) -> tuple[dockerfile.Command, ...]:
    starts = [i for i, command in enumerate(commands) if command.cmd == "FROM"]
    return commands[starts[-1]:]


_ENV_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def env_refs(value: str) -> list[str]:
    """Names referenced as ``$(NAME)`` (Kubernetes' expansion in command/args)."""
    return _ENV_REF.findall(value)


def expand_env_refs(value: str, env: dict[str, str]) -> str:
    return _ENV_REF.sub(lambda m: env[m.group(1)], value)
