"""Renderers: a :class:`~secreview.model.Review` in, text out. Each is deterministic."""

from __future__ import annotations

from secreview.model import Review

FORMATS = ("text", "json", "sarif", "github", "gitlab", "review-json", "review", "markdown")
# formats that print the written review; they need each file's outline (Options.outline)
REVIEW_FORMATS = ("review", "markdown")


def render(review: Review, fmt: str, link_base: str = "") -> str:
    if fmt == "review":
        from secreview.report.review import render_review

        return render_review(review)
    if fmt == "markdown":
        from secreview.report.markdown import render_markdown

        return render_markdown(review, link_base)
    if fmt == "text":
        from secreview.report.text import render_text

        return render_text(review)
    if fmt == "json":
        from secreview.report.json import render_json

        return render_json(review)
    if fmt == "sarif":
        from secreview.report.sarif import render_sarif

        return render_sarif(review)
    if fmt == "github":
        from secreview.report.github import render_github

        return render_github(review)
    if fmt == "gitlab":
        from secreview.report.gitlab import render_gitlab

        return render_gitlab(review)
    if fmt == "review-json":
        from secreview.report.review_json import render_review_json

        return render_review_json(review)
    raise ValueError(f"unknown format {fmt!r}")
