"""The registry signs every promotion; its sequence counts alias moves (rollbacks too)."""

from __future__ import annotations

import pytest
from millrace_contracts import ModelPromoted
from millrace_registry.core.service import Registry
from millrace_registry.core.store import RegistryStore, SequenceTaken
from millrace_registry.core.views import RegistryViews
from millrace_registry.settings import RegistrySettings
from millrace_shared.signing import SigningKey
from pydantic import SecretStr, ValidationError
from registry_support import Clock, MakeTrained

KEY = SigningKey.generate()


@pytest.fixture
def signing(store: RegistryStore, clock: Clock) -> Registry:
    return Registry(store, clock=clock, signer=KEY)


def verified(event: object) -> ModelPromoted:
    assert isinstance(event, ModelPromoted)
    KEY.public.verify(event.signed_facts(), event.signature)
    return event


def test_policy_and_operator_promotions_are_signed_with_growing_sequences(
    signing: Registry, trained: MakeTrained, clock: Clock
) -> None:
    first = verified(signing.register_trained(trained("run-1", 0.9)))
    clock.advance()
    second = verified(signing.register_trained(trained("run-2", 0.95)))
    change = signing.plan_rollback("iris", reason="bad", actor="ops")
    rollback = verified(change.event)
    entry = signing.record(change)
    assert (first.model.version, second.model.version, rollback.model.version) == (1, 2, 1)
    assert first.sequence is not None and second.sequence is not None
    # A rollback promotes an older version with a newer sequence: its audit entry's.
    assert first.sequence < second.sequence < (rollback.sequence or 0) == entry.seq
    assert [e.seq for e in signing.store.audit("iris") if e.alias_move] == [
        first.sequence,
        second.sequence,
        rollback.sequence,
    ]


def test_a_redelivery_re_emits_the_same_signed_bytes(
    signing: Registry, trained: MakeTrained
) -> None:
    cause = trained("run-1", 0.9)
    first = verified(signing.register_trained(cause))
    assert signing.register_trained(cause) == first


def test_the_start_up_answer_carries_the_events_sequence_and_id(
    signing: Registry, store: RegistryStore, trained: MakeTrained
) -> None:
    signing.register_trained(trained("run-1", 0.9))
    change = signing.plan_promotion("iris", 1, reason="again", actor="ops", alias="staging")
    signing.record(change)  # a staging move is not production's
    second = verified(signing.register_trained(trained("run-2", 0.95)))
    answer = RegistryViews(store, KEY).production_promotion("iris")
    assert answer is not None
    assert (answer.model, answer.sequence, answer.event_id) == (
        second.model,
        second.sequence,
        second.event_id,
    )
    KEY.public.verify(answer.signed_facts(), answer.signature)
    assert answer.signature == second.signature


def test_an_announced_sequence_taken_by_another_writer_is_a_conflict(
    signing: Registry, trained: MakeTrained
) -> None:
    signing.register_trained(trained("run-1", 0.9))
    signing.register_trained(trained("run-2", 0.95))
    change = signing.plan_rollback("iris", reason="bad", actor="ops")
    signing.register_trained(trained("run-3", 0.5))  # another writer took the number
    with pytest.raises(SequenceTaken):
        signing.record(change)


def test_outside_dev_a_signing_key_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILLRACE_REGISTRY_SIGNING_KEY", raising=False)
    monkeypatch.delenv("MILLRACE_ENVIRONMENT", raising=False)
    prod = {
        "environment": "prod",
        "s3_access_key": "key",
        "s3_secret_key": SecretStr("x"),
    }
    with pytest.raises(ValidationError, match="MILLRACE_REGISTRY_SIGNING_KEY must be set"):
        RegistrySettings(**prod)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="MILLRACE_REGISTRY_SIGNING_KEY"):
        RegistrySettings(**prod, registry_signing_key=SecretStr("nope"))  # type: ignore[arg-type]
    settings = RegistrySettings(**prod, registry_signing_key=SecretStr(KEY.to_base64()))  # type: ignore[arg-type]
    signer = settings.signing_key()
    assert signer is not None and signer.public.key_id == KEY.public.key_id
    assert KEY.to_base64() not in repr(settings)
    assert RegistrySettings(environment="dev").signing_key() is None  # dev: unsigned, no key
