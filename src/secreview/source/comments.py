"""Comments by line, read with ``tokenize`` (the ``ast`` drops them)."""

from __future__ import annotations

import io
import tokenize


def comments(text: str) -> dict[int, str]:
    """Map 1-based line -> comment text (without the leading ``#``), for every comment token.

    Tokenizing is slower than parsing, so callers first check cheaply whether the text can hold
    a comment they care about. A file that ``ast`` accepted tokenizes; should it not, the comments
    read up to the failure are returned.
    """
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string[1:].strip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return found
