from __future__ import annotations

import asyncio
import json
import uuid

from millrace_contracts import (
    ModelTrained,
    TrainingRequested,
    first_of_flow,
)
from training_component_data import SPEC, degraded, drift, iris_frame, promoted, validated
from training_component_service import Service


async def test_validated_with_spec_emits_one_model_trained(service: Service) -> None:
    event = validated(service.store, iris_frame())
    await service.deliver(event)

    [trained] = service.sink.of_type(ModelTrained)
    assert trained.causation_id == event.event_id and trained.trigger == "data"
    assert trained.dataset_version == event.dataset_version
    assert trained.reference_profile == event.profile
    run = f"iris/runs/{trained.run_id}"
    assert service.store.list_keys("millrace-models", run) == [
        f"{run}/model.skops",
        f"{run}/model_card.json",
        f"{run}/model_trained.json",
    ]
    stored = ModelTrained.model_validate_json(
        service.store.get_bytes(f"s3://millrace-models/{run}/model_trained.json")
    )
    assert stored == trained
    assert service.store.exists("s3://millrace-state-training/training/iris/latest.json")
    assert service.runner.current is None


async def test_redelivery_does_not_train_twice(service: Service) -> None:
    event = validated(service.store, iris_frame())
    await service.deliver(event)
    await service.deliver(event)
    # Another arrival of the same content with the same spec is the same run, too.
    await service.deliver(validated(service.store, iris_frame()))
    assert len(service.sink.of_type(ModelTrained)) == 1


async def test_without_a_training_spec_state_is_kept_but_nothing_trained(service: Service) -> None:
    await service.deliver(validated(service.store, iris_frame(), training=None))
    assert service.sink.events == []
    assert service.store.exists("s3://millrace-state-training/training/iris/index.json")


async def test_spec_that_cannot_be_trained_is_recorded_as_failed_and_skipped(
    service: Service,
) -> None:
    bad = SPEC.model_copy(update={"target": "nope"})
    await service.deliver(validated(service.store, iris_frame(), training=bad))
    assert service.sink.events == []
    assert service.runner.current is None
    [failed] = service.runs.failed_runs("iris")
    assert failed.reason.code == "cannot_train" and "nope" in failed.reason.message
    # Only the failure record: no artifact, no card, not done.
    assert service.store.list_keys("millrace-models") == [f"iris/runs/{failed.run_id}/failed.json"]


async def test_champion_is_evaluated_on_the_same_holdout(service: Service) -> None:
    await service.deliver(validated(service.store, iris_frame(120)))
    [first] = service.sink.of_type(ModelTrained)
    await service.deliver(promoted(first, version=1))
    assert service.store.exists("s3://millrace-state-training/training/production/iris.json")

    await service.deliver(validated(service.store, iris_frame()))
    second = service.sink.of_type(ModelTrained)[-1]
    assert second.champion_version == 1
    assert second.champion_metrics is not None
    assert second.champion_metrics.holdout_id == second.metrics.holdout_id
    assert second.champion_metrics.holdout_rows == second.metrics.holdout_rows


async def test_training_requested_uses_the_latest_spec(service: Service) -> None:
    old = validated(service.store, iris_frame(120))
    await service.deliver(old)
    new_spec = SPEC.model_copy(update={"seed": 7})
    await service.deliver(validated(service.store, iris_frame(), training=new_spec))
    assert len(service.sink.of_type(ModelTrained)) == 2

    # The newest version with the latest spec is already trained: nothing new.
    await service.deliver(TrainingRequested(**first_of_flow(producer="cli"), dataset="iris"))
    assert len(service.sink.of_type(ModelTrained)) == 2

    request = TrainingRequested(
        **first_of_flow(producer="cli"),
        dataset="iris",
        dataset_version=old.dataset_version,
        trigger="manual",
    )
    await service.deliver(request)
    trained = service.sink.of_type(ModelTrained)[-1]
    assert len(service.sink.of_type(ModelTrained)) == 3
    assert trained.causation_id == request.event_id and trained.trigger == "manual"
    assert trained.dataset_version == old.dataset_version
    card = json.loads(service.store.get_bytes(trained.model_card.uri))
    assert card["seed"] == 7


async def test_training_requested_for_an_unknown_dataset_is_skipped(service: Service) -> None:
    await service.deliver(TrainingRequested(**first_of_flow(producer="cli"), dataset="ghost"))
    assert service.sink.events == []


async def test_a_drift_storm_leads_to_one_retraining(service: Service) -> None:
    await service.deliver(validated(service.store, iris_frame(120)))
    [first] = service.sink.of_type(ModelTrained)
    await service.deliver(promoted(first, version=1))
    # A newer version arrives but its training fails (the store is down) and is dead-lettered:
    # the drift signals are what bring it to training.
    newer = validated(service.store, iris_frame())
    service.store.failing = True
    await service.deliver(newer)
    service.store.failing = False
    assert len(service.sink.of_type(ModelTrained)) == 1

    await asyncio.gather(*(service.deliver(drift()) for _ in range(4)))
    retrained = service.sink.of_type(ModelTrained)[1:]
    assert len(retrained) == 1
    assert retrained[0].trigger == "drift" and retrained[0].dataset_version == newer.dataset_version
    assert retrained[0].champion_version == 1
    assert service.store.exists("s3://millrace-state-training/training/retraining/iris.json")

    await service.deliver(degraded())
    assert len(service.sink.of_type(ModelTrained)) == 2


async def test_drift_without_enough_new_rows_does_not_retrain(service: Service) -> None:
    await service.deliver(validated(service.store, iris_frame(145)))
    [first] = service.sink.of_type(ModelTrained)
    await service.deliver(promoted(first, version=1))
    service.store.failing = True
    await service.deliver(validated(service.store, iris_frame()))  # 5 rows more; 10 needed
    service.store.failing = False
    await service.deliver(drift())
    assert len(service.sink.of_type(ModelTrained)) == 1
    assert not service.store.exists("s3://millrace-state-training/training/retraining/iris.json")


async def test_redelivered_drift_after_a_crash_mid_fit_trains(service: Service) -> None:
    await service.deliver(validated(service.store, iris_frame(120)))
    [first] = service.sink.of_type(ModelTrained)
    await service.deliver(promoted(first, version=1))
    service.store.failing = True
    await service.deliver(validated(service.store, iris_frame()))
    signal = drift()
    await service.deliver(signal)  # retraining starts, its upload fails: dead-lettered
    service.store.failing = False
    assert len(service.sink.of_type(ModelTrained)) == 1
    assert service.store.exists("s3://millrace-state-training/training/retraining/iris.json")

    await service.deliver(signal)  # replayed: its own cooldown does not stop it
    assert len(service.sink.of_type(ModelTrained)) == 2
    assert uuid.UUID(str(service.sink.of_type(ModelTrained)[1].causation_id)) == signal.event_id
