"""Shape signatures that a project declares for its custom layers.

A custom layer's code is not in the model config, so the linter cannot know what shapes it
takes and returns; shapes after it are taken from the config's records or stay unknown. A
project can say it once, in its settings::

    [tool.kmha-lint.custom-layers."my_package>PatchEncoder"]
    inputs = ["batch, num_patches, features"]
    output = "batch, num_patches, projection_dim"
    params = "features * projection_dim + projection_dim + num_patches * projection_dim"

    [tool.kmha-lint.custom-layers."my_package>PositionEmbedding"]
    inputs = ["batch, length, width"]
    output = "batch, length, width"
    where = ["length <= sequence_length"]

Each entry of ``inputs`` (one per tensor the layer is called on) and ``output`` (or
``outputs``, a list, for a layer returning several tensors) is a comma-separated list of
axes. An axis is:

- a name: a key of the layer's config holding an integer stands for that value
  (``num_patches``); any other name is a size bound by its first known occurrence, which
  every other occurrence must equal;
- an integer; ``_`` (any size; unknown in an output); ``...`` (any number of axes, at most
  once per shape; every ``...`` is the same axes);
- an expression of those with ``+ - * // %`` and parentheses, and ``name[i]`` for an item of
  a list in the config (``patch_size[0]``): ``(h // patch_size) * (w // patch_size)``.

``where`` lists conditions (an expression, one of ``== != < <= > >=``, an expression) that
must hold; ``params`` is the layer's parameter count, for ``--summary``. Nothing is
executed: the texts are parsed here into small trees and evaluated over integers, unknown
sizes staying unknown. This module is pure: :mod:`kmha_lint.layers.custom` applies a match
to the graph and words its findings.
"""

from __future__ import annotations

import re

from kmha_lint.geometry import is_int
from kmha_lint.record import Record

Shape = tuple  # of int | None

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(\.\.\.|//|==|!=|<=|>=|[-+*%()\[\]<>]))")
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
}
MAX_TEXT = 1000  # characters in one declared shape, condition or count
MAX_DIM = 2**62  # a computed size beyond this is taken as unknown
MAX_NESTING = 32  # parentheses and signs, so that parsing and evaluation stay shallow


class SignatureError(ValueError):
    """A declaration that does not parse, or does not have the keys it needs."""


class Unfit(ValueError):
    """A declaration that does not fit one layer entry (another number of inputs, a config
    value it reads missing or of the wrong kind): the declaration, not the model, is wrong."""

    def __init__(self, expected: str, received: str):
        super().__init__(f"expected {expected}; received {received}")
        self.expected, self.received = expected, received


# -- expressions ---------------------------------------------------------------------------
# Trees of tuples: ("int", n), ("name", name, index or None), ("neg", e), (op, left, right).


class _Parser:
    def __init__(self, text: str):
        if len(text) > MAX_TEXT:
            raise SignatureError(f"longer than {MAX_TEXT} characters")
        self.text, self.tokens, position = text, [], 0
        while position < len(text):
            found = _TOKEN.match(text, position)
            if found is None or found.end() == position:
                if text[position:].strip() == "":
                    break
                raise SignatureError(f"unexpected {text[position:].strip()[0]!r} in {text!r}")
            number, name, symbol = found.groups()
            self.tokens.append(
                ("int", int(number)) if number else ("name", name) if name else ("op", symbol)
            )
            position = found.end()
        self.at, self.depth = 0, 0

    def peek(self) -> tuple | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, symbol: str | None = None) -> tuple:
        token = self.peek()
        if token is None or (symbol is not None and token != ("op", symbol)):
            wanted = f"{symbol!r}" if symbol else "more"
            got = "the end" if token is None else repr(str(token[1]))
            raise SignatureError(f"expected {wanted} in {self.text!r}, found {got}")
        self.at += 1
        return token

    def done(self) -> None:
        if self.peek() is not None:
            raise SignatureError(f"unexpected {str(self.peek()[1])!r} in {self.text!r}")

    def expression(self) -> tuple:
        node = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            node = (self.take()[1], node, self.term())
        return node

    def term(self) -> tuple:
        node = self.unary()
        while self.peek() in (("op", "*"), ("op", "//"), ("op", "%")):
            node = (self.take()[1], node, self.unary())
        return node

    def unary(self) -> tuple:
        if self.peek() == ("op", "-"):
            self.take()
            return ("neg", self.nested(self.unary))
        return self.atom()

    def nested(self, parse) -> tuple:
        """``parse()`` one level deeper: parentheses and signs nest at most MAX_NESTING deep."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise SignatureError(f"nested more than {MAX_NESTING} levels deep in {self.text!r}")
        node = parse()
        self.depth -= 1
        return node

    def atom(self) -> tuple:
        kind, value = self.take()
        if kind == "int":
            return ("int", value)
        if kind == "name":
            if self.peek() != ("op", "["):
                return ("name", value, None)
            self.take("[")
            sign = -1 if self.peek() == ("op", "-") and self.take() else 1
            index = self.take()
            if index[0] != "int":
                raise SignatureError(f"an index must be an integer in {self.text!r}")
            self.take("]")
            return ("name", value, sign * index[1])
        if value == "(":
            node = self.nested(self.expression)
            self.take(")")
            return node
        raise SignatureError(f"unexpected {value!r} in {self.text!r}")


def parse_expression(text: str) -> tuple:
    parser = _Parser(text)
    node = parser.expression()
    parser.done()
    return node


def name_nodes(node: tuple):
    """The ("name", name, index) leaves of an expression."""
    if node[0] == "name":
        yield node
    elif node[0] != "int":
        for child in node[1:]:
            yield from name_nodes(child)


def names(node: tuple) -> set[str]:
    """The names an expression reads."""
    return {leaf[1] for leaf in name_nodes(node)}


def evaluate(node: tuple, lookup) -> int | None:
    """The value of an expression; ``lookup(name, index)`` gives a name's value (None:
    unknown). Unknown in, unknown out; so is a division by zero or a huge value."""
    kind = node[0]
    if kind == "int":
        return node[1]
    if kind == "name":
        return lookup(node[1], node[2])
    if kind == "neg":
        value = evaluate(node[1], lookup)
        return None if value is None else -value
    left, right = evaluate(node[1], lookup), evaluate(node[2], lookup)
    if left is None or right is None:
        return None
    if kind == "+":
        value = left + right
    elif kind == "-":
        value = left - right
    elif kind == "*":
        value = left * right
    elif right == 0:
        return None
    else:
        value = left // right if kind == "//" else left % right
    return value if abs(value) < MAX_DIM else None


# -- shapes and declarations ---------------------------------------------------------------

ELLIPSIS = "..."
ANY = "_"


class Pattern(Record):
    """One declared shape: its text and its axes (ELLIPSIS, ANY, or an expression)."""

    __slots__ = ("text", "axes", "parts")

    def __init__(self, text: str, axes: tuple, parts: tuple):
        self.text, self.axes, self.parts = text, axes, parts  # parts: each axis as written

    @property
    def ellipsis(self) -> int | None:
        return self.axes.index(ELLIPSIS) if ELLIPSIS in self.axes else None


def parse_pattern(text: str) -> Pattern:
    if len(text) > MAX_TEXT:
        raise SignatureError(f"longer than {MAX_TEXT} characters")
    axes, parts = [], tuple(p.strip() for p in text.split(",")) if text.strip() else ()
    for part in parts:
        part = part.strip()
        if part in (ELLIPSIS, ANY):
            axes.append(part)
        elif not part:
            raise SignatureError(f"an empty axis in {text!r}")
        else:
            try:
                axes.append(parse_expression(part))
            except SignatureError as error:
                raise SignatureError(f"{error}, an axis of the shape {text!r}") from None
    if axes.count(ELLIPSIS) > 1:
        raise SignatureError(f"`...` more than once in {text!r}")
    return Pattern(text, tuple(axes), parts)


class Condition(Record):
    __slots__ = ("text", "left", "operator", "right")

    def __init__(self, text: str, left: tuple, operator: str, right: tuple):
        self.text, self.left, self.operator, self.right = text, left, operator, right


def parse_condition(text: str) -> Condition:
    parser = _Parser(text)
    left = parser.expression()
    token = parser.peek()
    if token is None or token[0] != "op" or token[1] not in COMPARISONS:
        raise SignatureError(f"expected one of {' '.join(COMPARISONS)} in {text!r}")
    parser.take()
    right = parser.expression()
    parser.done()
    return Condition(text, left, token[1], right)


class Declaration(Record):
    """What a project declares for one custom layer class (``key`` as in its settings)."""

    __slots__ = ("key", "inputs", "outputs", "where", "params", "origin")

    def __init__(self, key, inputs, outputs, where=(), params=None, origin=None):
        self.key, self.inputs, self.outputs = key, inputs, outputs
        self.where, self.params, self.origin = where, params, origin

    def expressions(self):
        """Every expression tree it holds: axes, both sides of conditions, the count."""
        for pattern in self.inputs + self.outputs:
            yield from (axis for axis in pattern.axes if isinstance(axis, tuple))
        for condition in self.where:
            yield from (condition.left, condition.right)
        if self.params is not None:
            yield self.params

    def names(self) -> set[str]:
        return {name for tree in self.expressions() for name in names(tree)}


_DECLARATION_KEYS = {"inputs", "output", "outputs", "where", "params"}


def read_declarations(table: object, origin: str | None) -> dict[str, Declaration]:
    """``[tool.kmha-lint.custom-layers]``: class key -> Declaration. SignatureError names
    the entry and what is wrong with it."""
    if not isinstance(table, dict):
        raise SignatureError("expected a table of class name = {inputs, output}")
    return {key: _read_declaration(key, entry, origin) for key, entry in table.items()}


def _read_declaration(key: str, entry: object, origin: str | None) -> Declaration:
    def fail(message: str):
        return SignatureError(f"{key!r}: {message}")

    if not isinstance(entry, dict):
        raise fail("expected a table with `inputs` and `output`")
    unknown = set(entry) - _DECLARATION_KEYS
    if unknown:
        raise fail(f"unknown key(s) {sorted(unknown)}; known: {sorted(_DECLARATION_KEYS)}")
    if "inputs" not in entry or ("output" in entry) == ("outputs" in entry):
        raise fail("give `inputs` (a list of shapes) and one of `output` or `outputs`")
    outputs = [entry["output"]] if "output" in entry else entry["outputs"]
    try:
        inputs = tuple(parse_pattern(t) for t in _strings(entry["inputs"], "inputs"))
        out = tuple(parse_pattern(t) for t in _strings(outputs, "outputs"))
        where = tuple(parse_condition(t) for t in _strings(entry.get("where", []), "where"))
        params = entry.get("params")
        if params is not None and not isinstance(params, str):
            raise SignatureError(f"`params` must be a string, got {params!r}")
        count = parse_expression(params) if params is not None else None
    except SignatureError as error:
        raise fail(str(error)) from None
    if not out:
        raise fail("`outputs` is empty")
    if any(p.ellipsis is not None for p in out) and not any(p.ellipsis is not None for p in inputs):
        raise fail("an output uses `...` but no input does")
    return Declaration(key, inputs, out, where, count, origin)


def _strings(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SignatureError(f"`{key}` must be a list of strings, got {value!r}")
    return value


# -- matching a call -----------------------------------------------------------------------


class Mismatch(Record):
    """One way the inputs break a declaration. ``axis`` is None for a rank mismatch or a
    condition; ``input`` is None for a condition."""

    __slots__ = ("input", "axis", "expected", "received", "condition")

    def __init__(self, input, axis, expected, received, condition=None):
        self.input, self.axis, self.expected, self.received = input, axis, expected, received
        self.condition = condition


class Match(Record):
    """What a call's input shapes make of a declaration: output shapes (None: unknown),
    mismatches, and every name's value and where it came from (for messages and params)."""

    __slots__ = ("outputs", "mismatches", "values", "sources")

    def __init__(self, outputs, mismatches, values, sources):
        self.outputs, self.mismatches = outputs, mismatches
        self.values, self.sources = values, sources

    def value(self, node: tuple) -> int | None:
        return evaluate(node, lambda name, index: self.values.get((name, index)))


def match(declaration: Declaration, shapes: list, config: dict) -> Match:
    """Match input shapes (None: unknown) against a declaration, for a layer with ``config``.

    Raises Unfit when the number of inputs differs from the declaration's or a config value
    the declaration reads is not an integer (or list of integers, for ``name[i]``)."""
    if len(shapes) != len(declaration.inputs):
        raise Unfit(f"{len(declaration.inputs)} input tensor(s)", f"{len(shapes)} in this call")
    values, sources = _config_values(declaration, config)
    from_config = set(values)
    bindable = {name for name, _ in from_config} | {
        axis[1]
        for pattern in declaration.inputs
        for axis in pattern.axes
        if isinstance(axis, tuple) and axis[0] == "name" and axis[2] is None
    }
    unbound = sorted(declaration.names() - bindable)
    if unbound:
        raise Unfit(f"`{unbound[0]}` to be a key of its config or an input axis", "neither")
    group: list | None = None  # the axes `...` stands for
    mismatches, later = [], []

    def compare(index: int, axis: int, size, want, expected: str) -> None:
        if size is not None and want is not None and size != want:
            mismatches.append(Mismatch(index, axis, expected, str(size)))

    for index, (pattern, shape) in enumerate(zip(declaration.inputs, shapes, strict=True)):
        if shape is None:
            continue
        where = pattern.ellipsis
        fixed = len(pattern.axes) - (where is not None)
        if len(shape) != fixed and not (where is not None and len(shape) >= fixed):
            rank = f"rank {'>= ' if where is not None else ''}{fixed} (`{pattern.text}`)"
            mismatches.append(Mismatch(index, None, rank, f"rank {len(shape)}"))
            continue
        extra = len(shape) - fixed
        for position, axis in enumerate(pattern.axes):
            at = position if where is None or position < where else position - 1 + extra
            if axis == ELLIPSIS:
                dims = list(shape[position : position + extra])
                if group is None:
                    group = dims
                    continue
                if len(dims) != len(group):
                    received = f"{len(dims)} axes under `...`"
                    mismatches.append(Mismatch(index, None, f"{len(group)} as before", received))
                    continue
                for k, (size, want) in enumerate(zip(dims, group, strict=True)):
                    compare(index, position + k, size, want, f"{want} as at `...` before")
                    group[k] = want if want is not None else size
                continue
            size = shape[at]
            if axis == ANY:
                continue
            key = (axis[1], None) if axis[0] == "name" and axis[2] is None else None
            if key is not None and key not in from_config and values.get(key) is None:
                # A size variable: bound by its first known occurrence.
                values[key], sources[key] = size, f"input {index}, axis {at}"
            else:
                later.append((index, at, axis, pattern.parts[position], size))
    for index, at, axis, text, size in later:
        want = _value(axis, values)
        compare(index, at, size, want, _describe(axis, text, want, sources))
    for condition in declaration.where:
        left, right = _value(condition.left, values), _value(condition.right, values)
        if left is not None and right is not None and not _COMPARE[condition.operator](left, right):
            expected = f"`{condition.text}` ({_bound(condition, values, sources)})"
            received = f"{left} {_negated(condition.operator)} {right}"
            mismatches.append(Mismatch(None, None, expected, received, condition))
    outputs = None if mismatches else [_output(p, values, group) for p in declaration.outputs]
    return Match(outputs, mismatches, values, sources)


def _config_values(declaration: Declaration, config: dict) -> tuple[dict, dict]:
    """Values of the names a declaration reads from the layer's config."""
    values, sources = {}, {}
    for node in (leaf for tree in declaration.expressions() for leaf in name_nodes(tree)):
        name, index = node[1], node[2]
        if name not in config:
            if index is not None:
                raise Unfit(f"a list `{name}` in its config (for `{name}[{index}]`)", "no such key")
            continue
        value = config[name]
        if index is not None:
            if not isinstance(value, list) or not -len(value) <= index < len(value):
                length = index + 1 if index >= 0 else -index
                raise Unfit(
                    f"a list `{name}` of length >= {length} in its config (for `{name}[{index}]`)",
                    _short(value),
                )
            value = value[index]
        if value is not None and (not is_int(value) or isinstance(value, bool)):
            raise Unfit(f"an integer `{name}` in its config", _short(value))
        known = value is not None and abs(value) < MAX_DIM
        values[(name, index)] = int(value) if known else None
        shown = name if index is None else f"{name}[{index}]"
        sources[(name, index)] = f"`{shown}` in its config"
    return values, sources


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _lookup(values: dict):
    return lambda name, index: values.get((name, index))


def _value(node: tuple, values: dict) -> int | None:
    return evaluate(node, _lookup(values))


def _describe(axis: tuple, text: str, value: int | None, sources: dict) -> str:
    source = sources.get((axis[1], axis[2])) if axis[0] == "name" else None
    if source is None:
        return f"{value} (`{text}`)"
    if source.endswith("in its config"):
        return f"{value} ({source})"
    return f"{value} (`{axis[1]}`, as at {source})"


def _bound(condition: Condition, values: dict, sources: dict) -> str:
    used = sorted(names(condition.left) | names(condition.right))
    parts = []
    for name in used:
        for key in values:
            if key[0] == name:
                shown = name if key[1] is None else f"{name}[{key[1]}]"
                source = sources.get(key, "?")
                source = source if source.endswith("in its config") else "from " + source
                parts.append(f"{shown} = {values[key]}, {source}")
    return "; ".join(parts)


def _negated(operator: str) -> str:
    return {"==": "!=", "!=": "==", "<=": ">", ">=": "<", "<": ">=", ">": "<="}[operator]


def _output(pattern: Pattern, values: dict, group: list | None) -> Shape | None:
    dims: list = []
    for axis in pattern.axes:
        if axis == ELLIPSIS:
            if group is None:
                return None
            dims += group
        elif axis == ANY:
            dims.append(None)
        else:
            value = _value(axis, values)
            dims.append(value if value is not None and value >= 0 else None)
    return tuple(dims)
