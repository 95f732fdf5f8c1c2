"""The programmatic API: lint one config text, or files, directories and .keras archives.

Data flows one way: a path is read (:func:`read_config`), its text parsed with positions
kept (:mod:`kmha_lint.jsonsource`), the document checked (:mod:`kmha_lint.check`, which
speaks in JSON Pointers), and the Issues positioned into Findings here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping

from kmha_lint import rules
from kmha_lint.check import WHAT_TO_LINT, check_document, document_kind
from kmha_lint.findings import Finding, Issue
from kmha_lint.jsonsource import Malformed, SourceMap, TooDeep, parse
from kmha_lint.record import Record

__all__ = ["Finding", "FileReport", "lint_text", "lint_paths", "lint_reports", "MAX_BYTES"]

MAX_BYTES = 64 * 1024 * 1024  # per config text; a 48-block transformer is about 0.5 MB
ARCHIVE_MEMBER = "config.json"
CONFIG_SUFFIXES = (".json", ".keras")
# Words every config the linter knows carries; a walked file without them is not one.
_CONFIG_MARKERS = ('"class_name"', '"model_type"')
# Class key -> kmha_lint.signatures.Declaration, for every file or as a function of its path.
Declarations = Mapping[str, object]
CustomLayers = Declarations | Callable[[str], Declarations | None]


class FileReport(Record):
    """What happened to one input: its findings and the document kind the checks recognised,
    or why a file found by a folder walk was not linted."""

    __slots__ = ("path", "findings", "kind", "skipped")

    def __init__(
        self,
        path: str,
        findings: list[Finding] | None = None,
        kind: str | None = None,
        skipped: str | None = None,
    ):
        self.path, self.findings, self.kind, self.skipped = path, findings or [], kind, skipped


def lint_text(
    text: str,
    path: str = "-",
    *,
    max_bytes: int = MAX_BYTES,
    custom_layers: Declarations | None = None,
) -> list[Finding]:
    """All findings for one config document, ordered by position. ``custom_layers``: shape
    declarations of the project's custom layers, by class key
    (:func:`kmha_lint.signatures.read_declarations` reads them from a settings table)."""
    return _lint_text(text, path, max_bytes=max_bytes, declarations=custom_layers).findings


def _lint_text(
    text: str,
    path: str,
    *,
    max_bytes: int,
    walked: bool = False,
    declarations: Declarations | None = None,
) -> FileReport:
    """Lint one text. ``walked``: found by a folder walk, so a document that is not a
    config the linter knows is skipped rather than reported."""
    if len(text) > max_bytes:
        return FileReport(
            path, [_unpositioned(path, rules.INPUT_TOO_LARGE, _too_large(len(text), max_bytes))]
        )
    try:
        parsed = parse(text)
    except Malformed as error:
        if walked and not any(marker in text for marker in _CONFIG_MARKERS):
            return FileReport(path, skipped="not JSON, and not a model config")
        if not text.strip():
            message, hint = "Invalid JSON: the input is empty.", WHAT_TO_LINT
        else:
            message = f"Invalid JSON: {error.reason} at line {error.line}, column {error.column}."
            hint = "Fix the JSON syntax (a missing comma or quote, a trailing comma, a comment)."
        where = (error.line, error.column)
        return FileReport(path, [Finding(path, *where, "", rules.INVALID_JSON, message, hint)])
    except TooDeep as error:
        hint = "Check that this is a Keras model config: a real one nests a few dozen levels."
        return FileReport(
            path, [_unpositioned(path, rules.INPUT_TOO_LARGE, (str(error) + ".", hint))]
        )
    kind = document_kind(parsed.value)
    if kind is None and walked:
        return FileReport(path, skipped="not a model config")
    source = SourceMap(text)
    issues: list[Issue] = []
    if parsed.has_duplicate_keys:
        issues += [_duplicate(dup, source) for dup in source.duplicates()]
    if parsed.has_odd_numbers:
        issues += [_odd_number(number) for number in source.odd_numbers()]
    if not any(issue.rule is rules.INTEGER_TOO_LONG for issue in issues):
        # (Keras cannot read a file with such an integer at all: nothing else to check.)
        issues += check_document(parsed.value, declarations)
    return FileReport(path, _positioned(path, issues, source), kind)


def _duplicate(dup, source: SourceMap) -> Issue:
    return Issue(
        rules.DUPLICATE_KEY,
        dup.pointer,
        f"Duplicate key `{dup.key}` in {dup.pointer.rsplit('/', 1)[0] or 'the document'}:"
        f" the value at line {source.line_column(dup.first_offset)[0]} is silently "
        "replaced by this one.",
        f"Keep one `{dup.key}`: delete the value you do not want.",
        at_key=True,
    )


def _odd_number(number) -> Issue:
    where = number.pointer or "the document"
    if number.too_long:
        return Issue(
            rules.INTEGER_TOO_LONG,
            number.pointer,
            f"Integer too long at {where}: {number.literal}. Expected at most 4300 digits, "
            "the most Python's json (which Keras uses) converts; received more, so Keras "
            "cannot load this file at all.",
            "Replace the number with the size you meant.",
        )
    return Issue(
        rules.NON_FINITE_NUMBER,
        number.pointer,
        f"Non-finite number at {where}: `{number.literal}` is not JSON. Expected a finite "
        f"number; received {number.literal}.",
        "Write the value you meant (a finite number), or remove the argument to use its default.",
    )


def _positioned(path: str, issues: list[Issue], source: SourceMap) -> list[Finding]:
    findings, seen = [], set()
    for issue in issues:
        identity = (issue.code, issue.pointer, issue.message)
        if identity in seen:  # a shared nested model reports once
            continue
        seen.add(identity)
        span = source.span(issue.pointer, issue.at_key)
        findings.append(
            Finding(
                path,
                span.line,
                span.column,
                issue.pointer,
                issue.rule,
                issue.message,
                issue.hint,
                span.end_line,
                span.end_column,
            )
        )
    return sorted(findings, key=lambda f: (f.line, f.column, f.code))


def _too_large(size: int | None, limit: int) -> tuple[str, str]:
    """``size`` is None where only the first ``limit`` + 1 bytes were read (stdin)."""
    how_big = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    return (
        f"The config is {how_big}, above the limit of {limit} bytes.",
        "Raise the limit with --max-bytes if the file is trusted.",
    )


def _unpositioned(path: str, rule: rules.Rule, text: tuple[str, str]) -> Finding:
    return Finding(path, 1, 1, "", rule, text[0], text[1])


def read_config(path: str, max_bytes: int = MAX_BYTES) -> tuple[str, str] | Finding:
    """The config text of a path ('-' is stdin) and the name to report it under.

    A .keras archive (any zip) is read in place: only its config.json member, and never
    more than ``max_bytes`` of it, whatever its header claims.
    """
    name, size = path, None
    try:
        if path == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(path, "rb") as handle:
                if path.endswith(".keras") or handle.read(2) == b"PK":
                    handle.seek(0)
                    name = f"{path}::{ARCHIVE_MEMBER}"
                    data = _archive_member(handle, path, max_bytes)
                    if isinstance(data, Finding):
                        return data
                else:
                    handle.seek(0)
                    data = handle.read(max_bytes + 1)
                    size = os.fstat(handle.fileno()).st_size
    except (OSError, ValueError, RuntimeError) as error:
        return _unpositioned(
            path, rules.UNREADABLE_INPUT, (f"Cannot read the input: {error}.", _fix_for(error))
        )
    if len(data) > max_bytes:
        return _unpositioned(name, rules.INPUT_TOO_LARGE, _too_large(size, max_bytes))
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError as error:
        return _unpositioned(
            name,
            rules.UNREADABLE_INPUT,
            (
                f"The input is not UTF-8 text (byte {error.start}).",
                "Lint a JSON config or a .keras archive; HDF5 (.h5) models are not supported.",
            ),
        )


def _fix_for(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return "Check the path: pass existing files, directories, or - for standard input."
    if isinstance(error, PermissionError):
        return "Make the file readable by the user running kmha-lint."
    if isinstance(error, IsADirectoryError | NotADirectoryError):
        return "Check the path."
    return "Lint a JSON config or a .keras archive (a valid zip file with a config.json)."


def _archive_member(handle, path: str, max_bytes: int) -> bytes | Finding:
    import zipfile  # only archives need it, and it is slow to import

    try:
        with zipfile.ZipFile(handle) as archive:
            try:
                info = archive.getinfo(ARCHIVE_MEMBER)
            except KeyError:
                return _unpositioned(
                    path,
                    rules.UNREADABLE_INPUT,
                    (
                        f"The archive has no {ARCHIVE_MEMBER}: not a Keras 3 .keras file.",
                        "Save the model with `model.save('model.keras')`.",
                    ),
                )
            if info.file_size > max_bytes:
                name = f"{path}::{ARCHIVE_MEMBER}"
                return _unpositioned(
                    name, rules.INPUT_TOO_LARGE, _too_large(info.file_size, max_bytes)
                )
            with archive.open(info) as member:
                return member.read(max_bytes + 1)
    except zipfile.BadZipFile as error:
        raise ValueError(f"not a valid zip archive ({error})") from None


def expand_paths(paths: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """(path, walked) pairs: files as given (walked False); directories walked, sorted, for
    *.json and *.keras (walked True)."""
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = []
            for folder, _, names in os.walk(path):
                found += [os.path.join(folder, n) for n in names if n.endswith(CONFIG_SUFFIXES)]
            for file in sorted(found):
                if os.path.isfile(file):
                    yield file, True
        else:
            yield path, False


def lint_file(
    path: str,
    *,
    max_bytes: int = MAX_BYTES,
    walked: bool = False,
    custom_layers: Declarations | None = None,
) -> FileReport:
    """Read and lint one path; an unreadable input becomes a KMHA004 finding."""
    read = read_config(path, max_bytes)
    if isinstance(read, Finding):
        return FileReport(read.path, [read])
    return lint_read(*read, max_bytes=max_bytes, walked=walked, custom_layers=custom_layers)


def lint_read(
    text: str,
    name: str,
    *,
    max_bytes: int = MAX_BYTES,
    walked: bool = False,
    custom_layers: Declarations | None = None,
) -> FileReport:
    """Lint the text :func:`read_config` returned for a path (``name``: the path, or
    ``archive::member``), e.g. when the caller also needs the text (``--summary``)."""
    # An archive is a Keras file whatever folder it sits in: never skipped.
    return _lint_text(
        text,
        name,
        max_bytes=max_bytes,
        walked=walked and "::" not in name,
        declarations=custom_layers,
    )


def lint_reports(
    paths: Iterable[str], *, max_bytes: int = MAX_BYTES, custom_layers: CustomLayers | None = None
) -> Iterator[FileReport]:
    """A report per input file, directories walked; other JSON found in folders is skipped.
    ``custom_layers``: declarations for every file, or a function of the file's path (the
    command line passes the ones of each file's settings)."""
    for path, walked in expand_paths(paths):
        declared = custom_layers(path) if callable(custom_layers) else custom_layers
        yield lint_file(path, max_bytes=max_bytes, walked=walked, custom_layers=declared)


def lint_paths(
    paths: Iterable[str], *, max_bytes: int = MAX_BYTES, custom_layers: CustomLayers | None = None
) -> list[Finding]:
    """Findings of every file under ``paths``; unreadable inputs become KMHA004 findings."""
    reports = lint_reports(paths, max_bytes=max_bytes, custom_layers=custom_layers)
    return [f for report in reports for f in report.findings]
