"""The models this replica serves: one immutable ``ServedModel`` reference per name."""

from __future__ import annotations

from types import MappingProxyType

from .served import ServedModel


class ModelCatalog:
    """Copy on write: a swap builds a new mapping and replaces the reference in one step, so a
    reader sees either the old or the new mapping, never one being changed; no lock on reads."""

    def __init__(self) -> None:
        self._models: MappingProxyType[str, ServedModel] = MappingProxyType({})

    def get(self, name: str) -> ServedModel | None:
        return self._models.get(name)

    def swap(self, served: ServedModel) -> ServedModel | None:
        """Serve ``served`` under its name; returns the model it replaced."""
        current = self._models
        self._models = MappingProxyType({**current, served.name: served})
        return current.get(served.name)

    def all(self) -> list[ServedModel]:
        return sorted(self._models.values(), key=lambda m: m.name)

    def __len__(self) -> int:
        return len(self._models)
