"""The registry of modalities and target tasks: one style for both, one file.

A registry maps a name (a contract's `modality` or `task`) to the one object that serves it; the
pipeline's codecs register with a class decorator (`@MODALITIES.register`), and the rest of Braid looks
them up by name and never branches on one (Ludwig's `feature_registries.py`).

Example:
    >>> @TASKS.register
    ... class Ranking(TaskCodec):
    ...     name = "ranking"
    >>> TASKS.lookup("ranking", "target 'order'")  # the Ranking instance
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from components.errors import ContractError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Names → the instance of the class registered under each (its `name`), in registration order.

    Args:
        kind: what the names are ("modality", "task"), for error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, cls: type) -> type:
        """Class decorator: one instance of `cls` serves `cls.name`."""
        if cls.name in self._entries:
            raise ValueError(f"{self.kind} {cls.name!r} is registered twice")
        self._entries[cls.name] = cls()
        return cls

    def lookup(self, name: str, owner: str) -> T:
        """The entry for `name`; a ContractError naming `owner` (the contract's feature or target) and
        the known names when there is none."""
        try:
            return self._entries[name]
        except KeyError:
            raise ContractError(f"{owner}: no {self.kind} '{name}' (known: {self.names()})") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


MODALITIES: Registry = Registry("modality")
TASKS: Registry = Registry("task")
