"""The local stack answers real clients: Kafka through aiokafka, S3 through minio."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from millrace_infra import StackInfo, read_state, start, status
from millrace_infra.stack import mend, stop_component
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import ensure_topics
from millrace_shared.settings import MillraceSettings
from minio import Minio
from minio.error import S3Error

pytestmark = pytest.mark.integration


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _s3(info: StackInfo, secret_key: str | None = None) -> Minio:
    return Minio(
        info.s3_endpoint,
        access_key=info.s3_access_key,
        secret_key=secret_key if secret_key is not None else info.s3_secret_key,
        secure=False,
    )


async def _listed_within(admin: AIOKafkaAdminClient, topic: str, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while topic not in await admin.list_topics():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


async def test_kafka_creates_a_topic_and_round_trips_a_message(
    stack_settings: MillraceSettings,
) -> None:
    topic = _unique("millrace.stack-test")
    # As the stack's admin: only it may create topics on the secured stack.
    options = kafka_options(stack_settings)
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        # The broker learns of a new topic from the metadata log a moment after the
        # controller accepts it: wait for it to be listed rather than expect it at once.
        assert await _listed_within(admin, topic, seconds=30)
    finally:
        await admin.close()

    producer = AIOKafkaProducer(**options, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b'{"hello": "kafka"}', key=b"dataset-a")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        **options,
        group_id=_unique("stack-test"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=60)
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"dataset-a", b'{"hello": "kafka"}')
    assert (record.partition, record.offset) == (sent.partition, sent.offset)


async def test_a_service_leaves_the_topics_to_the_secured_stack(
    local_stack: StackInfo, stack_settings_as: Callable[..., MillraceSettings], unique: str
) -> None:
    if not local_stack.secure or local_stack.kafka_settings:
        pytest.skip("needs the session's own secured stack (a service principal)")
    registry = stack_settings_as("registry", service_name="registry")
    # Neither allowed to create topics nor to see most of them: start-up goes on regardless.
    await ensure_topics(registry)
    await ensure_topics(registry, [f"millrace-test.{unique}"])
    admin = AIOKafkaAdminClient(**kafka_options(stack_settings_as("admin")))
    await admin.start()
    try:
        assert f"millrace-test.{unique}" not in await admin.list_topics()
    finally:
        await admin.close()


def test_s3_makes_a_bucket_and_round_trips_an_object(local_stack: StackInfo) -> None:
    client = _s3(local_stack)
    bucket, key, body = _unique("millrace-test"), "datasets/iris/v1.csv", b"a,b\n1,2\n"
    client.make_bucket(bucket)
    assert client.bucket_exists(bucket)
    client.put_object(bucket, key, io.BytesIO(body), len(body), content_type="text/csv")
    response = client.get_object(bucket, key)
    try:
        assert response.read() == body
    finally:
        response.close()
        response.release_conn()
    assert client.stat_object(bucket, key).size == len(body)


def test_s3_refuses_a_wrong_secret_key(local_stack: StackInfo) -> None:
    with pytest.raises(S3Error) as refused:
        _s3(local_stack, secret_key="not-the-secret").list_buckets()
    assert refused.value.code in {"SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId"}


def test_a_second_start_is_harmless(local_stack: StackInfo) -> None:
    if local_stack.home is None:
        pytest.skip("stack supplied through MILLRACE_* variables; not ours to restart")
    config = read_state(local_stack.home)
    assert config is not None
    pids_before = {name: s.pid for name, s in status(config).items()}
    assert start(config, timeout=30) == local_stack
    after = status(config)
    assert {name: s.pid for name, s in after.items()} == pids_before
    assert all(s.healthy for s in after.values())


def test_a_server_left_down_is_started_again_by_mend(local_stack: StackInfo) -> None:
    if local_stack.home is None:
        pytest.skip("stack supplied through MILLRACE_* variables; not ours to restart")
    config = read_state(local_stack.home)
    assert config is not None
    try:
        assert stop_component(config, "s3")
        assert not status(config)["s3"].healthy
        assert mend(config) == ["s3"]
        assert status(config)["s3"].healthy
        assert _s3(local_stack).bucket_exists(_unique("absent")) is False  # answers, signed
        assert mend(config) == []
    finally:
        mend(config)
