"""The soak's verdict, without a stack: what makes it exit 1."""

from __future__ import annotations

from .counts import SystemCounts, verdict


def test_clean_counts_pass() -> None:
    assert verdict(SystemCounts(arrivals=5, decided=5), 0, 0, excluding=None) == 0


def test_a_loss_a_duplicate_or_a_failed_request_fails() -> None:
    assert verdict(SystemCounts(arrivals=5, decided=4, lost=["a"]), 0, 0, excluding=None) == 1
    assert verdict(SystemCounts(duplicate_versions=1), 0, 0, excluding=None) == 1
    assert verdict(SystemCounts(), 1, 0, excluding=None) == 1
    assert verdict(SystemCounts(), 1, 1, excluding=None) == 0


def test_only_the_seeded_loss_can_be_set_aside() -> None:
    counts = SystemCounts(arrivals=5, decided=4, lost=["seeded"])
    assert verdict(counts, 0, 0, excluding="seeded") == 0
    counts.lost.append("other")
    assert verdict(counts, 0, 0, excluding="seeded") == 1
