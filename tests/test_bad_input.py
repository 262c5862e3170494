"""Bad input never stops the run and is never dropped silently: each becomes a skipped entry."""

import json
import os

import pytest

from secreview.cli import main


def run_json(args, capsys):
    code = main(["--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def skipped_reasons(report):
    return {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in report["skipped"]}


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.py").write_text("import os\n\ndef f(x):\n    os.system(x)\n")
    return tmp_path


def test_each_kind_of_bad_file_is_reported_and_the_run_goes_on(tree, capsys):
    (tree / "syntax.py").write_text("def f(:\n    pass\n")
    (tree / "latin.py").write_bytes(b"name = '\xe9t\xe9'\n")
    (tree / "nul.py").write_bytes(b"x = 1\x00\n")
    # Python 2 that cannot be read leniently either: tuple parameters are not among the rewrites
    (tree / "py2.py").write_text("print 'hello'\ndef unpack(a, (b, c)):\n    pass\n")
    (tree / "big.py").write_bytes(b"x = 1\n" * (2 * 1024 * 1024))  # 12 MB
    (tree / "deep.py").write_text("x = " + "[" * 300 + "]" * 300 + "\n")
    os.symlink("loop_b.py", tree / "loop_a.py")
    os.symlink("loop_a.py", tree / "loop_b.py")
    (tree / "badcookie.py").write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    code, report = run_json(["--max-file-size", "10M", "."], capsys)
    reasons = skipped_reasons(report)
    assert code == 1  # good.py still reviewed and flagged
    assert [f["location"]["path"] for f in report["findings"]] == ["good.py"]
    assert reasons["syntax.py"].startswith("syntax error at line 1, column 7")
    assert reasons["latin.py"] == "cannot decode as utf-8: invalid byte 0xe9 at offset 8"
    assert reasons["nul.py"] == "file contains null bytes (binary data, not Python source)"
    assert reasons["py2.py"].startswith("syntax error at line 1, column 1: Missing parentheses in call to 'print'")
    assert "looks like Python 2 code" in reasons["py2.py"]
    assert "line 2" in reasons["py2.py"]  # where reading it as Python 2 stopped
    assert reasons["big.py"] == "file is larger than the 10 MB limit (--max-file-size)"
    assert "too deeply nested" in reasons["deep.py"]
    assert reasons["loop_a.py"] == "cannot read: symbolic link loop"
    assert reasons["loop_b.py"] == "cannot read: symbolic link loop"
    assert reasons["badcookie.py"].startswith("cannot decode:")
    assert report["summary"]["files_skipped"] == 9
    assert report["summary"]["files_reviewed"] == 1


def test_skipped_files_appear_in_text_and_sarif(tree, capsys):
    (tree / "syntax.py").write_text("def f(:\n")
    assert main(["--exit-zero", "syntax.py"]) == 0
    text = capsys.readouterr().out
    assert "syntax.py:1: skipped: syntax error at line 1" in text
    assert "could not be reviewed" in text and "No security defects are detected" not in text
    main(["--format", "sarif", "syntax.py"])
    sarif = json.loads(capsys.readouterr().out)
    [note] = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "syntax.py"
    assert "skipped: syntax error" in note["message"]["text"]


@pytest.mark.parametrize("route", ["no cache", "empty cache"])
def test_a_file_that_vanishes_is_skipped(tree, monkeypatch, capsys, route):
    # Without a cache the engine reads the file; into an empty cache it is read once for its key
    # and its review (secreview.parallel.analyse_one). It vanishes just before either read.
    import secreview.engine as engine
    import secreview.parallel as parallel

    real_read_source, real_read_for_key = engine.read_source, parallel._read_for_key

    def read_source(path, display, limit):
        if display == "gone.py":
            os.unlink(path)
        return real_read_source(path, display, limit)

    def read_for_key(target, limit):
        if target.display == "gone.py":
            os.unlink(target.real_path)
        return real_read_for_key(target, limit)

    (tree / "gone.py").write_text("x = 1\n")
    if route == "no cache":
        monkeypatch.setattr(engine, "read_source", read_source)
        where = ["--no-cache"]
    else:
        monkeypatch.setattr(parallel, "_read_for_key", read_for_key)
        where = ["--cache-dir", str(tree / "empty-cache")]
    code, report = run_json([*where, "."], capsys)
    assert skipped_reasons(report)["gone.py"] == "file vanished before it could be read"


def test_unreadable_file(tree, capsys):
    if os.geteuid() == 0:
        # root reads anything; use a folder passed as a file instead
        (tree / "dir.py").mkdir()
        code, report = run_json(["dir.py", "good.py"], capsys)
        assert report["summary"]["files_reviewed"] == 1
        return
    (tree / "secret.py").write_text("x = 1\n")
    os.chmod(tree / "secret.py", 0)
    code, report = run_json(["secret.py"], capsys)
    assert skipped_reasons(report)["secret.py"].startswith("cannot read:")


def test_deeply_nested_expression_chain_in_a_rule(tree, capsys):
    # 2000 concatenations: the parser copes; rules that follow the chain must not crash
    (tree / "chain.py").write_text("import os\ncmd = 'a'" + " + x" * 2000 + "\nos.system(cmd)\n")
    code, report = run_json(["chain.py"], capsys)
    assert code in (0, 1)
    for s in report["skipped"]:
        assert s["reason"].startswith(("partly reviewed", "too deeply nested"))


def test_stdin_segment(capsys, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"import pickle\npickle.loads(data)\n")))
    code = main(["--format", "json", "--stdin-filename", "snippet.py", "-"])
    report = json.loads(capsys.readouterr().out)
    assert [(f["location"]["path"], f["location"]["line"]) for f in report["findings"]] in ([("snippet.py", 2)], [])
    assert code in (0, 1)


def test_an_indented_segment_is_reviewed_with_true_columns(capsys, monkeypatch):
    import io
    import sys

    segment = b"    def run(self, name):\n        os.system('make ' + name)\n\n        return 1\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(segment)))
    assert main(["--format", "json", "-"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["location"]["line"], finding["location"]["column"]) == (2, 9)


def test_inconsistently_indented_segment_is_still_a_syntax_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seg.py").write_text("    x = 1\n  y = 2\n")
    code, report = run_json(["seg.py"], capsys)
    assert report["skipped"][0]["reason"].startswith("syntax error at line 1")
