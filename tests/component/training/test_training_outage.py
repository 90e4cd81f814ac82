"""S3 or Kafka down after a fit: the run is waited out, not refitted and not dead-lettered."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaTimeoutError
from millrace_contracts import Event, ModelTrained
from training_component_data import iris_frame, validated
from training_component_service import CountedFit, Service
from urllib3.exceptions import MaxRetryError, NewConnectionError


def s3_down() -> Exception:
    return MaxRetryError(None, "/millrace-models", NewConnectionError(None, "refused"))  # type: ignore[arg-type]


async def test_an_upload_failing_while_s3_is_down_is_retried_without_refitting(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = CountedFit(monkeypatch)
    service.store.failure, service.store.failing = s3_down(), True
    degraded: list[list[str]] = []

    async def outage_lasts_four_tries(_: float) -> None:
        degraded.append(list(service.runtime.dependencies.report()))
        if service.store.failed_uploads >= 4:
            service.store.failing = False  # S3 is back

    service.runtime.dead_letters.sleep = outage_lasts_four_tries
    await service.deliver(validated(service.store, iris_frame()))

    assert service.store.failed_uploads == 4
    assert counted.fits == 1, "the retries stored the first fit instead of fitting again"
    assert len(service.sink.of_type(ModelTrained)) == 1
    assert service.runtime.dead_letters.dead_lettered == 0
    assert degraded == [["s3"]] * 4, "reported down while waiting"
    assert service.runtime.dependencies.report() == {}


async def test_a_publish_failing_while_kafka_is_down_sends_the_same_event_again(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = CountedFit(monkeypatch)
    sink = service.sink
    attempts: list[Event] = []
    publish = sink.publish

    async def kafka_down_twice(event: Event) -> None:
        attempts.append(event)
        if len(attempts) <= 2:
            raise KafkaTimeoutError()
        await publish(event)

    monkeypatch.setattr(sink, "publish", kafka_down_twice)

    async def no_wait(_: float) -> None:
        pass

    service.runtime.dead_letters.sleep = no_wait
    await service.deliver(validated(service.store, iris_frame()))

    assert counted.fits == 1
    [trained] = sink.of_type(ModelTrained)
    assert [e.event_id for e in attempts] == [trained.event_id] * 3, "one event, sent again"
    assert service.runtime.dead_letters.dead_lettered == 0
    assert service.runs.is_done(trained.model_name, trained.run_id)
