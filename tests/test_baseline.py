"""Baselines: create, update, --baseline, and every error for a bad file."""

import json

import pytest

from secreview.cli import main

CODE = "import os\n\n\ndef run(cmd):\n    os.system(cmd)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(CODE)
    (tmp_path / "keys.py").write_text('DB_PASSWORD = "Xk9#mQ2!vL7pR4zT"\n')
    return tmp_path


def lines(capsys, *args):
    code = main(["--format", "json", "--no-config", *args])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["location"]["path"], f["location"]["line"], f["rule_id"]) for f in report["findings"]]


def error(capsys, *args):
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("secreview: error: "), err
    return err.strip().removeprefix("secreview: error: ")


def test_create_then_only_new_findings_are_reported(project, capsys):
    code, before = lines(capsys, ".")
    assert code == 1 and ("app.py", 5, "SR101") in before
    assert main(["baseline", "create", "base.json", "--no-config", "."]) == 0
    assert capsys.readouterr().err.startswith(f"secreview: wrote base.json: {len(before)} finding")
    assert lines(capsys, "--baseline", "base.json", ".") == (0, [])
    # an edit above the known finding moves it, but does not make it new
    (project / "app.py").write_text("# header\n# more\n" + CODE)
    assert lines(capsys, "--baseline", "base.json", ".") == (0, [])
    # a second identical defect in the same file is new (the count says one is known)
    (project / "app.py").write_text(CODE + "    os.system(cmd)\n")
    assert lines(capsys, "--baseline", "base.json", ".") == (1, [("app.py", 6, "SR101")])


def test_the_file_is_sorted_stable_line_free_and_holds_no_source_text(project, capsys):
    main(["baseline", "create", "b1.json", "--no-config", "."])
    (project / "app.py").write_text("\n\n\n" + CODE)  # moved lines: the same baseline
    main(["baseline", "create", "b2.json", "--no-config", "."])
    capsys.readouterr()
    first, second = (project / "b1.json").read_text(), (project / "b2.json").read_text()
    assert first == second
    data = json.loads(first)
    assert sorted(data) == ["findings", "format", "version"]
    assert (data["format"], data["version"]) == ("secreview-baseline", 1)
    entries = data["findings"]
    assert entries == sorted(entries, key=lambda e: (e["path"], e["rule_id"], e["rule_name"], e["fingerprint"]))
    assert {e["path"] for e in entries} == {"app.py", "keys.py"}
    assert all(sorted(e) == ["count", "fingerprint", "path", "rule_id", "rule_name"] for e in entries)
    assert "Xk9#mQ2" not in first and "os.system" not in first and '"line"' not in first


def test_update_reports_what_changed(project, capsys):
    main(["baseline", "create", "base.json", "--no-config", "."])
    capsys.readouterr()
    (project / "app.py").write_text(CODE + "    os.system(cmd)\n    os.popen(cmd)\n")
    (project / "keys.py").write_text("")
    assert main(["baseline", "update", "base.json", "--no-config", "."]) == 0
    err = capsys.readouterr().err
    assert err == "secreview: updated base.json: 2 added, 1 removed, 1 kept\n"
    assert lines(capsys, "--baseline", "base.json", ".") == (0, [])


def test_baseline_command_errors(project, capsys):
    main(["baseline", "create", "base.json", "--no-config", "."])
    capsys.readouterr()
    assert error(capsys, "baseline") == ("'baseline' needs 'create' or 'update' and a FILE, e.g. "
                                         "'secreview baseline create .secreview-baseline.json .'")
    assert error(capsys, "baseline", "make", "x.json", ".").endswith(", got 'make'")
    assert error(capsys, "baseline", "create") == "'baseline create' needs the baseline FILE to write"
    assert error(capsys, "baseline", "create", "base.json", ".") == \
        "baseline create: base.json already exists (use 'secreview baseline update base.json ...')"
    assert error(capsys, "baseline", "update", "other.json", ".") == \
        "baseline update: other.json: no such file (use 'secreview baseline create other.json ...')"
    assert main(["baseline", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: secreview baseline create FILE")


@pytest.mark.parametrize("content, message", [
    (None, "--baseline b.json: no such file (create one with 'secreview baseline create b.json PATH...')"),
    ("{not json", "--baseline b.json: not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
    ("[]", '--baseline b.json: not a secreview baseline (expected "format": "secreview-baseline")'),
    ('{"format": "secreview-baseline", "version": 9, "findings": []}',
     '--baseline b.json: unsupported "version": 9 (this secreview reads 1)'),
    ('{"format": "secreview-baseline", "version": 1, "findings": [], "extra": 1}', '--baseline b.json: unknown key "extra"'),
    ('{"format": "secreview-baseline", "version": 1, "findings": {}}', '--baseline b.json: "findings" must be an array'),
    ('{"format": "secreview-baseline", "version": 1, "findings": [3]}', "--baseline b.json: findings[0] must be an object"),
    ('{"format": "secreview-baseline", "version": 1, "findings": [{"path": "a.py"}]}',
     '--baseline b.json: findings[0]: missing "rule_id"'),
    ('{"format": "secreview-baseline", "version": 1, "findings": [{"path": "a.py", "rule_id": "SR101", '
     '"rule_name": "shell-injection", "fingerprint": "0123456789abcdef0123456789abcdef", "count": "2"}]}',
     '--baseline b.json: findings[0]: "count" must be an integer'),
    ('{"format": "secreview-baseline", "version": 1, "findings": [{"path": "a.py", "rule_id": "SR101", '
     '"rule_name": "shell-injection", "fingerprint": "0123456789abcdef0123456789abcdef", "count": 0}]}',
     '--baseline b.json: findings[0]: "count" must be at least 1'),
    ('{"format": "secreview-baseline", "version": 1, "findings": [{"path": "a.py", "rule_id": "SR101", '
     '"rule_name": "shell-injection", "fingerprint": "XYZ", "count": 1}]}',
     '--baseline b.json: findings[0]: "fingerprint" must be 32 lower-case hex digits'),
    ('{"format": "secreview-baseline", "version": 1, "findings": [{"path": "a.py", "rule_id": "SR101", '
     '"rule_name": "shell-injection", "fingerprint": "0123456789abcdef0123456789abcdef", "count": 1, "line": 3}]}',
     '--baseline b.json: findings[0]: unknown key "line"'),
])
def test_bad_baseline_files(project, capsys, content, message):
    if content is not None:
        (project / "b.json").write_text(content)
    assert error(capsys, "--no-config", "--baseline", "b.json", ".") == message


def test_baseline_from_the_configuration(project, capsys):
    main(["baseline", "create", "base.json", "--no-config", "."])
    capsys.readouterr()
    (project / "pyproject.toml").write_text('[tool.secreview]\nbaseline = "base.json"\n')
    assert main(["--format", "json", "."]) == 0
    capsys.readouterr()
