"""Where the platform is: environment first, then ``.millrace/`` (stack + services.json).

Every endpoint can be overridden with an environment variable, so the CLI can point at an
existing platform: MILLRACE_KAFKA_BOOTSTRAP, MILLRACE_S3_*, MILLRACE_<SERVICE>_URL,
MILLRACE_ZIPKIN_URL (MILLRACE_JAEGER_URL). Unset ones come from the local stack's state file and the services
``millrace up`` recorded, else from the fixed defaults (Kafka 19092, S3 19094, 8101-8105).

Kafka's credentials likewise: MILLRACE_KAFKA_SECURITY_PROTOCOL / _SASL_* / _TLS_CAFILE when
set; else, on the secured local stack, the credentials of the principal a command acts as
(data teams publish and train, operators tail, inspect and replay), from the stack's home.
S3's keys too: MILLRACE_S3_ACCESS_KEY / _SECRET_KEY when set, else that principal's own S3
identity on the secured local stack (data teams may only write the landing bucket), never the
stack's root key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from millrace_infra import StackConfig, StackError, StackInfo, read_state
from millrace_infra.state import S3_REGION
from millrace_shared.settings import STATEFUL_SERVICES
from pydantic import SecretStr

from .catalog import NAMES, default_ports
from .errors import CliError, unreachable
from .services_runtime import ServiceRecord, ServicesFile
from .settings import CliSettings, load_settings

Origin = Literal["env", "stack", "up", "default"]
Principal = Literal["data-teams", "application-teams", "operators"]
"""Who a command acts as on the secured local stack (services have principals of their own)."""
_KAFKA_AUTH_FIELDS = (
    "kafka_security_protocol",
    "kafka_sasl_mechanism",
    "kafka_sasl_username",
    "kafka_sasl_password",
    "kafka_tls_cafile",
)
_ENV_NAMES = {
    "kafka": "MILLRACE_KAFKA_BOOTSTRAP",
    "s3": "MILLRACE_S3_ENDPOINT",
    "jaeger": "MILLRACE_JAEGER_URL",
    "zipkin": "MILLRACE_ZIPKIN_URL",
    **{name: f"MILLRACE_{name.upper()}_URL" for name in NAMES},
}
_LABELS = {"kafka": "Kafka", "s3": "S3", "jaeger": "Jaeger", "zipkin": "Zipkin"}


@dataclass(frozen=True)
class Endpoints:
    settings: CliSettings
    """Kafka, S3 and buckets as resolved; hand it to clients (make_broker, EventWatcher...)."""
    stack: StackConfig
    """The local stack's config (its home holds services.json and the logs)."""
    services: dict[str, str]
    """Service name to base URL."""
    jaeger_url: str | None
    """A Jaeger query API named by MILLRACE_JAEGER_URL (the local stack runs Zipkin)."""
    origins: dict[str, Origin]
    principal: Principal | None = None
    """Whose Kafka credentials and S3 keys `settings` carry, when they come from the local
    stack."""
    zipkin_url: str | None = None
    """Zipkin's base URL (API at /api/v2, UI at /zipkin/): MILLRACE_ZIPKIN_URL, else the local
    stack's when that stack is the one in use."""

    @property
    def home(self) -> Path:
        return self.stack.home

    @property
    def s3_url(self) -> str:
        scheme = "https" if self.settings.s3_secure else "http"
        return f"{scheme}://{self.settings.s3_endpoint}"

    def url(self, service: str) -> str:
        return self.services[service]

    def acting_as(self, principal: Principal) -> Endpoints:
        """These endpoints with the local stack's Kafka credentials and S3 keys of `principal`.

        Each left as it is when it comes from the environment (an external cluster or S3:
        its settings win) or the local stack is not secured.
        """
        if not self.stack.secure:
            return self
        local = StackInfo.for_config(self.stack)
        update: dict[str, Any] = {}
        if self.origins.get("kafka") == "stack" and self.origins.get("kafka_auth") != "env":
            try:
                env = local.kafka_env(principal)
            except StackError as error:
                raise CliError(f"no Kafka credentials for {principal}: {error}") from error
            values = {k.removeprefix("MILLRACE_").lower(): v for k, v in env.items()}
            update |= {f: values.get(f) for f in _KAFKA_AUTH_FIELDS}
            if update["kafka_sasl_password"] is not None:
                update["kafka_sasl_password"] = SecretStr(update["kafka_sasl_password"])
        if self.origins.get("s3") == "stack" and self.origins.get("s3_auth") != "env":
            try:
                keys = local.s3_env(principal)
            except StackError as error:
                raise CliError(f"no S3 key for {principal}: {error}") from error
            update["s3_access_key"] = keys["MILLRACE_S3_ACCESS_KEY"]
            update["s3_secret_key"] = SecretStr(keys["MILLRACE_S3_SECRET_KEY"])
        if not update:
            return self
        settings = self.settings.model_copy(update=update)
        return replace(self, settings=settings, principal=principal)

    def hint(self, component: str) -> str:
        """What to do when a component does not answer: depends on where its address came from."""
        if self.origins.get(component) == "env":
            return f"check {_ENV_NAMES[component]}"
        return "run `millrace up`"

    def unreachable(self, component: str) -> CliError:
        where = {
            "kafka": self.settings.kafka_bootstrap,
            "s3": self.settings.s3_endpoint,
            "jaeger": self.jaeger_url or "-",
            "zipkin": self.zipkin_url or "-",
        }.get(component) or self.services[component]
        label = _LABELS.get(component, f"the {component} service")
        return unreachable(label, where, self.hint(component))

    def as_dict(self) -> dict[str, Any]:
        """Every endpoint, for ``status --json`` (the S3 secret is left out)."""
        s = self.settings
        return {
            "kafka_bootstrap": s.kafka_bootstrap,
            "s3": {
                "endpoint": s.s3_endpoint,
                "url": self.s3_url,
                "access_key": s.s3_access_key,
                "buckets": {
                    "landing": s.bucket_landing,
                    "datasets": s.bucket_datasets,
                    "models": s.bucket_models,
                    "state": {svc: s.state_bucket(svc) for svc in STATEFUL_SERVICES},
                },
            },
            "zipkin_url": self.zipkin_url,
            "jaeger_url": self.jaeger_url,
            "otlp_endpoint": s.otlp_endpoint,
            "zipkin_endpoint": s.zipkin_endpoint,
            "services": dict(self.services),
            "registry_url": self.services["registry"],
            "deployment_url": self.services["deployment"],
            "home": str(self.home),
            "origins": dict(self.origins),
        }


def stack_config() -> StackConfig:
    """The running (or last started) local stack's config, else the one ``up`` would use."""
    config = StackConfig.from_env()
    return read_state(config.home) or config


def resolve(
    settings: CliSettings | None = None, *, principal: Principal | None = None
) -> Endpoints:
    """Every endpoint; with `principal`, Kafka's credentials as that party (acting_as)."""
    settings = settings or load_settings()
    fallback = StackConfig.from_env()
    state = read_state(fallback.home)
    config = state or fallback
    origins: dict[str, Origin] = {}
    settings = _with_stack(settings, StackInfo.for_config(config), state is not None, origins)
    services = _service_urls(settings, ServicesFile(config.home).read(), origins)
    zipkin = settings.zipkin_url or (
        StackInfo.for_config(config).zipkin_url if origins["zipkin"] == "stack" else None
    )
    if settings.zipkin_url:
        origins["zipkin"] = "env"
    origins["jaeger"] = "env" if settings.jaeger_url else "default"
    endpoints = Endpoints(
        settings=settings,
        stack=config,
        services=services,
        jaeger_url=settings.jaeger_url.rstrip("/") if settings.jaeger_url else None,
        origins=origins,
        zipkin_url=zipkin.rstrip("/") if zipkin else None,
    )
    return endpoints.acting_as(principal) if principal else endpoints


def _with_stack(
    settings: CliSettings, local: StackInfo, started: bool, origins: dict[str, Origin]
) -> CliSettings:
    """Kafka, S3 (and Zipkin) of the local stack where the environment does not set them."""
    from_env = settings.model_fields_set
    stack: Origin = "stack" if started else "default"
    update: dict[str, Any] = {}
    origins["kafka"] = "env" if "kafka_bootstrap" in from_env else stack
    origins["kafka_auth"] = "env" if from_env.intersection(_KAFKA_AUTH_FIELDS) else origins["kafka"]
    if origins["kafka"] != "env":
        update["kafka_bootstrap"] = local.kafka_bootstrap
    origins["s3"] = "env" if "s3_endpoint" in from_env else stack
    origins["s3_auth"] = "env" if from_env & {"s3_access_key", "s3_secret_key"} else origins["s3"]
    if origins["s3"] != "env":
        update["s3_endpoint"] = local.s3_endpoint
        if "s3_access_key" not in from_env:
            update["s3_access_key"] = local.s3_access_key
        if "s3_secret_key" not in from_env:
            update["s3_secret_key"] = SecretStr(local.s3_secret_key)
        if "s3_region" not in from_env:
            # SeaweedFS's: a client that knows it asks no GetBucketLocation, which an identity
            # allowed only to write (data teams on landing) may not.
            update["s3_region"] = S3_REGION
    # The local stack's Zipkin only when that stack is the one in use.
    origins["zipkin"] = "stack" if started and origins["kafka"] == "stack" else "default"
    zipkin_env = local.env().get("MILLRACE_ZIPKIN_ENDPOINT")
    if origins["zipkin"] == "stack" and zipkin_env and "zipkin_endpoint" not in from_env:
        update["zipkin_endpoint"] = zipkin_env  # the CLI's publish spans join the trace
    return settings.model_copy(update=update) if update else settings


def _service_urls(
    settings: CliSettings, recorded: dict[str, ServiceRecord], origins: dict[str, Origin]
) -> dict[str, str]:
    """MILLRACE_<NAME>_URL, else where ``up`` started it, else the default port."""
    defaults = default_ports(settings.services_base_port)
    services: dict[str, str] = {}
    for name in NAMES:
        if (url := settings.service_url(name)) is not None:
            services[name], origins[name] = url, "env"
        elif name in recorded:
            services[name], origins[name] = recorded[name].url, "up"
        else:
            services[name], origins[name] = f"http://127.0.0.1:{defaults[name]}", "default"
    return services
