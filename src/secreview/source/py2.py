"""Reading Python 2 source leniently: small, line-preserving rewrites into Python 3 syntax.

A file that ``ast`` rejects is scanned by a small tokenizer that knows Python 2's lexical rules
(so nothing inside a comment is touched, nor inside a string literal beyond the two string rows
below) and these constructs are rewritten:

==================  =========================================  ====================================
kind                Python 2                                   Python 3 text parsed instead
==================  =========================================  ====================================
print statement     ``print x, y`` / ``print >>f, x,`` /       ``print(x, y)`` /
                    ``print``                                  ``print(x, end=" ", file=f)`` /
                                                               ``print()``
exec statement      ``exec code in g, l``                      ``exec(code, g, l)``
except-comma        ``except E, e:``                           ``except E as e:``
raise-comma         ``raise E, msg`` / ``raise E, msg, tb``    ``raise E(msg)`` /
                                                               ``raise E(msg).with_traceback(tb)``
backtick repr       ```x```                                    ``repr(x)``
<> operator         ``a <> b``                                 ``a != b``
octal literal       ``0777``                                   ``0o777``
long suffix         ``10L``                                    ``10``
ur prefix           ``ur"..."``                                ``r"..."`` (``u"..."`` when the
                                                               text holds ``\\u`` escapes only)
\\u in byte string  ``"\\u00e9"`` (text in a Python 2 ``str``)   ``"\\\\u00e9"`` (the same text)
tabs in             tabs mixed with spaces (``TabError``)      tabs expanded to 8 columns
indentation
==================  =========================================  ====================================

Every rewrite stays on its own physical line: no line break is added or removed, so every line
number of the adapted text is the line number of the original. Columns after a rewrite on the
same line may shift by a few characters. Statements continued over several lines (brackets or
backslashes) are rewritten when no rewritten part straddles a line break (a comma that ends a
line, as in ``raise E, \\``, is replaced on its own); otherwise the statement is left alone (and
the file stays skipped when it does not parse).

First every construct is rewritten in one pass over the file; then, while ``ast.parse`` still
fails, the statement on the line the error names is rewritten on its own (a fresh scan from that
line, which recovers from places where the whole-file scan lost its way) and, for a ``TabError``,
indentation tabs are expanded. The number of attempts (:data:`MAX_ATTEMPTS`, or the file's line
count when smaller) and the time (:data:`MAX_SECONDS` plus :data:`SECONDS_PER_MB` per megabyte)
are bounded.

The adapted text is only ever handed to ``ast.parse``: it is never compiled to code, executed
or imported.
"""

from __future__ import annotations

import ast
import bisect
import re
import time
import unicodedata
import warnings
from dataclasses import dataclass, field

MAX_ATTEMPTS = 200  # parse attempts after the whole-file pass (or the line count, when smaller)
MAX_SECONDS = 2.0  # time for the whole repair of a small file ...
SECONDS_PER_MB = 2.0  # ... plus this much per megabyte of text

PRINT = "print statement"
EXEC = "exec statement"
EXCEPT = "except-comma"
RAISE = "raise-comma"
BACKTICK = "backtick repr"
NOT_EQUAL = "<> operator"
OCTAL = "octal literal"
LONG = "long suffix"
UR = "ur prefix"
STR_ESCAPE = "\\u in byte string"
TABS = "tabs in indentation"
KINDS = (PRINT, EXEC, EXCEPT, RAISE, BACKTICK, NOT_EQUAL, OCTAL, LONG, UR, STR_ESCAPE, TABS)

# token kinds
NAME, NUMBER, STRING, OP, NEWLINE, NL, COMMENT, ERROR = range(8)

_TOKEN = re.compile(r"""
    [ \t\f]*
    (?:
      (?P<newline>\r\n|\r|\n)
    | (?P<cont>\\(?:\r\n|\r|\n))
    | (?P<comment>\#[^\r\n]*)
    | (?P<string>(?i:[rubf]{0,2})(?:
          '''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''
        | \"\"\"[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*\"\"\"
        | '[^'\\\r\n]*(?:\\(?:\r\n|[\s\S])[^'\\\r\n]*)*'
        | "[^"\\\r\n]*(?:\\(?:\r\n|[\s\S])[^"\\\r\n]*)*"))
    | (?P<error>(?i:[rubf]{0,2})(?:'''[\s\S]*|\"\"\"[\s\S]*|'[^\r\n]*|"[^\r\n]*))
    | (?P<number>0[xX][0-9a-fA-F_]*[lL]?|0[bB][01_]*[lL]?|0[oO][0-7_]*[lL]?
                 |(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJlL]?)
    | (?P<name>[^\W\d]\w*)
    | (?P<op><>|\*\*=?|//=?|>>=?|<<=?|->|:=|\.\.\.|[<>!=]=|[-+*/%&|^@]=|[^\s])
    )
""", re.X)
_KIND = {"comment": COMMENT, "string": STRING, "error": ERROR, "number": NUMBER, "name": NAME, "op": OP}
# Only what decides where logical lines end: line breaks, continuations, brackets, backticks,
# comments and string literals; every other run of characters is passed over in one match.
_COARSE = re.compile(r"""
      (?P<newline>\r\n|\r|\n)
    | (?P<cont>\\(?:\r\n|\r|\n))
    | (?P<open>[(\[{])
    | (?P<close>[)\]}])
    | (?P<tick>`)
    | (?P<str>'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''
        | \"\"\"[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*\"\"\"
        | '[^'\\\r\n]*(?:\\(?:\r\n|[\s\S])[^'\\\r\n]*)*'
        | "[^"\\\r\n]*(?:\\(?:\r\n|[\s\S])[^"\\\r\n]*)*"
        | '''[\s\S]*|\"\"\"[\s\S]*|'[^\r\n]*|"[^\r\n]*)
    | \#[^\r\n]*
    | [^'"\#\\\r\n()\[\]{}`]+
    | \\
""", re.X)
# a logical line that may hold a construct to rewrite (false positives only cost time)
_INTERESTING = re.compile(r"\b(?:print|exec|raise|except|__future__)\b|<>|`|\b0\d|\d[lL]\b|\b[uU][rR]['\"]|\\[uUN]")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(")]}")
_BRACKETS = frozenset("([{)]}`")
_COMPOUND = frozenset({"if", "elif", "else", "while", "for", "try", "except", "finally", "with", "def", "class"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_OCTAL = re.compile(r"0+[0-7]*[1-7][0-7]*")
_INTEGER = re.compile(r"0[xX][0-9a-fA-F]+|0[oObB]?[0-7]+|\d+")
# an escape in a string literal: \\u, \\U and \\N (with what makes them well formed) or any other
_UNICODE_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})?|U([0-9a-fA-F]{8})?|N(\{[^}\r\n]*\})?|([\s\S]))")


class _OutOfTime(Exception):
    pass


@dataclass(slots=True)
class Tok:
    kind: int
    start: int  # offset in the text
    end: int
    text: str
    depth: int  # bracket depth of the token's level (an opener and its closer share it)
    match: int = -1  # for brackets and backticks: index of the partner token


@dataclass(slots=True)
class Edit:
    start: int
    end: int
    text: str
    kind: str


@dataclass
class Outcome:
    """The result of :func:`adapt`: ``tree`` is None when the file could not be adapted."""

    text: str
    tree: ast.Module | None = None
    # line -> kinds of the rewrites on it
    changes: dict[int, set[str]] = field(default_factory=dict)
    # why adapting failed (shown after the original syntax error); '' on success
    failure: str = ""

    @property
    def python2(self) -> bool:
        """Whether any Python 2 construct was found (and rewritten)."""
        return bool(self.changes)

    def message(self) -> str:
        lines = sorted(self.changes)
        kinds = [k for k in KINDS if any(k in v for v in self.changes.values())]
        count = f"{len(lines)} line{'' if len(lines) == 1 else 's'}"
        return (f"read as Python 2: {count} adapted ({', '.join(kinds)}; {_spans(lines)}) — "
                "columns on those lines may be off")


def _spans(lines: list[int], limit: int = 8) -> str:
    ranges: list[list[int]] = []
    for n in lines:
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    shown = [str(a) if a == b else f"{a}-{b}" for a, b in ranges[:limit]]
    more = f" and {len(ranges) - limit} more" if len(ranges) > limit else ""
    word = "line" if len(lines) == 1 else "lines"
    return f"{word} {', '.join(shown)}{more}"


# ---------------------------------------------------------------------------- scanning


def tokenize(text: str, start: int = 0, deadline: float | None = None, one_statement: bool = False) -> list[Tok]:
    """Python 2 tokens of ``text`` from offset ``start`` (spaces and line continuations left out).

    With ``one_statement`` the scan stops after the first logical line. Never raises for bad
    input: an unterminated string is an ``ERROR`` token up to the end of its line (of the text,
    for a triple-quoted one); a character that starts no token is passed over."""
    tokens: list[Tok] = []
    stack: list[int] = []  # indices of open brackets and backticks
    append = tokens.append
    for count, m in enumerate(_TOKEN.finditer(text, start)):
        if deadline is not None and count % 8192 == 8191 and time.monotonic() > deadline:
            raise _OutOfTime
        group = m.lastgroup
        if group == "cont":
            continue
        begin, end = m.start(group), m.end()
        if group == "newline":
            append(Tok(NL if stack else NEWLINE, begin, end, m.group(group), len(stack)))
            if one_statement and not stack:
                break
            continue
        value = m.group(group)
        tok = Tok(_KIND[group], begin, end, value, len(stack))
        if group == "op" and value in _BRACKETS:
            index = len(tokens)
            if value in _OPENERS:
                stack.append(index)
            elif value != "`":
                if stack and tokens[stack[-1]].text != "`":
                    opener = stack.pop()
                    tok.depth = len(stack)
                    if _OPENERS[tokens[opener].text] == value:
                        tokens[opener].match, tok.match = index, opener
            elif stack and tokens[stack[-1]].text == "`":
                opener = stack.pop()
                tok.depth = len(stack)
                tokens[opener].match, tok.match = index, opener
            else:
                stack.append(index)
        append(tok)
    return tokens


def _logical_lines(tokens: list[Tok]) -> list[list[int]]:
    """Indices of the code tokens (no comments, no line breaks) of each logical line."""
    lines: list[list[int]] = []
    current: list[int] = []
    for i, tok in enumerate(tokens):
        if tok.kind == NEWLINE:
            if current:
                lines.append(current)
            current = []
        elif tok.kind not in (NL, COMMENT):
            current.append(i)
    if current:
        lines.append(current)
    return lines


def _statements(tokens: list[Tok], line: list[int]) -> list[tuple[list[int], bool]]:
    """The simple statements and compound-statement headers of a logical line: (token indices,
    is a header). A header leaves out its colon."""
    found: list[tuple[list[int], bool]] = []
    first = tokens[line[0]]
    header = first.kind == NAME and first.text in _COMPOUND
    current: list[int] = []
    for i in line:
        tok = tokens[i]
        if tok.kind == OP and tok.depth == 0 and (tok.text == ";" or tok.text == ":" and header):
            if current:
                found.append((current, tok.text == ":"))
            current = []
            if tok.text == ":":
                header = False
            continue
        current.append(i)
    if current:
        found.append((current, False))
    return found


def _future_names(tokens: list[Tok]) -> set[str]:
    """The names a ``from __future__ import ...`` statement among ``tokens`` imports."""
    names: set[str] = set()
    for i, tok in enumerate(tokens[:-2]):
        if tok.kind == NAME and tok.text == "from" and tokens[i + 1].text == "__future__" \
                and tokens[i + 2].text == "import":
            for item in tokens[i + 3:]:
                if item.kind == NEWLINE or item.kind == OP and item.text == ";":
                    break
                if item.kind == NAME:
                    names.add(item.text)
    return names


# ---------------------------------------------------------------------------- rewrites


class _Rewriter:
    def __init__(self, text: str, tokens: list[Tok], byte_strings: bool = True):
        self.text = text
        self.tokens = tokens
        self.edits: list[Edit] = []
        # plain string literals are byte strings (no `from __future__ import unicode_literals`)
        self.byte_strings = byte_strings

    def gap(self, a: int, b: int) -> str:
        """The text between tokens ``a`` and ``b``."""
        return self.text[self.tokens[a].end:self.tokens[b].start]

    def balanced(self, indices: list[int]) -> bool:
        """Every bracket of the statement is closed inside it, and nothing is unterminated."""
        inside = set(indices)
        for i in indices:
            tok = self.tokens[i]
            if tok.kind == ERROR:
                return False
            if tok.kind == OP and tok.text in _BRACKETS and (tok.match < 0 or tok.match not in inside):
                return False
        return True

    def add(self, start: int, end: int, text: str, kind: str, into: list[Edit]) -> bool:
        """Queue an edit that must not remove a line break."""
        if end > start and _LINE_BREAK.search(self.text, start, end):
            return False
        into.append(Edit(start, end, text, kind))
        return True

    def open_call(self, name: int, body: int, kind: str, into: list[Edit]) -> bool:
        """``name body`` -> ``name(body``: the space between becomes the parenthesis."""
        between = self.gap(name, body)
        tok = self.tokens[name]
        if between and not _LINE_BREAK.search(between) and not between.strip():
            return self.add(tok.end, self.tokens[body].start, "(", kind, into)
        return self.add(tok.end, tok.end, "(", kind, into)

    def depth0(self, indices: list[int], text: str, kind: int = OP) -> list[int]:
        """Positions (in ``indices``) of tokens at the statement's own level with this text."""
        level = self.tokens[indices[0]].depth
        return [k for k, i in enumerate(indices)
                if self.tokens[i].kind == kind and self.tokens[i].text == text and self.tokens[i].depth == level]

    # -- statements

    def statement(self, indices: list[int], header: bool, print_stmt: bool) -> None:
        first = self.tokens[indices[0]]
        if first.kind != NAME or not self.balanced(indices):
            return
        edits: list[Edit] = []
        if header and first.text == "except":
            ok = self.except_comma(indices, edits)
        elif header:
            return
        elif first.text == "print" and print_stmt:
            ok = self.print_statement(indices, edits)
        elif first.text == "exec":
            ok = self.exec_statement(indices, edits)
        elif first.text == "raise":
            ok = self.raise_comma(indices, edits)
        else:
            return
        if ok:
            self.edits.extend(edits)

    def _wrapped(self, indices: list[int]) -> bool:
        """``name (...)`` and nothing else: already a call."""
        second = self.tokens[indices[1]]
        return second.kind == OP and second.text == "(" and second.match == indices[-1]

    def print_statement(self, indices: list[int], edits: list[Edit]) -> bool:
        toks = self.tokens
        head = indices[0]
        if len(indices) == 1:
            return self.add(toks[head].end, toks[head].end, "()", PRINT, edits)
        second = toks[indices[1]]
        if self._wrapped(indices):
            return False
        if second.kind == OP and second.text not in ("(", "[", "{", "`", ">>", "-", "+", "~"):
            return False  # `print = 1`, `print, x`: not a print statement
        args = indices[1:]
        target = ""
        if second.text == ">>":
            commas = self.depth0(args, ",")
            dest = args[1:commas[0]] if commas else args[1:]
            if not dest:
                return False
            target = self.text[toks[dest[0]].start:toks[dest[-1]].end]
            if _LINE_BREAK.search(target):
                return False
            target = ", file=" + target
            args = args[commas[0] + 1:] if commas else []
        trailing = bool(args) and toks[args[-1]].kind == OP and toks[args[-1]].text == "," \
            and toks[args[-1]].depth == toks[head].depth
        if trailing:
            args = args[:-1]
        end = ', end=" "' if trailing else ""
        if not args:  # `print >>f` or `print >>f,`: only the options
            options = (end + target).removeprefix(", ")
            return self.add(toks[head].end, toks[indices[-1]].end, f"({options})", PRINT, edits)
        if target:
            if not self.add(toks[head].end, toks[args[0]].start, "(", PRINT, edits):
                return False
        elif not self.open_call(head, args[0], PRINT, edits):
            return False
        if trailing:
            return self.add(toks[args[-1]].end, toks[indices[-1]].end, f"{end}{target})", PRINT, edits)
        return self.add(toks[args[-1]].end, toks[args[-1]].end, f"{target})", PRINT, edits)

    def exec_statement(self, indices: list[int], edits: list[Edit]) -> bool:
        toks = self.tokens
        if len(indices) == 1 or self._wrapped(indices):
            return False
        body = indices[1:]
        ins = self.depth0(body, "in", NAME)
        if ins:
            k = ins[0]
            if k == 0 or k == len(body) - 1:
                return False
            before, word, after = body[k - 1], body[k], body[k + 1]
            span = (toks[before].end, toks[after].start)
            if _LINE_BREAK.search(self.text, *span):
                if not self.add(toks[word].start, toks[word].end, ",", EXEC, edits):
                    return False
            elif not self.add(span[0], span[1], ", ", EXEC, edits):
                return False
        return (self.open_call(indices[0], body[0], EXEC, edits)
                and self.add(toks[indices[-1]].end, toks[indices[-1]].end, ")", EXEC, edits))

    def raise_comma(self, indices: list[int], edits: list[Edit]) -> bool:
        toks = self.tokens
        body = indices[1:]
        if not body:
            return False
        commas = self.depth0(body, ",")
        if not commas or len(commas) > 2 or commas[0] == 0 or commas[-1] == len(body) - 1:
            return False
        if len(commas) == 2 and commas[1] == commas[0] + 1:
            return False
        for k, text in zip(commas, ("(", ").with_traceback(")):
            if not self.replace_comma(body, k, text, RAISE, edits):
                return False
        return self.add(toks[indices[-1]].end, toks[indices[-1]].end, ")", RAISE, edits)

    def replace_comma(self, indices: list[int], k: int, text: str, kind: str, edits: list[Edit]) -> bool:
        """The comma at position ``k`` and the spaces around it become ``text``; only the comma
        when a line break follows it (a backslash continuation)."""
        toks = self.tokens
        comma = toks[indices[k]]
        return (self.add(toks[indices[k - 1]].end, toks[indices[k + 1]].start, text, kind, edits)
                or self.add(comma.start, comma.end, text, kind, edits))

    def except_comma(self, indices: list[int], edits: list[Edit]) -> bool:
        toks = self.tokens
        commas = self.depth0(indices, ",")
        if len(commas) != 1:
            return False
        k = commas[0]
        if k < 2 or k != len(indices) - 2 or toks[indices[-1]].kind != NAME:
            return False  # `except E, (a, b):` and the like: only a plain name can follow `as`
        return self.replace_comma(indices, k, " as ", EXCEPT, edits)

    # -- tokens

    def token(self, i: int) -> None:
        tok = self.tokens[i]
        if tok.kind == OP:
            if tok.text == "<>":
                self.edits.append(Edit(tok.start, tok.end, "!=", NOT_EQUAL))
            elif tok.text == "`" and tok.match > i:
                close = self.tokens[tok.match]
                inner = [j for j in range(i + 1, tok.match) if self.tokens[j].kind not in (NL, COMMENT)]
                tuple_ = bool(inner) and bool(self.depth0(inner, ","))
                self.edits.append(Edit(tok.start, tok.end, "repr((" if tuple_ else "repr(", BACKTICK))
                self.edits.append(Edit(close.start, close.end, "))" if tuple_ else ")", BACKTICK))
        elif tok.kind == NUMBER:
            value = tok.text
            kinds = []
            if value[-1] in "lL" and _INTEGER.fullmatch(value[:-1]):
                value = value[:-1] + (" " if self.text.startswith(".", tok.end) else "")
                kinds.append(LONG)
            if _OCTAL.fullmatch(value.rstrip()):
                value = "0o" + value[1:]
                kinds.append(OCTAL)
            if kinds:
                self.edits.append(Edit(tok.start, tok.end, value, kinds[-1]))
                if len(kinds) == 2:
                    self.edits.append(Edit(tok.start, tok.start, "", kinds[0]))  # both kinds on the line
        elif tok.kind == STRING:
            prefix = tok.text[:2]
            if prefix.lower() == "ur" and tok.text[2:3] in ("'", '"'):
                body = tok.text[2:]
                escapes = re.findall(r"\\(.)", body, re.S)
                keep = prefix[0] if escapes and all(e in "uU" for e in escapes) else prefix[1]
                self.edits.append(Edit(tok.start, tok.start + 2, keep, UR))
            elif self.byte_strings and tok.text[:1] in "'\"" and "\\" in tok.text:
                for m in _UNICODE_ESCAPE.finditer(tok.text):  # one insertion per escape: the right lines
                    if not _valid_in_python3(m):
                        self.edits.append(Edit(tok.start + m.start(), tok.start + m.start(), "\\", STR_ESCAPE))


def _valid_in_python3(m: re.Match) -> bool:
    """Whether an escape of a Python 2 byte string (a match of ``_UNICODE_ESCAPE``) is also valid
    in a Python 3 string. ``\\u``, ``\\U`` and ``\\N`` are plain text in Python 2 but must be well
    formed in Python 3; those that are not get their backslash doubled."""
    if m.group(4) is not None:
        return True
    letter = m.group()[1]
    if letter == "u":
        return m.group(1) is not None
    if letter == "U":
        return m.group(2) is not None and int(m.group(2), 16) <= 0x10FFFF
    try:
        return m.group(3) is not None and bool(unicodedata.lookup(m.group(3)[1:-1]))
    except KeyError:
        return False


def _apply(text: str, edits: list[Edit], changes: dict[int, set[str]]) -> str:
    """Apply non-overlapping edits (an edit that overlaps an earlier one is dropped) and record
    the line and kind of each in ``changes``."""
    ordered = sorted(enumerate(edits), key=lambda p: (p[1].start, p[1].end, p[0]))
    kept: list[Edit] = []
    last_end = -1
    for _, edit in ordered:
        if edit.start < last_end:
            continue
        kept.append(edit)
        last_end = max(last_end, edit.end)
    if not kept:
        return text
    parts = []
    pos = 0
    line, line_pos = 1, 0
    for edit in kept:
        line += _count_breaks(text, line_pos, edit.start)
        line_pos = edit.start
        changes.setdefault(line, set()).add(edit.kind)
        parts.append(text[pos:edit.start])
        parts.append(edit.text)
        pos = edit.end
    parts.append(text[pos:])
    return "".join(parts)


def _count_breaks(text: str, start: int, end: int) -> int:
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def _scan(text: str, deadline: float | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The logical lines of ``text`` as (start, end) offsets, and the string literals that span
    line breaks (start, end), by the same rules as :func:`tokenize` but much faster."""
    lines: list[tuple[int, int]] = []
    strings: list[tuple[int, int]] = []
    stack: list[str] = []
    line_start = 0
    for count, m in enumerate(_COARSE.finditer(text)):
        if deadline is not None and count % 8192 == 8191 and time.monotonic() > deadline:
            raise _OutOfTime
        group = m.lastgroup
        if group is None or group == "cont":
            continue
        if group == "newline":
            if not stack:
                lines.append((line_start, m.end()))
                line_start = m.end()
        elif group == "str":
            if "\n" in m.group() or "\r" in m.group():
                strings.append(m.span())
        elif group == "open":
            stack.append("(")
        elif group == "close":
            if stack and stack[-1] != "`":
                stack.pop()
        elif stack and stack[-1] == "`":
            stack.pop()
        else:
            stack.append("`")
    if line_start < len(text):
        lines.append((line_start, len(text)))
    return lines, strings


def _rewrite_logical(text: str, start: int, rewriter_edits: list[Edit], print_stmt: bool,
                     byte_strings: bool) -> list[Tok]:
    """Queue the rewrites of the logical line starting at ``start``; returns its tokens."""
    tokens = tokenize(text, start, one_statement=True)
    rewriter = _Rewriter(text, tokens, byte_strings)
    for i, tok in enumerate(tokens):
        if tok.kind in (OP, NUMBER, STRING):
            rewriter.token(i)
    for line in _logical_lines(tokens):
        for indices, header in _statements(tokens, line):
            rewriter.statement(indices, header, print_stmt)
    rewriter_edits.extend(rewriter.edits)
    return tokens


def rewrite(text: str, deadline: float | None = None, changes: dict[int, set[str]] | None = None,
            futures: set[str] | None = None) -> str:
    """Every construct of the table above, rewritten in one pass over the whole text. The
    names the module imports from ``__future__`` are added to ``futures``."""
    lines, _ = _scan(text, deadline)
    candidates = [start for start, end in lines if _INTERESTING.search(text, start, end)]
    found: set[str] = set()
    for start in candidates:
        if text.find("__future__", start, _line_end(lines, start)) >= 0:
            found |= _future_names(tokenize(text, start, one_statement=True))
    if futures is not None:
        futures |= found
    print_stmt = "print_function" not in found
    byte_strings = "unicode_literals" not in found
    edits: list[Edit] = []
    for count, start in enumerate(candidates):
        if deadline is not None and count % 256 == 255 and time.monotonic() > deadline:
            raise _OutOfTime
        _rewrite_logical(text, start, edits, print_stmt, byte_strings)
    return _apply(text, edits, changes if changes is not None else {})


def _line_end(lines: list[tuple[int, int]], start: int) -> int:
    index = bisect.bisect_left(lines, (start, -1))
    return lines[index][1] if index < len(lines) else start


def _rewrite_line(text: str, lineno: int, changes: dict[int, set[str]], byte_strings: bool = True) -> str:
    """The statement starting on line ``lineno`` rewritten on its own, scanning afresh from
    the start of that line (print statements are rewritten there even after the
    ``print_function`` import: the parser has just said the line is not a call)."""
    start = _line_start(text, lineno)
    if start is None:
        return text
    edits: list[Edit] = []
    _rewrite_logical(text, start, edits, True, byte_strings)
    return _apply(text, edits, changes)


def _line_start(text: str, lineno: int) -> int | None:
    if lineno < 1:
        return None
    pos = 0
    for _ in range(lineno - 1):
        m = _LINE_BREAK.search(text, pos)
        if m is None:
            return None
        pos = m.end()
    return pos


def _expand_tabs(text: str, changes: dict[int, set[str]], deadline: float | None = None) -> str:
    """Tabs in the indentation of every line that does not start inside a string, expanded to
    the next multiple of 8 columns (Python 2's rule)."""
    inside: set[int] = set()  # lines that start inside a string
    line, pos = 1, 0
    for start, end in _scan(text, deadline)[1]:
        line += _count_breaks(text, pos, start)
        pos = start
        inside.update(range(line + 1, line + _count_breaks(text, start, end) + 1))
    out = []
    for number, physical in enumerate(re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", text), 1):
        body = physical.lstrip(" \t")
        indent = physical[:len(physical) - len(body)]
        if "\t" in indent and number not in inside:
            physical = indent.expandtabs(8) + body
            changes.setdefault(number, set()).add(TABS)
        out.append(physical)
    return "".join(out)


def _parse(text: str) -> tuple[ast.Module | None, SyntaxError | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, type_comments=False), None
    except SyntaxError as exc:
        return None, exc
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, SyntaxError(f"cannot parse: {exc}")


def _tab_problem(exc: SyntaxError, text: str) -> bool:
    if isinstance(exc, TabError):
        return True
    return isinstance(exc, IndentationError) and re.search(r"^[ ]*\t", text, re.M) is not None


def adapt(text: str, error: SyntaxError, max_attempts: int = MAX_ATTEMPTS,
          max_seconds: float | None = None) -> Outcome:
    """Rewrite the Python 2 constructs of ``text`` (which failed to parse with ``error``) until
    it parses, within the bounds. ``Outcome.tree`` is set on success."""
    if max_seconds is None:
        max_seconds = MAX_SECONDS + SECONDS_PER_MB * len(text) / 1_000_000
    deadline = time.monotonic() + max_seconds
    changes: dict[int, set[str]] = {}
    limit = max(1, min(max_attempts, text.count("\n") + 1))
    current = text
    try:
        futures: set[str] = set()
        current = rewrite(text, deadline, changes, futures)
        byte_strings = "unicode_literals" not in futures
        tree, exc = _parse(current) if changes else (None, error)
        attempts = 0
        tabs_done = False
        while exc is not None:
            attempts += 1
            if attempts > limit:
                return Outcome(current, None, changes, f"gave up after {limit} attempts")
            if time.monotonic() > deadline:
                raise _OutOfTime
            if not tabs_done and _tab_problem(exc, current):
                tabs_done = True
                fixed = _expand_tabs(current, changes, deadline)
            else:
                fixed = _rewrite_line(current, exc.lineno or 0, changes, byte_strings)
                end = getattr(exc, "end_lineno", None)
                if fixed == current and end and end != exc.lineno:  # the error spans lines: try its last
                    fixed = _rewrite_line(current, end, changes, byte_strings)
            if fixed == current:
                where = f"line {exc.lineno}: " if exc.lineno else ""
                return Outcome(current, None, changes, f"stopped at {where}{exc.msg or 'invalid syntax'}")
            current = fixed
            tree, exc = _parse(current)
    except _OutOfTime:
        return Outcome(current, None, changes, f"gave up after {max_seconds:.3g} seconds")
    return Outcome(current, tree, changes)
