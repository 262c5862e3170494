"""One line per finding, then skipped files, then notes on how files were read (a Python 2 file read
leniently), then a summary (or the clean verdict)."""

from __future__ import annotations

from secreview.model import Review

VERDICT_CLEAN = "No security defects are detected in the code"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(review: Review) -> str:
    out: list[str] = []
    for f in review.findings:
        loc = f.location
        out.append(
            f"{loc.path}:{loc.line}:{loc.col + 1}: {f.rule_id} [{f.severity.label}/{f.confidence.label}] "
            f"CWE-{f.cwe} {f.rule_name}: {f.message} Fix: {f.fix}" + (f" Triage: {f.triage}" if f.triage else "")
        )
    for s in review.skipped:
        where = f"{s.path}:{s.line}" if s.line else s.path
        out.append(f"{where}: skipped: {s.reason}")
    for f in sorted((d for r in review.files for d in r.dropped), key=lambda d: d.sort_key()):
        loc = f.location  # set aside by --test-policy drop, shown with the reason
        out.append(f"{loc.path}:{loc.line}:{loc.col + 1}: {f.rule_id} {f.rule_name} set aside: {f.triage}")
    for n in review.notes:
        out.append(f"{n.path}: note: {n.message}")
    files = _plural(review.files_reviewed, "file")
    not_reviewed = sum(1 for r in review.files if not r.reviewed)
    tail = f"; {_plural(not_reviewed, 'file')} skipped" if not_reviewed else ""
    if review.findings:
        counts = review.counts()
        out.append(f"Reviewed {files}: {_plural(len(review.findings), 'finding')} "
                   f"({counts['high']} high, {counts['medium']} medium, {counts['low']} low){tail}.")
    elif not_reviewed:
        out.append(f"Reviewed {files}{tail}.")
        out.append(f"No security defects were found in the reviewed code, but {_plural(not_reviewed, 'file')} "
                   "could not be reviewed (see the skipped entries above).")
    else:
        out.append(f"Reviewed {files}.")
        out.append(VERDICT_CLEAN)
    return "\n".join(out) + "\n"
