"""Errors of the training core."""

from __future__ import annotations


class CannotTrain(ValueError):
    """This (dataset version, training spec) can never be trained: no retry would help.

    Raised for an estimator that does not fit the task, unknown parameters, missing columns,
    a target with a single class, and the like. Handlers log it and move on; fixing the
    declaration produces a new ``dataset.validated`` and so a new run.
    """


class UntrustedArtifact(ValueError):
    """A serialized model holds types outside the allow-list; it is not loaded."""
