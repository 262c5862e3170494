"""GitLab code-quality report (the ``codequality`` artifact of a merge request): a JSON array
of issues, each with a description, check name, severity, unique fingerprint and location.

Severities: high -> ``critical``, medium -> ``major``, low -> ``minor``. A skipped file is an
``info`` issue (``check_name`` ``secreview/skipped-file``) so that it is not silently lost.
"""

from __future__ import annotations

import hashlib
import json

from secreview.model import Level, Review

SEVERITY = {Level.HIGH: "critical", Level.MEDIUM: "major", Level.LOW: "minor"}


def as_list(review: Review) -> list[dict]:
    issues = []
    for f in review.findings:
        issues.append({
            "type": "issue",
            "check_name": f"secreview/{f.rule_id}",
            "description": f"{f.rule_id} {f.rule_name} (CWE-{f.cwe}): {f.message} Fix: {f.fix}",
            "categories": ["Security"],
            "severity": SEVERITY[f.severity],
            "fingerprint": f.fingerprint,
            "location": {"path": f.location.path, "lines": {"begin": f.location.line, "end": f.location.end_line}},
        })
    for s in review.skipped:
        digest = hashlib.sha256(f"skipped\0{s.path}\0{s.reason}".encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
        issues.append({
            "type": "issue",
            "check_name": "secreview/skipped-file",
            "description": f"secreview could not review this file: {s.reason}",
            "categories": ["Security"],
            "severity": "info",
            "fingerprint": digest,
            "location": {"path": s.path, "lines": {"begin": s.line or 1, "end": s.line or 1}},
        })
    return issues


def render_gitlab(review: Review) -> str:
    return json.dumps(as_list(review), indent=2, ensure_ascii=False) + "\n"
