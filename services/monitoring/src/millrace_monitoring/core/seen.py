"""A bounded memory of keys (event ids, record positions), to drop what was handled already."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class SeenIds(Generic[K]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.repeats = 0
        """Items dropped because they were seen before."""
        self._keys: OrderedDict[K, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: K) -> None:
        self._keys[key] = None
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)
