"""GitHub Actions workflow commands: one annotation per finding, shown on the changed file in a
pull request and in the run's summary.

    ::error file=app.py,line=8,col=5,endLine=8,endColumn=47,title=SR101 shell-injection (CWE-78)::...

High severity is an ``error``, medium a ``warning``, low a ``notice``; skipped files are
warnings on the file, and notes on how a file was read (a Python 2 file read leniently) notices. Values are escaped as the runner expects (``%``, CR and LF everywhere,
``:`` and ``,`` in properties too), so no text from the reviewed code can start a command of
its own.
"""

from __future__ import annotations

from secreview.model import Level, Review
from secreview.report.text import VERDICT_CLEAN

COMMAND = {Level.HIGH: "error", Level.MEDIUM: "warning", Level.LOW: "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(review: Review) -> str:
    out = []
    for f in review.findings:
        loc = f.location
        props = [f"file={_prop(loc.path)}", f"line={loc.line}", f"col={loc.col + 1}",
                 f"endLine={loc.end_line}"]
        if loc.end_line == loc.line:  # the runner takes columns only within one line
            props.append(f"endColumn={max(loc.end_col + 1, loc.col + 1)}")
        props.append(f"title={_prop(f'{f.rule_id} {f.rule_name} (CWE-{f.cwe}, {f.severity.label} severity)')}")
        out.append(f"::{COMMAND[f.severity]} {','.join(props)}::{_data(f'{f.message} Fix: {f.fix}')}")
    for s in review.skipped:
        props = [f"file={_prop(s.path)}"] + ([f"line={s.line}"] if s.line else [])
        props.append("title=secreview skipped a file")
        out.append(f"::warning {','.join(props)}::{_data('skipped: ' + s.reason)}")
    for n in review.notes:
        out.append(f"::notice file={_prop(n.path)},title=secreview note::{_data(n.message)}")
    counts = review.counts()
    if review.findings:
        out.append(f"secreview: {len(review.findings)} finding{'s' * (len(review.findings) != 1)} "
                   f"({counts['high']} high, {counts['medium']} medium, {counts['low']} low) "
                   f"in {review.files_reviewed} file{'s' * (review.files_reviewed != 1)}")
    else:
        out.append(f"secreview: {VERDICT_CLEAN} ({review.files_reviewed} file{'s' * (review.files_reviewed != 1)})")
    return "\n".join(out) + "\n"
