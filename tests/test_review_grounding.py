"""Grounding: every line the written review cites exists, and every piece of code it quotes or
names is what the cited lines hold. Checked over every fixture file under tests/fixtures, with the
default test-code policy and with ``drop`` (which adds the set-aside section).

How the review output is read:

- a citation is ``line N``, ``lines N-M`` or ``lines N-M, P, Q-R``; every number must be a line of
  the file (and N <= M);
- every code span (text in backticks) on a review line must be found in the lines that review line
  cites, compared with whitespace collapsed. A span cut short with ``...`` must match up to the
  cut; ``name()`` matches ``name``; a dotted qualified name (``subprocess.check_output``, how the
  index resolves an alias) matches when its last part is there;
- inside a defect block, a line that cites nothing itself (the rule's message) is checked against
  the lines cited in the block's header (the defect's lines and its enclosing function);
- ``Why it is dangerous:`` and ``Fix:`` lines quote the rule's documentation and advice, not the
  file, and spans of punctuation only (``;``, ``$(...)``, examples of attack input in a message)
  name no code: neither is matched against the file (their line numbers still are);
- the rule's own text (``What happens:``, ``Data flow:``) may also use backticks for words that are
  not code of this file at all (``ValueError``, ``python -O``); a span found nowhere in the file is
  accepted there. A span that *is* code of the file must be on a cited line: the review adds
  ``(quoted code: line N)`` for code a message quotes from elsewhere in the file.
"""

from __future__ import annotations

import os
import re

import pytest

from secreview.engine import Options, RuleSet, collect, review_bytes
from secreview.report.review import render_review

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
CITE = re.compile(r"\blines? (\d+)(?:-(\d+))?((?:, \d+(?:-\d+)?)*)")
SPAN = re.compile(r"`([^`]+)`")
EXEMPT = ("Why it is dangerous:", "Fix:")
RULE_TEXT = ("What happens:", "Data flow:")


def fixture_files() -> list[str]:
    found = []
    for root, _, files in os.walk(FIXTURES):
        for name in files:
            if name.endswith(".py"):
                found.append(os.path.relpath(os.path.join(root, name), FIXTURES).replace(os.sep, "/"))
    return sorted(found)


def review_of(display: str, policy: str) -> tuple[str, list[str]]:
    with open(os.path.join(FIXTURES, display), "rb") as handle:
        data = handle.read()
    options = Options(outline=True, test_policy=policy)
    result = review_bytes(data, display, RuleSet.from_options(options), options)
    return render_review(collect([result])), data.decode("utf-8").splitlines()


def citations(line: str) -> list[tuple[int, int]]:
    found = []
    for m in CITE.finditer(line):
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        found.append((a, b))
        for item in (m.group(3) or "").split(", ")[1:]:
            x, _, y = item.partition("-")
            found.append((int(x), int(y or x)))
    return found


def grounded(span: str, text: str) -> bool:
    span = " ".join(span.split())
    if not re.search(r"[A-Za-z0-9]", span):
        return True  # punctuation only: names no code
    candidates = [span]
    if span.endswith("..."):
        candidates.append(span[:-3].rstrip())
    if span.endswith("()"):
        candidates.append(span[:-2])
    if re.fullmatch(r"[A-Za-z_][\w.]*(\(\))?", span) and "." in span:
        candidates.append(span.removesuffix("()").rsplit(".", 1)[-1])
    return any(c and c in text for c in candidates)


def problems(review: str, source: list[str], display: str) -> list[str]:
    found = []
    count = len(source)
    whole = [" ".join(line.split()) for line in source]
    lines = review.splitlines()
    header = f"Review of {display} ({count} line{'' if count == 1 else 's'})"
    if header not in lines and f"Review of {display}" not in lines:
        found.append(f"no header {header!r}")
    block: list[tuple[int, int]] = []
    for out in lines:
        stripped = out.strip()
        cites = citations(out)
        for a, b in cites:
            if not 1 <= a <= b <= count:
                found.append(f"cites lines {a}-{b} outside 1-{count}: {out}")
        if stripped.startswith("Defect "):
            block = cites
        elif re.match(r"^\d+\. |^Verdict$", stripped):
            block = []
        if stripped.startswith(EXEMPT):
            continue
        scope = cites + block
        text = " ".join(" ".join(source[a - 1:b]) for a, b in scope if 1 <= a <= b <= count)
        text = " ".join(text.split())
        for span in SPAN.findall(out):
            if not scope:
                if re.search(r"[A-Za-z0-9]", span):
                    found.append(f"quotes `{span}` without citing a line: {out}")
            elif not grounded(span, text):
                if stripped.startswith(RULE_TEXT) and not any(grounded(span, line) for line in whole):
                    continue  # the rule's vocabulary, not code of this file
                found.append(f"`{span}` is not on the cited lines: {out}")
    return found


CASES = [(path, policy) for path in fixture_files() for policy in ("lower", "drop")]


@pytest.mark.parametrize("display, policy", CASES, ids=[f"{p}-{q}" for p, q in CASES])
def test_review_is_grounded(display, policy):
    review, source = review_of(display, policy)
    assert problems(review, source, display) == []


def test_the_grounding_check_catches_wrong_lines_and_wrong_code():
    source = ["import os", "def f(x):", "    os.system('ls ' + x)"]
    good = "Review of a.py (3 lines)\n   - line 3: `os.system('ls ' + x)` — runs `ls`\n"
    assert problems(good, source, "a.py") == []
    assert problems(good.replace("line 3", "line 2"), source, "a.py")
    assert problems(good.replace("line 3", "line 4"), source, "a.py")
    assert problems(good.replace("os.system", "os.popen"), source, "a.py")
    assert problems(good + "   quoted `x` with no line\n", source, "a.py")


def test_same_input_same_bytes():
    display = "review/functional/regressions/test_live_migrate_keeps_flavor.py"
    assert review_of(display, "lower")[0] == review_of(display, "lower")[0]
