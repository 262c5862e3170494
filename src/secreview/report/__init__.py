"""Renderers: a :class:`~secreview.model.Review` in, text out. Each is deterministic."""

from __future__ import annotations

from secreview.model import Review

FORMATS = ("text", "json", "sarif")


def render(review: Review, fmt: str) -> str:
    if fmt == "text":
        from secreview.report.text import render_text

        return render_text(review)
    if fmt == "json":
        from secreview.report.json import render_json

        return render_json(review)
    if fmt == "sarif":
        from secreview.report.sarif import render_sarif

        return render_sarif(review)
    raise ValueError(f"unknown format {fmt!r}")
