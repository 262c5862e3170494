"""Change review on real git repositories: `secreview diff`, --diff-base, --patch, --new-only."""

import json
import os
import subprocess

import pytest

from secreview.cli import main

BASE = '''\
import os
import subprocess


def handler(request):
    name = request.args.get("name", "")
    return name


def listing(folder):
    return subprocess.run(["ls", folder], check=True)


def other():
    return 1
'''

# Commit 2 adds one defect: a shell command built from a value read on an unchanged line.
WITH_DEFECT = BASE.replace('    return name\n', '    os.system("ls " + name)\n    return name\n')
# Commit 3 touches only unrelated code.
UNRELATED = WITH_DEFECT.replace("return 1", "return 2")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with three commits, the current folder during the test."""
    home = tmp_path / "home"
    home.mkdir()
    for name, value in {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Test",
                        "GIT_AUTHOR_EMAIL": "test@example.invalid", "GIT_COMMITTER_NAME": "Test",
                        "GIT_COMMITTER_EMAIL": "test@example.invalid"}.items():
        monkeypatch.setenv(name, value)
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.chdir(root)
    git("init", "-q", "-b", "main")
    write(root, "app.py", BASE)
    write(root, "README.txt", "notes\n")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    write(root, "app.py", WITH_DEFECT)
    git("commit", "-q", "-am", "add a shell call")
    write(root, "app.py", UNRELATED)
    git("commit", "-q", "-am", "unrelated change")
    return root


def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def write(root, name, text, mode="w"):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def review(capsys, *args):
    code = main([*args, "--format", "json"])
    captured = capsys.readouterr()
    if code == 2:
        return code, captured.err
    data = json.loads(captured.out)
    return code, [(f["location"]["path"], f["location"]["line"], f["rule_id"]) for f in data["findings"]]


def error(capsys, *args):
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("secreview: error: ")
    return err.strip().removeprefix("secreview: error: ")


def shell_rule(found):
    """The rule ids reporting the shell call (a data-flow rule when taint analysis is on)."""
    return {rule for _, _, rule in found}


def test_reports_exactly_the_defect_a_commit_introduced(repo, capsys):
    code, found = review(capsys, "diff", "HEAD~2..HEAD~1")
    assert code == 1
    assert [(path, line) for path, line, _ in found] == [("app.py", 7)]
    assert shell_rule(found) <= {"SR101", "SR111"}
    # the whole file at the new revision is analysed: the full review sees the same defect
    assert review(capsys, "app.py")[1] == found


def test_reports_nothing_for_a_commit_touching_only_unrelated_code(repo, capsys):
    assert review(capsys, "diff", "HEAD~1..HEAD") == (0, [])
    assert review(capsys, "diff", "HEAD~1") == (0, [])  # HEAD~1 against the (unchanged) working tree


def test_the_working_tree_against_head_by_default(repo, capsys):
    assert review(capsys, "diff") == (0, [])
    write(repo, "app.py", UNRELATED + "\n\ndef more(x):\n    eval(x)\n")
    code, found = review(capsys, "diff")
    assert code == 1 and [(p, line) for p, line, _ in found] == [("app.py", 20)]
    write(repo, "new_module.py", "import pickle\n\ndef load(blob):\n    return pickle.loads(blob)\n")
    code, found = review(capsys, "diff")
    assert [(p, line) for p, line, _ in found] == [("app.py", 20), ("new_module.py", 4)]


def test_data_flow_from_unchanged_code_into_a_changed_line(repo, capsys):
    """The source (line 6) is unchanged; the commit adds the sink (line 7). With taint findings
    the trace runs through line 6; either way the changed line carries the finding."""
    code = main(["diff", "HEAD~2..HEAD~1", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    [finding] = report["findings"]
    assert finding["location"]["line"] == 7
    if finding["trace"]:
        assert [step["location"]["line"] for step in finding["trace"]][0] == 6


def test_a_change_at_the_source_of_a_flow_reports_the_unchanged_sink(repo, capsys):
    """Only the trace touches the change: the finding is reported when it has a trace step on the
    changed line, and not at all by a pattern rule that has no trace."""
    write(repo, "app.py", UNRELATED.replace('request.args.get("name", "")', 'request.args.get("folder", "")'))
    code = main(["diff", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    flows = [f for f in report["findings"] if f["trace"]]
    if flows:
        assert [(f["location"]["line"], f["trace"][0]["location"]["line"]) for f in flows] == [(7, 6)]
    else:
        assert (code, report["findings"]) == (0, [])


def test_three_dot_range_uses_the_merge_base(repo, capsys):
    git("checkout", "-q", "-b", "topic", "HEAD~2")
    write(repo, "tool.py", "import yaml\n\ndef read(f):\n    return yaml.load(f)\n")
    git("add", "tool.py")
    git("commit", "-q", "-m", "topic")
    # main's own commits (the shell call) are not part of the topic branch's change
    assert review(capsys, "diff", "main...topic") == (1, [("tool.py", 4, "SR202")])
    assert [p for p, _, _ in review(capsys, "diff", "main..topic")[1]] == ["tool.py"]


def test_renames_deletions_binary_and_non_python_files(repo, capsys):
    git("mv", "app.py", "service.py")
    write(repo, "service.py", UNRELATED.replace("return 2", "return 3"))
    write(repo, "logo.png", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    write(repo, "run.sh", "rm -rf $1\n")
    write(repo, "tool", "#!/usr/bin/env python3\nimport os\nos.system('x' + input())\n")
    git("rm", "-q", "README.txt")
    git("add", ".")
    git("commit", "-q", "-m", "rename and more")
    # the rename carries no new defect; the extension-less python script does
    code, found = review(capsys, "diff", "HEAD~1..HEAD")
    assert code == 1 and [(p, line) for p, line, _ in found] == [("tool", 3)]
    assert shell_rule(found) <= {"SR101", "SR111"}
    code, found = review(capsys, "diff", "HEAD~1..HEAD", "--new-only")
    assert [(p, line) for p, line, _ in found] == [("tool", 3)]


def test_new_only_reports_fingerprints_missing_at_the_base(repo, capsys):
    # a comment added to the defect's line changes the line, not the statement's fingerprint
    write(repo, "app.py", "# a comment\n\n" + UNRELATED.replace('+ name)', '+ name)  # list it'))
    assert [(p, line) for p, line, _ in review(capsys, "diff")[1]] == [("app.py", 9)]
    assert review(capsys, "diff", "--new-only") == (0, [])  # ... but the defect is not new
    # deleting a sanitiser makes a defect on an unchanged line: only --new-only sees it
    safe = BASE.replace('    return name\n', '    name = shlex.quote(name)\n    os.system("ls " + name)\n    return name\n')
    write(repo, "app.py", "import shlex\n" + safe)
    git("commit", "-q", "-am", "quoted")
    write(repo, "app.py", "import shlex\n" + safe.replace("    name = shlex.quote(name)\n", ""))
    code, found = review(capsys, "diff", "--new-only")
    assert code == 1 and [(p, line) for p, line, _ in found] == [("app.py", 8)]


def test_diff_base_reviews_the_given_paths_and_filters_to_the_branch_change(repo, capsys):
    git("checkout", "-q", "-b", "feature")
    write(repo, "pkg/crypto.py", "import hashlib\n\ndef digest(b):\n    return hashlib.md5(b).hexdigest()\n")
    git("add", ".")
    git("commit", "-q", "-m", "feature")
    assert review(capsys, "--diff-base", "main", ".") == (1, [("pkg/crypto.py", 4, "SR301")])
    # the full review still sees the shell call that main already had
    assert [p for p, _, _ in review(capsys, ".")[1]] == ["app.py", "pkg/crypto.py"]


def test_patch_file(repo, capsys, tmp_path):
    patch = tmp_path / "change.patch"
    patch.write_text(git("diff", "HEAD~2", "HEAD~1"))
    git("checkout", "-q", "HEAD~1")  # the working tree is the patch's new side
    code, found = review(capsys, "--patch", str(patch), ".")
    assert code == 1 and [(p, line) for p, line, _ in found] == [("app.py", 7)]
    assert review(capsys, "--patch", str(patch), "--new-only", ".")[1] == found
    (tmp_path / "empty.patch").write_text("just some words\n")
    assert error(capsys, "--patch", str(tmp_path / "empty.patch"), ".") == \
        f"--patch {tmp_path / 'empty.patch'}: no file differences found (is it a unified diff?)"
    git("checkout", "-q", "main")  # the patch's new side is not the working tree any more
    write(repo, "app.py", "x = 1\n")
    assert error(capsys, "--patch", str(patch), "--new-only", ".") == \
        "--patch: the patch does not match app.py in the working tree at line 4 (apply it first)"


def test_diff_errors_name_the_problem(repo, capsys, tmp_path):
    assert error(capsys, "diff", "nope") == "diff nope: unknown revision 'nope'"
    assert error(capsys, "diff", "HEAD~1..nope") == "diff HEAD~1..nope: unknown revision 'nope'"
    assert error(capsys, "diff", "HEAD", "extra") == "'diff' takes one REV_RANGE, got also 'extra' (see 'secreview diff --help')"
    assert error(capsys, "--diff-base", "nope", ".") == "--diff-base nope: unknown revision 'nope'"
    assert error(capsys, "--new-only", ".") == \
        "--new-only needs a change to compare with: 'secreview diff', --diff-base or --patch"
    assert error(capsys, "--diff-base", "main", "--patch", "x.patch", ".") == \
        "use only one of 'secreview diff', --diff-base and --patch"
    assert error(capsys, "--patch", str(tmp_path / "missing.patch"), ".") == \
        f"--patch {tmp_path / 'missing.patch'}: no such file"
    os.chdir(tmp_path / "home")
    assert error(capsys, "diff") == f"diff: {tmp_path / 'home'} is not inside a git repository"


def test_diff_from_a_subfolder_reports_paths_relative_to_it(repo, capsys):
    write(repo, "pkg/mod.py", "import os\n")
    git("add", ".")
    git("commit", "-q", "-m", "pkg")
    write(repo, "pkg/mod.py", "import os\n\ndef f(x):\n    os.system(x)\n")
    os.chdir(repo / "pkg")
    code, found = review(capsys, "diff")
    assert code == 1 and [(p, line) for p, line, _ in found] == [("mod.py", 4)]


def test_diff_help(capsys):
    assert main(["diff", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: secreview diff [REV_RANGE] [OPTIONS]")


def test_diff_outputs_for_code_review(repo, capsys):
    import jsonschema

    schema_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sarif-schema-2.1.0.json")
    with open(schema_path, encoding="utf-8") as handle:
        schema = json.load(handle)
    assert main(["diff", "HEAD~2..HEAD~1", "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, schema)
    [result] = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    if "codeFlows" in result:
        steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
        assert steps[0]["location"]["physicalLocation"]["region"]["startLine"] == 6
    assert main(["diff", "HEAD~2..HEAD~1", "--format", "review-json"]) == 1
    review = json.loads(capsys.readouterr().out)
    assert [(c["path"], c["line"], c["side"]) for c in review["github"]["comments"]] == [("app.py", 7, "RIGHT")]
    assert list(review["gerrit"]["comments"]) == ["app.py"]
    assert review["summary"] == {"findings": 1, "commented": 1, "not_commented": 0, "skipped": 0,
                                 "by_severity": {"high": 1, "medium": 0, "low": 0}, "diff": True}


def test_configuration_excludes_apply_to_a_diff(repo, capsys):
    write(repo, "vendor/lib.py", "import os\nos.system(input())\n")
    write(repo, "pyproject.toml", '[tool.secreview]\nextend-exclude = ["vendor/"]\n')
    assert review(capsys, "diff") == (0, [])
    assert [p for p, _, _ in review(capsys, "diff", "--no-config")[1]] == ["vendor/lib.py"]
