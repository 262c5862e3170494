"""Project-level promises: set-up, README, self-review."""

import os
import shutil
import subprocess

import pytest

from secreview.cli import main
from secreview.rules import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_lists_every_rule_and_the_commands():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    for rule in registry.all_rules():
        assert f"| {rule.id} | {rule.name} | {rule.cwe} |" in readme
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as handle:
        last = [line for line in handle.read().splitlines() if line.strip() and not line.startswith(("#", "set ", "cd "))][-1]
    assert last in readme
    assert "./setup.sh" in readme


def test_secreview_reviews_its_own_source_clean(capsys):
    assert main([os.path.join(ROOT, "src")]) == 0
    assert capsys.readouterr().out.endswith("No security defects are detected in the code\n")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_setup_fails_loudly_without_python_312(tmp_path):
    shutil.copy(os.path.join(ROOT, "setup.sh"), tmp_path / "setup.sh")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    old = fake_bin / "python3"
    old.write_text("#!/bin/sh\nexit 1\n")  # a python3 that is too old
    old.chmod(0o755)
    for tool in ("bash", "dirname", "rm", "cat", "env"):
        found = shutil.which(tool)
        if found:
            (fake_bin / tool).symlink_to(found)
    env = {"PATH": str(fake_bin), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "nopyenv")}
    out = subprocess.run([str(fake_bin / "bash"), str(tmp_path / "setup.sh")], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert out.returncode == 1
    assert "secreview needs Python 3.12 or newer, and none was found" in out.stderr
    assert "pyenv install 3.12" in out.stderr and "SECREVIEW_PYTHON" in out.stderr
    assert not (tmp_path / ".venv").exists()
