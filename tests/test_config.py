"""[tool.secreview] in pyproject.toml: discovery, every key, command-line overrides, errors."""

import json
import os

import pytest

from secreview import config
from secreview.cli import build_parser, main

VULN = "import os\nimport hashlib\n\n\ndef run(cmd, data):\n    os.system(cmd)\n    return hashlib.md5(data)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "app.py").write_text(VULN)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(VULN)
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.py").write_text(VULN)
    return tmp_path


def pyproject(folder, body):
    (folder / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.secreview]\n" + body)


def found(capsys, *args):
    code = main(["--format", "json", *args])
    out = capsys.readouterr().out
    return code, [(f["location"]["path"], f["location"]["line"], f["rule_id"]) for f in json.loads(out)["findings"]]


def error(capsys, *args):
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("secreview: error: "), err
    return err.strip().removeprefix("secreview: error: ")


def test_select_ignore_and_cli_overrides(project, capsys):
    pyproject(project, 'select = ["SR1"]\n')
    assert {r for _, _, r in found(capsys, "src")[1]} == {"SR101"}
    assert {r for _, _, r in found(capsys, "--select", "SR301", "src")[1]} == {"SR301"}  # the command line wins
    pyproject(project, 'ignore = ["weak-hash"]\n')
    assert {r for _, _, r in found(capsys, "src")[1]} == {"SR101"}
    assert {r for _, _, r in found(capsys, "--ignore", "SR101", "src")[1]} == {"SR301"}


def test_discovered_upward_from_the_first_target(project, capsys, monkeypatch):
    pyproject(project, 'select = ["SR301"]\n')
    (project / "src" / "pyproject.toml").write_text("[project]\nname = 'inner'\n")  # no table: passed over
    monkeypatch.chdir(project / "src" / "pkg")
    assert found(capsys, "app.py") == (1, [("app.py", 7, "SR301")])
    assert found(capsys, "--no-config", "app.py")[1] == [("app.py", 6, "SR101"), ("app.py", 7, "SR301")]


def test_exclude_and_extend_exclude_apply_to_explicit_files_relative_to_the_config(project, capsys, monkeypatch):
    pyproject(project, 'exclude = ["legacy/"]\nextend-exclude = ["tests/"]\nselect = ["SR101"]\n')
    assert [p for p, _, _ in found(capsys, ".")[1]] == ["src/pkg/app.py"]
    # files passed one by one, as pre-commit does, are excluded too
    assert found(capsys, "legacy/old.py", "tests/test_app.py") == (0, [])
    # from a subfolder, the patterns still read relative to the configuration file
    monkeypatch.chdir(project / "legacy")
    assert found(capsys, "old.py") == (0, [])
    monkeypatch.chdir(project)
    # --exclude replaces 'exclude' but never 'extend-exclude'
    assert [p for p, _, _ in found(capsys, "--exclude", "src/", ".")[1]] == ["legacy/old.py"]


def test_per_file_ignores(project, capsys):
    pyproject(project, '[tool.secreview.per-file-ignores]\n"tests/**" = ["SR101", "weak-hash"]\n"src/pkg/*.py" = ["SR3"]\n')
    assert found(capsys, ".")[1] == [("legacy/old.py", 6, "SR101"), ("legacy/old.py", 7, "SR301"),
                                     ("src/pkg/app.py", 6, "SR101")]


def test_severity_and_confidence_floors(project, capsys):
    (project / "src" / "pkg" / "app.py").write_text("import os\nos.system('uptime')\n")  # a constant command: low
    pyproject(project, 'min-severity = "medium"\n')
    assert found(capsys, "src") == (0, [])
    assert found(capsys, "--min-severity", "low", "src")[0] == 1
    pyproject(project, 'min-confidence = "HIGH"\n')
    assert found(capsys, "src") == (0, [])


def test_options_from_the_file(project):
    (project / "specs").mkdir()
    (project / "specs" / "extra.toml").write_text("")
    pyproject(project, 'test-policy = "drop"\ntaint-specs = ["specs/extra.toml"]\nmax-file-size = "1K"\n'
                       'require-suppression-reason = true\nreport-unused-suppressions = true\n'
                       'baseline = "base.json"\n')
    args = build_parser().parse_args(["src"])
    settings = config.settle(args)
    assert (args.max_file_size, args.baseline) == (1024, os.path.join(str(project), "base.json"))
    from secreview.engine import Options

    options = settings.complete(Options(), args)
    assert options.taint_specs == [os.path.join(str(project), "specs/extra.toml")]
    assert (options.filters.require_reason, options.filters.report_unused) == (True, True)
    if hasattr(options, "test_policy"):
        assert options.test_policy == "drop"
    args = build_parser().parse_args(["--max-file-size", "2K", "src"])
    config.settle(args)
    assert args.max_file_size == 2048


@pytest.mark.parametrize("body, message", [
    ('selct = ["SR1"]\n', "[tool.secreview]: unknown key 'selct' (did you mean 'select'?)"),
    ('colour = true\n', "[tool.secreview]: unknown key 'colour' (known keys: select, ignore, per-file-ignores, "
                        "exclude, extend-exclude, min-severity, min-confidence, test-policy, taint-specs, baseline, "
                        "require-suppression-reason, report-unused-suppressions, max-file-size)"),
    ('select = "SR1"\n', "[tool.secreview]: 'select' must be an array of strings, not a string"),
    ('ignore = ["SR1", 3]\n', "[tool.secreview]: 'ignore' must be an array of strings, not an array with an integer"),
    ('select = ["SR999"]\n', "[tool.secreview]: 'select': unknown rule 'SR999' (see 'secreview rules' for the list)"),
    ('exclude = "build/"\n', "[tool.secreview]: 'exclude' must be an array of strings, not a string"),
    ('extend-exclude = [1]\n', "[tool.secreview]: 'extend-exclude' must be an array of strings, not an array with an integer"),
    ('min-severity = 3\n', "[tool.secreview]: 'min-severity' must be a string (low, medium or high), not an integer"),
    ('min-confidence = "sure"\n', "[tool.secreview]: 'min-confidence': unknown level 'sure' (choose low, medium or high)"),
    ('test-policy = "ignore"\n', "[tool.secreview]: 'test-policy' must be one of lower, drop, keep, not 'ignore'"),
    ('test-policy = false\n', "[tool.secreview]: 'test-policy' must be one of lower, drop, keep, not a boolean"),
    ('taint-specs = ["missing.toml"]\n', "[tool.secreview]: 'taint-specs': no such file: missing.toml"),
    ('taint-specs = "a.toml"\n', "[tool.secreview]: 'taint-specs' must be an array of strings, not a string"),
    ('baseline = 1\n', "[tool.secreview]: 'baseline' must be a file name (a string), not an integer"),
    ('require-suppression-reason = "yes"\n', "[tool.secreview]: 'require-suppression-reason' must be true or false, not a string"),
    ('report-unused-suppressions = 1\n', "[tool.secreview]: 'report-unused-suppressions' must be true or false, not an integer"),
    ('max-file-size = "big"\n', "[tool.secreview]: 'max-file-size': not a size: 'big' (use bytes, or a number with K, M or G)"),
    ('max-file-size = -1\n', "[tool.secreview]: 'max-file-size' must not be negative"),
    ('max-file-size = 1.5\n', "[tool.secreview]: 'max-file-size' must be a size (bytes, or a string such as \"5M\"), not a number"),
    ('per-file-ignores = ["x"]\n', "[tool.secreview]: 'per-file-ignores' must be a table of pattern = [rules], not an array"),
    ('per-file-ignores = {"tests/*" = "SR1"}\n', "[tool.secreview]: 'per-file-ignores': 'tests/*' must be an array of strings, not a string"),
    ('per-file-ignores = {"tests/*" = ["nope"]}\n', "[tool.secreview]: 'per-file-ignores': 'tests/*': unknown rule 'nope' (see 'secreview rules' for the list)"),
])
def test_every_bad_key_is_an_error_naming_the_key_and_the_file(project, capsys, body, message):
    pyproject(project, body)
    assert error(capsys, "src") == f"{project / 'pyproject.toml'}: {message}"


def test_file_level_errors(project, capsys):
    (project / "pyproject.toml").write_text("[tool.secreview]\nselect = [\n")
    assert error(capsys, "src").startswith(f"cannot parse {project / 'pyproject.toml'}: ")
    (project / "pyproject.toml").write_text("[tool]\nsecreview = 3\n")
    assert error(capsys, "src") == f"{project / 'pyproject.toml'}: [tool.secreview] must be a table, not an integer"
    (project / "pyproject.toml").write_bytes(b"[tool.secreview]\nselect = ['\xff']\n")
    assert error(capsys, "src") == f"cannot read {project / 'pyproject.toml'}: not UTF-8 text (byte 0xff at offset 28)"
    assert error(capsys, "--config", "missing.toml", "src") == "--config missing.toml: no such file"
    assert error(capsys, "--config", "src", "src") == "--config src: is a folder, not a file"
    (project / "other").mkdir()
    (project / "other" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert error(capsys, "--config", "other/pyproject.toml", "src") == "other/pyproject.toml: has no [tool.secreview] table"
    assert error(capsys, "--config", "other/pyproject.toml", "--no-config", "src") == \
        "--config and --no-config cannot be used together"


def test_explicit_config_file_with_top_level_keys(project, capsys):
    (project / "secreview.toml").write_text('select = ["SR301"]\n')
    assert found(capsys, "--config", "secreview.toml", "src") == (1, [("src/pkg/app.py", 7, "SR301")])
    (project / "secreview.toml").write_text('unknown = 1\n')
    assert error(capsys, "--config", "secreview.toml", "src") == \
        "secreview.toml: top level: unknown key 'unknown' (known keys: select, ignore, per-file-ignores, exclude, " \
        "extend-exclude, min-severity, min-confidence, test-policy, taint-specs, baseline, require-suppression-reason, " \
        "report-unused-suppressions, max-file-size)"
