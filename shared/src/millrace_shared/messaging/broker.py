"""The one way services build their Kafka broker: tracing, dead letters, at-least-once."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import ClusterAuthorizationFailedError, TopicAuthorizationFailedError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.middlewares import AckPolicy
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from millrace_contracts.topics import ALL_TOPICS, Replication, replication_for
from opentelemetry.sdk.trace import TracerProvider

from ..health import DependencyHealth
from ..kafka import bootstrap_servers, kafka_options
from ..settings import MillraceSettings
from .attributes import EventAttributesMiddleware
from .deadletter import DeadLetterMiddleware

logger = logging.getLogger("millrace.broker")
_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def kafka_security(settings: MillraceSettings) -> BaseSecurity | None:
    """``kafka_options`` as FastStream's security object: its broker takes no raw options."""
    options = kafka_options(settings)
    protocol = options["security_protocol"]
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=options["ssl_context"], use_ssl=True)
    return _SASL[options["sasl_mechanism"]](
        username=options["sasl_plain_username"] or "",
        password=options["sasl_plain_password"] or "",
        ssl_context=options.get("ssl_context"),
        use_ssl=protocol == "SASL_SSL",
    )


def make_broker(
    settings: MillraceSettings,
    *,
    tracer_provider: TracerProvider | None = None,
    health: DependencyHealth | None = None,
) -> tuple[KafkaBroker, DeadLetterMiddleware]:
    """A broker whose subscribers commit an offset only after the handler returned.

    Handler errors are classified (see ``deadletter``): a dependency's outage is waited out,
    poison is dead-lettered at once, anything else after bounded retries. Only a failure to
    dead-letter leaves the offset uncommitted, so the message comes back instead of vanishing.
    ``health`` hears of the outages being waited out.
    """
    dead_letters = DeadLetterMiddleware(
        service=settings.service_name,
        max_attempts=settings.kafka_max_attempts,
        backoff_seconds=settings.kafka_retry_backoff_seconds,
        transient_backoff_max_seconds=settings.kafka_transient_backoff_max_seconds,
        health=health,
    )
    broker = KafkaBroker(
        bootstrap_servers(settings),
        client_id=f"millrace-{settings.service_name}",
        security=kafka_security(settings),
        acks="all",
        enable_idempotence=True,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        middlewares=[
            KafkaTelemetryMiddleware(tracer_provider=tracer_provider),
            EventAttributesMiddleware,
            dead_letters,
        ],
        logger=logging.getLogger(f"millrace.{settings.service_name}"),
    )

    async def publish_dead_letter(
        value: bytes, topic: str, key: bytes | None, headers: dict[str, str]
    ) -> None:
        await broker.publish(value, topic=topic, key=key, headers=headers)

    dead_letters.bind(publish_dead_letter)
    return broker, dead_letters


# Kafka's error codes for a create refused by the ACLs (TOPIC_/CLUSTER_AUTHORIZATION_FAILED)
# and for a topic someone else created first (TOPIC_ALREADY_EXISTS).
_UNAUTHORIZED = frozenset({29, 31})
_ALREADY_EXISTS = 36
_told_provisioned = False


def _provisioned_elsewhere(missing: list[str]) -> None:
    # Logged once per process: every restart of a subscriber would repeat it otherwise.
    global _told_provisioned
    if not _told_provisioned:
        _told_provisioned = True
        logger.info(
            "not allowed to create topics (%d not visible to this principal): with ACLs, topics "
            "are provisioned by the stack (millrace-stack up) or an operator, not by services",
            len(missing),
        )


def topic_replication(settings: MillraceSettings, brokers: int) -> Replication:
    """The replication of topics created on a cluster of `brokers` brokers: replication_for
    its size, unless the settings fix the factor or min.insync.replicas."""
    factor = settings.kafka_replication_factor or replication_for(brokers).factor
    # A fixed factor keeps the policy's margin: one copy may be missing, at most 2 required.
    min_insync = settings.kafka_min_insync_replicas or replication_for(factor).min_insync
    return Replication(factor=factor, min_insync=min_insync)


async def ensure_topics(settings: MillraceSettings, names: list[str] | None = None) -> None:
    """Create every Millrace topic and its dead-letter topic if missing.

    Idempotent, so each service may call it at start-up and the first one wins. On a
    cluster with ACLs a service may neither create topics nor see those it has no right to
    describe: there the stack (or an operator) provisions them, and a refusal is no error.
    Creation stays for a plaintext cluster without ACLs (docker-compose). Topics are
    replicated as topic_replication says for the cluster's size (its described brokers).
    """
    wanted = names or [n for t in ALL_TOPICS for n in (t.name, t.dlq)]
    admin = AIOKafkaAdminClient(
        **kafka_options(settings, client_id=f"millrace-{settings.service_name}-admin")
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in wanted if n not in existing]
        if not missing:
            return
        cluster = await admin.describe_cluster()
        replication = topic_replication(settings, max(1, len(cluster.get("brokers") or [])))
        try:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=settings.kafka_partitions,
                        replication_factor=replication.factor,
                        topic_configs=replication.topic_configs(),
                    )
                    for name in missing
                ]
            )
        except (TopicAuthorizationFailedError, ClusterAuthorizationFailedError):
            _provisioned_elsewhere(missing)
            return
        errors = {str(e[0]): int(e[1]) for e in response.topic_errors if int(e[1]) != 0}
        if any(code in _UNAUTHORIZED for code in errors.values()):
            _provisioned_elsewhere(missing)
        if others := {
            n: c for n, c in errors.items() if c not in {*_UNAUTHORIZED, _ALREADY_EXISTS}
        }:
            logger.warning("creating topics failed (name: Kafka error code): %s", others)
        if created := [n for n in missing if n not in errors]:
            logger.info("created %d topic(s): %s", len(created), ", ".join(created))
    finally:
        await admin.close()
