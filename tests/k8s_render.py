"""A small kustomize for the tests, so that rendering deploy/k8s needs no binary.

It implements what deploy/k8s uses and nothing else, and refuses anything it does not know:
``resources`` (files and directories), ``components``, ``patches`` given by ``path`` (strategic
merge: maps merged, ``null`` deletes a field, lists of containers, volumes, env, ports... merged by
their Kubernetes merge key with new items first, other lists replaced, ``$patch: delete`` removes a
resource) and ``namespace``. tests/unit/deploy compares its output with ``kubectl kustomize`` (or
``kustomize build``) where one is installed, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]
KNOWN_KEYS = {"apiVersion", "kind", "resources", "components", "patches", "namespace"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass"}
# Kubernetes' patchMergeKey of the lists deploy/k8s patches (the rest are replaced whole).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
              "volumeMounts": "mountPath", "imagePullSecrets": "name",
              "topologySpreadConstraints": "topologyKey"}


def _load(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":  # a container's ports merge on containerPort, a Service's on port
        return "containerPort" if any("containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def _merge_list(field: str, dst: list[Any], patch: list[Any]) -> list[Any]:
    key = _merge_key(field, dst + patch)
    if key is None or not all(isinstance(i, dict) for i in dst + patch):
        return copy.deepcopy(patch)
    # kustomize's order: the patch's items in its order (merged into the existing one of the same
    # key), then the existing items the patch does not name.
    existing = {d[key]: d for d in dst}
    named = {p[key] for p in patch}
    out = [merge(existing[p[key]], p) if p[key] in existing else copy.deepcopy(p)
           for p in patch if p.get("$patch") != "delete"]
    return out + [d for d in dst if d[key] not in named]


def merge(dst: Doc, patch: Doc) -> Doc:
    """Strategic merge of ``patch`` into a copy of ``dst``."""
    out = copy.deepcopy(dst)
    for key, value in patch.items():
        if key.startswith("$"):
            raise ValueError(f"unsupported directive {key}")
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_list(key, out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _ident(doc: Doc) -> tuple[str, str, str]:
    return doc["kind"], doc["metadata"]["name"], doc["metadata"].get("namespace", "")


def _apply_patch(docs: list[Doc], patch: Doc) -> list[Doc]:
    kind, name, ns = _ident(patch)
    matches = [i for i, d in enumerate(docs) if d["kind"] == kind and d["metadata"]["name"] == name
               and (not ns or d["metadata"].get("namespace", "") == ns)]
    if len(matches) != 1:
        raise ValueError(f"patch {kind}/{name}: {len(matches)} targets")
    [i] = matches
    if patch.get("$patch") == "delete":
        return docs[:i] + docs[i + 1:]
    body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
    return [*docs[:i], merge(docs[i], body), *docs[i + 1:]]


def _build(path: Path, docs: list[Doc], *, component: bool) -> list[Doc]:
    kust = yaml.safe_load((path / "kustomization.yaml").read_text())
    unknown = set(kust) - KNOWN_KEYS
    if unknown:
        raise ValueError(f"{path}: unsupported kustomization fields {sorted(unknown)}")
    if (kust.get("kind") == "Component") != component:
        raise ValueError(f"{path}: kind {kust.get('kind')} where a "
                         f"{'Component' if component else 'Kustomization'} is expected")
    docs = list(docs)
    for res in kust.get("resources", []):
        target = path / res
        docs += _build(target, [], component=False) if target.is_dir() else _load(target)
    for comp in kust.get("components", []):
        docs = _build(path / comp, docs, component=True)
    for entry in kust.get("patches", []):
        if set(entry) != {"path"}:
            raise ValueError(f"{path}: only patches by path are supported, not {entry}")
        for patch in _load(path / entry["path"]):
            docs = _apply_patch(docs, patch)
    if "namespace" in kust:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = kust["namespace"]
    return docs


def render(path: Path) -> list[Doc]:
    """The documents ``kustomize build path`` gives (order aside)."""
    return _build(path, [], component=False)


def kustomize_command() -> list[str] | None:
    """A real kustomize, if one is installed: ``kustomize build`` or ``kubectl kustomize``."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        probe = subprocess.run(["kubectl", "kustomize", "--help"], capture_output=True)
        if probe.returncode == 0:
            return ["kubectl", "kustomize"]
    return None


def render_with_binary(command: list[str], path: Path) -> list[Doc]:
    res = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(res.stderr)
    return [d for d in yaml.safe_load_all(res.stdout) if d]
