"""The written review as Markdown, ready to post as a review comment.

Same content as :mod:`secreview.report.review`; code in backticks; with ``--link-base URL`` every
line reference becomes a link ``URL/PATH#L12`` (``#L12-L18`` for a range), the form GitHub,
GitLab and Gitea use for a file at a commit (e.g. ``https://github.com/ORG/REPO/blob/SHA``).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from secreview.model import Review
from secreview.report.review import FileDoc, _lines_of, compose, span, spans, summary

_LINE_REF = re.compile(r"\b(lines?) (\d+)(?:-(\d+))?((?:, \d+(?:-\d+)?)*)")


def render_markdown(review: Review, link_base: str = "") -> str:
    docs = compose(review)
    out: list[str] = []
    if len(docs) > 1:
        out += [summary(docs), ""]
    for i, doc in enumerate(docs):
        if i:
            out += ["---", ""]
        out += _doc(doc, link_base.rstrip("/"))
    if not docs:
        out.append("No files were reviewed.")
    return "\n".join(out).rstrip("\n") + "\n"


def _code(text: str) -> str:
    """A Markdown code span for ``text`` (which never holds a backtick: see review._cut)."""
    return f"`{text}`"


def _linker(base: str, path: str):
    if not base:
        return lambda text: text
    target = quote(path.replace("\\", "/").removeprefix("./"), safe="/")

    def one(a: str, b: str | None) -> str:
        return f"{base}/{target}#L{a}" + (f"-L{b}" if b and b != a else "")

    def link_refs(text: str) -> str:
        # only outside code spans
        parts = text.split("`")
        for i in range(0, len(parts), 2):
            parts[i] = _LINE_REF.sub(lambda m: _link_match(m, one), parts[i])
        return "`".join(parts)

    return link_refs


def _link_match(m: re.Match, one) -> str:
    word, a, b, rest = m.group(1), m.group(2), m.group(3), m.group(4)
    if not rest:
        return f"[{word} {a}{'-' + b if b else ''}]({one(a, b)})"
    items = [f"{a}-{b}" if b else a, *rest.split(", ")[1:]]
    links = []
    for item in items:
        x, _, y = item.partition("-")
        links.append(f"[{item}]({one(x, y or None)})")
    return f"{word} " + ", ".join(links)


def _doc(doc: FileDoc, base: str) -> list[str]:
    link = _linker(base, doc.path)
    size = f"{doc.lines} line{'' if doc.lines == 1 else 's'}"
    out = [f"## Review of {_code(doc.path)}" + (f" ({size})" if doc.reviewed else ""), ""]
    if doc.reviewed:
        evidence = "; ".join(f"line {line}: {text}" if line else text for text, line in doc.evidence)
        out.append(link(f"**Context:** {doc.context}." + (f" Evidence: {evidence}." if evidence else "")))
        out.append("")
    for note in doc.notes:
        out += [link(note), ""]
    for section in doc.sections:
        out += [link(f"### {section.number}. {section.title} ({spans(section.ranges)})"), ""]
        for entry in section.entries:
            where = span(entry.lines) if entry.lines else ""
            code = f" {_code(entry.code)} —" if entry.code else ""
            out.append(link(f"- {where}:{code} {entry.note}"))
        if section.entries:
            out.append("")
        for defect in section.defects:
            where = span(_lines_of(defect.finding))
            inside = f" in {defect.function}" if defect.function else ""
            out.append(link(f"**Defect {defect.number}: {where}{inside}: {defect.finding.rule_id} "
                            f"{_code(defect.finding.rule_name)}**"))
            out.append("")
            for label, text in defect.fields:
                value = _code(text) if label == "Code" else text
                out.append(link(f"- **{label}:** {value}"))
            out.append("")
        if section.closing:
            out += [link(section.closing), ""]
    out += ["### Verdict", "", doc.verdict, ""]
    return out
