"""Reading source files: what is counted from the text."""

import pytest


@pytest.mark.parametrize("text", ["", "\n", "x = 1", "x = 1\n", "x = 1\n\n", "a\nb", "\n\n\nx", "a\r\nb\n", "a\rb",
                                  "a\x0cb\n", "a\x0bb", "a\x1cb\x1dc\x1e", "s = 'é'\nt = 1", "a\x85b\n", "a\u2028b"])
def test_the_line_count_is_that_of_str_splitlines(text):
    from secreview.source.parse import SourceFile

    source = SourceFile("t.py", text, None)  # (the tree plays no part)
    assert source.line_count == len(text.splitlines())
    assert source.line_count == len(source.lines)  # and once the lines are split


def _decode_by_tokenize(data: bytes, display: str):
    """decode as it was written before its shortcut: tokenize.detect_encoding on every file."""
    from secreview.model import Skipped
    from secreview.source.parse import _decode_declared

    if b"\0" in data:
        return Skipped(display, "file contains null bytes (binary data, not Python source)")
    return _decode_declared(data, display)


@pytest.mark.parametrize("data", [
    b"", b"\n", b"x = 1\n", "s = 'é'\n".encode(), "s = 'é'\n".encode("latin-1"),
    b"# -*- coding: latin-1 -*-\ns = '\xe9'\n", b"#!/usr/bin/env python\n# coding=latin-1\ns = '\xe9'\n",
    b"\n\n# coding: latin-1\ns = '\xe9'\n",  # a declaration on line 3 does not count
    b"x = 1\n# coding: latin-1\n",  # nor on line 2 after a line of code
    b"# coding: no-such-codec\n", b"\xef\xbb\xbfx = 1\n", b"\xef\xbb\xbf# coding: latin-1\nx = 1\n",
    b"\xef\xbb\xbf# coding: utf-8\nx = 1\n", b"s = '\xff'\n", b"# \xff\n# coding: latin-1\n",
    b"# coding: latin-1", b"x = 1\r\n# coding: latin-1\r\ns = '\xe9'\r\n", b"# decoding the coding\nx = 1\n",
    b"a\0b",
])
def test_decode_gives_what_tokenize_detect_encoding_decides(data):
    # decode skips tokenize.detect_encoding when the first two lines cannot declare an encoding
    from secreview.source.parse import decode

    assert decode(data, "t.py") == _decode_by_tokenize(data, "t.py")
