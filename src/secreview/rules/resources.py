"""Resource leaks: files, sockets, descriptors, processes, temporary files and directories,
HTTP responses and database connections opened without ``with`` and not released on every path."""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace

from secreview.model import Level
from secreview.rules.base import FileContext, Rule, identifier_words
from secreview.rules.concurrency import (covered_by_finally, enclosing_block, end, harmless_call,
                                         is_logging_call, on_same_path, pos, risky_calls, walk_nodes, walk_local)
from secreview.rules.registry import register


@dataclass(frozen=True)
class Kind:
    """A kind of resource SR805 tracks: what it is called and what releases it."""

    noun: str  # what the message calls it
    closers: tuple[str, ...]  # methods that release it
    close_functions: tuple[str, ...] = ()  # functions that release it when handed the value
    object: bool = True  # a Python object that CPython closes when its last reference goes
    cwe: int = 772

    @property
    def a(self) -> str:
        """The noun with its article: "a file", "an HTTP response"."""
        return ("an " if self.noun[0] in "AEIOUaeiou" or self.noun.startswith("HTTP") else "a ") + self.noun


FILE = Kind("file", ("close",), cwe=775)
SOCKET = Kind("socket", ("close", "detach"), cwe=775)
RESPONSE = Kind("HTTP response", ("close",))
CONNECTION = Kind("connection", ("close", "quit"))
CURSOR = Kind("database cursor", ("close",))
PROCESS = Kind("child process", ("communicate", "wait", "__exit__"))
TEMPFILE = Kind("temporary file", ("close",), cwe=775)
TEMPDIR_OBJECT = Kind("temporary directory", ("cleanup",))
FD = Kind("file descriptor", (), ("os.close", "os.fdopen", "os.closerange"), object=False, cwe=775)
TEMPDIR = Kind("temporary directory", (), object=False)

_OPENERS: dict[str, Kind] = {
    "builtins.open": FILE, "io.open": FILE, "codecs.open": FILE, "os.fdopen": FILE, "io.FileIO": FILE,
    "gzip.open": FILE, "gzip.GzipFile": FILE, "bz2.open": FILE, "bz2.BZ2File": FILE, "lzma.open": FILE,
    "tarfile.open": FILE, "zipfile.ZipFile": FILE,
    "socket.socket": SOCKET, "socket.create_connection": SOCKET, "socket.fromfd": SOCKET,
    "urllib.request.urlopen": RESPONSE, "urllib2.urlopen": RESPONSE, "urllib.urlopen": RESPONSE,
    "six.moves.urllib.request.urlopen": RESPONSE, "http.client.HTTPConnection": CONNECTION,
    "http.client.HTTPSConnection": CONNECTION, "ftplib.FTP": CONNECTION, "smtplib.SMTP": CONNECTION,
    "smtplib.SMTP_SSL": CONNECTION, "telnetlib.Telnet": CONNECTION, "paramiko.SSHClient": CONNECTION,
    "sqlite3.connect": CONNECTION, "pymysql.connect": CONNECTION, "MySQLdb.connect": CONNECTION,
    "psycopg2.connect": CONNECTION, "mysql.connector.connect": CONNECTION,
    "subprocess.Popen": PROCESS,
    "tempfile.NamedTemporaryFile": TEMPFILE, "tempfile.TemporaryFile": TEMPFILE,
    "tempfile.SpooledTemporaryFile": TEMPFILE, "tempfile.TemporaryDirectory": TEMPDIR_OBJECT,
    "tempfile.mkdtemp": TEMPDIR, "tempfile.mkstemp": FD, "os.open": FD, "os.dup": FD, "os.pipe": FD,
    "os.openpty": FD,
}
_DB_CONNECT = ("sqlite3.connect()", "pymysql.connect()", "MySQLdb.connect()", "psycopg2.connect()",
               "mysql.connector.connect()")
_CONNECTION_NAMES = frozenset({"conn", "connection", "db", "dbconn", "con", "cnx"})
# Functions that use a handle without taking it over.
_BORROWERS = ("json.", "pickle.", "yaml.", "csv.", "shutil.copyfileobj", "os.", "fcntl.", "select.",
              "termios.", "tty.", "builtins.", "struct.", "msvcrt.", "os.path.", "hashlib.")
_TRANSFERS = frozenset({"os.fdopen", "io.open", "builtins.open"})  # open(fd) wraps a descriptor
_CLEANUP_WORDS = frozenset({"rmtree", "remove", "delete", "rmdir", "cleanup", "clean", "purge", "destroy",
                            "rm", "unlink"})
_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_DATA_ATTRIBUTES = frozenset({"name", "mode", "closed", "encoding", "errors", "newlines", "returncode", "pid",
                              "stdout", "stderr", "stdin", "status", "headers", "url", "family", "type"})
_WRAPPERS = frozenset({"zipfile.ZipFile", "tarfile.open", "gzip.GzipFile", "gzip.open", "bz2.BZ2File", "bz2.open",
                       "lzma.open", "io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter"})
_PATH_DERIVERS = frozenset({"os.path.join", "posixpath.join", "builtins.str", "os.fspath", "pathlib.Path",
                            "os.path.abspath", "os.path.realpath", "os.path.normpath"})


def _guarded_by_absence(ctx: FileContext, node: ast.AST, handle: str) -> bool:
    """``node`` runs only when the handle is missing: under ``if not h``, ``if h is None`` or
    ``if h < 0``."""
    child = node
    for anc in ctx.index.ancestors(node):
        if isinstance(anc, ast.If) and any(child is s for s in anc.body):
            test = anc.test
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and \
                    isinstance(test.operand, ast.Name) and test.operand.id == handle:
                return True
            if isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == handle \
                    and isinstance(test.ops[0], (ast.Is, ast.Eq, ast.Lt)):
                return True
        if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return False
        child = anc
    return False


def _without_handle(ctx: FileContext, stmt: ast.stmt, node: ast.AST) -> bool:
    """``node`` runs in a handler of the ``try`` whose body ends with the opening statement:
    there the opening failed, so there is no handle to release."""
    for anc in ctx.index.ancestors(node):
        if isinstance(anc, ast.ExceptHandler):
            owner = ctx.index.parent(anc)
            if isinstance(owner, (ast.Try, ast.TryStar)) and owner.body and owner.body[-1] is stmt:
                return True
        if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return False
    return False


def _names_in_function(ctx: FileContext, function: ast.AST) -> dict:
    """Name loads of one function by identifier (with whether each sits in a nested scope) and
    its exit statements; computed once per function."""
    cache = ctx.cache.setdefault("resources.functions", {})
    info = cache.get(function)
    if info is None:
        names: dict[str, list[tuple[ast.Name, bool]]] = {}
        exits = []
        generator = False
        # (walk_nodes: ast.walk's nodes in its order, without its generators)
        for node in walk_nodes(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                nested = ctx.index.function_of(node) is not function or \
                    any(isinstance(a, ast.Lambda) for a in _until(ctx, node, function))
                names.setdefault(node.id, []).append((node, nested))
            elif isinstance(node, _EXITS) and ctx.index.function_of(node) is function:
                exits.append(node)
            elif isinstance(node, (ast.Yield, ast.YieldFrom)) and ctx.index.function_of(node) is function:
                generator = True
        for refs in names.values():
            refs.sort(key=lambda item: pos(item[0]))
        exits.sort(key=pos)
        info = cache[function] = {"names": names, "exits": exits, "generator": generator}
    return info


def _until(ctx: FileContext, node: ast.AST, stop: ast.AST):
    for anc in ctx.index.ancestors(node):
        if anc is stop:
            return
        yield anc


@register
class ResourceLeak(Rule):
    """Resource opened without `with` and not released on every path.

    ## What it finds
    A file (`open`, `io.open`, `os.fdopen`, `gzip` / `bz2` / `tarfile` / `zipfile`), socket,
    `urlopen` response, HTTP / FTP / SMTP / SSH client, DB-API connection (`sqlite3`, `pymysql`,
    `MySQLdb`, `psycopg2`) or cursor, `subprocess.Popen`, `tempfile.NamedTemporaryFile` /
    `TemporaryFile` / `TemporaryDirectory`, a raw descriptor (`os.open`, `os.pipe`, `os.dup`,
    the descriptor of `tempfile.mkstemp`) or a `tempfile.mkdtemp` directory, assigned to a local
    name in a function, when:
    - nothing in the function ever releases it (`close()`, `os.close(fd)`, `wait()` /
      `communicate()` for a process, `shutil.rmtree` or another clean-up call for a directory);
      a descriptor that is thrown away at once (`_, path = tempfile.mkstemp()`,
      `tempfile.mkstemp()[1]`, `os.open(...)` as a statement) is reported the same way;
    - or it is released, but a `return`, `raise`, `break` or `continue` leaves before the
      release, or a call between opening and releasing can raise and the release is not in a
      `finally` (or a catch-all handler).
    Not reported: `with` statements; handles that are returned, yielded, stored on `self` or in
    a container or a global, handed to another function (`contextlib.closing`,
    `ExitStack.enter_context`, a constructor, `os.dup2`) or whose `close` or another bound
    method is registered as a callback (`addCleanup(f.close)`); a `mkdtemp` directory whose path
    (or a path built from it) is returned or stored; `zipfile.ZipFile` / `tarfile` / `gzip`
    objects wrapping a file opened in the function (the file is what needs closing);
    `subprocess.Popen` without pipes (a detached helper: the parent holds no descriptor);
    exits and calls in a branch the opening is not on, or in the handler of a failed opening;
    code at module level. A handle used inline (`open(path).read()`, `json.load(open(path))`)
    is deliberately not reported either: CPython closes it as soon as the expression finishes.

    Raw descriptors and `mkdtemp` directories are never released by the garbage collector, so
    those findings are medium severity. Python objects (files, sockets, connections, processes)
    are closed by CPython when the last reference goes, so a missing or unprotected `close()`
    delays the release rather than losing it: low severity, but still worth the `with`.

    ## Why it is dangerous
    A long-running service that leaks one descriptor per request or per failed operation
    eventually hits its open-files limit (`EMFILE`): every new connection, file and socket then
    fails, which is a denial of service. Leaked temporary directories fill the disk and can
    leave secrets (images, keys, config drives) behind; unreaped child processes stay as
    zombies; unreleased database connections exhaust the pool and the server's connection
    limit. Exceptions are the usual path: an error between open and close skips the close.

    ## Example
    ```python
    import os
    import tempfile
    def write_config_drive(data):
        fd, path = tempfile.mkstemp(suffix=".iso")
        os.write(fd, data)
        os.close(fd)
        return path
    ```

    ## Safe alternative
    ```python
    import os
    import tempfile
    def write_config_drive(data):
        fd, path = tempfile.mkstemp(suffix=".iso")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path
    ```
    Use `with` (also for sockets, `urlopen`, `Popen`, `NamedTemporaryFile` and
    `TemporaryDirectory`), wrap raw descriptors with `os.fdopen`, use
    `contextlib.closing` for objects without `__exit__`, or release in `finally`.

    ## References
    - https://cwe.mitre.org/data/definitions/772.html
    - https://cwe.mitre.org/data/definitions/775.html
    - https://cwe.mitre.org/data/definitions/404.html
    """

    id = "SR711"
    name = "resource-leak"
    cwe = 772
    severity = Level.LOW
    confidence = Level.MEDIUM
    fix = "Open it in a `with` statement (or release it in a `finally` block right after opening it)."
    calls = tuple(_OPENERS)
    methods = ("cursor",)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        kind = _OPENERS.get(qualname or "")
        if kind is None:
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "cursor" and self._db(ctx, call)):
                return
            kind = CURSOR
        function = ctx.index.function_of(call)
        if function is None:
            return
        if kind is FILE and qualname in ("builtins.open", "io.open") and isinstance(ctx.index.parent(call), ast.Call):
            return  # open(fd) handed straight to a wrapper
        parent = ctx.index.parent(call)
        shown = ctx.text(call, 60)
        if qualname in _WRAPPERS and self._wraps_open_file(ctx, call):
            return  # the underlying file object is the resource; closing it is what matters
        if isinstance(parent, ast.Expr) and kind is FD:
            self._report(ctx, call, kind, 775,
                         f"`{shown}` opens {kind.a} and drops it at once: nothing can close it, and "
                         "every call leaks one more descriptor until the process hits its open-files limit.",
                         Level.MEDIUM, Level.HIGH)
            return
        if isinstance(parent, ast.Subscript) and kind is FD and qualname == "tempfile.mkstemp":
            self._report(ctx, call, kind, 775,
                         f"`{ctx.text(parent, 60)}` keeps only the path: the descriptor `tempfile.mkstemp` opened "
                         "is never closed, one leaked descriptor per call.",
                         Level.MEDIUM, Level.HIGH,
                         fix="Keep the descriptor and close it: `fd, path = tempfile.mkstemp(); os.close(fd)` "
                             "(or write through `os.fdopen(fd, ...)` in a `with`).")
            return
        names = self._targets(parent, call, qualname)
        if names is None:
            return
        scope = ctx.index.scope_of(call)
        if any(name.id in scope.globals or name.id in scope.nonlocals for name in names):
            return  # kept in a global: it outlives the function on purpose
        if kind is PROCESS and not any("PIPE" in ctx.text(kw.value, 80) for kw in call.keywords):
            return  # without pipes the parent holds no descriptor: a detached helper, reaped by Popen itself
        pipes = True
        for name in names:
            self._track(ctx, call, kind, name, function, shown, pipes)

    @staticmethod
    def _db(ctx: FileContext, call: ast.Call) -> bool:
        receiver = call.func.value  # type: ignore[attr-defined]
        name = ctx.qualname(receiver) or ""
        if name in _DB_CONNECT:
            return True
        words = identifier_words(receiver.attr if isinstance(receiver, ast.Attribute) else
                                 receiver.id if isinstance(receiver, ast.Name) else "")
        return "".join(words) in _CONNECTION_NAMES

    @staticmethod
    def _targets(parent: ast.AST | None, call: ast.Call, qualname: str | None) -> list[ast.Name] | None:
        """The local names that receive the handle, or None when it is not held in a local name."""
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) != 1:
                return None
            target = targets[0]
            if isinstance(target, ast.Name):
                if qualname in ("tempfile.mkstemp", "os.pipe", "os.openpty"):
                    return None  # a tuple held whole
                return [target]
            if isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
                if qualname == "tempfile.mkstemp" and len(target.elts) == 2:
                    return [target.elts[0]]  # type: ignore[list-item]
                if qualname in ("os.pipe", "os.openpty") and len(target.elts) == 2:
                    return list(target.elts)  # type: ignore[arg-type]
        return None

    def _track(self, ctx: FileContext, call: ast.Call, kind: Kind, target: ast.Name, function, shown: str,
               pipes: bool = True) -> None:
        info = _names_in_function(ctx, function)
        stmt = ctx.index.statement_of(call)
        start = end(stmt)
        refs = [(ref, nested) for ref, nested in info["names"].get(target.id, ()) if pos(ref) >= start]
        closes: list[ast.AST] = []
        for ref, nested in refs:
            use = self._use(ctx, ref, kind, nested, info)
            if use == "escape":
                return
            if use == "close":
                closes.append(ref)
        handle = target.id
        if not closes and kind is PROCESS and not pipes:
            return
        if not closes:
            if kind is TEMPDIR:
                message = (f"`{shown}` creates a directory that this function neither removes nor hands on: "
                           "it stays on disk with whatever was written to it, one more per call.")
                fix = "Use `with tempfile.TemporaryDirectory() as path:` or remove it with `shutil.rmtree` in a `finally`."
                severity, confidence = Level.MEDIUM, Level.MEDIUM
            elif not kind.object:
                message = (f"`{shown}` opens {kind.a} (`{handle}`) that is never closed: the garbage collector "
                           "does not close raw descriptors, so every call leaks one until the process hits its "
                           "open-files limit.")
                fix = "Close it with `os.close` in a `finally`, or wrap it at once with `os.fdopen(...)` in a `with`."
                severity, confidence = Level.MEDIUM, Level.HIGH
            else:
                verb = "waited for" if kind is PROCESS else "cleaned up" if kind is TEMPDIR_OBJECT else "closed"
                message = (f"`{shown}` opens {kind.a} (`{handle}`) that is never {verb} in this function: it is "
                           "released only when the garbage collector gets to the object, so a busy service can "
                           "hold many at once (and PyPy or a reference cycle holds them much longer).")
                fix = None
                severity, confidence = Level.LOW, Level.HIGH
            self._report(ctx, call, kind, kind.cwe, message, severity, confidence, fix=fix)
            return
        severity = Level.LOW if kind.object else Level.MEDIUM
        release = self._release_of(ctx, closes[0])

        def releases(stmts: list[ast.stmt]) -> bool:
            return any(ref_pos_in(stmts, c) for c in closes)

        exit_node = self._early_exit(ctx, info, call, stmt, closes, handle, releases)
        if exit_node is not None:
            word = {ast.Return: "returns", ast.Raise: "raises", ast.Continue: "skips to the next iteration",
                    ast.Break: "leaves the loop"}[type(exit_node)]
            self._report(ctx, call, kind, 404,
                         f"`{shown}` opens {kind.a} (`{handle}`), but the function {word} on line "
                         f"{exit_node.lineno} before `{ctx.text(release, 40)}` runs, so on that path the "
                         f"{kind.noun} is left open.",
                         severity, Level.HIGH,
                         trace=[(call, "opened here"), (exit_node, "leaves here without releasing it"),
                                (release, "released only here")])
            return
        if info["generator"] or covered_by_finally(ctx, call, releases):
            return
        first = min(closes, key=pos)
        between = [c for c in risky_calls(function.body, ignore=lambda c: harmless_call(ctx, c))
                   if start <= pos(c) < pos(first)
                   and not any(c is self._release_of(ctx, x) for x in closes)
                   and not _without_handle(ctx, stmt, c) and on_same_path(ctx, call, c)]
        if not between:
            return
        self._report(ctx, call, kind, 404,
                     f"`{shown}` opens {kind.a} (`{handle}`) and `{ctx.text(release, 40)}` on line "
                     f"{release.lineno} releases it, but not in a `finally`: if `{ctx.text(between[0], 50)}` "
                     f"(line {between[0].lineno}) raises, the release is skipped"
                     + (" and the descriptor leaks." if not kind.object else
                        " and the object waits for the garbage collector."),
                     severity, Level.MEDIUM,
                     trace=[(call, "opened here"), (between[0], "an exception here skips the release"),
                            (release, "released only on the normal path")])

    @staticmethod
    def _wraps_open_file(ctx: FileContext, call: ast.Call) -> bool:
        if ctx.keyword(call, "fileobj") is not None:
            return True
        first = call.args[0] if call.args else None
        if isinstance(first, ast.Name):
            binding = ctx.binding(first)
            first = binding.value if binding is not None and binding.kind == "assign" else None
        return isinstance(first, ast.Call) and (ctx.qualname(first.func) or "") in _OPENERS

    def _path_escapes(self, ctx: FileContext, ref: ast.AST, info: dict, depth: int = 0) -> bool:
        """A temporary directory's path, or a path built from it, is returned, yielded or stored:
        whoever receives it owns the directory."""
        top = ref
        parent = ctx.index.parent(top)
        while isinstance(parent, (ast.BinOp, ast.JoinedStr, ast.FormattedValue, ast.Tuple, ast.List)) or (
                isinstance(parent, ast.Call) and top is not parent.func
                and (ctx.qualname(parent.func) or "") in _PATH_DERIVERS):
            top, parent = parent, ctx.index.parent(parent)
        if isinstance(parent, (ast.Return, ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is top:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in targets):
                return True
            if depth == 0:
                for t in targets:
                    if isinstance(t, ast.Name):
                        for derived, nested in info["names"].get(t.id, ()):
                            if pos(derived) > pos(parent) and (nested or self._path_escapes(ctx, derived, info, 1)):
                                return True
        return False

    @staticmethod
    def _release_of(ctx: FileContext, ref: ast.AST) -> ast.AST:
        """The call that releases, from the reference of the handle inside it."""
        parent = ctx.index.parent(ref)
        if isinstance(parent, ast.Attribute):
            grand = ctx.index.parent(parent)
            return grand if isinstance(grand, ast.Call) else parent
        if isinstance(parent, ast.keyword):
            parent = ctx.index.parent(parent)
        return parent if isinstance(parent, ast.Call) else ref

    def _use(self, ctx: FileContext, ref: ast.Name, kind: Kind, nested: bool, info: dict) -> str:
        """How a reference uses the handle: close, escape (handed on) or use."""
        if nested:
            return "escape"
        if kind is TEMPDIR and self._path_escapes(ctx, ref, info):
            return "escape"
        parent = ctx.index.parent(ref)
        if isinstance(parent, ast.Attribute):
            grand = ctx.index.parent(parent)
            called = isinstance(grand, ast.Call) and grand.func is parent
            if parent.attr in kind.closers or parent.attr in ("close", "__exit__"):
                return "close" if called else "escape"
            if not called and parent.attr not in _DATA_ATTRIBUTES and isinstance(
                    grand, (ast.Call, ast.keyword, ast.Assign, ast.Return, ast.Tuple, ast.List, ast.Dict)):
                return "escape"  # a bound method (`setwriter(err.write)`) keeps the object alive
            return "use"
        if isinstance(parent, ast.withitem):
            return "escape"
        if isinstance(parent, (ast.Return, ast.Yield, ast.YieldFrom, ast.Assign, ast.AnnAssign, ast.List,
                               ast.Tuple, ast.Set, ast.Dict, ast.Starred, ast.NamedExpr, ast.AugAssign)):
            if isinstance(parent, ast.Assign) and ref is not parent.value:
                return "use"
            return "escape"
        if isinstance(parent, ast.keyword):
            parent = ctx.index.parent(parent)
        if isinstance(parent, ast.Call) and ref is not parent.func:
            name = ctx.qualname(parent.func) or ""
            if name in kind.close_functions:
                return "close"
            if kind is FD and name == "os.dup2" and parent.args and parent.args[0] is ref:
                return "escape"  # installed in place of another descriptor (the BrokenPipe recipe)
            if kind is TEMPDIR:
                callee = parent.func.attr if isinstance(parent.func, ast.Attribute) else \
                    parent.func.id if isinstance(parent.func, ast.Name) else ""
                constants = [a.value for a in parent.args if isinstance(a, ast.Constant)]
                if set(identifier_words(callee)) & _CLEANUP_WORDS or "rm" in constants:
                    return "close"
                return "use"
            if name in _TRANSFERS or (kind is not FD and name in ("os.fdopen",)):
                return "escape"
            if is_logging_call(parent):
                return "use"
            if any(name.startswith(prefix) for prefix in _BORROWERS):
                return "use"
            return "escape"
        return "use"

    def _early_exit(self, ctx, info, call, stmt, closes, handle, releases):
        last_close = max(closes, key=pos)
        for node in info["exits"]:
            if not (end(stmt) <= pos(node) < pos(last_close)) or _without_handle(ctx, stmt, node) \
                    or not on_same_path(ctx, call, node) or _guarded_by_absence(ctx, node, handle):
                continue
            if isinstance(node, ast.Return) and node.value is not None and \
                    any(isinstance(n, ast.Name) and n.id == handle for n in ast.walk(node.value)):
                continue
            if isinstance(node, (ast.Continue, ast.Break)):
                loop = next((a for a in ctx.index.ancestors(node) if isinstance(a, (ast.For, ast.While))), None)
                if loop is None or not any(a is loop for a in ctx.index.ancestors(call)):
                    continue
            if isinstance(node, ast.Raise) and self._inside_handler_after(ctx, node):
                continue
            if any(_dominates(ctx, close, node) for close in closes):
                continue
            if self._in_protected_try(ctx, node, releases):
                continue
            return node
        return None

    @staticmethod
    def _inside_handler_after(ctx: FileContext, node: ast.AST) -> bool:
        """A ``raise`` inside an ``except`` handler is an exception path, judged with the others."""
        return any(isinstance(a, ast.ExceptHandler) for a in ctx.index.ancestors(node))

    @staticmethod
    def _in_protected_try(ctx: FileContext, node: ast.AST, releases) -> bool:
        child = node
        for anc in ctx.index.ancestors(node):
            if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return False
            if isinstance(anc, (ast.Try, ast.TryStar)) and child is not None and \
                    (child in anc.body or child in anc.handlers or child in anc.orelse) and \
                    anc.finalbody and releases(anc.finalbody):
                return True
            child = anc
        return False

    def _report(self, ctx: FileContext, call: ast.AST, kind: Kind, cwe: int, message: str, severity: Level,
                confidence: Level, fix: str | None = None, trace=()) -> None:
        ctx.report(self, call, message, severity=severity, confidence=confidence, fix=fix, trace=trace)
        if cwe != self.cwe:  # the finding's own CWE: 775 for descriptors, 404 for a release on some paths
            ctx.findings[-1] = replace(ctx.findings[-1], cwe=cwe)


def ref_pos_in(stmts: list[ast.stmt], ref: ast.AST) -> bool:
    return any(node is ref for stmt in stmts for node in walk_local(stmt))


def _dominates(ctx: FileContext, close_ref: ast.AST, node: ast.AST) -> bool:
    """The release statement runs before ``node`` on every path to it: it is an earlier
    statement of a block that (directly or through nesting) contains ``node``."""
    close_stmt = ctx.index.statement_of(close_ref)
    if close_stmt is None:
        return False
    place = enclosing_block(ctx, close_stmt)
    if place is None:
        return False
    block, index = place
    for anc in [node, *ctx.index.ancestors(node)]:
        if isinstance(anc, ast.stmt):
            for i, item in enumerate(block):
                if item is anc:
                    return i > index
    return False
