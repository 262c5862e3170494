"""Every rule is complete: id, name, CWE with pillar, severity, confidence, fix, docs, fixtures."""

import re

import pytest

from fixture_harness import expectations, fixture_files
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
