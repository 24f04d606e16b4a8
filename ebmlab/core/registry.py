"""Name -> component registries. Unknown names give a message listing the known ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from .errors import EbmlabError

T = TypeVar("T")


class Registry(Generic[T]):
    """A small ordered mapping from names to components of one kind (e.g. 'sampler')."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise KeyError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise EbmlabError(f"unknown {self.kind} {name!r}; choose one of: {known}") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
