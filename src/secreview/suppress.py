"""Suppression comments: a reasoned exception written next to the code it excuses.

    cursor.execute(query % table)  # secreview: ignore[SR104] table comes from a fixed list
    subprocess.call(cmd, shell=True)  # nosec B602 -- cmd is a constant (Bandit's form, for migration)

A suppression applies to a finding when the comment is on any line of the flagged statement:
the first line, a continuation line, or the line that closes a multi-line string or call. The
span is recorded with each finding when it is made (``Finding.statement_lines``).

Comments are read in the per-file phase (:func:`extract`, tokenizing only a file whose text holds
``secreview:`` or ``nosec``) and kept on the :class:`~secreview.model.FileResult` as plain tuples,
so the result can be cached as JSON. They are matched against findings in the triage phase
(:func:`apply`), after the global phase has added its findings.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from secreview.model import Finding, Level, Location
from secreview.rules.base import Rule
from secreview.source.comments import comments

# Bandit test ids -> the secreview rules that cover the same weakness, so that an existing
# ``# nosec B602`` keeps silencing the same line after a migration. Ids without an equivalent
# (import-only checks, for example) suppress nothing.
BANDIT_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "B102": ("SR103",), "B307": ("SR103",),
    "B602": ("SR101",), "B604": ("SR101",), "B605": ("SR101",),
    "B603": ("SR102",), "B606": ("SR102",), "B607": ("SR102",),
    "B608": ("SR104",), "B610": ("SR104",), "B611": ("SR104",),
    "B301": ("SR201",), "B302": ("SR201",), "B614": ("SR201",),
    "B506": ("SR202",),
    "B313": ("SR203",), "B314": ("SR203",), "B315": ("SR203",), "B316": ("SR203",),
    "B317": ("SR203",), "B318": ("SR203",), "B319": ("SR203",), "B320": ("SR203",),
    "B303": ("SR301",), "B324": ("SR301",),
    "B304": ("SR302",), "B305": ("SR303",), "B505": ("SR304",),
    "B501": ("SR401",), "B323": ("SR401",),
    "B502": ("SR402",), "B503": ("SR402",), "B504": ("SR402",),
    "B113": ("SR403",), "B104": ("SR404",), "B311": ("SR501",),
    "B105": ("SR502",), "B106": ("SR502",), "B107": ("SR502",),
    "B306": ("SR601",), "B108": ("SR602",), "B103": ("SR603",), "B201": ("SR604",),
    "B701": ("SR605",), "B308": ("SR605",), "B703": ("SR605",),
}

_SECREVIEW = re.compile(r"secreview:\s*ignore\b(?:\[([^\]]*)\])?(.*)$", re.IGNORECASE)
_NOSEC = re.compile(r"(?<![\w-])nosec\b(.*)$")
# The same forms anywhere in a text, up to the end of a line (MULTILINE): a comment that matches
# _SECREVIEW or _NOSEC makes the text they are in match these (a comment is a run of a line, after
# "#" and blanks, followed by blanks or the line's end), so a text that matches neither holds no
# suppression; "nosec" is a part of words such as "nanoseconds", which this tells from a comment
# without tokenizing the file.
_SECREVIEW_IN_TEXT = re.compile(_SECREVIEW.pattern, re.IGNORECASE | re.MULTILINE)
_NOSEC_IN_TEXT = re.compile(_NOSEC.pattern, re.MULTILINE)
_CODE = re.compile(r"^(?:[Bb]\d{3}|[Ss][Rr]\d{3}|[a-z][a-z0-9]*(?:-[a-z0-9]+)+)$")
_REASON_LEAD = " \t-:;,.\u2013\u2014#"

RawComment = Sequence  # (line, col, end_col, comment text) as stored on FileResult


@dataclass(frozen=True, slots=True)
class Suppression:
    """One ``# secreview: ignore[...]`` or ``# nosec`` comment."""

    line: int
    col: int
    end_col: int
    kind: str  # "secreview" or "nosec"
    codes: tuple[str, ...]  # as written; empty means every rule
    reason: str
    comment: str  # the comment text, without the leading '#'

    @property
    def written(self) -> str:
        return "# " + self.comment


def may_hold_suppressions(text: str) -> bool:
    """The cheap test that decides whether a file is tokenized for its comments."""
    return "secreview:" in text or "nosec" in text


def extract(text: str) -> tuple[tuple[int, int, int, str], ...]:
    """Comments of one file that hold a suppression, as ``(line, col, end_col, comment)``."""
    if not may_hold_suppressions(text) or not (_NOSEC_IN_TEXT.search(text) or _SECREVIEW_IN_TEXT.search(text)):
        return ()
    lines = text.splitlines()
    found = []
    for line, comment in sorted(comments(text).items()):
        if not (_SECREVIEW.search(comment) or _NOSEC.search(comment)):
            continue
        source = lines[line - 1] if 0 < line <= len(lines) else ""
        at = source.rfind(comment) if comment else -1
        col = source.rfind("#", 0, at) if at >= 0 else source.rfind("#")
        col = max(col, 0)
        found.append((line, col, max(len(source.rstrip()), col + 1), comment))
    return tuple(found)


def parse(raw: Iterable[RawComment]) -> list[Suppression]:
    """Suppressions from the stored comments (a comment may hold both forms)."""
    result = []
    for line, col, end_col, comment in raw:
        m = _SECREVIEW.search(comment)
        if m:
            codes = tuple(c.strip() for c in (m.group(1) or "").replace(";", ",").split(",") if c.strip())
            reason = m.group(2).strip(_REASON_LEAD + "]").strip()
            result.append(Suppression(line, col, end_col, "secreview", codes, reason, comment))
        m = _NOSEC.search(comment)
        if m:
            codes, reason = _nosec_codes(m.group(1))
            result.append(Suppression(line, col, end_col, "nosec", codes, reason, comment))
    return result


def _nosec_codes(rest: str) -> tuple[tuple[str, ...], str]:
    rest = rest.lstrip(" \t:")
    codes: list[str] = []
    while rest:
        m = re.match(r"[\s,]*([^\s,]+)", rest)
        if not m or not _CODE.match(m.group(1)):
            break
        codes.append(m.group(1))
        rest = rest[m.end():]
    return tuple(codes), rest.strip(_REASON_LEAD).strip()


def code_rules(code: str, kind: str, known: dict[str, str]) -> tuple[str, ...]:
    """The rule ids a code written in a suppression stands for (empty when it names none).
    ``known`` maps rule ids and names to ids."""
    upper = code.upper()
    if kind == "nosec" and upper in BANDIT_EQUIVALENTS:
        return BANDIT_EQUIVALENTS[upper]
    rule_id = known.get(upper) or known.get(code.lower())
    return (rule_id,) if rule_id else ()


def statement_span(finding: Finding) -> tuple[int, int]:
    """Lines of the flagged statement (falls back to the finding's own lines)."""
    loc = finding.location
    start, end = getattr(finding, "statement_lines", (0, 0)) or (0, 0)
    if not start:
        return loc.line, loc.end_line
    return min(start, loc.line), max(end, loc.end_line)


@dataclass(frozen=True)
class Outcome:
    """The findings after the suppression comments, and how many they silenced."""

    findings: list[Finding]  # what is still reported, including the suppression findings below
    suppressed: int  # how many findings the comments silenced


def apply(findings: Sequence[Finding], raw_by_path: dict[str, Iterable[RawComment]],
          contexts: dict[str, str], known: dict[str, str], selected: set[str], *,
          require_reason: bool = False, report_unused: bool = False) -> Outcome:
    """Drop the findings that a suppression comment covers; add SR001 / SR002 findings when the
    run asks for them. ``selected`` is the set of rule ids that ran: a suppression of a rule that
    did not run is not called unused."""
    parsed = {path: parse(raw) for path, raw in raw_by_path.items()}
    parsed = {path: items for path, items in parsed.items() if items}
    if not parsed:
        return Outcome(list(findings), 0)
    used: dict[tuple[str, Suppression], set[str]] = defaultdict(set)  # suppression -> codes used
    kept: list[Finding] = []
    silenced = 0
    for finding in findings:
        candidates = parsed.get(finding.location.path, ())
        start, end = statement_span(finding) if candidates else (0, 0)
        hit = False
        for sup in candidates:
            if not start <= sup.line <= end:
                continue
            code = _matching_code(sup, finding, known)
            if code is None:
                continue
            used[(finding.location.path, sup)].add(code)
            if sup.reason or not require_reason:
                hit = True
        if hit:
            silenced += 1
        else:
            kept.append(finding)
    seen: dict[tuple[str, str, str], int] = defaultdict(int)

    def occurrence(rule: type[Rule], path: str, sup: Suppression) -> int:
        key = (rule.id, path, sup.written)
        seen[key] += 1
        return seen[key] - 1

    for path, items in sorted(parsed.items()):
        context = contexts.get(path, "production")
        for sup in items:
            if require_reason and not sup.reason:
                kept.append(_meta(MissingReason, path, sup, context,
                                  f"The suppression `{sup.written}` gives no reason, and this run requires one "
                                  "(--require-suppression-reason), so it silences nothing: the findings it covers "
                                  "are still reported. A written reason is what lets the next reviewer judge "
                                  "whether the exception still holds.", occurrence(MissingReason, path, sup)))
            if report_unused:
                unused = _unused_codes(sup, used.get((path, sup), set()), known, selected)
                if unused is not None:
                    kept.append(_meta(UnusedSuppression, path, sup, context, unused,
                                      occurrence(UnusedSuppression, path, sup)))
    return Outcome(kept, silenced)


def _matching_code(sup: Suppression, finding: Finding, known: dict[str, str]) -> str | None:
    if not sup.codes:
        return "*"
    for code in sup.codes:
        if finding.rule_id in code_rules(code, sup.kind, known):
            return code
    return None


def _unused_codes(sup: Suppression, used: set[str], known: dict[str, str], selected: set[str]) -> str | None:
    """The message for an unused suppression (or an unused part of one), else None."""
    if not sup.codes:
        if used or len(selected) < len({v for v in known.values()}):
            return None  # with only some rules running, a blanket comment cannot be judged
        return (f"The suppression `{sup.written}` silences no finding on this statement. A stale "
                "suppression would hide a future defect written here without anyone noticing.")
    stale = []
    for code in sup.codes:
        if code in used:
            continue
        rules = code_rules(code, sup.kind, known)
        if not rules:
            what = "has no secreview equivalent" if sup.kind == "nosec" and code.upper().startswith("B") \
                else "names no secreview rule"
            stale.append(f"{code} ({what})")
        elif any(r in selected for r in rules):
            stale.append(code)
    if not stale:
        return None
    return (f"The suppression `{sup.written}` silences nothing for {', '.join(stale)} on this statement. "
            "A stale suppression would hide a future defect written here without anyone noticing.")


def _meta(rule: type[Rule], path: str, sup: Suppression, context: str, message: str, occurrence: int) -> Finding:
    from secreview.engine import fingerprint  # the engine imports this module; import late

    snippet = sup.written
    return Finding(
        rule_id=rule.id, rule_name=rule.name, cwe=rule.cwe, severity=rule.severity,
        confidence=rule.confidence, location=Location(path, sup.line, sup.col, sup.line, sup.end_col),
        message=message, fix=rule.fix, context=context, snippet=snippet,
        fingerprint=fingerprint(rule.id, path, snippet, occurrence), statement_lines=(sup.line, sup.line),
    )


class UnusedSuppression(Rule):
    """A suppression comment that silences no finding.

    ## What it finds
    Reported only with `--report-unused-suppressions`: a `# secreview: ignore[...]` or `# nosec`
    comment on a statement where the named rules (or, for a comment without rule names, any rule)
    report nothing, and rule names that match no secreview rule.

    ## Why it is dangerous
    A suppression outlives the code it was written for. Once the defect it excused is gone, the
    comment still sits there and silently hides the next defect written on that statement.

    ## Example
    ```python
    subprocess.run(["ls", "-l"])  # secreview: ignore[SR101] fixed list of arguments
    ```

    ## Safe alternative
    ```python
    subprocess.run(["ls", "-l"])
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/710.html
    """

    id = "SR001"
    name = "unused-suppression"
    cwe = 710
    severity = Level.LOW
    confidence = Level.HIGH
    fix = "Remove the comment, or name the rule it is meant to silence."


class MissingReason(Rule):
    """A suppression comment that does not say why the finding is acceptable.

    ## What it finds
    Reported only with `--require-suppression-reason`: a suppression comment with no text after
    the rule list. Such a comment silences nothing while the option is on.

    ## Why it is dangerous
    An exception without a reason cannot be reviewed: nobody can tell later whether the condition
    that made the code safe still holds.

    ## Example
    ```python
    os.system(command)  # secreview: ignore[SR101]
    ```

    ## Safe alternative
    ```python
    os.system(command)  # secreview: ignore[SR101] command is built from constants in build_cmd()
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/710.html
    """

    id = "SR002"
    name = "suppression-without-reason"
    cwe = 710
    severity = Level.LOW
    confidence = Level.HIGH
    fix = "Write why the finding is acceptable after the rule list, e.g. `# secreview: ignore[SR101] arguments are constants`."


# Rules reported by the triage phase itself; not selectable, but rendered like any other rule.
META_RULES: dict[str, type[Rule]] = {UnusedSuppression.id: UnusedSuppression, MissingReason.id: MissingReason}
