"""The `kmha-lint` command line.

Exit status, as in ruff: 0 no errors (warnings allowed), 1 errors found, 2 usage error, an
unreadable input (the other inputs are still linted and reported) or an internal error.

Start-up is part of the product (it runs in pre-commit hooks): this module imports only
the option table's parser (:mod:`kmha_lint.arguments`) at first; the checks load when there
is something to check.
"""

from __future__ import annotations

import os
import sys

from kmha_lint import __version__
from kmha_lint.arguments import ArgumentError, Option, help_text, parse, usage

EXIT_CLEAN, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
FORMAT_NAMES = ("github", "json", "sarif", "text")
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # kmha_lint.api.MAX_BYTES, without importing it
PROG = "kmha-lint"
DESCRIPTION = (
    "Lint Keras model configs (model.to_json(), .keras archives, Keras 2 JSON), KerasHub "
    "presets and Hugging Face config.json for attention geometry and shape mistakes, "
    "without TensorFlow."
)
PATHS = ("PATH ...", "files, directories (*.json, *.keras) or - for standard input")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentError(f"--max-bytes: expected a positive number of bytes, got {text!r}")
    return value


OPTIONS = (
    Option("-h", "--help", takes="stop", help="show this help and exit"),
    Option("--version", takes="stop", help="show the version and exit"),
    Option(
        "--format",
        "--output-format",
        takes="value",
        choices=FORMAT_NAMES,
        metavar="{" + ",".join(FORMAT_NAMES) + "}",
        help="output format (text)",
    ),
    Option(
        "--config",
        takes="values",
        metavar="FILE_OR_SETTING",
        help="a settings file (pyproject.toml or kmha-lint.toml) used for every input instead "
        "of the closest one, or a 'key = value' setting that overrides it (repeatable)",
    ),
    Option(
        "--select",
        takes="value",
        metavar="CODES",
        help="comma-separated codes or prefixes to report",
    ),
    Option(
        "--extend-select",
        takes="value",
        metavar="CODES",
        help="codes or prefixes to report in addition",
    ),
    Option(
        "--ignore", takes="value", metavar="CODES", help="comma-separated codes or prefixes to skip"
    ),
    Option(
        "--extend-ignore",
        takes="value",
        metavar="CODES",
        help="codes or prefixes to skip in addition",
    ),
    Option(
        "--max-bytes",
        takes="value",
        convert=_positive_int,
        metavar="N",
        help=f"largest config text ({DEFAULT_MAX_BYTES})",
    ),
    Option("--exit-zero", help="exit 0 even when errors are found"),
    Option(
        "--statistics",
        help="print how often each rule fired, and how many files were linted or skipped",
    ),
    Option(
        "--summary",
        help="print each model as the linter sees it (layers, output shapes, parameters)",
    ),
    Option("-v", "--verbose", help="list every file, linted or skipped"),
    Option("--list-rules", help="print the rule table"),
    Option("--explain", takes="value", metavar="CODE", help="explain one rule"),
)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(OPTIONS, sys.argv[1:] if argv is None else list(argv))
    except ArgumentError as error:
        print(
            f"{usage(PROG, PATHS[0])}\n{PROG}: error: {error}\n"
            f"Run `{PROG} --help` for the options.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.help:
        print(help_text(PROG, DESCRIPTION, PATHS, OPTIONS))
        return EXIT_CLEAN
    if args.version:
        print(f"{PROG} {__version__}")
        return EXIT_CLEAN
    from kmha_lint.settings import UsageError

    try:
        return _run(args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `kmha-lint ... | head`: the reader left; no traceback at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - a bug of ours: say so, never a traceback
        print(
            f"{PROG}: internal error: {type(error).__name__}: {error}. Please report it "
            "with the input that caused it.",
            file=sys.stderr,
        )
        return EXIT_USAGE


def run() -> None:
    """The `kmha-lint` console script: :func:`main`, then exit at once.

    Output is flushed, then the process ends without the interpreter's teardown (freeing
    every module and object one by one), which takes longer than the lint of a small config.
    Nothing is left to clean up: files are closed as they are read.
    """
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        status = EXIT_USAGE
    os._exit(status)


def _run(args) -> int:
    if args.list_rules or args.explain:
        return _rules(args)
    from kmha_lint import settings as cfg

    fixed, inline = _config_arguments(args.config)
    finder = cfg.SettingsFinder(fixed)
    here = finder.for_folder(os.getcwd())
    where = str(here.origin) if here.origin else "settings"
    flags = cfg.Layer(
        select=cfg.codes(args.select, "--select") if args.select is not None else None,
        extend_select=cfg.codes(args.extend_select or [], "--extend-select"),
        ignore=cfg.codes(args.ignore or [], "--ignore")
        + cfg.codes(args.extend_ignore or [], "--extend-ignore"),
    )
    paths = args.paths or list(inline.paths or here.layer.paths)
    if not paths:
        raise cfg.UsageError(
            "no input; pass files, directories or - for standard input, or set `paths` "
            "in [tool.kmha-lint]"
        )
    fmt = args.format or inline.format or here.layer.format or "text"
    if fmt not in FORMAT_NAMES:
        raise cfg.UsageError(f"{where}: unknown format {fmt!r}; choose from {list(FORMAT_NAMES)}")
    max_bytes = args.max_bytes or inline.max_bytes or here.layer.max_bytes or DEFAULT_MAX_BYTES

    def declared(path: str) -> dict:
        """The custom-layer declarations for one file: its settings file's, then --config's."""
        found = finder.custom_layers(path)
        return {**found, **inline.custom_layers} if inline.custom_layers else found

    def selected(path: str) -> cfg.Selection:
        """The codes reported for one file: its settings', then --config's, then flags'."""
        return finder.for_path(path).selection.then(inline).then(flags)

    if args.summary:
        return _summaries(paths, fmt, max_bytes, declared, selected, args.exit_zero)

    from kmha_lint.api import lint_reports
    from kmha_lint.output import FORMATS, statistics

    shown, unreadable, linted, skipped = [], False, 0, []
    for report in lint_reports(paths, max_bytes=max_bytes, custom_layers=declared):
        if report.skipped:
            skipped.append(report)
            if args.verbose:
                print(f"kmha-lint: skipped {report.path}: {report.skipped}", file=sys.stderr)
            continue
        linted += 1
        selection = selected(report.path)
        wanted = [f for f in report.findings if selection.enabled(f.code, report.path)]
        unreadable |= any(f.rule.code == "KMHA004" for f in report.findings)
        shown += wanted
        if args.verbose:
            kind = report.kind or "unrecognised"
            print(
                f"kmha-lint: linted {report.path} ({kind}): {len(wanted)} finding(s)",
                file=sys.stderr,
            )
    if not linted:
        what = f" ({len(skipped)} other JSON file(s) skipped)" if skipped else ""
        print(f"kmha-lint: warning: no model configs under the given paths{what}", file=sys.stderr)
    rendered = (
        statistics(shown, linted, len(skipped), fmt) if args.statistics else FORMATS[fmt](shown)
    )
    if rendered:
        print(rendered)
    if unreadable:
        return EXIT_USAGE
    if args.exit_zero:
        return EXIT_CLEAN
    return EXIT_ERRORS if any(f.severity == "error" for f in shown) else EXIT_CLEAN


def _rules(args) -> int:
    from kmha_lint.rules import RULES
    from kmha_lint.settings import UsageError

    if args.list_rules:
        for rule in RULES.values():
            print(f"{rule.code}  {rule.severity:<7}  {rule.name:<26}  {rule.summary}")
        return EXIT_CLEAN
    rule = RULES.get(args.explain.upper())
    if rule is None:
        raise UsageError(f"unknown rule {args.explain!r}; see --list-rules")
    print(f"{rule.code} ({rule.name}, {rule.severity}): {rule.summary}\n\n{rule.explanation}")
    return EXIT_CLEAN


def _config_arguments(values: list[str]):
    """--config values: at most one settings file, and any number of 'key = value' lines."""
    from kmha_lint import settings as cfg

    fixed, table = None, {}
    for value in values:
        if os.path.isfile(value):
            if fixed is not None:
                raise cfg.UsageError("--config: give at most one settings file")
            fixed = cfg.read_settings_file(value, explicit=True)
            continue
        import tomllib

        try:
            table.update(tomllib.loads(value))
        except tomllib.TOMLDecodeError as error:
            raise cfg.UsageError(
                f"--config {value!r}: neither an existing file nor a 'key = value' setting "
                f"({error})"
            ) from None
    return fixed, cfg.layer_from_table(table, "--config", None)


def _summaries(paths: list[str], fmt: str, max_bytes: int, declared, selected, exit_zero) -> int:
    """`--summary`: each model as the linter sees it, with its findings. The tables (or the
    JSON array) go to standard output; in text, the findings go to standard error, as the
    text format writes them. The exit status is a lint's."""
    from kmha_lint.api import expand_paths, lint_read, read_config
    from kmha_lint.jsonsource import Malformed, TooDeep, parse
    from kmha_lint.output import text
    from kmha_lint.summary import ModelSummary, render_json, render_text, summarize_document

    results, status = [], EXIT_CLEAN
    for path, walked in expand_paths(paths):
        read = read_config(path, max_bytes)
        if not isinstance(read, tuple):
            print(f"{read.path}: {read.code} {read.message}", file=sys.stderr)
            status = EXIT_USAGE
            continue
        report = lint_read(*read, max_bytes=max_bytes, walked=walked, custom_layers=declared(path))
        if report.skipped:
            continue
        selection = selected(report.path)
        findings = [f for f in report.findings if selection.enabled(f.code, report.path)]
        try:
            summary = summarize_document(parse(read[0]).value, read[1], declared(path))
        except (Malformed, TooDeep):
            summary = None  # its findings say why
        if summary is None and not findings:
            if not walked:  # e.g. a preset's metadata.json is linted, and not a model
                print(f"{read[1]}: not a model config kmha-lint knows", file=sys.stderr)
                status = max(status, EXIT_ERRORS)
            continue
        summary = summary or ModelSummary.without_model(read[1])
        summary.findings = findings
        results.append(summary)
    shown = [f for summary in results for f in summary.findings]
    if fmt == "json":
        print(render_json(results))
    else:
        print(render_text([summary for summary in results if summary.kind is not None]))
        if shown:
            sys.stdout.flush()  # the tables first, then their findings, when both are one stream
            print(text(shown), file=sys.stderr)
    if status == EXIT_USAGE:
        return EXIT_USAGE
    if exit_zero:
        return EXIT_CLEAN
    return EXIT_ERRORS if status or any(f.severity == "error" for f in shown) else EXIT_CLEAN
