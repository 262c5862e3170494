"""Demand-driven data flow (taint/demand.py): only the functions untrusted data can reach, or
whose summary another file asks for, are interpreted; and that never changes a finding."""

from __future__ import annotations

import ast
import textwrap

import pytest

from secreview import discover, engine
from secreview.engine import Options
from secreview.rules.base import FileContext
from secreview.source.index import Index
from secreview.source.parse import parse_bytes
from secreview.taint import demand as demand_mod
from secreview.taint import analysis as analysis_mod
from secreview.taint import run as taint_run
from secreview.taint.analysis import ModuleTaint

from fixture_harness import fixture_findings


def _analysed(code: str, demand: frozenset[str] = frozenset()) -> list[str]:
    """Names of the functions the analysis interpreted, in source order."""
    source = parse_bytes(textwrap.dedent(code).encode(), "mod.py")
    index = Index(source.tree, "mod", frozenset({ast.Call}))
    module = ModuleTaint(FileContext(source, index), taint_run.spec_index(), None, demand)
    module.run()
    return [func.name for func in index.functions if func in module.final_env]


def test_functions_no_untrusted_data_reaches_are_not_interpreted():
    assert _analysed("""
        import os, subprocess

        def handler():
            name = os.environ["NAME"]
            return tidy(name)

        def tidy(value):
            return value.strip()

        def unrelated(path):
            subprocess.call("ls " + path, shell=True)

        def lookup(req):
            # the request's environment is the server's, not the sender's: not a source name
            return req.environ["nova.context"]
        """) == ["handler", "tidy"]


@pytest.mark.parametrize("code", [
    "def f(request):\n    return request.GET['q']\n",
    "def f(self):\n    return self.request.body\n",
    "from os import environ as E\n\ndef f():\n    return E['HOME']\n",
    "import sys as system\n\ndef f():\n    return system.argv[1]\n",
    "import os\n\ndef f():\n    return (os\n            .environ['HOME'])\n",
    "from sys import argv\n\ndef f():\n    return argv[1]\n",
    "def f():\n    return input()\n",
    "def f(path):\n    with open(path) as handle:\n        return handle.read()\n",
    "def f(sock):\n    return sock.recv(1024)\n",
    "class FlavorsController:\n    def create(self, req, body):\n        return body\n",
])
def test_a_function_that_may_read_a_source_is_interpreted(code):
    assert _analysed(code) == (["f"] if "def f" in code else ["create"])


@pytest.mark.parametrize("code", [
    '"""Handle the request and read the input."""\n\ndef f(request_id):\n    return request_id\n',
    "def f(req):\n    return req.environ['ctx']\n",
    "import flask_like\n\ndef f(data):\n    return data.args\n",
])
def test_words_that_only_look_like_sources_do_not_count(code):
    assert _analysed(code) == []


# the reference: the text's ASCII punctuation (but "_") made blank, then split at blanks
_BLANK_PUNCTUATION = str.maketrans({chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) == "_")})


@pytest.mark.parametrize("text", [
    "import os\nfrom flask import request\n\ndef view(req):\n    return request.args, req.GET, os.environ\n",
    "# thread, readonly, already, required, requests, fetched, parse_x\nx = 1\n",
    "def f(data):\n    return data.read_text() + readlines + recv_into + fetchone\n",
    "args=argv;input\tstdin\x0cenviron\rgetenv(RequestHandler)[authenticated]",
    "readline_ x_read _read read1 1read read",
])
@pytest.mark.parametrize("extra", ["", "# caf\u00e9\n", "# read\u2014x\n", "# read\u00e9 \u00e9read\n", "# read\u00a0req\u2028args\n",
                                   "# \u00abread\u00bb \u3000args\u3000 environ\u00e9\n", "\u00e9\nrequest"])
def test_a_word_is_mentioned_as_the_split_of_the_text_says(text, extra):
    # Every text is searched word by word (gated by stems), ASCII text through ``occurrences``,
    # other text through ``_stands_alone`` (letters and punctuation of other scripts are part of
    # a word there): both must find the vocabulary's words exactly where the translate-and-split
    # does
    text = extra + text
    source = parse_bytes(b"x = 1\n", "mod.py")
    index = Index(source.tree, "mod", frozenset({ast.Call}))
    module = ModuleTaint(FileContext(source, index), taint_run.spec_index())
    plan = demand_mod.Demand(module, [])
    plan.text = text
    plan._ascii = text.isascii()
    facts = demand_mod._spec_facts(module.spec)
    words = set(text.translate(_BLANK_PUNCTUATION).split())
    for word in sorted(facts.vocabulary, reverse=bool(extra)):  # (the memo filled in either order)
        assert plan._mentions(word) == (word in words), word
        assert plan._occurrences(word) == demand_mod.occurrences(text, word), word


def test_a_stem_is_inside_its_word():
    stems = demand_mod._spec_facts(taint_run.spec_index()).stems
    assert stems["http_request"] == "request" and stems["request"] == "req" and stems["fetchone"] == "fetch"
    assert all(stem in word and stem != word for word, stem in stems.items())


def test_a_demanded_function_and_what_it_calls_are_interpreted():
    code = """
        import subprocess

        def run_command(cmd):
            return _spawn(cmd)

        def _spawn(cmd):
            return subprocess.call(cmd, shell=True)

        def other(cmd):
            return cmd
        """
    assert _analysed(code) == []
    assert _analysed(code, frozenset({"run_command"})) == ["run_command", "_spawn"]


SHAPES = {
    "attribute": """
        import os, sys

        class Job:
            def load(self):
                self.cmd = sys.argv[1]

            def run(self):
                os.system(self.cmd)
        """,
    "module name": """
        import os, sys

        ARGUMENT = sys.argv[1]

        def go():
            os.system(ARGUMENT)
        """,
    "helper result": """
        import os

        def ask():
            return input("command: ")

        def go():
            os.system(ask())
        """,
    "closure": """
        import os, sys

        def outer():
            value = sys.argv[1]

            def inner():
                os.system(value)
            return inner
        """,
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_untrusted_data_reaching_a_function_without_a_source_name_is_followed(shape):
    review = engine.review_text(textwrap.dedent(SHAPES[shape]), "job.py")
    assert [(f.rule_id, f.snippet) for f in review.findings if f.rule_id == "SR111"] == [
        ("SR111", "os.system(self.cmd)" if shape == "attribute" else
         "os.system(ARGUMENT)" if shape == "module name" else
         "os.system(ask())" if shape == "helper result" else "os.system(value)")]


def test_demand_never_changes_a_finding_of_the_fixtures(monkeypatch):
    """Every fixture file gives the same findings when every function is interpreted."""
    options = Options(test_policy="keep")
    ruleset = engine.RuleSet.from_options(options)

    demanded = fixture_findings(ruleset, options)
    assert any(rule.startswith("SR1") for *_, rule, _ in demanded)
    monkeypatch.setattr(demand_mod.Demand, "initial", lambda self: self._add(self.groups))
    assert fixture_findings(ruleset, options) == demanded


def test_the_module_body_left_for_later_never_changes_a_finding_of_the_fixtures(monkeypatch):
    """A module body that meets no untrusted data when it would run first is interpreted only
    when a summary it may use changes (ModuleTaint.run): every fixture file gives the same
    findings when it is always interpreted first."""
    options = Options(test_policy="keep")
    ruleset = engine.RuleSet.from_options(options)

    deferred = fixture_findings(ruleset, options)
    monkeypatch.setattr(analysis_mod, "DEFER_CLEAN_MODULE", False)
    assert fixture_findings(ruleset, options) == deferred


@pytest.mark.parametrize("defer", [True, False])
@pytest.mark.parametrize("code, findings, interpreted", [
    # a module-level source: the module body is interpreted first, as always
    ("import os, sys\n\nCMD = sys.argv[1]\n\ndef go():\n    os.system(CMD)\n", [("SR111", 6)], True),
    # a module-level call of a function whose summary then returns untrusted data: the body
    # is interpreted once that summary changed, and CMD carries the data to go()
    ("import os\n\ndef ask():\n    return os.environ['X']\n\nCMD = ask()\n\n"
     "def go():\n    os.system(CMD)\n", [("SR111", 9)], True),
    # nothing at module level can meet untrusted data: never interpreted
    ("import os\n\nNAME = 'ls'\n\ndef go():\n    os.system(os.environ['X'])\n", [("SR111", 6)], False),
])
def test_a_module_body_is_interpreted_when_it_may_meet_untrusted_data(code, findings, interpreted, defer,
                                                                        monkeypatch):
    monkeypatch.setattr(analysis_mod, "DEFER_CLEAN_MODULE", defer)
    source = parse_bytes(code.encode(), "mod.py")
    index = Index(source.tree, "mod", frozenset({ast.Call}))
    module = ModuleTaint(FileContext(source, index), taint_run.spec_index())
    hits = module.run()
    assert [("SR111", hit.sink_node.lineno) for hit in hits if hit.sink_kind == "shell"] == findings
    assert (index.tree in module.final_env) is (interpreted or not defer)


CALLER = """
from flask import request

from .helpers import run_command


def view():
    return run_command(request.args["cmd"])
"""
HELPERS = """
import subprocess


def run_command(cmd):
    return subprocess.call(cmd, shell=True)


def unused(cmd):
    return subprocess.call(cmd, shell=True)
"""


def _app(tmp_path, monkeypatch, views: str = CALLER, helpers: str = HELPERS) -> None:
    """A package ``app`` whose views call into its helpers, as the current folder."""
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "views.py").write_text(views)
    (pkg / "helpers.py").write_text(helpers)
    monkeypatch.chdir(tmp_path)


def test_another_file_asks_for_the_summary_it_needs(tmp_path, monkeypatch):
    _app(tmp_path, monkeypatch)
    review = engine.run(discover.discover(["app"]), Options(jobs=1))
    [finding] = [f for f in review.findings if f.rule_id == "SR111"]
    assert (finding.location.path, finding.location.line) == ("app/helpers.py", 6)
    assert [(s.location.path, s.location.line) for s in finding.trace][0] == ("app/views.py", 8)
    helpers = next(r for r in review.files if r.path == "app/helpers.py")
    assert helpers.taint["demanded"] == ["run_command"]
    assert sorted(helpers.taint["functions"]) == ["run_command", "unused"]
    assert [name.rsplit(".", 1)[-1] for name in helpers.taint["summaries"]] == ["run_command"]


def test_a_callee_is_interpreted_only_when_given_untrusted_data():
    assert _analysed("""
        import os, subprocess

        def handler():
            log_constant("started")
            return run(os.environ["NAME"])

        def run(value):
            return subprocess.call(value, shell=True)

        def log_constant(text):
            return text
        """) == ["handler", "run"]


def test_a_failing_cross_module_step_keeps_the_files_and_says_so(tmp_path, monkeypatch):
    _app(tmp_path, monkeypatch)
    real = taint_run.analyse

    def failing(ctx, selected, extra_specs=(), external=None, demand=frozenset(), previous=None):
        if external is not None or demand:  # only the cross-module step passes these
            raise KeyError("boom")
        return real(ctx, selected, extra_specs, external, demand, previous)

    monkeypatch.setattr(taint_run, "analyse", failing)
    review = engine.run(discover.discover(["app"]), Options(jobs=1))
    assert [(s.path, s.reason) for s in review.skipped] == [
        ("app/helpers.py", "partly reviewed: cross-module data-flow analysis failed: KeyError: 'boom'")]
    assert {f.path for f in review.files} == {"app/__init__.py", "app/views.py", "app/helpers.py"}
    assert not [f for f in review.findings if f.rule_id == "SR111"]


def test_the_cross_module_step_parses_a_file_once(tmp_path, monkeypatch):
    """helpers.py is analysed again twice (its summary asked for, then with the table): it is
    read and parsed once; the reports are those of a step that parses every time."""
    _app(tmp_path, monkeypatch, CALLER + "\n\ndef ask():\n    return request.args['cmd']\n",
         HELPERS + "\n\ndef relay():\n    from .views import ask\n    return subprocess.call(ask(), shell=True)\n")
    baseline = engine.run(discover.discover(["app"]), Options(jobs=1))
    reads: list[str] = []
    real = engine.read_source

    def counting(path, display, *args):
        reads.append(display)
        return real(path, display, *args)

    monkeypatch.setattr(engine, "read_source", counting)
    review = engine.run(discover.discover(["app"]), Options(jobs=1))
    global_reads = reads[3:]  # after the per-file phase's three reads
    assert sorted(global_reads) == sorted(set(global_reads)) and global_reads
    assert review.findings == baseline.findings


def test_a_summary_missing_from_the_table_is_fetched_while_the_caller_is_analysed(tmp_path, monkeypatch):
    """views.py learns only with the table that ``ask()`` returns request data; the summary of
    ``save``, which it then passes that data to, is computed right then: views.py is analysed
    again once, not once more in a later round."""
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "source.py").write_text("from flask import request\n\n\ndef ask():\n    return request.args['cmd']\n")
    (pkg / "sink.py").write_text("import subprocess\n\n\ndef save(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    (pkg / "views.py").write_text("from .sink import save\nfrom .source import ask\n\n\n"
                                  "def view():\n    data = ask()\n    return save(data)\n")
    monkeypatch.chdir(tmp_path)
    analysed: list[tuple[str, bool]] = []
    real = taint_run.analyse

    def counting(ctx, selected, extra_specs=(), external=None, demand=frozenset(), previous=None):
        analysed.append((ctx.path, external is not None))
        return real(ctx, selected, extra_specs, external, demand, previous)

    monkeypatch.setattr(taint_run, "analyse", counting)
    review = engine.run(discover.discover(["app"]), Options(jobs=1))
    [finding] = [f for f in review.findings if f.rule_id == "SR111"]
    assert (finding.location.path, finding.location.line) == ("app/sink.py", 5)
    assert [s.location.path for s in finding.trace][0] == "app/source.py"
    assert analysed.count(("app/views.py", True)) == 1
    sink = next(r for r in review.files if r.path == "app/sink.py")
    assert sink.taint["demanded"] == ["save"]


@pytest.mark.parametrize("body, reported", [
    # a method's own parameter, through self.cmd, to the sink: reported
    ("    def run(self, cmd):\n        self.cmd = cmd\n        os.system(self.cmd)\n", True),
    # another method's parameter stored in self.cmd is not run()'s parameter: nothing follows
    # the untrusted `flag` to the sink (it used to, as run()'s parameter 1)
    ("    def __init__(self, cmd):\n        self.cmd = cmd\n\n"
     "    def run(self, flag):\n        os.system(self.cmd)\n", False),
])
@pytest.mark.parametrize("every_function", [False, True])
def test_a_parameter_stored_in_an_attribute_belongs_to_its_method(body, reported, every_function, monkeypatch):
    if every_function:  # as when __init__ is analysed for a reason of its own
        monkeypatch.setattr(demand_mod.Demand, "initial", lambda self: self._add(self.groups))
    code = ("import os\nfrom flask import request\n\n\nclass Job:\n" + body +
            "\n\ndef view():\n    job = Job('ls')\n    job.run(request.args['x'])\n")
    review = engine.review_text(code, "job.py")
    assert bool([f for f in review.findings if f.rule_id == "SR111"]) is reported


def test_two_callers_fetching_one_summary_analyse_its_file_once(tmp_path, monkeypatch):
    """views.py and admin.py both learn only with the table that ``ask()`` returns request data
    and pass it to ``save``: within the round, sink.py is analysed for ``save`` once and its
    result serves both fetchers; the reports are those of a step analysing it for each."""
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "source.py").write_text("from flask import request\n\n\ndef ask():\n    return request.args['cmd']\n")
    (pkg / "sink.py").write_text("import subprocess\n\n\ndef save(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    for name in ("views", "admin"):
        (pkg / f"{name}.py").write_text("from .sink import save\nfrom .source import ask\n\n\n"
                                        f"def {name}():\n    data = ask()\n    return save(data)\n")
    monkeypatch.chdir(tmp_path)
    analysed: list[tuple[str, frozenset]] = []
    real = taint_run.analyse

    def counting(ctx, selected, extra_specs=(), external=None, demand=frozenset(), previous=None):
        analysed.append((ctx.path, demand))
        return real(ctx, selected, extra_specs, external, demand, previous)

    monkeypatch.setattr(taint_run, "analyse", counting)
    review = engine.run(discover.discover(["app"]), Options(jobs=1))
    assert analysed.count(("app/sink.py", frozenset({"save"}))) == 1
    assert len([f for f in review.findings if f.rule_id == "SR111"]) == 2
    # the same reports when every fetcher analyses the file itself
    monkeypatch.setattr(taint_run._Demands, "new_round", lambda self: None)
    real_fetch = taint_run._Demands.fetch

    def fresh(self, *args):
        self._fetches = {}
        return real_fetch(self, *args)

    monkeypatch.setattr(taint_run._Demands, "fetch", fresh)
    analysed.clear()
    again = engine.run(discover.discover(["app"]), Options(jobs=1))
    assert analysed.count(("app/sink.py", frozenset({"save"}))) == 2
    assert again == review


_SEARCHED = """
    import os, subprocess
    from flask import request

    def handler():
        return tidy(os.environ["NAME"])

    def tidy(name):
        return subprocess.call(name, shell=True)

    def view():
        return run(request.args["q"])

    def run(cmd):
        return cmd.strip()

    def helper(x):
        return x + 1
"""


def _analyse(code: str, previous: dict | None = None, demand: frozenset[str] = frozenset()):
    source = parse_bytes(textwrap.dedent(code).encode(), "mod.py")
    ctx = FileContext(source, Index(source.tree, "mod", frozenset({ast.Call})))
    return taint_run.analyse(ctx, taint_run.taint_rule_ids(), (), None, demand, previous)


def test_an_analysis_again_reuses_the_searches_of_the_same_text(monkeypatch):
    # the cross-module step passes the earlier record: the text's searches (Demand.text_facts)
    # and its calls are taken from it, and the findings and the record are those of a fresh
    # analysis
    findings, record = _analyse(_SEARCHED)
    assert record["text_facts"][0] and record["text_facts"][1] is False
    fresh = _analyse(_SEARCHED, demand=frozenset({"helper"}))

    def searching(self):
        raise AssertionError("searched the text again")

    monkeypatch.setattr(demand_mod.Demand, "_source_offsets", searching)
    monkeypatch.setattr(analysis_mod.ModuleTaint, "all_unresolved", searching)  # (the calls: the same)
    assert _analyse(_SEARCHED, record) == (findings, record)
    assert _analyse(_SEARCHED, record, frozenset({"helper"})) == fresh


def test_an_analysis_again_of_a_changed_text_searches_it_again():
    _, record = _analyse(_SEARCHED)
    changed = _SEARCHED.replace('os.environ["NAME"]', '"fixed"')
    findings, again = _analyse(changed, record)
    assert again["text_sum"] != record["text_sum"]
    assert (findings, again) == _analyse(changed)
    assert again["text_facts"] != record["text_facts"]
    # a record without the searches (old, or a text whose line ends make every function needed)
    assert _analyse(changed, {**record, "text_sum": again["text_sum"], "text_facts": None}) == (findings, again)


def test_occurrences_are_the_whole_word_finds():
    # occurrences() tests the character after a find before the one before it (most finds are
    # parts of longer names): the same offsets as testing both, here against that reading
    import random

    def reference(text, word, start=0, end=None):
        found, at = [], text.find(word, start, len(text) if end is None else end)
        while at >= 0:
            after = at + len(word)
            if (at == 0 or not demand_mod._is_word(text[at - 1])) \
                    and (after >= len(text) or not demand_mod._is_word(text[after])):
                found.append(at)
            at = text.find(word, after, len(text) if end is None else end)
        return found

    rng = random.Random(7)
    for _ in range(20000):
        text = "".join(rng.choice("ab_ .1\u00e9(\n") for _ in range(rng.randint(0, 12)))
        word = "".join(rng.choice("ab") for _ in range(rng.randint(1, 3)))
        start, end = rng.randint(0, 3), rng.choice([None, rng.randint(0, 12)])
        assert demand_mod.occurrences(text, word, start, end) == reference(text, word, start, end)
    assert demand_mod.occurrences("req request _req req.x kwargs args", "req") == [0, 17]


@pytest.mark.parametrize("header, seeded", [("", False), ("from werkzeug.datastructures import MultiDict\n", True),
                                            ("import argparse\n", True)])
def test_an_object_attribute_seeds_only_with_its_root_named(header, seeded):
    # the roots of an object's attribute (werkzeug for args, argparse for parse_args) are
    # looked for before the word itself: the word seeds a function only when one of them is named
    code = header + "def f(p, *args, **kwargs):\n    return p.args, p.parse_args(), kwargs\n"
    source = parse_bytes(code.encode(), "mod.py")
    index = Index(source.tree, "mod", frozenset({ast.Call}))
    module = ModuleTaint(FileContext(source, index), taint_run.spec_index())
    plan = demand_mod.Demand(module, list(index.functions))
    assert bool(plan._source_offsets()) == seeded
    assert bool(plan.initial()) == seeded


def test_groups_by_lines_are_the_outermost_enclosing_functions():
    # Demand groups the functions by their lines (the last group begun, when a function starts
    # within its lines): the same groups as walking up the tree to the outermost function
    code = textwrap.dedent('''
        import functools

        def a(x): return x
        def b():
            def inner():
                class C:
                    def m(self):
                        def deep(): pass
                        return deep
                return C
            @functools.wraps(inner)
            def wrapped(
                    y=lambda: 1):
                pass
            return inner, wrapped
        class K:
            def one(self): pass
            async def two(self):
                async def three(): pass
            class Inner:
                def four(self): pass
        @functools.cache
        def c(
                ): pass
        if True:
            def d(): pass
        else:
            def d(): pass
        ''')
    source = parse_bytes(code.encode(), "mod.py")
    index = Index(source.tree, "mod", frozenset({ast.Call}))
    module = ModuleTaint(FileContext(source, index), taint_run.spec_index())
    plan = demand_mod.Demand(module, list(index.functions))
    for func in index.functions:
        top = func
        while (outer := index.function_of(top)) is not None:
            top = outer
        assert plan.group[func] is top, func.name
    assert sorted([f.name for f in members] for members in plan.members.values()) == [
        ["a"], ["b", "inner", "m", "deep", "wrapped"], ["c"], ["d"], ["d"], ["four"], ["one"], ["two", "three"]]
