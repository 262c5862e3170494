"""Context classification (file, functions, mocks in force) and the test-code policy."""

from __future__ import annotations

import ast
import json
import textwrap

import pytest

from secreview import context, policy
from secreview.cli import main
from secreview.engine import Options, RuleSet, module_name, review_bytes
from secreview.model import Finding, Level, Location, TraceStep
from secreview.source.index import Index


def analysis_of(path: str, code: str) -> context.Analysis:
    code = textwrap.dedent(code)
    index = Index(ast.parse(code), module_name(path))
    return context.analyse(path, index, code)


def review(path: str, code: str, test_policy: str = "lower", **extra):
    options = Options(test_policy=test_policy, **extra)
    return review_bytes(textwrap.dedent(code).encode(), path, RuleSet.from_options(options), options)


UNITTEST = """\
    import hashlib
    from unittest import mock

    import fixtures
    import testtools

    from nova.tests.unit import fake_notifier


    class TestQuota(testtools.TestCase):

        def setUp(self):
            super().setUp()
            self.useFixture(fixtures.MonkeyPatch('nova.quota.QUOTAS', None))
            self.stub_out('nova.db.api.quota_get', lambda *a: 1)
            patcher = mock.patch('nova.rpc.get_notifier')
            self.notifier = patcher.start()
            self.client = mock.MagicMock()
            fake_notifier.stub_notifier(self)

        @mock.patch('nova.quota.QuotaEngine.reserve')
        def test_reserve(self, reserve):
            digest = hashlib.md5(b'quota').hexdigest()
            with mock.patch.object(self.client, 'commit') as commit:
                self.client.commit(digest)
            commit.assert_called_once_with(digest)

        def _helper(self):
            return 1
"""


def test_functions_have_roles_with_evidence():
    found = analysis_of("nova/tests/unit/test_quota.py", UNITTEST)
    assert found.context.kind == "unit test"
    roles = [(f.name, f.role, f.line, f.end_line) for f in found.functions]
    assert roles == [("TestQuota.setUp", "set-up", 12, 19), ("TestQuota.test_reserve", "test", 21, 26),
                     ("TestQuota._helper", "helper", 28, 29)]
    assert found.functions[0].evidence == "`setUp` of test class `TestQuota` runs before each test"


def test_mocks_stubs_and_fakes_with_where_they_are_in_force():
    found = analysis_of("nova/tests/unit/test_quota.py", UNITTEST)
    got = [(r.kind, r.target, r.line, r.active, r.how) for r in found.replacements]
    assert got == [
        ("fake module", "fake_notifier", 7, (0, 0), "imported"),
        ("fixtures.MonkeyPatch", "nova.quota.QUOTAS", 14, (10, 29), "for every test of class `TestQuota` (line 10)"),
        ("stub_out", "nova.db.api.quota_get", 15, (10, 29), "for every test of class `TestQuota` (line 10)"),
        ("mock.patch", "nova.rpc.get_notifier", 16, (10, 29), "for every test of class `TestQuota` (line 10)"),
        ("mock object", "self.client", 18, (10, 29), "for every test of class `TestQuota` (line 10)"),
        ("stub", "fake_notifier.stub_notifier", 19, (10, 29), "for every test of class `TestQuota` (line 10)"),
        ("mock.patch", "nova.quota.QuotaEngine.reserve", 21, (21, 26), "while `test_reserve` (line 22) runs"),
        ("mock.patch.object", "self.client.commit", 24, (24, 25), "inside the `with` block (lines 24-25)"),
    ]
    in_force = {r.target for r in found.in_force(25)}
    assert "self.client.commit" in in_force and "nova.quota.QuotaEngine.reserve" in in_force
    assert "self.client.commit" not in {r.target for r in found.in_force(26)}


def test_pytest_fixtures_and_monkeypatch():
    found = analysis_of("tests/test_cache.py", """\
        import pytest

        @pytest.fixture
        def home(tmp_path, monkeypatch):
            monkeypatch.setenv("HOME", str(tmp_path))
            monkeypatch.setattr("cache.core.CLOCK", lambda: 0)
            return tmp_path

        def test_empty(home, mocker):
            mocker.patch("cache.core.load")
        """)
    assert [(f.name, f.role) for f in found.functions] == [("home", "fixture"), ("test_empty", "test")]
    assert [(r.kind, r.target, r.active) for r in found.replacements] == [
        ("monkeypatch", "environment variable HOME", (5, 7)),
        ("monkeypatch", "cache.core.CLOCK", (6, 7)),
        ("mock.patch", "cache.core.load", (10, 10)),
    ]


@pytest.mark.parametrize("path, code, kind", [
    ("nova/tests/functional/regressions/test_bug_1.py", "import testtools\n", "functional test"),
    ("pkg/tests/helpers.py", "def make():\n    return 1\n", "test support code"),
    ("pkg/tests/conftest.py", "import pytest\n", "test configuration (pytest conftest)"),
    ("pkg/service.py", "def run():\n    return 1\n", "production code"),
    ("pkg/migrations/versions/001_init.py", "x = 1\n", "database migration"),
    ("checks.py", "import unittest\nclass T(unittest.TestCase):\n    def setUp(self):\n"
                  "        self.start_service('compute')\n    def test_x(self):\n        pass\n", "functional test"),
])
def test_file_kinds(path, code, kind):
    assert context.describe(path, Index(ast.parse(code), module_name(path)), code).kind == kind


def test_content_evidence_cites_lines():
    code = "import unittest\n\n\nclass VolumeTests(\n        unittest.TestCase):\n    def test_a(self):\n        pass\n"
    ctx = context.describe("volume_checks.py", Index(ast.parse(code), "volume_checks"), code)
    assert ctx.label == "test"
    assert ctx.details == (context.Evidence("class `VolumeTests` derives from `unittest.TestCase` (line 5)", 4),
                           context.Evidence("imports `unittest`", 1))


TEST_FILE = """\
    import hashlib
    import os


    def test_digest():
        assert hashlib.md5(b"data").hexdigest()


    def test_cleanup(name):
        os.system("rm -rf " + name)
"""


def test_lower_keeps_hygiene_findings_at_low_severity_with_the_reason():
    result = review("tests/test_digest.py", TEST_FILE)
    by_rule = {f.rule_id: f for f in result.findings}
    assert by_rule["SR301"].severity == Level.LOW
    assert by_rule["SR301"].triage == (
        "lowered to low severity in test code (unit test: file name 'test_digest.py' follows test naming): "
        "a weak hash in a test digests test data; no stored password or signature depends on it")
    # not a hygiene rule: a command built from a value and run through a shell stays what it is
    assert (by_rule["SR101"].severity, by_rule["SR101"].triage) == (Level.HIGH, "")
    assert result.dropped == ()


def test_drop_sets_hygiene_findings_aside_and_keep_changes_nothing():
    dropped = review("tests/test_digest.py", TEST_FILE, "drop")
    assert [f.rule_id for f in dropped.findings] == ["SR101"]
    assert [(f.rule_id, f.location.line, f.severity) for f in dropped.dropped] == [("SR301", 6, Level.LOW)]
    assert dropped.dropped[0].triage.startswith("dropped in test code (unit test: ")
    kept = review("tests/test_digest.py", TEST_FILE, "keep")
    assert [(f.rule_id, f.severity, f.triage) for f in kept.findings] == [
        ("SR301", Level.LOW, ""), ("SR101", Level.HIGH, "")]


def test_production_code_is_not_touched():
    result = review("pkg/digest.py", TEST_FILE.replace("def test_", "def check_"), "drop")
    assert {f.rule_id for f in result.findings} == {"SR101", "SR301"}
    assert all(f.triage == "" for f in result.findings)


def test_a_pytest_fixture_in_a_production_file_is_test_code():
    code = """\
        import hashlib
        import pytest

        @pytest.fixture
        def digest():
            return hashlib.md5(b"x").hexdigest()

        def digest_of(data):
            return hashlib.md5(data).hexdigest()
        """
    result = review("pkg/plugin.py", code, "drop")
    assert [(f.rule_id, f.location.line) for f in result.dropped] == [("SR301", 6)]
    assert "fixture `digest` at line 5: decorated as a pytest fixture" in result.dropped[0].triage
    assert [(f.rule_id, f.location.line) for f in result.findings] == [("SR301", 9)]


def test_real_key_formats_and_data_flow_findings_are_never_lowered():
    loc = Location("tests/test_x.py", 3, 0, 3, 10)
    flow = Finding("SR301", "weak-hash", 328, Level.MEDIUM, Level.HIGH, loc, "m", "f",
                   trace=(TraceStep(loc, "source"),))
    key = Finding("SR502", "hardcoded-secret", 798, Level.HIGH, Level.HIGH, loc, "m", "f")
    found = analysis_of("tests/test_x.py", "def test_a():\n    pass\n")
    kept, dropped, _ = policy.apply([flow, key], "tests/test_x.py", None, "", "drop", found)
    assert (kept, dropped) == ([flow, key], [])
    assert policy.exempt(flow) == "a data-flow finding follows real data"
    assert policy.exempt(key) == "a credential in a known key format may be real"


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="unknown test policy 'ignore'"):
        policy.apply([], "a.py", None, "", "ignore")


def test_every_hygiene_rule_has_a_written_reason():
    from secreview.rules import registry

    hygiene = [r.id for r in registry.all_rules() if getattr(r, "hygiene", False)]
    assert {"SR301", "SR404", "SR502", "SR602"} <= set(hygiene)
    assert [rule for rule in hygiene if rule not in policy.REASONS] == []


def test_dropped_findings_are_in_json_and_text(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_digest.py").write_text(textwrap.dedent(TEST_FILE))
    assert main(["--no-cache", "--format", "json", "--test-policy", "drop", "tests"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["rule_id"] for f in report["findings"]] == ["SR101"]
    assert [(f["rule_id"], f["triage"][:21]) for f in report["dropped"]] == [("SR301", "dropped in test code ")]
    assert main(["--no-cache", "--test-policy", "drop", "tests"]) == 1
    out = capsys.readouterr().out
    assert "tests/test_digest.py:6:12: SR301 weak-hash set aside: dropped in test code (unit test: " in out
    assert main(["--no-cache", "tests"]) == 1
    assert " Triage: lowered to low severity in test code (unit test: " in capsys.readouterr().out


def test_test_policy_from_the_configuration_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.secreview]\ntest-policy = "drop"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_digest.py").write_text(textwrap.dedent(TEST_FILE))
    main(["--no-cache", "--format", "json", "tests"])
    assert [f["rule_id"] for f in json.loads(capsys.readouterr().out)["dropped"]] == ["SR301"]
    main(["--no-cache", "--format", "json", "--test-policy", "keep", "tests"])
    assert json.loads(capsys.readouterr().out)["dropped"] == []


@pytest.mark.parametrize("head", [
    "# Generated by the protocol buffer compiler.  DO NOT EDIT!\nimport x\n",
    "# AUTO-GENERATED file\n", "# autogenerated\n", "\n\n\n\n# Do Not Edit\n",
    "\n\n\n\n\n# generated by a tool, on the sixth line\n", "# do not\n# edit\n",
    "# generated  by two spaces\n", "# do not ed\u0131t (a dotless i)\n", "# d\u00e9j\u00e0 vu\n# generated by\n",
    "a\rb\rc\rd\re\r# generated by, past four carriage returns\n", "a\x0cb\nc\nd\ne\n# do not edit\n",
    "# ordinary module\n", "", "1\n2\n3\n4\n5\n\x0c# generated by, a break past the fifth line\n",
    "1\n2\n3\n4\x0c\n# do not edit\n", "1\n2\n\u2028\n# generated by\n", "# generated by \u00e9\n",
])
def test_generated_header_shortcut_agrees_with_the_pattern(head):
    """The ASCII shortcut of _generated_header and the regex over str.splitlines' first five lines
    give the same answer (the sample covers both roads)."""
    expected = context._GENERATED.search("\n".join(head.splitlines()[:5])) is not None
    assert context._generated_header(head) is expected
