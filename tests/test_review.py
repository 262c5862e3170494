"""The written review (`secreview review`, `--format review`, `--format markdown`): whole outputs
against checked-in files, plus the facts the issue asks for, asserted one by one.

Regenerate the expected files after an intended change with
``SECREVIEW_UPDATE_EXPECTED=1 ./run-tests.sh tests/test_review.py`` and review the diff.
"""

from __future__ import annotations

import os

import pytest

from secreview.cli import main
from secreview.report.review import VERDICT_CLEAN

HERE = os.path.dirname(os.path.abspath(__file__))
REVIEW_FIXTURES = os.path.join(HERE, "fixtures", "review")
EXPECTED = os.path.join(HERE, "expected")
NOVA = "functional/regressions/test_live_migrate_keeps_flavor.py"
LINK = "https://opendev.example/nova/src/commit/0123abc"


def run(capsys, monkeypatch, *args):
    monkeypatch.chdir(REVIEW_FIXTURES)
    code = main([*args, "--no-cache"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def compare(name: str, text: str) -> None:
    path = os.path.join(EXPECTED, name)
    if os.environ.get("SECREVIEW_UPDATE_EXPECTED"):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(path, encoding="utf-8") as handle:
        assert text == handle.read()


def source_line(relative: str, number: int) -> str:
    with open(os.path.join(REVIEW_FIXTURES, relative), encoding="utf-8") as handle:
        return handle.read().splitlines()[number - 1]


@pytest.mark.parametrize("name, args, code", [
    ("review_functional_test.txt", ["review", NOVA], 0),
    ("review_console.txt", ["review", "console"], 1),
    ("review_unit_test.txt", ["review", "unit/test_image_cache.py"], 1),
    ("review_unit_test_drop.txt", ["review", "--test-policy", "drop", "unit/test_image_cache.py"], 0),
    ("review_console.md", ["--format", "markdown", "--link-base", LINK, "console"], 1),
    ("review_functional_test.md", ["review", "--format", "markdown", NOVA], 0),
])
def test_whole_output(capsys, monkeypatch, name, args, code):
    got_code, out, err = run(capsys, monkeypatch, *args)
    assert (got_code, err) == (code, "")
    compare(name, out)


def test_functional_regression_test_regions_and_verdict(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "review", NOVA)
    lines = out.splitlines()
    assert code == 0
    assert lines[-1] == VERDICT_CLEAN and lines[-2] == "Verdict"
    assert lines[0] == "Review of functional/regressions/test_live_migrate_keeps_flavor.py (62 lines)"
    assert lines[1].startswith("Context: functional test. Evidence: ")
    # the regions, by their real line ranges
    assert "1. Test and environment set-up (lines 25-42)" in lines
    assert source_line(NOVA, 25).strip() == "def setUp(self):"
    assert source_line(NOVA, 42).strip().startswith("self.compute2 = self.start_service('compute'")
    for needle in ("line 27: `self.useFixture(policy_fixture.RealPolicyFixture())` — policy fixture",
                   "lines 30-31: `api_fixture = self.useFixture(nova_fixtures.OSAPIFixture( api_version='v2.1'))` "
                   "— API fixture `OSAPIFixture`",
                   "line 28: `self.useFixture(nova_fixtures.NeutronFixture(self))` — fake network service",
                   "line 35: `fake_image.stub_out_image_service(self)` — stub",
                   "line 37: `fake_network.set_stub_network_methods(self)` — stub",
                   "line 39: `self.start_service('conductor')` — starts the `conductor` service",
                   "line 40: `self.start_service('scheduler')` — starts the `scheduler` service",
                   "line 41: `self.compute1 = self.start_service('compute', host='host1')`",
                   "lines 45-52: hard-coded test data in `test_live_migrate_keeps_flavor` (line 44): "
                   "`flavor_id`, `image_ref`, `server_req`",
                   "line 53: `server = self.api.post_server({'server': server_req})` — API call `post_server` "
                   "through `self.api` (line 32), served by `OSAPIFixture` (line 30) inside the test process",
                   "lines 57-59: `self.api.post_server_action("):
        assert needle in out
    # why the set-up, the stubs and the hard-coded data carry no real risk
    assert out.count("Why this carries no real risk:") == 2
    assert "Why the hard-coded data carries no real risk:" in out
    assert "Why these calls carry no real risk:" in out
    assert "Defect" not in out


def test_request_data_reaching_a_shell_is_a_numbered_defect(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "review", "console/diagnostics.py")
    assert code == 1
    defect = [line for line in out.splitlines() if line.strip().startswith("Defect ")]
    assert defect == ["   Defect 1: line 20 in `ping` (lines 10-21): SR111 tainted-shell-command"]
    assert "subprocess.check_output(command, shell=True" in source_line("console/diagnostics.py", 20)
    assert "     Weakness: CWE-78 Improper Neutralization of Special Elements used in an OS Command ('OS Command " \
           "Injection'); category CWE-707 Improper Neutralization (CWE-1000)" in out
    assert "     Fix: Pass an argument list without a shell" in out
    assert "line 13: `not host` — presence check only: `host` is rejected when empty, but its content is not " \
           "validated" in out
    assert "line 16: `count = int(payload.get(\"count\", 3))` — validation: `int` converts it" in out
    assert out.splitlines()[-1] == "1 security defect is detected in the code: 1 high, 0 medium, 0 low severity."


def test_weak_password_hash_defects_are_counted(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "review", "console/accounts.py")
    assert code == 1
    defects = [line.strip() for line in out.splitlines() if line.strip().startswith("Defect ")]
    assert defects == ["Defect 1: line 14 in `set_password` (lines 13-16): SR301 weak-hash",
                       "Defect 2: line 24 in `check_password` (lines 19-25): SR301 weak-hash"]
    assert out.count("Weakness: CWE-328 Use of Weak Hash; category CWE-693 Protection Mechanism Failure") == 2
    assert out.count("Fix: Hash passwords with a salted slow KDF") == 2
    assert "`password` is a parameter of `set_password` (line 13): the caller decides its value." in out
    assert out.splitlines()[-1] == "2 security defects are detected in the code: 0 high, 2 medium, 0 low severity."


def test_context_policy_is_visible(capsys, monkeypatch):
    _, lowered, _ = run(capsys, monkeypatch, "review", "unit/test_image_cache.py")
    assert lowered.count("Triage: lowered to low severity in test code (unit test: file name "
                         "'test_image_cache.py' follows test naming): ") == 4
    assert lowered.splitlines()[-1] == "4 security defects are detected in the code: 0 high, 0 medium, 4 low severity."
    code, dropped, _ = run(capsys, monkeypatch, "review", "--test-policy", "drop", "unit/test_image_cache.py")
    assert code == 0
    assert "5. Findings set aside in test code (lines 11, 23, 31, 38)" in dropped
    assert "   - line 23: `expected = hashlib.md5(data).hexdigest()` — SR301 weak-hash (low severity) dropped " \
           "in test code" in dropped
    assert dropped.splitlines()[-1] == VERDICT_CLEAN


def test_markdown_links_every_cited_line(capsys, monkeypatch):
    _, out, _ = run(capsys, monkeypatch, "--format", "markdown", "--link-base", LINK + "/", "console/accounts.py")
    assert f"**Defect 1: [line 14]({LINK}/console/accounts.py#L14) in `set_password` " \
           f"([lines 13-16]({LINK}/console/accounts.py#L13-L16)): SR301 `weak-hash`**" in out
    assert "### 2. Interactions with the outside (lines " \
           f"[10]({LINK}/console/accounts.py#L10), [16]({LINK}/console/accounts.py#L16), " \
           f"[21]({LINK}/console/accounts.py#L21))" in out
    assert out.rstrip("\n").splitlines()[-1].startswith("2 security defects are detected in the code")


def test_review_of_a_file_that_cannot_be_parsed_gives_no_verdict(tmp_path, capsys, monkeypatch):
    (tmp_path / "bad.py").write_text("def f(:\n")
    (tmp_path / "ok.py").write_text("def add(a, b):\n    return a + b\n")
    monkeypatch.chdir(tmp_path)
    code = main(["review", "--no-cache", "."])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[:3] == ["secreview reviewed 2 files: 0 with defects, 1 clean, 1 not reviewed.", "",
                                    "Review of bad.py"]
    assert "Not reviewed: syntax error at line 1" in out
    assert "No verdict: the file could not be reviewed." in out
    assert out.endswith("Review of ok.py (2 lines)\nContext: production code. Evidence: no test, example, migration "
                        "or generated markers in its path or content.\n\nVerdict\n" + VERDICT_CLEAN + "\n")


def test_review_of_standard_input(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", _Stdin(b"import os\n\ndef f(x):\n    os.system('ls ' + x)\n"))
    code = main(["review", "--no-cache", "--stdin-filename", "snippet.py", "-"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("Review of snippet.py (4 lines)\n")
    assert "Defect 1: line 4 in `f` (lines 3-4): SR101 shell-injection" in out
    assert "`x` is a parameter of `f` (line 3): the caller decides its value." in out


class _Stdin:
    def __init__(self, data: bytes):
        import io

        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize("args, message", [
    (["review", "--format", "json", "x.py"], "'review' writes --format review or markdown, not 'json'"),
    (["--link-base", LINK, "x.py"], "--link-base only applies to --format markdown"),
    (["--format", "markdown", "--link-base", "not a url", "x.py"], "--link-base must be a URL"),
    (["--test-policy", "ignore", "x.py"], "argument --test-policy: invalid choice: 'ignore'"),
])
def test_bad_options_are_one_line_errors(capsys, monkeypatch, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text("x = 1\n")
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("secreview: error: ") and message in err and err.count("\n") == 1


def test_review_help_and_main_help_list_the_review(capsys):
    assert main(["review", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: secreview review [OPTIONS] PATH...")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "secreview review PATH..." in out
    assert "--test-policy POLICY" in out and "--link-base URL" in out
    assert "review" in out and "markdown" in out
