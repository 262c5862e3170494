"""The repository's own pre-commit hook, run with `pre-commit try-repo` on a sample repository.

pre-commit installs the hook repository into a fresh virtual environment (pip installs it and
its dependencies), so this test takes a while; it is marked slow but stays in the default suite.
The hook repository is a copy of this project's packaging files and source committed to a
temporary git repository, so the test never touches this working tree's own git state.
"""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COPIED = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src")


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _env(tmp_path):
    env = dict(os.environ)
    env.update({"HOME": str(tmp_path / "home"), "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Test",
                "GIT_AUTHOR_EMAIL": "test@example.invalid", "GIT_COMMITTER_NAME": "Test",
                "GIT_COMMITTER_EMAIL": "test@example.invalid", "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.slow
def test_pre_commit_try_repo_runs_secreview_on_a_sample_repository(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.fail("git is needed for this test")
    env = _env(tmp_path)
    (tmp_path / "home").mkdir()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    hooks = tmp_path / "hook-repo"
    hooks.mkdir()
    for name in COPIED:
        source = os.path.join(ROOT, name)
        if os.path.isdir(source):
            shutil.copytree(source, hooks / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, hooks / name)
    _git(hooks, "init", "-q", "-b", "main")
    _git(hooks, "add", ".")
    _git(hooks, "commit", "-q", "-m", "hook repository")

    sample = tmp_path / "sample"
    (sample / "vendor").mkdir(parents=True)
    (sample / "app.py").write_text("import os\n\n\ndef run(cmd):\n    os.system(cmd)\n")
    (sample / "util.py").write_text("def add(a, b):\n    return a + b\n")
    (sample / "vendor" / "lib.py").write_text("import os\nos.system(input())\n")
    (sample / "pyproject.toml").write_text('[tool.secreview]\nextend-exclude = ["vendor/"]\n')
    _git(sample, "init", "-q", "-b", "main")
    _git(sample, "add", ".")
    _git(sample, "commit", "-q", "-m", "sample")

    def try_repo():
        return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "secreview",
                               "--all-files", "--color", "never"],
                              cwd=sample, env=env, capture_output=True, text=True, timeout=540)

    proc = try_repo()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "secreview (security review)" in out and "Failed" in out
    assert "app.py:5:5: SR10" in out  # SR101 (a pattern) or SR111 (data flow) on the shell call
    assert "vendor/lib.py" not in out  # the configuration's exclude applies to files passed by name
    assert "util.py:" not in out

    (sample / "app.py").write_text("import subprocess\n\n\ndef run(cmd):\n    subprocess.run(['ls', cmd], check=True)\n")
    _git(sample, "add", ".")
    proc = try_repo()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Passed" in out
