"""Command-line options: one table of :class:`Option`, a parser over it, and its help text.

Not argparse: importing argparse (which loads gettext and locale) and building a parser
cost about 4 ms, a fifth of a cold lint of a 12-block config, and the linter runs cold on
every commit from a pre-commit hook. The grammar is the usual one: ``--name value``,
``--name=value``, ``-v``, ``--`` ends the options, ``-`` is a path (standard input).
Unlike argparse, a long option is never abbreviated (as in ruff): ``--form`` is an error,
with the closest option suggested.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from kmha_lint.record import Record


class ArgumentError(Exception):
    """A usage error in the command line (exit status 2)."""


class Option(Record):
    """One option, named after its first long flag unless ``dest`` is given.

    ``takes``: "flag" (true when given), "value" (the last one given wins), "values" (every
    value, in order), "stop" (a flag that ends parsing, as --help and --version do: what
    follows it is not read). ``convert`` turns the text into the value and raises
    :class:`ArgumentError` when it cannot."""

    __slots__ = ("flags", "dest", "takes", "help", "metavar", "choices", "convert")

    def __init__(
        self,
        *flags: str,
        help: str,  # noqa: A002 - the word every CLI table uses
        takes: str = "flag",
        metavar: str | None = None,
        choices: tuple[str, ...] = (),
        convert=None,
        dest: str | None = None,
    ):
        if takes not in ("flag", "stop", "value", "values"):
            raise ValueError(f"Option {flags[0]}: takes must be flag, stop, value or values")
        self.flags, self.takes, self.help = flags, takes, help
        long = next((flag for flag in flags if flag.startswith("--")), flags[0])
        self.dest = dest or long.lstrip("-").replace("-", "_")
        self.metavar = metavar or self.dest.upper()
        self.choices, self.convert = choices, convert

    def default(self) -> object:
        return {"flag": False, "stop": False, "value": None, "values": []}[self.takes]


def parse(options: tuple[Option, ...], argv: list[str]) -> SimpleNamespace:
    """The values of ``argv``: one attribute per option's ``dest``, and ``paths``."""
    values = {option.dest: option.default() for option in options}
    by_flag = {flag: option for option in options for flag in option.flags}
    paths: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            paths.extend(tokens)
            break
        if token == "-" or not token.startswith("-"):
            paths.append(token)
            continue
        name, equals, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        option = by_flag.get(name)
        if option is None:
            raise ArgumentError(f"unknown option {name!r}{_closest(name, by_flag)}")
        if option.takes in ("flag", "stop"):
            if equals:
                raise ArgumentError(f"option {name} takes no value (received {inline!r})")
            values[option.dest] = True
            if option.takes == "stop":
                break
            continue
        text = inline if equals else next(tokens, None)
        if text is None:
            raise ArgumentError(f"option {name} expects a value ({option.metavar})")
        value = _value(option, name, text)
        if option.takes == "values":
            values[option.dest].append(value)
        else:
            values[option.dest] = value
    return SimpleNamespace(paths=paths, **values)


def _value(option: Option, name: str, text: str) -> object:
    if option.choices and text not in option.choices:
        raise ArgumentError(
            f"option {name}: {text!r} is not one of {', '.join(option.choices)}"
            f"{_closest(text, option.choices)}"
        )
    return option.convert(text) if option.convert else text


def _closest(word: str, candidates) -> str:
    import difflib  # only on a usage error

    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def usage(prog: str, positional: str) -> str:
    return f"usage: {prog} [OPTIONS] [{positional}]"


def help_text(
    prog: str, description: str, positional: tuple[str, str], options: tuple[Option, ...]
) -> str:
    """``--help``: usage, description, then one entry per argument and option, wrapped to
    $COLUMNS (100 when unset)."""
    import textwrap  # only for --help

    columns = os.environ.get("COLUMNS", "")
    width = max((int(columns) if columns.isdigit() else 100) - 2, 40)
    indent = 24

    def entry(label: str, text: str) -> str:
        label = "  " + label
        body = textwrap.wrap(text, width - indent) or [""]
        if len(label) <= indent - 2:
            first = label.ljust(indent) + body[0]
            rest = body[1:]
        else:
            first, rest = label, body
        return "\n".join([first] + [" " * indent + line for line in rest])

    name, text = positional
    lines = [usage(prog, name), "", textwrap.fill(description, width), "", "arguments:"]
    lines.append(entry(name, text))
    lines += ["", "options:"]
    for option in options:
        label = ", ".join(option.flags)
        if option.takes in ("value", "values"):
            label += f" {option.metavar}"
        lines.append(entry(label, option.help))
    return "\n".join(lines)
