"""SARIF 2.1.0, shaped for GitHub code scanning: one rule entry per rule used (with its CWE tag),
one result per finding with a 1-based region and a line-free fingerprint, data-flow traces as
``codeFlows``, and skipped files (level ``warning``) and notes on how a file was read (level
``note``, e.g. a Python 2 file read leniently) as tool execution notifications."""

from __future__ import annotations

import json
import urllib.parse

from secreview import __version__
from secreview.model import PILLARS, Finding, Level, Location, Review, cwe_name, cwe_pillar
from secreview.rules import registry
from secreview.rules.base import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://pypi.org/project/secreview/"
LEVEL = {Level.HIGH: "error", Level.MEDIUM: "warning", Level.LOW: "note"}
SECURITY_SEVERITY = {Level.HIGH: "8.0", Level.MEDIUM: "5.5", Level.LOW: "3.0"}


def _uri(path: str) -> dict:
    if path.startswith("/"):
        return {"uri": "file://" + urllib.parse.quote(path)}
    if path.startswith("<"):
        return {"uri": urllib.parse.quote(path.strip("<>"))}
    return {"uri": urllib.parse.quote(path), "uriBaseId": "%SRCROOT%"}


def _region(loc: Location) -> dict:
    return {
        "startLine": loc.line,
        "startColumn": loc.col + 1,
        "endLine": loc.end_line,
        "endColumn": max(loc.end_col + 1, 1),
    }


def _rule_entry(rule: type[Rule]) -> dict:
    sections = rule.sections()
    doc = rule.doc()
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": " ".join(sections.get("What it finds", rule.summary()).split())},
        "help": {"text": doc, "markdown": doc},
        "helpUri": f"https://cwe.mitre.org/data/definitions/{rule.cwe}.html",
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", f"external/cwe/cwe-{rule.cwe}"],
            "cwe": rule.cwe,
            "cwe_name": cwe_name(rule.cwe),
            "pillar": f"CWE-{cwe_pillar(rule.cwe)}",
            "precision": rule.confidence.label,
            "problem.severity": {Level.HIGH: "error", Level.MEDIUM: "warning", Level.LOW: "recommendation"}[rule.severity],
            "security-severity": SECURITY_SEVERITY[rule.severity],
        },
    }


def _result(f: Finding, rule_index: int) -> dict:
    loc = f.location
    result = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": f"{f.message} Fix: {f.fix}"},
        "locations": [{"physicalLocation": {"artifactLocation": _uri(loc.path), "region": _region(loc)}}],
        "partialFingerprints": {"secreview/v1": f.fingerprint},
        "properties": {
            "cwe": f.cwe,
            "pillar": f"CWE-{f.pillar}",
            "pillar_name": PILLARS[f.pillar],
            "severity": f.severity.label,
            "confidence": f.confidence.label,
            "security-severity": SECURITY_SEVERITY[f.severity],
            "context": f.context,
        },
    }
    if f.trace:
        result["codeFlows"] = [{
            "threadFlows": [{
                "locations": [
                    {"location": {
                        "physicalLocation": {"artifactLocation": _uri(step.location.path),
                                             "region": _region(step.location)},
                        "message": {"text": step.note},
                    }}
                    for step in f.trace
                ]
            }]
        }]
    return result


def _rule(rule_id: str) -> type[Rule]:
    from secreview.suppress import META_RULES  # SR001 / SR002, reported by the triage phase

    return META_RULES.get(rule_id) or registry.get(rule_id)


def _invocation(review: Review, notifications: list[dict]) -> dict:
    invocation: dict = {"executionSuccessful": True}
    if review.timing is not None:  # only with --sarif-timing: times make every run's bytes differ
        invocation["startTimeUtc"], invocation["endTimeUtc"] = review.timing
    invocation["toolExecutionNotifications"] = notifications
    return invocation


def as_dict(review: Review) -> dict:
    used = sorted({f.rule_id for f in review.findings})
    rules = [_rule(rule_id) for rule_id in used]
    index = {rule.id: i for i, rule in enumerate(rules)}
    notifications = []
    for s in review.skipped:
        location = {"physicalLocation": {"artifactLocation": _uri(s.path)}}
        if s.line:
            location["physicalLocation"]["region"] = {"startLine": s.line}
        notifications.append({
            "level": "warning",
            "message": {"text": f"{s.path}: skipped: {s.reason}"},
            "locations": [location],
            "descriptor": {"id": "skipped-file"},
        })
    for n in review.notes:
        notifications.append({
            "level": "note",
            "message": {"text": f"{n.path}: {n.message}"},
            "locations": [{"physicalLocation": {"artifactLocation": _uri(n.path)}}],
            "descriptor": {"id": f"read-as-{n.kind}" if n.kind else "file-note"},
            "properties": {"lines": list(n.lines)},
        })
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "secreview",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": [_rule_entry(rule) for rule in rules],
            }},
            "invocations": [_invocation(review, notifications)],
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The folder secreview was run from."}}},
            "results": [_result(f, index[f.rule_id]) for f in review.findings],
            "columnKind": "unicodeCodePoints",
        }],
    }


def render_sarif(review: Review) -> str:
    return json.dumps(as_dict(review), indent=2, ensure_ascii=False) + "\n"
