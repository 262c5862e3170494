"""Race conditions: a file system check acted on later, a file created before its mode is
restricted, a lock acquired without a guaranteed release, and read-modify-write of shared
module or class state from threads without a lock."""

from __future__ import annotations

import ast
import stat
from collections import deque
from collections.abc import Iterator
from itertools import chain, compress
from operator import attrgetter

from secreview.model import Level
from secreview.rules.base import FileContext, Rule, identifier_words
from secreview.rules.registry import register
from secreview.source.index import Binding

# ---------------------------------------------------------------------------- shared helpers
# (also used by the resources and errors modules)

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_LOCK_WORDS = frozenset({"lock", "locks", "locked", "rlock", "mutex", "semaphore", "semaphores", "sem",
                         "synchronized", "synchronised", "lockutils", "cond", "condition", "critical"})
_LOG_RECEIVERS = frozenset({"log", "logger", "logging", "_log", "_logger", "LOG", "LOGGER"})
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log",
                          "trace", "audit"})
OS_ERRORS = frozenset({"OSError", "IOError", "EnvironmentError", "FileNotFoundError", "FileExistsError",
                       "PermissionError", "IsADirectoryError", "NotADirectoryError", "Exception",
                       "BaseException", "error"})


def function_calls(ctx: FileContext, key: str, function: ast.AST | None) -> list[tuple[ast.Call, str | None]]:
    """The calls whose innermost enclosing function is ``function`` (None for module level), each
    with its qualified name, in source order. The calls are grouped by function once per file
    and rule family; the names are resolved only for the groups asked for (a few functions of
    the few files with a path check or a chmod), not for every call of the file."""
    cache = ctx.cache.get(key)
    if cache is None:
        groups: dict[ast.AST | None, list[ast.Call]] = {}
        function_of = ctx.index.function_of
        for call in ctx.index.of_type(ast.Call):
            groups.setdefault(function_of(call), []).append(call)
        cache = ctx.cache[key] = (groups, {})
    groups, named = cache  # type: ignore[misc]
    found = named.get(function)
    if found is None:
        found = []
        for call in groups.get(function, ()):
            try:
                name = ctx.qualname(call.func)
            except RecursionError:
                name = None
            found.append((call, name))
        found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
        named[function] = found
    return found


_BINDINGS = attrgetter("bindings")
_KIND = attrgetter("kind")


def import_bindings(ctx: FileContext) -> list[Binding]:
    """The bindings made by imports in every scope of the file, found once per file: the walk over
    all the bindings (thousands in a large module) is made by ``itertools`` and ``map`` in C."""
    found = ctx.cache.get("concurrency.imports")
    if found is None:
        index = ctx.index
        scopes = [index.module_scope, *index.inner_scopes.values()]
        bindings = list(chain.from_iterable(chain.from_iterable(map(dict.values, map(_BINDINGS, scopes)))))
        found = ctx.cache["concurrency.imports"] = list(compress(bindings, map("import".__eq__, map(_KIND, bindings))))
    return found  # type: ignore[return-value]


def pos(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)


def end(node: ast.AST) -> tuple[int, int]:
    return (node.end_lineno or node.lineno, node.end_col_offset or 0)


def expr_key(node: ast.AST) -> object:
    """A structural key of an expression that ignores load / store context and positions."""
    if isinstance(node, ast.AST):
        return (type(node).__name__,) + tuple(expr_key(getattr(node, f, None)) for f in node._fields if f != "ctx")
    if isinstance(node, list):
        return tuple(expr_key(item) for item in node)
    return node


def same_expr(a: ast.AST | None, b: ast.AST | None) -> bool:
    return a is not None and b is not None and expr_key(a) == expr_key(b)


def path_key(ctx: FileContext, expr: ast.AST | None) -> tuple | None:
    """What identifies a path expression: the same name with the same binding, the same constant
    text, or (for attributes and calls such as ``os.path.join(a, b)``) the same expression."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant):
        return ("const", expr.value) if isinstance(expr.value, (str, bytes)) else None
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        value = ctx.literal(expr)
        if isinstance(value, (str, bytes)):
            return ("const", value)
        return ("name", expr.id, id(binding) if binding is not None else None)
    if isinstance(expr, (ast.Attribute, ast.Call, ast.Subscript, ast.JoinedStr, ast.BinOp)):
        value = ctx.literal(expr)
        if isinstance(value, (str, bytes)):
            return ("const", value)
        return ("expr", expr_key(expr))
    return None


def _dotted_words(expr: ast.AST) -> list[str]:
    words: list[str] = []
    while True:
        if isinstance(expr, ast.Call):
            expr = expr.func
        elif isinstance(expr, ast.Attribute):
            words += identifier_words(expr.attr)
            expr = expr.value
        elif isinstance(expr, ast.Name):
            words += identifier_words(expr.id)
            return words
        else:
            return words


def lockish(expr: ast.AST) -> bool:
    """An expression named like a lock: ``self._lock``, ``lockutils.lock(name)``,
    ``utils.synchronized(key)``, ``_CACHE_MUTEX``."""
    return any(word in _LOCK_WORDS for word in _dotted_words(expr))


def under_lock(ctx: FileContext, node: ast.AST) -> bool:
    """Inside ``with <lock>:`` or a function decorated with a lock (``@utils.synchronized``,
    ``@lockutils.synchronized``), including the enclosing functions of a closure."""
    for anc in ctx.index.ancestors(node):
        if isinstance(anc, (ast.With, ast.AsyncWith)):
            if any(lockish(item.context_expr) for item in anc.items):
                return True
        elif isinstance(anc, _FUNCTIONS):
            if any(lockish(d) for d in anc.decorator_list):
                return True
    return False


def is_logging_call(call: ast.AST) -> bool:
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "print"
    if not isinstance(func, ast.Attribute) or func.attr not in _LOG_METHODS:
        return False
    receiver = func.value
    if isinstance(receiver, ast.Attribute):
        receiver_name = receiver.attr
    elif isinstance(receiver, ast.Name):
        receiver_name = receiver.id
    else:
        return False
    return receiver_name in _LOG_RECEIVERS or "log" in receiver_name.lower()


def risky_calls(stmts: list[ast.stmt], ignore=lambda call: False) -> list[ast.Call]:
    """Calls in ``stmts`` (not in nested functions) that can raise: everything but logging."""
    found = []
    for stmt in stmts:
        for node in walk_local(stmt):
            if isinstance(node, ast.Call) and not is_logging_call(node) and not ignore(node):
                found.append(node)
    found.sort(key=pos)
    return found


_HARMLESS_METHODS = frozenset({"append", "get", "items", "keys", "values", "lower", "upper", "strip", "rstrip",
                               "lstrip", "startswith", "endswith", "format", "split", "copy", "locked"})
_HARMLESS_FUNCTIONS = frozenset({"builtins.len", "builtins.isinstance", "builtins.issubclass", "builtins.str",
                                 "builtins.repr", "builtins.hasattr", "builtins.id", "builtins.type",
                                 "builtins.bool", "builtins.print", "builtins.getattr", "builtins.range",
                                 "time.time", "time.monotonic", "os.getpid"})


def harmless_call(ctx: FileContext, call: ast.Call) -> bool:
    """Calls that do not realistically raise: path arithmetic, ``len``, ``list.append``..."""
    name = ctx.qualname(call.func) or ""
    if name in _HARMLESS_FUNCTIONS or name.startswith(("os.path.", "posixpath.")):
        return True
    return isinstance(call.func, ast.Attribute) and call.func.attr in _HARMLESS_METHODS


def on_same_path(ctx: FileContext, first: ast.AST, later: ast.AST) -> bool:
    """False when the two sit in different branches of one ``if`` (or ``if`` / ``else`` of
    a conditional expression), so ``later`` cannot run after ``first``."""
    first_chain = {id(a): a for a in ctx.index.ancestors(first)}
    child = later
    for anc in ctx.index.ancestors(later):
        if id(anc) in first_chain and isinstance(anc, (ast.If, ast.IfExp)):
            later_in_body = _within(anc.body, child)
            first_child = next((c for c in _children_toward(ctx, anc, first)), None)
            first_in_body = first_child is not None and _within(anc.body, first_child)
            later_in_else = _within(anc.orelse, child)
            first_in_else = first_child is not None and _within(anc.orelse, first_child)
            return not ((later_in_body and first_in_else) or (later_in_else and first_in_body))
        if id(anc) in first_chain:
            return True
        child = anc
    return True


def _within(block, node: ast.AST) -> bool:
    if isinstance(block, list):
        return any(node is item for item in block)
    return node is block


def _children_toward(ctx: FileContext, ancestor: ast.AST, node: ast.AST):
    """The child of ``ancestor`` on the way down to ``node``."""
    child = node
    for anc in ctx.index.ancestors(node):
        if anc is ancestor:
            yield child
            return
        child = anc


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}  # node type -> fields that may hold child nodes


def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node type that may hold child nodes, without the load / store contexts and
    operators (nodes without children that no rule looks at)."""
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(f for f in cls._fields if f not in ("ctx", "op", "ops"))
    return fields


def walk_nodes(root: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` (breadth first, in the same order), faster and without the load / store
    contexts and the operators (no child of theirs is a node): a queue instead of ast.walk's
    generators over ``iter_child_nodes``, and only the fields that may hold nodes."""
    todo = deque([root])
    AST = ast.AST
    while todo:
        node = todo.popleft()
        for field in child_fields(type(node)):
            value = getattr(node, field, None)
            if type(value) is list:
                todo.extend(item for item in value if isinstance(item, AST))
            elif isinstance(value, AST):
                todo.append(value)
        yield node


def walk_local(node: ast.AST):
    """``ast.walk`` that does not enter nested functions, lambdas or classes (depth first, last
    child first; contexts and operators left out)."""
    stack = [node]
    AST = ast.AST
    while stack:
        current = stack.pop()
        yield current
        for field in child_fields(type(current)):
            value = getattr(current, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST) and not isinstance(item, _SCOPES):
                        stack.append(item)
            elif isinstance(value, AST) and not isinstance(value, _SCOPES):
                stack.append(value)


def exception_names(handler: ast.ExceptHandler) -> list[str]:
    """Last name parts of the exceptions a handler catches; ``["*"]`` for a bare ``except:``."""
    if handler.type is None:
        return ["*"]
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = []
    for t in types:
        if isinstance(t, ast.Attribute):
            names.append(t.attr)
        elif isinstance(t, ast.Name):
            names.append(t.id)
        else:
            names.append("?")
    return names


def handled_by(ctx: FileContext, node: ast.AST, names: frozenset[str]) -> bool:
    """``node`` runs inside a ``try`` body with a handler for one of ``names`` (or a bare
    ``except``), or inside ``with contextlib.suppress(...)`` of one of them."""
    child = node
    for anc in ctx.index.ancestors(node):
        if isinstance(anc, _FUNCTIONS):
            return False
        if isinstance(anc, (ast.Try, ast.TryStar)) and child in anc.body:
            for handler in anc.handlers:
                caught = exception_names(handler)
                if "*" in caught or any(n in names for n in caught):
                    return True
        if isinstance(anc, ast.With):
            for item in anc.items:
                expr = item.context_expr
                if isinstance(expr, ast.Call) and (ctx.qualname(expr.func) or "").endswith("suppress"):
                    if any(isinstance(a, (ast.Name, ast.Attribute)) and
                           (a.attr if isinstance(a, ast.Attribute) else a.id) in names for a in expr.args):
                        return True
        child = anc
    return False


def enclosing_block(ctx: FileContext, stmt: ast.stmt) -> tuple[list[ast.stmt], int] | None:
    """The statement list holding ``stmt`` and its position in it."""
    parent = ctx.index.parent(stmt)
    if parent is None:
        return None
    for field in ("body", "orelse", "finalbody", "handlers"):
        block = getattr(parent, field, None)
        if isinstance(block, list):
            for i, item in enumerate(block):
                if item is stmt:
                    return block, i
    return None


def covered_by_finally(ctx: FileContext, node: ast.AST, releases) -> bool:
    """Whether the code after ``node`` (an acquire or an open) runs under a ``try`` whose
    ``finally`` (or a handler for every exception) satisfies ``releases(statements)``.

    Accepted shapes: ``node`` inside the ``try`` body itself; or the ``try`` following
    ``node``'s statement in the same block with nothing that can raise in between; or, when
    ``node`` is the test of ``if``, that ``try`` opening the ``if`` body."""
    def releasing(tr: ast.Try) -> bool:
        if tr.finalbody and releases(tr.finalbody):
            return True
        return any(("*" in exception_names(h) or {"Exception", "BaseException"} & set(exception_names(h)))
                   and releases(h.body) for h in tr.handlers)

    child = node
    for anc in ctx.index.ancestors(node):
        if isinstance(anc, _SCOPES):
            break
        if isinstance(anc, (ast.Try, ast.TryStar)) and child in anc.body and releasing(anc):
            return True
        child = anc
    stmt = ctx.index.statement_of(node)
    if stmt is None:
        return False
    if isinstance(stmt, (ast.If, ast.While)) and _contains(stmt.test, node) and not _negated(stmt.test, node):
        return _followed_by_release(stmt.body, releasing)
    current: ast.stmt = stmt
    for _ in range(4):
        place = enclosing_block(ctx, current)
        if place is None:
            return False
        block, i = place
        verdict = _followed_by_release(block[i + 1:], releasing)
        if verdict is not None:
            return verdict
        # The end of a ``try`` body whose handlers leave: the code after the ``try`` runs next.
        owner = ctx.index.parent(current)
        if not (isinstance(owner, (ast.Try, ast.TryStar)) and owner.body is block and all(
                h.body and isinstance(h.body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break))
                for h in owner.handlers)):
            return False
        verdict = _followed_by_release(owner.orelse, releasing)
        if verdict is not None:
            return verdict
        current = owner
    return False


def _followed_by_release(stmts: list[ast.stmt], releasing) -> bool | None:
    """True when ``stmts`` start (after harmless statements) with a releasing ``try``; False
    when something that can raise comes first; None when they end before either."""
    for follower in stmts:
        if isinstance(follower, (ast.Try, ast.TryStar)):
            return releasing(follower)
        if risky_calls([follower]) or isinstance(follower, (ast.If, ast.For, ast.While, ast.With, ast.Return,
                                                             ast.Raise)):
            return False
    return None


def _contains(tree: ast.AST, node: ast.AST) -> bool:
    return any(n is node for n in ast.walk(tree))


def _negated(test: ast.AST, node: ast.AST | None) -> bool:
    return isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and \
        (node is None or _contains(test.operand, node))


# ---------------------------------------------------------------------------------- SR701

_CHECKS = {
    "os.path.exists": "exists", "os.path.isfile": "exists", "os.path.isdir": "exists",
    "os.path.lexists": "exists", "posixpath.exists": "exists", "posixpath.isfile": "exists",
    "posixpath.isdir": "exists", "os.stat": "exists", "os.access": "access",
    "os.path.islink": "link", "os.lstat": "link",
}
_PATH_CHECK_METHODS = {"exists": "exists", "is_file": "exists", "is_dir": "exists", "is_symlink": "link"}

# qualified name -> ((argument position, keyword name, effect), ...)
_USES: dict[str, tuple[tuple[int, str | None, str], ...]] = {
    "builtins.open": ((0, "file", "open"),), "io.open": ((0, "file", "open"),),
    "codecs.open": ((0, "filename", "open"),), "os.open": ((0, "path", "osopen"),),
    "os.remove": ((0, "path", "remove"),), "os.unlink": ((0, "path", "remove"),),
    "os.rmdir": ((0, "path", "remove"),), "shutil.rmtree": ((0, "path", "remove"),),
    "os.rename": ((0, "src", "remove"), (1, "dst", "rename")),
    "os.replace": ((0, "src", "remove"), (1, "dst", "rename")),
    "shutil.move": ((0, "src", "remove"), (1, "dst", "rename")),
    "os.makedirs": ((0, "name", "mkdir"),), "os.mkdir": ((0, "path", "mkdir"),),
    "os.chmod": ((0, "path", "attr"),), "os.chown": ((0, "path", "attr"),),
    "os.lchown": ((0, "path", "attr"),), "shutil.chown": ((0, "path", "attr"),),
    "os.symlink": ((1, "dst", "mkdir"),), "os.link": ((1, "dst", "mkdir"),),
    "shutil.copy": ((0, "src", "read"), (1, "dst", "write")),
    "shutil.copy2": ((0, "src", "read"), (1, "dst", "write")),
    "shutil.copyfile": ((0, "src", "read"), (1, "dst", "write")),
    "shutil.copytree": ((0, "src", "read"), (1, "dst", "write")),
    "shutil.copymode": ((1, "dst", "write"),), "shutil.copystat": ((1, "dst", "write"),),
}
_PATH_USE_METHODS = {"unlink": "remove", "rmdir": "remove", "mkdir": "mkdir", "chmod": "attr",
                     "write_text": "write", "write_bytes": "write", "touch": "write", "open": "open",
                     "rename": "remove", "replace": "remove", "read_text": "read", "read_bytes": "read",
                     "symlink_to": "mkdir"}
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC")


def _is_path_object(ctx: FileContext, expr: ast.AST, depth: int = 0) -> bool:
    """A ``pathlib`` path: ``Path(x)``, ``Path(x) / "name"``, a name or ``self`` attribute
    assigned one of those."""
    if depth > 6:
        return False
    name = ctx.qualname(expr) or ""
    if name.startswith("pathlib.") and name.endswith("()"):
        return True
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return _is_path_object(ctx, expr.left, depth + 1)
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        return binding is not None and binding.kind == "assign" and binding.value is not None \
            and _is_path_object(ctx, binding.value, depth + 1)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
        cls = ctx.index.class_of(expr)
        values = ctx.index.attribute_values.get((cls, expr.attr), ()) if cls is not None else ()
        return bool(values) and all(v is not None and _is_path_object(ctx, v, depth + 1) for v in values)
    return False


def _path_of_receiver(ctx: FileContext, receiver: ast.AST) -> list[tuple]:
    """Keys for a ``Path`` receiver: the receiver itself, and for ``Path(x)`` also ``x``."""
    keys = [path_key(ctx, receiver)]
    if isinstance(receiver, ast.Call) and receiver.args and not receiver.keywords:
        keys.append(path_key(ctx, receiver.args[0]))
    return [k for k in keys if k is not None]


def _open_effect(ctx: FileContext, call: ast.Call, mode: ast.AST | None) -> str:
    if mode is None:
        return "read"
    value = ctx.literal(mode)
    if isinstance(value, str):
        return "write" if any(c in value for c in "wax+") else "read"
    return "read"


@register
class FileCheckThenUse(Rule):
    """File system check whose result is acted on later (time of check, time of use).

    ## What it finds
    A test on a path (`os.path.exists` / `isfile` / `isdir` / `lexists` / `islink`,
    `os.access`, `os.stat` / `os.lstat`, `Path.exists()` / `is_file()` / `is_dir()` /
    `is_symlink()`) that decides an `if` or `while`, followed in the same function by an
    operation on the same path (the same name, the same constant or the same expression) that
    the check was meant to make safe: `open` / `os.open`, `os.remove` / `unlink` / `rmdir`,
    `os.rename` / `replace`, `os.makedirs` / `mkdir`, `os.symlink` / `link`, `os.chmod` /
    `chown`, `shutil` copies, moves and `rmtree`, and the matching `Path` methods. The
    operation must run in a branch that the check decides: inside the `if` (or its `else`), or
    within a few statements after an `if` whose body leaves with `return` / `continue` /
    `break`.

    Severity follows what the gap allows:
    - medium: a write after `os.access` (a permission decision about a path that can change),
      a read or write after a "not a symlink" test, and a write (`open(..., "w")`, a copy)
      that the code makes only when the path does not exist, since a file or symlink planted
      in between is overwritten or followed;
    - low: a removal, `chmod` or `chown` that the code makes only when the path exists (a
      concurrent removal makes it raise `FileNotFoundError`), `makedirs` / `mkdir` /
      `symlink` made only when the path does not exist (it raises `FileExistsError`; the
      common idiom is fixed by `exist_ok=True`), and a rename onto a path checked absent.

    Not reported: reading a file after an existence test, and any operation after a guard that
    raises (`if not exists(p): raise NotFound`), since the race then only changes which error
    is raised; `isdir` / `isfile` / `islink` choosing between branches (a type dispatch);
    `makedirs(..., exist_ok=True)`, `rmtree(..., ignore_errors=True)`, operations inside a
    `try` that handles `OSError` (or `FileNotFoundError` / `FileExistsError`) or
    `contextlib.suppress`; a check under `or` (it does not decide alone); and checks or
    operations made while a lock is held (`with lock:`, `@utils.synchronized`,
    `@lockutils.synchronized(..., external=True)`).

    ## Why it is dangerous
    The check and the operation are two system calls; the file system can change between them.
    In this order: the service checks the path, another process (or another green thread of the
    same service) removes, creates or replaces it, and the service then acts on whatever is
    there now. In a directory others can write to, a symlink planted in that window makes a
    privileged write, chmod or chown land on a file of the attacker's choosing; elsewhere the
    usual result is an unexpected `FileNotFoundError` / `FileExistsError` that aborts an
    operation half-way (a failed instance build, a leaked disk).

    ## Example
    ```python
    import os
    def cleanup_console_log(path):
        if os.path.exists(path):
            os.remove(path)
    ```

    ## Safe alternative
    ```python
    import os
    def cleanup_console_log(path):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
    ```
    Do the operation and handle its error (`FileNotFoundError`, `FileExistsError`); create
    directories with `os.makedirs(path, exist_ok=True)`; create files atomically with
    `open(path, "x")` or `os.open(path, os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)`.

    ## References
    - https://cwe.mitre.org/data/definitions/367.html
    - https://docs.python.org/3/library/os.html#os.access
    """

    id = "SR701"
    name = "file-check-then-use"
    cwe = 367
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Drop the separate check: perform the operation directly and handle `FileNotFoundError` / "
           "`FileExistsError`, or open with `O_EXCL | O_NOFOLLOW`, or hold a lock around both.")
    calls = tuple(_CHECKS)
    methods = tuple(_PATH_CHECK_METHODS)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname in _CHECKS:
            kind = _CHECKS[qualname]
            keys = [path_key(ctx, ctx.argument(call, 0, "path"))]
        elif isinstance(call.func, ast.Attribute) and call.func.attr in _PATH_CHECK_METHODS \
                and _is_path_object(ctx, call.func.value) and not call.args:
            kind = _PATH_CHECK_METHODS[call.func.attr]
            keys = _path_of_receiver(ctx, call.func.value)
        else:
            return
        keys = [k for k in keys if k is not None]
        if not keys or under_lock(ctx, call):
            return
        shape = _test_shape(ctx, call)
        if shape is None:
            return
        branch_node, truth = shape
        if kind in ("exists", "link") and qualname not in ("os.path.exists", "os.path.lexists", "posixpath.exists") \
                and not (isinstance(call.func, ast.Attribute) and call.func.attr == "exists") \
                and isinstance(branch_node, ast.If) and (branch_node.orelse or _is_elif(ctx, branch_node)):
            return  # isdir / isfile / islink choosing between branches: a type dispatch
        if qualname == "os.stat" and not isinstance(ctx.index.parent(call), (ast.UnaryOp, ast.BoolOp, ast.If)):
            return  # os.stat(p).st_size and the like read metadata rather than test existence
        function = ctx.index.function_of(call)
        best = None
        for use, name, effect, arg in self._uses(ctx, function, keys, end(call)):
            branch = _branch(ctx, branch_node, use)
            holds = truth.get(branch) if branch is not None else None
            if holds is None:
                continue
            rank = self._rank(kind, effect, holds)
            if rank is None:
                continue
            if best is None or rank[0] > best[0][0]:
                best = (rank, use, name, effect, arg)
        if best is None:
            return
        (severity, confidence, why, fix), use, name, effect, arg = best
        check = ctx.text(call, 60)
        ctx.report(self, call,
                   f"`{check}` tests the path, and `{ctx.text(use, 60)}` on line {use.lineno} then acts on "
                   f"it as a separate step: {why}",
                   severity=severity, confidence=confidence, fix=fix,
                   trace=[(call, "the path is checked here"), (use, f"and used here by `{name}`")])

    def _uses(self, ctx: FileContext, function, keys: list[tuple], after: tuple[int, int]):
        for use, qualname in function_calls(ctx, "concurrency.calls", function):
            if pos(use) < after or under_lock(ctx, use):
                continue
            if qualname in _USES:
                for position, keyword, effect in _USES[qualname]:
                    arg = ctx.argument(use, position, keyword)
                    if arg is None or path_key(ctx, arg) not in keys:
                        continue
                    if effect == "open":
                        effect = _open_effect(ctx, use, ctx.argument(use, 1, "mode"))
                    elif effect == "osopen":
                        flags = ctx.argument(use, 1, "flags")
                        effect = "write" if flags is not None and any(
                            f in ctx.text(flags, 300) for f in _WRITE_FLAGS) else "read"
                    if self._handled(ctx, use, qualname, effect):
                        continue
                    yield use, qualname.removeprefix("builtins."), effect, arg
            elif isinstance(use.func, ast.Attribute) and use.func.attr in _PATH_USE_METHODS \
                    and _is_path_object(ctx, use.func.value):
                if not set(_path_of_receiver(ctx, use.func.value)) & set(keys):
                    continue
                effect = _PATH_USE_METHODS[use.func.attr]
                if effect == "open":
                    effect = _open_effect(ctx, use, ctx.argument(use, 0, "mode"))
                if self._handled(ctx, use, "Path." + use.func.attr, effect):
                    continue
                yield use, ctx.text(use.func, 40), effect, use.func.value

    @staticmethod
    def _handled(ctx: FileContext, use: ast.Call, qualname: str, effect: str) -> bool:
        if effect == "mkdir" and ctx.is_true(ctx.keyword(use, "exist_ok")):
            return True
        if qualname == "shutil.rmtree" and ctx.is_true(ctx.argument(use, 1, "ignore_errors")):
            return True
        return handled_by(ctx, use, OS_ERRORS)

    @staticmethod
    def _rank(kind: str, effect: str, holds: bool):
        """(severity, confidence, why, fix) for a use after a check, or None when the race can
        only turn one error into another. ``holds``: the use runs where the check was true."""
        if kind == "access" and holds and effect in ("read", "write", "remove", "attr"):
            return (Level.MEDIUM, Level.HIGH,
                    "the permission check is only true for the path as it was at that moment; whoever can "
                    "write to the directory can swap in a symlink in between, and the operation then applies "
                    "to a file the check never approved.",
                    "Drop `os.access`: perform the operation (with the caller's privileges) and handle "
                    "`PermissionError`; open with `os.O_NOFOLLOW` and inspect the descriptor with `os.fstat`.")
        if kind == "link" and not holds and effect in ("read", "write", "attr"):
            return (Level.MEDIUM, Level.HIGH,
                    "the path was not a symlink when checked, but whoever can write to the directory can "
                    "replace it with one in between, and the operation then follows it to a file of their "
                    "choosing.",
                    "Open with `os.O_NOFOLLOW` instead of testing for a symlink first, and handle the error.")
        absent = not holds if kind != "link" else False
        if effect == "write" and absent:
            return (Level.MEDIUM, Level.MEDIUM,
                    "the code means to create the file only when it does not exist, but another process can "
                    "create it (or plant a symlink) in between, and the write then overwrites that file or "
                    "follows the symlink with this service's privileges.",
                    "Create atomically instead of testing first: `open(path, \"x\")` or `os.open(path, "
                    "os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)`, and handle "
                    "`FileExistsError`.")
        if effect == "rename" and absent:
            return (Level.LOW, Level.MEDIUM,
                    "the code means to move into place only when nothing is there, but another process can "
                    "create the target in between; the rename then silently replaces it (or fails for a "
                    "non-empty directory).",
                    "Hold an (external) lock around the check and the move, or create the target atomically "
                    "and handle `FileExistsError`.")
        if effect == "mkdir" and (absent or (kind == "link" and not holds)):
            return (Level.LOW, Level.MEDIUM,
                    "if another process or thread creates the path in between, the call raises "
                    "`FileExistsError` and the operation fails half-way (a common idiom, but a real race).",
                    "Call it directly and handle `FileExistsError`; for directories use "
                    "`os.makedirs(path, exist_ok=True)` (or `oslo_utils.fileutils.ensure_tree`).")
        if effect in ("remove", "attr") and holds:
            return (Level.LOW, Level.MEDIUM,
                    "the code means to tolerate a missing path, but if another process or thread removes or "
                    "renames it in between, the call raises `FileNotFoundError` and the operation stops "
                    "half-way.",
                    "Drop the check: call it directly and catch `FileNotFoundError` (or use "
                    "`oslo_utils.fileutils.delete_if_exists`).")
        return None


def _test_shape(ctx: FileContext, call: ast.AST) -> tuple[ast.AST, dict[str, bool | None]] | None:
    """The ``if`` / ``while`` whose condition holds the check, and what each branch knows about
    the check's result: ``{"body": True, "orelse": False}`` for ``if check:``, reversed under
    ``not``; a branch reached when an ``and`` chain is false (or an ``or`` chain true) knows
    nothing."""
    known: dict[bool, bool | None] = {True: True, False: False}
    child = call
    for anc in ctx.index.ancestors(call):
        if isinstance(anc, ast.UnaryOp) and isinstance(anc.op, ast.Not):
            known = {True: known[False], False: known[True]}
        elif isinstance(anc, ast.BoolOp):
            known = {True: known[True], False: None} if isinstance(anc.op, ast.And) else \
                {True: None, False: known[False]}
        elif isinstance(anc, ast.Compare) and len(anc.ops) == 1 and isinstance(anc.comparators[0], ast.Constant) \
                and anc.comparators[0].value in (True, False) and isinstance(anc.ops[0], (ast.Is, ast.Eq)) \
                and anc.left is child:
            if anc.comparators[0].value is False:
                known = {True: known[False], False: known[True]}
        elif isinstance(anc, (ast.If, ast.While)) and child is anc.test:
            if known[True] is None and known[False] is None:
                return None
            return anc, {"body": known[True], "orelse": known[False]}
        else:
            return None
        child = anc
    return None


def _is_elif(ctx: FileContext, node: ast.If) -> bool:
    parent = ctx.index.parent(node)
    return isinstance(parent, ast.If) and len(parent.orelse) == 1 and parent.orelse[0] is node


_GUARD_REACH = 4  # statements after an early-exit guard that still count as acting on its check


def _branch(ctx: FileContext, test_node: ast.AST, use: ast.AST) -> str | None:
    """Where ``use`` runs relative to the ``if`` / ``while``: ``"body"``, ``"orelse"`` or,
    after an ``if`` whose body always leaves by ``return`` / ``continue`` / ``break``,
    ``"orelse"`` as well (it runs only when the condition was false). None otherwise, including
    after a body that raises: such a guard only turns one error into another. Only the few
    statements right after a guard count; further on, the check no longer reads as the reason
    for the operation."""
    child = use
    for anc in ctx.index.ancestors(use):
        if anc is test_node:
            if any(child is s for s in test_node.body):
                return "body"
            if any(child is s for s in test_node.orelse):
                return "orelse"
            return None
        if isinstance(anc, _SCOPES):
            break
        child = anc
    if isinstance(test_node, ast.If) and test_node.body and not test_node.orelse \
            and isinstance(test_node.body[-1], (ast.Return, ast.Continue, ast.Break)):
        place = enclosing_block(ctx, test_node)
        if place is not None:
            block, index = place
            for anc in [use, *ctx.index.ancestors(use)]:
                if any(anc is s for s in block[index + 1:index + 1 + _GUARD_REACH]):
                    return "orelse"
    return None


# ---------------------------------------------------------------------------------- SR702

_CREATORS: dict[str, tuple[int, str]] = {
    "builtins.open": (0, "file"), "io.open": (0, "file"), "codecs.open": (0, "filename"),
    "os.open": (0, "path"), "shutil.copy": (1, "dst"), "shutil.copy2": (1, "dst"),
    "shutil.copyfile": (1, "dst"), "os.mkdir": (0, "path"), "os.makedirs": (0, "name"),
}
_PATH_CREATORS = ("write_text", "write_bytes", "touch", "open", "mkdir")
_STAT_BITS = {name: getattr(stat, name) for name in dir(stat) if name.startswith("S_I") and
              isinstance(getattr(stat, name), int)}


def mode_value(ctx: FileContext, expr: ast.AST | None) -> int | None:
    """A permission mode built from numbers and ``stat.S_I*`` constants, or None."""
    if expr is None:
        return None
    value = ctx.literal(expr)
    if type(value) is int:
        return value
    if isinstance(expr, ast.Attribute) and expr.attr in _STAT_BITS:
        return _STAT_BITS[expr.attr]
    if isinstance(expr, ast.Name) and expr.id in _STAT_BITS:
        return _STAT_BITS[expr.id]
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        left, right = mode_value(ctx, expr.left), mode_value(ctx, expr.right)
        return left | right if left is not None and right is not None else None
    return None


@register
class PermissionsAfterCreate(Rule):
    """File created with default permissions and restricted only afterwards.

    ## What it finds
    `os.chmod(path, mode)` (or `Path.chmod`) with a mode that keeps the owner's read access
    and withholds read access from the group or from others (such as `0o600`, `0o640`,
    `0o400`, `0o700`), preceded in the same function by
    the creation of that same path with default permissions: `open(path, "w")` (any writing
    mode), `os.open(path, flags)` without a mode, `shutil.copy` / `copy2` / `copyfile` to it,
    `Path.write_text` / `write_bytes` / `touch` / `open("w")` / `mkdir`, `os.mkdir` /
    `os.makedirs` without a mode. Reported once per creation, at the creation. Not reported:
    files from `tempfile.mkstemp` or `NamedTemporaryFile` (created `0o600`), `mkdtemp`
    directories (`0o700`), creations given an explicit mode, opening an existing file for
    update (`"r+"`), a function that sets `os.umask` before creating (or a `with` over a
    umask helper), a `chmod` that widens access, and modes that lock the owner out too
    (`0`, `0o200`), which tests use to provoke errors.

    ## Why it is dangerous
    Between creation and `chmod` the file has the mode the umask allows, usually `0o644`. In
    this order: the service creates the file, a local user opens it for reading while it is
    still world-readable, the service writes the secret (a key, a password, a token) and calls
    `chmod`. The permission check happened when the other user opened the file, so the open
    descriptor keeps working: the secret is read after `chmod` as well. Writing before
    `chmod` widens the window, but even restricting an empty file afterwards is too late.

    ## Example
    ```python
    import os
    def save_private_key(path, pem):
        with open(path, "w") as handle:
            handle.write(pem)
        os.chmod(path, 0o600)
    ```

    ## Safe alternative
    ```python
    import os
    def save_private_key(path, pem):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(pem)
    ```
    Create the file with its final mode (`os.open(path, flags, 0o600)`, `os.mkdir(path,
    0o700)`), or set a restrictive `os.umask` around the creation.

    ## References
    - https://cwe.mitre.org/data/definitions/362.html
    - https://cwe.mitre.org/data/definitions/276.html
    """

    id = "SR702"
    name = "permissions-after-create"
    cwe = 362
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Create the file with its final mode, `os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)` "
           "wrapped by `os.fdopen`, or set `os.umask(0o077)` before creating it.")
    calls = ("os.chmod",)
    methods = ("chmod",)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname == "os.chmod":
            keys = [path_key(ctx, ctx.argument(call, 0, "path"))]
            mode_expr = ctx.argument(call, 1, "mode")
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "chmod" and qualname != "os.chmod" \
                and _is_path_object(ctx, call.func.value):
            keys = _path_of_receiver(ctx, call.func.value)
            mode_expr = ctx.argument(call, 0, "mode")
        else:
            return
        keys = [k for k in keys if k is not None]
        mode = mode_value(ctx, mode_expr)
        if not keys or mode is None or (mode & 0o044) == 0o044 or not mode & 0o400:
            return  # only a mode that keeps the owner reading and withholds reading from others
        function = ctx.index.function_of(call)
        if function is None:
            return
        calls = function_calls(ctx, "concurrency.calls", function)
        creation = None
        for other, name in calls:
            if pos(other) >= pos(call):
                break
            if name == "os.umask":
                return
            found = self._creation(ctx, other, name, keys)
            if found is not None:
                creation = found
            elif creation is not None and other is not call and (
                    (name == "os.chmod" and path_key(ctx, ctx.argument(other, 0, "path")) in keys) or
                    (isinstance(other.func, ast.Attribute) and other.func.attr == "chmod"
                     and set(_path_of_receiver(ctx, other.func.value)) & set(keys))):
                creation = None  # already restricted by an earlier chmod, reported there
        if creation is None:
            return
        made, what = creation
        directory = what.endswith("directory")
        if any(isinstance(anc, (ast.With, ast.AsyncWith)) and any("umask" in ctx.text(i.context_expr, 200)
                                                                   for i in anc.items)
               for anc in ctx.index.ancestors(made)):
            return
        ctx.report(self, made,
                   f"`{ctx.text(made, 60)}` {what} with the default permissions, and only "
                   f"`{ctx.text(call, 60)}` on line {call.lineno} restricts it to mode {oct(mode)}. In between "
                   + ("another local user can enter it and open the files created in it, and keeps those "
                      "descriptors after the chmod." if directory else
                      "another local user can open it while it is still readable and keep that descriptor, "
                      "then read whatever is written to it even after the chmod."),
                   fix=(f"Create the directory with its final mode (`os.makedirs(path, {oct(mode)})`) or under "
                        "a restrictive `os.umask`." if directory else None),
                   trace=[(made, "created here with the umask's default mode"),
                          (call, "restricted only here")])

    @staticmethod
    def _creation(ctx: FileContext, other: ast.Call, name: str | None, keys: list[tuple]):
        if name in _CREATORS:
            position, keyword = _CREATORS[name]
            if path_key(ctx, ctx.argument(other, position, keyword)) not in keys:
                return None
            if name in ("builtins.open", "io.open", "codecs.open"):
                mode = ctx.literal(ctx.argument(other, 1, "mode"))
                if not (isinstance(mode, str) and any(c in mode for c in "wax")):
                    return None
                return other, "creates the file"
            if name == "os.open":
                flags = ctx.argument(other, 1, "flags")
                if ctx.argument(other, 2, "mode") is not None or flags is None \
                        or "O_CREAT" not in ctx.text(flags, 300):
                    return None
                return other, "creates the file"
            if name in ("os.mkdir", "os.makedirs"):
                if ctx.argument(other, 1, "mode") is not None:
                    return None
                return other, "creates the directory"
            return other, "creates the copy"
        func = other.func
        if isinstance(func, ast.Attribute) and func.attr in _PATH_CREATORS and _is_path_object(ctx, func.value):
            if not set(_path_of_receiver(ctx, func.value)) & set(keys):
                return None
            if func.attr in ("touch", "mkdir") and ctx.argument(other, 0, "mode") is not None:
                return None
            if func.attr == "open":
                mode = ctx.literal(ctx.argument(other, 0, "mode"))
                if not (isinstance(mode, str) and any(c in mode for c in "wax")):
                    return None
            what = "creates the directory" if func.attr == "mkdir" else "creates the file"
            return other, what
        return None


# ---------------------------------------------------------------------------------- SR703

_MUTEX_FACTORIES = frozenset({
    "threading.Lock", "threading.RLock", "threading.Condition", "_thread.allocate_lock", "thread.allocate_lock",
    "multiprocessing.Lock", "multiprocessing.RLock", "multiprocessing.Condition",
    "eventlet.green.threading.Lock", "eventlet.green.threading.RLock", "asyncio.Lock", "asyncio.Condition",
    "oslo_concurrency.lockutils.internal_lock", "oslo_concurrency.lockutils.external_lock",
    "oslo_concurrency.lockutils.lock", "fasteners.InterProcessLock", "fasteners.process_lock.InterProcessLock",
})
_SEMAPHORE_FACTORIES = frozenset({
    "threading.Semaphore", "threading.BoundedSemaphore", "multiprocessing.Semaphore",
    "multiprocessing.BoundedSemaphore", "eventlet.semaphore.Semaphore", "eventlet.semaphore.BoundedSemaphore",
    "eventlet.semaphore.CappedSemaphore", "asyncio.Semaphore", "asyncio.BoundedSemaphore",
})
_MUTEX_WORDS = frozenset({"lock", "locks", "rlock", "mutex", "cond", "condition"})
_SEMAPHORE_WORDS = frozenset({"sem", "semaphore", "semaphores"})
_PAIRED_METHODS = frozenset({"__enter__", "__aenter__", "acquire", "lock", "_lock", "_acquire", "__init__",
                             "setUp", "start"})


def _lock_kind(ctx: FileContext, expr: ast.AST) -> tuple[str, bool] | None:
    """("mutex" or "semaphore", whether the type is known) for a lock-like receiver."""
    values: list[ast.AST | None] = [expr]
    name = ctx.qualname(expr)
    if name and name.endswith("()"):
        factory = name[:-2]
        if factory in _MUTEX_FACTORIES:
            return "mutex", True
        if factory in _SEMAPHORE_FACTORIES:
            return "semaphore", True
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls"):
        cls = ctx.index.class_of(expr)
        if cls is not None:
            values = list(ctx.index.attribute_values.get((cls, expr.attr), ()))
            body = ctx.index.inner_scope(cls)
            for binding in (body.bindings.get(expr.attr, ()) if body is not None else ()):
                values.append(binding.value)
            for value in values:
                if isinstance(value, ast.Call):
                    factory = ctx.qualname(value.func) or ""
                    if factory in _MUTEX_FACTORIES:
                        return "mutex", True
                    if factory in _SEMAPHORE_FACTORIES:
                        return "semaphore", True
    own = expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ""
    words = set(identifier_words(own))  # the receiver's own name: `self._cache_mutex` -> cache, mutex
    if words & _SEMAPHORE_WORDS:
        return "semaphore", False
    if words & _MUTEX_WORDS:
        return "mutex", False
    return None


def _release_in(stmts: list[ast.stmt], receiver: ast.AST) -> ast.Call | None:
    for stmt in stmts:
        for node in walk_local(stmt):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "release" and same_expr(node.func.value, receiver):
                return node
    return None


@register
class LockNotReleased(Rule):
    """Lock acquired without a release guaranteed on every path.

    ## What it finds
    `.acquire()` on a lock (a receiver bound to `threading.Lock` / `RLock` / `Semaphore` /
    `BoundedSemaphore` / `Condition`, the `eventlet`, `multiprocessing`, `asyncio` and
    `oslo_concurrency.lockutils` equivalents, or a name such as `self._lock`, `mutex` or `sem`)
    outside a `with` statement when the code after it is not covered by a `try` whose
    `finally` (or catch-all handler) calls `.release()` on the same lock. Reported with the line
    of the unprotected `release()` and the first call in between that can raise, or, for a
    mutex (not a semaphore), as never released in the function.

    Not reported: the `try ... finally: lock.release()` shapes, `if lock.acquire(blocking=False):`
    followed by such a `try`; nothing but harmless calls (`len`, `list.append`, logging)
    between acquire and release; acquires in `__enter__` / `acquire` methods, in classes or
    modules whose other functions release the same lock (a deliberate pairing), in `assert` or
    `while` conditions, or in a `finally` block (re-acquiring); and a semaphore that this
    function takes and never gives back, which is how semaphores count and signal.

    ## Why it is dangerous
    In this order: the lock is taken, a call between `acquire()` and `release()` raises (a
    database error, a timeout, a `KeyError`), the `release()` line is skipped, and the lock stays
    held. Every later `acquire()` on it, in this thread or any other, blocks forever: the
    service hangs on the next request that needs the lock (a denial of service that survives
    until restart).

    ## Example
    ```python
    import threading
    _lock = threading.Lock()
    def update_inventory(client, provider, inventory):
        _lock.acquire()
        client.put(f"/resource_providers/{provider}/inventories", inventory)
        _lock.release()
    ```

    ## Safe alternative
    ```python
    import threading
    _lock = threading.Lock()
    def update_inventory(client, provider, inventory):
        with _lock:
            client.put(f"/resource_providers/{provider}/inventories", inventory)
    ```
    Use the lock as a context manager, or release it in a `finally` that starts right after
    the acquire.

    ## References
    - https://cwe.mitre.org/data/definitions/667.html
    - https://docs.python.org/3/library/threading.html#using-locks-conditions-and-semaphores-in-the-with-statement
    """

    id = "SR703"
    name = "lock-not-released"
    cwe = 667
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = "Use `with lock:` (or `try: ... finally: lock.release()` directly after the acquire)."
    methods = ("acquire",)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        receiver = call.func.value  # type: ignore[attr-defined]
        found = _lock_kind(ctx, receiver)
        if found is None:
            return
        kind, known = found
        function = ctx.index.function_of(call)
        if function is None or function.name in _PAIRED_METHODS or self._probe(ctx, call):
            return
        if covered_by_finally(ctx, call, lambda stmts: _release_in(stmts, receiver) is not None):
            return
        release = _release_in(function.body, receiver)
        lock = ctx.text(receiver, 40)
        confidence = Level.HIGH if known else Level.MEDIUM
        if release is not None and pos(release) > pos(call):
            stmt = ctx.index.statement_of(call)
            between = [c for c in risky_calls(function.body, ignore=lambda c: harmless_call(ctx, c) or any(
                           isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                           and n.func.attr in ("acquire", "release") for n in ast.walk(c)))
                       if end(stmt) <= pos(c) < pos(release) and on_same_path(ctx, call, c)]
            if not between:
                return
            ctx.report(self, call,
                       f"`{ctx.text(call, 50)}` takes the lock, but `{lock}.release()` on line {release.lineno} is "
                       f"not in a `finally`: if `{ctx.text(between[0], 50)}` (line {between[0].lineno}) raises, "
                       f"the release is skipped and every later acquire of `{lock}` blocks forever.",
                       confidence=confidence,
                       trace=[(call, "acquired here"), (between[0], "an exception here skips the release"),
                              (release, "released only on the normal path")])
            return
        if kind != "mutex" or self._released_elsewhere(ctx, function, receiver):
            return  # a semaphore taken here and given back elsewhere is a signal, not a lock
        if isinstance(receiver, ast.Name) and self._escapes(function, receiver):
            return
        ctx.report(self, call,
                   f"`{ctx.text(call, 50)}` takes the lock and this function never releases it: unless "
                   f"a caller reliably calls `{lock}.release()`, the lock stays held and every later acquire "
                   "blocks forever.",
                   confidence=Level.LOW)

    @staticmethod
    def _probe(ctx: FileContext, call: ast.Call) -> bool:
        """``assert not sem.acquire(False)``, ``while sem.acquire(False):`` and re-acquiring in a
        ``finally`` (restoring the caller's state) are not a critical section."""
        child: ast.AST = call
        for anc in ctx.index.ancestors(call):
            if isinstance(anc, ast.Assert) or (isinstance(anc, ast.While) and child is anc.test):
                return True
            if isinstance(anc, (ast.Try, ast.TryStar)) and any(child is s for s in anc.finalbody):
                return True
            if isinstance(anc, _SCOPES):
                return False
            child = anc
        return False

    @staticmethod
    def _released_elsewhere(ctx: FileContext, function: ast.AST, receiver: ast.AST) -> bool:
        """A method of the same class (or any function of the module, for a global lock)
        releases it: acquire and release are split by design."""
        cls = ctx.index.class_of(function)
        scope = cls.body if cls is not None else ctx.index.tree.body
        for node in scope:
            if isinstance(node, _FUNCTIONS) and node is not function and _release_in(node.body, receiver):
                return True
        return False

    @staticmethod
    def _escapes(function: ast.AST, receiver: ast.Name) -> bool:
        for node in walk_local(function):
            if isinstance(node, (ast.Return, ast.Yield)) and node.value is not None and \
                    any(isinstance(n, ast.Name) and n.id == receiver.id for n in ast.walk(node.value)):
                return True
        return False


# ---------------------------------------------------------------------------------- SR704

_THREAD_MODULES = ("threading", "_thread", "thread", "eventlet", "greenlet", "concurrent.futures",
                   "futurist", "multiprocessing.pool", "multiprocessing.dummy", "cotyledon")
_NATIVE_THREADS = ("threading", "_thread", "thread", "concurrent.futures", "futurist",
                   "multiprocessing.pool", "multiprocessing.dummy")
_THREAD_SET, _THREAD_DOTTED = frozenset(_THREAD_MODULES), tuple(m + "." for m in _THREAD_MODULES)
_NATIVE_SET, _NATIVE_DOTTED = frozenset(_NATIVE_THREADS), tuple(m + "." for m in _NATIVE_THREADS)
assert _NATIVE_SET <= _THREAD_SET  # (_threaded relies on it)
_SPAWNERS = frozenset({"spawn", "spawn_n", "spawn_after", "spawn_on", "spawn_after_local",
                       "start_new_thread", "submit", "spawn_worker"})
_MUTABLE_FACTORIES = frozenset({"builtins.dict", "builtins.list", "builtins.set", "collections.defaultdict",
                                "collections.OrderedDict", "collections.Counter", "collections.deque"})
_ADDERS = frozenset({"append", "add", "insert", "extend", "setdefault", "update", "appendleft"})


def _threaded(ctx: FileContext) -> tuple[bool, bool]:
    """(runs in threads or green threads, uses native threads) for this module."""
    cached = ctx.cache.get("concurrency.threaded")
    if cached is None:
        green = native = False
        # a name is, or starts with, one of the modules: one set and one startswith test each;
        # _NATIVE_THREADS is part of _THREAD_MODULES, so a native one is green too and nothing
        # is left to find after it
        for binding in import_bindings(ctx):
            name = binding.qualname or ""
            if _thread_module_name(name):
                green = True
                if name in _NATIVE_SET or name.startswith(_NATIVE_DOTTED):
                    native = True
                    break
        if not green:
            # a call of a spawner method, anywhere in the file: function_calls holds every call
            # of the index, but also resolves each one's qualified name, which this test does
            # not need (and which other rules then compute only for the files that want it)
            for call in ctx.index.of_type(ast.Call):
                func = call.func
                if isinstance(func, ast.Attribute) and func.attr in _SPAWNERS:
                    green = True
                    break
        cached = (green, native)
        ctx.cache["concurrency.threaded"] = cached
    return cached  # type: ignore[return-value]


def _thread_module_name(name: str) -> bool:
    """``name`` is, or starts with, a module of _THREAD_MODULES (_threaded's import test)."""
    return name in _THREAD_SET or name.startswith(_THREAD_DOTTED)


def _may_be_threaded(ctx: FileContext) -> bool:
    """False only when ``_threaded(ctx)[0]`` is False, told from the import statements and the
    called names without looking at every binding or resolving every call.

    Each name of an import statement makes one import binding (Index._import, _import_from),
    whose qualified name is the imported name (``import a.b as c``: ``a.b``; ``import a.b``:
    ``a``) or the module and the name (``from a import b``: ``a.b``; a relative import keeps its
    leading dots, which no module of _THREAD_MODULES has); ``from a import *`` makes none. So
    _threaded's test of the import bindings is this test of the import statements, which the
    index collects for SR704 (it lists ast.Import among its nodes; ast.ImportFrom is collected
    for other rules). A spawner call has its method name among the called names
    (``FileContext.call_names``). Were the statements not collected (an index made for other
    rules), every module may be threaded."""
    index = ctx.index
    collected = index._collect  # (the node types it was made to collect; None for all)
    if collected is not None and not (ast.Import in collected and ast.ImportFrom in collected):
        return True
    for node in index.of_type(ast.Import):
        for alias in node.names:  # type: ignore[attr-defined]
            if _thread_module_name(alias.name if alias.asname else alias.name.partition(".")[0]):
                return True
    for node in index.of_type(ast.ImportFrom):
        if node.level:  # type: ignore[attr-defined]
            continue
        base = node.module  # type: ignore[attr-defined]
        for alias in node.names:  # type: ignore[attr-defined]
            if alias.name != "*" and _thread_module_name(f"{base}.{alias.name}"):
                return True
    return not _SPAWNERS.isdisjoint(ctx.call_names())


def _mutable_value(ctx: FileContext, value: ast.AST | None) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
        return True
    return isinstance(value, ast.Call) and (ctx.qualname(value.func) or "") in _MUTABLE_FACTORIES


@register
class UnsynchronizedSharedState(Rule):
    """Shared module or class state updated from threads without a lock.

    ## What it finds
    In a module that runs code in threads or green threads (it imports `threading`,
    `eventlet`, `concurrent.futures`, `futurist` or calls `spawn` / `spawn_n` / `submit`), a
    function that, with no lock held (`with lock:`, `@utils.synchronized`,
    `@lockutils.synchronized`, a lock acquired earlier in the function):
    - updates a module global declared `global` with `+=` / `-=` or `x = x + ...`;
    - updates an element of a module-level dict or list (`_COUNTS[key] += 1`,
      `_USAGE[k] = _USAGE[k] + n`);
    - updates a class attribute (`cls.count += 1`, `Manager.active -= 1`, `type(self).x += 1`)
      or an element of a mutable container defined in the class body and never assigned on the
      instance;
    - checks a key or item in such a shared dict, list or set and then sets or adds it
      (`if name not in _LOCKS: _LOCKS[name] = threading.Lock()`), when a call runs between
      the check and the update or the module uses native threads.
    Lazy initialisation of a single global (`if _CLIENT is None: _CLIENT = make()`) is not
    reported: the duplicate object is normally harmless. Instance attributes (`self.count += 1`)
    are not reported either.

    ## Why it is dangerous
    `x += 1` reads, adds and writes in separate steps; a check and the update after it are
    separate too. In this order: thread A reads the value (or finds the key missing), thread B
    does the same, both write, and one update is lost (a counter drifts, a quota or a usage
    total is wrong). For a dict of per-key locks each thread can create and take its own lock,
    so the critical section they were meant to protect runs twice at once.

    ## Example
    ```python
    import threading
    _LOCKS = {}
    def lock_for(instance_uuid):
        if instance_uuid not in _LOCKS:
            _LOCKS[instance_uuid] = threading.Lock()
        return _LOCKS[instance_uuid]
    ```

    ## Safe alternative
    ```python
    import threading
    _LOCKS = {}
    _LOCKS_GUARD = threading.Lock()
    def lock_for(instance_uuid):
        with _LOCKS_GUARD:
            return _LOCKS.setdefault(instance_uuid, threading.Lock())
    ```
    Hold a lock around the whole read-modify-write, or use an atomic operation
    (`dict.setdefault`, `itertools.count`, a `queue.Queue`).

    ## References
    - https://cwe.mitre.org/data/definitions/362.html
    - https://docs.python.org/3/library/threading.html#lock-objects
    """

    id = "SR704"
    name = "unsynchronized-shared-state"
    cwe = 362
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = "Hold a lock (`with lock:` or `@utils.synchronized`) around the read and the write, or use an atomic operation."
    # ast.Import and ast.ImportFrom only so that the index collects the import statements for
    # _may_be_threaded: select() keeps none of them
    nodes = (ast.AugAssign, ast.Assign, ast.If, ast.Import, ast.ImportFrom)
    # Every finding needs _threaded(ctx)[0]: an import of one of _THREAD_MODULES, whose import
    # statement names it (``concurrent.futures`` as ``futures``, ``multiprocessing.pool`` /
    # ``.dummy`` with ``multiprocessing``, ``threading`` / ``_thread`` / ``thread``; a relative
    # import keeps its leading dots, so only the written names count), or a call of a method in
    # _SPAWNERS (``spawn*``, ``start_new_thread``, ``submit``). No ``needs`` text prefilter: its
    # nine case-blind searches of every file (on a lower-cased copy) cost more than the shape
    # tests of select() they spared (nova: 0.03-0.05 s more with it; measured 2026-11-27).
    # select() asks _may_be_threaded instead: the names of the import statements (the text
    # searches it made before cost more: nova 7 x 25 MB of text) and the called names, which rule
    # out most files before any node is looked at.

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # no node of a module that is not threaded (_may_be_threaded, asked once a file: most
        # modules are not), then check_node's test of the statement's shape, on all the
        # statements of one type at once. (_may_be_threaded answers as _threaded(ctx)[0] does
        # for the imports, so asking _threaded here as well spares little: measured not to pay.)
        threaded = ctx.cache.get("SR704.may-be-threaded")
        if threaded is None:
            threaded = ctx.cache["SR704.may-be-threaded"] = _may_be_threaded(ctx)
        if not threaded:
            return []
        if node_type is ast.AugAssign:
            return [node for node in nodes if isinstance(node.op, _COUNTER_OPS)]
        if node_type is ast.Assign:
            return [node for node in nodes if len(node.targets) == 1 and type(node.value) is ast.BinOp]
        if node_type is ast.If:
            # an ``if`` with no membership test of a container: check_node does nothing
            return [node for node in nodes if _membership_container(node.test) is not None]
        return []  # the import statements, collected for _may_be_threaded

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        # the cheap test of the statement's shape first, then whether it is in a function
        if isinstance(node, ast.AugAssign):
            if not isinstance(node.op, _COUNTER_OPS):
                return
            function = ctx.index.function_of(node)
            if function is None:
                return
            target, how = node.target, "updates"
        elif isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.value, ast.BinOp):
                return
            function = ctx.index.function_of(node)
            if function is None:
                return
            target = node.targets[0]
            if not _reads(node.value, target):
                return
            how = "reads and rewrites"
        elif isinstance(node, ast.If):
            function = None
            if _membership_container(node.test) is not None:
                function = ctx.index.function_of(node)  # (no container: _check_then_set does nothing)
            if function is not None:
                self._check_then_set(ctx, node, function)
            return
        else:
            return  # an import statement (collected for _may_be_threaded)
        what = self._shared(ctx, target, function, counter=True)
        if what is None or not _threaded(ctx)[0] or self._locked(ctx, node, function):
            return
        ctx.report(self, node,
                   f"`{ctx.text(node, 60)}` {how} {what} in a read-modify-write: two threads running this "
                   "at once can both read the old value, and one of the two updates is lost.")

    def _check_then_set(self, ctx: FileContext, node: ast.If, function) -> None:
        container = _membership_container(node.test)
        if container is None:
            return
        what = self._shared(ctx, container, function, counter=False)
        if what is None:
            return
        update = None
        for stmt in node.body:
            for sub in walk_local(stmt):
                if isinstance(sub, ast.Assign) and any(isinstance(t, ast.Subscript) and same_expr(t.value, container)
                                                       for t in sub.targets):
                    update = sub
                elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) \
                        and sub.func.attr in _ADDERS and same_expr(sub.func.value, container):
                    update = sub
                if update is not None:
                    break
            if update is not None:
                break
        if update is None:
            return
        green, native = _threaded(ctx)
        if not green or self._locked(ctx, node, function):
            return
        window = [c for c in risky_calls(node.body, ignore=lambda c: lockish(c.func) or (
                      isinstance(c.func, ast.Attribute) and same_expr(c.func.value, container)))
                  if pos(c) <= pos(update) or (isinstance(update, ast.Assign) and _contains(update.value, c))]
        if not window and not native:
            return
        value = update.value if isinstance(update, ast.Assign) else (update.args[-1] if update.args else None)
        lock_value = value is not None and isinstance(value, ast.Call) and lockish(value.func)
        between = f" while `{ctx.text(window[0], 40)}` runs in between" if window else ""
        consequence = ("each thread can create and take its own lock, so the section it guards runs twice at once"
                       if lock_value else "both threads then pass the check: the later write silently replaces "
                       "the earlier one, or the item is added twice")
        ctx.report(self, node,
                   f"`{ctx.text(node.test, 50)}` checks {what} and line {update.lineno} then updates it without a "
                   f"lock: two threads can interleave between the check and the update{between}, and "
                   f"{consequence}.",
                   severity=Level.MEDIUM if lock_value else Level.LOW,
                   trace=[(node.test, "checked here"), (update, "updated here")])

    @staticmethod
    def _locked(ctx: FileContext, node: ast.AST, function) -> bool:
        if under_lock(ctx, node):
            return True
        for sub in walk_local(function):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "acquire" \
                    and pos(sub) < pos(node):
                return True
        return False

    def _shared(self, ctx: FileContext, target: ast.AST, function, counter: bool) -> str | None:
        """How to name ``target`` when it is module-level or class-level state, else None."""
        if isinstance(target, ast.Name):
            scope = ctx.index.scope_of(target)
            if counter and target.id in scope.globals:
                return f"the module global `{target.id}`"
            if counter:
                return None
            binding = ctx.binding(target)
            if binding is not None and binding.scope is ctx.index.module_scope and binding.kind == "assign" \
                    and _mutable_value(ctx, binding.value):
                return f"the module-level `{target.id}`"
            return None
        if isinstance(target, ast.Subscript):
            return self._shared(ctx, target.value, function, counter=False)
        if isinstance(target, ast.Attribute):
            owner = target.value
            cls_node = ctx.index.class_of(function)
            if isinstance(owner, ast.Name):
                binding = ctx.binding(owner)
                if binding is not None and binding.kind == "class":
                    return f"the class attribute `{owner.id}.{target.attr}`"
                if owner.id == "cls" and binding is not None and binding.kind == "param" \
                        and any(ctx.qualname(d) == "builtins.classmethod" for d in function.decorator_list):
                    return f"the class attribute `cls.{target.attr}`"
                if owner.id == "self" and not counter and cls_node is not None:
                    body = ctx.index.inner_scope(cls_node)
                    values = body.bindings.get(target.attr, ()) if body is not None else ()
                    if values and (cls_node, target.attr) not in ctx.index.attribute_values \
                            and all(b.kind == "assign" and _mutable_value(ctx, b.value) for b in values):
                        return f"`self.{target.attr}`, a container defined on the class and shared by every instance"
                return None
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "type":
                return f"the class attribute `{ctx.text(target, 40)}`"
            if isinstance(owner, ast.Attribute) and owner.attr == "__class__":
                return f"the class attribute `{ctx.text(target, 40)}`"
        return None


def _reads(value: ast.AST, target: ast.AST) -> bool:
    """``any(same_expr(target, n) for n in ast.walk(value))``, computing the structural key only of
    the nodes of the target's type (keys of different types differ in their first item). The key of
    ``value`` itself, the first node, is computed all the same: like same_expr, this fails on a
    value nested too deeply to compare rather than answering for it."""
    key = expr_key(target)
    kind = type(target)
    nodes = ast.walk(value)
    if expr_key(next(nodes)) == key:
        return True
    return any(type(n) is kind and expr_key(n) == key for n in nodes)


_COUNTER_OPS = (ast.Add, ast.Sub, ast.Mult, ast.BitOr, ast.BitAnd)  # augmented assignments SR704 looks at


def _membership_container(test: ast.AST) -> ast.AST | None:
    """The container of ``k not in X`` / ``not X.get(k)`` / ``X.get(k) is None``."""
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            found = _membership_container(value)
            if found is not None:
                return found
        return None
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        op, right = test.ops[0], test.comparators[0]
        if isinstance(op, ast.NotIn):
            return right
        if isinstance(op, ast.Is) and isinstance(right, ast.Constant) and right.value is None:
            return _get_receiver(test.left)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _get_receiver(test.operand)
    return None


def _get_receiver(expr: ast.AST) -> ast.AST | None:
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get":
        return expr.func.value
    return None
