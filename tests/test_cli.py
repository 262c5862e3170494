"""The command line: targets, options, exit codes, errors, subcommands."""

import json
import os
import subprocess
import sys

import pytest

from secreview import __version__
from secreview.cli import main

VULN = "import os\n\ndef f(x):\n    os.system('ls ' + x)\n    os.system('uptime')\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "app.py").write_text(VULN)
    (tmp_path / "pkg" / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    for skipped_dir in (".git", ".venv", "build", "__pycache__", "node_modules", "dist", ".tox"):
        (tmp_path / skipped_dir).mkdir()
        (tmp_path / skipped_dir / "bad.py").write_text(VULN)
    (tmp_path / "customenv").mkdir()
    (tmp_path / "customenv" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "customenv" / "bad.py").write_text(VULN)
    (tmp_path / "notes.txt").write_text("os.system(x)\n")
    return tmp_path


def findings(capsys, *args):
    code = main(["--format", "json", *args])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["location"]["path"], f["location"]["line"], f["rule_id"]) for f in report["findings"]]


def test_a_package_named_venv_is_reviewed_but_a_virtual_environment_is_not(project, capsys):
    (project / "lib" / "venv").mkdir(parents=True)
    (project / "lib" / "venv" / "__init__.py").write_text(VULN)
    (project / "env").mkdir()
    (project / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (project / "env" / "bad.py").write_text(VULN)
    code, found = findings(capsys, ".")
    paths = {path for path, _, _ in found}
    assert "lib/venv/__init__.py" in paths and "env/bad.py" not in paths


def test_a_conda_environment_is_skipped_and_a_named_environment_is_walked(project, capsys):
    # conda's mark is a folder; a pyvenv.cfg that is a dangling link marks nothing; an
    # environment named as the target itself is reviewed (the user asked for it)
    (project / "conda" / "conda-meta").mkdir(parents=True)
    (project / "conda" / "bad.py").write_text(VULN)
    (project / "linked").mkdir()
    (project / "linked" / "pyvenv.cfg").symlink_to(project / "nowhere.cfg")
    (project / "linked" / "bad.py").write_text(VULN)
    paths = {path for path, _, _ in findings(capsys, ".")[1]}
    assert paths == {"pkg/app.py", "linked/bad.py"}
    assert {path for path, _, _ in findings(capsys, "customenv")[1]} == {"customenv/bad.py"}


def test_walks_folders_and_skips_vcs_venv_build_and_cache(project, capsys):
    code, found = findings(capsys, ".")
    assert code == 1
    assert found == [("pkg/app.py", 4, "SR101"), ("pkg/app.py", 5, "SR101")]


def test_exclude_applies_to_folders_and_to_explicit_files(project, capsys):
    assert findings(capsys, "--exclude", "pkg/", ".") == (0, [])
    assert findings(capsys, "--exclude", "app.py", "pkg/app.py") == (0, [])
    assert findings(capsys, "--exclude", "*.py", "pkg/app.py") == (0, [])
    assert findings(capsys, "--exclude", "other.py", "pkg/app.py")[0] == 1


def test_explicit_file_is_reviewed_whatever_its_extension(project, capsys):
    (project / "script").write_text(VULN)
    assert findings(capsys, "script")[1][0] == ("script", 4, "SR101")


def test_thresholds_and_exit_zero(project, capsys):
    assert findings(capsys, "--min-severity", "high", ".") == (1, [("pkg/app.py", 4, "SR101")])
    assert findings(capsys, "--min-confidence", "HIGH", "pkg")[1] == [("pkg/app.py", 4, "SR101")]
    assert findings(capsys, "--min-severity", "high", "--select", "SR103", ".") == (0, [])
    assert main(["--exit-zero", "."]) == 0


def test_select_and_ignore_by_id_name_and_family(project, capsys):
    assert findings(capsys, "--select", "shell-injection", ".")[0] == 1
    assert findings(capsys, "--ignore", "SR101", ".") == (0, [])
    assert findings(capsys, "--select", "SR1", "--ignore", "sr101,SR102", ".") == (0, [])


def test_output_file(project, capsys):
    assert main(["--format", "sarif", "--output", "out.sarif", "."]) == 1
    assert capsys.readouterr().out == ""
    data = json.loads((project / "out.sarif").read_text())
    assert data["version"] == "2.1.0"


@pytest.mark.parametrize("args, message", [
    (["--format", "xml", "."], "argument --format: invalid choice: 'xml'"),
    (["--min-severity", "urgent", "."], "unknown level 'urgent' (choose low, medium or high)"),
    (["--select", "SR999", "."], "unknown rule 'SR999'"),
    (["--ignore", "no-such-rule", "."], "unknown rule 'no-such-rule'"),
    (["missing_dir"], "no such file or folder: missing_dir"),
    ([], "no PATH given"),
    (["--max-file-size", "lots", "."], "not a size: 'lots'"),
    (["--output", "/nonexistent/dir/x.json", "."], "cannot write --output /nonexistent/dir/x.json"),
    (["--bogus", "."], "unrecognized arguments: --bogus"),
    (["explain"], "'explain' takes exactly one rule id or name"),
    (["explain", "SR000"], "unknown rule 'SR000'"),
    (["rules", "extra"], "'rules' takes no arguments"),
])
def test_errors_are_one_line_and_exit_2(project, capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("secreview: error: ")
    assert message in err


def test_rules_and_explain(capsys):
    assert main(["rules"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:3] == ["SR101", "shell-injection", "CWE-78"]
    assert main(["explain", "shell-injection"]) == 0
    doc = capsys.readouterr().out
    assert doc.startswith("SR101 shell-injection\nCWE-78: Improper Neutralization of Special Elements used in an OS Command")
    assert "Category (CWE-1000 pillar): CWE-707 Improper Neutralization" in doc
    for section in ("## What it finds", "## Why it is dangerous", "## Example", "## Safe alternative", "## References"):
        assert section in doc


def test_version_and_help_via_console_script():
    exe = os.path.join(os.path.dirname(sys.executable), "secreview")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, f"secreview {__version__}")
    helptext = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
    for option in ("--format", "--output", "--select", "--ignore", "--min-severity", "--min-confidence",
                   "--exit-zero", "--version", "--exclude", "secreview rules", "secreview explain"):
        assert option in helptext


def test_stdin_through_the_console_script(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "secreview")
    out = subprocess.run([exe, "-"], input=VULN, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].startswith("<stdin>:4:5: SR101 [high/high] CWE-78 shell-injection: ")
    clean = subprocess.run([exe, "-"], input="x = 1\n", capture_output=True, text=True, cwd=tmp_path)
    assert (clean.returncode, clean.stdout) == (0, "Reviewed 1 file.\nNo security defects are detected in the code\n")


def test_module_entry_flushes_a_large_report_before_its_quick_exit(tmp_path, capsys, monkeypatch):
    # `python -m secreview` ends with os._exit (cli.console): everything written must still arrive
    monkeypatch.chdir(tmp_path)
    (tmp_path / "many.py").write_text("import os\n\ndef f(x):\n" + "    os.system('ls ' + x)\n" * 400)
    assert main(["--format", "json", "many.py"]) == 1
    expected = capsys.readouterr().out
    out = subprocess.run([sys.executable, "-m", "secreview", "--format", "json", "many.py"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1
    assert len(json.loads(out.stdout)["findings"]) == 400
    assert out.stdout == expected


def test_output_is_deterministic(project, capsys):
    outputs = set()
    for _ in range(3):
        main(["--format", "sarif", "."])
        outputs.add(capsys.readouterr().out)
    assert len(outputs) == 1
