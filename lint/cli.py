"""The `kmha-lint` command line.

Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error or an
unreadable input (the other inputs are still linted and reported).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kmha_lint import __version__
from kmha_lint.api import MAX_BYTES, expand_paths, lint_paths
from kmha_lint.output import FORMATS
from kmha_lint.rules import RULES

EXIT_CLEAN, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
_SETTINGS = {"select", "ignore", "format", "output-format", "max-bytes", "paths"}


class UsageError(Exception):
    pass


def find_settings(start: Path) -> tuple[dict, Path | None]:
    """The [tool.kmha-lint] table of the nearest pyproject.toml at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            import tomllib  # only when there is a pyproject.toml to read

            try:
                text = candidate.read_text(encoding="utf-8")
                data = tomllib.loads(text) if "kmha-lint" in text else {}
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
                raise UsageError(f"{candidate}: cannot read it: {error}") from None
            table = data.get("tool", {}).get("kmha-lint")
            if table is None:
                continue
            if not isinstance(table, dict):
                raise UsageError(f"{candidate}: [tool.kmha-lint] must be a table")
            unknown = set(table) - _SETTINGS
            if unknown:
                raise UsageError(
                    f"{candidate}: unknown [tool.kmha-lint] key(s) {sorted(unknown)}; "
                    f"known: {sorted(_SETTINGS)}"
                )
            return table, candidate
    return {}, None


def _codes(value: object, origin: str) -> list[str]:
    """Rule selectors: codes or prefixes of codes ('KMHA2' selects all geometry rules)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise UsageError(f"{origin}: expected a list of rule codes, got {value!r}")
    codes = [i.strip().upper() for i in items if i.strip()]
    for code in codes:
        if not any(rule.startswith(code) for rule in RULES):
            raise UsageError(f"{origin}: {code!r} matches no rule; see --list-rules")
    return codes


def _paths(value: object, origin: Path | None, where: str) -> list[str]:
    """`paths` from pyproject.toml, relative to the folder that holds it."""
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise UsageError(f"{where}: `paths` must be a list of strings, got {value!r}")
    base = origin.parent if origin is not None else Path.cwd()
    return [str(base / p) for p in value]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmha-lint",
        description="Lint Keras model configs (model.to_json(), .keras archives, Keras 2 JSON) "
        "for attention geometry and shape mistakes, without TensorFlow.",
    )
    parser.add_argument("paths", nargs="*", help="files, directories (*.json, *.keras) or -")
    parser.add_argument(
        "--format", "--output-format", choices=sorted(FORMATS), help="output format (text)"
    )
    parser.add_argument("--select", help="comma-separated codes or prefixes to report")
    parser.add_argument("--ignore", help="comma-separated codes or prefixes to skip")
    parser.add_argument(
        "--max-bytes", type=_positive_int, help=f"largest config text ({MAX_BYTES})"
    )
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when errors are found"
    )
    parser.add_argument("--list-rules", action="store_true", help="print the rule table")
    parser.add_argument("--explain", metavar="CODE", help="explain one rule")
    parser.add_argument("--version", action="version", version=f"kmha-lint {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exit_.code or 0)
    try:
        return _run(args)
    except UsageError as error:
        print(f"kmha-lint: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - a bug of ours: say so, never a traceback
        print(
            f"kmha-lint: internal error: {type(error).__name__}: {error}. Please report it "
            "with the input that caused it.",
            file=sys.stderr,
        )
        return EXIT_USAGE


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of bytes, got {text!r}")
    return value


def _run(args: argparse.Namespace) -> int:
    if args.list_rules:
        for rule in RULES.values():
            print(f"{rule.code}  {rule.severity:<7}  {rule.name:<26}  {rule.summary}")
        return EXIT_CLEAN
    if args.explain:
        rule = RULES.get(args.explain.upper())
        if rule is None:
            raise UsageError(f"unknown rule {args.explain!r}; see --list-rules")
        print(f"{rule.code} ({rule.name}, {rule.severity}): {rule.summary}\n\n{rule.explanation}")
        return EXIT_CLEAN
    settings, origin = find_settings(Path.cwd())
    where = str(origin) if origin else "settings"
    paths = args.paths or _paths(settings.get("paths", []), origin, where)
    if not paths:
        raise UsageError(
            "no input; pass files, directories or - for standard input, or set `paths` "
            "in [tool.kmha-lint]"
        )
    select = _setting(args.select, "--select", settings, "select", where, [])
    ignore = _setting(args.ignore, "--ignore", settings, "ignore", where, [])
    select, ignore = _codes(*select), _codes(*ignore)
    fmt = args.format or settings.get("output-format", settings.get("format", "text"))
    if fmt not in FORMATS:
        raise UsageError(f"{where}: unknown format {fmt!r}; choose from {sorted(FORMATS)}")
    max_bytes = args.max_bytes or settings.get("max-bytes", MAX_BYTES)
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
        raise UsageError(f"{where}: `max-bytes` must be a positive integer, got {max_bytes!r}")

    files = list(expand_paths(paths))
    if not files:
        print(
            "kmha-lint: warning: no *.json or *.keras files under the given paths", file=sys.stderr
        )
    findings = lint_paths(files, max_bytes=max_bytes)
    shown = [f for f in findings if _wanted(f.code, select, ignore)]
    rendered = FORMATS[fmt](shown)
    if rendered:
        print(rendered)
    if any(f.code == "KMHA004" for f in findings):
        return EXIT_USAGE
    if args.exit_zero:
        return EXIT_CLEAN
    return EXIT_ERRORS if any(f.severity == "error" for f in shown) else EXIT_CLEAN


def _setting(given, flag: str, settings: dict, key: str, where: str, default):
    """A value and where it came from: the command line wins over pyproject.toml."""
    if given is not None:
        return given, flag
    return settings.get(key, default), where


def _wanted(code: str, select: list[str], ignore: list[str]) -> bool:
    selected = not select or any(code.startswith(s) for s in select)
    return selected and not any(code.startswith(i) for i in ignore)
