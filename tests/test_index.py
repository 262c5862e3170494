"""Qualified-name resolution and scopes in the index."""

import ast
import pathlib
import textwrap

import pytest

from secreview.source.index import Index


def calls(source: str) -> dict[str, str | None]:
    """Map each call's source text (first occurrence) -> its qualified name."""
    source = textwrap.dedent(source)
    tree = ast.parse(source)
    index = Index(tree, "mod")
    found = {}
    for call in index.of_type(ast.Call):
        text = ast.get_source_segment(source, call.func)
        found.setdefault(f"{call.lineno}:{text}", index.call_name(call))
    return found


def test_import_aliases():
    assert calls("""
        from subprocess import call as c
        import os.path as p
        import xml.etree.ElementTree as ET
        import os.path
        c("ls")
        p.join("a")
        ET.parse(x)
        os.path.exists(y)
        os.system(z)
    """) == {
        "6:c": "subprocess.call",
        "7:p.join": "os.path.join",
        "8:ET.parse": "xml.etree.ElementTree.parse",
        "9:os.path.exists": "os.path.exists",
        "10:os.system": "os.system",
    }


def test_builtins_and_unknown_names():
    assert calls("""
        eval(a)
        undefined_thing(b)
        import builtins
        builtins.exec(c)
    """) == {"2:eval": "builtins.eval", "3:undefined_thing": "undefined_thing", "5:builtins.exec": "builtins.exec"}


def test_a_segment_without_imports_reads_unbound_names_as_modules():
    assert calls("""
        def build(name):
            subprocess.call("javac " + name, shell=True)
            os = None
    """) == {"3:subprocess.call": "subprocess.call"}
    assert calls("""
        def build(name):
            os.system(name)
        def other():
            os = make()
    """) == {"3:os.system": None, "5:make": "make"}


def test_rebinding_in_function_shadows_import():
    assert calls("""
        import os
        def f(value):
            os = make_fake()
            os.system(value)
        def g(os):
            os.system(1)
        def h():
            os.system(2)
    """) == {"4:make_fake": "make_fake", "5:os.system": "make_fake().system", "7:os.system": None, "9:os.system": "os.system"}


def test_class_scope_is_not_seen_from_methods():
    assert calls("""
        import subprocess
        class Runner:
            subprocess = None
            subprocess.run(1)
            def go(self):
                subprocess.run(2)
    """) == {"5:subprocess.run": None, "7:subprocess.run": "subprocess.run"}


def test_flow_order_within_a_scope():
    assert calls("""
        import pickle
        pickle.loads(a)
        import json as pickle
        pickle.loads(b)
    """) == {"3:pickle.loads": "pickle.loads", "5:pickle.loads": "json.loads"}


def test_function_sees_module_import_defined_later():
    assert calls("""
        def f(x):
            return yaml.load(x)
        import yaml
    """) == {"3:yaml.load": "yaml.load"}


def test_alias_assignment_and_instances():
    assert calls("""
        import subprocess
        from flask import Flask
        runner = subprocess.Popen
        runner(cmd)
        app = Flask(__name__)
        app.run(debug=True)
        session = requests_lib.Session()
    """) == {
        "5:runner": "subprocess.Popen",
        "6:Flask": "flask.Flask",
        "7:app.run": "flask.Flask().run",
        "8:requests_lib.Session": "requests_lib.Session",
    }


def test_global_declaration_binds_module_name():
    assert calls("""
        def setup():
            global loader
            import pickle as loader
        def use(data):
            loader.loads(data)
    """) == {"6:loader.loads": "pickle.loads"}



def test_global_and_nonlocal_sets_of_a_scope():
    # scopes share one empty globals / nonlocals until a statement gives them their own set
    source = textwrap.dedent("""
        def outer():
            import json as loader
            def inner():
                nonlocal loader
                import pickle as loader
            def other():
                global a
                global b
                a = b = 1
            def plain():
                pass
            loader.loads(x)
        a.run()
    """)
    index = Index(ast.parse(source), "mod")
    scopes = {scope.name: scope for scope in index.inner_scopes.values()}
    assert scopes["mod.outer.inner"].nonlocals == {"loader"}
    assert scopes["mod.outer.other"].globals == {"a", "b"}
    plain = scopes["mod.outer.plain"]
    assert not plain.globals and not plain.nonlocals and not plain.stars
    assert scopes["mod.outer.inner"].globals is plain.globals  # still the shared empty one
    assert scopes["mod.outer"].bindings["loader"][-1].qualname == "pickle"
    assert [b.scope.name for b in index.module_scope.bindings["a"]] == ["mod"]
    assert index.module_scope.stars == []

def test_def_binds_in_its_scope_or_where_global_sends_it():
    # _function binds the def itself in its scope, and through _add when the scope has a
    # ``global`` or ``nonlocal`` statement
    source = textwrap.dedent("""
        def outer(a, b=1, *, c=2):
            global helper
            def helper():
                pass
            def local(d):
                pass
            return local
        @deco
        async def run(x: int = 3) -> None:
            pass
    """)
    index = Index(ast.parse(source), "mod")
    module = index.module_scope
    assert [(b.kind, b.qualname, b.pos) for b in module.bindings["helper"]] == [("def", "mod.outer.helper", (4, 4))]
    outer = index.inner_scope(index.tree.body[0])
    assert "helper" not in outer.bindings
    assert [(b.kind, b.qualname, b.pos, b.scope) for b in outer.bindings["local"]] \
        == [("def", "mod.outer.local", (6, 4), outer)]
    assert [(b.kind, b.pos) for b in outer.bindings["a"]] == [("param", (2, 0))]
    assert sorted(outer.bindings) == ["a", "b", "c", "local"]
    run = index.tree.body[1]
    inner = index.inner_scope(run)
    assert (inner.kind, inner.name, inner.parent, inner.node) == ("function", "mod.run", module, run)
    assert [(b.kind, b.qualname, b.pos) for b in module.bindings["run"]] == [("def", "mod.run", (10, 0))]
    assert index.functions == [index.tree.body[0], *index.tree.body[0].body[1:3], run]
    for child in (run.decorator_list[0], run.args.defaults[0], run.returns):
        assert index.parent(child) is run and index.scope_of(child) is module
    assert index.parent(run.args.args[0].annotation) is run.args.args[0]
    assert index.scope_of(run.body[0]) is inner


def test_relative_and_star_imports():
    assert calls("""
        from . import utils
        from ..common import run as r
        from os import *
        utils.go()
        r()
        system(x)
    """) == {"5:utils.go": ".utils.go", "6:r": "..common.run", "7:system": "os.system"}


def test_comprehension_and_lambda_scopes():
    assert calls("""
        import os
        [os.system(c) for c in cmds]
        [os(1) for os in items]
        f = lambda os: os.system(2)
    """) == {"3:os.system": "os.system", "4:os": None, "5:os.system": None}


def test_parents_statements_and_functions():
    source = "def f():\n    x = g(1 + 2)\n"
    tree = ast.parse(source)
    index = Index(tree, "m")
    [call] = index.of_type(ast.Call)
    assert isinstance(index.statement_of(call), ast.Assign)
    assert index.function_of(call).name == "f"
    assert index.scope_of(call).name == "m.f"
    assert index.lookup("x", index.scope_of(call), (99, 0)).kind == "assign"


@pytest.mark.parametrize("depth", [200])
def test_deep_nesting_does_not_recurse(depth):
    source = "x = " + "(" * depth + "1" + ")" * depth + "\n"
    index = Index(ast.parse(source), "m")
    assert index.module_scope.bindings["x"][0].kind == "assign"


def test_conventional_aliases_in_a_segment_without_imports():
    assert calls("""
        def make():
            return RSA.generate(1024), ET.fromstring(data)
    """) == {"3:RSA.generate": "Crypto.PublicKey.RSA.generate", "3:ET.fromstring": "xml.etree.ElementTree.fromstring"}
    assert calls("""
        import json as ET
        ET.loads(x)
    """) == {"3:ET.loads": "json.loads"}


def candidates(source: str) -> dict[str, tuple[tuple[str, str, int], ...]]:
    """Map each call's ``line:text`` -> its candidates as (qualified name, bound module, line)."""
    source = textwrap.dedent(source)
    index = Index(ast.parse(source), "mod")
    found = {}
    for call in index.of_type(ast.Call):
        text = ast.get_source_segment(source, call.func)
        found[f"{call.lineno}:{text}"] = tuple((c.qualname, c.target, c.line) for c in index.candidates(call.func))
    return found


def test_a_name_bound_to_one_of_several_modules_has_candidates():
    found = candidates("""
        import json
        import yaml
        def load(path, ext):
            loader = None
            if ext == ".yaml":
                loader = yaml
            elif ext == ".json":
                loader = json
            return loader.load(path)
    """)
    assert found["10:loader.load"] == (("yaml.load", "yaml", 7), ("json.load", "json", 9))


def test_candidates_follow_only_the_bindings_that_reach_the_use():
    found = candidates("""
        import json
        import yaml
        def load(path, fast):
            loader = yaml
            loader.safe_load(path)
            loader = json
            loader.load(path)
            if fast:
                loader = yaml
            loader.load(path)
            loader.sub.load(path)
        def fixed(path):
            loader = json
            loader = yaml
            loader.load(path)
    """)
    assert found["6:loader.safe_load"] == ()
    assert found["8:loader.load"] == ()  # ``loader = json`` on line 7 decides
    assert found["11:loader.load"] == (("json.load", "json", 7), ("yaml.load", "yaml", 10))
    assert found["12:loader.sub.load"] == (("json.sub.load", "json", 7), ("yaml.sub.load", "yaml", 10))
    assert found["16:loader.load"] == ()


def test_candidates_need_every_reaching_binding_to_be_none_or_a_module():
    found = candidates("""
        import json
        import yaml
        def load(path, registry, fast):
            loader = registry.get(path)
            if fast:
                loader = yaml
            loader.load(path)
        def imports_only(data):
            try:
                import cPickle as pickle
            except ImportError:
                import pickle
            return pickle.loads(data)
        def bare(kind, data):
            decode = yaml.load if kind else None
            decode = json.loads
            if kind:
                decode = yaml.load
            return decode(data)
    """)
    assert found["8:loader.load"] == ()
    assert found["14:pickle.loads"] == ()  # alternative imports keep resolving to the last one
    assert found["20:decode"] == ()  # a bare name, not a module


def test_a_name_set_to_none_on_a_fallback_path_resolves_to_its_module():
    assert calls("""
        try:
            import yaml
        except ImportError:
            yaml = None
        def parse(text):
            return yaml.load(text)
        runner = None
        if enabled:
            import subprocess
            runner = subprocess.call
        runner(cmd)
        maybe = None
        print(maybe)
        def configure(flag):
            loader = None
            if flag:
                loader = yaml
            return loader.load(flag)
    """) == {
        "7:yaml.load": "yaml.load",
        "12:runner": "subprocess.call",
        "14:print": "builtins.print",
        "19:loader.load": "yaml.load",
    }


def test_a_reviewed_file_leaves_no_cyclic_garbage():
    """Index.release breaks the scope <-> binding cycles: reference counting frees a file's tree
    and index as soon as it is reviewed (the per-file phase runs with automatic collection off)."""
    import gc
    import pathlib

    from secreview import engine
    from secreview.source.index import Binding, Scope

    path = pathlib.Path(__file__).parent / "fixtures" / "rules" / "dataflow" / "methods_and_guards.py"
    data = path.read_bytes()
    options = engine.Options(test_policy="keep")
    ruleset = engine.RuleSet.from_options(options)
    engine.review_bytes(data, str(path), ruleset, options)  # warm caches (spec tables, regexes)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = engine.review_bytes(data, str(path), ruleset, options)
        assert result.findings  # the file was really analysed
        del result
        gc.collect()
        leftover = [type(o).__name__ for o in gc.garbage if isinstance(o, (ast.AST, Binding, Scope))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert leftover == []


SCOPES_SOURCE = """
import os

@decorate(os.sep)
def f(a: int = os.sep, *, b=len("x")) -> str:
    total = a + 1 + (lambda y=a: y + 2)()
    return [a + v for v in items if v > 1 if not v] + {k: v for k, v in pairs}

class C(Base, metaclass=Meta):
    size = -1 + 2
    def m(self):
        try:
            return self.size + 3
        except OSError as error:
            return str(error)
"""


def test_scope_of_every_node():
    """The index records the scope of few nodes and derives the others from their parents: every
    node must still get the scope it is evaluated in."""
    tree = ast.parse(SCOPES_SOURCE)
    index = Index(tree, "m")

    def expected(node: ast.AST, scope: str, into: dict) -> None:
        # the scope each node is evaluated in, by Python's rules, for the constructs above
        into[node] = scope
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            inner = f"{scope}.{node.name}" if isinstance(node, ast.FunctionDef) else f"{scope}.<lambda>"
            for child in [*getattr(node, "decorator_list", []), *node.args.defaults,
                          *[d for d in node.args.kw_defaults if d is not None],
                          *[a.annotation for a in node.args.args + node.args.kwonlyargs if a.annotation],
                          *([node.returns] if getattr(node, "returns", None) else [])]:
                expected(child, scope, into)
            for stmt in node.body if isinstance(node.body, list) else [node.body]:
                expected(stmt, inner, into)
        elif isinstance(node, ast.ClassDef):
            for child in [*node.decorator_list, *node.bases, *node.keywords]:
                expected(child, scope, into)
            for stmt in node.body:
                expected(stmt, f"{scope}.{node.name}", into)
        elif isinstance(node, (ast.ListComp, ast.DictComp)):
            inner = f"{scope}.<comprehension>"
            for i, gen in enumerate(node.generators):
                expected(gen.target, inner, into)
                expected(gen.iter, scope if i == 0 else inner, into)
                for cond in gen.ifs:
                    expected(cond, inner, into)
            for child in [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]:
                expected(child, inner, into)
        else:
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop)):
                    expected(child, scope, into)

    scopes: dict[ast.AST, str] = {}
    expected(tree, "m", scopes)
    assert len(scopes) > 60
    assert {node: index.scope_of(node).name for node in scopes} == scopes
    # parameters are not visited themselves (their annotations and defaults are)
    [function] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "f"]
    assert index.scope_of(function.args.args[0]) is index.module_scope
    # a name is looked up in the scope it is evaluated in
    [name_v] = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "v"
                and isinstance(index.parent(n), ast.BinOp)]
    assert index.binding(name_v).kind == "loop"
    assert index.binding(name_v).scope.name == "m.f.<comprehension>"


def test_the_children_of_frequent_types_are_the_fields_in_order():
    """The traversal expands frequent node types with a table of their fields; it must agree with
    the general case (every field that holds nodes, in order)."""
    from secreview.source.index import _CHILDREN

    source = (pathlib.Path(__file__).parents[1] / "src" / "secreview" / "source" / "index.py").read_text()
    seen = set()
    more = ("for a, *b in c:\n    with d as e, f:\n        raise g from h\nelse:\n    raise\n"
            "try:\n    x = {**i, 'j': -k, **l} or {m, n} and f'{o!r:>{p}}'\nexcept q:\n    pass\n"
            "finally:\n    return\n")
    for node in ast.walk(ast.parse(source + SCOPES_SOURCE + more)):
        if type(node) in _CHILDREN:
            seen.add(type(node))
            general = [c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.expr_context)]
            assert list(_CHILDREN[type(node)](node)) == general
    assert seen == set(_CHILDREN)


def test_collected_nodes_are_in_source_order_and_parents_complete():
    source = ("x = {'a': f(1, k=2 + y)[0], **z}\nif not x and y < 3 < z:\n    g(x.a.b, *[1, (2, y)])\nelse:\n    del x\n"
              # calls of a name or of an attribute chain on one (taken in the Call branch) or on
              # anything else; attribute chains on a name or on a call, read and assigned
              "self.a.b = h(x, 1, y.z, 2, w)(v).c.d(u, 'e')\nq.r(s)\nt(k=1)\nh()\n[m][0].n(1, o)\n")
    tree = ast.parse(source)
    types = (ast.Name, ast.Constant, ast.BinOp, ast.Attribute, ast.Call)
    index = Index(tree, "m", frozenset(types))
    walked = _preorder(tree)
    for node_type in types:
        assert index.of_type(node_type) == [n for n in walked if type(n) is node_type]
    assert Index(tree, "m", frozenset({ast.Name})).of_type(ast.Call) == []
    for node in walked[1:]:
        parent = index.parent(node)
        assert parent is not None and node in list(ast.iter_child_nodes(parent))
        assert index.scope_of(node) is index.module_scope
    # operators are shared: the first node found with one is its parent
    [first, *_] = [n for n in walked if isinstance(n, ast.Compare)]
    assert index.parent(first.ops[0]) is first


def _preorder(tree: ast.AST) -> list[ast.AST]:
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed([c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.expr_context)]))
    return out


@pytest.mark.parametrize("source, expected", [
    ("import os\nx.execute()\n", {"os"}),
    ("from os import execv as run\nrun.x()\n", {"run", "os"}),
    ("import os.path as p\np.join()\n", {"p", "os"}),
    ("db.execute(q)\nhost = 'os'\n", {"os", "host"}),  # os bound nowhere (used or not)
    ("def f(os):\n    os.execv(a)\n", set()),  # a parameter: resolves to nothing
    ("def f():\n    os.execv(a)\n", {"os"}),  # bound nowhere: read as the module
    ("x = os\nx.execv(a)\nfor y in z: y.execv()\n", {"x", "os"}),  # any assigned value may be
    ("def f():\n    os.execv(a)\nos = make()\n", {"os"}),
    ("def os(): pass\nos.execv()\n", set()),  # mod.os
    ("import subprocess\nsubprocess.exec(a)\nos = 1\n", {"os"}),
    ("from os import *\n", None),
    ("from a import *\nos.execv()\n", {"os"}),
])
def test_names_under_agrees_with_the_qualified_names(source, expected):
    """``names_under`` (the dispatch's shortcut for prefixes such as ``os.exec*``) holds the
    name at the root of every expression that resolves to a name with that first part."""
    index = Index(ast.parse(source), "mod")
    names = index.names_under(frozenset({"os"}))
    assert names == expected
    for node in ast.walk(index.tree):
        if (index.qualname(node) or "").startswith("os"):
            root = node
            while isinstance(root, (ast.Attribute, ast.Call)):
                root = root.value if isinstance(root, ast.Attribute) else root.func
            assert names is None or root.id in names, ast.dump(node)
    assert Index(ast.parse("import os\ndef f(): pass\n"), "os.util").names_under(frozenset({"os"})) == {"os", "f"}
    assert Index(ast.parse("len(x)\n"), "mod").names_under(frozenset({"builtins"})) is None
