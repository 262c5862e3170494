"""Reading source files: what is counted from the text."""

import pytest


@pytest.mark.parametrize("text", ["", "\n", "x = 1", "x = 1\n", "x = 1\n\n", "a\nb", "\n\n\nx", "a\r\nb\n", "a\rb",
                                  "a\x0cb\n", "a\x0bb", "a\x1cb\x1dc\x1e", "s = 'é'\nt = 1", "a\x85b\n", "a\u2028b"])
def test_the_line_count_is_that_of_str_splitlines(text):
    from secreview.source.parse import SourceFile

    source = SourceFile("t.py", text, None)  # (the tree plays no part)
    assert source.line_count == len(text.splitlines())
    assert source.line_count == len(source.lines)  # and once the lines are split
