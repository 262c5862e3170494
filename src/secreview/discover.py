"""Turn command-line targets into the list of files to review.

Folders are walked recursively for ``*.py`` files, skipping version-control, virtual-environment,
build and cache folders. Exclude patterns use gitignore syntax (through ``pathspec``) and apply to
files named explicitly too, as pre-commit passes files one by one. A file named explicitly is
reviewed whatever its extension.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

DEFAULT_EXCLUDED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".venv", ".env",
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", "build", "dist",
    "node_modules", "site-packages", ".secreview_cache", ".idea", ".vscode",
})


class TargetError(ValueError):
    """A target that does not exist or cannot be walked."""


@dataclass(frozen=True, slots=True)
class Target:
    """A file to review: the path to open and the path to print."""

    real_path: str  # what to open
    display: str  # what to print: relative to the working folder when inside it, with '/'


def display_path(path: str, cwd: str | None = None) -> str:
    cwd = cwd or os.getcwd()
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, cwd)
    except ValueError:
        rel = absolute
    if rel.startswith(".."):
        rel = absolute
    return rel.replace(os.sep, "/")


def discover(targets: list[str], exclude: list[str] | None = None) -> list[Target]:
    """Files to review, in a stable order, without duplicates."""
    spec = gitignore_spec(exclude or [])
    found: dict[str, Target] = {}
    for target in targets:
        if not os.path.lexists(target):
            raise TargetError(f"no such file or folder: {target}")
        if os.path.isdir(target):
            cwd = os.getcwd()
            inside = cwd.rstrip(os.sep) + os.sep
            base = os.path.abspath(target)
            for path in _walk(target, spec):
                # every walked path starts with ``target``: its absolute form is ``base`` plus the
                # rest, and inside the working folder the display path is a slice of that (the
                # same as display_path's relpath, without normalising every path again)
                rest = path[len(target):]
                absolute = base + (rest if rest.startswith(os.sep) else os.sep + rest)
                if absolute.startswith(inside) and os.sep == "/":
                    display = absolute[len(inside):]
                else:
                    display = display_path(path, cwd)
                found.setdefault(display, Target(path, display))
        else:
            display = display_path(target)
            if not _excluded(spec, display, target):
                found.setdefault(display, Target(target, display))
    return [found[key] for key in sorted(found)]


class _NoPatterns:
    """The matcher of an empty pattern list: it matches nothing."""

    patterns: tuple = ()

    def match_file(self, path: str) -> bool:  # noqa: ARG002 - the PathSpec interface
        return False


def gitignore_spec(patterns: list[str]) -> pathspec.PathSpec | _NoPatterns:
    """The gitignore-style matcher of ``patterns``. ``pathspec`` is imported only when there are
    patterns: importing it is a sixth of secreview's start-up, and most runs have none."""
    if not patterns:
        return _NoPatterns()
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _excluded(spec: pathspec.PathSpec | _NoPatterns, display: str, raw: str) -> bool:
    if not spec.patterns:
        return False
    candidates = {display, raw.replace(os.sep, "/"), os.path.basename(raw)}
    return any(spec.match_file(c) for c in candidates)


def _walk(root: str, spec: pathspec.PathSpec | _NoPatterns):
    # (folder, whether it is the root): a folder below the root that holds ``pyvenv.cfg`` or a
    # ``conda-meta`` folder is a virtual environment (``venv``, ``env`` or any other name) and is
    # skipped whole; a package that is merely called ``venv`` (the standard library's) is
    # reviewed. The folder's own listing tells, instead of two more system calls per folder.
    stack = [(root, True)]
    while stack:
        folder, is_root = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        if not is_root and _is_environment(entries):
            continue
        subdirs = []
        for entry in entries:
            rel = os.path.relpath(entry.path, root).replace(os.sep, "/") if spec.patterns else ""
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name in DEFAULT_EXCLUDED_DIRS or entry.name.endswith(".egg-info"):
                    continue
                if spec.patterns and (spec.match_file(rel + "/") or spec.match_file(display_path(entry.path) + "/")):
                    continue
                subdirs.append((entry.path, False))
            elif entry.name.endswith(".py"):
                if spec.patterns and (spec.match_file(rel) or spec.match_file(display_path(entry.path))):
                    continue
                yield entry.path
        stack.extend(reversed(subdirs))


def _is_environment(entries: list[os.DirEntry]) -> bool:
    """Whether a folder with these entries is a virtual environment: it holds ``pyvenv.cfg`` (of
    any kind, that exists) or a ``conda-meta`` folder (symbolic links followed)."""
    for entry in entries:
        try:
            if entry.name == "pyvenv.cfg" and (not entry.is_symlink() or os.path.exists(entry.path)):
                return True
            if entry.name == "conda-meta" and entry.is_dir():
                return True
        except OSError:
            continue
    return False
