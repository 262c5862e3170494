"""The written review: one line-referenced, context-aware review per file, ending in a verdict.

For each file: a header (the file, its length, its context and the evidence for it), numbered
sections for the topics present (test and environment set-up; mocks, stubs and fakes; data
handling and input validation; interactions with the outside; the defects; findings set aside by
the test-code policy), then the verdict. The verdict is exactly ``No security defects are
detected in the code`` on its own line when no defect remains, otherwise the count of defects by
severity.

Every line cited exists in the file and every code quotation is the text of the lines cited next
to it (``tests/test_review_grounding.py`` checks this over every fixture). Topic contents come from
the outline (:mod:`secreview.outline`) built per file; defects come from the review's findings
after triage, so suppressed and baselined findings do not appear. The same review gives the same
bytes.

:func:`compose` builds a neutral document (blocks of cited statements); :func:`render_review`
prints it as plain text and :mod:`secreview.report.markdown` as Markdown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from secreview.model import PILLARS, FileResult, Finding, Review, cwe_name, cwe_pillar
from secreview.rules import registry

VERDICT_CLEAN = "No security defects are detected in the code"
CODE_LIMIT = 90
# A review is posted where many can read it: code quoted for these weaknesses stops four characters
# into its first string literal, as the rule's own message does.
CREDENTIAL_CWES = frozenset({259, 321, 798})

_KIND_BY_LABEL = {"production": "production code", "test": "test code", "example": "example code",
                  "migration": "database migration", "generated": "generated code"}


@dataclass
class Entry:
    """One statement of a section: the lines it is about, the code quoted from them, what it says."""

    lines: tuple[int, int] | None
    code: str
    note: str


@dataclass
class Defect:
    number: int
    finding: Finding
    function: str  # "`ping` (lines 10-18)" or ""
    fields: list[tuple[str, str]]  # (label, text) in order


@dataclass
class Section:
    number: int
    title: str
    ranges: list[tuple[int, int]]
    entries: list[Entry] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)
    closing: str = ""


@dataclass
class FileDoc:
    path: str
    lines: int
    reviewed: bool
    context: str  # "functional test"
    evidence: list[tuple[str, int | None]]
    notes: list[str]  # how the file was read (Python 2), partly reviewed / not reviewed reasons
    sections: list[Section]
    verdict: str


# ---------------------------------------------------------------------- composing


def compose(review: Review) -> list[FileDoc]:
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in review.findings:
        by_path[finding.location.path].append(finding)
    results = {r.path: r for r in review.files}
    for path in by_path:
        results.setdefault(path, FileResult(path))
    skipped_by_path: dict[str, list[str]] = defaultdict(list)
    for s in review.skipped:
        skipped_by_path[s.path].append(s.reason)
    return [_file_doc(results[path], by_path.get(path, []), skipped_by_path.get(path, []))
            for path in sorted(results)]


def _file_doc(result: FileResult, findings: list[Finding], skipped: list[str]) -> FileDoc:
    outline = result.outline or {}
    kind = outline.get("kind") or _KIND_BY_LABEL.get(result.context, result.context)
    evidence = [(e["text"], e.get("line")) for e in outline.get("evidence", ())]
    if not result.reviewed:
        return FileDoc(result.path, result.lines, False, "", [], [f"Not reviewed: {r}" for r in skipped], [],
                       "No verdict: the file could not be reviewed.")
    notes = [n.message[:1].upper() + n.message[1:] + "." for n in result.notes]
    notes += [f"Partly reviewed: {r.removeprefix('partly reviewed: ')}" for r in skipped]
    sections: list[Section] = []
    for raw in outline.get("sections", ()):
        entries = [Entry(tuple(i["lines"]), i["code"], i["note"]) for i in raw["items"]]
        sections.append(Section(len(sections) + 1, raw["title"], _merge([e.lines for e in entries]), entries,
                                closing=raw.get("closing", "")))
    findings = sorted(findings, key=Finding.sort_key)
    finding_notes = outline.get("findings", {})
    if findings:
        section = Section(len(sections) + 1, "Defects", _merge([_lines_of(f) for f in findings]))
        for number, finding in enumerate(findings, 1):
            section.defects.append(_defect(number, finding, finding_notes))
        sections.append(section)
    if result.dropped:
        dropped = sorted(result.dropped, key=Finding.sort_key)
        entries = [Entry(_lines_of(f), _cut(redact(f.snippet) if f.cwe in CREDENTIAL_CWES else f.snippet),
                         f"{f.rule_id} {f.rule_name} ({f.severity.label} severity) "
                                                          f"{f.triage}") for f in dropped]
        sections.append(Section(len(sections) + 1, "Findings set aside in test code",
                                _merge([e.lines for e in entries]), entries))
    return FileDoc(result.path, result.lines, True, kind, evidence, notes, sections,
                   _verdict(findings, partial=bool(skipped)))


def _lines_of(finding: Finding) -> tuple[int, int]:
    start, end = getattr(finding, "statement_lines", (0, 0)) or (0, 0)
    if start and end and start <= finding.location.line <= end:
        return (start, end)
    return (finding.location.line, max(finding.location.line, finding.location.end_line))


def _defect(number: int, finding: Finding, finding_notes: dict) -> Defect:
    loc = finding.location
    key = f"{finding.rule_id}:{loc.line}:{loc.col}"
    entry = finding_notes.get(key, {})
    notes = list(entry.get("notes", ()))
    function = ""
    if notes:
        m = re.search(r"in (`[^`]+` \(lines? \d+(?:-\d+)?\))", notes[0])
        function = m.group(1) if m else ""
    pillar = cwe_pillar(finding.cwe)
    fields: list[tuple[str, str]] = []
    code = _cut(redact(finding.snippet) if finding.cwe in CREDENTIAL_CWES else finding.snippet)
    if code:
        fields.append(("Code", code))
    fields.append(("Weakness", f"CWE-{finding.cwe} {cwe_name(finding.cwe)}; category CWE-{pillar} {PILLARS[pillar]} "
                               "(CWE-1000)"))
    fields.append(("Severity", f"{finding.severity.label}; confidence: {finding.confidence.label}"))
    fields.append(("What happens", finding.message + _quoted(entry.get("quotes"))))
    if finding.trace:
        steps = [f"line {s.location.line}: {s.note}" for s in finding.trace]
        fields.append(("Data flow", "; then ".join(steps) + _quoted(entry.get("trace_quotes"))))
    if notes:
        fields.append(("Why it matters here", " ".join(notes)))
    if finding.triage:
        fields.append(("Triage", finding.triage))
    danger = _danger(finding.rule_id)
    if danger:
        fields.append(("Why it is dangerous", danger))
    fields.append(("Fix", finding.fix))
    return Defect(number, finding, function, fields)


def _quoted(lines: list[int] | None) -> str:
    """Where code a rule's text quotes from outside the defect's own lines is."""
    if not lines:
        return ""
    return f" (quoted code: {spans([(n, n) for n in lines])})"


def _danger(rule_id: str) -> str:
    """The first paragraph of the rule's "Why it is dangerous" section, on one line."""
    try:
        rule = registry.get(rule_id)
    except registry.RuleError:
        return ""
    text = rule.sections().get("Why it is dangerous", "")
    paragraph = text.split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def _verdict(findings: list[Finding], partial: bool) -> str:
    if not findings:
        if partial:
            return ("No security defects are detected in the reviewed parts of the code; the parts listed "
                    "as partly reviewed above were not reviewed.")
        return VERDICT_CLEAN
    counts = {"high": 0, "medium": 0, "low": 0}
    for f in findings:
        counts[f.severity.label] += 1
    n = len(findings)
    text = (f"{n} security defect{'' if n == 1 else 's'} {'is' if n == 1 else 'are'} detected in the code: "
            f"{counts['high']} high, {counts['medium']} medium, {counts['low']} low severity.")
    if partial:
        text += " Some parts were not reviewed (see above)."
    return text


def _merge(ranges: list[tuple[int, int] | None]) -> list[tuple[int, int]]:
    spans = sorted(r for r in ranges if r)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def redact(code: str) -> str:
    """``key = "AKIA...``: the code cut four characters into its first string literal of eight
    characters or more (the first literal at all when none is that long)."""
    literals = list(re.finditer(r"([\"'])((?:\\.|(?!\1).)*)\1", code))
    if not literals:
        return code
    chosen = next((m for m in literals if len(m.group(2)) >= 8), literals[0])
    end = chosen.start(2) + 4
    return code[:end] + "..." if end < chosen.end(2) else code


def _cut(code: str) -> str:
    """Quoted code: one line, at most CODE_LIMIT characters, never containing a backtick."""
    text = " ".join(code.split())
    if "`" in text:
        text = text[: text.index("`")].rstrip() + "..."
    if len(text) > CODE_LIMIT:
        text = text[: CODE_LIMIT - 3].rstrip() + "..."
    return text


def span(lines: tuple[int, int]) -> str:
    a, b = lines
    return f"line {a}" if a == b else f"lines {a}-{b}"


def spans(ranges: list[tuple[int, int]]) -> str:
    if not ranges:
        return ""
    if len(ranges) == 1:
        return span(ranges[0])
    return "lines " + ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def summary(docs: list[FileDoc]) -> str:
    """One line for a run over several files."""
    with_defects = sum(1 for d in docs if d.reviewed and not d.verdict.startswith("No "))
    clean = sum(1 for d in docs if d.reviewed and d.verdict == VERDICT_CLEAN)
    not_reviewed = sum(1 for d in docs if not d.reviewed)
    parts = [f"{with_defects} with defects", f"{clean} clean"]
    partial = len(docs) - with_defects - clean - not_reviewed
    if partial:
        parts.append(f"{partial} partly reviewed without defects")
    if not_reviewed:
        parts.append(f"{not_reviewed} not reviewed")
    return f"secreview reviewed {len(docs)} files: {', '.join(parts)}."


# ---------------------------------------------------------------------- plain text


def render_review(review: Review) -> str:
    docs = compose(review)
    out: list[str] = []
    if len(docs) > 1:
        out += [summary(docs), ""]
    for i, doc in enumerate(docs):
        if i:
            out.append("")
        out += _text_doc(doc)
    if not docs:
        out.append("No files were reviewed.")
    return "\n".join(out) + "\n"


def _text_doc(doc: FileDoc) -> list[str]:
    size = f"{doc.lines} line{'' if doc.lines == 1 else 's'}"
    out = [f"Review of {doc.path} ({size})" if doc.reviewed else f"Review of {doc.path}"]
    if doc.reviewed:
        evidence = "; ".join(f"line {line}: {text}" if line else text for text, line in doc.evidence)
        out.append(f"Context: {doc.context}." + (f" Evidence: {evidence}." if evidence else ""))
    out += doc.notes
    for section in doc.sections:
        out.append("")
        out.append(f"{section.number}. {section.title} ({spans(section.ranges)})")
        for entry in section.entries:
            where = span(entry.lines) if entry.lines else ""
            code = f" `{entry.code}`" if entry.code else ""
            out.append(f"   - {where}:{code} — {entry.note}" if code else f"   - {where}: {entry.note}")
        for defect in section.defects:
            where = span(_lines_of(defect.finding))
            inside = f" in {defect.function}" if defect.function else ""
            out.append(f"   Defect {defect.number}: {where}{inside}: {defect.finding.rule_id} "
                       f"{defect.finding.rule_name}")
            for label, text in defect.fields:
                value = f"`{text}`" if label == "Code" else text
                out.append(f"     {label}: {value}")
        if section.closing:
            out.append(f"   {section.closing}")
    out += ["", "Verdict", doc.verdict]
    return out
