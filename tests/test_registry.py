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
    monkeypatch.setattr(engine.RuleSet, "inactive", lambda self, text, path: frozenset())
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
    monkeypatch.setattr(engine.RuleSet, "prefixed", lambda self, text, module: True)
    assert findings() == skipping
