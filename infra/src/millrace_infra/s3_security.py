"""The secured stack's S3 identities: one per principal (as Kafka's), each allowed only the
buckets its party uses, plus the stack's own admin identity (its root key), which makes them.

SeaweedFS grants actions per bucket (``Read:<bucket>``, ``Write:<bucket>``, ``List:<bucket>``);
in this version a grant on a key prefix (``Write:<bucket>/<prefix>/*``) is not honoured, so
each service that keeps state has a state bucket of its own (``millrace-state-<service>``,
MillraceSettings.state_bucket), granted to it alone. Keys are random per stack home, in
<home>/s3/credentials.json (0600).
"""

from __future__ import annotations

import json
from pathlib import Path

from millrace_infra.config import StackConfig
from millrace_infra.errors import StackError
from millrace_infra.kafka_acls import ADMIN_USER
from millrace_infra.kafka_security import ensure_credentials, read_credentials, resolve_user

LANDING = "millrace-landing"
DATASETS = "millrace-datasets"
MODELS = "millrace-models"
STATE = "millrace-state"
"""Base name of the per-service state buckets."""
STATE_INGESTION = f"{STATE}-ingestion"
STATE_TRAINING = f"{STATE}-training"
STATE_REGISTRY = f"{STATE}-registry"
STATE_MONITORING = f"{STATE}-monitoring"
STATE_WATCHER = f"{STATE}-watcher"
STATE_BUCKETS = (
    STATE_INGESTION,
    STATE_TRAINING,
    STATE_REGISTRY,
    STATE_MONITORING,
    STATE_WATCHER,
)
BUCKETS = (LANDING, DATASETS, MODELS, *STATE_BUCKETS)
"""The buckets the stack makes (MillraceSettings' defaults)."""

READ = ("Read", "List")
WRITE = ("Write",)
READ_WRITE = (*READ, *WRITE)

GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "millrace-ingestion": {LANDING: READ, DATASETS: READ_WRITE, STATE_INGESTION: READ_WRITE},
    "millrace-training": {DATASETS: READ, MODELS: READ_WRITE, STATE_TRAINING: READ_WRITE},
    "millrace-registry": {STATE_REGISTRY: READ_WRITE},
    "millrace-deployment": {MODELS: READ},
    # Reference profiles are in the datasets bucket, next to the data (no per-key grants).
    "millrace-monitoring": {DATASETS: READ, STATE_MONITORING: READ_WRITE},
    # Lists the landing bucket; remembers what it announced in a bucket of its own.
    "millrace-watcher": {LANDING: READ, STATE_WATCHER: READ_WRITE},
    "millrace-data-teams": {LANDING: WRITE},
    "millrace-application-teams": {},
    "millrace-operators": {},
    # The store's own Kafka identity (its bucket notifications): nothing to do in S3.
    "millrace-object-store": {},
    # The web console reads REST APIs and dead letters: no bucket at all.
    "millrace-console": {},
}
"""Each principal's actions per bucket; a principal not named has none."""


def s3_home(config: StackConfig) -> Path:
    return config.home / "s3"


def config_path(config: StackConfig) -> Path:
    return s3_home(config) / "identities.json"


def identities(config: StackConfig, keys: dict[str, str]) -> list[dict[str, object]]:
    """SeaweedFS's identities: the admin (the stack's root key), then one per principal."""
    admin: dict[str, object] = {
        "name": ADMIN_USER,
        "credentials": [{"accessKey": config.s3_access_key, "secretKey": config.s3_secret_key}],
        "actions": ["Admin", "Read", "List", "Write", "Tagging"],
    }
    users: list[dict[str, object]] = [
        {
            "name": user,
            "credentials": [{"accessKey": user, "secretKey": secret}],
            "actions": [f"{a}:{b}" for b, acts in GRANTS.get(user, {}).items() for a in acts],
        }
        for user, secret in keys.items()
        if user != ADMIN_USER
    ]
    return [admin, *users]


def write_identities(config: StackConfig) -> Path:
    """The -s3.config file for weed, with keys made for principals that have none (0600)."""
    keys = ensure_credentials(s3_home(config))
    path = config_path(config)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"identities": identities(config, keys)}, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def s3_client_env(config: StackConfig, principal: str) -> dict[str, str]:
    """MILLRACE_S3_ACCESS_KEY / _SECRET_KEY of `principal` (``admin``: the stack's root)."""
    user = resolve_user(principal)
    if user == ADMIN_USER:
        key, secret = config.s3_access_key, config.s3_secret_key
    else:
        stored = read_credentials(s3_home(config))
        if stored is None or user not in stored:
            raise StackError(f"no S3 key for {user} in {s3_home(config)}: is the stack secured?")
        key, secret = user, stored[user]
    return {"MILLRACE_S3_ACCESS_KEY": key, "MILLRACE_S3_SECRET_KEY": secret}


def make_buckets(config: StackConfig) -> None:
    """The stack's buckets, made by its admin: the services' identities may not make them."""
    from minio import Minio  # imported here: only a secured start needs it

    client = Minio(
        f"127.0.0.1:{config.s3_port}",
        access_key=config.s3_access_key,
        secret_key=config.s3_secret_key,
        secure=False,
    )
    for bucket in BUCKETS:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
