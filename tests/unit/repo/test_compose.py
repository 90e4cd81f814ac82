"""docker-compose.yml stays in step with the services and the local stack.

CI has no Docker engine, so this checks the file's structure rather than running it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
REST_ONLY = {"console"}
"""Services that read the others' REST APIs (the console: and dead letters): no S3."""
ON_THE_BUS = [name for name in SERVICES if name not in REST_ONLY]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def dockerfile_stages() -> dict[str, str]:
    """The root Dockerfile's stages, by name, with the text of each."""
    text = (ROOT / "Dockerfile").read_text()
    parts = re.split(r"^FROM\s+", text, flags=re.M)[1:]
    stages = {}
    for part in parts:
        m = re.match(r"\S+\s+AS\s+(\S+)", part, re.I)
        if m:
            stages[m.group(1).lower()] = part
    return stages


def _substitute(text: str, values: dict[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        assert name in values, f"${name} is not set"
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)


def service_image(stage: str, args: dict[str, str]) -> dict[str, str]:
    """What the ``service`` stage makes of compose's build args: its environment, exposed
    port, command and health-check command, as Docker would substitute them (ARGs at build
    time into ENV and EXPOSE; the environment at run time into the shell forms)."""
    lines = re.sub(r"\\\n\s*", " ", stage).splitlines()
    values: dict[str, str] = {}
    image: dict[str, str] = {}
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        if word == "ARG":
            name, has_default, default = rest.partition("=")
            if name in args:
                values[name] = args[name]
            elif has_default:
                values[name] = default
        elif word == "ENV":
            for pair in rest.split():
                key, _, raw = pair.partition("=")
                values[key] = image[f"env {key}"] = _substitute(raw, values)
        elif word == "EXPOSE":
            image["expose"] = _substitute(rest, values)
        elif word == "HEALTHCHECK":
            image["health"] = _substitute(rest.partition(" CMD ")[2], values)
        elif word == "CMD":
            image["command"] = _substitute(" ".join(json.loads(rest)), values)
    return image


def test_every_service_is_built_by_the_one_service_stage_on_the_shared_base() -> None:
    """One ``service`` stage on ``base`` builds every image; compose's build args give it the
    service's name, port and health path, in step with compose's own ports and checks."""
    services = compose()["services"]
    stages = dockerfile_stages()
    on_base = [name for name, text in stages.items() if text.startswith("base ")]
    assert on_base == ["service"], "one stage for every service, on the shared base"
    assert not set(SERVICES) & set(stages), "no stage per service"
    for name in SERVICES:
        assert name in services, f"{name} is missing from docker-compose.yml"
        build = services[name]["build"]
        assert build["context"] == "."
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
        assert build["target"] == "service"
        assert build["args"]["SERVICE"] == name
        assert (ROOT / "services" / name / "src" / f"millrace_{name}" / "__main__.py").exists()
        port = str(services[name]["ports"][0]).split(":")[-1]
        probe = "/health/live" if name == "deployment" else "/health/ready"
        image = service_image(stages["service"], build["args"])
        assert image["env MILLRACE_HTTP_PORT"] == image["expose"] == port, name
        assert image["command"] == f'sh -c exec python -m "millrace_{name}"', name
        assert f"http://127.0.0.1:{port}{probe}'" in image["health"], name
    assert not list(ROOT.glob("services/*/Dockerfile")), "one Dockerfile, not one per service"


def test_services_without_a_fixed_host_port_can_be_scaled() -> None:
    """``docker compose up --scale training=2``: a fixed host port would clash at the second
    replica. Deployment takes one from a range per replica; the registry keeps its own."""
    services = compose()["services"]
    for name in ("ingestion", "training", "monitoring", "watcher"):
        assert all(":" not in str(p) for p in services[name]["ports"]), name
        assert "container_name" not in services[name], name
    [deployment] = services["deployment"]["ports"]
    hosts, _, container = deployment.rpartition(":")
    first, _, last = hosts.partition("-")
    assert container == "8104" and int(last) > int(first), deployment


def test_services_wait_for_healthy_infrastructure_and_share_one_configuration() -> None:
    services = compose()["services"]
    for infra in ("kafka", "minio"):
        assert "healthcheck" in services[infra]
    for name in ON_THE_BUS:
        depends = services[name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["minio"]["condition"] == "service_healthy"
        env = services[name]["environment"]
        assert env["MILLRACE_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["MILLRACE_S3_ENDPOINT"] == "minio:9000"
        assert env["MILLRACE_OTLP_ENDPOINT"].startswith("http://jaeger:")


def test_kafka_image_matches_the_local_stack_version() -> None:
    from millrace_infra import KAFKA_VERSION

    assert compose()["services"]["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"


def test_compose_runs_as_prod_and_ships_no_dev_secret() -> None:
    """Secrets come from the user (``${VAR:?...}``: compose will not start without them)."""
    from millrace_infra.config import DEV_ACCESS_KEY, DEV_SECRET_KEY
    from millrace_shared.settings import DEV_S3_ACCESS_KEY, DEV_S3_SECRET_KEY

    text = (ROOT / "docker-compose.yml").read_text()
    for secret in {DEV_SECRET_KEY, DEV_S3_SECRET_KEY, "millrace-dev-registry-token"}:
        assert secret not in text
    services = compose()["services"]
    required = {
        "MILLRACE_S3_ACCESS_KEY": "${MILLRACE_S3_ACCESS_KEY:?",
        "MILLRACE_S3_SECRET_KEY": "${MILLRACE_S3_SECRET_KEY:?",
    }
    for name in REST_ONLY:
        env = services[name]["environment"]
        assert env["MILLRACE_ENVIRONMENT"] == "prod"
        assert not any(k.startswith("MILLRACE_S3_") for k in env), name
        assert env["MILLRACE_KAFKA_BOOTSTRAP"] == "kafka:9092"
    for name in ON_THE_BUS:
        env = services[name]["environment"]
        assert env["MILLRACE_ENVIRONMENT"] == "prod"
        for key, start in required.items():
            assert env[key].startswith(start), f"{name}: {key} must come from the user"
            assert env[key] not in {DEV_ACCESS_KEY, DEV_S3_ACCESS_KEY}
    registry = services["registry"]["environment"]
    assert registry["MILLRACE_REGISTRY_TOKENS"].startswith("${MILLRACE_REGISTRY_TOKENS:?")
    minio = services["minio"]["environment"]
    assert minio["MINIO_ROOT_USER"] == services["registry"]["environment"]["MILLRACE_S3_ACCESS_KEY"]
    assert minio["MINIO_ROOT_PASSWORD"].startswith("${MILLRACE_S3_SECRET_KEY:?")


def test_every_container_restarts_unless_stopped() -> None:
    for name, service in compose()["services"].items():
        assert service.get("restart") in {"unless-stopped", "on-failure"}, name


def test_every_service_is_health_checked_on_its_own_endpoint() -> None:
    """Readiness; deployment's liveness, as it is ready only once it serves a model."""
    services = compose()["services"]
    for name in SERVICES:
        check = services[name]["healthcheck"]
        port = str(services[name]["ports"][0]).split(":")[-1]
        probe = "/health/live" if name == "deployment" else "/health/ready"
        command = " ".join(check["test"])
        assert check["test"][0] == "CMD"
        assert f"http://127.0.0.1:{port}{probe}" in command, name
        assert check["retries"] >= 1 and "start_period" in check


def test_minio_sends_the_landing_buckets_notifications_to_the_watcher() -> None:
    """MinIO's Kafka target writes the catalogue's raw topic as the object store's principal;
    a one-shot container subscribes the landing bucket's puts to it; the watcher reads it."""
    from millrace_contracts.topics import (
        LANDING_NOTIFICATIONS,
        OBJECT_STORE,
        PRINCIPALS,
        RAW_TOPICS,
        WATCHER,
    )
    from millrace_watcher.settings import WatcherSettings

    services = compose()["services"]
    minio = services["minio"]["environment"]
    [target] = [k.removeprefix("MINIO_NOTIFY_KAFKA_ENABLE_") for k in minio if "KAFKA_ENABLE_" in k]
    assert minio[f"MINIO_NOTIFY_KAFKA_ENABLE_{target}"] == "on"
    assert minio[f"MINIO_NOTIFY_KAFKA_TOPIC_{target}"] == LANDING_NOTIFICATIONS
    assert (
        minio[f"MINIO_NOTIFY_KAFKA_BROKERS_{target}"]
        == compose()["x-millrace-env"]["MILLRACE_KAFKA_BOOTSTRAP"]
    )
    assert minio[f"MINIO_NOTIFY_KAFKA_QUEUE_DIR_{target}"].startswith("/data/")
    assert minio[f"MINIO_NOTIFY_KAFKA_SASL_MECHANISM_{target}"] == "sha512"  # SCRAM-SHA-512
    user = PRINCIPALS[OBJECT_STORE].removeprefix("User:")
    assert minio[f"MINIO_NOTIFY_KAFKA_SASL_USERNAME_{target}"] == user
    [raw] = [t for t in RAW_TOPICS if t.name == LANDING_NOTIFICATIONS]
    assert raw.producers == (OBJECT_STORE,) and raw.consumers == (WATCHER,)

    setup = services["minio-notifications"]
    assert setup["depends_on"]["minio"]["condition"] == "service_healthy"
    script = " ".join(setup["command"])
    landing = WatcherSettings().bucket_landing
    assert f"mc event add millrace/{landing} arn:minio:sqs::{target}:kafka --event put" in script
    assert "--ignore-existing" in script.split("mc event add")[1]  # a re-run is harmless
    assert setup["environment"]["MC_HOST_millrace"].endswith("@minio:9000")

    watcher = services["watcher"]
    assert watcher["environment"]["MILLRACE_WATCHER_NOTIFICATIONS"] == "true"
    assert watcher["depends_on"]["minio-notifications"]["condition"] == (
        "service_completed_successfully"
    )


def test_the_console_reads_each_service_where_compose_runs_it() -> None:
    services = compose()["services"]
    env = services["console"]["environment"]
    for name in ("registry", "ingestion", "training", "monitoring"):
        port = str(services[name]["ports"][0]).split(":")[-1]
        assert env[f"MILLRACE_CONSOLE_{name.upper()}_URL"] == f"http://{name}:{port}"
    assert env["MILLRACE_CONSOLE_DEPLOYMENT_URLS"] == '["http://deployment:8104"]'
    assert env["MILLRACE_CONSOLE_SESSION_SECRET"].startswith("${MILLRACE_CONSOLE_SESSION_SECRET:?")
