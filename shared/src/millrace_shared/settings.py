"""Settings every service shares; each service subclasses ``MillraceSettings`` with its own."""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_S3_ACCESS_KEY = "millrace"
DEV_S3_SECRET_KEY = "millrace-dev-secret"

StatefulService = Literal["ingestion", "training", "registry", "monitoring", "watcher"]
STATEFUL_SERVICES: Final[tuple[StatefulService, ...]] = (
    "ingestion",
    "training",
    "registry",
    "monitoring",
    "watcher",
)
"""The services that keep state documents, each in a state bucket of its own."""


class MillraceSettings(BaseSettings):
    """Configuration read from ``MILLRACE_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="MILLRACE_", env_file=".env", extra="ignore")

    environment: Literal["dev", "prod"] = "prod"
    """``dev`` allows the local stack's well-known credentials; ``prod`` demands real ones.

    ``prod`` unless told otherwise, so a service started bare refuses the dev secrets; the
    local stack's launchers (``millrace up``, the test suites, the bench) set ``dev``."""
    service_name: str = "millrace"
    """Name used in traces, logs, DLQ headers and the Kafka client id."""

    kafka_bootstrap: str = "127.0.0.1:19092"
    """Comma-separated ``host:port`` list of Kafka brokers."""
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_tls_cafile: str | None = None
    """CA bundle for SSL / SASL_SSL; the system store when unset."""
    kafka_partitions: int = Field(default=3, ge=1)
    """Partitions of each topic the services create at start-up."""
    kafka_replication_factor: int | None = Field(default=None, ge=1)
    """Copies of each topic the services create; None: from the cluster's size
    (``replication_for``: 3 on three brokers or more, 1 on a single broker)."""
    kafka_min_insync_replicas: int | None = Field(default=None, ge=1)
    """``min.insync.replicas`` of each topic the services create; None: with the factor (2 of
    3 on a cluster, 1 on a single broker)."""
    kafka_partition_workers: int = Field(default=3, ge=1)
    """Consumers per subscriber of a service whose work waits on a per-message dependency
    (ingestion's arrivals, training's fits, the registry's trained models): each takes its
    own share of the topic's partitions, so a message waiting out a fault holds back only
    the partitions of its consumer. 1: one consumer for all of them (one waits, all wait).
    Past the topic's partitions, the extra consumers sit idle."""
    kafka_probe_seconds: float = Field(default=5.0, ge=0)
    """How often a service asks the cluster for its metadata, for ``/health/ready``: two
    unanswered rounds in a row report ``kafka`` down, the first answer reports it back.
    0: no probe (readiness then sees Kafka only through messages waiting on it)."""
    loop_stall_seconds: float = Field(default=0.1, ge=0)
    """Event-loop stalls longer than this are counted and logged with where the loop was
    stuck (``millrace_shared.stalls``; deployment's ``/stats`` shows them). 0: not watched."""
    kafka_max_attempts: int = Field(default=3, ge=1)
    """Tries of a failing handler before its message goes to the dead-letter topic."""
    kafka_retry_backoff_seconds: float = Field(default=0.5, ge=0)
    """First wait between tries of a failing handler; doubled after each failure."""
    kafka_transient_backoff_max_seconds: float = Field(default=30.0, gt=0)
    """Longest wait between tries while a dependency (S3, Kafka, the registry) is down. Such
    a message is tried until the dependency is back, never dead-lettered; this caps how long
    after its return the work resumes."""
    kafka_max_event_bytes: int = Field(default=900_000, ge=1024)
    """Largest event a service publishes (body, key and headers, bytes). Below Kafka's default
    ``max.request.size`` and ``message.max.bytes`` (about 1 MB), so an event the broker would
    refuse is refused here first, once, with a clear error instead of a retry loop."""

    s3_endpoint: str = "127.0.0.1:19094"
    """``host:port`` of the S3 API (MinIO, SeaweedFS, AWS)."""
    s3_access_key: str = DEV_S3_ACCESS_KEY
    s3_secret_key: SecretStr = SecretStr(DEV_S3_SECRET_KEY)
    s3_secure: bool = False
    s3_region: str | None = None
    bucket_landing: str = "millrace-landing"
    """Where data teams drop files."""
    bucket_datasets: str = "millrace-datasets"
    """Canonical dataset versions and their profiles."""
    bucket_models: str = "millrace-models"
    """Model artifacts, model cards and reference profiles."""
    bucket_state: str = "millrace-state"
    """Base name of the state buckets: each stateful service keeps its small state documents
    (registry records, idempotency markers, ...) in ``<bucket_state>-<service>``, a bucket of
    its own, so its S3 identity can be granted that bucket alone (S3 servers such as
    SeaweedFS grant per bucket, not per key prefix)."""

    otlp_endpoint: str | None = None
    """OTLP/HTTP traces endpoint, e.g. ``http://127.0.0.1:4318`` (production: Jaeger, Tempo, a
    vendor); nothing is exported over OTLP when unset."""
    zipkin_endpoint: str | None = None
    """Zipkin span intake, e.g. ``http://127.0.0.1:9411/api/v2/spans`` (the local stack's trace
    backend sets it); nothing is exported to Zipkin when unset. Both may be set."""
    trace_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _no_dev_secrets_outside_dev(self) -> Self:
        if self.environment != "dev" and (
            self.s3_secret_key.get_secret_value() == DEV_S3_SECRET_KEY
            or self.s3_access_key == DEV_S3_ACCESS_KEY
        ):
            raise ValueError(
                "MILLRACE_S3_ACCESS_KEY / MILLRACE_S3_SECRET_KEY must be set outside dev "
                "(the built-in values are for the local stack only)"
            )
        if self.kafka_sasl_mechanism and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError("MILLRACE_KAFKA_SASL_USERNAME and _PASSWORD are required with SASL")
        return self

    def state_bucket(self, service: StatefulService) -> str:
        """The bucket where only ``service`` keeps (and may write) its state."""
        return f"{self.bucket_state}-{service}"

    @property
    def state_buckets(self) -> tuple[str, ...]:
        return tuple(self.state_bucket(service) for service in STATEFUL_SERVICES)

    @property
    def buckets(self) -> tuple[str, ...]:
        return (self.bucket_landing, self.bucket_datasets, self.bucket_models, *self.state_buckets)


class ServiceSettings(MillraceSettings):
    """A service's settings: the shared ones plus the address its REST API listens on."""

    # Service-specific fields read MILLRACE_<SERVICE>_<FIELD> (explicit aliases) so that one
    # .env shared by several services cannot cross-wire them; the Python name stays short.
    model_config = SettingsConfigDict(populate_by_name=True)

    http_host: str = "127.0.0.1"
    """Interface the REST API (and the health endpoints) listens on."""
    http_port: int = Field(default=8100, ge=1, le=65535)
    """Port of the REST API; each service has its own default."""
