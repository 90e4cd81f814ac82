"""The registry's REST API for its clients: its response models and a typed client."""

from .client import (
    RegistryBadAnswer,
    RegistryClient,
    RegistryError,
    RegistryRefused,
    RegistryTimeout,
    RegistryUnreachable,
)

__all__ = [
    "RegistryBadAnswer",
    "RegistryClient",
    "RegistryError",
    "RegistryRefused",
    "RegistryTimeout",
    "RegistryUnreachable",
]
