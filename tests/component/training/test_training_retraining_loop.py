"""The retraining loop: new versions wait (on_new_data=false), drift trains the newest one."""

from __future__ import annotations

import asyncio
import logging

import pytest
from millrace_contracts import ModelTrained, TrainingRequested, first_of_flow
from millrace_training.core.state import TrainingState
from training_component_data import WAIT_SPEC, drift, iris_frame, promoted, validated
from training_component_service import Service

RETRAINING_RECORD = "s3://millrace-state-training/training/retraining/iris.json"


def state(service: Service) -> TrainingState:
    return TrainingState(service.store, service.settings.state_bucket("training"))


async def serve_v1_then_publish_v2(service: Service) -> tuple[ModelTrained, str]:
    """Model v1 on 120 rows in production; a 150-row version recorded but not trained."""
    await service.deliver(validated(service.store, iris_frame(120), training=WAIT_SPEC))
    [first] = service.sink.of_type(ModelTrained)
    await service.deliver(promoted(first, version=1))
    newer = validated(service.store, iris_frame(), training=WAIT_SPEC)
    await service.deliver(newer)
    return first, newer.dataset_version


async def test_on_new_data_false_records_the_version_without_training(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="millrace.training")
    first, newer = await serve_v1_then_publish_v2(service)

    assert service.sink.of_type(ModelTrained) == [first]  # the first model of a name trains
    newest = state(service).index("iris").newest()
    assert newest is not None and newest.dataset_version == newer
    latest = state(service).latest("iris")
    assert latest is not None and latest.dataset_version == newer
    assert "waiting for drift/degradation/request (on_new_data=false)" in caplog.text


async def test_drift_after_a_newer_version_retrains_on_it(service: Service) -> None:
    _, newer = await serve_v1_then_publish_v2(service)
    signal = drift()
    await service.deliver(signal)

    [_, retrained] = service.sink.of_type(ModelTrained)
    assert retrained.trigger == "drift" and retrained.dataset_version == newer
    assert retrained.causation_id == signal.event_id
    assert retrained.champion_version == 1


async def test_a_burst_of_five_drift_events_retrains_once(service: Service) -> None:
    await serve_v1_then_publish_v2(service)
    await asyncio.gather(*(service.deliver(drift()) for _ in range(5)))
    trained = service.sink.of_type(ModelTrained)
    assert [t.trigger for t in trained] == ["data", "drift"]
    record = state(service).retraining("iris")
    assert record is not None and record.dataset_version == trained[1].dataset_version


async def test_drift_without_a_newer_version_does_not_retrain(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="millrace.training")
    await service.deliver(validated(service.store, iris_frame(), training=WAIT_SPEC))
    [first] = service.sink.of_type(ModelTrained)
    await service.deliver(promoted(first, version=1))
    await service.deliver(drift())
    assert service.sink.of_type(ModelTrained) == [first]
    assert "nothing new to learn" in caplog.text
    assert not service.store.exists(RETRAINING_RECORD)


async def test_drift_does_not_retrain_a_version_the_registry_already_judged(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="millrace.training")
    await service.deliver(validated(service.store, iris_frame(120)))
    [first] = service.sink.of_type(ModelTrained)
    await service.deliver(promoted(first, version=1))
    await service.deliver(validated(service.store, iris_frame()))  # on_new_data: trained
    assert len(service.sink.of_type(ModelTrained)) == 2  # ... and, say, rejected

    await service.deliver(drift())
    assert len(service.sink.of_type(ModelTrained)) == 2
    assert "already trained, registry decided" in caplog.text
    assert not service.store.exists(RETRAINING_RECORD)  # no cooldown spent on nothing


async def test_a_request_without_version_trains_the_waiting_newest_version(
    service: Service,
) -> None:
    _, newer = await serve_v1_then_publish_v2(service)
    request = TrainingRequested(**first_of_flow(producer="cli"), dataset="iris")
    await service.deliver(request)
    trained = service.sink.of_type(ModelTrained)[-1]
    assert trained.causation_id == request.event_id and trained.trigger == "manual"
    assert trained.dataset_version == newer
