"""Small value objects without `dataclasses`.

The linter starts in pre-commit hooks and CI steps, where start-up is most of its run time:
importing `dataclasses` (which imports `inspect`) and generating methods for a few dozen
classes costs more than linting a 12-block config. A :class:`Record` subclass lists its
fields in ``__slots__`` and writes its own ``__init__``; equality, hashing, ``repr`` and
``replace`` come from the slots.
"""

from __future__ import annotations


class Record:
    __slots__ = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes):
        """A copy with some fields changed, as ``dataclasses.replace`` does."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return type(self)(**values)
