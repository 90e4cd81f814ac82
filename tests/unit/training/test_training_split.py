from __future__ import annotations

import numpy as np
import pytest
from millrace_training.core.errors import CannotTrain
from millrace_training.core.split import cap_rows, holdout_id, split_holdout

VERSION = "ab" * 32


def labels() -> np.ndarray:
    return np.array(["a"] * 30 + ["b"] * 20 + ["c"] * 10, dtype=object)


def test_same_seed_same_rows() -> None:
    first = split_holdout(labels(), "classification", 0.2, 42, VERSION)
    again = split_holdout(labels(), "classification", 0.2, 42, VERSION)
    assert first.test.tolist() == again.test.tolist()
    assert first.train.tolist() == again.train.tolist()


def test_other_seed_other_rows() -> None:
    first = split_holdout(labels(), "classification", 0.2, 42, VERSION)
    other = split_holdout(labels(), "classification", 0.2, 43, VERSION)
    assert first.test.tolist() != other.test.tolist()


def test_partition_and_size() -> None:
    holdout = split_holdout(labels(), "classification", 0.2, 1, VERSION)
    assert len(holdout.test) == 12
    assert sorted([*holdout.train, *holdout.test]) == list(range(60))


def test_classification_is_stratified_when_possible() -> None:
    y = labels()
    holdout = split_holdout(y, "classification", 0.2, 5, VERSION)
    assert holdout.stratified
    values, counts = np.unique(y[holdout.test], return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == {"a": 6, "b": 4, "c": 2}


def test_a_class_with_one_member_falls_back_to_a_plain_split() -> None:
    y = np.array(["a"] * 20 + ["b"] * 19 + ["rare"], dtype=object)
    holdout = split_holdout(y, "classification", 0.25, 0, VERSION)
    assert not holdout.stratified
    assert len(holdout.test) == 10


def test_regression_is_not_stratified() -> None:
    holdout = split_holdout(np.linspace(0, 1, 50), "regression", 0.2, 0, VERSION)
    assert not holdout.stratified


def test_holdout_id_names_version_seed_and_fraction() -> None:
    assert holdout_id(VERSION, 42, 0.2) == f"{VERSION[:16]}:seed=42:frac=0.2"
    assert split_holdout(labels(), "classification", 0.2, 42, VERSION).holdout_id == holdout_id(
        VERSION, 42, 0.2
    )


def test_too_few_rows_cannot_be_split() -> None:
    with pytest.raises(CannotTrain):
        split_holdout(np.array([1.0, 2.0]), "regression", 0.5, 0, VERSION)


def test_cap_is_seeded_and_only_when_needed() -> None:
    rows = np.arange(100)
    assert cap_rows(rows, None, 0) is rows
    assert cap_rows(rows, 200, 0) is rows
    capped = cap_rows(rows, 10, 3)
    assert len(capped) == 10 and capped.tolist() == cap_rows(rows, 10, 3).tolist()
    assert set(capped) <= set(rows)
