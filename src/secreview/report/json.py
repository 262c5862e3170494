"""The JSON report. Its shape is documented in docs/json-format.md and checked against
``report.schema.json`` in the tests; ``schema_version`` changes when the shape does."""

from __future__ import annotations

import json

from secreview import __version__
from secreview.model import Review

SCHEMA_VERSION = "1.2"


def as_dict(review: Review) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "secreview", "version": __version__},
        "summary": {
            "files_reviewed": review.files_reviewed,
            "files_skipped": sum(1 for r in review.files if not r.reviewed),
            "findings": len(review.findings),
            "by_severity": review.counts(),
        },
        "findings": [f.to_dict() for f in review.findings],
        "skipped": [s.to_dict() for s in review.skipped],
        "dropped": [f.to_dict() for f in sorted((d for r in review.files for d in r.dropped), key=lambda f: f.sort_key())],
        "notes": [n.to_dict() for n in review.notes],
    }


def render_json(review: Review) -> str:
    return json.dumps(as_dict(review), indent=2, ensure_ascii=False) + "\n"
