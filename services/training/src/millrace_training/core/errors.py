"""Errors of the training core."""

from __future__ import annotations


class FailureCode:
    """Stable, machine-readable codes of a failed run (``Reason.code`` of its record)."""

    CANNOT_TRAIN = "cannot_train"
    """The spec or the data cannot be trained (the message says why)."""
    PARAMETER_OUT_OF_BOUNDS = "parameter_out_of_bounds"
    ARTIFACT_TOO_LARGE = "artifact_too_large"


class CannotTrain(ValueError):
    """This (dataset version, training spec) can never be trained: no retry would help.

    Raised for an estimator that does not fit the task, unknown parameters, missing columns,
    a target with a single class, a limit exceeded, and the like. The runner records the run
    as failed with ``code`` and moves on; fixing the declaration produces a new
    ``dataset.validated`` and so a new run.
    """

    def __init__(self, message: str, *, code: str = FailureCode.CANNOT_TRAIN) -> None:
        super().__init__(message)
        self.code = code


class UntrustedArtifact(ValueError):
    """A serialized model holds types outside the allow-list; it is not loaded."""
