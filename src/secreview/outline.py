"""The outline of one file for the written review: what each part does as far as security goes.

Built per file right after the rules ran (only for ``--format review`` / ``markdown``), from the
syntax tree, the index and the context analysis; the result is plain JSON data kept on the
:class:`~secreview.model.FileResult` (so it caches like the rest), and the renderers in
:mod:`secreview.report.review` only format it.

Every statement made here is grounded: an item cites the lines it speaks about, quotes their text
exactly (whitespace collapsed, long text cut with ``...``) and names only identifiers found on the
lines it cites. Topics absent from the file get no section.

Shape::

    {"version": 1, "kind": "functional test", "evidence": [{"text": ..., "line": 19 | null}],
     "sections": [{"topic": "setup" | "mocks" | "data" | "outside", "title": ...,
                   "items": [{"lines": [a, b], "code": "...", "note": "..."}], "closing": "..."}],
     "findings": {"SR101:17:14": {"notes": ["..."]}}}
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from secreview import context as context_mod
from secreview import policy as policy_mod
from secreview.model import Finding, Skipped
from secreview.report.review import CREDENTIAL_CWES, redact
from secreview.rules.base import FileContext, attribute_chain

VERSION = 1
CODE_LIMIT = 90

_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.TryStar,
             ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Match)

TITLES = {
    "setup": "Test and environment set-up",
    "mocks": "Mocks, stubs and fakes",
    "data": "Data handling and input validation",
    "outside": "Interactions with the outside",
}

# ---------------------------------------------------------------------- vocabularies

_REQUEST_ATTRS = frozenset({
    "args", "form", "values", "json", "get_json", "data", "get_data", "files", "cookies", "headers", "params",
    "GET", "POST", "body", "json_body", "FILES", "COOKIES", "META", "query_params", "path_params",
    "query_string", "environ", "stream", "text", "content", "match_info", "query", "path_info", "url",
})
_REQUEST_OBJECTS = ("flask.request", "quart.request", "bottle.request", "pecan.request", "webob.request")
_SUBPROCESS = frozenset({
    "subprocess.Popen", "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
    "subprocess.getoutput", "subprocess.getstatusoutput", "os.system", "os.popen", "os.posix_spawn",
    "os.posix_spawnp", "asyncio.create_subprocess_shell", "asyncio.create_subprocess_exec", "pty.spawn",
})
_ALWAYS_SHELL = frozenset({"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
                           "asyncio.create_subprocess_shell"})
_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"})
_HTTP_ROOTS = ("requests.", "httpx.", "urllib3.", "aiohttp.")
_NETWORK = ("socket.", "ssl.wrap_socket", "smtplib.", "ftplib.", "telnetlib.", "paramiko.", "socketserver.",
            "http.server.", "xmlrpc.", "poplib.", "imaplib.", "asyncio.open_connection", "asyncio.start_server",
            "uvicorn.run", "aiohttp.web.run_app")
_FILE_CALLS = frozenset({
    "builtins.open", "io.open", "os.open", "os.remove", "os.unlink", "os.rename", "os.replace", "os.makedirs",
    "os.mkdir", "os.rmdir", "os.removedirs", "os.chmod", "os.chown", "os.symlink", "os.link", "os.truncate",
    "os.mkfifo", "os.mknod", "os.umask", "tempfile.mkstemp", "tempfile.mkdtemp", "tempfile.mktemp",
    "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile", "tempfile.TemporaryDirectory",
    "tempfile.SpooledTemporaryFile",
})
_PATH_METHODS = frozenset({"write_text", "write_bytes", "read_text", "read_bytes", "unlink", "touch", "mkdir",
                           "rmdir", "chmod", "rename", "replace", "symlink_to", "hardlink_to"})
_DB_CONNECT = frozenset({"sqlite3.connect", "psycopg2.connect", "psycopg.connect", "pymysql.connect",
                         "MySQLdb.connect", "mysql.connector.connect", "sqlalchemy.create_engine",
                         "cx_Oracle.connect", "oracledb.connect", "pymongo.MongoClient", "redis.Redis",
                         "redis.StrictRedis"})
_DB_METHODS = frozenset({"execute", "executemany", "executescript"})
_FETCH = frozenset({"fetchone", "fetchall", "fetchmany"})
_READ_METHODS = frozenset({"read", "readline", "readlines"})

_SOURCE_ATTRS = _REQUEST_ATTRS | {"environ", "environb", "argv"}
_SOURCE_CALLS = frozenset({"getenv", "getenvb", "input", "recv", "recvfrom", "recv_into", "read_text", "read_bytes",
                           "load", "urlopen", "read", "readline", "readlines", "fetchone", "fetchall", "fetchmany",
                           "get", "post", "put", "patch", "delete", "head", "options", "request", "stream"})

_NETWORK_VERBS = {"bind": "binds a listening address", "connect": "connects out", "listen": "listens",
                  "accept": "accepts a connection", "run": "serves HTTP", "create_connection": "connects out",
                  "create_server": "listens", "sendto": "sends data", "run_app": "serves HTTP",
                  "serve_forever": "serves requests", "login": "logs in to a remote server"}
_UNTRUSTED = frozenset({"request", "user", "command line", "network"})

_VALIDATORS = {
    "builtins.int": "`int` converts it to a number (anything else raises)",
    "builtins.float": "`float` converts it to a number (anything else raises)",
    "builtins.bool": "`bool` reduces it to true or false",
    "uuid.UUID": "`UUID` parses it as a UUID (anything else raises)",
    "ipaddress.ip_address": "`ip_address` parses it as an IP address (anything else raises)",
    "ipaddress.ip_network": "`ip_network` parses it as a network (anything else raises)",
    "ipaddress.ip_interface": "`ip_interface` parses it as an interface address (anything else raises)",
    "shlex.quote": "`quote` quotes it for the shell",
    "pipes.quote": "`quote` quotes it for the shell",
    "html.escape": "`escape` escapes it for HTML",
    "markupsafe.escape": "`escape` escapes it for HTML",
    "werkzeug.utils.secure_filename": "`secure_filename` reduces it to a safe file name",
    "os.path.basename": "`basename` keeps only its last path component",
    "jsonschema.validate": "`validate` checks it against a JSON schema",
}
_REGEX_CHECKS = frozenset({"match", "fullmatch", "search"})

_SOURCE_WORDS = {
    "request": "request input",
    "environment": "the process environment",
    "configuration": "configuration",
    "command line": "command-line input",
    "user": "user input",
    "file": "file contents",
    "network": "a network response",
    "database": "database rows",
}


@dataclass
class Item:
    lines: tuple[int, int]
    code: str
    note: str

    def as_dict(self) -> dict:
        return {"lines": [self.lines[0], self.lines[1]], "code": self.code, "note": self.note}


@dataclass
class Origin:
    kind: str  # a key of _SOURCE_WORDS
    line: int
    code: str
    via: list[tuple[str, int]] = field(default_factory=list)  # names it passed through, with lines


# ---------------------------------------------------------------------- entry points


def build_guarded(ctx: FileContext, analysis: context_mod.Analysis | None, findings: list[Finding],
                  dropped: list[Finding], skipped: list[Skipped]) -> dict | None:
    """:func:`build`, with a failure reported as a skipped entry instead of losing the file."""
    try:
        return build(ctx, analysis, findings, dropped)
    except (RecursionError, MemoryError):
        skipped.append(Skipped(ctx.path, "partly reviewed: the written review outline ran out of stack "
                                         "(too deeply nested)"))
    except Exception as exc:  # a bug here must not lose the findings of the file
        skipped.append(Skipped(ctx.path, f"partly reviewed: the written review outline failed: "
                                         f"{type(exc).__name__}: {exc}"))
    return None


def build(ctx: FileContext, analysis: context_mod.Analysis | None, findings: list[Finding],
          dropped: list[Finding]) -> dict:
    head = ctx.source.text[:2000]
    if analysis is None:
        analysis = context_mod.analyse(ctx.path, ctx.index, head)
    return _Builder(ctx, analysis, [*findings, *dropped]).run()


# ---------------------------------------------------------------------- the builder


class _Builder:
    def __init__(self, ctx: FileContext, analysis: context_mod.Analysis, findings: list[Finding]):
        self.ctx = ctx
        self.index = ctx.index
        self.source = ctx.source
        self.analysis = analysis
        self.findings = findings
        self.calls = self.index.of_type(ast.Call)
        self.sections: dict[str, list[Item]] = {key: [] for key in TITLES}
        self.closings: dict[str, str] = {}
        self.finding_notes: dict[str, dict] = {}
        # (class, "self.<attr>") -> (fixture, fixture line, line the client is bound)
        self.api_clients: dict[tuple[ast.ClassDef | None, str], tuple[str, int, int]] = {}
        self.outside_calls: set[ast.Call] = set()
        self.setup_kinds: set[str] = set()
        self.real_outside = 0  # HTTP and network calls that no mock replaces
        self.reach_notes: dict[int, list[str]] = {}  # line of an outside call or finding -> notes
        self.check_notes: dict[int, list[str]] = {}  # line of a finding -> checks its values passed
        self._simple: list[ast.stmt] | None = None
        self._compound: dict[int, ast.stmt] = {}
        self._collapsed: list[str] | None = None
        self._classes: dict[str, ast.ClassDef] | None = None
        self.secret_lines = {n for f in findings if f.cwe in CREDENTIAL_CWES
                             for n in range(f.location.line, f.location.end_line + 1)}

    # -------------------------------------------------------------- helpers

    def code(self, node: ast.AST) -> str:
        """The source text of ``node`` on one line: cut with ``...`` when long, and before any
        backtick (a quotation never holds one)."""
        text = " ".join(self.source.segment(node).split())
        if "`" in text:
            text = text[: text.index("`")].rstrip() + "..."
        if len(text) > CODE_LIMIT:
            text = text[: CODE_LIMIT - 3].rstrip() + "..."
        return text

    def unit(self, node: ast.AST) -> ast.AST:
        """The node an item quotes: its simple statement, or the node itself inside compound ones."""
        stmt = self.index.statement_of(node)
        if stmt is None or isinstance(stmt, _COMPOUND):
            return node
        return stmt

    def item(self, node: ast.AST, note: str) -> Item:
        unit = self.unit(node)
        lines = (unit.lineno, unit.end_lineno or unit.lineno)
        code = self.code(unit)
        if any(lines[0] <= n <= lines[1] for n in self.secret_lines):
            code = redact(code)
        return Item(lines, code, note)

    def in_test(self, line: int) -> bool:
        return self.analysis.in_test(line) is not None

    def header(self, func: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
        line = self.source.line(func.lineno).strip()
        if func.lineno in self.secret_lines:
            line = redact(line)
        if "`" in line:
            line = line[: line.index("`")].rstrip() + "..."
        if len(line) > CODE_LIMIT:
            line = line[: CODE_LIMIT - 3].rstrip() + "..."
        return line

    def qual(self, node: ast.AST | None) -> str:
        try:
            return self.index.qualname(node) or ""
        except RecursionError:
            return ""

    @staticmethod
    def last_name(expr: ast.AST) -> str:
        if isinstance(expr, ast.Call):
            expr = expr.func
        if isinstance(expr, ast.Attribute):
            return expr.attr
        if isinstance(expr, ast.Name):
            return expr.id
        return ""

    # -------------------------------------------------------------- run

    def run(self) -> dict:
        ctx_info = self.analysis.context
        self.setup()
        self.mocks()
        self.outside()
        if self.sections["setup"]:
            self.closings["setup"] = _setup_closing(self.setup_kinds, self.real_outside)
        self.data()
        self.finding_context()
        sections = []
        for key, title in TITLES.items():
            items = sorted(self.sections[key], key=lambda i: (i.lines[0], i.lines[1], i.note))
            if not items:
                continue
            sections.append({"topic": key, "title": title, "items": [i.as_dict() for i in items],
                             "closing": self.closings.get(key, "")})
        return {
            "version": VERSION,
            "kind": ctx_info.kind,
            "evidence": [{"text": e.text, "line": e.line} for e in ctx_info.details],
            "sections": sections,
            "findings": {key: entry for key, entry in sorted(self.finding_notes.items())},
        }

    # -------------------------------------------------------------- 1. set-up

    def setup(self) -> None:
        items = self.sections["setup"]
        kinds: set[str] = set()
        for info in self.analysis.functions:
            if info.role in ("set-up", "tear-down", "fixture"):
                where = f"class `{info.cls.name}` (line {info.cls.lineno})" if info.cls is not None else "this module"
                if info.role == "set-up":
                    note = f"set-up: `{info.node.name}` prepares every test of {where}"
                elif info.role == "tear-down":
                    note = f"tear-down: `{info.node.name}` cleans up after every test of {where}"
                else:
                    users = self._fixture_users(info.node.name)
                    note = f"pytest fixture `{info.node.name}`" + (f", used by {users}" if users else "")
                items.append(Item((info.line, info.end_line), self.header(info.node), note))
                kinds.add("pytest-fixture" if info.role == "fixture" else info.role)
        for call in self.calls:
            if not self.in_test(call.lineno):
                continue
            func = call.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self"):
                continue
            if func.attr == "useFixture" and call.args:
                fixture = call.args[0]
                name = self.last_name(fixture)
                if not name or name in ("MockPatch", "MockPatchObject", "MonkeyPatch", "MockPatchMultiple"):
                    continue
                kind, note = _fixture_note(name)
                target = self._assigned_name(call)
                if target:
                    note += f"; bound to `{target}`"
                items.append(self.item(call, note))
                kinds.add(kind)
                if kind == "api":
                    named = fixture.func if isinstance(fixture, ast.Call) else fixture
                    self._record_api_fixture(call, name, named.end_lineno or named.lineno)
            elif func.attr in ("start_service", "_start_compute", "start_compute") and (call.args or call.keywords):
                service = _literal(call.args[0]) if call.args else None
                host = _literal(_keyword(call, "host")) or (_literal(call.args[1]) if len(call.args) > 1 else None)
                if func.attr != "start_service":
                    host = host or service
                    service = "compute"
                if service is None:
                    continue
                note = f"starts the `{service}` service inside the test process"
                if host:
                    note += f" (host `{host}`)"
                items.append(self.item(call, note))
                kinds.add("service")
            elif func.attr == "flags" and call.keywords:
                names = ", ".join(f"`{kw.arg}`" for kw in call.keywords if kw.arg and kw.arg != "group")
                group = _literal(_keyword(call, "group"))
                where = f" (group `{group}`)" if isinstance(group, str) else ""
                if names:
                    items.append(self.item(call, f"overrides configuration options for this test only: "
                                                 f"{names}{where}"))
                    kinds.add("flags")
        self.setup_kinds = kinds

    def _fixture_users(self, name: str) -> str:
        users = []
        for info in self.analysis.functions:
            if info.role == "test" and any(a.arg == name for a in info.node.args.args):
                users.append(f"`{info.node.name}` (line {info.node.lineno})")
        if len(users) > 3:
            return ", ".join(users[:3]) + f" and {len(users) - 3} more tests"
        return ", ".join(users)

    def _assigned_name(self, call: ast.Call) -> str:
        parent = self.index.parent(call)
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and parent.value is call:
            return _plain(parent.targets[0])
        return ""

    def _record_api_fixture(self, call: ast.Call, fixture: str, fixture_line: int) -> None:
        """``api_fixture = self.useFixture(OSAPIFixture(...))`` then ``self.api = api_fixture.admin_api``:
        remember that ``self.api`` talks to that in-process fixture."""
        var = self._assigned_name(call)
        func = self.index.function_of(call)
        if not var or func is None:
            return
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id == "self" and _plain(value).startswith(var + ".") \
                        or (isinstance(target, ast.Attribute) and _plain(value) == var):
                    self.api_clients[(self.index.class_of(func), _plain(target))] = (fixture, fixture_line, node.lineno)

    # -------------------------------------------------------------- 2. mocks, stubs and fakes

    def mocks(self) -> None:
        items = self.sections["mocks"]
        kinds: set[str] = set()
        for rep in self.analysis.replacements:
            note = self.replacement_note(rep)
            if rep.kind in ("fake module", "fake class"):
                node = rep.node
                code = self.code(node) if rep.kind == "fake module" else self.header(node)
                items.append(Item((rep.line, rep.line if rep.kind == "fake class" else rep.end_line), code, note))
            else:
                items.append(self.item(rep.node, note))
            kinds.add(rep.kind)
        if items and any(self.in_test(r.line) for r in self.analysis.replacements):
            self.closings["mocks"] = _mocks_closing(kinds)

    def target_text(self, rep: context_mod.Replacement) -> str:
        """What a replacement replaces, quoted from the code that installs it."""
        node = rep.node
        target = rep.target
        if rep.kind == "monkeypatch" and target.startswith("environment variable "):
            return f"environment variable `{target.removeprefix('environment variable ')}`"
        if rep.kind == "monkeypatch" and target in ("the working directory", "sys.path"):
            return target
        if not isinstance(node, ast.Call) or rep.kind in ("stub",):
            return f"`{target}`" if target else "a target"
        if rep.kind == "mock object":
            parent = self.index.parent(node)
            if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
                return f"`{self.code(parent.targets[0])}`"
            return "a new mock"
        args = node.args
        single = rep.kind in ("mock.patch", "mock.patch.dict", "fixtures.MockPatch", "fixtures.MonkeyPatch", "stub_out")
        if len(args) >= 2 and not single and isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
            return f"`{args[1].value}` of `{self.code(args[0])}`"
        if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            return f"`{args[0].value}`"
        if args:
            return f"`{self.code(args[0])}`"
        for kw in node.keywords:
            if kw.arg in ("target", "in_dict"):
                return f"`{self.code(kw.value)}`"
        return "a target"

    def replacement_note(self, rep: context_mod.Replacement) -> str:
        if rep.kind == "fake module":
            return f"fake module `{rep.target}` imported"
        if rep.kind == "fake class":
            return f"fake class `{rep.target}` defined in this file"
        if rep.kind == "mock object":
            return f"mock object bound to {self.target_text(rep)}, {rep.how}"
        if rep.kind == "stub":
            module, _, func = rep.target.partition(".")
            return f"stub: `{func}` from the fake module `{module}` swaps real behaviour for fakes, {rep.how}"
        label = {"mock.patch": "`patch`", "mock.patch.object": "`patch.object`", "mock.patch.dict": "`patch.dict`",
                 "mock.patch.multiple": "`patch.multiple`", "stub_out": "`stub_out`", "monkeypatch": "`monkeypatch`",
                 "testtools patch": "`patch`", "mox stub": "`StubOutWithMock`", "stubs.Set": "`Set`"}.get(
            rep.kind, f"`{rep.kind.rsplit('.', 1)[-1]}`")
        return f"{label} replaces {self.target_text(rep)} {rep.how}"

    # -------------------------------------------------------------- 3. data handling

    def data(self) -> None:
        self._test_data()
        sources = self._source_lines()
        for info in self.analysis.functions:
            if info.node in self._nested_functions():
                continue
            if not any(info.node.lineno <= line <= info.end_line for line in sources):
                continue  # no outside data is read here: nothing to follow
            _Flow(self, info).run()
        self._module_sources()
        items = self.sections["data"]
        if any(i.note.startswith("hard-coded test data") for i in items):
            credential = any(f.rule_id == "SR502" for f in self.findings)
            self.closings["data"] = (
                "Why the hard-coded data carries no real risk: the test author wrote these values into the "
                "test; no request, user, file or network supplies them, so they carry no attacker input"
                + ("." if credential else ", and secreview found no credential among them."))

    def _source_lines(self) -> list[int]:
        """Lines where outside data is read (cheap name filter first, then :meth:`source_kind`)."""
        lines = set()
        for node in self.index.parents:
            if isinstance(node, ast.Attribute):
                if node.attr not in _SOURCE_ATTRS and not {"CONF", "settings"} & set(_plain(node).split(".")):
                    continue
            elif isinstance(node, ast.Call):
                if self.last_name(node.func) not in _SOURCE_CALLS:
                    continue
            else:
                continue
            if self.source_kind(node):
                lines.add(node.lineno)
        return sorted(lines)

    def _nested_functions(self) -> set[ast.AST]:
        cache = getattr(self, "_nested", None)
        if cache is None:
            cache = {f for f in self.index.functions if self.index.function_of(f) is not None}
            self._nested = cache
        return cache

    def _test_data(self) -> None:
        items = self.sections["data"]
        groups: list[tuple[str, ast.AST, list[ast.stmt]]] = []
        for cls in self.analysis.test_classes:
            stmts = [s for s in cls.body if isinstance(s, (ast.Assign, ast.AnnAssign)) and _literal_data(s.value)]
            if stmts:
                groups.append((f"class `{cls.name}` (line {cls.lineno})", cls, stmts))
        for info in self.analysis.functions:
            if info.role not in ("test", "set-up", "fixture"):
                continue
            stmts = [s for s in _statements(info.node.body) if isinstance(s, (ast.Assign, ast.AnnAssign))
                     and _literal_data(s.value)]
            if stmts:
                groups.append((f"`{info.node.name}` (line {info.node.lineno})", info.node, stmts))
        for where, _, stmts in groups:
            stmts.sort(key=lambda s: s.lineno)
            names = []
            for stmt in stmts:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    text = _plain(target)
                    if "." in text and not (text.startswith("self.") and text.count(".") == 1):
                        continue  # configures an object (often a mock), not test data
                    if text and f"`{text}`" not in names:
                        names.append(f"`{text}`")
            if not names:
                continue
            first, last = stmts[0].lineno, max(s.end_lineno or s.lineno for s in stmts)
            items.append(Item((first, last), "", f"hard-coded test data in {where}: {', '.join(names)}"))

    def _module_sources(self) -> None:
        """Sources read at module level (configuration, environment) outside any function."""
        seen: set[ast.stmt] = set()
        for node in self.index.tree.body:
            if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)):
                continue
            for sub in ast.walk(node):
                kind = self.source_kind(sub)
                if kind and node not in seen:
                    seen.add(node)
                    target = _plain(node.targets[0]) if isinstance(node, ast.Assign) and len(node.targets) == 1 else ""
                    note = _SOURCE_WORDS[kind] + (f", bound to `{target}`" if target else "")
                    self.sections["data"].append(self.item(node, f"source: {note}"))

    def source_kind(self, node: ast.AST) -> str | None:
        """What kind of outside data ``node`` reads, or None."""
        if isinstance(node, ast.Attribute):
            if node.attr in _REQUEST_ATTRS and self._is_request(node.value):
                return "request"
            qual = self.qual(node)
            if qual in ("os.environ", "os.environb"):
                return "environment"
            if qual == "sys.argv":
                return "command line"
            if ".CONF." in qual or qual.startswith("django.conf.settings."):
                return "configuration" if isinstance(self.index.parent(node), ast.Attribute) is False else None
            return None
        if isinstance(node, ast.Call):
            qual = self.qual(node.func)
            if qual in ("os.getenv", "os.getenvb"):
                return "environment"
            if qual == "builtins.input":
                return "user"
            if qual.startswith(_HTTP_ROOTS) and qual.rsplit(".", 1)[-1] in _HTTP_VERBS:
                return "network"
            if qual in ("urllib.request.urlopen", "urllib2.urlopen"):
                return "network"
            func = node.func
            if isinstance(func, ast.Attribute):
                if func.attr in ("recv", "recvfrom", "recv_into"):
                    return "network"
                if func.attr in _FETCH:
                    return "database"
                if func.attr in ("read_text", "read_bytes") or qual in ("json.load", "tomllib.load"):
                    return "file"
                if func.attr in _READ_METHODS and self._opened_file(func.value):
                    return "file"
        return None

    def _is_request(self, expr: ast.AST) -> bool:
        qual = self.qual(expr)
        if qual in _REQUEST_OBJECTS:
            return True
        if isinstance(expr, ast.Name) and expr.id in ("request", "req"):
            binding = self.index.binding(expr)
            return binding is not None and binding.kind == "param"
        return isinstance(expr, ast.Attribute) and expr.attr == "request" and isinstance(expr.value, ast.Name) \
            and expr.value.id == "self"

    def _opened_file(self, expr: ast.AST) -> bool:
        if isinstance(expr, ast.Call):
            return self.qual(expr.func) in ("builtins.open", "io.open")
        if isinstance(expr, ast.Name):
            binding = self.index.binding(expr)
            if binding is not None and binding.value is not None and isinstance(binding.value, ast.Call):
                return self.qual(binding.value.func) in ("builtins.open", "io.open")
        return False

    # -------------------------------------------------------------- 4. interactions with the outside

    def outside(self) -> None:
        items = self.sections["outside"]
        api_calls = real = 0
        for call in self.calls:
            found = self.outside_kind(call)
            if found is None:
                continue
            kind, note = found
            mocked = self._mocked(call)
            if mocked is not None:
                note += f"; replaced by {mocked[0]} at line {mocked[1]}, so the real one is not reached"
            elif kind == "api":
                api_calls += 1
            elif kind in ("api-real", "network"):
                real += 1
            self.outside_calls.add(call)
            items.append(self.item(call, note))
        self.real_outside = real
        if api_calls and not real and self.api_clients:
            self.closings["outside"] = (
                "Why these calls carry no real risk: every API call above goes to the API fixture that the "
                "test starts inside its own process; nothing is sent to a real endpoint.")

    def outside_kind(self, call: ast.Call) -> tuple[str, str] | None:
        func = call.func
        qual = self.qual(func)
        if qual in _SUBPROCESS or qual.startswith(("os.exec", "os.spawn")) or qual.endswith("processutils.execute"):
            shell = qual in _ALWAYS_SHELL or _literal(_keyword(call, "shell")) is True
            first = call.args[0] if call.args else _keyword(call, "args")
            how = "through a shell (`shell=True`)" if shell and qual not in _ALWAYS_SHELL else \
                "through a shell" if shell else \
                "with an argument list" if isinstance(first, (ast.List, ast.Tuple)) else ""
            return "subprocess", f"subprocess: `{self.last_name(func)}` starts a process" + (f" {how}" if how else "")
        if qual.startswith(_HTTP_ROOTS) and qual.rsplit(".", 1)[-1] in _HTTP_VERBS or \
                qual in ("urllib.request.urlopen", "urllib2.urlopen") or qual.startswith("http.client.HTTP"):
            url = call.args[0] if call.args else _keyword(call, "url")
            text = _literal(url)
            if isinstance(text, str) and re.match(r"^[a-z][a-z0-9+.-]*://", text):
                host = re.sub(r"^[a-z][a-z0-9+.-]*://([^/:?#]*).*$", r"\1", text)
                where = "a local address" if host in ("localhost", "127.0.0.1", "::1", "[::1]") else \
                    f"the real endpoint `{host}`" if host else "a fixed URL"
            else:
                where = "a URL computed at run time"
            return "api-real", f"HTTP: `{self.last_name(func)}` sends a request to {where}"
        if isinstance(func, ast.Attribute):
            receiver = _plain(func.value)
            bound = self._api_client(call, receiver)
            if bound is not None:
                fixture, fixture_line, bound_line = bound
                return "api", (f"API call `{func.attr}` through `{receiver}` (line {bound_line}), served by "
                               f"`{fixture}` (line {fixture_line}) inside the test process")
        if qual.startswith(_NETWORK) or qual.endswith("flask.Flask().run"):
            method = qual.rsplit(".", 1)[-1]
            shown = self.last_name(func) or method
            verb = _NETWORK_VERBS.get(method)
            if verb is None and "()." not in qual:
                verb = "opens a network socket" if method == "socket" else "opens a network connection or server"
            if verb is None:
                return None
            return "network", f"network: `{shown}` {verb}"
        if qual in _FILE_CALLS:
            name = self.last_name(func) or qual.rsplit(".", 1)[-1]
            path = call.args[0] if call.args else None
            mode = _literal(call.args[1]) if len(call.args) > 1 else _literal(_keyword(call, "mode"))
            what = ""
            if qual.endswith("open") and isinstance(mode, str):
                what = " for writing" if any(c in mode for c in "wax+") else " for reading"
            shown = f" `{self.code(path)}`" if path is not None and len(self.code(path)) <= 50 else ""
            return "file", f"file system: `{name}`{shown}{what}"
        if isinstance(func, ast.Attribute) and func.attr in _PATH_METHODS and \
                (qual.startswith("pathlib.") or isinstance(func.value, (ast.BinOp, ast.Call)) and
                 (isinstance(func.value, ast.BinOp) and isinstance(func.value.op, ast.Div))):
            return "file", f"file system: `{func.attr}` on a path"
        if qual in _DB_CONNECT:
            return "database", f"database: `{self.last_name(func)}` opens a connection"
        if isinstance(func, ast.Attribute) and func.attr in _DB_METHODS and call.args \
                and not qual.endswith("processutils.execute"):
            sql = _literal(call.args[0])
            if isinstance(sql, str) and not re.match(r"(?is)^\s*(select|insert|update|delete|create|drop|alter|"
                                                      r"with|replace|pragma|begin|commit)\b", sql):
                return None
            params = " with bound parameters" if len(call.args) > 1 else ""
            return "database", f"database: `{func.attr}` runs SQL{params}"
        return None

    def _api_client(self, call: ast.Call, receiver: str) -> tuple[str, int, int] | None:
        """The API fixture behind ``self.<attr>`` for a call in a class of this file that bound it
        (in its own set-up or in a base class defined in this file)."""
        if not receiver.startswith("self.") or not self.api_clients:
            return None
        cls = self.index.class_of(call)
        if self._classes is None:
            self._classes = {c.name: c for c in self.index.inner_scopes if isinstance(c, ast.ClassDef)}
        classes = self._classes
        seen = set()
        while cls is not None and cls not in seen:
            seen.add(cls)
            if (cls, receiver) in self.api_clients:
                return self.api_clients[(cls, receiver)]
            bases = [b.id if isinstance(b, ast.Name) else "" for b in cls.bases]
            cls = next((classes[b] for b in bases if b in classes), None)
        return None

    def _mocked(self, call: ast.Call) -> tuple[str, int] | None:
        """A replacement in force at this call that targets what the call reaches."""
        qual = self.qual(call.func)
        text = _plain(call.func)
        for rep in self.analysis.in_force(call.lineno):
            target = rep.target
            if not target or rep.kind in ("mock object",):
                continue
            if (qual and (target == qual or target.endswith("." + qual) or qual.endswith("." + target))) or \
                    (text and (target == text or target.endswith("." + text))):
                return f"`{rep.kind}`", rep.line
        return None

    # -------------------------------------------------------------- findings: why it matters here

    def finding_context(self) -> None:
        for finding in self.findings:
            key = finding_key(finding)
            if key in self.finding_notes:
                continue
            entry: dict = {"notes": self._notes_for(finding)}
            scope = self._defect_scope(finding)
            quotes = self._locate(finding.message, scope, finding.location.line)
            if quotes:
                entry["quotes"] = quotes
            trace_quotes = self._locate(" ".join(step.note for step in finding.trace),
                                        scope | {s.location.line for s in finding.trace}, finding.location.line)
            if trace_quotes:
                entry["trace_quotes"] = trace_quotes
            self.finding_notes[key] = entry

    def _defect_scope(self, finding: Finding) -> set[int]:
        """The lines the review's defect header cites: the statement and the enclosing function."""
        start, end = getattr(finding, "statement_lines", (0, 0)) or (0, 0)
        if not (start and end and start <= finding.location.line <= end):
            start, end = finding.location.line, max(finding.location.line, finding.location.end_line)
        lines = set(range(start, end + 1))
        info = self.analysis.function_at(finding.location.line)
        if info is not None:
            lines.update(range(info.node.lineno, info.end_line + 1))
        return lines

    def _locate(self, text: str, scope: set[int], near: int) -> list[int]:
        """Lines outside ``scope`` that hold code a rule's text quotes, so the review can cite them.
        A quotation found nowhere in the file names no code of it (``ValueError``, ``python -O``)."""
        if "`" not in text:
            return []
        if self._collapsed is None:
            self._collapsed = [" ".join(line.split()) for line in self.source.lines]
        lines = self._collapsed
        scope_text = " ".join(lines[n - 1] for n in sorted(scope) if 0 < n <= len(lines))
        found: set[int] = set()
        for span in re.findall(r"`([^`]+)`", text):
            if not re.search(r"[A-Za-z0-9]", span):
                continue
            candidates = quote_candidates(span)
            if any(c in scope_text for c in candidates):
                continue
            best = None
            for number, collapsed in enumerate(lines, 1):
                if any(c in collapsed for c in candidates):
                    if best is None or abs(number - near) < abs(best - near):
                        best = number
            if best is not None:
                found.add(best)
        return sorted(found)

    def _notes_for(self, finding: Finding) -> list[str]:
        line = finding.location.line
        notes: list[str] = []
        info = self.analysis.function_at(line)
        test = self.analysis.in_test(line)
        kind = self.analysis.context.kind
        cls = self._class_at(line) if info is None else None
        if info is None and cls is not None:
            place = f"in the body of class `{cls.name}` (line {cls.lineno}), run when the class is defined"
        elif info is None:
            place = "at module level, so it runs when the module is imported"
        else:
            place = f"in `{info.node.name}` (lines {info.node.lineno}-{info.end_line})"
        if test:
            role = f", a {info.role}" if info is not None and info.role in context_mod.TEST_ROLES else ""
            notes.append(f"This is test code ({kind}); the line is {place}{role}.")
        else:
            notes.append(f"This is {kind}; the line is {place}.")
        if test and policy_mod.is_hygiene(finding.rule_id) and not finding.triage:
            kept = policy_mod.exempt(finding)
            if kept:
                notes.append(f"In test code this hygiene finding keeps its severity: {kept}.")
        flows = [] if finding.trace else self._flows_at(finding)  # a trace is shown as it is
        notes.extend(flows)
        notes.extend(self.check_notes.get(finding.location.line, ()))
        if not flows and info is not None:
            params = self._parameters_used(finding, info)
            if params:
                shown = ", ".join(f"`{p}`" for p in params)
                notes.append(f"{shown} {'is a parameter' if len(params) == 1 else 'are parameters'} of "
                             f"`{info.node.name}` (line {info.node.lineno}): the caller decides "
                             f"{'its value' if len(params) == 1 else 'their values'}.")
        used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", finding.snippet))
        for rep in self.analysis.in_force(line):
            if rep.target and rep.kind not in ("mock object",) and \
                    re.split(r"[.\[]", rep.target.removeprefix("environment variable "))[-1] in used:
                notes.append(f"While this line runs, {self.target_text(rep)} is replaced ({rep.kind}, line {rep.line}).")
        return notes

    def _class_at(self, line: int) -> ast.ClassDef | None:
        best = None
        for node in self.index.inner_scopes:
            if isinstance(node, ast.ClassDef) and node.lineno <= line <= (node.end_lineno or node.lineno):
                if best is None or node.lineno >= best.lineno:
                    best = node
        return best

    def _statement_names(self, finding: Finding) -> tuple[ast.stmt | None, list[ast.Name]]:
        """The statement a finding flags (the smallest simple statement over its line, else the
        header of the compound statement starting there) and the names it reads."""
        line = finding.location.line
        if self._simple is None:
            self._simple, self._compound = [], {}
            for node in self.index.parents:
                if not isinstance(node, ast.stmt):
                    continue
                if isinstance(node, _COMPOUND):
                    self._compound.setdefault(node.lineno, node)
                else:
                    self._simple.append(node)
        best = None
        for stmt in self._simple:
            end = stmt.end_lineno or stmt.lineno
            if stmt.lineno <= line <= end and (best is None or end - stmt.lineno < (best.end_lineno or 0) - best.lineno):
                best = stmt
        scope: ast.AST | None = best
        if best is None:
            compound = self._compound.get(line)
            if compound is None or isinstance(compound, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                return None, []
            best, scope = compound, _header_of(compound)
        names = [n for n in ast.walk(scope) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        return best, names

    def _parameters_used(self, finding: Finding, info: context_mod.FunctionInfo) -> list[str]:
        _, names = self._statement_names(finding)
        params = {a.arg for a in [*info.node.args.posonlyargs, *info.node.args.args, *info.node.args.kwonlyargs]}
        params.discard("self")
        params.discard("cls")
        found = []
        for name in names:
            if name.id in params and name.id not in found:
                binding = self.index.binding(name)
                if binding is not None and binding.kind == "param":
                    found.append(name.id)
        return found

    def _flows_at(self, finding: Finding) -> list[str]:
        return list(self.reach_notes.get(finding.location.line, ()))

    def source_kind_in(self, expr: ast.AST | None) -> bool:
        return expr is not None and any(self.source_kind(n) for n in ast.walk(expr))


def quote_candidates(span: str) -> list[str]:
    """How a quotation may appear in the source: as written, up to a ``...`` cut, without a
    trailing ``()``, or (a dotted qualified name the index resolved) by its last part."""
    span = " ".join(span.split())
    found = [span]
    if span.endswith("..."):
        found.append(span[:-3].rstrip())
    if span.endswith("()"):
        found.append(span[:-2])
    if re.fullmatch(r"[A-Za-z_][\w.]*(\(\))?", span) and "." in span:
        found.append(span.removesuffix("()").rsplit(".", 1)[-1])
    return [c for c in found if c]


def finding_key(finding: Finding) -> str:
    loc = finding.location
    return f"{finding.rule_id}:{loc.line}:{loc.col}"


# ---------------------------------------------------------------------- intra-function flow (narration only)


class _Flow:
    """Follows outside data through one function, in statement order, far enough to say where it
    comes from, where it is validated and which outside call or finding it reaches. It is a
    narration aid: the data-flow rules (``trace`` findings) are the analysis of record."""

    def __init__(self, builder: _Builder, info: context_mod.FunctionInfo):
        self.b = builder
        self.info = info
        self.tainted: dict[str, Origin] = {}
        self.validated: dict[str, tuple[int, str]] = {}

    def run(self) -> None:
        for stmt in _statements(self.info.node.body):
            self._statement(stmt)

    def _origin(self, expr: ast.AST | None) -> Origin | None:
        if expr is None:
            return None
        for node in ast.walk(expr):
            kind = self.b.source_kind(node)
            if kind:
                parent = self.b.index.parent(node)
                if isinstance(parent, ast.Call) and parent.func is node:
                    node = parent
                return Origin(kind, node.lineno, self.b.code(node))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.tainted:
                return self.tainted[node.id]
        return None

    def _validator(self, expr: ast.AST | None) -> str | None:
        if not isinstance(expr, ast.Call):
            return None
        qual = self.b.qual(expr.func)
        if qual in _VALIDATORS:
            return _VALIDATORS[qual]
        name = self.b.last_name(expr.func)
        if qual.startswith("re.") and name in _REGEX_CHECKS or (name in _REGEX_CHECKS and isinstance(expr.func, ast.Attribute)
                                                                 and not qual.startswith("re.")):
            return f"`{name}` checks it against a regular expression"
        if qual in _SUBPROCESS or name in ("check_output", "check_call", "check_returncode"):
            return None
        if name.startswith(("validate", "is_valid", "check_")) or name.endswith(("is_uuid_like", "_validator")):
            return f"`{name}` validates it"
        return None

    def _statement(self, stmt: ast.stmt) -> None:
        b = self.b
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            value = stmt.value
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            self._reach(stmt)
            check = self._validator(value)
            origin = self._origin(value)
            if check and origin is not None:
                for name in names:
                    self.tainted.pop(name, None)
                    self.validated[name] = (stmt.lineno, check)
                b.sections["data"].append(b.item(stmt, f"validation: {check}" + (
                    f"; `{names[0]}` holds the result" if names else "")))
                return
            if origin is None:
                if not isinstance(stmt, ast.AugAssign):
                    for name in names:
                        self.tainted.pop(name, None)
                return
            direct = b.source_kind_in(value)
            quiet = any(isinstance(n, ast.Call) and n in b.outside_calls for n in ast.walk(value))
            for name in names:
                if direct:
                    new = Origin(origin.kind, origin.line, origin.code, [(name, stmt.lineno)])
                    b.sections["data"].append(b.item(stmt, f"source: {_SOURCE_WORDS[origin.kind]}, bound to `{name}`"))
                else:
                    new = Origin(origin.kind, origin.line, origin.code, [*origin.via, (name, stmt.lineno)])
                    src = origin.via[-1] if origin.via else None
                    came = f"`{src[0]}` (line {src[1]})" if src else f"line {origin.line}"
                    if not quiet:
                        b.sections["data"].append(b.item(stmt, f"`{name}` is derived from {came}: "
                                                               f"{_SOURCE_WORDS[origin.kind]}"))
                self.tainted[name] = new
            return
        if isinstance(stmt, ast.If):
            self._guard(stmt)
            self._reach(stmt, header=True)
            return
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)):
            self._reach(stmt, header=True)
            return
        self._reach(stmt)
        call = stmt.value if isinstance(stmt, ast.Expr) else stmt.test if isinstance(stmt, ast.Assert) else None
        check = self._validator(call) if isinstance(call, ast.Call) else None
        if check:  # validate_host(host) on its own raises on bad input
            used = [n.id for n in ast.walk(call) if isinstance(n, ast.Name) and n.id in self.tainted
                    and self.tainted[n.id].kind in _UNTRUSTED]
            for name in used:
                self.tainted.pop(name, None)
                self.validated[name] = (stmt.lineno, check)
            if used:
                self.b.sections["data"].append(self.b.item(stmt, f"validation: {check} (`{used[0]}`)"))

    def _guard(self, stmt: ast.If) -> None:
        exits = any(isinstance(s, (ast.Raise, ast.Return)) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                    and self.b.last_name(s.value.func) in ("abort", "exit", "fail", "bad_request"))
                    for s in stmt.body)
        if not exits:
            return
        used = [n.id for n in ast.walk(stmt.test) if isinstance(n, ast.Name) and n.id in self.tainted
                and self.tainted[n.id].kind in _UNTRUSTED]
        if not used:
            return
        checks = [self._validator(n) for n in ast.walk(stmt.test) if isinstance(n, ast.Call)]
        checks = [c for c in checks if c]
        allow = any(isinstance(n, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in n.ops)
                    for n in ast.walk(stmt.test))
        is_type = any(isinstance(n, ast.Call) and self.b.last_name(n.func) == "isinstance" for n in ast.walk(stmt.test))
        name = used[0]
        test_line = (stmt.test.lineno, stmt.test.end_lineno or stmt.test.lineno)
        code = self.b.code(stmt.test)
        if checks or allow or is_type:
            how = checks[0] if checks else "an allow-list check" if allow else "a type check"
            for n in set(used):
                self.tainted.pop(n, None)
                self.validated[n] = (stmt.lineno, how)
            self.b.sections["data"].append(Item(test_line, code, f"validation: `{name}` is rejected unless this "
                                                                  f"check passes: {how}"))
        else:
            self.b.sections["data"].append(Item(test_line, code, f"presence check only: `{name}` is rejected when "
                                                                  "empty, but its content is not validated"))

    def _reach(self, stmt: ast.stmt, header: bool = False) -> None:
        """Outside calls and findings in ``stmt`` that use outside data not validated on the way."""
        b = self.b
        scope = _header_of(stmt) if header else stmt
        finding_lines = {f.location.line for f in b.findings}
        for node in ast.walk(scope):
            if not isinstance(node, ast.Call):
                continue
            is_sink = node in b.outside_calls or node.lineno in finding_lines
            if not is_sink or self._validator(node):
                continue
            used = []
            checked = []
            for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                for sub in ast.walk(arg):
                    if not (isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)):
                        continue
                    if sub.id in self.tainted and sub.id not in used and self.tainted[sub.id].kind in _UNTRUSTED:
                        used.append(sub.id)
                    elif sub.id in self.validated and sub.id not in self.tainted and sub.id not in checked:
                        checked.append(sub.id)
            if checked and node.lineno in finding_lines:
                name = checked[0]
                line, how = self.validated[name]
                b.check_notes.setdefault(node.lineno, []).append(
                    f"`{name}` passed a check at line {line} before this line ({how}); whether that check "
                    "is enough for this use decides the risk.")
            if not used:
                continue
            name = used[0]
            origin = self.tainted[name]
            called = b.last_name(node.func) or "the call"
            chain = "".join(f" -> `{n}` (line {ln})" for n, ln in origin.via)
            first = f"`{origin.code}` (line {origin.line})"
            fn = self.info.node
            note = (f"`{name}` carries {_SOURCE_WORDS[origin.kind]} from {first}{chain} into `{called}` at line "
                    f"{node.lineno}; secreview sees no validation of it in `{fn.name}` (line {fn.lineno}) on the way")
            b.sections["data"].append(Item((node.lineno, node.end_lineno or node.lineno), "", note))
            b.reach_notes.setdefault(node.lineno, []).append(
                f"{_SOURCE_WORDS[origin.kind].capitalize()} reaches this call with no validation on the way that secreview "
                f"sees: {first}{chain}.")


# ---------------------------------------------------------------------- small helpers


def _statements(body: list[ast.stmt]):
    """The statements of a body in source order, nested blocks included, nested definitions not."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield stmt
        inner: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            value = getattr(stmt, name, None)
            if isinstance(value, list):
                inner.extend(v for v in value if isinstance(v, ast.stmt))
        for handler in getattr(stmt, "handlers", ()) or ():
            inner.extend(handler.body)
        for case in getattr(stmt, "cases", ()) or ():
            inner.extend(case.body)
        inner.sort(key=lambda n: (n.lineno, n.col_offset))
        stack.extend(reversed(inner))


def _header_of(stmt: ast.stmt) -> ast.AST:
    """The part of a compound statement evaluated before its body (test, iterator, context)."""
    if isinstance(stmt, (ast.If, ast.While)):
        return stmt.test
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return stmt.iter
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return ast.Tuple(elts=[i.context_expr for i in stmt.items], ctx=ast.Load())
    return ast.Tuple(elts=[], ctx=ast.Load())


def _plain(expr: ast.AST) -> str:
    """Dotted text of a name or attribute chain (``self.api``), else ''."""
    return ".".join(attribute_chain(expr, require_name=True))


def _literal(node: ast.AST | None):
    if isinstance(node, ast.Constant):
        return node.value
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _literal_data(node: ast.AST | None, depth: int = 0) -> bool:
    """A value written out in full: constants, and containers of constants (names allowed inside)."""
    if node is None or depth > 8:
        return False
    if isinstance(node, ast.Constant):
        return node.value is not None and node.value is not Ellipsis
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return bool(node.elts) and all(_literal_data(e, depth + 1) or isinstance(e, ast.Name) for e in node.elts) \
            and any(_literal_data(e, depth + 1) for e in node.elts)
    if isinstance(node, ast.Dict):
        values = [v for v in node.values]
        return bool(values) and all(k is None or _literal_data(k, depth + 1) for k in node.keys) \
            and all(_literal_data(v, depth + 1) or isinstance(v, ast.Name) for v in values) \
            and any(_literal_data(v, depth + 1) for v in values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _literal_data(node.operand, depth + 1)
    return False


_FIXTURE_KINDS = (
    (re.compile(r"Polic"), "policy", "policy fixture `{n}`: the authorization policy the API enforces in this test"),
    (re.compile(r"API|Api"), "api", "API fixture `{n}`: serves the REST API inside the test process"),
    (re.compile(r"Neutron|Network"), "fake-service", "fake network service `{n}`: answers network calls in place of "
                                                     "the real service"),
    (re.compile(r"Glance|Image"), "fake-service", "fake image service `{n}`: answers image calls in place of the "
                                                  "real service"),
    (re.compile(r"Cinder|Volume"), "fake-service", "fake volume service `{n}`: answers volume calls in place of "
                                                   "the real service"),
    (re.compile(r"Placement"), "fake-service", "placement fixture `{n}`: runs the placement service inside the "
                                               "test process"),
    (re.compile(r"Database|DB"), "database", "database fixture `{n}`: a database set up for this test"),
    (re.compile(r"^Fake|^Stub"), "fake-service", "fake `{n}`: stands in for the real component"),
    (re.compile(r"TempDir|TempHome|Tmp"), "tempdir", "fixture `{n}`: a temporary directory removed after the test"),
)


def _fixture_note(name: str) -> tuple[str, str]:
    for pattern, kind, note in _FIXTURE_KINDS:
        if pattern.search(name):
            return kind, note.format(n=name)
    return "fixture", f"fixture `{name}`"


def _setup_closing(kinds: set[str], real_outside: int) -> str:
    parts = []
    if kinds & {"policy", "api", "fake-service", "database", "tempdir", "fixture"}:
        parts.append("fixtures installed with useFixture are removed by the test clean-up when each test ends")
    if "service" in kinds:
        parts.append("the services are started by the test inside its own process")
    if kinds & {"api", "fake-service"} and not real_outside:
        parts.append("the API and the fake services answer inside the test process, so no real cloud service, "
                     "account or network is involved")
    if "flags" in kinds:
        parts.append("configuration overrides apply to this test only")
    if "pytest-fixture" in kinds:
        parts.append("pytest fixtures run only for the tests that request them")
    if kinds & {"set-up", "tear-down"} and not parts:
        parts.append("this code prepares the tests; no production code path runs it")
    if not parts:
        return ""
    text = "; ".join(parts)
    return "Why this carries no real risk: " + text[0] + text[1:] + "."


def _mocks_closing(kinds: set[str]) -> str:
    parts = []
    if kinds & {"mock.patch", "mock.patch.object", "mock.patch.dict", "mock.patch.multiple"}:
        parts.append("each patch is undone when its decorated test or with block ends")
    if kinds & {"stub_out", "testtools patch", "stubs.Set", "mox stub", "stub"}:
        parts.append("stubs installed through the test object are undone by its clean-up")
    if kinds & {"fixtures.MonkeyPatch", "fixtures.MockPatch", "fixtures.MockPatchObject", "fixtures.MockPatchMultiple"}:
        parts.append("patching fixtures are removed when the test ends")
    if "monkeypatch" in kinds:
        parts.append("pytest's monkeypatch reverts its changes after the test")
    fakes = [word for key, word in (("mock object", "mock objects"), ("fake module", "fake modules"),
                                    ("fake class", "fake classes")) if key in kinds]
    if fakes:
        parts.append(f"{_and(fakes)} exist only in the test process")
    if not parts:
        return ""
    return ("Why this carries no real risk: " + "; ".join(parts) +
            ". The replacements change what the test exercises, not what production runs.")


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
