"""Bytes -> text -> ast. Every failure becomes a :class:`Skipped` with a reason a person can act on."""

from __future__ import annotations

import ast
import codecs
import errno
import functools
import io
import os
import re
import tokenize
import warnings
from dataclasses import dataclass, field

from secreview.model import Note, Skipped

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


@functools.cache
def _py2_hints() -> tuple[re.Pattern[str], ...]:
    """Lines only Python 2 writes (compiled on first use: only a file that fails to parse asks)."""
    return (
        re.compile(r"^\s*print\s+[\"'\w]", re.M),
        re.compile(r"^\s*exec\s+[\"']", re.M),
        re.compile(r"^\s*except\s+[\w.]+\s*,\s*\w+\s*:", re.M),
        re.compile(r"^\s*raise\s+\w+\s*,", re.M),
        re.compile(r"\bur[\"']"),
    )


# the ASCII characters other than "\n" at which str.splitlines breaks a line
OTHER_ASCII_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_PY2_MESSAGES = ("Missing parentheses in call to", "leading zeros in decimal integer")


@dataclass(slots=True)
class SourceFile:
    """A parsed file. ``path`` is the display path used in every report."""

    path: str
    text: str
    tree: ast.Module
    _lines: list[str] | None = field(default=None, repr=False)
    # columns to add back when the text is a dedented segment (an indented method body pasted alone)
    col_shift: int = 0
    # how the file was read, when a reader should know: a Python 2 file read leniently has
    # ``text`` adapted to Python 3 syntax line by line (secreview.source.py2) and a note saying so
    notes: tuple[Note, ...] = ()
    _line_count: int | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    @property
    def line_count(self) -> int:
        """``len(self.lines)``, without splitting the text when only the count is wanted (every
        file's result holds it; most files never need their lines): in ASCII text with no line
        break but "\n" (``str.splitlines`` also breaks at "\r", "\v", "\f" and "\x1c"-"\x1e"),
        the "\n"s, and one more for a last line without one."""
        if self._line_count is None:
            text = self.text
            if self._lines is None and text.isascii() and not any(brk in text for brk in OTHER_ASCII_BREAKS):
                self._line_count = text.count("\n") + (not text.endswith("\n") if text else 0)
            else:
                self._line_count = len(self.lines)
        return self._line_count

    def line(self, number: int) -> str:
        """Text of a 1-based line, or '' past the end."""
        lines = self.lines
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def segment(self, node: ast.AST) -> str:
        """Source text of a node (positions from ``ast``; columns are UTF-8 byte offsets)."""
        start, end = node.lineno, node.end_lineno or node.lineno
        lines = self.lines[start - 1:end]
        if not lines:
            return ""
        col, end_col = node.col_offset, node.end_col_offset
        if len(lines) == 1:
            return _cut(lines[0], col, end_col)
        first = _cut(lines[0], col, None)
        last = _cut(lines[-1], 0, end_col)
        return "\n".join([first, *lines[1:-1], last])


def _cut(line: str, start: int, end: int | None) -> str:
    if line.isascii():
        return line[start:end]
    data = line.encode("utf-8")
    return data[start:end].decode("utf-8", errors="replace")


def read_file(path: str, size: int | None, limit: int | None) -> bytes:
    """The bytes of the file at ``path`` up to its end or ``limit`` bytes (None: no limit), as
    ``open(path, "rb").read(limit)`` gives them; ``size``: its size when it was looked at (None:
    looked at here). os.open and os.read rather than open(): every file is read, and a file
    object costs more calls into the system (an fstat, an ioctl, an lseek) and Python's io layers.
    Raises what opening and reading raise."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        return _read_all(fd, os.fstat(fd).st_size if size is None else size, limit)
    finally:
        os.close(fd)


def _read_all(fd: int, size: int, limit: int | None) -> bytes:
    """The bytes of an open file up to its end or ``limit`` bytes (None: no limit), as
    ``read(limit)`` of a file object gives them. ``size``: its size when it was looked at; the
    first read asks for one byte more, so that a file that has not changed is read whole by it
    and its end seen by the second (a file that grew since is read on to its end, or the limit)."""
    chunks = []
    total = 0
    want = size + 1
    while limit is None or total < limit:
        if limit is not None:
            want = min(want, limit - total)
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        want = size + 1 - total if total <= size else 64 * 1024
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_source(real_path: str, display: str, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile | Skipped:
    """Read and parse one file from disk."""
    try:
        data = read_file(real_path, None, max_bytes + 1 if max_bytes > 0 else None)
    except FileNotFoundError:
        return Skipped(display, "file vanished before it could be read")
    except IsADirectoryError:
        return Skipped(display, "is a directory, not a file")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Skipped(display, "cannot read: symbolic link loop")
        return Skipped(display, f"cannot read: {exc.strerror or exc}")
    if max_bytes > 0 and len(data) > max_bytes:
        return Skipped(display, f"file is larger than the {_size(max_bytes)} limit (--max-file-size)")
    return parse_bytes(data, display)


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


def decode(data: bytes, display: str) -> str | Skipped:
    if b"\0" in data:
        return Skipped(display, "file contains null bytes (binary data, not Python source)")
    # tokenize.detect_encoding reads at most the first two lines (to b"\n"): without a BOM and
    # without "coding" in them there is no declaration, and it returns "utf-8" or finds that a
    # line is not UTF-8, which reads as "utf-8" below too
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    if not data.startswith(codecs.BOM_UTF8) and b"coding" not in (data if second < 0 else data[:second]):
        return _decoded(data, display, "utf-8")
    return _decode_declared(data, display)


def _decode_declared(data: bytes, display: str) -> str | Skipped:
    """Decode by the BOM or the encoding declaration ``tokenize.detect_encoding`` finds."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        message = getattr(exc, "msg", None) or str(exc)
        if "invalid or missing encoding" not in message:
            return Skipped(display, f"cannot decode: {message}")
        encoding = "utf-8"  # no usable declaration: say exactly where UTF-8 fails
    return _decoded(data, display, encoding)


def _decoded(data: bytes, display: str, encoding: str) -> str | Skipped:
    try:
        text = data.decode(encoding)
    except LookupError:
        return Skipped(display, f"cannot decode: unknown encoding {encoding!r}")
    except UnicodeDecodeError as exc:
        return Skipped(
            display,
            f"cannot decode as {exc.encoding}: invalid byte 0x{data[exc.start]:02x} at offset {exc.start}",
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def parse_bytes(data: bytes, display: str) -> SourceFile | Skipped:
    text = decode(data, display)
    if isinstance(text, Skipped):
        return text
    return parse_text(text, display)


def parse_text(text: str, display: str) -> SourceFile | Skipped:
    if "\0" in text:
        return Skipped(display, "file contains null bytes (binary data, not Python source)")
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and similar warnings are the reviewed code's business.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=display, type_comments=False)
    except SyntaxError as exc:
        if exc.msg == "unexpected indent" and text[:1] in (" ", "\t"):
            segment = _dedented(text, display)
            if segment is not None:
                return segment
        return _lenient(text, display, exc)
    except (RecursionError, MemoryError):
        return Skipped(display, "too deeply nested for Python's parser")
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes" on some versions
        return Skipped(display, f"cannot parse: {exc}")
    return SourceFile(display, text, tree)


def _dedented(text: str, display: str) -> SourceFile | None:
    """Parse a segment whose every line shares the same indentation (say, a method copied out
    of its class), keeping columns true to the original text."""
    first = text.splitlines()[0]
    prefix = first[: len(first) - len(first.lstrip())]
    lines = text.splitlines(keepends=True)
    if not all(line.startswith(prefix) or not line.strip() for line in lines):
        return None
    body = "".join(line[len(prefix):] if line.startswith(prefix) else line.lstrip(" \t") for line in lines)
    parsed = parse_text(body, display)
    if isinstance(parsed, Skipped):
        return None
    parsed.col_shift = len(prefix)
    return parsed


def _lenient(text: str, display: str, exc: SyntaxError) -> SourceFile | Skipped:
    """A file that does not parse as Python 3 but holds Python 2 constructs is read with them
    adapted, line by line (secreview.source.py2); otherwise, or when that fails too, it is skipped
    with the original error."""
    msg = exc.msg or ""
    if "too many nested" in msg or "too complex" in msg:
        return Skipped(display, _syntax_reason(exc, text), exc.lineno)
    from secreview.source import py2  # only for files that do not parse as Python 3

    try:
        outcome = py2.adapt(text, exc)
    except (RecursionError, MemoryError):
        return Skipped(display, _syntax_reason(exc, text), exc.lineno)
    except Exception as bug:  # a defect in the repair must cost no more than the file it was tried on
        failure = f"failed with an internal error ({type(bug).__name__}: {bug})"
        return Skipped(display, _syntax_reason(exc, text, failure), exc.lineno)
    if outcome.tree is not None:
        note = Note(display, outcome.message(), "python2", tuple(sorted(outcome.changes)))
        return SourceFile(display, outcome.text, outcome.tree, notes=(note,))
    return Skipped(display, _syntax_reason(exc, text, outcome.failure if outcome.python2 else None), exc.lineno)


def _syntax_reason(exc: SyntaxError, text: str, adapt_failure: str | None = None) -> str:
    """``adapt_failure``: why reading the file leniently as Python 2 failed, when it was tried
    on Python 2 constructs."""
    msg = exc.msg or "invalid syntax"
    where = f"line {exc.lineno}" if exc.lineno else "unknown line"
    if exc.lineno and exc.offset:
        where += f", column {exc.offset}"
    reason = f"syntax error at {where}: {msg}"
    if "too many nested" in msg or "too complex" in msg:
        return f"too deeply nested for Python's parser ({msg})"
    if adapt_failure is not None:
        reason += f" (this looks like Python 2 code; reading it leniently as Python 2 {adapt_failure})"
    elif any(hint in msg for hint in _PY2_MESSAGES) or any(p.search(text) for p in _py2_hints()):
        reason += " (this looks like Python 2 code, and reading it leniently as Python 2 failed too)"
    return reason
