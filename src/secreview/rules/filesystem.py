"""Files on a shared host: temporary names picked before the file exists, fixed paths in
world-writable directories, and permission bits that let every local user write."""

from __future__ import annotations

import ast
import re
import stat
from collections.abc import Iterator

from secreview.model import Level
from secreview.rules.base import FileContext, Rule, attribute_chain
from secreview.rules.registry import register

# ---------------------------------------------------------------------------- shared helpers

_PATH_CTORS = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.PurePath", "pathlib.PurePosixPath"})
_JOINERS = frozenset({"os.path.join", "posixpath.join"}) | _PATH_CTORS
_TRANSPARENT = frozenset({"builtins.str", "os.fspath", "os.path.normpath", "posixpath.normpath",
                          "os.path.abspath", "posixpath.abspath"})


def _join(left: str, right: str) -> str:
    if right.startswith("/"):
        return right
    return left.rstrip("/") + "/" + right if left else right


def _path_prefix(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> tuple[str, bool]:
    """The constant text a path expression starts with, and whether that text is all of it.

    Follows names bound by assignment, f-strings, ``+``, ``%``, ``.format``, ``os.path.join``,
    ``pathlib.Path(...)``, ``/`` on paths and ``joinpath``. Unlike ``ctx.string_parts`` it keeps
    the order of the pieces, so ``f"{base}/tmp/x"`` does not look like a path under ``/tmp``."""
    if expr is None or depth > 12:
        return "", False
    if isinstance(expr, ast.Constant):
        if isinstance(expr.value, str):
            return expr.value, True
        if isinstance(expr.value, bytes):
            return expr.value.decode("latin-1"), True
        return "", False
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None \
                and binding.value is not expr:
            return _path_prefix(ctx, binding.value, depth + 1)
        return "", False
    if isinstance(expr, ast.JoinedStr):
        text = ""
        for value in expr.values:
            if isinstance(value, ast.Constant):
                text += str(value.value)
                continue
            if not isinstance(value, ast.FormattedValue) or value.format_spec is not None \
                    or value.conversion not in (-1, ord("s")):
                return text, False
            part, complete = _path_prefix(ctx, value.value, depth + 1)
            text += part
            if not complete:
                return text, False
        return text, True
    if isinstance(expr, ast.BinOp):
        if isinstance(expr.op, ast.Add):
            left, complete = _path_prefix(ctx, expr.left, depth + 1)
            if not complete:
                return left, False
            right, complete = _path_prefix(ctx, expr.right, depth + 1)
            return left + right, complete
        if isinstance(expr.op, ast.Div):
            left, complete = _path_prefix(ctx, expr.left, depth + 1)
            if not complete:
                return left, False
            right, complete = _path_prefix(ctx, expr.right, depth + 1)
            return (_join(left, right), complete) if right or complete else (left.rstrip("/") + "/", False)
        if isinstance(expr.op, ast.Mod):
            whole = ctx.literal(expr)
            if isinstance(whole, str):
                return whole, True
            fmt = ctx.literal(expr.left)
            if isinstance(fmt, str):
                return fmt.split("%", 1)[0], False
        return "", False
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr == "format":
            whole = ctx.literal(expr)
            if isinstance(whole, str):
                return whole, True
            base = ctx.literal(func.value)
            return (base.split("{", 1)[0], False) if isinstance(base, str) else ("", False)
        if any(isinstance(a, ast.Starred) for a in expr.args):
            return "", False
        qualname = ctx.qualname(func)
        if qualname in _TRANSPARENT and len(expr.args) == 1 and not expr.keywords:
            return _path_prefix(ctx, expr.args[0], depth + 1)
        parts: list[ast.expr] | None = None
        if qualname in _JOINERS and expr.args and not expr.keywords:
            parts = list(expr.args)
        elif isinstance(func, ast.Attribute) and func.attr == "joinpath" and not expr.keywords:
            parts = [func.value, *expr.args]
        if parts:
            text, complete = _path_prefix(ctx, parts[0], depth + 1)
            for part in parts[1:]:
                if not complete:
                    return text, False
                more, complete = _path_prefix(ctx, part, depth + 1)
                text = _join(text, more) if more else text.rstrip("/") + "/"
            return text, complete
    return "", False


def _describe(ctx: FileContext, expr: ast.AST) -> str:
    return f"`{ctx.text(expr, 50)}`"


# ---------------------------------------------------------------------------- SR601


@register
class InsecureTempFile(Rule):
    """Temporary file name chosen without creating the file.

    ## What it finds
    Calls of `tempfile.mktemp`, `os.tempnam` and `os.tmpnam`, under any import alias. They return
    a path that does not exist yet and leave creating it to the caller. `tempfile.mkstemp`,
    `tempfile.mkdtemp`, `NamedTemporaryFile`, `TemporaryFile` and `TemporaryDirectory`, which
    create the file or directory themselves, are not reported; neither is a `mktemp` method of
    another object (such as pytest's `tmp_path_factory.mktemp`).

    ## Why it is dangerous
    Between the moment the name is chosen and the moment the program opens it, any other local
    user can create a file, or a symbolic link to a file of their choice, under that name. The
    program then writes its data into a file the attacker can read, or writes through the link
    and overwrites a file the attacker could not touch, with the program's privileges.

    ## Example
    ```python
    import tempfile
    def save_console_log(data):
        path = tempfile.mktemp(suffix=".log")
        with open(path, "w") as handle:
            handle.write(data)
        return path
    ```

    ## Safe alternative
    ```python
    import os
    import tempfile
    def save_console_log(data):
        fd, path = tempfile.mkstemp(suffix=".log")   # created 0600, opened exclusively
        with os.fdopen(fd, "w") as handle:
            handle.write(data)
        return path
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/377.html
    - https://docs.python.org/3/library/tempfile.html#tempfile.mktemp
    """

    id = "SR601"
    name = "insecure-temp-file"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 377
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Let the library create the file atomically: use `tempfile.mkstemp()`, "
           "`tempfile.NamedTemporaryFile()` or `tempfile.mkdtemp()` instead of picking a name first.")
    calls = ("tempfile.mktemp", "os.tempnam", "os.tmpnam")

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        ctx.report(self, call,
                   f"`{ctx.text(call)}` only picks an unused name (`{qualname}`) and does not create the file. "
                   "Before this code opens it, another local user can create that path or a symlink with "
                   "that name, and the data is then written into, or read from, a file the attacker controls.")


# ---------------------------------------------------------------------------- SR602

_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")

# qualified name -> the (position, keyword) pairs that name a path the call opens or creates
_PATH_SINKS: dict[str, tuple[tuple[int | None, str], ...]] = {
    "builtins.open": ((0, "file"),),
    "io.open": ((0, "file"),),
    "codecs.open": ((0, "filename"),),
    "os.open": ((0, "path"),),
    "os.mkdir": ((0, "path"),),
    "os.makedirs": ((0, "name"),),
    "os.mkfifo": ((0, "path"),),
    "os.rename": ((0, "src"), (1, "dst")),
    "os.replace": ((0, "src"), (1, "dst")),
    "os.symlink": ((1, "dst"),),
    "shutil.copy": ((0, "src"), (1, "dst")),
    "shutil.copy2": ((0, "src"), (1, "dst")),
    "shutil.copyfile": ((0, "src"), (1, "dst")),
    "shutil.copytree": ((0, "src"), (1, "dst")),
    "shutil.move": ((0, "src"), (1, "dst")),
    "logging.FileHandler": ((0, "filename"),),
    "logging.handlers.RotatingFileHandler": ((0, "filename"),),
    "logging.handlers.TimedRotatingFileHandler": ((0, "filename"),),
    "logging.handlers.WatchedFileHandler": ((0, "filename"),),
    "logging.basicConfig": ((None, "filename"),),
    "sqlite3.connect": ((0, "database"),),
}

# Path methods that only inspect or name the path; a Path built just for them is not reported.
_PATH_QUERIES = frozenset({"exists", "is_dir", "is_file", "is_symlink", "is_mount", "stat", "lstat",
                           "name", "stem", "suffix", "suffixes", "parts", "parent", "parents",
                           "relative_to", "is_relative_to", "match", "as_posix", "as_uri", "unlink",
                           "rmdir", "is_absolute", "samefile"})


def _tmp_dir(prefix: str, complete: bool) -> str | None:
    """The shared directory a path lies in, when it names something inside it."""
    for folder in _TMP_DIRS:
        if prefix.startswith(folder + "/"):
            rest = prefix[len(folder) + 1:]
            if rest.strip("/") or not complete:
                return folder
    return None


def _is_path_expr(ctx: FileContext, expr: ast.AST, depth: int = 0) -> bool:
    """True for a ``pathlib`` path built in place (``Path(...)``, ``Path(...) / x``), through names."""
    if depth > 8:
        return False
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None:
            return _is_path_expr(ctx, binding.value, depth + 1)
        return False
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return _is_path_expr(ctx, expr.left, depth + 1)
    if isinstance(expr, ast.Call):
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "joinpath":
            return _is_path_expr(ctx, expr.func.value, depth + 1)
        return ctx.qualname(expr.func) in _PATH_CTORS
    return False


@register
class HardcodedTmpPath(Rule):
    """Fixed file name in a world-writable directory.

    ## What it finds
    A path under `/tmp/`, `/var/tmp/` or `/dev/shm/` that is constant, or starts with one of
    these folders joined with something else (`os.path.join("/tmp", name)`, `f"/tmp/{name}"`,
    `Path("/tmp") / name`), passed as the path that `open`, `io.open`, `codecs.open`, `os.open`,
    `os.mkdir`, `os.makedirs`, `os.rename`, `os.symlink`, the `shutil` copy and move functions,
    `logging.FileHandler` (and the rotating handlers, `logging.basicConfig(filename=...)`) or
    `sqlite3.connect` opens or creates, directly or through a variable. A `pathlib.Path` built
    from such a path is reported where it is built, unless it is only inspected (`exists()`,
    `is_file()`, `unlink()`) or compared.

    The same text in a docstring, a log message, a comparison or a `startswith("/tmp")` check
    is not reported, and neither is a path under `tempfile.gettempdir()` or the bare folder on
    its own (`os.makedirs("/tmp", exist_ok=True)`).

    ## Why it is dangerous
    Every local user can create entries in these directories. A name the program always uses
    can be created first by someone else: as a symbolic link, so the program's write lands in a
    file the attacker chose (a configuration file, another user's data), or as a file with
    attacker content that the program then reads, or simply left in place so the program fails.

    ## Example
    ```python
    def dump_state(state):
        with open("/tmp/agent-state.json", "w") as handle:
            handle.write(state)
    ```

    ## Safe alternative
    ```python
    import os
    import tempfile
    def dump_state(state):
        fd, path = tempfile.mkstemp(prefix="agent-state-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            handle.write(state)
        return path
    ```
    Use `tempfile` for scratch files, or a directory only the service account can write (its
    state directory, `$XDG_RUNTIME_DIR`) for files that need a fixed name.

    ## References
    - https://cwe.mitre.org/data/definitions/377.html
    - https://docs.python.org/3/library/tempfile.html
    """

    id = "SR602"
    name = "hardcoded-tmp-path"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 377
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Create scratch files with `tempfile.mkstemp()` / `tempfile.NamedTemporaryFile()`, and keep "
           "files that need a fixed name in a directory only the service account can write.")
    calls = tuple(_PATH_SINKS) + tuple(_PATH_CTORS)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname in _PATH_CTORS:
            self._check_path_object(ctx, call, qualname)
            return
        seen: set[int] = set()
        for position, keyword in _PATH_SINKS.get(qualname or "", ()):
            arg = ctx.argument(call, position, keyword)
            if arg is None or id(arg) in seen:
                continue
            seen.add(id(arg))
            if isinstance(arg, ast.Name) and _is_path_expr(ctx, arg):
                continue  # reported where the Path object is built
            prefix, complete = _path_prefix(ctx, arg)
            folder = _tmp_dir(prefix, complete)
            if folder is None:
                continue
            func = qualname.removeprefix("builtins.") if qualname else ctx.text(call.func)
            self._report(ctx, call, func, arg, prefix, complete, folder)
            return

    def _check_path_object(self, ctx: FileContext, call: ast.Call, qualname: str) -> None:
        # climb over ``/ part`` and ``.joinpath(part)`` so the whole path is judged once
        top: ast.AST = call
        while True:
            parent = ctx.index.parent(top)
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div) and parent.left is top:
                top = parent
                continue
            if isinstance(parent, ast.Call) and parent.func is not top and len(parent.args) == 1 \
                    and not parent.keywords and ctx.qualname(parent.func) in _TRANSPARENT:
                top = parent  # str(Path(...)) / os.fspath(...)
                continue
            if isinstance(parent, ast.Attribute) and parent.attr == "joinpath":
                grand = ctx.index.parent(parent)
                if isinstance(grand, ast.Call) and grand.func is parent:
                    top = grand
                    continue
            break
        parent = ctx.index.parent(top)
        if isinstance(parent, ast.Attribute) and parent.attr in _PATH_QUERIES:
            return
        if isinstance(parent, ast.Compare):
            return
        if isinstance(parent, ast.Call) and parent.func is not top:
            if ctx.qualname(parent.func) in _PATH_SINKS:
                return  # the call it is passed to reports it
        elif isinstance(parent, ast.keyword):
            owner = ctx.index.parent(parent)
            if isinstance(owner, ast.Call) and ctx.qualname(owner.func) in _PATH_SINKS:
                return
        prefix, complete = _path_prefix(ctx, top)
        folder = _tmp_dir(prefix, complete)
        if folder is None:
            return
        self._report(ctx, call, qualname, top, prefix, complete, folder, end=top)

    def _report(self, ctx: FileContext, call: ast.Call, func: str, arg: ast.AST, prefix: str,
                complete: bool, folder: str, end: ast.AST | None = None) -> None:
        shown = prefix if complete else prefix + "..."
        kind = "a fixed path" if complete else "a predictable path"
        if end is not None:
            what = f"{_describe(ctx, arg)} builds {kind}"
        else:
            value = "" if isinstance(arg, ast.Constant) else f" (`{shown}`)"
            what = f"`{func}` is given {_describe(ctx, arg)}{value}, {kind}"
        trace = []
        if isinstance(arg, ast.Name):
            binding = ctx.binding(arg)
            if binding is not None and binding.value is not None:
                trace.append((binding.value, f"`{arg.id}` is set to a path under `{folder}` here"))
        ctx.report(self, call,
                   f"{what} in the world-writable `{folder}` directory. Any local user can create that name "
                   "first, as a file or a symlink, so the service may read planted content or write through "
                   "the link into a file of their choice.",
                   end_node=end, trace=trace)


# ---------------------------------------------------------------------------- SR603

_STAT_NAMES = {f"stat.{name}": getattr(stat, name) for name in dir(stat)
               if name.startswith("S_I") and isinstance(getattr(stat, name), int)}

# qualified name -> (position, keyword, kind) of the mode argument
_MODE_SINKS: dict[str, tuple[int, str, str]] = {
    "os.chmod": (1, "mode", "chmod"),
    "os.fchmod": (1, "mode", "chmod"),
    "os.lchmod": (1, "mode", "chmod"),
    "os.open": (2, "mode", "create"),
    "os.mkdir": (1, "mode", "create"),
    "os.makedirs": (1, "mode", "create"),
    "os.mkfifo": (1, "mode", "create"),
    "os.umask": (0, "mask", "umask"),
}
_PATH_MODE_METHODS: dict[str, tuple[int, str, str]] = {
    "chmod": (0, "mode", "chmod"),
    "lchmod": (0, "mode", "chmod"),
    "mkdir": (0, "mode", "create"),
    "touch": (0, "mode", "create"),
}


def _mode_value(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> int | None:
    """The integer a permission expression evaluates to: int literals, ``stat.S_I*`` constants
    (by qualified name), ``|``, ``&``, ``^``, ``+``, ``~``, ``int("777", 8)`` and names bound to
    these. None when any part is not known."""
    if expr is None or depth > 16:
        return None
    if isinstance(expr, ast.Constant):
        return expr.value if type(expr.value) is int else None
    if isinstance(expr, (ast.Name, ast.Attribute)):
        qualname = ctx.qualname(expr)
        if qualname in _STAT_NAMES:
            return _STAT_NAMES[qualname]
        if isinstance(expr, ast.Name):
            binding = ctx.binding(expr)
            if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None \
                    and binding.value is not expr:
                return _mode_value(ctx, binding.value, depth + 1)
        return None
    if isinstance(expr, ast.BinOp):
        left = _mode_value(ctx, expr.left, depth + 1)
        right = _mode_value(ctx, expr.right, depth + 1)
        if left is None or right is None:
            return None
        if isinstance(expr.op, ast.BitOr):
            return left | right
        if isinstance(expr.op, ast.BitAnd):
            return left & right
        if isinstance(expr.op, ast.BitXor):
            return left ^ right
        if isinstance(expr.op, ast.Add):
            return left + right
        return None
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Invert):
        inner = _mode_value(ctx, expr.operand, depth + 1)
        return ~inner if inner is not None else None
    if isinstance(expr, ast.Call) and ctx.qualname(expr.func) == "builtins.int" and not expr.keywords \
            and len(expr.args) == 2:
        text, base = ctx.literal(expr.args[0]), ctx.literal(expr.args[1])
        if isinstance(text, str) and type(base) is int:
            try:
                return int(text, base)
            except ValueError:
                return None
    return None


@register
class PermissiveFileMode(Rule):
    """File or directory made writable by every local user.

    ## What it finds
    A permission mode with the world-write bit (`0o002`, `stat.S_IWOTH`, `stat.S_IRWXO`) passed
    to `os.chmod`, `os.fchmod`, `os.lchmod`, `Path.chmod`, or as the creation mode of `os.open`,
    `os.mkdir`, `os.makedirs`, `Path.mkdir` and `Path.touch`; and `os.umask` called with a mask
    that does not contain `0o002` (`os.umask(0)`). Modes are evaluated through int literals,
    `stat` constants combined with `|`, `&`, `~`, `int("777", 8)` and names bound to them.

    A mode that cannot be evaluated is not reported, nor are modes such as `0o755`, `0o644`,
    `0o600` or `0o750`. Files readable by everyone are out of scope for this rule. Creation modes
    are reported with medium confidence because the process umask usually removes the bit; a
    world-writable mode that also sets the sticky bit (`0o1777`, a shared drop directory) is
    reported with medium confidence too.

    ## Why it is dangerous
    Any account on the host, including one belonging to a compromised unrelated service, can
    change a world-writable file: rewrite a configuration or script the service later loads,
    truncate a log, or, in a world-writable directory, replace and rename entries. A umask of
    zero makes every file the process creates afterwards world-writable.

    ## Example
    ```python
    import os
    def write_rootwrap_filter(path, text):
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o777)
    ```

    ## Safe alternative
    ```python
    import os
    def write_rootwrap_filter(path, text):
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o640)   # owner writes, group reads, others nothing
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/732.html
    - https://docs.python.org/3/library/os.html#os.chmod
    """

    id = "SR603"
    name = "permissive-file-mode"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 732
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Use a mode without write access for others, such as `0o600` or `0o640` for files and "
           "`0o700` or `0o750` for directories, and share access through a group.")
    calls = tuple(_MODE_SINKS)
    methods = tuple(_PATH_MODE_METHODS)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        spec = _MODE_SINKS.get(qualname or "")
        target: ast.expr | None = None
        if spec is not None:
            position, keyword, kind = spec
            if kind != "umask":
                target = ctx.argument(call, 0, "path") or ctx.argument(call, 0, "fd") \
                    or ctx.argument(call, 0, "name")
        else:
            if not isinstance(call.func, ast.Attribute) or call.func.attr not in _PATH_MODE_METHODS:
                return
            position, keyword, kind = _PATH_MODE_METHODS[call.func.attr]
            receiver = call.func.value
            if not (qualname or "").startswith(("pathlib.Path", "pathlib.PosixPath")) \
                    and not _is_path_expr(ctx, receiver):
                return  # not a local path object (an SFTP client, a mock, ...)
            if qualname in ("pathlib.Path." + call.func.attr, "pathlib.PosixPath." + call.func.attr):
                position += 1  # called on the class: the path is the first argument
                target = ctx.argument(call, 0, "self")
        mode_expr = ctx.argument(call, position, keyword)
        if mode_expr is None:
            return
        mode = _mode_value(ctx, mode_expr)
        if mode is None:
            return
        func = qualname if spec is not None else ctx.text(call.func, 40)
        shown = f"`{ctx.text(mode_expr, 40)}`"
        if not isinstance(mode_expr, ast.Constant):
            shown += f" (= 0o{mode & 0o7777:03o})"
        if kind == "umask":
            if mode & 0o002:
                return
            ctx.report(self, call,
                       f"`{ctx.text(call, 50)}` sets a umask of 0o{mode & 0o777:03o}, which leaves the world-write "
                       "bit open: files and directories this process creates afterwards with the usual "
                       "default modes (0o666, 0o777) become writable by every local user.",
                       fix="Keep the world-write bit in the umask, e.g. `os.umask(0o022)` or `os.umask(0o077)`, "
                           "and give individual files wider modes explicitly where needed.")
            return
        if not mode & 0o002:
            return
        what = f"`{ctx.text(target, 40)}`" if target is not None else "that path"
        sticky = bool(mode & stat.S_ISVTX)
        if kind == "chmod" and sticky:
            ctx.report(self, call,
                       f"`{func}` sets mode {shown} on {what}: world-writable with the sticky bit, so every local "
                       "user can create entries in it (the pattern of a shared drop directory); if this is a "
                       "file, or the directory is not meant to be shared, anyone can plant or change its content.",
                       confidence=Level.MEDIUM)
            return
        if kind == "chmod":
            ctx.report(self, call,
                       f"`{func}` sets mode {shown} on {what}, which gives every local user write access: any "
                       "account on the host can rewrite it or, for a directory, add and replace entries in it.")
            return
        ctx.report(self, call,
                   f"`{func}` creates {what} with mode {shown}, which includes write access for every local "
                   "user; only a restrictive process umask keeps it from being world-writable.",
                   confidence=Level.MEDIUM)


# ---------------------------------------------------------------------------- SR606

_OS_JOINERS = frozenset({"os.path.join", "posixpath.join"})
# calls that neither clean nor check a path: the value that comes out still carries the input
_PATH_PASS = frozenset({"builtins.str", "os.fspath", "os.path.normpath", "posixpath.normpath", "os.path.abspath",
                        "posixpath.abspath", "os.path.realpath", "posixpath.realpath", "os.path.expanduser",
                        "posixpath.expanduser"}) | _PATH_CTORS
_PATH_PASS_METHODS = frozenset({"resolve", "absolute", "expanduser", "with_suffix"})
_STR_PASS_METHODS = frozenset({"lower", "upper", "casefold", "strip", "lstrip", "rstrip", "encode", "decode"})
# file-system calls that open, create, list, change or remove the path they are given
_FS_CALLS = frozenset({
    "builtins.open", "io.open", "io.FileIO", "codecs.open", "os.open", "os.remove", "os.unlink", "os.rmdir",
    "os.removedirs", "os.mkdir", "os.makedirs", "os.mkfifo", "os.mknod", "os.rename", "os.renames", "os.replace",
    "os.listdir", "os.scandir", "os.walk", "os.chmod", "os.chown", "os.lchown", "os.symlink", "os.link",
    "os.truncate", "os.utime", "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree", "shutil.move",
    "shutil.rmtree", "shutil.chown", "shutil.copymode", "shutil.copystat", "shutil.unpack_archive",
    "tarfile.open", "zipfile.ZipFile", "sqlite3.connect", "glob.glob", "glob.iglob", "fileinput.input",
    "flask.send_file", "werkzeug.utils.send_file",
})
_FS_PATH_METHODS = frozenset({"open", "read_text", "read_bytes", "write_text", "write_bytes", "unlink", "rmdir",
                              "mkdir", "touch", "rename", "replace", "symlink_to", "hardlink_to", "iterdir", "glob",
                              "rglob", "chmod", "lchmod"})
# calls that reduce a value to a base name, check its shape, or confine a joined path
_PATH_CHECKS = frozenset({
    "os.path.basename", "posixpath.basename", "ntpath.basename", "werkzeug.utils.secure_filename",
    "werkzeug.secure_filename", "werkzeug.security.safe_join", "werkzeug.utils.safe_join", "flask.safe_join",
    "django.utils._os.safe_join", "django.utils.text.get_valid_filename", "os.path.isabs", "posixpath.isabs",
    "os.path.commonpath", "posixpath.commonpath", "os.path.commonprefix", "os.path.relpath", "builtins.int",
    "uuid.UUID", "oslo_utils.uuidutils.is_uuid_like", "re.match", "re.fullmatch", "re.search",
})
_CHECK_METHODS = frozenset({"startswith", "relative_to", "is_relative_to", "isdigit", "isdecimal", "isnumeric",
                            "isalnum", "isalpha", "isidentifier", "match", "fullmatch", "search"})
_SPLIT_METHODS = frozenset({"replace", "split", "rsplit", "partition", "rpartition"})
_SEPARATOR_NAMES = frozenset({"os.sep", "os.altsep", "os.pardir", "os.curdir", "os.path.sep", "os.path.altsep",
                              "os.path.pardir", "posixpath.sep", "posixpath.pardir"})
_VALIDATOR_WORDS = ("valid", "saniti", "verif")
_VALIDATOR_NAMES = frozenset({"safe", "secure", "check", "clean", "allowed"})
# a docstring that promises to take absolute paths: the root is a default base, not a boundary
_ACCEPTS_ABSOLUTE = re.compile(r"(?is)\brelative\b[^.]{0,40}\bor absolute|\babsolute\b[^.]{0,40}\bor relative"
                               r"|\b(?:may|can|could) (?:also )?be (?:an )?absolute")
_ROUTE_DECORATORS = frozenset({"route", "get", "post", "put", "patch", "delete", "api_route", "websocket"})
_UPPER = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
# the last word of a configuration option or attribute that names a folder
_ROOT_WORDS = frozenset({"path", "dir", "dirs", "directory", "root", "folder", "home", "store", "storage",
                         "location", "base"})
_NOT_ROOT_WORDS = frozenset({"url", "uri", "host", "endpoint", "prefix", "name", "key"})
_NUMERIC_ANNOTATIONS = frozenset({"builtins.int", "builtins.float", "builtins.bool", "uuid.UUID", "int", "float",
                                  "bool", "UUID", "typing.Literal", "Literal", "typing_extensions.Literal"})
_PERCENT_SPEC = re.compile(r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[a-zA-Z%])")


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[_\W]+|(?<=[a-z0-9])(?=[A-Z])", name) if w]


def _validator(name: str) -> bool:
    """True for function names that say they validate: ``validate_name``, ``_check_path``, ``is_safe``."""
    return any(w.startswith(_VALIDATOR_WORDS) or w in _VALIDATOR_NAMES for w in (w.lower() for w in _words(name)))


def _root_word(name: str) -> bool:
    """True for names such as ``instances_path``, ``MEDIA_ROOT``, ``uploadFolder``."""
    words = [w.lower() for w in _words(name)]
    return bool(words) and words[-1] in _ROOT_WORDS and not any(w in _NOT_ROOT_WORDS for w in words)


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_OPAQUE = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef})
# The node types ``_PathHelper._site`` can return a join site for.
_SITE_TYPES = frozenset({ast.Call, ast.BinOp, ast.JoinedStr})
# Child fields of a node type that can lead to a site: no load / store contexts and no operator
# fields (``op``, ``ops``), whose values are leaves.
_SITE_FIELDS: dict[type, tuple[str, ...]] = {}
# Nodes without child nodes: the search for sites does not visit them.
_LEAVES = (ast.Name, ast.Constant)


class _PathHelper:
    """What SR606 knows about one function: its candidate parameters, the names derived from
    them, and the checks it makes."""

    def __init__(self, ctx: FileContext, func: ast.FunctionDef | ast.AsyncFunctionDef):
        self.ctx = ctx
        self.func = func
        self.scope = ctx.index.inner_scope(func)
        self.params = self._candidate_params()
        self._nodes: list[ast.AST] | None = None

    @property
    def nodes(self) -> list[ast.AST]:
        """Every node of the function's own body (built on first use: most functions have no
        join site, and for them only :meth:`_site_nodes` is needed)."""
        if self._nodes is None:
            self._nodes = self._body_nodes() if self.params else []
        return self._nodes

    # ------------------------------------------------------------------ parameters

    def _candidate_params(self) -> dict[str, ast.arg]:
        args = self.func.args
        positional = [*args.posonlyargs, *args.args]
        defaults: dict[str, ast.expr] = {}
        for arg, default in zip(reversed(positional), reversed(args.defaults)):
            defaults[arg.arg] = default
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is not None:
                defaults[arg.arg] = default
        skip_first = False
        parent = self.ctx.index.parent(self.func)
        if isinstance(parent, ast.ClassDef):
            decorators = {self.ctx.qualname(d) for d in self.func.decorator_list}
            skip_first = "builtins.staticmethod" not in decorators
        found: dict[str, ast.arg] = {}
        for i, arg in enumerate([*positional, *args.kwonlyargs]):
            if arg.arg in ("self", "cls", "mcs", "mcls", "klass") or (i == 0 and skip_first and positional):
                continue
            default = defaults.get(arg.arg)
            if isinstance(default, ast.Constant) and isinstance(default.value, (bool, int, float)):
                continue  # a flag or a count, not a name
            if arg.annotation is not None and self._numeric(arg.annotation):
                continue
            if arg.arg.lower().endswith("uuid"):
                continue  # an identifier the program generated (instance_uuid), not a name
            found[arg.arg] = arg
        return found

    def _numeric(self, ann: ast.AST, depth: int = 0) -> bool:
        """True for annotations that admit only numbers, UUIDs, literals (and None)."""
        if depth > 6:
            return False
        if isinstance(ann, ast.Constant):
            if ann.value is None:
                return True
            if isinstance(ann.value, str):
                try:
                    return self._numeric(ast.parse(ann.value, mode="eval").body, depth + 1)
                except SyntaxError:
                    return False
            return False
        if isinstance(ann, (ast.Name, ast.Attribute)):
            return self.ctx.qualname(ann) in _NUMERIC_ANNOTATIONS or \
                (isinstance(ann, ast.Name) and ann.id in _NUMERIC_ANNOTATIONS)
        if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
            return self._numeric(ann.left, depth + 1) and self._numeric(ann.right, depth + 1)
        if isinstance(ann, ast.Subscript):
            outer = self.ctx.qualname(ann.value) or ""
            last = outer.rsplit(".", 1)[-1]
            if last == "Literal":
                return True
            if last in ("Optional", "Union", "Annotated"):
                items = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
                if last == "Annotated":
                    items = items[:1]
                return all(self._numeric(item, depth + 1) for item in items)
        return False

    def _body_nodes(self) -> list[ast.AST]:
        """Every node of the function's own body (not of nested functions, lambdas or classes)."""
        found: list[ast.AST] = []
        stack: list[ast.AST] = list(reversed(self.func.body))
        fields_of = _CHILD_FIELDS
        while stack:
            node = stack.pop()
            found.append(node)
            cls = type(node)
            if cls in _OPAQUE:
                continue
            names = fields_of.get(cls)
            if names is None:  # the child fields of a node type, without the Load / Store contexts
                names = fields_of[cls] = tuple(f for f in cls._fields if f != "ctx")
            children = []
            for name in names:
                value = getattr(node, name, None)
                if type(value) is list:
                    children.extend(item for item in value if isinstance(item, ast.AST))
                elif isinstance(value, ast.AST):
                    children.append(value)
            children.reverse()
            stack.extend(children)
        return found

    def _site_nodes(self) -> list[ast.AST]:
        """The calls, binary operations and f-strings of the function's own body, in the order of
        :meth:`_body_nodes` (the only nodes a join site can be): the same walk, without visiting
        leaves and operators, which hold no such node."""
        found: list[ast.AST] = []
        if not self.params:
            return found
        stack: list[ast.AST] = list(reversed(self.func.body))
        fields_of = _SITE_FIELDS
        wanted = _SITE_TYPES
        AST, leaves = ast.AST, _LEAVES
        while stack:
            node = stack.pop()
            cls = type(node)
            if cls in wanted:
                found.append(node)
            elif cls in _OPAQUE:
                continue
            names = fields_of.get(cls)
            if names is None:
                names = fields_of[cls] = tuple(f for f in cls._fields if f not in ("ctx", "op", "ops"))
            children = []
            for name in names:
                value = getattr(node, name, None)
                if type(value) is list:
                    for item in value:
                        if isinstance(item, AST) and not isinstance(item, leaves):
                            children.append(item)
                elif isinstance(value, AST) and not isinstance(value, leaves):
                    children.append(value)
            if children:
                children.reverse()
                stack.extend(children)
        return found

    def _own_binding(self, name: ast.Name):
        binding = self.ctx.binding(name)
        if binding is None or binding.scope is not self.scope:
            return None
        return binding

    # ------------------------------------------------------------------ what carries a parameter

    def carries(self, expr: ast.AST | None, depth: int = 0) -> str | None:
        """The parameter whose text ``expr`` still holds: the parameter itself, or a value built
        from it only by concatenation, formatting or case and whitespace changes."""
        if expr is None or depth > 10:
            return None
        if isinstance(expr, ast.Name):
            binding = self._own_binding(expr)
            if binding is None:
                return None
            if binding.kind == "param":
                return expr.id if expr.id in self.params else None
            if binding.kind in ("assign", "walrus") and binding.value is not None:
                return self.carries(binding.value, depth + 1)
            return None
        if isinstance(expr, ast.JoinedStr):
            for value in expr.values:
                if isinstance(value, ast.FormattedValue) and not self._numeric_spec(value):
                    found = self.carries(value.value, depth + 1)
                    if found:
                        return found
            return None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.carries(expr.left, depth + 1) or self.carries(expr.right, depth + 1)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
            for kind, piece in _percent_pieces(self.ctx, expr):
                if kind == "value" and isinstance(piece, ast.AST):
                    found = self.carries(piece, depth + 1)
                    if found:
                        return found
            return None
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr == "format" and isinstance(func.value, ast.Constant):
                for kind, piece in _format_pieces(func.value.value, expr):
                    if kind == "value" and isinstance(piece, ast.AST):
                        found = self.carries(piece, depth + 1)
                        if found:
                            return found
                return None
            if isinstance(func, ast.Attribute) and func.attr in _STR_PASS_METHODS:
                return self.carries(func.value, depth + 1)
            if self.ctx.qualname(func) in ("builtins.str", "os.fspath") and len(expr.args) == 1:
                return self.carries(expr.args[0], depth + 1)
        return None

    @staticmethod
    def _numeric_spec(value: ast.FormattedValue) -> bool:
        spec = value.format_spec
        if isinstance(spec, ast.JoinedStr) and len(spec.values) == 1 and isinstance(spec.values[0], ast.Constant):
            text = str(spec.values[0].value)
            return bool(text) and text[-1] in "bdoxXneEfFgG%"
        return False

    def mentions(self, expr: ast.AST, depth: int = 0) -> set[str]:
        """Parameters whose value reaches ``expr`` in any way (through any call or operation)."""
        found: set[str] = set()
        if depth > 6:
            return found
        for node in ast.walk(expr):
            if not isinstance(node, ast.Name):
                continue
            binding = self._own_binding(node)
            if binding is None:
                continue
            if binding.kind == "param":
                if node.id in self.params:
                    found.add(node.id)
            elif binding.kind in ("assign", "walrus", "with") and binding.value is not None:
                found |= self.mentions(binding.value, depth + 1)
        return found

    # ------------------------------------------------------------------ checks

    def checked(self) -> set[str]:
        """Parameters that the function cleans or checks anywhere in its body."""
        ctx = self.ctx
        found: set[str] = set()
        for node in self.nodes:
            if isinstance(node, ast.Call):
                func = node.func
                qualname = ctx.qualname(func)
                args = [*node.args, *(kw.value for kw in node.keywords)]
                name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if qualname in _PATH_CHECKS or (isinstance(func, ast.Attribute) and func.attr in ("match", "fullmatch",
                                                                                               "search")) \
                        or (_validator(name) and qualname not in _FS_CALLS):
                    for arg in args:
                        found |= self.mentions(arg)
                if isinstance(func, ast.Attribute) and func.attr in _CHECK_METHODS:
                    found |= self.mentions(func.value)
                if isinstance(func, ast.Attribute) and func.attr in _SPLIT_METHODS \
                        and any(self._separator(arg) for arg in node.args[:1]):
                    carried = self.carries(func.value)  # the parameter's own text, not a path built from it
                    if carried:
                        found.add(carried)
            elif isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                if any(self._separator(operand) for operand in operands):
                    for operand in operands:
                        found |= self.mentions(operand)
                for op, right in zip(node.ops, node.comparators):
                    if isinstance(op, (ast.In, ast.NotIn)) and not isinstance(right, (ast.Constant, ast.JoinedStr)):
                        carried = self.carries(node.left)
                        if carried:
                            found.add(carried)  # membership in a collection: an allow-list
            elif isinstance(node, ast.Attribute) and node.attr in ("name", "parts", "stem") \
                    and isinstance(node.value, ast.Call) and ctx.qualname(node.value.func) in _PATH_CTORS:
                for arg in node.value.args:
                    found |= self.mentions(arg)
        return found

    def _separator(self, expr: ast.AST) -> bool:
        """A constant holding ``/``, ``\\`` or ``..``, or one of ``os.sep``, ``os.pardir``..."""
        if self.ctx.qualname(expr) in _SEPARATOR_NAMES:
            return True
        value = self.ctx.literal(expr)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str):
            return "/" in value or "\\" in value or ".." in value
        if isinstance(value, (tuple, list, frozenset)):
            return any(isinstance(v, str) and ("/" in v or ".." in v) for v in value)
        return False

    # ------------------------------------------------------------------ fixed roots

    def fixed_root(self, expr: ast.AST | None, depth: int = 0, lead: bool = True) -> bool:
        """True for a folder fixed before the function runs: a literal, an UPPER_CASE module or
        class constant, a Django setting or Flask config key, an oslo.config option named like a
        folder, and joins of these with constants. ``lead`` is true for the leading part of a path,
        where a bare literal must be an absolute path (``"Software"`` or ``"**"`` is no folder).
        Folders under ``__file__`` (package resources) or the user's home are not roots here."""
        ctx = self.ctx
        if expr is None or depth > 8:
            return False
        if isinstance(expr, ast.Constant):
            value = expr.value.decode("latin-1") if isinstance(expr.value, bytes) else expr.value
            if not isinstance(value, str) or not value or value.startswith("~"):
                return False
            if lead and _tmp_dir(value if value.endswith("/") else value + "/", False):
                return False  # a world-writable folder: SR602's business, confining a name there protects nothing
            return value.startswith("/") or not lead
        if isinstance(expr, ast.Name):
            if expr.id == "__file__":
                return False  # the package's own folder: resource lookups with names the program chose
            binding = ctx.binding(expr)
            if binding is None:
                return bool(_UPPER.match(expr.id))  # a constant from a star import, or a pasted segment
            if binding.kind == "param":
                return False
            if binding.scope is self.scope or binding.scope.is_function:
                if binding.kind in ("assign", "walrus") and binding.value is not None:
                    return self.fixed_root(binding.value, depth + 1, lead)
                return False
            if _UPPER.match(expr.id):
                if binding.kind == "assign" and binding.value is not None and self._home_or_package(binding.value):
                    return False
                return binding.kind in ("assign", "import", "other")
            if binding.kind == "assign" and binding.value is not None and binding.scope.kind == "module":
                return self.fixed_root(binding.value, depth + 1, lead)
            return False
        if isinstance(expr, ast.Attribute):
            chain = attribute_chain(expr)
            if not chain:
                return False
            if expr.attr in ("parent", "parents"):
                return self.fixed_root(expr.value, depth + 1, lead)
            qualname = ctx.qualname(expr) or ""
            if _UPPER.match(expr.attr) and len(chain) >= 2:
                head = chain[0]
                if head in ("self", "cls") or qualname.startswith("django.conf.settings.") or head == "settings":
                    return True
                if len(chain) == 2 and head[:1].isupper():
                    return True  # ClassName.ROOT, or a constant of an imported module
                if _root_word(expr.attr):
                    return True  # config.MEDIA_ROOT
                return False
            if ("CONF" in chain[:-1] or ".CONF." in qualname) and _root_word(expr.attr):
                return True  # oslo.config: CONF.instances_path, CONF.vmware.serial_log_dir
            return False
        if isinstance(expr, ast.Subscript):
            key = ctx.literal(expr.slice)
            if isinstance(expr.value, ast.Attribute) and expr.value.attr == "config" and isinstance(key, str) \
                    and _UPPER.match(key):
                return True  # app.config["UPLOAD_FOLDER"]
            if isinstance(expr.value, ast.Attribute) and expr.value.attr == "parents":
                return self.fixed_root(expr.value.value, depth + 1, lead)
            return False
        if isinstance(expr, ast.Call):
            func = expr.func
            qualname = ctx.qualname(func) or ""
            if isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Attribute) \
                    and func.value.attr == "config" and expr.args:
                key = ctx.literal(expr.args[0])
                return isinstance(key, str) and bool(_UPPER.match(key))
            if qualname in _OS_JOINERS or qualname in _PATH_CTORS:
                return bool(expr.args) and not expr.keywords and self.fixed_root(expr.args[0], depth + 1, lead) \
                    and all(self.fixed_root(a, depth + 1, False) for a in expr.args[1:])
            if qualname in _PATH_PASS or qualname in ("os.path.dirname", "posixpath.dirname"):
                return len(expr.args) == 1 and self.fixed_root(expr.args[0], depth + 1, lead)
            if qualname in ("pathlib.Path.cwd", "os.getcwd"):
                return True
            if isinstance(func, ast.Attribute) and func.attr in _PATH_PASS_METHODS | {"joinpath"}:
                return self.fixed_root(func.value, depth + 1, lead) \
                    and all(self.fixed_root(a, depth + 1, False) for a in expr.args)
            return False
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Div, ast.Add)):
            return self.fixed_root(expr.left, depth + 1, lead) and self.fixed_root(expr.right, depth + 1, False)
        if isinstance(expr, ast.JoinedStr):
            for i, value in enumerate(expr.values):
                if isinstance(value, ast.Constant):
                    if i == 0 and lead and not str(value.value).startswith("/"):
                        return False
                elif not isinstance(value, ast.FormattedValue) \
                        or not self.fixed_root(value.value, depth + 1, lead and i == 0):
                    return False
            return bool(expr.values)
        return False

    def _home_or_package(self, expr: ast.AST, depth: int = 0) -> bool:
        """True when a constant's value is built from ``__file__`` (the package's own folder) or
        the user's home (``~``, ``Path.home()``)."""
        if depth > 6:
            return False
        for node in ast.walk(expr):
            if isinstance(node, ast.Name):
                if node.id == "__file__":
                    return True
                binding = self.ctx.binding(node)
                if binding is not None and binding.kind == "assign" and binding.value is not None \
                        and binding.value is not expr and self._home_or_package(binding.value, depth + 1):
                    return True
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("~"):
                return True
            elif isinstance(node, ast.Attribute) and node.attr == "home":
                return True
        return False

    def pathlike_root(self, expr: ast.AST, depth: int = 0) -> bool:
        """A fixed root that is surely a folder (for ``/`` and string templates, where a constant
        may also be a URL or a number): a ``pathlib`` path, a literal that looks like a file-system
        path, or a name that says it is one."""
        ctx = self.ctx
        if depth > 8:
            return False
        if _is_path_expr(ctx, expr):
            return True
        value = ctx.literal(expr)
        if isinstance(value, str):
            return value.startswith(("/", "~", "./", "../")) and "://" not in value
        if isinstance(expr, ast.Name):
            binding = ctx.binding(expr)
            if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None \
                    and not _UPPER.match(expr.id) and binding.value is not expr:
                return self.pathlike_root(binding.value, depth + 1)
            if _root_word(expr.id):
                return True
            if binding is not None and binding.kind == "assign" and binding.value is not None:
                return self.pathlike_root(binding.value, depth + 1)
            return False
        if isinstance(expr, ast.Attribute):
            return _root_word(expr.attr) or expr.attr in ("parent", "parents")
        if isinstance(expr, ast.Subscript):
            key = ctx.literal(expr.slice)
            return isinstance(key, str) and _root_word(key)
        if isinstance(expr, ast.Call):
            qualname = ctx.qualname(expr.func) or ""
            if qualname in _OS_JOINERS or qualname in _PATH_PASS or qualname in (
                    "os.path.dirname", "posixpath.dirname", "pathlib.Path.home", "os.getcwd", "tempfile.gettempdir"):
                return True
            if isinstance(expr.func, ast.Attribute) and expr.func.attr == "get" and expr.args:
                key = ctx.literal(expr.args[0])
                return isinstance(key, str) and _root_word(key)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            return self.pathlike_root(expr.left, depth + 1)
        return False

    # ------------------------------------------------------------------ join sites

    def sites(self, candidates: list[ast.AST]) -> list[tuple[ast.AST, ast.AST, str, str]]:
        """(site, root, parameter, kind) for each place a parameter is put under a fixed root, in
        the order of the function's body. ``candidates`` holds every node of the body that can be a
        site (see _site_candidates); the body is walked for the order only when two or more are."""
        found = []
        for node in candidates:
            site = self._site(node)
            if site is not None:
                found.append((node, *site))
        if len(found) < 2:
            return found
        found = []
        for node in self._site_nodes():
            site = self._site(node)
            if site is not None:
                found.append((node, *site))
        return found

    def _site(self, node: ast.AST) -> tuple[ast.AST, str, str] | None:
        ctx = self.ctx
        if isinstance(node, ast.Call):
            func = node.func
            qualname = ctx.qualname(func)
            if qualname in _OS_JOINERS and len(node.args) >= 2 and not node.keywords \
                    and not any(isinstance(a, ast.Starred) for a in node.args):
                return self._parts_site(node.args[0], node.args[1:], "join")
            if isinstance(func, ast.Attribute) and func.attr == "joinpath" and node.args and not node.keywords \
                    and not any(isinstance(a, ast.Starred) for a in node.args) and _is_path_expr(ctx, func.value):
                return self._parts_site(func.value, node.args, "pathlib")
            if isinstance(func, ast.Attribute) and func.attr == "format" and isinstance(func.value, ast.Constant) \
                    and isinstance(func.value.value, str):
                return self._template_site(_format_pieces(func.value.value, node))
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            # ``ROOT / "sub" / name``: the outer ``/`` has the fixed ``ROOT / "sub"`` on its left
            if not self.fixed_root(node.left) or not self.pathlike_root(node.left):
                return None
            return self._parts_site(node.left, [node.right], "pathlib")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            if ctx.is_constant(node.left) and isinstance(ctx.literal(node.left), str):
                return self._template_site(_percent_pieces(ctx, node))
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            parent = ctx.index.parent(node)
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add):
                return None  # the whole concatenation is judged at its top
            return self._template_site(_concat_pieces(node))
        if isinstance(node, ast.JoinedStr):
            pieces: list[tuple[str, str | ast.AST]] = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    pieces.append(("text", str(value.value)))
                elif isinstance(value, ast.FormattedValue):
                    pieces.append(("number" if self._numeric_spec(value) else "value", value.value))
            return self._template_site(pieces)
        return None

    def _parts_site(self, root: ast.AST, parts: list[ast.expr], kind: str) -> tuple[ast.AST, str, str] | None:
        if not self.fixed_root(root):
            return None
        for part in parts:
            param = self.carries(part)
            if param:
                return root, param, kind
        return None

    def _template_site(self, pieces: list[tuple[str, str | ast.AST]]) -> tuple[ast.AST, str, str] | None:
        """A string template whose first piece is a fixed folder and that puts a parameter after
        a ``/``: ``f"{ROOT}/{name}"``, ``"%s/%s" % (ROOT, name)``, ``ROOT + "/" + name``."""
        if len(pieces) < 2 or pieces[0][0] != "value":
            return None
        root = pieces[0][1]
        assert isinstance(root, ast.AST)
        if not self.fixed_root(root) or not self.pathlike_root(root):
            return None
        root_text = self.ctx.literal(root)
        separated = isinstance(root_text, str) and root_text.endswith("/")
        for kind, piece in pieces[1:]:
            if kind == "text":
                separated = separated or "/" in str(piece)
                continue
            if kind == "value" and separated and isinstance(piece, ast.AST):
                param = self.carries(piece)
                if param:
                    return root, param, "template"
        return None

    # ------------------------------------------------------------------ where the result goes

    def use(self, site: ast.AST, is_path: bool, depth: int = 0) -> str | None:
        """How the path built at ``site`` is used: "returned", "passed to `open`"... or None when
        it is neither returned nor given to a file-system call in this function. ``is_path`` says
        the value is a ``pathlib`` path (only then are ``.open()``, ``.replace()``... file calls)."""
        ctx = self.ctx
        node = site
        while True:
            parent = ctx.index.parent(node)
            if parent is None:
                return None
            if isinstance(parent, ast.Call) and node is not parent.func:
                qualname = ctx.qualname(parent.func) or ""
                if qualname in _FS_CALLS:
                    return f"passed to `{qualname.removeprefix('builtins.')}`"
                if qualname in _PATH_PASS or (qualname in _OS_JOINERS and parent.args and parent.args[0] is node):
                    is_path = qualname in _PATH_CTORS
                    node = parent
                    continue
                return None
            if isinstance(parent, ast.keyword):
                owner = ctx.index.parent(parent)
                if isinstance(owner, ast.Call) and (ctx.qualname(owner.func) or "") in _FS_CALLS:
                    return f"passed to `{(ctx.qualname(owner.func) or '').removeprefix('builtins.')}`"
                return None
            if isinstance(parent, ast.Attribute):
                grand = ctx.index.parent(parent)
                if isinstance(grand, ast.Call) and grand.func is parent and is_path:
                    if parent.attr in _FS_PATH_METHODS:
                        return f"used with `.{parent.attr}()`"
                    if parent.attr in _PATH_PASS_METHODS or parent.attr == "joinpath":
                        node = grand
                        continue
                if isinstance(grand, ast.Call) and grand.func is parent and not is_path \
                        and parent.attr in _STR_PASS_METHODS | {"replace"}:
                    node = grand  # os.path.join(...).replace(os.sep, "/") is still the path
                    continue
                return None
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div) and parent.left is node and is_path:
                node = parent
                continue
            if isinstance(parent, (ast.FormattedValue, ast.JoinedStr)) or (
                    isinstance(parent, ast.BinOp) and isinstance(parent.op, (ast.Add, ast.Mod))):
                is_path = False
                node = parent  # more text around the path: f"{path}.json", path + ".bak"
                continue
            if isinstance(parent, (ast.Tuple, ast.List)):
                if isinstance(ctx.index.parent(parent), ast.Return):
                    return "returned"
                return None
            if isinstance(parent, (ast.Return, ast.Yield)):
                return "returned"
            if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and parent.value is node \
                    and depth < 4:
                targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                if len(targets) == 1 and isinstance(targets[0], ast.Name):
                    return self._uses_of(targets[0], is_path, depth)
                return None
            return None

    def _uses_of(self, target: ast.Name, is_path: bool, depth: int) -> str | None:
        binding = None
        for candidate in (self.scope.bindings.get(target.id, ()) if self.scope else ()):
            if candidate.node is self.ctx.index.parent(target):
                binding = candidate
        if binding is None:
            return None
        for node in self.nodes:
            if isinstance(node, ast.Name) and node.id == target.id and isinstance(node.ctx, ast.Load) \
                    and self.ctx.binding(node) is binding:
                found = self.use(node, is_path, depth + 1)
                if found:
                    return found
        return None


def _concat_pieces(node: ast.BinOp) -> list[tuple[str, str | ast.AST]]:
    items: list[ast.AST] = []
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            stack.append(current.right)
            stack.append(current.left)
        else:
            items.append(current)
    pieces: list[tuple[str, str | ast.AST]] = []
    for item in items:
        if isinstance(item, ast.Constant) and isinstance(item.value, str):
            pieces.append(("text", item.value))
        else:
            pieces.append(("value", item))
    return pieces


def _percent_pieces(ctx: FileContext, node: ast.BinOp) -> list[tuple[str, str | ast.AST]]:
    """``"%s/%s" % (a, b)`` as ordered pieces: literal text, values (``%s``, ``%r``), numbers."""
    fmt = ctx.literal(node.left)
    if not isinstance(fmt, str):
        return []
    right = node.right
    values = list(right.elts) if isinstance(right, ast.Tuple) else [right]
    pieces: list[tuple[str, str | ast.AST]] = []
    pos = 0
    index = 0
    for m in _PERCENT_SPEC.finditer(fmt):
        if m.start() > pos:
            pieces.append(("text", fmt[pos:m.start()]))
        pos = m.end()
        conv = m.group("conv")
        if conv == "%":
            pieces.append(("text", "%"))
            continue
        if m.group("key") is not None:
            if isinstance(right, ast.Dict):
                for key, value in zip(right.keys, right.values):
                    if isinstance(key, ast.Constant) and key.value == m.group("key"):
                        pieces.append(("value" if conv in "sra" else "number", value))
            continue
        if index < len(values):
            pieces.append(("value" if conv in "sra" else "number", values[index]))
        index += 1
    if pos < len(fmt):
        pieces.append(("text", fmt[pos:]))
    return pieces


def _format_pieces(fmt: str, call: ast.Call) -> list[tuple[str, str | ast.AST]]:
    """``"{}/{}".format(a, b)`` as ordered pieces."""
    import string

    pieces: list[tuple[str, str | ast.AST]] = []
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    auto = 0
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return []
    for text, field, spec, _conv in parsed:
        if text:
            pieces.append(("text", text))
        if field is None:
            continue
        base = re.split(r"[.\[]", field, maxsplit=1)[0]
        value: ast.AST | None = None
        if base == "":
            value = call.args[auto] if auto < len(call.args) else None
            auto += 1
        elif base.isdigit():
            position = int(base)
            value = call.args[position] if position < len(call.args) else None
        else:
            value = keywords.get(base)
        if value is None or isinstance(value, ast.Starred):
            pieces.append(("text", ""))
            continue
        if base != field:
            pieces.append(("other", value))  # an attribute or item of the value
        else:
            pieces.append(("number" if spec and spec[-1] in "bdoxXneEfFgG%" else "value", value))
    return pieces


def _routed_view(ctx: FileContext, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A view whose parameters come from the URL: the data-flow rule SR131 follows those."""
    for decorator in func.decorator_list:
        if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute) \
                and decorator.func.attr in _ROUTE_DECORATORS:
            return True
    return False


def _site_candidates(ctx: FileContext) -> dict[ast.AST, list[ast.AST]]:
    """Per function, the nodes of its own body (those ``_PathHelper._body_nodes`` walks) that can
    be a join site (``_PathHelper._site``), in no particular order: the calls of ``os.path.join``
    / ``posixpath.join`` and of ``.joinpath``, the ``.format`` calls on a literal that starts with
    a field, the ``/``, ``%`` and ``+`` operations and the f-strings. The index collects them all
    (the rule asks for binary operations and f-strings), so no function body is searched."""
    found = ctx.cache.get("SR606:candidates")
    if found is None:
        found = {}
        for node in _candidate_nodes(ctx):
            owner = _own_body_of(ctx, node)
            if owner is not None:
                found.setdefault(owner, []).append(node)
        ctx.cache["SR606:candidates"] = found
    return found  # type: ignore[return-value]


def _candidate_nodes(ctx: FileContext) -> Iterator[ast.AST]:
    for call in ctx.index.of_type(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "format":
            # a template site needs its first piece to be a value: the literal starts with a field
            if isinstance(func.value, ast.Constant) and isinstance(func.value.value, str) \
                    and func.value.value.startswith("{"):
                yield call
        elif isinstance(func, ast.Attribute):
            # the qualified name of an attribute ends with the attribute ("<base>.join"), so only
            # a call of ``.join`` can be one of _OS_JOINERS: the others are not resolved
            if func.attr == "joinpath" or (func.attr == "join" and ctx.qualname(func) in _OS_JOINERS):
                yield call
        elif ctx.qualname(func) in _OS_JOINERS:
            yield call
    for operation in ctx.index.of_type(ast.BinOp):
        if isinstance(operation.op, (ast.Div, ast.Mod, ast.Add)):  # type: ignore[attr-defined]
            yield operation
    yield from ctx.index.of_type(ast.JoinedStr)


def _own_body_of(ctx: FileContext, node: ast.AST) -> ast.AST | None:
    """The function whose own body holds ``node``: the nearest enclosing function, lambda or class
    is a function, and ``node`` is in one of its body's statements (not in a decorator, a default
    value or an annotation)."""
    child, parent = node, ctx.index.parent(node)
    while parent is not None:
        if type(parent) in _OPAQUE:
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) and child in parent.body:
                return parent
            return None
        child, parent = parent, ctx.index.parent(parent)
    return None


def _called_by_views(ctx: FileContext) -> frozenset[str]:
    """Names of the functions that a routed view of this file calls directly (``helper(...)``):
    SR131 follows the view's request data into them and reports it with a trace through them."""
    cached = ctx.cache.get("SR606:views")
    if isinstance(cached, frozenset):
        return cached
    names: set[str] = set()
    for func in ctx.index.functions:
        if _routed_view(ctx, func):
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    names.add(node.func.id)
    found = frozenset(names)
    ctx.cache["SR606:views"] = found
    return found


@register
class PathJoinedUnderRootUnchecked(Rule):
    """A helper joins its caller's value under a fixed folder without a containment check.

    ## What it finds
    A function that puts one of its own parameters under a fixed root folder and returns the
    result or gives it to a file-system call (`open`, `os.remove`, `shutil.*`, `Path.read_text`,
    `send_file` ...), with no check on that parameter anywhere in the function. The parameter
    may be used as it is or after concatenation and formatting only (`name + ".json"`,
    `f"{name}.log"`); it is put under the root as a later argument of `os.path.join` /
    `posixpath.join`, as the right operand of `/` or the argument of `joinpath` on a `pathlib`
    root, or after a `/` in a string template whose first piece is the root (`"%s/%s" % (ROOT,
    name)`, `f"{ROOT}/{name}"`, `ROOT + "/" + name`, `"{}/{}".format(ROOT, name)`).

    The root counts as fixed when it is an absolute literal path (`"/var/lib/x"`), an `UPPER_CASE`
    module constant (bound at module level or imported), an `UPPER_CASE` class constant
    (`self.ROOT`, `cls.ROOT`, `Store.ROOT`), a Django setting (`settings.MEDIA_ROOT`), a Flask
    config key (`app.config["UPLOAD_FOLDER"]`, `app.config.get(...)`), an oslo.config option named
    like a folder (`CONF.instances_path`, `CONF.vmware.serial_log_dir`), a local or lower-case
    module name bound to one of these, or a join of these with constants. For `/` and string
    templates the root must also look like a folder (a `pathlib` path, a literal such as
    `"/var/lib/x"`, or a name ending in `_DIR`, `_ROOT`, `_PATH`, `folder`...), so URLs and
    arithmetic are not mistaken for paths. Not roots: relative literals (`"Software"`, `"**"`),
    folders built from `__file__` (the package's own resources, looked up by names the program
    chose) or from the user's home (`~`, `Path.home()`), and the world-writable `/tmp`,
    `/var/tmp`, `/dev/shm` and `tempfile.gettempdir()`, where the shared folder itself is the
    defect (SR602) and confining the name would protect nothing.

    Nothing is reported when the function checks or cleans the parameter (or the path built from
    it) anywhere: `os.path.basename`, `secure_filename`, `safe_join`, `get_valid_filename`,
    `os.path.isabs`, `os.path.commonpath` / `commonprefix` / `relpath`, `.startswith(...)`,
    `.relative_to(...)` / `.is_relative_to(...)`, a regular-expression `match` / `fullmatch` /
    `search`, `str.isalnum()` and friends, `int()`, `uuid.UUID()`, a comparison with `".."`, `"/"`
    or `os.sep`, splitting or replacing on a separator, `Path(name).name`, a membership test
    (`if name not in ALLOWED`), or a call of a function whose name says it validates
    (`validate_name(name)`, `_check_path(path)`); nor when the parameter is rebound to a value
    that is not plain text building (`name = secure_filename(name)`). The rule does not judge
    whether the check is sufficient. Also silent: `self` / `cls`; parameters with a `True` /
    `False` / number default; parameters annotated `int`, `float`, `bool`, `uuid.UUID` or
    `Literal[...]`; parameters named `...uuid` (identifiers the program generated); numbers put in
    the path (`"%d.json" % n`, `f"{n:d}"`); attributes of parameters (`instance.uuid`); roots that
    are parameters or instance state (`self.base_dir`); a path only tested (`os.path.exists`) or
    stored; functions whose docstring says they accept absolute paths (the root is then a
    default base, not a boundary); routed views and the module functions a routed view of the
    same file calls (the data-flow rule SR131 follows the request data there, with a trace);
    and test code.

    Severity is medium: when an untrusted value does reach the parameter, files outside the
    folder are read, overwritten or deleted. Confidence is low: the callers are outside what the
    rule sees, and most of them pass names the program made itself; the finding asks the reviewer
    to confirm the helper's contract (or make it enforce one), which SR131 cannot do when the
    caller is in another file or not part of the change.

    ## Why it is dangerous
    `os.path.join(root, name)` and `root / name` keep `..` segments, so a caller that passes
    `../../etc/passwd` walks out of the folder; an absolute `name` makes `os.path.join` and
    `pathlib` drop the root entirely. A helper that reads, writes or deletes under a fixed folder
    is exactly where callers expect the folder to be enforced, and the next caller that passes a
    request value, an archive member name or an RPC field turns it into arbitrary file access.

    ## Example
    ```python
    import os

    STORE_ROOT = "/var/lib/blobstore"

    def _object_path(name):
        return os.path.join(STORE_ROOT, name)
    ```

    ## Safe alternative
    ```python
    import os

    STORE_ROOT = "/var/lib/blobstore"

    def _object_path(name):
        root = os.path.realpath(STORE_ROOT)
        path = os.path.realpath(os.path.join(root, name))
        if os.path.commonpath([root, path]) != root:
            raise ValueError(f"{name!r} is outside the store")
        return path
    ```
    With `pathlib`: `path = (ROOT / name).resolve()` and `if not path.is_relative_to(ROOT.resolve())`.
    When the value is meant to be a single file name, reject separators and `..` instead
    (`if os.path.basename(name) != name or name in ("", ".", ".."): raise ValueError(...)`).

    ## References
    - https://cwe.mitre.org/data/definitions/22.html
    - https://docs.python.org/3/library/os.path.html#os.path.commonpath
    - https://docs.python.org/3/library/pathlib.html#pathlib.PurePath.is_relative_to
    """

    id = "SR606"
    name = "path-joined-under-root-unchecked"
    cwe = 22
    severity = Level.MEDIUM
    confidence = Level.LOW
    fix = ("Resolve the joined path with `os.path.realpath` and check that it stays inside the root "
           "(`os.path.commonpath([root, path]) == root`; with pathlib `path.resolve().is_relative_to(root)`), "
           "or reject values that contain a separator or `..`.")
    # Binary operations and f-strings are asked for only so that the index collects them: with the
    # calls, they are the nodes a join site can be, which _site_candidates then looks up per
    # function instead of searching every function body. check_node passes over them.
    nodes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.BinOp, ast.JoinedStr)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first tests: only functions are checked (the other node types are collected
        # for _site_candidates), and none in test or generated code
        if node_type not in (ast.FunctionDef, ast.AsyncFunctionDef) or ctx.context in ("test", "generated"):
            return []
        # and check_node's test of the function's join site candidates (found once per file):
        # a function with none (most of them) is not checked
        candidates = _site_candidates(ctx)
        return [node for node in nodes if node in candidates]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        if ctx.context in ("test", "generated") or _routed_view(ctx, node):
            return
        candidates = _site_candidates(ctx).get(node)
        if not candidates:
            return  # no node of the body can be a join site (most functions)
        if isinstance(ctx.index.parent(node), ast.Module) and node.name in _called_by_views(ctx):
            return
        doc = ast.get_docstring(node, clean=False)
        if doc and _ACCEPTS_ABSOLUTE.search(doc):
            return  # its contract accepts absolute paths: the root is a default base, not a boundary
        helper = _PathHelper(ctx, node)
        if not helper.params:
            return
        sites = helper.sites(candidates)
        if not sites:
            return
        checked = helper.checked()
        reported: set[str] = set()
        for site, root, param, kind in sites:
            if param in checked or param in reported:
                continue
            how = helper.use(site, kind == "pathlib")
            if how is None:
                continue
            reported.add(param)
            self._report(ctx, node, site, root, param, kind, how)

    def _report(self, ctx: FileContext, func: ast.FunctionDef | ast.AsyncFunctionDef, site: ast.AST,
                root: ast.AST, param: str, kind: str, how: str) -> None:
        root_text = f"`{ctx.text(root, 50)}`"
        root_code = ctx.text(root, 40)
        if not isinstance(root, (ast.Name, ast.Attribute, ast.Constant, ast.Call, ast.Subscript)):
            root_code = f"({root_code})"
        if kind == "join":
            escape = (f"a caller passing `../../etc/passwd` escapes {root_text}, and an absolute value makes "
                      "`os.path.join` drop the root entirely")
            fix = (f"Resolve both and check containment: `root = os.path.realpath({root_code})`, "
                   f"`path = os.path.realpath(os.path.join(root, {param}))`, and refuse unless "
                   f"`os.path.commonpath([root, path]) == root`; or reject values of `{param}` that contain a "
                   "separator or `..`.")
        elif kind == "pathlib":
            escape = (f"a caller passing `../../etc/passwd` escapes {root_text}, and an absolute value makes "
                      "`pathlib` drop the root entirely")
            fix = (f"Resolve the path, `path = ({root_code} / {param}).resolve()`, and refuse unless "
                   f"`path.is_relative_to({root_code}.resolve())`; or reject values of `{param}` that contain a "
                   "separator or `..`.")
        else:
            escape = f"a caller passing `../../etc/passwd` escapes {root_text}"
            fix = (f"Build the path with `os.path.join`, resolve it with `os.path.realpath` and refuse unless "
                   f"`os.path.commonpath([root, path]) == root` (with `root = os.path.realpath({root_code})`); "
                   f"or reject values of `{param}` that contain a separator or `..`.")
        ctx.report(self, site,
                   f"Parameter `{param}` of `{func.name}()` is put under the fixed folder {root_text} in "
                   f"`{ctx.text(site, 60)}` and the result is {how}, with no check anywhere in the function: "
                   f"nothing reduces `{param}` to a base name, rejects `..` or separators, or resolves the path "
                   f"and checks that it stays inside the folder. {escape[0].upper()}{escape[1:]}; the helper "
                   "is safe only as long as every caller passes a name the program made itself.",
                   fix=fix)
