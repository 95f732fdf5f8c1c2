"""JSON parsing that keeps positions: every finding points at a line and column.

Parsing is done twice, on purpose. :func:`parse` uses the C ``json`` parser (fast, and
it is what Keras itself reads), and only notes whether some object repeats a key.
:class:`SourceMap` scans the text again, in pure Python, the first time a position is
asked for: clean files never pay for it.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass

# One JSON token, after optional whitespace: a punctuator, a string, or a bare literal
# (number, true, false, null). The text has already been parsed by `json`, so the
# scanner may be this loose.
_TOKEN = re.compile(r'[ \t\n\r]*(?:([\[\]{},:])|("(?:[^"\\]|\\.)*")|([^ \t\n\r\[\]{},:"]+))')


class Malformed(ValueError):
    """The text is not JSON; ``line`` and ``column`` are 1-based."""

    def __init__(self, reason: str, line: int, column: int):
        super().__init__(reason)
        self.reason, self.line, self.column = reason, line, column


class TooDeep(ValueError):
    """The JSON nests deeper than the parser's recursion limit."""


@dataclass(frozen=True)
class Parsed:
    value: object
    has_duplicate_keys: bool


def parse(text: str) -> Parsed:
    """Parse ``text`` as Keras does (the last of repeated keys wins), noting repeats."""
    repeats = False

    def pairs_to_dict(pairs: list[tuple[str, object]]) -> dict:
        nonlocal repeats
        result = dict(pairs)
        if len(result) != len(pairs):
            repeats = True
        return result

    try:
        value = json.loads(text, object_pairs_hook=pairs_to_dict)
    except json.JSONDecodeError as error:
        raise Malformed(error.msg, error.lineno, error.colno) from None
    except RecursionError:
        raise TooDeep("The JSON nests deeper than the parser allows (about 1,000 levels)") from None
    return Parsed(value, repeats)


def escape_token(token: str | int) -> str:
    """One JSON Pointer reference token (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_of(*tokens: str | int) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


@dataclass(frozen=True)
class Duplicate:
    pointer: str
    key: str
    offset: int
    first_offset: int


class SourceMap:
    """Offsets of every value (and of the key naming it) by JSON Pointer, built on demand."""

    def __init__(self, text: str):
        self._text = text
        self._offsets: dict[str, tuple[int | None, int]] | None = None
        self._duplicates: list[Duplicate] = []
        self._line_starts: list[int] | None = None

    def duplicates(self) -> list[Duplicate]:
        self._scan()
        return self._duplicates

    def position(self, pointer: str, at_key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at ``pointer``, or of its key with ``at_key``.

        A pointer that names nothing in the text (a missing member) falls back to its
        nearest existing ancestor, as Spectral does.
        """
        offsets = self._scan()
        while pointer not in offsets and pointer:
            pointer = pointer.rsplit("/", 1)[0]
        key_offset, value_offset = offsets.get(pointer, (None, 0))
        offset = key_offset if at_key and key_offset is not None else value_offset
        return self.line_column(offset)

    def line_column(self, offset: int) -> tuple[int, int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self._text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def _scan(self) -> dict[str, tuple[int | None, int]]:
        if self._offsets is not None:
            return self._offsets
        offsets: dict[str, tuple[int | None, int]] = {}
        # A frame per open container: [pointer, is_object, next_index, key, key_offset,
        # expecting_key, {key: offset}].
        stack: list[list] = []
        for match in _TOKEN.finditer(self._text):
            punct, string, literal = match.groups()
            start = match.start(1 if punct else 2 if string else 3)
            frame = stack[-1] if stack else None
            if punct in (":", ","):
                if punct == "," and frame and frame[1]:
                    frame[5] = True
                continue
            if punct in ("}", "]"):
                stack.pop()
                continue
            if frame is not None and frame[1] and frame[5]:
                key = json.loads(string) if "\\" in string else string[1:-1]
                first = frame[6].get(key)
                if first is not None:
                    pointer = frame[0] + "/" + escape_token(key)
                    self._duplicates.append(Duplicate(pointer, key, start, first))
                frame[6][key] = start
                frame[3], frame[4], frame[5] = key, start, False
                continue
            if frame is None:
                pointer, key_offset = "", None
            elif frame[1]:
                pointer, key_offset = frame[0] + "/" + escape_token(frame[3]), frame[4]
            else:
                pointer, key_offset = f"{frame[0]}/{frame[2]}", None
                frame[2] += 1
            offsets[pointer] = (key_offset, start)
            if punct == "{":
                stack.append([pointer, True, 0, None, None, True, {}])
            elif punct == "[":
                stack.append([pointer, False, 0, None, None, False, None])
        self._offsets = offsets
        return offsets
