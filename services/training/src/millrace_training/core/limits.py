"""How much one training job may cost: AutoML's search, estimator sizes, the artifact.

Two rules, one principle: what describes *the model* is never changed behind the declaring
team's back, what bounds *the search* is.

- An estimator parameter a spec sets beyond a bound (``n_estimators``, ``max_depth``,
  ``max_iter``) is refused (``parameter_out_of_bounds``): clamping it would train and publish
  a different model than the one declared, with a card saying so only in passing. The team
  fixes the declaration, which makes a new run.
- AutoML's wall-clock budget and number of candidates are clamped: they only decide how long
  the search looks, and a cut search still yields the best candidate found so far. AutoML's
  built-in parameter points are the platform's own choice, not a request, so they are clamped
  to the bounds too (the leaderboard shows the parameters used).
- An artifact above the limit is not uploaded (``artifact_too_large``): nothing downstream
  could load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from millrace_contracts import AutoMLSpec

from .errors import CannotTrain, FailureCode

MIB = 1024 * 1024


@dataclass(frozen=True)
class TrainingLimits:
    automl_max_seconds: float = 600.0
    """Ceiling on an AutoML spec's ``time_budget_seconds``."""
    automl_max_candidates: int = 20
    """Most (estimator, parameters) points one search cross-validates."""
    max_n_estimators: int = 500
    max_depth: int = 32
    max_iter: int = 10_000
    max_artifact_bytes: int = 512 * MIB

    def bounds(self) -> dict[str, int]:
        """Parameter name -> largest value allowed, for every estimator that has it."""
        return {
            "n_estimators": self.max_n_estimators,
            "max_depth": self.max_depth,
            "max_iter": self.max_iter,
        }

    def automl_seconds(self, spec: AutoMLSpec) -> float:
        return min(spec.time_budget_seconds, self.automl_max_seconds)

    def check_params(self, estimator: str, params: dict[str, Any]) -> None:
        """Refuse a declared parameter above its bound (``None``, e.g. unlimited depth, is the
        estimator's default and allowed: the other bounds and the artifact limit still hold)."""
        over = [
            f"{name}={params[name]!r} > {bound}"
            for name, bound in self.bounds().items()
            if isinstance(params.get(name), int | float) and params[name] > bound
        ]
        if over:
            raise CannotTrain(
                f"{estimator}: parameter(s) above the service's bounds: {', '.join(over)}",
                code=FailureCode.PARAMETER_OUT_OF_BOUNDS,
            )

    def clamp_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """AutoML's built-in points, each bounded parameter at most its bound."""
        bounds = self.bounds()
        return {
            name: min(value, bounds[name])
            if name in bounds and isinstance(value, int | float)
            else value
            for name, value in params.items()
        }

    def check_artifact(self, size: int) -> None:
        if size > self.max_artifact_bytes:
            raise CannotTrain(
                f"the serialised model is {size} bytes, above "
                f"MILLRACE_TRAINING_MAX_ARTIFACT_BYTES ({self.max_artifact_bytes}); not uploaded",
                code=FailureCode.ARTIFACT_TOO_LARGE,
            )
