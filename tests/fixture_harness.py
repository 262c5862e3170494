"""The fixture convention: expectations written in the reviewed code itself.

    os.system(cmd)          # expect: SR101
    os.system(cmd)          # expect: SR101:high/medium     (severity/confidence asserted too)
    os.system(cmd)          # expect: SR111@12              (data flow: the trace starts on line 12)
    os.system(cmd)          # expect: SR111@12>13>15        (data flow: the trace's lines, exactly)
    subprocess.run(["ls"])  # ok: SR101

An ``expect`` line must carry a finding of that rule starting on that line (with that severity and
confidence when given); an ``ok`` line must carry none. Fixture files are strict: any finding on a
line without an ``expect`` for its rule fails the check, so a fixture documents everything the
tool says about it.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from dataclasses import dataclass

from secreview.engine import Options, RuleSet, review_bytes

RULES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "rules")
_MARK = re.compile(r"\b(expect|ok):\s*((?:SR\d{3}[A-Za-z0-9_:/@>]*[\s,]*)+)")
_ITEM = re.compile(r"^(SR\d{3})(?::(low|medium|high)/(low|medium|high))?(?:@(\d+(?:>\d+)*))?$")


@dataclass(frozen=True)
class Expectation:
    kind: str  # expect | ok
    line: int
    rule: str
    severity: str | None = None
    confidence: str | None = None
    trace: tuple[int, ...] = ()  # data-flow findings: the trace's lines, or just its source line


def fixture_files() -> list[str]:
    found = []
    for root, _, files in os.walk(RULES_DIR):
        for name in files:
            if name.endswith(".py"):
                found.append(os.path.join(root, name))
    return sorted(found)


def fixture_findings(ruleset: RuleSet, options: Options) -> list[tuple]:
    """(path, line, column, rule, message) of every finding in every fixture file, sorted: what
    the equivalence tests compare with a shortcut switched on and off."""
    out = []
    for path in fixture_files():
        with open(path, "rb") as handle:
            result = review_bytes(handle.read(), str(path), ruleset, options)
        out.extend((f.location.path, f.location.line, f.location.col, f.rule_id, f.message) for f in result.findings)
    return sorted(out)


def expectations(text: str) -> list[Expectation]:
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type != tokenize.COMMENT:
            continue
        for m in _MARK.finditer(tok.string):
            for item in m.group(2).replace(",", " ").split():
                parsed = _ITEM.match(item.strip())
                if not parsed:
                    raise ValueError(f"line {tok.start[0]}: bad fixture annotation {item!r}")
                trace = tuple(int(n) for n in parsed.group(4).split(">")) if parsed.group(4) else ()
                found.append(Expectation(m.group(1), tok.start[0], parsed.group(1), parsed.group(2), parsed.group(3),
                                         trace))
    return found


def _trace_matches(finding, expected: tuple[int, ...]) -> bool:
    lines = tuple(step.location.line for step in finding.trace)
    if len(expected) == 1:
        return bool(lines) and lines[0] == expected[0]
    return lines == expected


def check_fixture(path: str) -> list[str]:
    """Problems with one fixture file; empty when every expectation holds."""
    with open(path, "rb") as handle:
        data = handle.read()
    text = data.decode("utf-8")
    display = os.path.relpath(path, RULES_DIR).replace(os.sep, "/")
    options = Options(test_policy="keep")  # fixtures check what rules report, before context triage
    result = review_bytes(data, display, RuleSet.from_options(options), options)
    problems = [f"skipped: {s.reason}" for s in result.skipped]
    by_line: dict[tuple[int, str], list] = {}
    for finding in result.findings:
        by_line.setdefault((finding.location.line, finding.rule_id), []).append(finding)
    expected = set()
    for exp in expectations(text):
        hits = by_line.get((exp.line, exp.rule), [])
        if exp.kind == "expect":
            expected.add((exp.line, exp.rule))
            if not hits:
                problems.append(f"{display}:{exp.line}: expected {exp.rule}, got nothing")
            elif exp.severity and not any(h.severity.label == exp.severity and h.confidence.label == exp.confidence
                                          for h in hits):
                got = ", ".join(f"{h.severity.label}/{h.confidence.label}" for h in hits)
                problems.append(f"{display}:{exp.line}: expected {exp.rule} {exp.severity}/{exp.confidence}, got {got}")
            elif exp.trace and not any(_trace_matches(h, exp.trace) for h in hits):
                got = " | ".join(">".join(str(s.location.line) for s in h.trace) or "no trace" for h in hits)
                problems.append(f"{display}:{exp.line}: expected {exp.rule} trace {'>'.join(map(str, exp.trace))}, got {got}")
        elif hits:
            problems.append(f"{display}:{exp.line}: {exp.rule} must stay silent, got: {hits[0].message}")
    for (line, rule), hits in sorted(by_line.items()):
        if (line, rule) not in expected:
            problems.append(f"{display}:{line}: unexpected {rule}: {hits[0].message}")
    return problems
