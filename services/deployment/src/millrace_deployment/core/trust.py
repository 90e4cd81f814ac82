"""Whether a promotion is the registry's, points into the models bucket, and is news (ADR 0007).

Checked before anything is downloaded, for a ``model.promoted`` event and for the start-up
snapshot alike; a refusal is a ``LoadRefused`` like any other, so the current model keeps
serving and the refusal is reported as ``deployment.failed`` with its code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from millrace_contracts import ModelVersionInfo, PromotionSignature
from millrace_shared.objectstore import split_uri
from millrace_shared.signing import PromotionUnverified, VerifyKey

from .loading import LoadRefused, RefusalCode


@dataclass(frozen=True)
class Promotion:
    """What the deployer acts on, whichever way it came (event or snapshot)."""

    info: ModelVersionInfo
    sequence: int | None
    facts: bytes | None
    """The bytes the registry signed; None when there is no sequence to sign."""
    signature: PromotionSignature | None


@dataclass
class PromotionTrust:
    key: VerifyKey | None
    """The registry's public key; None only in dev without one (nothing is verified)."""
    models_bucket: str
    applied: dict[str, int] = field(default_factory=dict)
    """Sequence of the promotion each model is served from, once one had a sequence."""

    def authentic(self, promotion: Promotion) -> bool:
        """Whether the registry's key vouches for it (True when nothing is verified)."""
        if self.key is None:
            return True
        try:
            self.key.verify(promotion.facts, promotion.signature)
        except PromotionUnverified:
            return False
        return True

    def check(self, promotion: Promotion, serving: tuple[int, str] | None) -> None:
        """Raise ``LoadRefused`` unless ``promotion`` may replace what is served.

        ``serving``: (version, sha256) served now for the model, if any.
        """
        if self.key is not None:
            try:
                self.key.verify(promotion.facts, promotion.signature)
            except PromotionUnverified as error:
                raise LoadRefused(error.code, error.message) from error
        info = promotion.info
        bucket = _bucket(info.artifact.uri)
        if bucket != self.models_bucket:
            raise LoadRefused(
                RefusalCode.FOREIGN_LOCATION,
                f"{info.artifact.uri} is outside the models bucket {self.models_bucket!r}",
            )
        last = self.applied.get(info.model_name)
        if promotion.sequence is None or last is None:
            return
        same = serving == (info.version, info.artifact.sha256)
        # Equal and the same model is a redelivery; anything older is a replay.
        if promotion.sequence < last or (promotion.sequence == last and not same):
            raise LoadRefused(
                RefusalCode.STALE,
                f"promotion {promotion.sequence} of {info.model_name!r} is not newer than "
                f"promotion {last}, which is served",
            )

    def served(self, promotion: Promotion) -> None:
        """Remember the sequence of the promotion now served."""
        if promotion.sequence is not None:
            name = promotion.info.model_name
            self.applied[name] = max(promotion.sequence, self.applied.get(name, 0))


def _bucket(uri: str) -> str | None:
    try:
        return split_uri(uri)[0]
    except ValueError:
        return None
