"""The registry app over in-memory fakes: FastStream's test broker, object store and sink."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from registry_component_support import Service, registry_service


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    async with registry_service() as service:
        yield service
