#!/usr/bin/env bash
# Install secreview with its test dependencies (see setup.sh) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh --dev
exec .venv/bin/python -m pytest "$@"
