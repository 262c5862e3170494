import os

import pytest

from fixture_harness import RULES_DIR, check_fixture, expectations, fixture_files


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: os.path.relpath(p, RULES_DIR))
def test_fixture(path):
    assert check_fixture(path) == []


def test_harness_catches_a_missing_finding(tmp_path, monkeypatch):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nos.system('ls')  # ok: SR101\nx = 1  # expect: SR103\n")
    problems = check_fixture(str(bad))
    assert any(":2: SR101 must stay silent" in p for p in problems)
    assert any(":3: expected SR103, got nothing" in p for p in problems)


def test_harness_catches_an_unannotated_finding(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\ndef f(x):\n    os.system(x)\n")
    assert [p.split(": ", 1)[1][:14] for p in check_fixture(str(bad))] == ["unexpected SR1"]


def test_expectations_parse_levels():
    [exp] = expectations("x = 1  # expect: SR101:low/medium\n")
    assert (exp.kind, exp.line, exp.rule, exp.severity, exp.confidence) == ("expect", 1, "SR101", "low", "medium")
