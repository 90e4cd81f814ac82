"""The ``millrace`` command against the real broker and S3 server (no services running).

``events tail`` runs as a real process (the installed entry point) and has to print an event
published after it started; ``dlq`` reads and replays a letter the real dead-letter
middleware produced; ``publish`` uploads a file and announces it on the topic.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from millrace_cli.main import app
from millrace_contracts import DataArrived, TrainingRequested, cloudevents_headers, first_of_flow
from millrace_infra.ports import free_port
from millrace_shared.kafka import kafka_options
from millrace_shared.messaging import DLQ_HEADER_PREFIX, KafkaEventSink, ensure_topics, make_broker
from millrace_shared.objectstore import MinioObjectStore
from millrace_shared.settings import MillraceSettings
from millrace_shared.watch import EventWatcher
from typer.testing import CliRunner

pytestmark = pytest.mark.integration
runner = CliRunner()


TEST_TOPICS = "millrace-test."
"""Prefix of the topics tests make for themselves (see `operators_on_test_topics`)."""


@pytest.fixture(scope="module")
def operators_on_test_topics(local_stack: Any) -> None:
    """Let operators read, describe and replay to the tests' own topics, as they may the
    catalogue's: the CLI's `events tail` and `dlq` act as operators."""
    if not local_stack.secure or local_stack.home is None:
        return
    from millrace_infra.kafka_acls import AclBinding, Operation, Pattern, Resource
    from millrace_infra.kafka_provision import admin_client, create_acls

    admin = local_stack.kafka_env("admin")
    client = admin_client(
        local_stack.kafka_bootstrap,
        Path(admin["MILLRACE_KAFKA_TLS_CAFILE"]),
        admin["MILLRACE_KAFKA_SASL_PASSWORD"],
    )
    create_acls(
        client,
        [
            AclBinding("User:millrace-operators", Resource.TOPIC, Pattern.PREFIXED, TEST_TOPICS, op)
            for op in (Operation.READ, Operation.WRITE, Operation.DESCRIBE)
        ],
    )


@pytest.fixture
def cli_env(
    local_stack: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    operators_on_test_topics: None,
) -> Iterator[dict[str, str]]:
    """The CLI pointed at the session's stack: through its home, where it finds each
    principal's credentials itself, or (a stack given by the environment) as for a remote one."""
    for key in list(os.environ):
        if key.startswith("MILLRACE_"):
            monkeypatch.delenv(key)
    if local_stack.home is not None:
        where = {"MILLRACE_HOME": str(local_stack.home)}
    else:
        where = {
            **local_stack.env(),
            **local_stack.kafka_settings,
            "MILLRACE_HOME": str(tmp_path / "home"),
        }
    settings = {
        # A stack given by the environment is prod unless told: this one has dev credentials.
        "MILLRACE_ENVIRONMENT": "dev",
        **where,
        "MILLRACE_SERVICES_BASE_PORT": str(free_port()),
        "COLUMNS": "200",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    yield dict(os.environ)


async def publish(settings: MillraceSettings, event: DataArrived) -> None:
    broker, _ = make_broker(settings.model_copy(update={"service_name": "cli-test"}))
    await broker.start()
    try:
        await KafkaEventSink(broker).publish(event)
    finally:
        await broker.stop()


def stderr_lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_events_tail_prints_an_event_published_after_it_started(
    cli_env: dict[str, str], stack_settings: MillraceSettings, unique: str
) -> None:
    asyncio.run(ensure_topics(stack_settings))
    command = [sys.executable, "-m", "millrace_cli", "events", "tail", "data.arrived"]
    process = subprocess.Popen(
        [*command, "--json", "--count", "1", "--key", unique],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        errors = stderr_lines(process)
        first = errors.get(timeout=60)
        assert first.startswith("following millrace.data.arrived.v1 from now"), first
        sent = DataArrived(
            **first_of_flow(producer="test"),
            dataset=unique,
            uri=f"s3://millrace-landing/{unique}/a.csv",
        )
        asyncio.run(publish(stack_settings, sent))
        assert process.stdout is not None
        out = process.stdout.read()
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    line = json.loads(out)
    assert line["topic"] == "millrace.data.arrived.v1"
    assert line["key"] == unique
    assert line["value"]["event_id"] == str(sent.event_id)
    assert line["headers"]["ce_type"] == DataArrived.cloudevents_type()
    assert DataArrived.model_validate(line["value"]) == sent


def test_events_tail_from_the_beginning(
    cli_env: dict[str, str], stack_settings: MillraceSettings, unique: str
) -> None:
    topic = f"{TEST_TOPICS}{unique}"
    sent = DataArrived(
        **first_of_flow(producer="test"),
        dataset=unique,
        uri=f"s3://millrace-landing/{unique}/a.csv",
    )

    async def produce() -> None:
        await ensure_topics(stack_settings, [topic])  # the secured broker creates none itself
        broker, _ = make_broker(stack_settings)
        await broker.start()
        try:
            await broker.publish(sent.model_dump(mode="json"), topic=topic, key=unique.encode())
        finally:
            await broker.stop()

    asyncio.run(produce())
    result = runner.invoke(app, ["events", "tail", topic, "--from-beginning", "--json", "-n", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["value"]["event_id"] == str(sent.event_id)


async def dead_letter_one(settings: MillraceSettings, topic: str, key: str) -> None:
    """A real consumer with the real DLQ middleware dead-letters one unparseable message."""
    producer, _ = make_broker(settings.model_copy(update={"service_name": "cli-test-producer"}))
    consumer, _ = make_broker(settings.model_copy(update={"service_name": "cli-test"}))

    @consumer.subscriber(topic, group_id=f"{key}-group", auto_offset_reset="earliest")
    async def handle(event: DataArrived) -> None:
        pass

    await ensure_topics(settings, [topic, f"{topic}.dlq"])  # the secured broker creates none
    await producer.start()
    await consumer.start()
    try:
        sent = DataArrived(**first_of_flow(producer="t"), dataset=key, uri="s3://bucket/x/a.csv")
        headers = {**cloudevents_headers(sent), "x-origin": "cli-test"}
        await producer.publish(b"{not json", topic=topic, key=key.encode(), headers=headers)
        await records_of(settings, f"{topic}.dlq", key, count=1, within=60)
    finally:
        await consumer.stop()
        await producer.stop()


async def records_of(
    settings: MillraceSettings, topic: str, key: str, count: int, within: float = 30
) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, **kafka_options(settings), auto_offset_reset="earliest")
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(within):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found.extend(r for r in records if r.key == key.encode())
    finally:
        await consumer.stop()
    return found


def test_dlq_list_and_replay_a_real_dead_letter(
    cli_env: dict[str, str], stack_settings: MillraceSettings, unique: str
) -> None:
    topic = f"{TEST_TOPICS}{unique}"
    asyncio.run(dead_letter_one(stack_settings, topic, unique))

    listed = runner.invoke(app, ["dlq", "list", topic, "--json"])
    assert listed.exit_code == 0, listed.output
    [letter] = json.loads(listed.stdout)
    assert letter["dlq_topic"] == f"{topic}.dlq"
    assert letter["original_topic"] == topic
    assert letter["original_offset"] == 0
    assert letter["kind"] == "poison"
    assert letter["attempts"] == "1"
    assert letter["service"] == "cli-test"
    assert "Error" in letter["reason"]  # the parse error, e.g. JSONDecodeError: ...
    assert letter["key"] == unique and letter["value"] == "{not json"
    table = runner.invoke(app, ["dlq", "list", topic])
    assert "poison" in table.stdout and unique in table.stdout

    replayed = runner.invoke(
        app,
        [
            "dlq",
            "replay",
            topic,
            "--offset",
            str(letter["dlq_offset"]),
            "--partition",
            str(letter["dlq_partition"]),
        ],
    )
    assert replayed.exit_code == 0, replayed.output
    assert f"-> {topic} " in replayed.stdout
    assert "replayed 1 dead letter(s)" in replayed.stdout

    original, again = asyncio.run(records_of(stack_settings, topic, unique, count=2))
    assert again.value == original.value == b"{not json"
    headers = dict(again.headers)
    assert headers["x-origin"] == b"cli-test"
    assert headers["ce_id"] == dict(original.headers)["ce_id"]
    assert not any(k.startswith(DLQ_HEADER_PREFIX) for k in headers)


def test_publish_uploads_the_file_and_announces_it(
    cli_env: dict[str, str],
    local_stack: Any,
    stack_settings: MillraceSettings,
    object_store: MinioObjectStore,
    unique: str,
    tmp_path: Path,
) -> None:
    asyncio.run(ensure_topics(stack_settings))
    data = tmp_path / "sample.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(50_000)))
    digest = hashlib.sha256(data.read_bytes()).hexdigest()

    result = runner.invoke(app, ["publish", str(data), "--dataset", unique])
    assert result.exit_code == 0, result.output

    [key] = object_store.list_keys(stack_settings.bucket_landing, prefix=f"{unique}/")
    assert key.endswith("-sample.csv")
    uri = f"s3://{stack_settings.bucket_landing}/{key}"
    assert object_store.stat(uri).sha256 == digest
    assert object_store.get_bytes(uri) == data.read_bytes()

    async def arrival() -> DataArrived:
        async with EventWatcher(stack_settings, [DataArrived]) as watcher:
            [found] = await watcher.wait_for(DataArrived, lambda e: e.dataset == unique, within=30)
            return found

    event = asyncio.run(arrival())
    assert (event.uri, event.sha256, event.producer) == (uri, digest, "cli")
    assert str(event.event_id) in result.stderr
    # No --submitted-by: the submitter recorded is the principal the CLI published as.
    assert event.submitted_by == local_stack.kafka_env("data-teams").get(
        "MILLRACE_KAFKA_SASL_USERNAME"
    )


def test_the_cli_uploads_as_the_data_team_not_as_the_stacks_root(
    cli_env: dict[str, str],
    local_stack: Any,
    object_store: MinioObjectStore,
    monkeypatch: pytest.MonkeyPatch,
    unique: str,
    tmp_path: Path,
) -> None:
    """Pointed at the models bucket, `publish` is refused: the CLI's S3 identity is the data
    team's, which may write landing only (the root key it used before could write anything)."""
    if not local_stack.secure or local_stack.home is None:
        pytest.skip("per-principal S3 identities are the secured local stack's")
    data = tmp_path / "model.csv"
    data.write_text("x,y\n1,0\n")
    models = "millrace-models"
    monkeypatch.setenv("MILLRACE_BUCKET_LANDING", models)

    result = runner.invoke(app, ["publish", str(data), "--dataset", unique])

    assert result.exit_code == 1, result.output
    assert f"S3 refused the upload to s3://{models}/{unique}/" in result.output
    assert "AccessDenied" in result.output
    assert object_store.list_keys(models, prefix=f"{unique}/") == []


def test_status_json_shows_topics_and_their_lag(
    cli_env: dict[str, str], stack_settings: MillraceSettings
) -> None:
    asyncio.run(ensure_topics(stack_settings))
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["stack"]["kafka"]["healthy"] and report["stack"]["s3"]["healthy"]
    assert report["endpoints"]["kafka_bootstrap"] == stack_settings.kafka_bootstrap
    topics = {t["topic"] for t in report["topics"]}
    assert {"millrace.data.arrived.v1", "millrace.model.promoted.v1.dlq"} <= topics


def test_train_publishes_the_request_and_waits_for_its_flow(
    cli_env: dict[str, str], stack_settings: MillraceSettings, unique: str
) -> None:
    asyncio.run(ensure_topics(stack_settings))
    # No services run: the flow never ends, so --wait times out after publishing.
    result = runner.invoke(app, ["train", unique, "--reason", "test", "--wait", "--timeout", "2"])
    assert result.exit_code == 4, result.output

    async def request() -> TrainingRequested:
        async with EventWatcher(stack_settings, [TrainingRequested]) as watcher:
            [found] = await watcher.wait_for(
                TrainingRequested, lambda e: e.dataset == unique, within=30
            )
            return found

    event = asyncio.run(request())
    assert (event.note, event.trigger, event.dataset_version) == ("test", "manual", None)
    assert f"(flow {event.event_id})" in result.stderr
