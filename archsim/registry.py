"""One registry pattern for chip kinds, mappers and output formats.

    MAPPERS = Registry("mapper")
    @MAPPERS.register("gpu-default")
    def map_gpu(...): ...

Duplicate names raise; an unknown name lists what exists.
"""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

from archsim.errors import UnknownNameError
from archsim.spec import did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str):
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._items[name] = obj

    def get(self, name: str) -> T:
        if isinstance(name, str) and name in self._items:  # a list or a mapping is no name (unhashable)
            return self._items[name]
        raise UnknownNameError(
            f"unknown {self.what} {name!r}{did_you_mean(str(name), self._items)}; "
            f"known: {', '.join(sorted(self._items)) or '(none)'}"
        )

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return isinstance(name, str) and name in self._items

    def items(self):
        return sorted(self._items.items())
