"""The triage filters applied to a whole review, in this order:

1. ``per-file-ignores`` from the configuration (rules left out for files matching a pattern);
2. suppression comments (``# secreview: ignore[...]``, ``# nosec``), with the optional reason
   requirement and unused-suppression report (:mod:`secreview.suppress`);
3. the baseline (``--baseline FILE``, :mod:`secreview.baseline`);
4. the change filter of a diff review: only findings whose lines (or data-flow trace steps) touch
   changed lines, or with ``--new-only`` only findings whose fingerprint the base revision lacks
   (:mod:`secreview.diff`).

Nothing here reads files: everything needed came with the options or the per-file results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from secreview import baseline as baseline_mod
from secreview import suppress
from secreview.discover import gitignore_spec
from secreview.model import Finding, Review


@dataclass
class Filters:
    """The filters applied to a file's findings after the rules ran."""

    per_file_ignores: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (pattern, rule ids)
    root: str | None = None  # the folder per-file-ignores patterns are relative to
    require_reason: bool = False  # --require-suppression-reason
    report_unused: bool = False  # --report-unused-suppressions
    baseline: dict[str, int] | None = None  # baseline key -> count (--baseline)
    changed_lines: dict[str, frozenset[int]] | None = None  # display path -> changed lines (diff review)
    base_fingerprints: frozenset[str] | None = None  # fingerprints at the base revision (--new-only)


def apply(review: Review, options) -> Review:
    filters: Filters = getattr(options, "filters", None) or Filters()
    findings = list(review.findings)
    findings = _per_file_ignores(findings, filters)
    findings = _suppressions(findings, review, options, filters)
    if filters.baseline is not None:
        findings = baseline_mod.subtract(findings, filters.baseline)
    if filters.changed_lines is not None:
        if filters.base_fingerprints is not None:
            findings = [f for f in findings if f.location.path in filters.changed_lines
                        and f.fingerprint not in filters.base_fingerprints]
        else:
            findings = [f for f in findings if touches(f, filters.changed_lines)]
    findings.sort(key=Finding.sort_key)
    return replace(review, findings=tuple(findings),
                   changed_lines=filters.changed_lines if filters.changed_lines is not None else review.changed_lines)


def touches(finding: Finding, changed: dict[str, frozenset[int]]) -> bool:
    """Whether a finding's lines (its statement's too) or any step of its trace is on a changed line."""
    lines = changed.get(finding.location.path)
    if lines:
        start, end = suppress.statement_span(finding)
        if any(line in lines for line in range(start, end + 1)):
            return True
    for step in finding.trace:
        step_lines = changed.get(step.location.path)
        if step_lines and any(line in step_lines for line in range(step.location.line, step.location.end_line + 1)):
            return True
    return False


def _per_file_ignores(findings: list[Finding], filters: Filters) -> list[Finding]:
    if not filters.per_file_ignores:
        return findings
    root = filters.root or os.getcwd()
    specs = [(gitignore_spec([pattern]), set(ids)) for pattern, ids in filters.per_file_ignores]
    memo: dict[str, set[str]] = {}

    def ignored(path: str) -> set[str]:
        if path not in memo:
            if path.startswith("<"):
                rel = path
            else:
                rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
            memo[path] = set().union(*(ids for spec, ids in specs if spec.match_file(rel))) if specs else set()
        return memo[path]

    return [f for f in findings if f.rule_id not in ignored(f.location.path)]


def _suppressions(findings: list[Finding], review: Review, options, filters: Filters) -> list[Finding]:
    raw = {r.path: r.suppressions for r in review.files if getattr(r, "suppressions", ())}
    if not raw:
        return findings
    from secreview.rules import registry

    known: dict[str, str] = {}
    for rule in registry.all_rules():
        known[rule.id] = rule.id
        known[rule.name] = rule.id
    selected = {r.id for r in registry.select(getattr(options, "select", None), getattr(options, "ignore", None))}
    contexts = {r.path: r.context for r in review.files}
    outcome = suppress.apply(findings, raw, contexts, known, selected,
                             require_reason=filters.require_reason, report_unused=filters.report_unused)
    return outcome.findings
