"""HTML markup written in the code and formatted with data: the `html-markup` sink (SR121).

``"<a href='%s'>undo</a>" % url``, ``"<td>{}</td>".format(name)``, ``f"<pre>{log}</pre>"``,
``"<p>" + text + "</p>"`` and ``"<br>".join(lines)`` build HTML in which the formatted values are
not escaped. :func:`template` gives the text of such an expression with every formatted value
replaced by a placeholder, and :func:`is_html` decides whether that text is HTML.

The test is deliberately narrow, to stay silent on prose (``"a < b"``), XML (libvirt domain
documents, Atom feeds) and SQL: the text must contain an element tag (``<div``, ``</td>``,
``<a href=``, ``<br/>``) whose name is one that only HTML uses, and every tag in it must be an HTML
element; a tag that no HTML page uses (``<domain>``, ``<disk>``) or an XML declaration or namespace
makes the text XML.
"""

from __future__ import annotations

import ast
import re

from secreview.rules.base import NOT_CONSTANT, FileContext

PLACEHOLDER = "\x00"
# Translation wrappers: the literal inside them is the template (``_("<a href='%s'>undo</a>") % url``).
TRANSLATORS = frozenset({
    "_", "gettext", "ugettext", "gettext_lazy", "ugettext_lazy", "ngettext", "ungettext", "ngettext_lazy",
    "lazy_gettext", "lazy_ngettext", "pgettext", "pgettext_lazy", "npgettext", "gettext_noop", "_lazy",
})
# Elements no XML dialect commonly uses: one of these must appear.
_HTML_ONLY = frozenset({
    "a", "abbr", "b", "big", "blockquote", "body", "br", "button", "center", "dd", "div", "dl", "dt", "em",
    "fieldset", "font", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "html", "i", "iframe", "img",
    "legend", "li", "nav", "noscript", "ol", "optgroup", "p", "pre", "script", "select", "small", "span",
    "strike", "strong", "sub", "sup", "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "tr", "tt", "u",
    "ul", "kbd", "samp", "var", "cite", "q", "s", "ins", "del", "details", "summary", "figure", "figcaption",
    "article", "aside", "footer", "header", "main", "section", "canvas", "embed", "frame", "frameset", "mark",
    "wbr", "nobr", "blink", "marquee", "dfn", "bdo", "bdi", "ruby", "rt", "rp", "output", "progress", "meter",
    "dialog", "picture", "hgroup", "acronym", "applet", "basefont", "xmp", "listing", "plaintext", "caption",
    "colgroup", "tfoot",
})
# HTML elements whose names XML documents use too: allowed alongside, never enough alone.
_HTML_SHARED = frozenset({
    "address", "area", "audio", "base", "code", "col", "data", "input", "label", "link", "menu", "dir",
    "map", "meta", "object", "option", "param", "source", "style", "svg", "template", "time", "title", "track",
    "video", "image", "math",
})
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>" + PLACEHOLDER + r"]|$)([^<>]*)(>|$)")
_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)"""
_NAME = r"[\w:.\x00-]+"
# what may follow a tag's name up to its `>`: attributes, then an optional `/`
_ATTRS = re.compile(rf"(?:\s+{_NAME}(?:\s*=\s*{_VALUE})?)*\s*/?")
# a tag the literal ends inside, in an attribute whose value the formatted data supplies: `<a href="`
_ATTRS_OPEN = re.compile(rf"(?:\s+{_NAME}(?:\s*=\s*{_VALUE})?)*\s+{_NAME}\s*=\s*[\"']?[^\"'<>]*")
_XML_MARKS = ("<?xml", "xmlns", "<![cdata[")


def is_html(text: str) -> bool:
    """Whether ``text`` (a template, formatted values replaced by placeholders) is HTML markup."""
    if "<" not in text:
        return False
    lowered = text.lower()
    if any(mark in lowered for mark in _XML_MARKS):
        return False
    strong = False
    for match in _TAG.finditer(text):
        closing, name, rest, end = match.groups()
        name = name.lower()
        if closing:
            is_tag = bool(end) and not rest.strip()
        elif end:
            is_tag = _ATTRS.fullmatch(rest) is not None
        else:
            is_tag = _ATTRS_OPEN.fullmatch(rest) is not None
        if not is_tag:
            continue  # `a<b and c`, `x <y`: prose, not a tag
        if name in _HTML_ONLY:
            strong = True
        elif name not in _HTML_SHARED:
            return False  # a tag HTML does not have: XML
    return strong or lowered.lstrip().startswith("<!doctype html")


def template(ctx: FileContext, node: ast.expr, parent: ast.AST | None) -> str | None:
    """The template text of a formatting expression, values as placeholders; None when ``node``
    does not format a literal (or is an inner part of a ``+`` chain, whose outermost ``+`` is
    the expression)."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod):
            text = _literal_text(ctx, node.left)
            return text.replace("%%", "") if text is not None and "%" in text else None
        if isinstance(node.op, ast.Add):
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add):
                return None
            parts = []
            _flatten_add(node, parts)
            texts = [_literal_text(ctx, part) for part in parts]
            if all(t is None for t in texts) or all(t is not None for t in texts):
                return None
            return "".join(PLACEHOLDER if t is None else t for t in texts)
        return None
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else PLACEHOLDER
                       for v in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("format", "format_map"):
            return _literal_text(ctx, node.func.value)
        if node.func.attr == "join":
            text = _literal_text(ctx, node.func.value)
            return PLACEHOLDER + text + PLACEHOLDER if text is not None else None
    return None


def _flatten_add(node: ast.expr, out: list) -> None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        _flatten_add(node.left, out)
        _flatten_add(node.right, out)
    else:
        out.append(node)


def _literal_text(ctx: FileContext, node: ast.expr) -> str | None:
    """A string (or bytes) literal, a name bound to one, or a translation call around one."""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in TRANSLATORS:
            # ngettext(singular, plural, n): both texts count
            texts = [_literal_text(ctx, a) for a in node.args[:2]]
            texts = [t for t in texts if t is not None]
            return " ".join(texts) if texts else None
        return None
    if not isinstance(node, (ast.Constant, ast.Name, ast.JoinedStr, ast.BinOp)):
        return None
    value = ctx.literal(node)
    if value is NOT_CONSTANT:
        return None
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None
