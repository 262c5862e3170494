"""Injection and code execution: commands through a shell, processes started from a variable
program, dynamic evaluation of code, SQL text built from values."""

from __future__ import annotations

import ast
import re
from itertools import chain, compress, repeat
from operator import attrgetter, is_

from secreview.model import Level
from secreview.rules.base import FileContext, Rule
from secreview.rules.registry import register

NUMERIC = frozenset({"builtins.int", "builtins.float", "builtins.bool", "builtins.len", "builtins.abs",
                     "builtins.round", "uuid.UUID"})
SHELL_QUOTE = frozenset({"shlex.quote", "pipes.quote", "shlex.join"}) | NUMERIC

SUBPROCESS = ("subprocess.Popen", "subprocess.run", "subprocess.call", "subprocess.check_call",
              "subprocess.check_output")
ALWAYS_SHELL = ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
                "commands.getoutput", "commands.getstatusoutput", "asyncio.create_subprocess_shell",
                "popen2.popen2", "popen2.popen3", "popen2.popen4", "os.popen2", "os.popen3", "os.popen4")


def _sql_values(ctx: FileContext, dynamic: list[ast.expr]) -> list[ast.expr]:
    """The interpolated parts that can carry a value: not numbers, not identifier names."""
    unsafe = []
    for part in dynamic:
        if ctx.passes_through(part, NUMERIC):
            continue
        name = part.attr if isinstance(part, ast.Attribute) else part.id if isinstance(part, ast.Name) else ""
        if name and _IDENTIFIER_NAME.search(name):
            continue
        unsafe.append(part)
    return unsafe


def _names(ctx: FileContext, parts: list[ast.expr], limit: int = 3) -> str:
    texts = []
    for part in parts:
        text = f"`{ctx.text(part, 40)}`"
        if text not in texts:
            texts.append(text)
    shown = ", ".join(texts[:limit])
    return shown + (f" and {len(texts) - limit} more" if len(texts) > limit else "")


@register
class ShellInjection(Rule):
    """Command run through a shell.

    ## What it finds
    Commands handed to a shell: `os.system`, `os.popen`, `subprocess.getoutput`,
    `asyncio.create_subprocess_shell`, and `subprocess.Popen` / `run` / `call` / `check_call` /
    `check_output` with `shell=True`. A command built from values (f-string, `%`, `+`,
    `.format`, `join`) is reported with high confidence; a constant command with low confidence
    and severity; a command whose every interpolated value passed through `shlex.quote` (or
    `int()`) is not reported.

    ## Why it is dangerous
    The shell interprets `;`, `|`, `&&`, backticks, `$(...)`, redirections and globs. Any part of
    the command an attacker influences (a host name, a file name, a volume id) can end the
    intended command and start another with the privileges of the service: on a compute node
    that is often root.

    ## Example
    ```python
    import os
    def ping(host):
        os.system("ping -c 1 %s" % host)
    ```

    ## Safe alternative
    ```python
    import subprocess
    def ping(host):
        subprocess.run(["ping", "-c", "1", host], check=True)
    ```
    Pass an argument list and no shell. When a shell is unavoidable, quote each value with
    `shlex.quote`.

    ## References
    - https://cwe.mitre.org/data/definitions/78.html
    - https://docs.python.org/3/library/subprocess.html#security-considerations
    """

    id = "SR101"
    name = "shell-injection"
    cwe = 78
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Pass the command as a list of arguments without a shell (`subprocess.run([...])`), "
           "or quote every interpolated value with `shlex.quote`.")
    calls = ALWAYS_SHELL + SUBPROCESS

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        func = qualname.removeprefix("builtins.") if qualname else ctx.text(call.func)
        shell_note = ""
        if qualname in SUBPROCESS:
            shell = ctx.keyword(call, "shell")
            if shell is None or ctx.is_false(shell) or ctx.literal(shell) is None:
                return
            if not ctx.is_true(shell):
                shell_note = f" (`shell={ctx.text(shell, 30)}` may be true)"
        command = ctx.argument(call, 0, "args" if qualname in SUBPROCESS else "cmd")
        if command is None:
            command = ctx.argument(call, None, "command") or (call.args[0] if call.args else None)
        if command is None:
            return
        consts, dynamic = ctx.string_parts(command)
        unsafe = [d for d in dynamic if not ctx.passes_through(d, SHELL_QUOTE)]
        if dynamic and not unsafe:
            return  # every value is quoted or numeric
        if not dynamic:
            ctx.report(self, call,
                       f"`{func}` runs the constant command `{ctx.text(command, 50)}` through a shell{shell_note}. "
                       "Nothing in it comes from outside, so this is not injectable as written, but the shell "
                       "adds PATH lookup and metacharacter parsing that an argument list avoids.",
                       severity=Level.LOW, confidence=Level.LOW)
            return
        built = ctx.is_string_building(command) or isinstance(command, (ast.List, ast.Tuple))
        confidence = Level.HIGH if built and not shell_note else Level.MEDIUM
        how = "is built from" if built else "comes from"
        ctx.report(self, call,
                   f"`{func}` runs a command through a shell{shell_note}, and the command {how} "
                   f"{_names(ctx, unsafe)} without quoting. A value containing `;`, `|` or `$(...)` would "
                   "run commands of its own with this process's privileges.",
                   confidence=confidence)


@register
class ProcessStart(Rule):
    """Process started from a program path that is not constant.

    ## What it finds
    The `os.exec*`, `os.spawn*` and `os.posix_spawn*` families and `os.startfile`. When the program
    to run comes from a variable the finding has medium severity; a constant program path is
    reported with low severity and confidence, as a note that a process starts here.

    ## Why it is dangerous
    These calls do not use a shell, so metacharacters are harmless, but whoever controls the
    program path chooses what runs. The `p` variants also search `PATH`, so a relative program
    name can be hijacked by a writable directory earlier in `PATH`.

    ## Example
    ```python
    import os
    def run_tool(tool, target):
        os.execvp(tool, [tool, target])
    ```

    ## Safe alternative
    ```python
    import os
    TOOLS = {"scan": "/usr/bin/nmap"}
    def run_tool(name, target):
        path = TOOLS[name]          # only known programs, by absolute path
        os.execv(path, [path, target])
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/78.html
    """

    id = "SR102"
    name = "process-start"
    cwe = 78
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = "Run only programs from a fixed allow-list, by absolute path."
    calls = ("os.exec*", "os.spawn*", "os.posix_spawn", "os.posix_spawnp", "os.startfile")

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        func = qualname or ctx.text(call.func)
        position = 1 if ".spawn" in func else 0
        program = ctx.argument(call, position, "path") or ctx.argument(call, None, "file")
        if program is None:
            return
        if ctx.is_constant(program):
            ctx.report(self, call,
                       f"`{func}` starts the constant program `{ctx.text(program, 50)}`; no shell is involved "
                       "and the program is fixed, so this is a note rather than a defect.",
                       severity=Level.LOW, confidence=Level.LOW)
            return
        ctx.report(self, call,
                   f"`{func}` starts the program named by `{ctx.text(program, 40)}`, which is not constant: "
                   "whoever controls that value chooses what runs with this process's privileges.")


@register
class CodeEvaluation(Rule):
    """Dynamic evaluation of code that is not constant.

    ## What it finds
    `eval`, `exec` and `compile` called on anything but a literal. A string built by formatting
    is reported with high confidence, other variables with medium confidence. Constant code is
    not reported.

    ## Why it is dangerous
    `eval` and `exec` run arbitrary Python: a value that reaches them is code. Restricting
    `__builtins__` does not make it safe; attribute walks through `().__class__` reach everything.

    ## Example
    ```python
    def total(expression):
        return eval(expression)
    ```

    ## Safe alternative
    ```python
    import ast
    def total(expression):
        return ast.literal_eval(expression)   # literals only
    ```
    Parse data with `ast.literal_eval`, `json.loads` or an explicit parser; dispatch on names with
    a dictionary of allowed functions.

    ## References
    - https://cwe.mitre.org/data/definitions/95.html
    """

    id = "SR103"
    name = "code-evaluation"
    cwe = 95
    severity = Level.HIGH
    confidence = Level.MEDIUM
    fix = "Parse data with `ast.literal_eval` or `json.loads`; map allowed names to functions with a dict."
    calls = ("builtins.eval", "builtins.exec", "builtins.compile")

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        code = ctx.argument(call, 0, "source")
        if code is None or ctx.is_constant(code):
            return
        if isinstance(code, ast.Call) and ctx.qualname(code.func) == "builtins.compile":
            return  # the inner compile() is reported on its own
        func = (qualname or "").removeprefix("builtins.")
        built = ctx.is_string_building(code)
        severity = Level.MEDIUM if func == "compile" else Level.HIGH
        ctx.report(self, call,
                   f"`{func}` {'compiles' if func == 'compile' else 'runs'} `{ctx.text(code, 40)}` as Python code"
                   f"{', a string built from values' if built else ''}. Whoever controls that text runs "
                   "arbitrary code in this process.",
                   severity=severity, confidence=Level.HIGH if built else Level.MEDIUM)


_SQL = re.compile(
    r"(?is)\b(select\b.+\bfrom|insert\s+into|update\b.+\bset|delete\s+from|create\s+(table|index|view|database|user)"
    r"|drop\s+(table|index|view|database|user)|alter\s+table|truncate\s+table|replace\s+into|merge\s+into"
    r"|grant\b.+\bon|pragma\s+\w|where\b.+[=<>]|order\s+by|group\s+by|values\s*\()")


# Statements unmistakably SQL, required when the callee is only presumed to run SQL.
_STRONG_SQL = re.compile(
    r"(?is)\b(select\s+(distinct\s+)?(\*|count\s*\(|[\w.]+(\s*,\s*[\w.]+)*)\s*\)?\s+from\b"
    r"|insert\s+into\b|update\s+[\w.]+\s+set\b|delete\s+from\b"
    r"|(create|drop|alter|truncate)\s+table\b)")
# Callees named as query runners (``self._query``, ``db_execute``, ``run_sql``) and arguments
# that are database handles (``get_rows(cur, sql)``).
_RUNNER_NAME = re.compile(r"(?i)(query|sql|execute|^exec_|_exec$|^db_)")
# Values named as SQL identifiers (``self.table``, ``column``): code picks these, not users; the
# data-flow rules catch one that comes from a request.
_IDENTIFIER_NAME = re.compile(r"(?i)(^|_)(table|tables|tablename|column|columns|schema|fields?)$")
_HANDLE_NAMES = frozenset({"cur", "cursor", "conn", "connection", "db", "dbconn", "db_conn", "session"})
# Methods that run SQL (check_call); other callees are looked at as project query helpers.
_SQL_METHODS = ("execute", "executemany", "executescript", "raw", "extra", "read_sql", "read_sql_query")
_SQL_METHOD_SET = frozenset(_SQL_METHODS)
_RUNNER_NAMES: dict[str, bool] = {}  # callee name -> whether it reads as a query runner (names repeat)


def _runner_name(name: str) -> bool:
    found = _RUNNER_NAMES.get(name)
    if found is None:
        if len(_RUNNER_NAMES) > 50_000:
            _RUNNER_NAMES.clear()
        if name.isascii():  # _RUNNER_NAME spelt out: cheaper than a case-insensitive search
            low = name.lower()
            found = "query" in low or "sql" in low or "execute" in low or low.startswith(("exec_", "db_")) \
                or low.endswith("_exec")
        else:  # (?i) also matches characters whose lower case is not ASCII (the long s for s)
            found = bool(_RUNNER_NAME.search(name))
        _RUNNER_NAMES[name] = found
    return found


def _runners(names: list[str]) -> set[str]:
    """The callee names among ``names`` (FileContext.call_names) that read as query runners and
    are not one of the SQL methods. Every runner name holds one of the needles below in lower
    case (``exec`` for ``^exec_`` and ``_exec$``): most files hold none, and are answered with
    one search of the names joined, not a test per name."""
    distinct = set(names) - _SQL_METHOD_SET
    distinct.discard("")
    joined = "\0".join(distinct)
    if not joined.isascii():
        return {name for name in distinct if _runner_name(name)}
    low = joined.lower()  # ASCII: the same length, so a position in low is one in joined
    # Only the names holding a needle can be runners: each is cut out of joined around the
    # needle's occurrences (between the NULs on either side) and tested, the others are not.
    held = set()
    for needle in ("query", "sql", "exec", "db_"):
        at = low.find(needle)
        while at >= 0:
            end = low.find("\0", at)
            if end < 0:
                end = len(low)
            held.add(joined[low.rfind("\0", 0, at) + 1:end])
            at = low.find(needle, end)
    return {name for name in held if _runner_name(name)}


_ARGS = attrgetter("args")
_ID = attrgetter("id")


def _handed_handle(call: ast.Call) -> bool:
    """A database handle among the positional arguments (``get_rows(cur, sql)``)."""
    for arg in call.args:
        if isinstance(arg, ast.Name) and arg.id in _HANDLE_NAMES:
            return True
    return False


@register
class SqlStringBuilt(Rule):
    """SQL statement built from values by string formatting.

    ## What it finds
    A query passed to `execute`, `executemany`, `executescript`, Django's `raw` / `extra` /
    `RawSQL`, SQLAlchemy's `text` or pandas' `read_sql*` that is built with an f-string, `%`,
    `+`, `.format` or `join` from a value that is not constant. The constant text must look like
    SQL (a `SELECT ... FROM`, `INSERT INTO`, `WHERE ... =` and so on), so prose passed to an
    unrelated `execute` method is left alone. Values converted with `int()` or `float()` are
    not counted, nor are values named as identifiers (`table`, `self.table`, `column`,
    `schema`), which code rather than users chooses. A project's own query helpers are covered too, with medium confidence: a call
    to a function or method named like a query runner (`self._query(sql)`, `db_execute(sql)`,
    `run_sql(...)`) or one that is handed a cursor or connection (`get_rows(cur, sql)`), when
    the built text is unmistakably SQL (`SELECT ... FROM`, `INSERT INTO`, `UPDATE ... SET`,
    `DELETE FROM`, `CREATE/DROP/ALTER TABLE`).

    ## Why it is dangerous
    A quote in the value ends the string literal in the statement and the rest is parsed as
    SQL: the attacker can read other rows and tables, change data or, with stacked statements,
    drop it. Escaping by hand misses cases; drivers bind parameters correctly.

    ## Example
    ```python
    def find_user(cursor, name):
        cursor.execute("SELECT * FROM users WHERE name = '%s'" % name)
    ```

    ## Safe alternative
    ```python
    def find_user(cursor, name):
        cursor.execute("SELECT * FROM users WHERE name = %s", (name,))
    ```
    Pass values as parameters; build identifiers (table or column names) only from an
    allow-list.

    ## References
    - https://cwe.mitre.org/data/definitions/89.html
    """

    id = "SR104"
    name = "sql-string-built"
    cwe = 89
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Use a parameterised query: keep placeholders in the constant SQL text and pass the values "
           "separately (`cursor.execute(sql, params)`).")
    methods = _SQL_METHODS
    calls = ("sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text",
             "django.db.models.expressions.RawSQL", "pandas.read_sql", "pandas.read_sql_query")
    nodes = (ast.Call,)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first tests, on all the calls at once: a callee named (not one of the SQL
        # methods check_call handles) like a query runner, or handed a database handle by position
        names = ctx.call_names()
        runners = _runners(names)
        # The positional arguments of all the calls at once, without a loop in Python: the names
        # among them, and whether one is a handle. The calls handed one are their parents.
        args = list(chain.from_iterable(map(_ARGS, nodes)))
        named = list(compress(args, map(is_, map(type, args), repeat(ast.Name))))
        if _HANDLE_NAMES.isdisjoint(map(_ID, named)):
            return list(compress(nodes, map(runners.__contains__, names))) if runners else []
        parent = ctx.index.parents.get
        handed = {parent(arg) for arg in named if arg.id in _HANDLE_NAMES}
        return [node for node, name in zip(nodes, names)
                if name in runners or (node in handed and name and name not in _SQL_METHOD_SET)]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        """Project-specific query helpers: the callee's name or a database-handle argument."""
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name is None or name in _SQL_METHOD_SET:
            return  # handled by check_call
        if not _runner_name(name) and not _handed_handle(node):
            return
        if ctx.qualname(func) in self.calls:
            return
        for arg in [*node.args, *(kw.value for kw in node.keywords)]:
            if isinstance(arg, (ast.Name, ast.JoinedStr, ast.BinOp, ast.Call)) and ctx.is_string_building(arg):
                consts, dynamic = ctx.string_parts(arg)
                unsafe = _sql_values(ctx, dynamic)
                if unsafe and _STRONG_SQL.search(" ".join(consts)):
                    ctx.report(self, node,
                               f"`{ctx.text(func, 40)}` is handed SQL built from {_names(ctx, unsafe)} by string "
                               "formatting and, by its name or its database-handle argument, runs it. A quote in "
                               "that value changes the statement itself.",
                               confidence=Level.MEDIUM)
                    return

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if isinstance(call.func, ast.Attribute) and call.func.attr == "extra":
            query = ctx.keyword(call, "where") or ctx.keyword(call, "select")
        else:
            query = ctx.argument(call, 0, "sql") or ctx.argument(call, None, "query") \
                or ctx.argument(call, None, "statement")
        if query is None or not ctx.is_string_building(query):
            return
        consts, dynamic = ctx.string_parts(query)
        unsafe = _sql_values(ctx, dynamic)
        if not unsafe or not _SQL.search(" ".join(consts)):
            return
        where = ctx.text(call.func, 40)
        direct = query in call.args or any(kw.value is query for kw in call.keywords)
        inline = direct and not isinstance(query, ast.Name)
        ctx.report(self, call,
                   f"`{where}` runs SQL built from {_names(ctx, unsafe)} by string formatting. A quote or "
                   "`--` in that value changes the statement itself: other rows can be read or modified.",
                   confidence=Level.HIGH if inline or isinstance(query, ast.Name) else Level.MEDIUM)
