"""Files on a shared host: temporary names picked before the file exists, fixed paths in
world-writable directories, and permission bits that let every local user write."""

from __future__ import annotations

import ast
import stat

from secreview.model import Level
from secreview.rules.base import FileContext, Rule
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
