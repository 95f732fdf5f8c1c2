"""Settings: `[tool.kmha-lint]` in pyproject.toml, or kmha-lint.toml, found as ruff finds its own.

Each linted file uses the settings file closest to it: walking up from the file's folder,
the first folder with `kmha-lint.toml`, `.kmha-lint.toml`, or a `pyproject.toml` that has a
`[tool.kmha-lint]` table (in that order of preference) wins, and nothing is merged from
farther up. `--config FILE` uses one file for every input instead; `--config "key = value"`
overrides single settings. Command-line flags win over any file.

Rule selection follows ruff: a selector is a code or a prefix of codes ("KMHA2"); a code is
enabled when the most specific selector that matches it comes from `select`/`extend-select`
rather than `ignore`/`extend-ignore` (on a tie, ignore wins). Sources are layered (the file,
then inline --config settings, then flags); a layer that sets `select` starts afresh, one
that only ignores or extends adds to what came before. `per-file-ignores` maps globs,
relative to the settings file's folder, to selectors ignored in matching files.
"""

from __future__ import annotations

import os

from kmha_lint.record import Record

SETTINGS_FILES = ("kmha-lint.toml", ".kmha-lint.toml", "pyproject.toml")
_KEYS = {
    "select",
    "extend-select",
    "ignore",
    "extend-ignore",
    "per-file-ignores",
    "extend-per-file-ignores",
    "format",
    "output-format",
    "max-bytes",
    "paths",
    "custom-layers",
}


class UsageError(Exception):
    """A mistake on the command line or in a settings file: exit status 2, no traceback."""


class FileIgnore(Record):
    """`per-file-ignores` entry: a glob relative to ``root`` and the selectors it ignores."""

    __slots__ = ("root", "glob", "selectors")

    def __init__(self, root: str, glob: str, selectors: tuple[str, ...]):
        self.root, self.glob, self.selectors = root, glob, selectors

    def matches(self, path: str) -> bool:
        file = os.path.abspath(path.split("::", 1)[0])
        relative = os.path.relpath(file, os.path.abspath(self.root)).replace(os.sep, "/")
        if relative.startswith("../"):
            relative = file.replace(os.sep, "/")
        # A glob without a slash matches the file name in any folder, as in ruff.
        subject = relative if "/" in self.glob else os.path.basename(file)
        import fnmatch  # only where per-file ignores are set

        return fnmatch.fnmatchcase(subject, self.glob)


class Selection(Record):
    """Which rules are reported. ``select`` None means every rule."""

    __slots__ = ("select", "ignore", "per_file_ignores")

    def __init__(
        self,
        select: tuple[str, ...] | None = None,
        ignore: tuple[str, ...] = (),
        per_file_ignores: tuple[FileIgnore, ...] = (),
    ):
        self.select, self.ignore, self.per_file_ignores = select, ignore, per_file_ignores

    def enabled(self, code: str, path: str) -> bool:
        """ruff's rule: the most specific matching selector decides; ignore wins a tie."""
        if self.select is None:
            chosen = 0
        else:
            chosen = max((len(s) for s in self.select if code.startswith(s)), default=-1)
        ignore = self.ignore
        if self.per_file_ignores and path != "-":
            ignore += tuple(
                s for f in self.per_file_ignores if f.matches(path) for s in f.selectors
            )
        dropped = max((len(s) for s in ignore if code.startswith(s)), default=-1)
        return chosen > dropped

    def then(self, layer: Layer) -> Selection:
        """This selection with a later layer (the command line) applied on top."""
        select, ignore = self.select, self.ignore
        if layer.select is not None:  # a later `select` starts afresh, ignores included
            select, ignore = layer.select, ()
        if layer.extend_select and select is not None:
            select = select + layer.extend_select
        return Selection(
            select, ignore + layer.ignore, self.per_file_ignores + layer.per_file_ignores
        )


class Layer(Record):
    """Settings as one source states them (a file, an inline --config, the flags)."""

    __slots__ = (
        "select",
        "extend_select",
        "ignore",
        "per_file_ignores",
        "format",
        "max_bytes",
        "paths",
        "custom_layers",
    )

    def __init__(
        self,
        select: tuple[str, ...] | None = None,
        extend_select: tuple[str, ...] = (),
        ignore: tuple[str, ...] = (),
        per_file_ignores: tuple[FileIgnore, ...] = (),
        format: str | None = None,
        max_bytes: int | None = None,
        paths: tuple[str, ...] = (),
        custom_layers: dict | None = None,
    ):
        self.select, self.extend_select, self.ignore = select, extend_select, ignore
        self.per_file_ignores, self.format, self.max_bytes = per_file_ignores, format, max_bytes
        self.paths = paths
        # Class key -> kmha_lint.signatures.Declaration (shapes of the project's own layers).
        self.custom_layers = custom_layers if custom_layers is not None else {}


class Settings(Record):
    """The settings file that applies to a folder (None: none, the defaults), and what it says."""

    __slots__ = ("origin", "layer")

    def __init__(self, origin: str | None = None, layer: Layer | None = None):
        self.origin, self.layer = origin, layer if layer is not None else Layer()

    @property
    def selection(self) -> Selection:
        return Selection().then(self.layer)


def read_settings_file(path: str, *, explicit: bool = False) -> Settings | None:
    """The settings in ``path``; None for a pyproject.toml without [tool.kmha-lint]."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read it: {error}") from None
    is_pyproject = os.path.basename(path) == "pyproject.toml"
    # Parsing TOML costs more than a lint: skip a pyproject.toml that has no such table.
    if is_pyproject and "tool.kmha-lint" not in text and not explicit:
        return None
    import tomllib  # only when there is a table to read

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML: {error}") from None
    table = data.get("tool", {}).get("kmha-lint") if is_pyproject else data
    if table is None:
        if explicit:
            raise UsageError(f"{path}: has no [tool.kmha-lint] table")
        return None
    return settings_from_table(table, str(path), path)


def settings_from_table(table: object, where: str, origin: str | None) -> Settings:
    return Settings(origin, layer_from_table(table, where, origin))


def layer_from_table(table: object, where: str, origin: str | None) -> Layer:
    """Validate a [tool.kmha-lint] table (or an inline --config) into a settings layer."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: [tool.kmha-lint] must be a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise UsageError(f"{where}: unknown setting(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    base = os.path.dirname(origin) if origin is not None else os.getcwd()
    select = codes(table["select"], f"{where}: `select`") if "select" in table else None
    per_file = ()
    for key in ("per-file-ignores", "extend-per-file-ignores"):
        per_file += _per_file(table.get(key, {}), f"{where}: `{key}`", base)
    fmt = table.get("output-format", table.get("format"))
    if fmt is not None and not isinstance(fmt, str):
        raise UsageError(f"{where}: `output-format` must be a string, got {fmt!r}")
    max_bytes = table.get("max-bytes")
    if max_bytes is not None and (
        not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1
    ):
        raise UsageError(f"{where}: `max-bytes` must be a positive integer, got {max_bytes!r}")
    paths = table.get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise UsageError(f"{where}: `paths` must be a list of strings, got {paths!r}")
    custom_layers = {}
    if "custom-layers" in table:
        from kmha_lint.signatures import SignatureError, read_declarations

        shown = _shown_path(origin) if origin is not None else where
        try:
            custom_layers = read_declarations(table["custom-layers"], shown)
        except SignatureError as error:
            raise UsageError(f"{where}: `custom-layers` {error}") from None
    return Layer(
        select=select,
        extend_select=codes(table.get("extend-select", []), f"{where}: `extend-select`"),
        ignore=codes(table.get("ignore", []), f"{where}: `ignore`")
        + codes(table.get("extend-ignore", []), f"{where}: `extend-ignore`"),
        per_file_ignores=per_file,
        format=fmt,
        max_bytes=max_bytes,
        paths=tuple(os.path.join(base, p) for p in paths),
        custom_layers=custom_layers,
    )


def _shown_path(path: str) -> str:
    """A settings file as messages name it: relative to the working folder when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if relative.startswith("..") else relative


def codes(value: object, where: str) -> tuple[str, ...]:
    """Rule selectors: codes or prefixes of codes ('KMHA2' selects all geometry rules)."""
    from kmha_lint.rules import RULES

    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise UsageError(f"{where}: expected a list of rule codes, got {value!r}")
    selectors = tuple(i.strip().upper() for i in items if i.strip())
    for selector in selectors:
        if selector != "ALL" and not any(code.startswith(selector) for code in RULES):
            raise UsageError(f"{where}: {selector!r} matches no rule; see --list-rules")
    return tuple("" if s == "ALL" else s for s in selectors)


def _per_file(value: object, where: str, root: str) -> tuple[FileIgnore, ...]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected a table of glob = [codes], got {value!r}")
    return tuple(
        FileIgnore(root, glob, codes(selectors, f"{where} {glob!r}"))
        for glob, selectors in value.items()
    )


class SettingsFinder:
    """The settings file closest to each linted file (cached per folder), or one fixed file."""

    def __init__(self, fixed: Settings | None = None):
        self._fixed = fixed
        self._by_folder: dict[str, Settings] = {}

    def for_path(self, path: str) -> Settings:
        if self._fixed is not None:
            return self._fixed
        if path == "-":
            return self.for_folder(os.getcwd())
        return self.for_folder(os.path.dirname(os.path.abspath(path.split("::", 1)[0])))

    def custom_layers(self, path: str) -> dict:
        """The custom-layer declarations that apply to a linted file."""
        return self.for_path(path).layer.custom_layers

    def for_folder(self, folder: str) -> Settings:
        if self._fixed is not None:
            return self._fixed
        cached = self._by_folder.get(folder)
        if cached is not None:
            return cached
        found = None
        for name in SETTINGS_FILES:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                found = read_settings_file(candidate)
                if found is not None:
                    break
        if found is None:
            parent = os.path.dirname(folder)
            found = Settings() if parent == folder else self.for_folder(parent)
        self._by_folder[folder] = found
        return found
