"""Review comments for a code-review system, as the JSON bodies their APIs take:

- ``github``: the body of ``POST /repos/{owner}/{repo}/pulls/{number}/reviews`` (``event``,
  ``body``, ``comments`` with ``path``, ``line``, ``side`` and ``body``);
- ``gerrit``: a ``ReviewInput`` for ``POST /changes/{id}/revisions/{rev}/review`` (``message``,
  ``tag``, ``comments`` by path, each with ``line``, optional ``range`` and ``message``).

In a change review (``secreview diff``, ``--diff-base``, ``--patch``) comments go only on lines
inside the diff, as both systems require: on the finding's own line when it was changed, else on
a changed line of its statement, else on a changed line of its data-flow trace. A finding with
no such line is listed in the review's body instead. Without a diff every finding is commented
on its own line. ``secreview post`` sends these bodies.
"""

from __future__ import annotations

import json

from secreview.model import Finding, Review
from secreview.report.text import VERDICT_CLEAN

FORMAT = "secreview-review"
VERSION = 1


def _place(f: Finding, changed: dict[str, frozenset[int]] | None) -> tuple[str, int, bool] | None:
    """(path, line, whole_span_changed) for the comment of ``f``, or None when no line of it is
    inside the diff."""
    loc = f.location
    if changed is None:
        return loc.path, loc.line, True
    lines = changed.get(loc.path, frozenset())
    span = range(loc.line, loc.end_line + 1)
    if loc.line in lines:
        return loc.path, loc.line, all(n in lines for n in span)
    for n in span:
        if n in lines:
            return loc.path, n, False
    from secreview.suppress import statement_span

    start, end = statement_span(f)
    for n in range(start, end + 1):
        if n in lines:
            return loc.path, n, False
    for step in f.trace:
        step_lines = changed.get(step.location.path, frozenset())
        for n in range(step.location.line, step.location.end_line + 1):
            if n in step_lines:
                return step.location.path, n, False
    return None


def _title(f: Finding) -> str:
    return (f"{f.rule_id} {f.rule_name} (CWE-{f.cwe}, {f.severity.label} severity, "
            f"{f.confidence.label} confidence)")


def _trace_lines(f: Finding) -> list[str]:
    return [f"{i}. {step.location.path}:{step.location.line}: {step.note}" for i, step in enumerate(f.trace, 1)]


def github_comment_body(f: Finding, path: str, line: int) -> str:
    parts = [f"**{_title(f)}**"]
    if (path, line) != (f.location.path, f.location.line):
        parts.append(f"Reported at `{f.location.path}:{f.location.line}`; this line of the change is part of it.")
    parts += [f.message, f"**Fix:** {f.fix}"]
    if f.trace:
        parts.append("Data flow:\n" + "\n".join(_trace_lines(f)))
    parts.append(f"<!-- secreview:{f.fingerprint} -->")
    return "\n\n".join(parts)


def gerrit_comment_message(f: Finding, path: str, line: int) -> str:
    parts = [_title(f)]
    if (path, line) != (f.location.path, f.location.line):
        parts.append(f"Reported at {f.location.path}:{f.location.line}; this line of the change is part of it.")
    parts += [f.message, f"Fix: {f.fix}"]
    if f.trace:
        parts.append("Data flow:\n" + "\n".join(_trace_lines(f)))
    return "\n\n".join(parts)


def _summary(review: Review, outside: list[Finding], markdown: bool) -> str:
    n = len(review.findings)
    counts = review.counts()
    scope = " in the lines this change touches" if review.changed_lines is not None else ""
    if n:
        lines = [f"secreview: {n} finding{'s' * (n != 1)}{scope} ({counts['high']} high, "
                 f"{counts['medium']} medium, {counts['low']} low)."]
    else:
        lines = [f"secreview: {VERDICT_CLEAN}{scope}."]
    if outside:
        lines.append("")
        lines.append("Findings that no line of the diff can carry a comment for:")
        for f in outside:
            where = f"{f.location.path}:{f.location.line}"
            lines.append(f"- {'`' + where + '`' if markdown else where} {_title(f)}: {f.message}")
    if review.skipped:
        lines.append("")
        lines.append("Files that could not be reviewed:")
        for s in review.skipped:
            where = f"{s.path}:{s.line}" if s.line else s.path
            lines.append(f"- {'`' + where + '`' if markdown else where}: {s.reason}")
    if review.notes:
        lines.append("")
        lines.append("Notes on how files were read:")
        for n in review.notes:
            lines.append(f"- {'`' + n.path + '`' if markdown else n.path}: {n.message}")
    return "\n".join(lines)


def as_dict(review: Review) -> dict:
    changed = review.changed_lines
    gh_comments: list[dict] = []
    gerrit: dict[str, list[dict]] = {}
    outside: list[Finding] = []
    for f in review.findings:
        place = _place(f, changed)
        if place is None:
            outside.append(f)
            continue
        path, line, whole = place
        gh_comments.append({"path": path, "line": line, "side": "RIGHT", "body": github_comment_body(f, path, line)})
        comment: dict = {"line": line, "message": gerrit_comment_message(f, path, line)}
        loc = f.location
        if whole and path == loc.path and line == loc.line:
            comment["line"] = loc.end_line  # Gerrit: with a range, line is the range's last line
            comment["range"] = {"start_line": loc.line, "start_character": loc.col,
                                "end_line": loc.end_line, "end_character": loc.end_col}
        gerrit.setdefault(path, []).append(comment)
    counts = review.counts()
    return {
        "format": FORMAT,
        "version": VERSION,
        "summary": {
            "findings": len(review.findings),
            "commented": len(gh_comments),
            "not_commented": len(outside),
            "skipped": len(review.skipped),
            "by_severity": counts,
            "diff": changed is not None,
        },
        "github": {"event": "COMMENT", "body": _summary(review, outside, True), "comments": gh_comments},
        "gerrit": {"message": _summary(review, outside, False), "tag": "autogenerated:secreview",
                   "comments": {path: gerrit[path] for path in sorted(gerrit)}},
    }


def render_review_json(review: Review) -> str:
    return json.dumps(as_dict(review), indent=2, ensure_ascii=False) + "\n"
