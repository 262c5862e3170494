"""Property-based and fuzz tests: generated programs and mutated bytes through the whole pipeline
and every output format. Nothing may crash; every reported line lies inside its file; a second run
gives the same bytes.

CI runs a short budget. A longer run is one environment variable away:

    SECREVIEW_FUZZ_EXAMPLES=2000 ./run-tests.sh tests/test_fuzz.py
"""

from __future__ import annotations

import os

import hypothesmith
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secreview.engine import Options, RuleSet, collect, global_phase, review_bytes
from secreview.report import FORMATS, render

EXAMPLES = int(os.environ.get("SECREVIEW_FUZZ_EXAMPLES", "25"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

OPTIONS = Options(outline=True)
RULESET = RuleSet.from_options(OPTIONS)

# Seeds for byte-level mutation: code that exercises the rules, the data flow and the review.
SEEDS = [
    b"import os\nfrom flask import request\n\ndef f():\n    os.system('ls ' + request.args['x'])\n",
    b"import subprocess as sp\nclass A:\n    def run(self, cmd):\n        return sp.run(cmd, shell=True)\n",
    b"# -*- coding: latin-1 -*-\nx = '\xe9t\xe9'\nimport pickle\npickle.loads(x)\n",
    "def f(a, /, b, *, c):\n    match a:\n        case [1, *rest]: return f'{b!r:>{c}}'\n".encode(),
    b"\xef\xbb\xbfimport hashlib\r\nhashlib.md5(b'x')\x0c\r\n",
]


def review_all(data: bytes):
    result = review_bytes(data, "fuzzed.py", RULESET, OPTIONS)
    review = collect(global_phase([result], RULESET, OPTIONS))
    return result, {fmt: render(review, fmt) for fmt in FORMATS}


def check(data: bytes) -> None:
    result, outputs = review_all(data)
    lines = data.count(b"\n") + 1
    for finding in result.findings:
        loc = finding.location
        assert 1 <= loc.line <= loc.end_line <= lines, (loc, lines)
        for step in finding.trace:
            if step.location.path == finding.location.path:
                assert 1 <= step.location.line <= lines
    for skipped in result.skipped:
        assert skipped.reason
    _, again = review_all(data)
    assert again == outputs


@SETTINGS
@given(hypothesmith.from_grammar())
def test_generated_programs(source: str) -> None:
    check(source.encode("utf-8", errors="surrogatepass"))


@SETTINGS
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 400), st.binary(min_size=0, max_size=8)),
                                        max_size=6))
def test_mutated_bytes(seed: bytes, edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(seed)
    for position, chunk in edits:
        position = min(position, len(data))
        data[position:position + len(chunk) // 2] = chunk
    check(bytes(data))


@SETTINGS
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)
