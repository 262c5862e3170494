"""Hostile files through the whole pipeline and every output format: no crash, no hang, every
reported line inside its file, every bad file a skipped entry with a reason, the same bytes twice."""

import json
import os

import pytest

from secreview import parallel
from secreview.cli import main
from secreview.report import FORMATS

HOSTILE = {
    "long_line.py": lambda: ("import os\nx = '" + "a" * 1_000_000 + "'\nos.system('ls ' + x)\n").encode(),
    "brackets.py": lambda: ("x = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
    "blocks.py": lambda: "".join(" " * i + "if x:\n" for i in range(5000)).encode() + b" " * 5000 + b"pass\n",
    "parens_call.py": lambda: ("import os\nos.system(" + "(" * 3000 + "x" + ")" * 3000 + ")\n").encode(),
    "bom.py": lambda: b"\xef\xbb\xbfimport os\nos.system('ls ' + name)\n",
    "crlf_ff.py": lambda: b"import os\r\n\x0c\r\ndef f(x):\r\n\x0c    os.system('ls ' + x)\r\n",
    "bad_utf8.py": lambda: b"x = '\xff\xfe'\n",
    "nul.py": lambda: b"import os\x00\n",
    "binary.py": lambda: bytes(range(256)) * 64,
    "big.py": lambda: ("s = '" + "a" * 1000 + "'\n").encode() * 10_500,  # over 10 MB of code
    "empty.py": lambda: b"",
    "only_comment.py": lambda: b"# nothing here\n",
    "deep_expr.py": lambda: ("x = " + "-" * 20000 + "1\n").encode(),
    "many_defs.py": lambda: "".join(f"def f{i}(a):\n    return f{i - 1}(a)\n" for i in range(1, 3000)).encode(),
}


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "h"
    folder.mkdir()
    for name, make in HOSTILE.items():
        (folder / name).write_bytes(make())
    os.symlink("loop2.py", folder / "loop1.py")
    os.symlink("loop1.py", folder / "loop2.py")
    return tmp_path


def _lines(path):
    with open(path, "rb") as handle:
        return handle.read().count(b"\n") + 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_hostile_files_never_crash_and_lines_stay_inside_files(hostile, capsys, monkeypatch, jobs):
    monkeypatch.setattr(parallel, "MIN_FILES_FOR_POOL", 2)
    monkeypatch.setattr(parallel, "MIN_BYTES_FOR_POOL", 0)
    code = main(["--no-cache", "--format", "json", "-j", jobs, "--max-file-size", "20M", "--file-timeout", "60", "h"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    for finding in report["findings"]:
        location = finding["location"]
        assert 1 <= location["line"] <= location["end_line"] <= _lines(location["path"])
        assert location["column"] >= 1 and location["end_column"] >= 1
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert skipped["h/bad_utf8.py"] == "cannot decode as utf-8: invalid byte 0xff at offset 5"
    assert skipped["h/nul.py"] == skipped["h/binary.py"] == "file contains null bytes (binary data, not Python source)"
    assert skipped["h/loop1.py"] == skipped["h/loop2.py"] == "cannot read: symbolic link loop"
    assert "too deeply nested" in skipped["h/brackets.py"]
    assert "too deeply nested" in skipped["h/blocks.py"] or "indentation" in skipped["h/blocks.py"]
    found = {(f["location"]["path"], f["location"]["line"], f["rule_id"]) for f in report["findings"]}
    assert ("h/bom.py", 2, "SR101") in found  # the BOM is not part of the code
    assert ("h/crlf_ff.py", 4, "SR101") in found  # CRLF and form feeds count lines as Python does
    assert ("h/long_line.py", 3, "SR101") in found
    reviewed = report["summary"]["files_reviewed"]
    assert reviewed + report["summary"]["files_skipped"] == len(HOSTILE) + 2


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f in ("text", "json", "sarif")])
def test_hostile_files_give_the_same_bytes_twice_in_every_format(hostile, capsys, fmt):
    outputs = set()
    for _ in range(2):
        main(["--no-cache", "--format", fmt, "-j", "1", "--max-file-size", "20M", "h"])
        outputs.add(capsys.readouterr().out)
    assert len(outputs) == 1


def test_a_file_that_cannot_be_read_is_skipped(hostile, capsys):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    (hostile / "h" / "locked.py").write_text("x = 1\n")
    os.chmod(hostile / "h" / "locked.py", 0)
    main(["--no-cache", "--format", "json", "h/locked.py"])
    report = json.loads(capsys.readouterr().out)
    assert report["skipped"][0]["reason"] == "cannot read: Permission denied"


def test_a_file_that_is_a_fifo_is_not_a_hang(hostile, capsys):
    os.mkfifo(hostile / "h" / "pipe.py")
    code = main(["--no-cache", "--format", "json", "-j", "1", "--file-timeout", "2", "h/pipe.py", "h/bom.py"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [s["path"] for s in report["skipped"]] == ["h/pipe.py"]
