#!/usr/bin/env python3
"""Renders a kustomization offline, for the subset of kustomize that deploy/k8s uses.

    python deploy/k8s/render.py deploy/k8s/overlays/contest > pessoas.yaml

Why not the kustomize binary: it is neither on PyPI nor in Debian's packages, and CI installs
nothing else. `kubectl kustomize DIR` gives the same objects where kubectl is at hand; the test
suite (tests/unit/test_k8s_manifests.py) renders with this file.

The subset, and nothing else (any other key of a kustomization is refused, never ignored):
- ``resources``: YAML files (one or more documents) and directories holding a kustomization;
- ``namespace``: set on every namespaced object;
- ``labels`` with ``pairs`` (and ``includeSelectors: false``): added to every object's metadata;
- ``images``: ``name`` -> ``newName``/``newTag`` on the containers of pod templates;
- ``patches``: a file of JSON patch operations (RFC 6902: add, replace, remove) applied to the
  objects that its ``target`` (group, version, kind, name) selects; a target matching nothing
  is an error.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KNOWN_KEYS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
# The kinds used here that have no namespace.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}

Object = dict[str, Any]


class RenderError(Exception):
    pass


def kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    raise RenderError(f"{directory} has no kustomization")


def load_documents(path: Path) -> list[Object]:
    # Deep copies: YAML anchors would otherwise share one dict between, say, a selector and the
    # metadata labels, and a label added to one would appear in both.
    documents = [copy.deepcopy(doc) for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in documents:
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise RenderError(f"{path}: every document must be an object with apiVersion and kind")
    return documents


def render(directory: Path) -> list[Object]:
    path = kustomization_file(directory)
    spec = yaml.safe_load(path.read_text()) or {}
    unknown = set(spec) - KNOWN_KEYS
    if unknown:
        raise RenderError(f"{path}: unsupported kustomization keys {sorted(unknown)}")

    objects: list[Object] = []
    for entry in spec.get("resources", []):
        resource = (directory / entry).resolve()
        if resource.is_dir():
            objects.extend(render(resource))
        elif resource.is_file():
            objects.extend(load_documents(resource))
        else:
            raise RenderError(f"{path}: resource {entry} not found")

    for patch in spec.get("patches", []):
        apply_patch(directory, patch, objects)
    for image in spec.get("images", []):
        set_image(image, objects)
    for label in spec.get("labels", []):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise RenderError(f"{path}: only labels on metadata are supported")
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = spec["namespace"]

    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])
        if key in seen:
            raise RenderError(f"{path}: {key} is defined twice")
        seen.add(key)
    return objects


def group_version(obj: Object) -> tuple[str, str]:
    group, _, version = obj["apiVersion"].rpartition("/")
    return group, version


def matches(target: dict[str, str], obj: Object) -> bool:
    group, version = group_version(obj)
    actual = {"group": group, "version": version, "kind": obj["kind"], "name": obj["metadata"]["name"]}
    return all(actual[key] == value for key, value in target.items())


def apply_patch(directory: Path, patch: dict[str, Any], objects: list[Object]) -> None:
    if set(patch) != {"path", "target"}:
        raise RenderError(f"patch {patch}: give exactly a path and a target")
    operations = yaml.safe_load((directory / patch["path"]).read_text())
    if not isinstance(operations, list):
        raise RenderError(f"{patch['path']}: only JSON patches (a list of operations) are supported")
    selected = [obj for obj in objects if matches(patch["target"], obj)]
    if not selected:
        raise RenderError(f"{patch['path']}: its target {patch['target']} matches nothing")
    for obj in selected:
        for operation in operations:
            apply_operation(obj, operation)


def pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise RenderError(f"JSON pointer {path!r} must start with /")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def apply_operation(obj: Object, operation: dict[str, Any]) -> None:
    *parents, last = pointer(operation["path"])
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    op = operation["op"]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op == "add":
            node.insert(index, operation["value"])
        elif op == "replace":
            node[index] = operation["value"]
        elif op == "remove":
            del node[index]
        else:
            raise RenderError(f"unsupported JSON patch operation {op!r}")
        return
    if op in ("replace", "remove") and last not in node:
        raise RenderError(f"{op} {operation['path']}: no such member")
    if op in ("add", "replace"):
        node[last] = operation["value"]
    elif op == "remove":
        del node[last]
    else:
        raise RenderError(f"unsupported JSON patch operation {op!r}")


def pod_containers(obj: Object) -> list[Object]:
    spec = obj.get("spec", {})
    template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
    pod = template.get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def set_image(image: dict[str, str], objects: list[Object]) -> None:
    for obj in objects:
        for container in pod_containers(obj):
            current = container.get("image", "")
            name = current.split("@")[0].rsplit(":", 1)[0] if ":" in current.rsplit("/", 1)[-1] else current
            if name != image["name"]:
                continue
            new_name = image.get("newName", name)
            container["image"] = f"{new_name}:{image['newTag']}" if "newTag" in image else new_name


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        objects = render(Path(argv[1]))
    except RenderError as exc:
        print(f"render.py: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
