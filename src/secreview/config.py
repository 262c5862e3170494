"""``[tool.secreview]`` configuration, read from the nearest ``pyproject.toml``.

The file is found by walking up from the first target (a file's folder, or the folder itself;
the current folder for standard input or a diff review) to the first ``pyproject.toml`` that has
a ``[tool.secreview]`` table; ``--config FILE`` names one instead (a ``pyproject.toml``, or any
TOML file whose top level holds the same keys) and ``--no-config`` reads none. The file is data:
it is parsed with ``tomllib`` and never executed.

Paths in the file (``exclude`` patterns, ``per-file-ignores`` patterns, ``baseline``,
``taint-specs``) are relative to the folder that holds the file. Every value given on the
command line overrides the file's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from secreview.discover import gitignore_spec
from secreview.errors import UserError
from secreview.model import Level

if TYPE_CHECKING:
    import pathspec

TEST_POLICIES = ("lower", "drop", "keep")

# key -> (kind, description used in error messages)
KEYS: dict[str, str] = {
    "select": "rules",
    "ignore": "rules",
    "per-file-ignores": "table",
    "exclude": "strings",
    "extend-exclude": "strings",
    "min-severity": "level",
    "min-confidence": "level",
    "test-policy": "policy",
    "taint-specs": "files",
    "baseline": "file",
    "require-suppression-reason": "bool",
    "report-unused-suppressions": "bool",
    "max-file-size": "size",
}


@dataclass
class Config:
    """What one configuration file says (None: the key is not set)."""

    path: str | None = None  # the file read, for messages
    root: str | None = None  # the folder its relative paths start from
    select: list[str] | None = None
    ignore: list[str] | None = None
    per_file_ignores: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    exclude: list[str] | None = None
    extend_exclude: list[str] = field(default_factory=list)
    min_severity: Level | None = None
    min_confidence: Level | None = None
    test_policy: str | None = None
    taint_specs: list[str] = field(default_factory=list)
    baseline: str | None = None
    require_suppression_reason: bool = False
    report_unused_suppressions: bool = False
    max_file_size: int | None = None


def find(start: str) -> str | None:
    """The nearest ``pyproject.toml`` with a ``[tool.secreview]`` table, from ``start`` upward."""
    folder = os.path.abspath(start)
    if not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate) and _has_table(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _has_table(path: str) -> bool:
    # A quick textual test first: most pyproject.toml files never mention us.
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    if b"secreview" not in data:
        return False
    table = _read(path, data).get("tool", {})
    return isinstance(table, dict) and "secreview" in table


def _read(path: str, data: bytes | None = None) -> dict:
    import tomllib  # here, not at the top: most runs find no table to parse (start-up cost)

    try:
        if data is None:
            with open(path, "rb") as handle:
                data = handle.read()
        return tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise UserError(f"--config {path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"--config {path}: is a folder, not a file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"cannot read {path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"cannot parse {path}: {exc}") from None


def load(path: str, explicit: bool = False) -> Config:
    """Read and check one configuration file."""
    document = _read(path)
    tool = document.get("tool")
    if isinstance(tool, dict) and "secreview" in tool:
        table, where = tool["secreview"], "[tool.secreview]"
        if not isinstance(table, dict):
            raise UserError(f"{path}: [tool.secreview] must be a table, not {_type(table)}")
    elif explicit and os.path.basename(path) != "pyproject.toml":
        table, where = document, "top level"
    else:
        raise UserError(f"{path}: has no [tool.secreview] table")
    root = os.path.dirname(os.path.abspath(path))
    cfg = Config(path=path, root=root)
    for key, value in table.items():
        kind = KEYS.get(key)
        if kind is None:
            import difflib  # an error message's hint only

            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(KEYS)})"
            raise UserError(f"{path}: {where}: unknown key '{key}'{hint}")
        _apply(cfg, key, kind, value, f"{path}: {where}: '{key}'")
    return cfg


def _type(value: object) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        got = _type(value) if not isinstance(value, list) else "an array with " + next(
            _type(v) for v in value if not isinstance(v, str))
        raise UserError(f"{where} must be an array of strings, not {got}")
    return list(value)


def _rules(refs: list[str], where: str) -> list[str]:
    from secreview.rules import registry

    for ref in refs:
        try:
            registry.select([ref])
        except registry.RuleError as exc:
            raise UserError(f"{where}: {exc}") from None
    return refs


def _apply(cfg: Config, key: str, kind: str, value: object, where: str) -> None:
    attr = key.replace("-", "_")
    if kind == "rules":
        setattr(cfg, attr, _rules(_strings(value, where), where))
    elif kind == "strings":
        setattr(cfg, attr, _strings(value, where))
    elif kind == "level":
        if not isinstance(value, str):
            raise UserError(f"{where} must be a string (low, medium or high), not {_type(value)}")
        try:
            setattr(cfg, attr, Level.parse(value))
        except ValueError as exc:
            raise UserError(f"{where}: {exc}") from None
    elif kind == "policy":
        if value not in TEST_POLICIES:
            shown = repr(value) if isinstance(value, str) else _type(value)
            raise UserError(f"{where} must be one of {', '.join(TEST_POLICIES)}, not {shown}")
        cfg.test_policy = value
    elif kind == "bool":
        if not isinstance(value, bool):
            raise UserError(f"{where} must be true or false, not {_type(value)}")
        setattr(cfg, attr, value)
    elif kind == "file":
        if not isinstance(value, str) or not value:
            raise UserError(f"{where} must be a file name (a string), not {_type(value)}")
        setattr(cfg, attr, os.path.join(cfg.root or ".", value))
    elif kind == "files":
        files = []
        for name in _strings(value, where):
            full = os.path.join(cfg.root or ".", name)
            if not os.path.isfile(full):
                raise UserError(f"{where}: no such file: {name}")
            files.append(full)
        cfg.taint_specs = files
    elif kind == "size":
        cfg.max_file_size = _size(value, where)
    elif kind == "table":
        if not isinstance(value, dict):
            raise UserError(f"{where} must be a table of pattern = [rules], not {_type(value)}")
        from secreview.rules import registry

        entries = []
        for pattern, refs in value.items():
            inner = f"{where}: '{pattern}'"
            refs = _rules(_strings(refs, inner), inner)
            entries.append((pattern, tuple(r.id for r in registry.select(refs))))
        cfg.per_file_ignores = entries


def _size(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UserError(f"{where} must be a size (bytes, or a string such as \"5M\"), not {_type(value)}")
    if isinstance(value, int):
        number = value
    else:
        units = {"k": 1024, "m": 1024 * 1024, "g": 1024 ** 3}
        raw = value.strip().lower().removesuffix("b")
        factor = units.get(raw[-1:], 1)
        try:
            number = int(float(raw[:-1] if raw[-1:] in units else raw) * factor)
        except ValueError:
            raise UserError(f"{where}: not a size: {value!r} (use bytes, or a number with K, M or G)") from None
    if number < 0:
        raise UserError(f"{where} must not be negative")
    return number


# ---------------------------------------------------------------------------------- the command line


@dataclass
class Settings:
    """The configuration in force for one run: the file's values under the command line's."""

    config: Config
    excludes: list[str]  # patterns for discover(), relative to the current folder
    root_excludes: list[str]  # the file's patterns, relative to its folder

    def complete(self, options, args):
        """Fill the fields of ``options`` that only the file (or the new flags) set."""
        from secreview.filters import Filters

        cfg = self.config
        changes: dict[str, object] = {}
        names = {f.name for f in fields(options)}
        if "taint_specs" in names:
            changes["taint_specs"] = list(cfg.taint_specs)
        policy = getattr(args, "test_policy", None) or cfg.test_policy
        if policy is not None and "test_policy" in names:
            changes["test_policy"] = policy
        if "filters" in names:
            changes["filters"] = Filters(
                per_file_ignores=list(cfg.per_file_ignores),
                root=cfg.root,
                require_reason=bool(getattr(args, "require_suppression_reason", False) or cfg.require_suppression_reason),
                report_unused=bool(getattr(args, "report_unused_suppressions", False) or cfg.report_unused_suppressions),
            )
        return replace(options, **changes)

    def filter_targets(self, targets: list) -> list:
        """Drop targets matched by the file's exclude patterns, read relative to its folder (the
        command line's patterns were applied by discover())."""
        if not self.root_excludes or self.config.root is None:
            return targets
        spec = gitignore_spec(self.root_excludes)
        return [t for t in targets if not excluded(spec, t.display, self.config.root)]


def excluded(spec: pathspec.PathSpec, display: str, root: str) -> bool:
    """Whether a file (by display path) or any folder above it matches, relative to ``root``."""
    if display.startswith("<"):
        return False
    rel = os.path.relpath(os.path.abspath(display), root).replace(os.sep, "/")
    if rel.startswith("../"):
        return False
    if spec.match_file(rel):
        return True
    parts = rel.split("/")
    return any(spec.match_file("/".join(parts[:i]) + "/") for i in range(1, len(parts)))


def start_folder(paths: list[str]) -> str:
    for path in paths:
        if path != "-":
            return path
    return os.getcwd()


def settle(args, paths: list[str] | None = None) -> Settings:
    """Read the configuration for this run and fill the options the command line left unset
    (``None``) on ``args`` in place, so the command line always wins."""
    explicit = getattr(args, "config", None)
    if explicit and getattr(args, "no_config", False):
        raise UserError("--config and --no-config cannot be used together")
    if explicit:
        cfg = load(explicit, explicit=True)
    elif getattr(args, "no_config", False):
        cfg = Config()
    else:
        found = find(start_folder(paths if paths is not None else getattr(args, "paths", []) or []))
        cfg = load(found) if found else Config()
    if args.select is None and cfg.select is not None:
        args.select = list(cfg.select)
    if args.ignore is None and cfg.ignore is not None:
        args.ignore = list(cfg.ignore)
    if args.min_severity is None:
        args.min_severity = cfg.min_severity or Level.LOW
    if args.min_confidence is None:
        args.min_confidence = cfg.min_confidence or Level.LOW
    if args.max_file_size is None:
        from secreview.source.parse import DEFAULT_MAX_BYTES

        args.max_file_size = DEFAULT_MAX_BYTES if cfg.max_file_size is None else cfg.max_file_size
    if hasattr(args, "baseline") and args.baseline is None:
        args.baseline = cfg.baseline
    cli_excludes = args.exclude  # the command line's --exclude replaces the file's 'exclude'
    root_excludes = list(cfg.extend_exclude) + (list(cfg.exclude or []) if cli_excludes is None else [])
    here = os.getcwd()
    excludes = list(cli_excludes or [])
    if cfg.root is not None and os.path.abspath(cfg.root) == here:
        excludes += root_excludes  # same base folder: discover() can prune whole folders
    args.exclude = excludes
    return Settings(cfg, excludes, root_excludes)
