"""The bench smoke tests' marker: ``pytest -m bench`` runs them alone, ``-m "not bench"``
leaves them out."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bench: runs bench/ in quick mode (no timing is asserted; keeps it from rotting)"
    )
