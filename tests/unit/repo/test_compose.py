"""docker-compose.yml stays in step with the services and the local stack.

CI has no Docker engine, so this checks the file's structure rather than running it.
"""

from __future__ import annotations

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


def test_every_service_is_built_from_its_own_dockerfile() -> None:
    services = compose()["services"]
    for name in SERVICES:
        assert name in services, f"{name} is missing from docker-compose.yml"
        build = services[name]["build"]
        assert build["context"] == "."
        assert (ROOT / build["dockerfile"]).is_file()
        assert build["dockerfile"] == f"services/{name}/Dockerfile"


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
        port = services[name]["ports"][0].split(":")[1]
        probe = "/health/live" if name == "deployment" else "/health/ready"
        command = " ".join(check["test"])
        assert check["test"][0] == "CMD"
        assert f"http://127.0.0.1:{port}{probe}" in command, name
        assert check["retries"] >= 1 and "start_period" in check


def test_the_console_reads_each_service_where_compose_runs_it() -> None:
    services = compose()["services"]
    env = services["console"]["environment"]
    for name in ("registry", "ingestion", "training", "monitoring"):
        port = services[name]["ports"][0].split(":")[1]
        assert env[f"MILLRACE_CONSOLE_{name.upper()}_URL"] == f"http://{name}:{port}"
    assert env["MILLRACE_CONSOLE_DEPLOYMENT_URLS"] == '["http://deployment:8104"]'
    assert env["MILLRACE_CONSOLE_SESSION_SECRET"].startswith("${MILLRACE_CONSOLE_SESSION_SECRET:?")
