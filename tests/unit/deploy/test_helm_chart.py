"""The Helm chart (deploy/helm/millrace) lints, renders and wires what the services need.

helm and kubeconform are built once from the Go module proxy and the schemas fetched from
PyPI and the Go proxy (deploy/tools/fetch.py; cached in ~/.cache/millrace). The rendered
manifests are validated against the Kubernetes and KEDA schemas, then read with PyYAML to
check what a schema cannot: probes, security settings, secrets per principal, scaling.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from millrace_contracts.topics import ALL_TOPICS, Service

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "deploy" / "helm" / "millrace"
EXTERNAL = CHART / "ci" / "external-kafka-values.yaml"
SERVICES = [service.value for service in Service]
PORTS = {
    "ingestion": 8101,
    "training": 8102,
    "registry": 8103,
    "deployment": 8104,
    "monitoring": 8105,
    "watcher": 8106,
}
LAG_SCALED = ("ingestion", "training", "monitoring")
RELEASE = "mr"

Manifest = dict[str, Any]


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@cache
def tools() -> dict[str, str]:
    fetch = _load(ROOT / "deploy" / "tools" / "fetch.py", "millrace_deploy_fetch")
    result: dict[str, str] = fetch.fetch_all()
    return result


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tools()["helm"], *args], capture_output=True, text=True, check=False, timeout=120
    )


@cache
def rendered_text(values: Path | None) -> str:
    extra = ["-f", str(values)] if values else []
    done = helm("template", RELEASE, str(CHART), "--namespace", "millrace", *extra)
    assert done.returncode == 0, done.stderr
    return done.stdout


def rendered(values: Path | None) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(rendered_text(values)) if doc]


def by_kind(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def container(docs: list[Manifest], service: str) -> Manifest:
    deployment = by_kind(docs, "Deployment")[f"{RELEASE}-millrace-{service}"]
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    result: Manifest = only
    return result


def env_of(docs: list[Manifest], service: str) -> dict[str, Manifest]:
    return {item["name"]: item for item in container(docs, service)["env"]}


def group_topics(service: str) -> list[str]:
    """The topics `millrace-<service>` consumes, straight from the catalogue."""
    outside_group = {("monitoring", "millrace.model.promoted.v1")}
    return [
        spec.name
        for spec in ALL_TOPICS
        if Service(service) in spec.consumers and (service, spec.name) not in outside_group
    ]


VALUE_SETS = pytest.mark.parametrize("values", [None, EXTERNAL], ids=["defaults", "external"])


@pytest.fixture(scope="module", autouse=True)
def _tools() -> Iterator[None]:
    tools()  # built once (minutes on a cold cache), then cached across runs
    yield


def test_consumer_topics_file_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "helm" / "consumer_topics.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@VALUE_SETS
def test_lint(values: Path | None) -> None:
    extra = ["-f", str(values)] if values else []
    done = helm("lint", "--strict", str(CHART), *extra)
    assert done.returncode == 0, done.stdout + done.stderr


@VALUE_SETS
def test_kubeconform_validates_every_manifest(values: Path | None) -> None:
    paths = tools()
    done = subprocess.run(
        [
            paths["kubeconform"], "-strict", "-summary", "-output", "text",
            "-schema-location",
            paths["kubernetes_schemas"] + "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
            "-schema-location",
            paths["keda_schemas"] + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
            "-",
        ],
        input=rendered_text(values), capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # Every kind found a schema (kubeconform counts a missing one as skipped, not valid).
    assert "Skipped: 0" in done.stdout, done.stdout
    assert "Invalid: 0, Errors: 0" in done.stdout, done.stdout


@VALUE_SETS
def test_every_service_runs_with_probes_on_its_health_endpoints(values: Path | None) -> None:
    docs = rendered(values)
    services = by_kind(docs, "Service")
    for service in SERVICES:
        main = container(docs, service)
        port = PORTS[service]
        assert main["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert main["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert main["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
        assert main["startupProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert main["resources"]["requests"] and main["resources"]["limits"]
        image = main["image"]
        assert image.startswith(f"{'registry.example.com' if values else 'ghcr.io'}/millrace/")
        assert image.rsplit(":", 1)[1] == "0.1.0", image
        env = env_of(docs, service)
        assert env["MILLRACE_ENVIRONMENT"]["value"] == "prod"
        assert env["MILLRACE_HTTP_PORT"]["value"] == str(port)
        assert env["MILLRACE_HTTP_HOST"]["value"] == "0.0.0.0"
        svc = services[f"{RELEASE}-millrace-{service}"]
        assert svc["spec"]["ports"][0]["port"] == port
        assert svc["spec"]["ports"][0]["targetPort"] == "http"


@VALUE_SETS
def test_kafka_is_sasl_ssl_as_each_services_own_principal(values: Path | None) -> None:
    docs = rendered(values)
    secrets = by_kind(docs, "Secret")
    for service in SERVICES:
        env = env_of(docs, service)
        assert env["MILLRACE_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert env["MILLRACE_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
        assert env["MILLRACE_KAFKA_SASL_USERNAME"]["value"] == f"millrace-{service}"
        password = env["MILLRACE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert "value" not in env["MILLRACE_KAFKA_SASL_PASSWORD"]
        if values is None:  # Strimzi's KafkaUser secret
            assert password == {"name": f"millrace-{service}", "key": "password"}
        else:
            secret = secrets[password["name"]]
            assert secret["stringData"]["password"] == f"placeholder-{service}-kafka"
            assert secret["stringData"]["username"] == f"millrace-{service}"
            assert password["key"] == "password"
        # The CA is mounted where MILLRACE_KAFKA_TLS_CAFILE points.
        assert env["MILLRACE_KAFKA_TLS_CAFILE"]["value"] == "/etc/millrace/kafka-ca/ca.crt"
        mounts = {m["name"]: m for m in container(docs, service)["volumeMounts"]}
        assert mounts["kafka-ca"]["mountPath"] == "/etc/millrace/kafka-ca"
        pod = by_kind(docs, "Deployment")[f"{RELEASE}-millrace-{service}"]["spec"]["template"]
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        ca = volumes["kafka-ca"]["secret"]
        assert ca["items"][0]["path"] == "ca.crt"
        if values is None:
            assert ca["secretName"] == "millrace-cluster-ca-cert"
        else:
            assert "placeholder-ca" in secrets[ca["secretName"]]["stringData"]["ca.crt"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["automountServiceAccountToken"] is False


@VALUE_SETS
def test_each_service_has_its_own_s3_identity(values: Path | None) -> None:
    docs = rendered(values)
    secrets = by_kind(docs, "Secret")
    seen: set[str] = set()
    for service in SERVICES:
        env = env_of(docs, service)
        access = env["MILLRACE_S3_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
        secret = env["MILLRACE_S3_SECRET_KEY"]["valueFrom"]["secretKeyRef"]
        assert access["name"] == secret["name"]
        seen.add(access["name"])
        if values is not None:
            data = secrets[access["name"]]["stringData"]
            assert data[access["key"]] == f"millrace-{service}"
            assert data[secret["key"]] == f"placeholder-{service}-s3"
            assert env["MILLRACE_S3_ENDPOINT"]["value"] == "s3.example.com:443"
            assert env["MILLRACE_S3_REGION"]["value"] == "eu-west-1"
        assert env["MILLRACE_S3_SECURE"]["value"] == "true"
    assert len(seen) == len(SERVICES)


@VALUE_SETS
def test_registry_keys_and_tokens(values: Path | None) -> None:
    docs = rendered(values)
    registry = env_of(docs, "registry")
    key = registry["MILLRACE_REGISTRY_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]
    assert (
        registry["MILLRACE_REGISTRY_TOKENS_FILE"]["value"] == "/etc/millrace/registry-tokens/tokens"
    )
    mounts = {m["name"]: m["mountPath"] for m in container(docs, "registry")["volumeMounts"]}
    assert mounts["registry-tokens"] == "/etc/millrace/registry-tokens"
    deployment = env_of(docs, "deployment")
    public = deployment["MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY"]["valueFrom"]["secretKeyRef"]
    assert (
        deployment["MILLRACE_DEPLOYMENT_REGISTRY_URL"]["value"]
        == f"http://{RELEASE}-millrace-registry:8103"
    )
    # The signing key reaches the registry alone.
    for service in SERVICES:
        if service != "registry":
            assert "MILLRACE_REGISTRY_SIGNING_KEY" not in env_of(docs, service)
    if values is not None:
        secrets = by_kind(docs, "Secret")
        assert secrets[key["name"]]["stringData"][key["key"]] == "placeholder-signing-key"
        assert secrets[public["name"]]["stringData"][public["key"]] == "placeholder-public-key"
    else:
        assert key == {"name": "millrace-registry-signing-key", "key": "signing-key"}


@VALUE_SETS
def test_deployment_replicas_each_read_in_a_group_named_after_their_pod(
    values: Path | None,
) -> None:
    env = env_of(rendered(values), "deployment")
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["MILLRACE_DEPLOYMENT_REPLICA_ID"]["value"] == "$(POD_NAME)"
    names = list(env)
    # $(VAR) expands only variables defined earlier in the list.
    assert names.index("POD_NAME") < names.index("MILLRACE_DEPLOYMENT_REPLICA_ID")
    assert names.index("POD_IP") < names.index("MILLRACE_DEPLOYMENT_PUBLIC_URL")


@VALUE_SETS
def test_keda_scales_consumers_on_their_groups_lag(values: Path | None) -> None:
    docs = rendered(values)
    scaled = by_kind(docs, "ScaledObject")
    auths = by_kind(docs, "TriggerAuthentication")
    assert set(scaled) == {f"{RELEASE}-millrace-{s}" for s in LAG_SCALED}
    for service in LAG_SCALED:
        name = f"{RELEASE}-millrace-{service}"
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert spec["minReplicaCount"] >= 1
        triggers = spec["triggers"]
        assert [t["metadata"]["topic"] for t in triggers] == group_topics(service)
        for trigger in triggers:
            meta = trigger["metadata"]
            assert trigger["type"] == "kafka"
            assert meta["consumerGroup"] == f"millrace-{service}"
            assert meta["sasl"] == "scram_sha512"
            assert meta["tls"] == "enable"
            assert (
                meta["bootstrapServers"]
                == env_of(docs, service)["MILLRACE_KAFKA_BOOTSTRAP"]["value"]
            )
            assert trigger["authenticationRef"]["name"] == f"{name}-kafka"
        auth = auths[f"{name}-kafka"]["spec"]
        refs = {ref["parameter"]: ref for ref in auth["secretTargetRef"]}
        password = env_of(docs, service)["MILLRACE_KAFKA_SASL_PASSWORD"]["valueFrom"][
            "secretKeyRef"
        ]
        assert (refs["password"]["name"], refs["password"]["key"]) == (
            password["name"],
            password["key"],
        )
        assert "ca" in refs
        assert auth["env"] == [
            {
                "parameter": "username",
                "name": "MILLRACE_KAFKA_SASL_USERNAME",
                "containerName": service,
            }
        ]
        # KEDA owns the replica count.
        assert "replicas" not in by_kind(docs, "Deployment")[name]["spec"]


@VALUE_SETS
def test_deployment_scales_on_cpu_and_every_service_has_a_pdb(values: Path | None) -> None:
    docs = rendered(values)
    (hpa,) = by_kind(docs, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == f"{RELEASE}-millrace-deployment"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    pdbs = by_kind(docs, "PodDisruptionBudget")
    for service in SERVICES:
        pdb = pdbs[f"{RELEASE}-millrace-{service}"]["spec"]
        # maxUnavailable: an unready deployment replica (no model yet) must not block drains.
        assert pdb["maxUnavailable"] == 1
        assert pdb["selector"]["matchLabels"]["app.kubernetes.io/component"] == service
    # Several registry replicas are safe (conditional writes, ADR 0007): one is not a SPOF.
    assert by_kind(docs, "Deployment")[f"{RELEASE}-millrace-registry"]["spec"]["replicas"] == 2


def test_a_mutable_image_tag_is_refused() -> None:
    done = helm("template", RELEASE, str(CHART), "--set", "image.tag=latest")
    assert done.returncode != 0
    assert "not latest" in done.stderr


def test_without_keda_the_consumers_run_a_fixed_count() -> None:
    done = helm("template", RELEASE, str(CHART), "--set", "keda.enabled=false")
    assert done.returncode == 0, done.stderr
    docs = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    assert not by_kind(docs, "ScaledObject")
    assert by_kind(docs, "Deployment")[f"{RELEASE}-millrace-training"]["spec"]["replicas"] == 1


@VALUE_SETS
def test_the_console_reads_the_services_and_dead_letters_as_its_own_principal(
    values: Path | None,
) -> None:
    docs = rendered(values)
    main = container(docs, "console")
    assert main["ports"] == [{"name": "http", "containerPort": 8107, "protocol": "TCP"}]
    assert main["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert main["startupProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    env = env_of(docs, "console")
    assert not [k for k in env if k.startswith("MILLRACE_S3_")]
    assert env["MILLRACE_KAFKA_SASL_USERNAME"]["value"] == "millrace-console"
    password = env["MILLRACE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert password["name"] == ("millrace-console" if values is None else password["name"])
    assert env["MILLRACE_KAFKA_TLS_CAFILE"]["value"] == "/etc/millrace/kafka-ca/ca.crt"
    for service in ("registry", "ingestion", "training", "monitoring"):
        url = f"http://{RELEASE}-millrace-{service}:{PORTS[service]}"
        assert env[f"MILLRACE_CONSOLE_{service.upper()}_URL"]["value"] == url
    deployment = f'["http://{RELEASE}-millrace-deployment:8104"]'
    assert env["MILLRACE_CONSOLE_DEPLOYMENT_URLS"]["value"] == deployment
    assert env["MILLRACE_CONSOLE_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]["name"]
    service = by_kind(docs, "Service")[f"{RELEASE}-millrace-console"]
    assert service["spec"]["ports"][0]["port"] == 8107
    assert by_kind(docs, "PodDisruptionBudget")[f"{RELEASE}-millrace-console"]
