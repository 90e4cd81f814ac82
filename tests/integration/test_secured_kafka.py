"""A secured stack (SASL_SSL + SCRAM-SHA-512 + ACLs) lets each principal produce and consume
exactly as the topic catalogue says, and nobody else in.

One stack of its own on free ports, without Zipkin (the session's `local_stack` may be an
external one, and this module needs the admin and every principal), started once for the
module and stopped even when a test fails. Clients are built by the same
`kafka_options` every service and the CLI use.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from millrace_contracts.topics import ALL_TOPICS as CATALOGUE
from millrace_contracts.topics import (
    CONSOLE,
    DEPLOYMENT,
    DLQ_SUFFIX,
    OPERATIONS,
    PRINCIPALS,
    REGISTRY,
    Party,
    Service,
)
from millrace_infra import StackConfig, kafka_client_env, start, stop
from millrace_infra.probes import kafka_answers
from millrace_infra.tls import new_ca
from millrace_shared.kafka import kafka_options
from millrace_shared.settings import MillraceSettings

pytestmark = pytest.mark.integration

# Raw topics (the object store's notifications) too: their ACLs come from the same catalogue.
BY_TOPIC = {spec.name: spec for spec in CATALOGUE}
ALL_TOPICS = [name for spec in CATALOGUE for name in (spec.name, spec.dlq)]
_PARALLEL = 32  # clients at once: enough to finish fast, few enough for a 2-core machine
_FETCH_WITHIN = 15.0


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    config = StackConfig.with_free_ports(
        home=tmp_path_factory.mktemp("secured-stack"), zipkin=False, secure=True
    )
    try:
        start(config)
        yield config
    finally:
        stop(config)


def _settings(config: StackConfig, user: str, **overrides: str | None) -> MillraceSettings:
    env = kafka_client_env(config, user)
    fields: dict[str, str | None] = {k.removeprefix("MILLRACE_").lower(): v for k, v in env.items()}
    return MillraceSettings.model_validate(fields | overrides)


def _user(party: Party) -> str:
    return PRINCIPALS[party].removeprefix("User:")


# What the catalogue says, stated independently of millrace_infra.kafka_acls.
def may_write(party: Party, topic: str) -> bool:
    spec = BY_TOPIC[topic.removesuffix(DLQ_SUFFIX)]
    if topic.endswith(DLQ_SUFFIX):
        return party in spec.dead_letter_producers
    replays = party in (OPERATIONS, CONSOLE) and bool(spec.dead_letter_producers)
    return party in spec.producers or replays


def may_read(party: Party, topic: str) -> bool:
    if party is OPERATIONS:
        return True
    if party is CONSOLE:  # dead letters only
        return topic.endswith(DLQ_SUFFIX)
    return not topic.endswith(DLQ_SUFFIX) and party in BY_TOPIC[topic].consumers


async def _seed(config: StackConfig) -> None:
    """One record on partition 0 of every topic, so an allowed fetch proves itself."""
    producer = AIOKafkaProducer(**kafka_options(_settings(config, "admin")), acks="all")
    await producer.start()
    try:
        await asyncio.gather(*(producer.send_and_wait(t, b"seed", partition=0) for t in ALL_TOPICS))
    finally:
        await producer.stop()


async def _produce_everywhere(settings: MillraceSettings) -> dict[str, bool]:
    """Whether each topic took a record from this principal's idempotent producer."""
    producer = AIOKafkaProducer(**kafka_options(settings), acks="all", enable_idempotence=True)
    await producer.start()

    async def one(topic: str) -> bool:
        try:
            await producer.send_and_wait(topic, b"probe", partition=0)
        except TopicAuthorizationFailedError:
            return False
        return True

    try:
        results = await asyncio.gather(*(one(t) for t in ALL_TOPICS))
    finally:
        await producer.stop()
    return dict(zip(ALL_TOPICS, results, strict=True))


async def _visible_topics(settings: MillraceSettings) -> set[str]:
    """Topics this principal may describe: Kafka leaves the others out of its metadata."""
    consumer = AIOKafkaConsumer(**kafka_options(settings), group_id=None)
    await consumer.start()
    try:
        return set(await consumer.topics())
    finally:
        await consumer.stop()


async def _can_fetch(settings: MillraceSettings, topic: str, gate: asyncio.Semaphore) -> bool:
    """Fetch the seed record from partition 0 (True) or be refused (False); no group, as
    the CLI reads."""
    async with gate:
        consumer = AIOKafkaConsumer(
            **kafka_options(settings), group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            deadline = time.monotonic() + _FETCH_WITHIN
            while time.monotonic() < deadline:
                try:
                    batch = await consumer.getmany(partition, timeout_ms=500)
                except TopicAuthorizationFailedError:
                    return False
                if batch.get(partition):
                    return True
            raise AssertionError(
                f"{settings.kafka_sasl_username} on {topic}: neither a record nor a refusal"
            )
        finally:
            await consumer.stop()


async def _may_consume(
    config: StackConfig, party: Party, gate: asyncio.Semaphore
) -> dict[str, bool]:
    settings = _settings(config, _user(party))
    visible = await _visible_topics(settings)
    checks = {t: _can_fetch(settings, t, gate) for t in ALL_TOPICS if t in visible}
    fetched = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    return {t: fetched.get(t, False) for t in ALL_TOPICS}


async def test_every_principal_produces_and_consumes_exactly_as_the_catalogue_says(
    secured: StackConfig,
) -> None:
    began = time.monotonic()
    await _seed(secured)
    gate = asyncio.Semaphore(_PARALLEL)
    parties = list(PRINCIPALS)
    produced, consumed = await asyncio.gather(
        asyncio.gather(*(_produce_everywhere(_settings(secured, _user(p))) for p in parties)),
        asyncio.gather(*(_may_consume(secured, p, gate) for p in parties)),
    )
    got = {
        (_user(p), t, op): outcome
        for p, writes, reads in zip(parties, produced, consumed, strict=True)
        for op, outcomes in (("write", writes), ("read", reads))
        for t, outcome in outcomes.items()
    }
    expected = {
        (_user(p), t, op): rule(p, t)
        for p in parties
        for t in ALL_TOPICS
        for op, rule in (("write", may_write), ("read", may_read))
    }
    wrong = sorted(
        f"{u} {op} {t}: expected {expected[u, t, op]}"
        for (u, t, op), v in got.items()
        if v != expected[u, t, op]
    )
    assert not wrong, "\n".join(wrong)
    assert any(expected.values())
    assert not all(expected.values())
    logging.getLogger(__name__).info("%d checks in %.1f s", len(got), time.monotonic() - began)


def _own_group(party: Party) -> str:
    if party is DEPLOYMENT:
        return f"{_user(party)}-replica-a"  # per-replica groups under the service's prefix
    if isinstance(party, Service):
        return _user(party)
    return f"{_user(party)}-my-app"


async def _group_allowed(settings: MillraceSettings, group: str, topic: str) -> bool:
    consumer = AIOKafkaConsumer(**kafka_options(settings), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.committed(TopicPartition(topic, 0))
    except GroupAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()
    return True


# A party that reads no topic (the landing watcher only produces) has no group at all; nor
# has the console, which reads dead letters without one.
READERS = [p for p in PRINCIPALS if p is not CONSOLE and any(may_read(p, t) for t in ALL_TOPICS)]


@pytest.mark.parametrize("party", READERS, ids=_user)
async def test_each_principal_uses_its_own_consumer_group_only(
    secured: StackConfig, party: Party
) -> None:
    settings = _settings(secured, _user(party))
    topic = next(t for t in ALL_TOPICS if may_read(party, t))
    stranger = _user(REGISTRY) if party is not REGISTRY else _user(DEPLOYMENT) + "-x"
    assert await _group_allowed(settings, _own_group(party), topic)
    # Operators DESCRIBE every Millrace group (its committed offsets: `status` shows lag).
    assert await _group_allowed(settings, stranger, topic) is (party is OPERATIONS)


async def _refused_at_bootstrap(
    caplog: pytest.LogCaptureFixture, reason: str, **options: object
) -> None:
    producer = AIOKafkaProducer(**options, request_timeout_ms=5000)
    with caplog.at_level(logging.ERROR, logger="aiokafka"):
        try:
            with pytest.raises(KafkaConnectionError):
                await producer.start()
        finally:
            await producer.stop()
    assert reason in caplog.text


async def test_a_wrong_password_is_refused(
    secured: StackConfig, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(secured, "registry", kafka_sasl_password="not-the-password")
    await _refused_at_bootstrap(caplog, "SaslAuthenticationFailed", **kafka_options(settings))


async def test_a_client_trusting_another_ca_is_refused_at_tls(
    secured: StackConfig, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    other.write_bytes(new_ca("Some other CA").cert_pem())
    settings = _settings(secured, "registry", kafka_tls_cafile=str(other))
    await _refused_at_bootstrap(caplog, "CERTIFICATE_VERIFY_FAILED", **kafka_options(settings))
    context = ssl.create_default_context(cafile=str(other))
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection("127.0.0.1", secured.kafka_port, ssl=context)


async def test_a_plaintext_client_gets_nowhere(
    secured: StackConfig, caplog: pytest.LogCaptureFixture
) -> None:
    bootstrap = f"127.0.0.1:{secured.kafka_port}"
    await _refused_at_bootstrap(caplog, "closed", bootstrap_servers=bootstrap)
    assert not kafka_answers("127.0.0.1", secured.kafka_port)
