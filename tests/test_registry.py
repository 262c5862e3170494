"""Every rule is complete: id, name, CWE with pillar, severity, confidence, fix, docs, fixtures."""

import re

import pytest

from fixture_harness import expectations, fixture_files, fixture_findings
from secreview.model import CWES, PILLARS, Level
from secreview.rules import registry
from secreview.rules.base import DOC_SECTIONS

RULES = registry.all_rules()


def _annotated():
    kinds = {"expect": set(), "ok": set()}
    for path in fixture_files():
        with open(path, encoding="utf-8") as handle:
            for exp in expectations(handle.read()):
                kinds[exp.kind].add(exp.rule)
    return kinds


ANNOTATED = _annotated()


def test_registry_is_not_empty():
    assert len(RULES) >= 20


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_metadata(rule):
    assert re.fullmatch(r"SR\d{3}", rule.id)
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", rule.name)
    assert rule.cwe in CWES and CWES[rule.cwe][1] in PILLARS
    assert isinstance(rule.severity, Level) and isinstance(rule.confidence, Level)
    assert rule.fix.strip().endswith(".")
    assert rule.calls or rule.methods or rule.nodes or getattr(rule, "sink_kind", None), "a rule must ask for something to check"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_docs_have_every_section(rule):
    sections = rule.sections()
    assert rule.summary() and rule.summary().endswith(".")
    for title in DOC_SECTIONS:
        assert sections.get(title), f"{rule.id} lacks a '## {title}' section"
    assert f"https://cwe.mitre.org/data/definitions/{rule.cwe}.html" in sections["References"]
    assert "```python" in sections["Example"] and "```python" in sections["Safe alternative"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_fixtures(rule):
    assert rule.id in ANNOTATED["expect"], f"no '# expect: {rule.id}' line in any fixture"
    assert rule.id in ANNOTATED["ok"], f"no '# ok: {rule.id}' safe look-alike in any fixture"


def test_lookup_by_id_and_name():
    assert registry.get("SR101").name == "shell-injection"
    assert registry.get("shell-injection").id == "SR101"
    assert registry.get("sr101").id == "SR101"
    with pytest.raises(registry.RuleError, match="unknown rule 'nope'"):
        registry.get("nope")


def test_select_and_ignore_by_family_and_name():
    ids = [r.id for r in registry.select(["SR1"], ["code-evaluation"])]
    assert "SR101" in ids and "SR103" not in ids and all(i.startswith("SR1") for i in ids)


@pytest.mark.parametrize("rule", [r for r in RULES if r.needs], ids=lambda r: r.id)
def test_needs_prefilter_is_well_formed(rule):
    assert all(isinstance(n, str) and n for n in rule.needs)
    if rule.needs_any_case:
        assert all(n == n.lower() for n in rule.needs)


def test_needs_prefilter_never_hides_a_finding(monkeypatch):
    """Every fixture file gives the same findings with the per-file prefilter switched off."""
    from secreview import engine

    options = engine.Options(test_policy="keep")
    ruleset = engine.RuleSet.from_options(options)
    gated = {rule.id for rule in ruleset.gated}
    assert gated, "no rule uses the prefilter"

    def findings():
        return fixture_findings(ruleset, options)

    with_prefilter = findings()
    assert {rule for *_, rule, _ in with_prefilter} & gated  # the gated rules do report in fixtures
    monkeypatch.setattr(engine.RuleSet, "inactive", lambda self, text, path, ctx=None: frozenset())
    assert findings() == with_prefilter


def test_select_shortcut_never_hides_a_finding(monkeypatch):
    """Every fixture file gives the same findings when every rule's ``select`` keeps all nodes."""
    from secreview import engine
    from secreview.rules.base import Rule

    options = engine.Options(test_policy="keep")
    ruleset = engine.RuleSet.from_options(options)
    selecting = [type(rule) for rule in ruleset.rules if type(rule).select is not Rule.select]
    assert selecting, "no rule narrows the nodes it is shown"

    def findings():
        return fixture_findings(ruleset, options)

    with_select = findings()
    assert {rule for *_, rule, _ in with_select} & {cls.id for cls in selecting}
    for cls in selecting:
        monkeypatch.setattr(cls, "select", Rule.select)
    assert findings() == with_select


# The access-control rules narrow their nodes to the functions that may see request data, and
# answer "does this function read the request" and "does its text name an elevation" from facts
# found once per file; each such fast path has a slow twin that asks the function itself.
REQUEST_RULES = ("SR902", "SR903", "SR922")


def test_request_rules_report_in_fixtures():
    from secreview import engine

    options = engine.Options(test_policy="keep")
    found = {rule for *_, rule, _ in fixture_findings(engine.RuleSet.from_options(options), options)}
    assert set(REQUEST_RULES) | {"SR901"} <= found


def test_request_fast_paths_never_hide_a_finding(monkeypatch):
    """The same findings with every per-file shortcut of the access rules switched off: request
    readers found function by function, function texts joined line by line, no text gate."""
    from secreview import engine
    from secreview.rules import access
    from secreview.rules.base import FileContext

    options = engine.Options(test_policy="keep")
    ruleset = engine.RuleSet.from_options(options)

    def findings():
        return fixture_findings(ruleset, options)

    fast = findings()
    monkeypatch.setattr(access, "_request_readers", lambda ctx: None)
    monkeypatch.setattr(FileContext, "word_lines", lambda self, words: None)
    assert findings() == fast
    monkeypatch.undo()
    monkeypatch.setattr(access, "_spells_request", lambda text: True)  # every file may read requests
    assert findings() == fast


def test_request_rules_alone_find_the_same(monkeypatch):
    """Run alone, the access rules work without the index's attribute nodes (no other rule asks
    for them, so they are not collected) and find what they find among all the rules."""
    import ast

    from secreview import engine

    ids = ("SR901", *REQUEST_RULES)
    options = engine.Options(test_policy="keep")
    everything = [f for f in fixture_findings(engine.RuleSet.from_options(options), options) if f[3] in ids]
    alone = engine.Options(test_policy="keep", select=list(ids))
    ruleset = engine.RuleSet.from_options(alone)
    assert ast.Attribute not in ruleset.collect
    assert fixture_findings(ruleset, alone) == everything


def test_unresolved_calls_never_hide_a_finding(monkeypatch):
    """Calls ``x.attr(...)`` that no rule is registered for are not resolved by the dispatch
    (engine.RuleSet.attrs / prefixed); resolving every call gives the same findings."""
    from secreview import engine

    options = engine.Options(test_policy="keep")
    ruleset = engine.RuleSet.from_options(options)
    assert ruleset.prefix_parts and not ruleset.prefix_always

    def findings():
        return fixture_findings(ruleset, options)

    skipping = findings()
    monkeypatch.setattr(engine.RuleSet, "prefixed", lambda self, text, index: None)
    assert findings() == skipping


def _select_check(rule_id: str, source: str, node_type: type) -> tuple[list, list]:
    """(findings with the rule's select, findings with check_node on every node of the type)."""
    from secreview import engine
    from secreview.rules.base import FileContext
    from secreview.source.index import Index
    from secreview.source.parse import parse_text

    ruleset = engine.RuleSet.from_options(engine.Options())
    rule = next(r for r in ruleset.rules if r.id == rule_id)
    out = []
    for shortcut in (True, False):
        src = parse_text(source, "sample.py")
        index = Index(src.tree, "sample", ruleset.collect)
        ctx = FileContext(src, index)
        nodes = index.of_type(node_type)
        for node in rule.select(ctx, node_type, nodes) if shortcut else nodes:
            rule.check_node(ctx, node)
        out.append(sorted((f.location.line, f.message) for f in ctx.findings))
    return out[0], out[1]


def test_hardcoded_secret_select_both_paths():
    """SR502's select looks for the key formats once per file (the hints in the joined long
    strings) and, on a hit, selects again string by string: both paths lose nothing."""
    import ast

    named = ('db = {"password": "q7Vd-2mKx!Lr9", "user": "admin"}\n'
             'os.environ.get("API_TOKEN", "Zx81-pq0Lm3vB7")\n'
             'setattr(obj, "name", "not-a-secret-1")\n'
             'api_key: str = "9fJ2kLp0QwErTy7u"\n'
             'url = "postgres://app:S3cr3t-Pw0rd@db/app"\n')
    key = 'aws = "AKIAZ7QW3RT5YU8IOPLK"\n'
    split = 'a = "AK" + "IAZ7QW3RT5YU8IOPLK"\nb = "xxxxxxxxxxxxxxxxxxAK"\nc = "IAZ7QW3RT5YU8IOPLKxx"\n'
    for source in (named, named + key, key, split):
        with_select, every_node = _select_check("SR502", source, ast.Constant)
        assert with_select == every_node
    assert len(_select_check("SR502", named + key, ast.Constant)[0]) == 5


def test_hardcoded_secret_hint_groups_and_shortcuts():
    """SR502's select searches a group's common text before its hints: the groups hold every
    hint once, each containing its group's text, so a file is selected again exactly when a hint
    occurs. Its loop answers keyword arguments and dict values itself: same as check_node."""
    import ast

    from secreview.rules import secrets

    grouped = [hint for common, hints in secrets._HINT_GROUPS for hint in hints if common in hint]
    assert sorted(grouped) == sorted(secrets._HINTS)
    slack = "xoxb-" + "1234567890-" + "Zq8Wv2Lk9Rt4Yp7N"
    github = "ghp_" + "Zq8Wv2Lk9Rt4Yp7NxC3bM6dF1gH5jK0sA2eQ"
    sources = (f'a = "{slack}"\nb = "high through the night, it goes"\n',
               f'token = "{github}"\nmsg = "through the night it goes on"\n',
               'msg = "through the night it goes on and on"\nb = b"\\x00abcd"\n',
               'f(password="q7Vd-2mKx!Lr9", default="Zx81-pq0Lm3vB7", secret=1)\n'
               'parser.add_argument("--token", default="Zx81-pq0Lm3vB7")\n'
               'd = {"token": "9fJ2kLp0QwErTy7u", "x": y, "secret": name, "pw": "q7Vd-2mKx!Lr9"}\n'
               'g(**{"password": "q7Vd-2mKx!Lr9"})\n'
               'user, password = "admin", "q7Vd-2mKx!Lr9"\n'
               'pair = ("password", "q7Vd-2mKx!Lr9")\n'
               'for password in ("q7Vd-2mKx!Lr9", "Zx81-pq0Lm3vB7"):\n    pass\n')
    for source in sources:
        with_select, every_node = _select_check("SR502", source, ast.Constant)
        assert with_select == every_node, source
    assert len(_select_check("SR502", sources[0], ast.Constant)[0]) == 1
    assert len(_select_check("SR502", sources[3], ast.Constant)[0]) == 5


def test_image_format_select_matches_check_node():
    """SR921's select (runner names by set intersection, helper names only when a called name
    holds "qemu_img_info") keeps what check_node reports on."""
    import ast

    source = ('from oslo_concurrency import processutils\n'
              'def qemu_img_info(path, format=None):\n'
              '    return processutils.execute("qemu-img", "info", path)\n'
              'def f(path, images):\n'
              '    processutils.execute("qemu-img", "convert", path, "out")\n'
              '    images.privileged_qemu_img_info(path)\n'
              '    qemu_img_info(path)\n'
              '    my_qemu_img_info_x(path)\n'
              '    other(path)\n')
    for text in (source, source.replace("execute", "run_it"), "other(1)\n"):
        with_select, every_node = _select_check("SR921", text, ast.Call)
        assert with_select == every_node
    assert len(_select_check("SR921", source, ast.Call)[0]) == 4


def test_sql_runner_names_and_select():
    """SR104: the spelt-out runner test agrees with _RUNNER_NAME, the joined-names shortcut of
    _runners with the test per name, and select (handle arguments found all at once) with
    check_node on every call."""
    import ast

    from secreview.rules import injection

    names = ["run_query", "RunSQL", "do_execute", "exec_it", "it_exec", "db_rows", "DB_ROWS", "xdb_rows",
             "execute", "exec", "executor", "fetch", "ſql", "ſelect", "queue", "", "Query"]
    for name in names:
        injection._RUNNER_NAMES.pop(name, None)
        assert injection._runner_name(name) == bool(injection._RUNNER_NAME.search(name)), name
    assert injection._runners(names) == {n for n in names if n and n not in injection._SQL_METHOD_SET
                                         and injection._runner_name(n)}
    assert injection._runners(["fetch", "get", "", "execute"]) == set()
    # the names holding a needle, cut out of the joined names: at either end, twice, two needles
    many = ["query", "a_query_b", "sqlsql", "db_query_sql", "exec", "run_exec", "Exec_it", "xdb_", "get",
            "QUERY_ALL", "db_rows", "do_sql", "fetch", "queue", "my_db", "it_exec_x"]
    for names_now in (many, many[::-1], many[:1], many[-3:], ["ſql", *many]):
        assert injection._runners(names_now) == {n for n in names_now if n and n not in injection._SQL_METHOD_SET
                                                 and injection._runner_name(n)}
    source = ('def f(cur, conn, name, session):\n'
              '    get_rows(cur, "SELECT * FROM t WHERE a = \'%s\'" % name)\n'
              '    helper(conn, f"DELETE FROM t WHERE id = {name}")\n'
              '    self.run_query("SELECT * FROM users WHERE name = \'" + name + "\'")\n'
              '    other(session)\n'
              '    other(*cur)\n')
    for text in (source, source.replace("cur", "c").replace("conn", "k").replace("session", "s")):
        with_select, every_node = _select_check("SR104", text, ast.Call)
        assert with_select == every_node
    assert len(_select_check("SR104", source, ast.Call)[0]) == 3


def test_tls_select_text_shortcuts():
    """SR401's select answers from the text (identifiers) or the dict keys all at once: the same
    findings as check_node on every node, in ASCII files and in files the shortcut skips."""
    import ast

    source = ('import ssl, requests\n'
              'from eventlet.green.ssl import wrap_socket\n'
              'ctx = ssl.create_default_context()\n'
              'ctx.check_hostname = False\n'
              'ctx.verify_mode = ssl.CERT_NONE\n'
              'opts = {"cert_" "reqs": ssl.CERT_NONE}\n'
              'opts2 = {"cert\\x5freqs": ssl.CERT_NONE}\n'
              'conn = make(cert_reqs=ssl.CERT_NONE)\n'
              'def wrap_socket(sock):\n'
              '    return sock\n'
              's = wrap_socket(sock)\n')
    for text in (source, source + "# é\n", "x = {1: 2}\ny = f(a=1)\nz.w = 3\n"):
        for node_type in (ast.keyword, ast.Assign, ast.Dict, ast.ImportFrom, ast.FunctionDef):
            with_select, every_node = _select_check("SR401", text, node_type)
            assert with_select == every_node
    assert _select_check("SR401", source, ast.Dict)[0]  # the keys spelt with escapes and concatenation


def test_assigned_attributes_shortcut():
    """SR401 and SR604 rule out a file's assignments from its assigned attributes, found once for
    both (transport.assigned_attributes): the same findings as check_node on every assignment."""
    import ast

    from secreview.rules.transport import assigned_attributes

    source = ('import ssl\nfrom flask import Flask\napp = Flask(__name__)\n'
              'app.debug = True\n'
              'app.config["DEBUG"] = True\n'
              'ctx = ssl.create_default_context()\n'
              'ctx.check_hostname = False\n'
              'ctx.verify_mode = ssl.CERT_NONE\n'
              'a, b.verify = 1, False\n'
              'x = y[0].attr = z[1][2] = f().config[3] = 4\n')
    without = 'app.debug2 = True\napp.configs["DEBUG"] = True\nconfig["DEBUG"] = True\nctx.verify2 = False\n'
    for text in (source, without, source + "# é\n", without + "# é\n"):
        for rule_id in ("SR401", "SR604"):
            with_select, every_node = _select_check(rule_id, text, ast.Assign)
            assert with_select == every_node
    assert len(_select_check("SR604", source, ast.Assign)[0]) == 2
    assert len(_select_check("SR401", source, ast.Assign)[0]) == 2
    assert not _select_check("SR604", without, ast.Assign)[1]

    class Ctx:
        cache: dict = {}
    tree = ast.parse(source)
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)]
    attrs, subscripted = assigned_attributes(Ctx(), assigns)
    assert attrs == {"debug", "check_hostname", "verify_mode", "attr"} and subscripted == {"config"}  # not b.verify


def test_swallowed_exception_select():
    """SR811's select keeps a try only for a handler that may swallow a failed check (its kinds
    of statements, the exceptions it catches): the same findings as check_node on every try."""
    import ast

    source = ('import jwt, ssl\n'
              'def f(token, key):\n'
              '    try:\n'
              '        jwt.decode(token, key)\n'
              '    except jwt.InvalidSignatureError:\n'
              '        return True\n'
              'def g(sig):\n'
              '    try:\n'
              '        verify_signature(sig)\n'
              '    except Exception:\n'
              '        LOG.warning("bad")\n'
              '    do()\n'
              'def h(sig):\n'
              '    try:\n'
              '        verify_signature(sig)\n'
              '    except ValueError:\n'
              '        pass\n'
              '    except ssl.SSLWantReadError:\n'
              '        pass\n'
              '    except Exception:\n'
              '        raise\n'
              'def k(sig):\n'
              '    try:\n'
              '        ok = verify_signature(sig)\n'
              '    except:\n'
              '        ok = True\n'
              '    return ok\n')
    with_select, every_node = _select_check("SR811", source, ast.Try)
    assert with_select == every_node
    assert len(with_select) == 3
