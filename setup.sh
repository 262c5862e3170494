#!/usr/bin/env bash
# Set up secreview in ./.venv with a Python 3.12 or newer.
#   ./setup.sh          install secreview
#   ./setup.sh --dev    also install what the tests need (pytest, jsonschema)
# Set SECREVIEW_PYTHON=/path/to/python3.12 to choose the interpreter.
set -euo pipefail
cd "$(dirname "$0")"

extras=""
[ "${1:-}" = "--dev" ] && extras="[test]"

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
    local c
    for c in "${SECREVIEW_PYTHON:-}" python3.13 python3.12 python3.14 python3 python; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 && ok "$(command -v "$c")"; then command -v "$c"; return 0; fi
    done
    # pyenv keeps versions that are not on PATH unless selected
    for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
        [ -x "$c" ] && ok "$c" && { echo "$c"; return 0; }
    done
    return 1
}

if [ -x .venv/bin/python ] && ok .venv/bin/python; then
    py=.venv/bin/python
else
    if ! base=$(find_python); then
        echo "setup.sh: error: secreview needs Python 3.12 or newer, and none was found." >&2
        echo "  Install one (for example 'pyenv install 3.12', 'apt-get install python3.12'," >&2
        echo "  or from python.org), or point SECREVIEW_PYTHON at it, then run ./setup.sh again." >&2
        exit 1
    fi
    rm -rf .venv
    "$base" -m venv .venv
    py=.venv/bin/python
fi
"$py" -m pip install --quiet --disable-pip-version-check -e ".${extras}"
echo "secreview is installed: $(.venv/bin/secreview --version) ($("$py" --version))"
