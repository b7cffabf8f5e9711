"""Writes kubernetes-1.33-strict.json: the JSON schemas of the kinds deploy/k8s uses.

The schemas are kubernetes-validate's (PyPI, Apache-2.0): Kubernetes' OpenAPI turned into
JSON Schema draft 2020-12, "strict" (unknown fields refused). This keeps only the kinds
listed below and the definitions they reach, so tests/test_deploy_manifests.py validates
offline with the jsonschema the assistant's environment already has.

    python3 -m venv /tmp/kv && /tmp/kv/bin/pip install kubernetes-validate==1.37.0
    python3 deploy/k8s/schemas/vendor_schemas.py \
      /tmp/kv/lib/python3.*/site-packages/kubernetes_validate/kubernetes-json-schema/v1.33.0-local-strict

A kind added to the manifests needs a line in KINDS and a new run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

VERSION = "1.33.0"
SOURCE = "kubernetes-validate 1.37.0, kubernetes-json-schema/v1.33.0-local-strict"
# (apiVersion, kind) -> the file kubernetes-validate names it by.
KINDS = {
    ("v1", "Namespace"): "namespace-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("batch/v1", "CronJob"): "cronjob-batch-v1.json",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudget-policy-v1.json",
    ("networking.k8s.io/v1", "Ingress"): "ingress-networking-v1.json",
    ("networking.k8s.io/v1", "NetworkPolicy"): "networkpolicy-networking-v1.json",
}
# How the kinds' files and the definitions themselves refer to a definition.
PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def main(schema_dir: str) -> None:
    folder = Path(schema_dir)
    definitions = json.loads((folder / "_definitions.json").read_text())["$defs"]
    kinds = {f"{api} {kind}": json.loads((folder / name).read_text()) for (api, kind), name in KINDS.items()}
    wanted: set[str] = set()
    todo = [ref for schema in kinds.values() for ref in refs(schema)]
    while todo:
        ref = todo.pop()
        name = next(ref[len(p) :] for p in PREFIXES if ref.startswith(p))
        if name not in wanted:
            wanted.add(name)
            todo.extend(refs(definitions[name]))
    out = {
        "source": SOURCE,
        "kubernetes": VERSION,
        "kinds": kinds,
        "definitions": {"$defs": {name: definitions[name] for name in sorted(wanted)}},
    }
    target = Path(__file__).with_name("kubernetes-1.33-strict.json")
    target.write_text(json.dumps(out, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"{target}: {len(kinds)} kinds, {len(wanted)} definitions")


if __name__ == "__main__":
    main(sys.argv[1])
