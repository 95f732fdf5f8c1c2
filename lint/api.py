"""The programmatic API: lint one config text, or files, directories and .keras archives."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from kmha_lint.check import WHAT_TO_LINT, check_document
from kmha_lint.findings import Finding, Issue
from kmha_lint.jsonsource import Malformed, SourceMap, TooDeep, parse
from kmha_lint.rules import RULES

__all__ = ["Finding", "lint_text", "lint_paths", "MAX_BYTES"]

MAX_BYTES = 64 * 1024 * 1024  # per config text; a 48-block transformer is about 0.5 MB
ARCHIVE_MEMBER = "config.json"


def lint_text(text: str, path: str = "-", *, max_bytes: int = MAX_BYTES) -> list[Finding]:
    """All findings for one config document, ordered by position."""
    if len(text) > max_bytes:
        return [_unpositioned(path, "KMHA003", _too_large(len(text), max_bytes))]
    try:
        parsed = parse(text)
    except Malformed as error:
        if not text.strip():
            message, hint = "Invalid JSON: the input is empty.", WHAT_TO_LINT
        else:
            message = f"Invalid JSON: {error.reason} at line {error.line}, column {error.column}."
            hint = "Fix the JSON syntax (a missing comma or quote, a trailing comma, a comment)."
        severity = RULES["KMHA001"].severity
        return [Finding(path, error.line, error.column, "", "KMHA001", severity, message, hint)]
    except TooDeep as error:
        hint = "Check that this is a Keras model config: a real one nests a few dozen levels."
        return [_unpositioned(path, "KMHA003", (str(error) + ".", hint))]
    source = SourceMap(text)
    issues: list[Issue] = []
    if parsed.has_duplicate_keys:
        issues += [
            Issue(
                "KMHA002",
                dup.pointer,
                f"Duplicate key `{dup.key}` in {dup.pointer.rsplit('/', 1)[0] or 'the document'}:"
                f" the value at line {source.line_column(dup.first_offset)[0]} is silently "
                "replaced by this one.",
                f"Keep one `{dup.key}`: delete the value you do not want.",
                at_key=True,
            )
            for dup in source.duplicates()
        ]
    issues += check_document(parsed.value)
    return _positioned(path, issues, source)


def _positioned(path: str, issues: list[Issue], source: SourceMap) -> list[Finding]:
    findings, seen = [], set()
    for issue in issues:
        identity = (issue.code, issue.pointer, issue.message)
        if identity in seen:  # a shared nested model reports once
            continue
        seen.add(identity)
        line, column = source.position(issue.pointer, issue.at_key)
        findings.append(
            Finding(
                path,
                line,
                column,
                issue.pointer,
                issue.code,
                issue.severity,
                issue.message,
                issue.hint,
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


def _unpositioned(path: str, code: str, text: tuple[str, str]) -> Finding:
    return Finding(path, 1, 1, "", code, RULES[code].severity, text[0], text[1])


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
        return _unpositioned(path, "KMHA004", (f"Cannot read the input: {error}.", _fix_for(error)))
    if len(data) > max_bytes:
        return _unpositioned(name, "KMHA003", _too_large(size, max_bytes))
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError as error:
        return _unpositioned(
            name,
            "KMHA004",
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
                    "KMHA004",
                    (
                        f"The archive has no {ARCHIVE_MEMBER}: not a Keras 3 .keras file.",
                        "Save the model with `model.save('model.keras')`.",
                    ),
                )
            if info.file_size > max_bytes:
                name = f"{path}::{ARCHIVE_MEMBER}"
                return _unpositioned(name, "KMHA003", _too_large(info.file_size, max_bytes))
            with archive.open(info) as member:
                return member.read(max_bytes + 1)
    except zipfile.BadZipFile as error:
        raise ValueError(f"not a valid zip archive ({error})") from None


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Files as given; directories walked (sorted) for *.json and *.keras."""
    for path in paths:
        if path != "-" and os.path.isdir(path):
            for found in sorted(Path(path).rglob("*")):
                if found.suffix in (".json", ".keras") and found.is_file():
                    yield str(found)
        else:
            yield path


def lint_paths(paths: Iterable[str], *, max_bytes: int = MAX_BYTES) -> list[Finding]:
    """Findings of every file under ``paths``; unreadable inputs become KMHA004 findings."""
    findings: list[Finding] = []
    for path in expand_paths(paths):
        read = read_config(path, max_bytes)
        if isinstance(read, Finding):
            findings.append(read)
        else:
            findings += lint_text(read[0], read[1], max_bytes=max_bytes)
    return findings
