"""Errors in what the user gave us (a configuration file, a baseline, a patch, a git revision).

The command line reports each in one line (``secreview: error: ...``) with exit code 2. The
message always names the thing at fault: the option, the key, or the file.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: reported in one line, exit code 2."""
