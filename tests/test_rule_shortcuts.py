"""Per-file shortcuts of the access and OpenStack rules give the answers of the slow way they
replace (tests/test_registry.py checks the findings; these check the helpers themselves)."""

import ast
import re
import textwrap

import pytest

from fixture_harness import fixture_files
from secreview import engine
from secreview.rules import access
from secreview.rules.base import FileContext
from secreview.source.index import Index
from secreview.source.parse import parse_text


def context(text: str, collect: frozenset | None = None) -> FileContext:
    source = parse_text(text, "mod.py")
    assert not isinstance(source, engine.Skipped), source
    return FileContext(source, Index(source.tree, "mod", collect))


def fixture_contexts():
    for path in fixture_files():
        with open(path, encoding="utf-8") as handle:
            source = parse_text(handle.read(), path)
        if not isinstance(source, engine.Skipped):
            yield FileContext(source, Index(source.tree, "mod"))


def joined_mentions(ctx: FileContext, node: ast.AST, words: tuple[str, ...]) -> bool:
    """What FileContext.mentions replaces."""
    body = "\n".join(ctx.source.lines[node.lineno - 1:node.end_lineno or node.lineno])
    return any(word in body for word in words)


CODE = [
    "import nova.context as nc",
    "def a(ctx):",
    "    return ctx.elevated()",
    "def b():",
    "    x = 'admin_context'  # also in a string",
    "    return x",
    "",
    "def c():  # a comment{extra}elevated",
    "    pass",
    "class D:",
    "    def e(self):",
    "        s = \"\"\"elevated",
    "admin_context{extra}\"\"\"",
    "    def f(self): return nc",
]


@pytest.mark.parametrize("brk,extra", [("\n", ""), ("\r\n", ""), ("\r", ""), ("\n", "\f"), ("\n", "\x0b"),
                                       ("\n", "\x1c"), ("\n", "\x85"), ("\n", "\u2028"), ("\r\n", "\f")],
                         ids=repr)
def test_mentions_is_the_joined_text_test(brk, extra):
    """Line breaks Python reads as such, and others in comments and strings that only
    str.splitlines (which makes source.lines) breaks at: there its line numbers part from ast's."""
    ctx = context(brk.join(CODE).format(extra=extra) + brk)
    nodes = [*ctx.index.of_type(ast.FunctionDef), *ctx.index.of_type(ast.ClassDef)]
    assert len(nodes) == 6
    for words in (("elevated", "admin_context"), ("nc",), ("admin_context", "context"), ("pass",), ("s = ",)):
        for node in nodes:
            assert ctx.mentions(node, words) == joined_mentions(ctx, node, words), (words, node.lineno)
    assert (ctx.word_lines(("elevated",)) is None) == (brk != "\n" or bool(extra))  # fast path when it can


def test_mentions_on_fixtures():
    words = ("elevated", "admin_context", "get_admin_context", "wsgi", "req")
    for ctx in fixture_contexts():
        for node in ctx.index.functions:
            assert ctx.mentions(node, words) == joined_mentions(ctx, node, words)


def test_request_readers_are_the_functions_that_mention_request_data():
    seen = 0
    for ctx in fixture_contexts():
        readers = access._request_readers(ctx)
        assert readers is not None
        for func in ctx.index.functions:
            assert (func in readers) == access._mentions_request_data(ctx, func), (ctx.path, func.name)
            seen += func in readers
    assert seen > 10


@pytest.mark.parametrize("code", [
    "def f(self):\n    x = self.request.GET\n    def g():\n        return req.params['a']\n    return g\n",
    "from flask import request as r\ndef f():\n    return r.args\nclass C:\n    def m(self): return 1\n",
    "def f[T: req.params](x):\n    return x\ndef g():\n    pass\n",  # a type parameter: slow way
    "def f():\n    return ｒｅｑ.params\n",  # an identifier spelt in other characters (NFKC)
    "def f():\n    return 'required'.params\n",
])
def test_request_readers_on_edge_cases(code):
    ctx = context(code)
    readers = access._request_readers(ctx)
    if "[T:" in code:
        assert readers is None
        return
    for func in ctx.index.functions:
        assert (func in readers) == access._mentions_request_data(ctx, func)


def test_request_readers_need_collected_attributes():
    ctx = context("def f(req):\n    return req.params\n", collect=frozenset({ast.Call}))
    assert access._request_readers(ctx) is None


@pytest.mark.parametrize("text", ["req", "request", "requests", "required", "pre_req", "x.req.y", "request_id",
                                  "(request)", "areq", "req_", "reques", "requestx", "reqreq", "req\n", "requ",
                                  "", "a = request", "prereq request"])
def test_spells_request(text):
    assert access._spells_request(text) == bool(re.search(r"\breq(uest)?\b", text))


# how a controller base's whole dotted name was tested before _is_controller read its last part
CONTROLLER_BASE = re.compile(r"(Controller|MethodView|View|APIView|ViewSet|Resource|Handler)$")


def _is_controller_slowly(cls: ast.ClassDef) -> bool:
    """access._is_controller without its look at the decorators' last names."""
    for base in cls.bases:
        name = access._dotted(base)
        if name and CONTROLLER_BASE.search(name):
            return True
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in stmt.decorator_list:
                name = access._dotted(dec)
                if access._ACTION_DECORATOR.search(name) and ("wsgi" in name or "pecan" in name or "expose" in name):
                    return True
    return False


def test_is_controller_shortcut():
    code = textwrap.dedent("""
        class A:
            @wsgi.action("x")
            def a(self, req): pass
        class B:
            @pecan.expose()()
            def b(self): pass
        class C:
            @mock.patch.object(wsgi, "action")
            def c(self): pass
        class D:
            @expose
            def d(self): pass
        class E:
            @x[0].wsgi_when
            def e(self): pass
        class F:
            @wsgi.myaction
            def f(self): pass
        class G(wsgi.Controller): pass
        class H(Generic[T], views.generic.APIViewSet): pass
        class I(make().BaseView, metaclass=M): pass
        class J(ControllerBase, HandlerMixin): pass
        class K(x.ViewSet): pass
        class L(pecan.rest.RestController): pass
    """)
    contexts = [context(code), *fixture_contexts()]
    controllers = 0
    for ctx in contexts:
        for cls in ctx.index.of_type(ast.ClassDef):
            assert access._is_controller(ctx, cls) == _is_controller_slowly(cls)
            controllers += access._is_controller(ctx, cls)
    assert controllers > 3


def test_request_gate_premises():
    """_may_see_requests reads "no request here" from a text without the words req / request;
    that holds only while these do."""
    from secreview.source.index import CONVENTIONAL_ALIASES

    assert access.REQUEST_NAMES == {"req", "request"}
    assert all(name.endswith(".request") for name in access.REQUEST_OBJECTS)
    assert not any(module.endswith("request") for module in CONVENTIONAL_ALIASES.values())
    assert not access._may_see_requests(context("def f(requests, required):\n    return requests.params\n"))
    assert access._may_see_requests(context("def f(req):\n    pass\n"))
    assert access._may_see_requests(context("x = 'ｒｅｑ'\n"))  # not ASCII: no shortcut


def slow_in_request_functions(ctx: FileContext, nodes: list, body_only: bool = False) -> list:
    """What _in_request_functions answers: the nodes whose function may see request data."""
    kept = []
    for node in nodes:
        func = ctx.index.function_of(node)
        if func is not None and access._takes_request_data(ctx, func, body_only):
            kept.append(node)
    return kept


@pytest.mark.parametrize("text, kept", [
    # spells "request" but no function takes or reads one: every call is ruled out at once
    ("request = None\ndef f(a):\n    g(a)\ndef h():\n    return request\n", 0),
    # one function of two takes a request: only its call is kept
    ("def f(req):\n    g(req.params)\ndef h(a):\n    g(a)\n", 1),
    # a function that reads a request attribute without taking one
    ("from flask import request\ndef f():\n    g(request.args)\ng(1)\n", 1),
    # calls on the first and last lines of a taker, in its decorator and default, in a nested
    # def (not kept: its function takes no request), after a one-line taker, between takers
    ("@deco(g(1))\ndef f(req, a=g(2)): g(req.params)\ng(3)\n"
     "def h(request, body):\n    def inner(x):\n        g(x)\n    k(body)\n    return g(\n        4)\n"
     "g(5)\nclass C:\n    @wsgi.action(g(6))\n    def update(self, req, id, body):\n        return m(id)\n", 9),
])
def test_in_request_functions_matches_the_call_by_call_answer(text, kept):
    ctx = context(text)
    calls = ctx.index.of_type(ast.Call)
    for body_only in (False, True):
        fast = access._in_request_functions(ctx, calls, body_only)
        assert fast == slow_in_request_functions(ctx, calls, body_only)
    assert len(access._in_request_functions(ctx, calls)) == kept


# ---------------------------------------------------------------- the per-file facts of round two

THREADED_CODE = [
    "import threading\n",
    "from concurrent import futures\n",
    "import concurrent.futures as cf\n",
    "from eventlet import greenthread\n",
    "import multiprocessing.dummy as md\n",
    "def f():\n    import _thread\n",
    "def f(pool):\n    pool.submit(g)\n",
    "def f(x):\n    x.spawn_n(g)\n",
    "import ｔhreading\n",  # not ASCII: no shortcut
    "x = 1\n",
    "def f(a):\n    a.count += 1\n",
]


def test_may_be_threaded_holds_for_every_threaded_module():
    from secreview.rules import concurrency

    extra = ["import threading.local as t\n", "from concurrent import futures\n", "def f():\n    import eventlet\n",
             "class C:\n    from multiprocessing import pool\n", "from cotyledon import *\n", "import _thread\n",
             "def f(p):\n    p.spawn_n(g)\n", "global x\nimport greenlet.x as x\n"]
    contexts = [context(code) for code in THREADED_CODE + extra] + list(fixture_contexts())
    for ctx in contexts:  # on the import statements, exactly _threaded's answer from the bindings
        if not concurrency._SPAWNERS & set(ctx.call_names()):
            assert concurrency._may_be_threaded(ctx) == concurrency._threaded(ctx)[0], ctx.source.text
    ruled_out = 0
    for ctx in contexts:
        if not concurrency._may_be_threaded(ctx):
            assert not concurrency._threaded(ctx)[0], ctx.path
            ruled_out += 1
    assert ruled_out > 10
    assert not concurrency._may_be_threaded(context("x = 1\n"))
    assert not concurrency._may_be_threaded(context("from . import threading\nimport threadingx\n"))
    # an index that did not collect the import statements: no module is ruled out
    assert concurrency._may_be_threaded(context("x = 1\n", frozenset({ast.Call})))


def test_import_bindings_are_every_scope_s_imports():
    from secreview.rules import concurrency

    for ctx in [context(code) for code in THREADED_CODE] + list(fixture_contexts()):
        index = ctx.index
        slow = [b for scope in (index.module_scope, *index.inner_scopes.values())
                for bs in scope.bindings.values() for b in bs if b.kind == "import"]
        assert concurrency.import_bindings(ctx) == slow


def test_request_takers_are_the_functions_that_take_request_data():
    contexts = [context("def f(req, body):\n    pass\ndef g(request, server_id):\n    pass\n"
                        "def h(*, req, data):\n    pass\ndef i(req, /, x_id):\n    pass\n"
                        "def j(a, b):\n    return req.params\n"), *fixture_contexts()]
    seen = 0
    for ctx in contexts:
        for body_only in (False, True):
            takers = access._request_takers(ctx, body_only)
            assert takers is not None
            for func in ctx.index.functions:
                assert (func in takers) == access._takes_request_data(ctx, func, body_only), (ctx.path, func.name)
                seen += func in takers
    assert seen > 10


def test_elevated_select_matches_the_slow_test():
    rule = access.ElevatedContextMisuse()
    for ctx in fixture_contexts():
        nodes = ctx.index.of_type(ast.FunctionDef)
        words = access._elevation_words(ctx)
        slow = [] if words is None or not access._may_see_requests(ctx) else [
            node for node in nodes if ctx.mentions(node, words) and access._takes_request_data(ctx, node)]
        assert rule.select(ctx, ast.FunctionDef, nodes) == slow


def test_may_parse_requests_premises_and_answers():
    from secreview.rules import availability
    from secreview.source.index import CONVENTIONAL_ALIASES

    assert availability.REQUEST_NAMES == access.REQUEST_NAMES
    assert all(name.endswith(".request") for name in availability.REQUEST_PROXIES)
    assert all(name.endswith(".loads") for name in availability._JSON_LOADS)
    assert not any(module.endswith("loads") for module in CONVENTIONAL_ALIASES.values())
    ruled_out = 0
    for ctx in fixture_contexts():
        if not availability._may_parse_requests(ctx):
            ruled_out += 1
            for node in ctx.index.of_type(ast.Subscript):
                assert availability._mapping_origin(ctx, node.value) is None
    assert ruled_out > 10
    assert availability._may_parse_requests(context("from json import loads as l\nx = l(y)['a']\n"))
    assert not availability._may_parse_requests(context("x = y['a']\n"))


def test_join_candidates_match_the_resolving_search():
    from secreview.rules import filesystem

    def slow(ctx):
        for call in ctx.index.of_type(ast.Call):
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "format":
                if isinstance(func.value, ast.Constant) and isinstance(func.value.value, str) \
                        and func.value.value.startswith("{"):
                    yield call
            elif (isinstance(func, ast.Attribute) and func.attr == "joinpath") \
                    or ctx.qualname(func) in filesystem._OS_JOINERS:
                yield call
        for operation in ctx.index.of_type(ast.BinOp):
            if isinstance(operation.op, (ast.Div, ast.Mod, ast.Add)):
                yield operation
        yield from ctx.index.of_type(ast.JoinedStr)

    code = "import os, posixpath\nfrom os.path import join as j\np = os.path\na = p.join(x, y)\nb = j(x, y)\n" \
           "c = posixpath.join(x, y)\nd = ''.join(z)\ne = q.joinpath(x)\nf = o.join\n"
    for ctx in [context(code), *fixture_contexts()]:
        assert list(filesystem._candidate_nodes(ctx)) == list(slow(ctx))


def test_holds_answers_as_a_search_of_the_text_once_per_word():
    from secreview.rules.base import FileContext
    from secreview.source.index import Index
    from secreview.source.parse import parse_text

    source = parse_text("import ssl\nctx = ssl.create_default_context()\nctx.verify_mode = ssl.CERT_NONE\n", "t.py")
    ctx = FileContext(source, Index(source.tree), "production")
    for word in ("verify", "verify_mode", "wrap_socket", "ssl.", "\n"):
        assert ctx.holds(word) == (word in source.text)
        assert ctx.holds(word) == (word in source.text)  # (the second answer from the memo)
    assert ctx._holds == {"verify": True, "verify_mode": True, "wrap_socket": False, "ssl.": True, "\n": True}


def test_threaded_matches_the_module_by_module_search():
    """_threaded's set and startswith tests, its stop at the first native import and its look at
    the calls without resolving them give the answer of the first way it was written."""
    from secreview.rules import concurrency

    def slow(ctx):
        green = native = False
        for binding in concurrency.import_bindings(ctx):
            name = binding.qualname or ""
            if any(name == m or name.startswith(m + ".") for m in concurrency._THREAD_MODULES):
                green = True
            if any(name == m or name.startswith(m + ".") for m in concurrency._NATIVE_THREADS):
                native = True
        if not green:
            if any(isinstance(call.func, ast.Attribute) and call.func.attr in concurrency._SPAWNERS
                   for call in ctx.index.of_type(ast.Call)):
                green = True
        return green, native

    extra = ["import threadingx\n", "import threading.local\n", "from concurrent import futures\n",
             "import eventlet\nimport threading\n", "from multiprocessing import pool\n",
             "import multiprocessing\n", "def f(p):\n    p.spawn_n(g)\n", "from . import threading\n",
             "import greenlet, _thread\n"]
    contexts = [context(code) for code in THREADED_CODE + extra] + list(fixture_contexts())
    answers = set()
    for ctx in contexts:
        answer = concurrency._threaded(ctx)
        assert answer == slow(ctx), ctx.source.text[:80]
        answers.add(answer)
    assert answers == {(False, False), (True, False), (True, True)}


def test_function_calls_are_each_functions_own_calls_resolved():
    """function_calls (SR701, SR702) gives the calls whose innermost function is the one asked
    (None: module level), each with its qualified name, in source order, as the first way it was
    written (every call of the file resolved and grouped at once), asked in any order and again."""
    from secreview.rules import concurrency

    code = ("import os\nos.remove(p)\n\n@deco(os.path.exists(q))\ndef f(a=os.getcwd()):\n"
            "    def g():\n        return os.path.isdir(a)\n    if os.path.exists(a):\n        os.remove(a)\n"
            "    return g() + [os.stat(x) for x in a]\n\nclass C:\n    def m(self):\n        open(self.p)\n")
    for ctx in [context(code)] + list(fixture_contexts()):
        index = ctx.index
        expected: dict = {}
        for call in index.of_type(ast.Call):
            expected.setdefault(index.function_of(call), []).append((call, index.qualname(call.func)))
        for calls in expected.values():
            calls.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
        asked = [None, *reversed(index.functions)]
        for function in asked + asked:
            assert concurrency.function_calls(ctx, "test.calls", function) == expected.get(function, [])


def test_sr704_select_keeps_what_check_node_can_report():
    """SR704.select drops every node of a module that _may_be_threaded rules out, and the ``if``
    statements with no membership test; check_node reports none of those."""
    from secreview.rules import concurrency

    rule = concurrency.UnsynchronizedSharedState()
    for ctx in [context(code) for code in THREADED_CODE] + list(fixture_contexts()):
        for node_type in rule.nodes:
            nodes = ctx.index.of_type(node_type)
            kept = rule.select(ctx, node_type, nodes)
            dropped = [node for node in nodes if node not in kept]
            if not concurrency._may_be_threaded(ctx):
                assert kept == []
            elif node_type is ast.If:
                assert all(concurrency._membership_container(node.test) is None for node in dropped)
            before = len(ctx.findings)
            for node in dropped:
                rule.check_node(ctx, node)
            assert len(ctx.findings) == before


def test_mapping_origin_turns_down_the_attributes_it_skips():
    """_mapping_origin returns None for an attribute outside _MAPPING_FIELDS without asking
    _request_field, which would have found nothing it accepts."""
    from secreview.rules import availability

    code = ("import flask\nclass H(BaseHTTPRequestHandler):\n    def do_GET(self):\n"
            "        return self.headers['a'], self.path['b'], self.rfile\n"
            "def v(request):\n    return request.text['a'], request.path['b'], request.json['c'], request.foo['d']\n")
    seen = 0
    for ctx in [context(code), *fixture_contexts()]:
        for node in ctx.index.of_type(ast.Attribute):
            if node.attr in availability._MAPPING_FIELDS:
                continue
            origin = availability._request_field(ctx, node)
            seen += origin is not None
            assert origin is None or origin.framework == "http.server" or origin.field in availability._NOT_MAPPINGS
            assert availability._mapping_origin(ctx, node) is None
    assert seen >= 3


def test_recursive_functions_match_the_call_by_call_search():
    """_recursive_functions skips the method calls on anything but ``self`` / ``cls`` before the
    lookup of their function: it finds what looking up every call finds."""
    from secreview.rules import availability

    def slow(ctx):
        result = {}
        names = {f.name for f in ctx.index.functions}
        for call in ctx.index.of_type(ast.Call):
            called = call.func
            called = called.attr if type(called) is ast.Attribute else called.id if type(called) is ast.Name else ""
            if called not in names:
                continue
            func = ctx.index.function_of(call)
            if func is None or func.name != called or availability._callee_function(ctx, call) is not func:
                continue
            params = [a.arg for a in func.args.args]
            offset = 1 if params and params[0] in ("self", "cls") and isinstance(call.func, ast.Attribute) else 0
            for i, arg in enumerate(call.args):
                if i + offset < len(params) and availability._part_of(ctx, arg, params[i + offset]):
                    result.setdefault(func, set()).add(i + offset)
        return result

    code = ("def walk(node):\n    for c in node:\n        walk(c)\n        node.walk(c)\n"
            "class T:\n    def get(self, d):\n        self.get(d['a'])\n        other.get(d['b'])\n"
            "    @classmethod\n    def each(cls, d):\n        return [cls.each(v) for v in d.values()]\n"
            "    def x(self, d):\n        self.y.x(d[1])\n"
            # calls in a decorator, a default, a nested def of the same name, a call over lines
            "@deco(walk2(a[1]))\ndef walk2(n=walk2(b[0])):\n    def walk2(m):\n        return walk2(m[0])\n"
            "    return walk2(\n        n[1])\n"
            "def walk2(p):\n    return walk2(p.x)\n"
            "def walk3(n): return walk3(n[0])\n"  # on the line of the def
            "class K:\n    @self.walk(d[0])\n    def walk(self, d):\n        pass\n")  # in its decorator
    found = 0
    for ctx in [context(code), *fixture_contexts()]:
        fast = availability._recursive_functions(ctx)
        assert fast == slow(ctx)
        found += len(fast)
    assert found >= 5


def test_sr913_reports_what_the_constant_test_first_reports():
    """SR913.check_node tests for a side to report before it tests for a constant side: the
    findings are those of the first order on every fixture."""
    from secreview.rules import exposure

    class First(exposure.TimingUnsafeCompare):
        def check_node(self, ctx, node):
            if len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq)) \
                    and (exposure._constantish(ctx, node.left) or exposure._constantish(ctx, node.comparators[0])):
                return
            super().check_node(ctx, node)

    code = ("import hmac\ndef f(key, sig, api_key, TOKEN):\n    a = hmac.new(key).hexdigest() == sig\n"
            "    b = api_key == API_KEY\n    c = sig == None\n    d = TOKEN == api_key\n    e = len(sig) == 3\n")
    reported = 0
    for make in (lambda: [context(code)], fixture_contexts):
        fast = [(f.location, f.message, f.confidence) for ctx in make() for f in _run(exposure.TimingUnsafeCompare(), ctx)]
        slow = [(f.location, f.message, f.confidence) for ctx in make() for f in _run(First(), ctx)]
        assert fast == slow
        reported += len(fast)
    assert reported >= 2


def _run(rule, ctx):
    for node in ctx.index.of_type(ast.Compare):
        rule.check_node(ctx, node)
    return ctx.findings


def test_sr606_select_keeps_the_functions_with_join_candidates():
    """SR606.select drops the functions that have no join site candidate, on which check_node
    returns at once; it keeps the others."""
    from secreview.rules import filesystem

    rule = filesystem.PathJoinedUnderRootUnchecked()
    kept_some = dropped_some = False
    for ctx in fixture_contexts():
        for node_type in (ast.FunctionDef, ast.AsyncFunctionDef):
            nodes = ctx.index.of_type(node_type)
            kept = rule.select(ctx, node_type, nodes)
            assert kept == [node for node in nodes if filesystem._site_candidates(ctx).get(node)]
            kept_some |= bool(kept)
            dropped_some |= len(kept) < len(nodes)
    assert kept_some and dropped_some


def test_sr912_reports_what_asking_for_the_handler_first_reports():
    """SR912.check_node asks whether the function answers a request only at a return or a render
    call: the findings are those of asking it first, on every fixture."""
    from secreview.rules import exposure

    class First(exposure.ExceptionTextToCaller):
        def check_node(self, ctx, node):
            exposure._handler_function(ctx, ctx.index.function_of(node))
            super().check_node(ctx, node)

    def run(rule, ctx):
        for node in ctx.index.of_type(ast.ExceptHandler):
            rule.check_node(ctx, node)
        return [(f.location, f.message) for f in ctx.findings]

    code = ("def view(request):\n    try:\n        x()\n    except Exception as e:\n        return str(e)\n"
            "def other(a):\n    try:\n        x()\n    except Exception as e:\n        return str(e)\n"
            "def page(request):\n    try:\n        x()\n    except Exception as e:\n        render(request, 'a', {'e': str(e)})\n")
    reported = 0
    for make in (lambda: [context(code)], fixture_contexts):
        fast = [found for ctx in make() for found in run(exposure.ExceptionTextToCaller(), ctx)]
        slow = [found for ctx in make() for found in run(First(), ctx)]
        assert fast == slow
        reported += len(fast)
    assert reported >= 2


def test_sr805_select_keeps_what_check_node_can_report():
    """SR805.select drops the subscripts of a mapping that _mapping_origin turns down at once (an
    attribute outside _MAPPING_FIELDS, a subscript, a literal ...): check_node reports none of
    them, and every subscript it reports on is kept."""
    from secreview.rules import availability

    rule = availability.UnhandledRequestParse()
    code = ("import json\nclass C(wsgi.Controller):\n    def update(self, req, id, body):\n"
            "        a = body['server']\n        b = req.GET['limit']\n        c = self.x['y']\n"
            "        d = json.loads(req.body)['k']\n        e = {'a': 1}['a']\n        f = [1][0]\n"
            "        g = req.params['p']['q']\n        h = a['name']\n        return req.foo['z']\n")
    dropped_seen = kept_seen = 0
    for ctx in [context(code), *fixture_contexts()]:
        reported, dropped = _select_split(rule, ctx, ast.Subscript)
        kept_seen += reported
        dropped_seen += dropped
    assert kept_seen >= 3 and dropped_seen >= 10


def _select_split(rule, ctx: FileContext, node_type: type) -> tuple[int, int]:
    """Check the nodes ``rule.select`` drops (asserting they report nothing), then those it
    keeps: (findings of the kept nodes, number of nodes dropped)."""
    nodes = ctx.index.of_type(node_type)
    kept = rule.select(ctx, node_type, nodes)
    dropped = [node for node in nodes if node not in kept]
    before = len(ctx.findings)
    for node in dropped:
        rule.check_node(ctx, node)
    assert len(ctx.findings) == before
    for node in kept:
        rule.check_node(ctx, node)
    return len(ctx.findings) - before, len(dropped)


def test_sr502_select_drops_only_what_check_node_does_not_report():
    """SR502.select passes over short words without looking up what they are bound to:
    _looks_secret turns each down, and check_node reports none of the constants select drops."""
    from secreview.rules import secrets

    for word in ("name", "Pass", "ACTIVE", "qwErTyU", "éèàüÿ", "ΣΦΧΨΩ", "abcdefg", "zZzZ"):
        assert word.isalpha() and 4 <= len(word) < 8
        assert not secrets._looks_secret(word, True) and not secrets._looks_secret(word, False)
    rule = secrets.HardcodedSecret()
    code = ("password = 'hunter2x'\nPWD = 'xQzvWkJ'\ntoken = 'Ab3dEf9'\nsecret = 'ÉtéNuit'\n"
            "def f(api_key='aZ9qR2wX7'):\n    return {'password': 'qwErTyU', 'token': 'r4Nd0mT0k3n'}\n")
    reported = 0
    for ctx in [context(code), *fixture_contexts()]:
        reported += _select_split(rule, ctx, ast.Constant)[0]
    assert reported >= 3


BUILTIN_CALLS = [
    "x = len(a)\ny = dict(b=1)\nprint(open(p))",
    "def len(x):\n    return 0\nlen([])\nsorted(a)",  # a def shadows the builtin
    "class C:\n    dict = 1\n    def m(self):\n        return dict()\n",  # bound in a class only
    "def f():\n    global set\n    set = 3\n    return set()\n",
    "from os import *\nlen(x)\neval(y)\n",  # a star import does not change a builtin's name
    "for list in x:\n    list()\n[str for str in y if str()]\n",
    "def f(len=len):\n    return len(a), isinstance(b, int), exec(c)\n",
]


@pytest.mark.parametrize("code", BUILTIN_CALLS)
def test_quiet_builtins_resolve_to_no_rule(code):
    """The engine skips ``NAME(...)`` for a builtin in ``quiet_builtins`` that the file binds
    nowhere: resolving it gives ``builtins.NAME`` and no rule."""
    ruleset = engine.RuleSet.from_options(engine.Options())
    assert "open" not in ruleset.quiet_builtins and "eval" not in ruleset.quiet_builtins
    assert "len" in ruleset.quiet_builtins
    index = context(code).index
    skipped = 0
    for call in index.of_type(ast.Call):
        func = call.func
        if type(func) is ast.Name and func.id in ruleset.quiet_builtins and not index.bound_anywhere(func.id):
            skipped += 1
            assert index.qualname(func) == f"builtins.{func.id}"
            assert ruleset.call_rules(index.qualname(func), func) == ()
        elif type(func) is ast.Name:
            bound = any(func.id in scope.bindings for scope in index._all_scopes())
            assert index.bound_anywhere(func.id) == bound
    assert skipped or "len" not in code


def test_bound_anywhere_is_the_scan_of_the_scopes():
    for ctx in fixture_contexts():
        index = ctx.index
        for name in {node.id for node in ast.walk(ctx.source.tree) if type(node) is ast.Name}:
            assert index.bound_anywhere(name) == any(name in scope.bindings for scope in index._all_scopes())


def test_walk_nodes_yields_the_nodes_of_ast_walk_in_its_order():
    """concurrency.walk_nodes (SR805's guards of a function, SR711's names of a function, the
    access rules) yields the nodes ast.walk yields but the contexts and operators, in its order."""
    from secreview.rules import concurrency

    leaves = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
    for ctx in [context("def f(a, *b, c=1, **d):\n    if 'k' in a and not b[0].isdigit():\n        return -a or d\n")] \
            + list(fixture_contexts()):
        for root in [ctx.index.tree, *ctx.index.functions]:
            found = list(concurrency.walk_nodes(root))
            assert list(map(id, found)) == [id(node) for node in ast.walk(root) if not isinstance(node, leaves)]


def test_sr802_select_keeps_the_loops_of_files_that_call_recv():
    """SR802.select keeps the ``while`` loops only of a file with a call named ``recv`` (or with
    type parameters, which the index does not visit): check_node reports none elsewhere."""
    from secreview.rules import availability

    rule = availability.UnboundedRead()
    reported = ("import socket\ndef serve(sock):\n    data = b''\n    while True:\n"
                "        chunk = sock.recv(4096)\n        if not chunk:\n            break\n        data += chunk\n"
                "    return data\n")
    quiet = reported.replace("sock.recv(4096)", "sock.read(4096)")
    typed = quiet.replace("def serve(sock):", "def serve[T: x.y](sock):")
    for code, kept in ((reported, True), (quiet, False), (typed, True)):
        ctx = context(code)
        loops = ctx.index.of_type(ast.While)
        assert rule.select(ctx, ast.While, loops) == (loops if kept else [])
    assert len(engine.review_text(reported, select=["SR802"]).findings) == 1
    for ctx in list(fixture_contexts()):
        loops = ctx.index.of_type(ast.While)
        if loops and not rule.select(ctx, ast.While, loops):
            for loop in loops:
                rule.check_node(ctx, loop)
            assert not [f for f in ctx.findings if f.rule_id == "SR802"]
