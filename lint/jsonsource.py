"""JSON parsing that keeps positions: every finding points at a line and column.

Parsing is done twice, on purpose. :func:`parse` uses the C ``json`` parser (fast, and
it is what Keras itself reads), and only notes whether some object repeats a key. It calls
that parser without importing the ``json`` package (:func:`loads`): the package compiles
regular expressions and loads its encoder on import, which costs as much as parsing a
12-block config, and the linter is started cold by every pre-commit run.
:class:`SourceMap` scans the text again, in pure Python, the first time a position is
asked for: clean files never pay for it.
"""

from __future__ import annotations

import re

from kmha_lint.record import Record

try:  # CPython's C scanner, which the json package wraps (see `loads`)
    from _json import make_scanner as _c_scanner
except ImportError:  # another Python: `loads` uses the json package
    _c_scanner = None

# One JSON token, after optional whitespace: a punctuator, a string, or a bare literal
# (number, true, false, null). The text has already been parsed by `json`, so the
# scanner may be this loose. (Compiled by `re` on first use: clean files never scan.)
_TOKEN = r'[ \t\n\r]*(?:([\[\]{},:])|("(?:[^"\\]|\\.)*")|([^ \t\n\r\[\]{},:"]+))'


class Malformed(ValueError):
    """The text is not JSON; ``line`` and ``column`` are 1-based."""

    def __init__(self, reason: str, line: int, column: int):
        super().__init__(reason)
        self.reason, self.line, self.column = reason, line, column


class TooDeep(ValueError):
    """The JSON nests deeper than the parser's recursion limit."""


# Python refuses to turn longer digit strings into ints (sys.int_max_str_digits), so Keras,
# which reads configs with `json.loads`, cannot read such a number.
MAX_INT_DIGITS = 4300
NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})


class TooLongInt(float):
    """Stands in for an integer literal too long to convert; it compares like infinity."""

    def __new__(cls, digits: int):
        self = super().__new__(cls, "inf")
        self.digits = digits
        return self

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


class Parsed(Record):
    """The parsed value, and whether SourceMap has repeats or odd number literals to locate."""

    __slots__ = ("value", "has_duplicate_keys", "has_odd_numbers")

    def __init__(self, value: object, has_duplicate_keys: bool, has_odd_numbers: bool = False):
        self.value, self.has_duplicate_keys, self.has_odd_numbers = (
            value,
            has_duplicate_keys,
            has_odd_numbers,
        )


def parse(text: str) -> Parsed:
    """Parse ``text`` as Keras does (the last of repeated keys wins), noting repeats,
    NaN/Infinity literals and integers too long to convert (never an exception for those)."""
    repeats = odd = False

    def pairs_to_dict(pairs: list[tuple[str, object]]) -> dict:
        nonlocal repeats
        result = dict(pairs)
        if len(result) != len(pairs):
            repeats = True
        return result

    def constant(name: str) -> float:
        nonlocal odd
        odd = True
        return float(name.replace("Infinity", "inf"))

    def integer(digits: str) -> int | float:
        nonlocal odd
        if len(digits) - digits.startswith("-") > MAX_INT_DIGITS:
            odd = True
            return TooLongInt(len(digits))
        return int(digits)

    def load(**hooks) -> object:
        try:
            return loads(text, object_pairs_hook=pairs_to_dict, **hooks)
        except RecursionError:
            raise TooDeep(
                "The JSON nests deeper than the parser allows (about 1,000 levels)"
            ) from None

    try:
        # `parse_int` is left to the C parser (a Python hook per integer costs a quarter
        # of the parse); only a file it refuses is read again with the hook.
        value = load(parse_constant=constant)
    except (Malformed, TooDeep):
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        repeats = odd = False
        value = load(parse_constant=constant, parse_int=integer)
    return Parsed(value, repeats, odd)


_WHITESPACE = " \t\n\r"  # JSON's


class _ScannerSettings:
    """What the C scanner reads from the decoder that owns it (as json.loads sets it)."""

    def __init__(self, object_pairs_hook, parse_int, parse_constant):
        self.strict, self.object_hook, self.parse_float = True, None, float
        self.object_pairs_hook = object_pairs_hook
        self.parse_int = parse_int or int
        self.parse_constant = parse_constant or _constant


def _constant(name: str) -> float:
    return float(name.replace("Infinity", "inf"))  # NaN, Infinity, -Infinity


def loads(text: str, object_pairs_hook=None, parse_int=None, parse_constant=None) -> object:
    """``json.loads(text, ...)`` with these hooks: the same value, or :class:`Malformed`
    with the message, line and column of json's JSONDecodeError. Other exceptions pass
    through as json raises them (ValueError for an integer too long to convert,
    RecursionError for too deep a nesting)."""
    if _c_scanner is None or text.startswith("\ufeff"):  # json refuses a BOM, and says so
        import json

        try:
            return json.loads(
                text,
                object_pairs_hook=object_pairs_hook,
                parse_int=parse_int,
                parse_constant=parse_constant,
            )
        except json.JSONDecodeError as error:
            raise Malformed(error.msg, error.lineno, error.colno) from None
    scan = _c_scanner(_ScannerSettings(object_pairs_hook, parse_int, parse_constant))
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = scan(text, start)
    except StopIteration as stop:
        raise _malformed("Expecting value", text, stop.value) from None
    except ValueError as error:
        if not hasattr(error, "lineno"):  # not a JSONDecodeError
            raise
        raise Malformed(error.msg, error.lineno, error.colno) from None
    rest = text[end:]
    if rest.strip(_WHITESPACE):
        raise _malformed("Extra data", text, end + len(rest) - len(rest.lstrip(_WHITESPACE)))
    return value


def _malformed(reason: str, text: str, offset: int) -> Malformed:
    return Malformed(reason, text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))


def escape_token(token: str | int) -> str:
    """One JSON Pointer reference token (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_of(*tokens: str | int) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


class Span(Record):
    """Where a finding points: 1-based start line and column, and the end (exclusive)."""

    __slots__ = ("line", "column", "end_line", "end_column")

    def __init__(self, line: int, column: int, end_line: int, end_column: int):
        self.line, self.column, self.end_line, self.end_column = line, column, end_line, end_column


class OddNumber(Record):
    """A number literal Keras's reader treats specially: NaN/Infinity, or too many digits."""

    __slots__ = ("pointer", "literal", "too_long")

    def __init__(self, pointer: str, literal: str, too_long: bool):
        self.pointer, self.literal, self.too_long = pointer, literal, too_long


class Duplicate(Record):
    """A repeated key: where it is, and where its first occurrence is."""

    __slots__ = ("pointer", "key", "offset", "first_offset")

    def __init__(self, pointer: str, key: str, offset: int, first_offset: int):
        self.pointer, self.key, self.offset, self.first_offset = pointer, key, offset, first_offset


class SourceMap:
    """Spans of every value (and of the key naming it) by JSON Pointer, built on demand."""

    def __init__(self, text: str):
        self._text = text
        # pointer -> (key start, key end, value start, value end); keys are None in arrays
        self._spans: dict[str, list] | None = None
        self._duplicates: list[Duplicate] = []
        self._odd_numbers: list[OddNumber] = []
        self._line_starts: list[int] | None = None

    def duplicates(self) -> list[Duplicate]:
        self._scan()
        return self._duplicates

    def odd_numbers(self) -> list[OddNumber]:
        """NaN/Infinity literals and integers too long to convert, in text order."""
        self._scan()
        return self._odd_numbers

    def position(self, pointer: str, at_key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at ``pointer``, or of its key with ``at_key``."""
        span = self.span(pointer, at_key)
        return span.line, span.column

    def span(self, pointer: str, at_key: bool = False) -> Span:
        """The value at ``pointer`` (or its key, with ``at_key``), start and end.

        A pointer that names nothing in the text (a missing member) falls back to its
        nearest existing ancestor, as Spectral does.
        """
        spans = self._scan()
        while pointer not in spans and pointer:
            pointer = pointer.rsplit("/", 1)[0]
        key_start, key_end, start, end = spans.get(pointer, (None, None, 0, 0))
        if at_key and key_start is not None:
            start, end = key_start, key_end
        return Span(*self.line_column(start), *self.line_column(end))

    def line_column(self, offset: int) -> tuple[int, int]:
        import bisect  # positions are only needed for findings: clean files skip it

        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self._text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def _scan(self) -> dict[str, list]:
        if self._spans is not None:
            return self._spans
        spans: dict[str, list] = {}
        # A frame per open container: [pointer, is_object, next_index, key, key_start,
        # expecting_key, {key: offset}, key_end].
        stack: list[list] = []
        for match in re.finditer(_TOKEN, self._text):
            punct, string, literal = match.groups()
            group = 1 if punct else 2 if string else 3
            start = match.start(group)
            frame = stack[-1] if stack else None
            if punct in (":", ","):
                if punct == "," and frame and frame[1]:
                    frame[5] = True
                continue
            if punct in ("}", "]"):
                spans[stack.pop()[0]][3] = match.end(group)
                continue
            if frame is not None and frame[1] and frame[5]:
                key = loads(string) if "\\" in string else string[1:-1]
                first = frame[6].get(key)
                if first is not None:
                    pointer = frame[0] + "/" + escape_token(key)
                    self._duplicates.append(Duplicate(pointer, key, start, first))
                frame[6][key] = start
                frame[3], frame[4], frame[5], frame[7] = key, start, False, match.end(group)
                continue
            if frame is None:
                pointer, key_start, key_end = "", None, None
            elif frame[1]:
                pointer = frame[0] + "/" + escape_token(frame[3])
                key_start, key_end = frame[4], frame[7]
            else:
                pointer, key_start, key_end = f"{frame[0]}/{frame[2]}", None, None
                frame[2] += 1
            spans[pointer] = [key_start, key_end, start, match.end(group)]
            if punct == "{":
                stack.append([pointer, True, 0, None, None, True, {}, None])
            elif punct == "[":
                stack.append([pointer, False, 0, None, None, False, None, None])
            elif literal is not None and (
                literal in NON_FINITE or len(literal) - literal.startswith("-") > MAX_INT_DIGITS
            ):
                too_long = literal not in NON_FINITE
                shown = f"{literal[:12]}... ({len(literal)} characters)" if too_long else literal
                self._odd_numbers.append(OddNumber(pointer, shown, too_long))
        self._spans = spans
        return spans
