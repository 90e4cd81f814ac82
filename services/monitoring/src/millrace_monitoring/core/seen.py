"""A bounded memory of keys (event ids, record positions), to drop what was handled already.

Each key may name its owner (the model an event is about), so the part of the memory that
belongs to some models can be checkpointed, restored or forgotten with their other state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class SeenIds(Generic[K]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.repeats = 0
        """Items dropped because they were seen before."""
        self._keys: OrderedDict[K, str] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: K, owner: str = "") -> None:
        self._keys[key] = owner
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)

    def items(self) -> list[tuple[K, str]]:
        """(key, owner), oldest first: a copy, taken in C (cheap under a lock)."""
        return list(self._keys.items())

    def restore(self, items: Iterable[tuple[K, str]]) -> None:
        for key, owner in items:
            self.add(key, owner)

    def forget(self, owners: Collection[str]) -> None:
        self._keys = OrderedDict((k, o) for k, o in self._keys.items() if o not in owners)
