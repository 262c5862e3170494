"""Change review: what a revision range, the working tree or a patch changed, line by line.

Files are analysed whole at the new revision (so a data flow from unchanged code into a changed
line is seen); the triage phase then keeps the findings whose lines, or whose trace steps, touch
an added or modified line (:func:`secreview.filters.touches`). With ``--new-only`` it keeps
instead the findings whose fingerprint the base revision lacks, which also catches a defect made
by deleting a line (a removed ``shlex.quote``, say).

Git runs with argument lists (never a shell) and its output is parsed with ``unidiff``. Renamed
files keep their base version under the new name, deleted files have nothing left to review,
binary, submodule and symbolic-link entries are passed over, and so are files that are not
Python (by the ``.py`` suffix, or a ``python`` shebang on a file without a suffix).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

import unidiff

from secreview.discover import Target, display_path
from secreview.errors import UserError

GIT_DIFF = ("-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
            "-M", "--unified=0", "--src-prefix=a/", "--dst-prefix=b/")


@dataclass(frozen=True)
class FileChange:
    path: str | None  # the path at the new side, relative to the root; None when deleted
    old_path: str | None  # the path at the base; None when added
    added: frozenset[int]  # lines of the new side that were added or changed
    binary: bool = False


@dataclass
class Change:
    root: str  # absolute folder the paths are relative to (the repository's top level)
    files: list[FileChange]
    new_rev: str | None = None  # None: the working tree
    base_rev: str | None = None  # the base commit (git modes)
    patch: unidiff.PatchSet | None = None  # patch mode: to rebuild base versions for --new-only
    label: str = ""
    untracked: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- git


def git(args: list[str], cwd: str, what: str) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise UserError(f"{what}: git is not installed (or not on PATH)") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        first = next((line for line in message if line.strip()), f"git exited with status {proc.returncode}")
        raise UserError(f"{what}: {first.removeprefix('fatal: ').removeprefix('error: ')}")
    return proc.stdout


def repo_root(cwd: str, what: str) -> str:
    try:
        out = git(["rev-parse", "--show-toplevel"], cwd, what)
    except UserError:
        raise UserError(f"{what}: {os.path.abspath(cwd)} is not inside a git repository") from None
    return os.path.realpath(out.decode("utf-8", errors="surrogateescape").strip())


def _commit(rev: str, root: str, what: str) -> str:
    try:
        out = git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], root, what)
    except UserError:
        raise UserError(f"{what}: unknown revision '{rev}'") from None
    return out.decode().strip()


def from_range(spec: str | None, cwd: str) -> Change:
    """``secreview diff [REV_RANGE]``: no range is the working tree against HEAD; ``A`` is the
    working tree against A; ``A..B`` is B against A; ``A...B`` is B against their merge base."""
    what = f"diff {spec}" if spec else "diff"
    root = repo_root(cwd, what)
    if spec is None or spec == "":
        base = _commit("HEAD", root, what)
        return _worktree_change(root, base, what, "the working tree against HEAD")
    if spec.startswith("-"):
        raise UserError(f"{what}: a revision range must not start with '-'")
    if "..." in spec:
        left, right = spec.split("...", 1)
        left_c, right_c = _commit(left or "HEAD", root, what), _commit(right or "HEAD", root, what)
        base = git(["merge-base", left_c, right_c], root, what).decode().strip()
        return _commit_change(root, base, right_c, what, spec)
    if ".." in spec:
        left, right = spec.split("..", 1)
        return _commit_change(root, _commit(left or "HEAD", root, what), _commit(right or "HEAD", root, what), what, spec)
    return _worktree_change(root, _commit(spec, root, what), what, f"the working tree against {spec}")


def from_base(ref: str, cwd: str) -> Change:
    """``--diff-base REF``: the working tree against the merge base of REF and HEAD (what this
    branch changed since it left REF)."""
    what = f"--diff-base {ref}"
    if ref.startswith("-"):
        raise UserError(f"{what}: a revision must not start with '-'")
    root = repo_root(cwd, what)
    ref_c, head = _commit(ref, root, what), _commit("HEAD", root, what)
    base = git(["merge-base", ref_c, head], root, what).decode().strip()
    return _worktree_change(root, base, what, f"the working tree against {ref}")


def _worktree_change(root: str, base: str, what: str, label: str) -> Change:
    text = git([*GIT_DIFF, base, "--"], root, what).decode("utf-8", errors="surrogateescape")
    files = parse_patch(text, what)
    untracked = git(["ls-files", "--others", "--exclude-standard", "-z"], root, what)
    names = sorted(n for n in untracked.decode("utf-8", errors="surrogateescape").split("\0") if n)
    for name in names:  # a new file not yet added is part of the working tree's change
        files.append(FileChange(name, None, _all_lines(os.path.join(root, name))))
    return Change(root, files, None, base, label=label, untracked=names)


def _commit_change(root: str, base: str, new: str, what: str, label: str) -> Change:
    text = git([*GIT_DIFF, base, new, "--"], root, what).decode("utf-8", errors="surrogateescape")
    return Change(root, parse_patch(text, what), new, base, label=label)


def from_patch(path: str, cwd: str) -> Change:
    """``--patch FILE``: a unified diff (``git diff``, ``git format-patch``, a Gerrit change's
    patch) whose new side is the working tree. Its paths are relative to the repository's top
    level when the current folder is in one, else to the current folder."""
    what = f"--patch {path}"
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise UserError(f"{what}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{what}: is a folder, not a file") from None
    except OSError as exc:
        raise UserError(f"{what}: cannot read: {exc.strerror or exc}") from None
    text = data.decode("utf-8", errors="surrogateescape")
    patch = _patchset(text, what)
    if not len(patch) and text.strip():
        raise UserError(f"{what}: no file differences found (is it a unified diff?)")
    try:
        root = repo_root(cwd, what)
    except UserError:
        root = os.path.realpath(cwd)
    return Change(root, _changes(patch), None, None, patch=patch, label=f"the patch {path}")


def _patchset(text: str, what: str) -> unidiff.PatchSet:
    try:
        return unidiff.PatchSet(text)
    except unidiff.UnidiffParseError as exc:
        raise UserError(f"{what}: not a unified diff: {exc}") from None


def parse_patch(text: str, what: str = "diff") -> list[FileChange]:
    return _changes(_patchset(text, what))


def _strip(name: str | None) -> str | None:
    if name is None or name == "/dev/null":
        return None
    for prefix in ("a/", "b/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _changes(patch: unidiff.PatchSet) -> list[FileChange]:
    files = []
    for pf in patch:
        if pf.is_removed_file:
            new = None
        else:
            new = _strip(pf.target_file) or pf.path
        old = None if pf.is_added_file else (_strip(pf.source_file) or pf.path)
        binary = bool(getattr(pf, "is_binary_file", False))
        added = frozenset(line.target_line_no for hunk in pf for line in hunk
                          if line.is_added and line.target_line_no is not None)
        files.append(FileChange(new, old, added, binary))
    return files


def _all_lines(path: str) -> frozenset[int]:
    try:
        with open(path, "rb") as handle:
            count = len(handle.read().splitlines())
    except OSError:
        return frozenset()
    return frozenset(range(1, count + 1))


# ----------------------------------------------------------------------------- what to review


def is_python(path: str, head: bytes) -> bool:
    name = os.path.basename(path)
    if name.endswith(".py"):
        return True
    if "." in name:
        return False
    first = head.split(b"\n", 1)[0]
    return first.startswith(b"#!") and b"python" in first


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(256)
    except OSError:
        return b""


def new_targets(change: Change, scratch: str) -> list[Target]:
    """The Python files of the new side, whole. Files of a commit are written under ``scratch``
    and reported under their working-tree name."""
    targets = []
    for fc in change.files:
        if fc.path is None or fc.binary:
            continue
        display = display_path(os.path.join(change.root, fc.path))
        if change.new_rev is None:
            real = os.path.join(change.root, fc.path)
            if not os.path.isfile(real) or os.path.islink(real) or not is_python(fc.path, _head(real)):
                continue
        else:
            data = _blob(change, change.new_rev, fc.path)
            if data is None or not is_python(fc.path, data[:256]):
                continue
            real = _write(scratch, "new", fc.path, data)
        targets.append(Target(real, display))
    return sorted(targets, key=lambda t: t.display)


def changed_lines(change: Change) -> dict[str, frozenset[int]]:
    """Display path -> changed lines, for every file of the new side (empty for a pure rename)."""
    result = {}
    for fc in change.files:
        if fc.path is not None and not fc.binary:
            result[display_path(os.path.join(change.root, fc.path))] = fc.added
    return result


def base_targets(change: Change, scratch: str) -> list[Target]:
    """The base versions of the changed Python files, under the new side's display names, so
    that fingerprints compare across renames. A file added by the change has no base version."""
    targets = []
    for fc in change.files:
        if fc.path is None or fc.old_path is None or fc.binary:
            continue
        display = display_path(os.path.join(change.root, fc.path))
        if change.patch is not None:
            data = _reverse_apply(change, fc)
        else:
            data = _blob(change, change.base_rev, fc.old_path)
        if data is None or not is_python(fc.path, data[:256]):
            continue
        targets.append(Target(_write(scratch, "base", fc.path, data), display))
    return sorted(targets, key=lambda t: t.display)


def _blob(change: Change, rev: str | None, path: str) -> bytes | None:
    if rev is None:
        return None
    try:
        return git(["cat-file", "blob", f"{rev}:{path}"], change.root, "diff")
    except UserError:
        return None  # a submodule or a symbolic link: nothing to review


def _write(scratch: str, side: str, path: str, data: bytes) -> str:
    real = os.path.join(scratch, side, *path.split("/"))
    os.makedirs(os.path.dirname(real), exist_ok=True)
    with open(real, "wb") as handle:
        handle.write(data)
    return real


def _reverse_apply(change: Change, fc: FileChange) -> bytes | None:
    """The base version of a file from its working-tree version and the patch."""
    pf = next((p for p in change.patch or () if (_strip(p.target_file) or p.path) == fc.path), None)
    real = os.path.join(change.root, fc.path or "")
    try:
        with open(real, "rb") as handle:
            lines = handle.read().decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    except OSError:
        return None
    if pf is None:
        return None
    for hunk in reversed(list(pf)):
        target = [line.value for line in hunk if not line.is_removed]
        source = [line.value for line in hunk if not line.is_added]
        start = hunk.target_start - 1 if hunk.target_length else hunk.target_start
        current = lines[start:start + len(target)]
        if [t.rstrip("\r\n") for t in current] != [t.rstrip("\r\n") for t in target]:
            raise UserError(f"--patch: the patch does not match {fc.path} in the working tree "
                            f"at line {hunk.target_start} (apply it first)")
        lines[start:start + len(target)] = source
    return "".join(lines).encode("utf-8", errors="surrogateescape")
