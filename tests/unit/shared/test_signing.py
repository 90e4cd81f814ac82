"""Promotion signatures: what the registry signs, a verifier accepts, and nothing else."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from millrace_contracts import (
    ArtifactRef,
    Metrics,
    ModelPromoted,
    ModelVersionInfo,
    PromotionSignature,
    first_of_flow,
    promotion_facts,
)
from millrace_shared.signing import (
    InvalidKey,
    PromotionUnverified,
    SigningKey,
    VerifyKey,
    ensure_keypair,
)

SHA = "ab" * 32


def info(
    version: int = 3, uri: str = "s3://millrace-models/iris/runs/r/model.skops"
) -> ModelVersionInfo:
    artifact = ArtifactRef(uri=uri, sha256=SHA, size_bytes=10)
    return ModelVersionInfo(
        model_name="iris",
        version=version,
        run_id="r",
        dataset="iris",
        dataset_version=SHA,
        task="classification",
        artifact=artifact,
        model_card=artifact,
        reference_profile=artifact,
        signature=[],
        metrics=Metrics(values={"accuracy": 0.9}, holdout_id="h", holdout_rows=10),
    )


def signed(key: SigningKey, sequence: int = 7) -> ModelPromoted:
    event = ModelPromoted(**first_of_flow(producer="registry"), model=info(), sequence=sequence)
    facts = event.signed_facts()
    assert facts is not None
    return event.model_copy(update={"signature": key.sign(facts)})


def verdict(key: VerifyKey, event: ModelPromoted) -> str | None:
    try:
        key.verify(event.signed_facts(), event.signature)
    except PromotionUnverified as error:
        return error.code
    return None


def test_a_signed_promotion_verifies_and_survives_the_wire() -> None:
    key = SigningKey.generate()
    event = signed(key)
    again = ModelPromoted.model_validate_json(event.model_dump_json())
    assert verdict(key.public, again) is None
    assert event.signature is not None and event.signature.key_id == key.public.key_id


@pytest.mark.parametrize(
    "change",
    [
        {"model": info(version=999)},
        {"model": info(uri="s3://elsewhere/iris/model.skops")},
        {"sequence": 8},
        {"alias": "staging"},
        {"event_id": uuid.uuid4()},
    ],
    ids=["version", "artifact-uri", "sequence", "alias", "event-id"],
)
def test_a_tampered_fact_breaks_the_signature(change: dict[str, object]) -> None:
    key = SigningKey.generate()
    tampered = signed(key).model_copy(update=change)
    assert verdict(key.public, tampered) == PromotionUnverified.BAD_SIGNATURE


def test_a_changed_digest_breaks_the_signature() -> None:
    key = SigningKey.generate()
    event = signed(key)
    artifact = event.model.artifact.model_copy(update={"sha256": "cd" * 32})
    model = event.model.model_copy(update={"artifact": artifact})
    assert verdict(key.public, event.model_copy(update={"model": model})) == "bad_signature"


def test_another_key_is_refused_even_under_the_registry_key_id() -> None:
    registry, other = SigningKey.generate(), SigningKey.generate()
    forged = signed(other)
    assert verdict(registry.public, forged) == PromotionUnverified.UNKNOWN_KEY
    assert forged.signature is not None
    disguised = forged.model_copy(
        update={"signature": forged.signature.model_copy(update={"key_id": registry.public.key_id})}
    )
    assert verdict(registry.public, disguised) == PromotionUnverified.BAD_SIGNATURE


def test_unsigned_or_unsequenced_promotions_are_refused() -> None:
    key = SigningKey.generate()
    assert (
        verdict(key.public, signed(key).model_copy(update={"signature": None}))
        == "unsigned_promotion"
    )
    assert (
        verdict(key.public, signed(key).model_copy(update={"sequence": None}))
        == "unsigned_promotion"
    )
    garbage = PromotionSignature(key_id=key.public.key_id, value="not base64!")
    assert (
        verdict(key.public, signed(key).model_copy(update={"signature": garbage}))
        == "bad_signature"
    )


def test_the_signed_bytes_are_canonical_json_of_the_facts() -> None:
    event_id = uuid.UUID(int=1)
    facts = promotion_facts(info(), alias="production", sequence=7, event_id=event_id)
    assert facts == (
        b"millrace.model.promoted.v1\n"
        b'{"alias":"production","artifact_sha256":"' + SHA.encode() + b'",'
        b'"artifact_uri":"s3://millrace-models/iris/runs/r/model.skops",'
        b'"event_id":"00000000-0000-0000-0000-000000000001","model":"iris","sequence":7,'
        b'"version":3}'
    )


def test_keys_parse_from_base64_and_pem() -> None:
    key = SigningKey.generate()
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert SigningKey.parse(pem).public.key_id == key.public.key_id
    assert SigningKey.parse(key.to_base64()).public.key_id == key.public.key_id
    assert VerifyKey.parse(public_pem).key_id == key.public.key_id
    assert VerifyKey.parse(key.public.to_base64()).key_id == key.public.key_id
    for bad in ("not a key", "AAAA", "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----"):
        with pytest.raises(InvalidKey):
            SigningKey.parse(bad)


def test_one_keypair_per_home_private_key_owner_only(tmp_path: Path) -> None:
    first = ensure_keypair(tmp_path / "home")
    assert ensure_keypair(tmp_path / "home") == first
    assert first != ensure_keypair(tmp_path / "other")
    private = tmp_path / "home" / "promotion-signing.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert VerifyKey.parse(first.public).key_id == SigningKey.parse(first.private).public.key_id
