"""Python 2 files are read leniently: line-preserving rewrites, findings on the right lines, and a
note saying so in every output format. Every snippet here is written for these tests."""

import ast
import json
import os
import textwrap
import time

import jsonschema
import pytest

from secreview import engine
from secreview.cache import dump_result, load_result
from secreview.cli import main
from secreview.model import FileResult, Note, Skipped
from secreview.source import py2
from secreview.source.parse import SourceFile, parse_text

HERE = os.path.dirname(os.path.abspath(__file__))
SARIF_SCHEMA = os.path.join(HERE, "data", "sarif-schema-2.1.0.json")
JSON_SCHEMA = os.path.join(HERE, "..", "src", "secreview", "report", "report.schema.json")


def adapted(source: str) -> SourceFile:
    parsed = parse_text(textwrap.dedent(source), "legacy.py")
    assert isinstance(parsed, SourceFile), parsed
    return parsed


def changed_lines(source: str) -> dict[int, str]:
    """Line number -> adapted text, for the lines the repair changed."""
    source = textwrap.dedent(source)
    parsed = adapted(source)
    before, after = source.splitlines(), parsed.text.splitlines()
    assert len(before) == len(after)  # line-preserving
    return {n: b for n, (a, b) in enumerate(zip(before, after), 1) if a != b}


def findings(source: str, path: str = "legacy.py") -> list[tuple[str, int]]:
    review = engine.review_text(textwrap.dedent(source), path)
    assert not review.skipped, review.skipped
    return [(f.rule_id, f.location.line) for f in review.findings]


# ---------------------------------------------------------------------------- each rewrite


@pytest.mark.parametrize("source, expected, kind", [
    # print statements
    ("print 'total:', count\n", {1: "print('total:', count)"}, "print statement"),
    # (the last lines of these would parse as Python 3 on their own: the first line makes the file Python 2)
    ("print 'header'\nprint\n", {1: "print('header')", 2: "print()"}, "print statement"),
    ("print 'no newline',\n", {1: "print('no newline', end=\" \")"}, "print statement"),
    ("print 'header'\nprint >>log_file, 'a', 'b'\n",
     {1: "print('header')", 2: "print('a', 'b', file=log_file)"}, "print statement"),
    ("print 'header'\nprint >> sys.stderr\n", {1: "print('header')", 2: "print(file=sys.stderr)"},
     "print statement"),
    ("print 'header'\nprint >>out, level,\n", {1: "print('header')", 2: "print(level, end=\" \", file=out)"},
     "print statement"),
    ("print 'header'\nprint ('%s') % name\n", {1: "print('header')", 2: "print(('%s') % name)"},
     "print statement"),
    ("if verbose: print 'on'\nelse: print 'off'; print\n",
     {1: "if verbose: print('on')", 2: "else: print('off'); print()"}, "print statement"),
    ("print 'rows: %d %d' % (first,\n                        last)\n",
     {1: "print('rows: %d %d' % (first,", 2: "                        last))"}, "print statement"),
    ("print 'left', \\\n      'right'\n", {1: "print('left', \\", 2: "      'right')"}, "print statement"),
    # except-comma
    ("try:\n    pass\nexcept KeyError, missing:\n    pass\n", {3: "except KeyError as missing:"}, "except-comma"),
    ("try:\n    pass\nexcept (IOError, OSError), err:\n    pass\n",
     {3: "except (IOError, OSError) as err:"}, "except-comma"),
    # raise-comma
    ("raise ValueError, 'bad port %d' % port\n", {1: "raise ValueError('bad port %d' % port)"}, "raise-comma"),
    ("raise KeyError, name, trace\n", {1: "raise KeyError(name).with_traceback(trace)"}, "raise-comma"),
    # a comma before a backslash continuation is replaced on its own: the line break stays
    ("raise IOError, \\\n      'disk full'\n", {1: "raise IOError( \\", 2: "      'disk full')"}, "raise-comma"),
    ("try:\n    pass\nexcept KeyError, \\\n        key:\n    pass\n", {3: "except KeyError as  \\"},
     "except-comma"),
    # exec statements
    ("exec snippet in scope\n", {1: "exec(snippet, scope)"}, "exec statement"),
    ("exec snippet in globs, locs\n", {1: "exec(snippet, globs, locs)"}, "exec statement"),
    ("exec 'counter += 1'\n", {1: "exec('counter += 1')"}, "exec statement"),
    # token rewrites
    ("label = `port`\n", {1: "label = repr(port)"}, "backtick repr"),
    ("pair = `host, port`\n", {1: "pair = repr((host, port))"}, "backtick repr"),
    ("same = left <> right\n", {1: "same = left != right"}, "<> operator"),
    ("os.chmod(path, 0755)\n", {1: "os.chmod(path, 0o755)"}, "octal literal"),
    ("limit = 4096L\n", {1: "limit = 4096"}, "long suffix"),
    ("mask = 0xFFFFL\n", {1: "mask = 0xFFFF"}, "long suffix"),
    ("index = 7L.__index__()\n", {1: "index = 7 .__index__()"}, "long suffix"),  # `7.` would be a float
    ("pattern = ur'\\d+\\.\\d+'\n", {1: "pattern = r'\\d+\\.\\d+'"}, "ur prefix"),
    ("arrow = ur'\\u2192'\n", {1: "arrow = u'\\u2192'"}, "ur prefix"),
    # in a Python 2 str, \u, \U and \N are plain text; Python 3 rejects them unless well formed
    ("hint = 'escape as \\uXXXX, not \\N'\n", {1: "hint = 'escape as \\\\uXXXX, not \\\\N'"},
     "\\u in byte string"),
    # tabs mixed with spaces (Python 2 counted a tab as up to 8 columns)
    ("if ready:\n\tif fast:\n\t\tgo()\n        stop()\n",
     {2: "        if fast:", 3: "                go()"}, "tabs in indentation"),
])
def test_each_rewrite(source, expected, kind):
    assert changed_lines(source) == expected
    [note] = adapted(source).notes
    assert note.kind == "python2"
    assert f"({kind};" in note.message
    assert note.lines == tuple(sorted(expected))


def test_strings_and_comments_are_never_rewritten():
    source = '''\
    HELP = """
    print usage  `x` <> 0777 10L
    except Foo, e:
    """
    tip = "print x, y  raise E, m"  # print it <> 0777
    print tip
    '''
    assert changed_lines(source) == {6: "print(tip)"}


def test_the_note_counts_the_adapted_lines_and_names_the_kinds():
    source = """\
    import os
    def main(argv):
        print 'starting'
        try:
            os.chmod(argv[1], 0600)
        except OSError, failure:
            print >>log, failure
    """
    [note] = adapted(source).notes
    assert note.message == ("read as Python 2: 4 lines adapted (print statement, except-comma, octal literal; "
                            "lines 3, 5-7) — columns on those lines may be off")
    assert note.lines == (3, 5, 6, 7)


def test_only_escapes_python_3_rejects_are_rewritten_and_never_with_unicode_literals():
    source = r"""
    ok = "caf\u00e9 \N{BULLET} \U0001F600 \\uXXXX"
    bad = "\uXXXX \U12345678 \N{NO SUCH NAME}"
    raw, uni, data = r"\uXXXX", u"\u00e9", b"\uXXXX"
    print ok
    """
    assert changed_lines(source) == {3: r'bad = "\\uXXXX \\U12345678 \\N{NO SUCH NAME}"', 5: "print(ok)"}
    docstring = r'''
    def escape(text):
        """Escape code points as \uXXXX.

        Or by name, as \N{...}.
        """
        print text
    '''
    assert changed_lines(docstring) == {3: r'    """Escape code points as \\uXXXX.', 5: r"    Or by name, as \\N{...}.",
                                        7: "    print(text)"}
    unicode = 'from __future__ import unicode_literals\nname = "caf\\u00e9"\nprint name\n'
    assert changed_lines(unicode) == {3: "print(name)"}


def test_python_3_code_gets_no_note_and_print_calls_are_left_alone():
    source = "from __future__ import print_function\nprint('a', file=out)\nmode = 0644\n"
    assert changed_lines(source) == {3: "mode = 0o644"}
    assert parse_text("print('fine')\n", "new.py").notes == ()


# ---------------------------------------------------------------------------- findings on the right lines


def test_shell_injection_in_a_python_2_module_is_on_its_line():
    source = """\
    import subprocess

    def restart(service):
        print "restarting", service
        try:
            cmd = "service %s restart" % service
            print >>log, cmd,
        except Exception, e:
            print "cannot build the command:", e
            return
        subprocess.call(cmd, shell=True)
    """
    assert findings(source) == [("SR101", 11)]


def test_yaml_load_after_an_except_comma_block_is_on_its_line():
    source = """\
    import yaml

    def read_settings(text):
        try:
            size = len(text)
        except TypeError, e:
            print 'not text:', `e`
            return {}
        settings = yaml.load(text)
        return settings
    """
    assert findings(source) == [("SR202", 9)]


def test_findings_on_an_adapted_line_and_after_multi_line_statements():
    source = """\
    import os

    def handle(request):
        code = request.args["c"]
        print 'request %s from %s' % (code,
                                      request.remote_addr)
        exec code in {}
        os.system("ls " + code)
    """
    result = findings(source)
    assert ("SR112", 7) in result  # data flow into the adapted exec statement
    assert ("SR111", 8) in result
    review = engine.review_text(textwrap.dedent(source), "legacy.py")
    flow = next(f for f in review.findings if f.rule_id == "SR111")
    assert [step.location.line for step in flow.trace][0] == 4


def test_the_adapted_text_is_never_executed(tmp_path, monkeypatch, capsys):
    marker = tmp_path / "ran"
    (tmp_path / "boom.py").write_text(textwrap.dedent(f"""\
        print "side effect"
        open({str(marker)!r}, "w").write("executed")
        raise SystemExit, 3
        """))
    monkeypatch.chdir(tmp_path)
    main(["--no-cache", "--exit-zero", "--format", "json", "boom.py"])
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["files_reviewed"] == 1
    assert not marker.exists()


# ---------------------------------------------------------------------------- the note in every format


LEGACY = """\
import subprocess


def run(cmd):
    print "running", cmd
    try:
        subprocess.call(cmd, shell=True)
    except OSError, e:
        print >>sys.stderr, "failed: %s" % e
"""
NOTE = ("read as Python 2: 3 lines adapted (print statement, except-comma; lines 5, 8-9) — "
        "columns on those lines may be off")


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "legacy.py").write_text(LEGACY)
    (tmp_path / "modern.py").write_text("def f():\n    return 1\n")
    return tmp_path


def render(capsys, fmt, *paths):
    main(["--no-cache", "--exit-zero", "--format", fmt, *(paths or (".",))])
    return capsys.readouterr().out


def test_note_in_the_text_report(legacy, capsys):
    out = render(capsys, "text")
    lines = out.splitlines()
    assert lines[0].startswith("legacy.py:7:9: SR101")
    assert lines[1] == f"legacy.py: note: {NOTE}"
    assert lines[2] == "Reviewed 2 files: 1 finding (1 high, 0 medium, 0 low)."


def test_note_in_the_json_report(legacy, capsys):
    report = json.loads(render(capsys, "json"))
    with open(JSON_SCHEMA, encoding="utf-8") as handle:
        jsonschema.validate(report, json.load(handle))
    assert report["schema_version"] == "1.2"
    assert report["notes"] == [{"path": "legacy.py", "kind": "python2", "message": NOTE, "lines": [5, 8, 9]}]
    assert report["summary"]["files_reviewed"] == 2 and report["summary"]["files_skipped"] == 0
    assert [(f["rule_id"], f["location"]["line"]) for f in report["findings"]] == [("SR101", 7)]


def test_note_in_sarif(legacy, capsys):
    (legacy / "broken.py").write_text("def f(:\n")
    sarif = json.loads(render(capsys, "sarif"))
    with open(SARIF_SCHEMA, encoding="utf-8") as handle:
        jsonschema.validate(sarif, json.load(handle))
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["warning", "note"]  # the skipped file, then the note
    note = notes[1]
    assert note["message"]["text"] == f"legacy.py: {NOTE}"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "legacy.py"
    assert note["descriptor"]["id"] == "read-as-python2"
    assert note["properties"]["lines"] == [5, 8, 9]
    [result] = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 7


@pytest.mark.parametrize("fmt", ["review", "markdown"])
def test_note_in_the_written_review(legacy, capsys, fmt):
    out = render(capsys, fmt, "legacy.py")
    sentence = NOTE[0].upper() + NOTE[1:] + "."
    assert sentence in out
    assert "line 7" in out and "SR101" in out
    assert out.index(sentence) < out.index("Defect 1")


def test_note_in_github_annotations_and_review_comments(legacy, capsys):
    assert f"::notice file=legacy.py,title=secreview note::{NOTE}" in render(capsys, "github")
    body = json.loads(render(capsys, "review-json"))["github"]["body"]
    assert f"- `legacy.py`: {NOTE}" in body


def test_a_clean_python_2_file_keeps_the_clean_verdict(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.py").write_text("def greet(name):\n    print 'hello', name\n")
    assert main(["--no-cache", "old.py"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "old.py: note: read as Python 2: 1 line adapted (print statement; line 2) — "
        "columns on those lines may be off",
        "Reviewed 1 file.",
        "No security defects are detected in the code",
    ]


# ---------------------------------------------------------------------------- still skipped


def test_python_2_that_cannot_be_adapted_is_skipped_with_the_original_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # tuple parameters are Python 2, but not one of the rewrites
    (tmp_path / "old.py").write_text("print 'x'\n\ndef area((w, h)):\n    return w * h\n")
    assert main(["--no-cache", "--format", "json", "old.py"]) == 0
    report = json.loads(capsys.readouterr().out)
    [skipped] = report["skipped"]
    assert skipped["line"] == 1
    assert skipped["reason"].startswith("syntax error at line 1, column 1: Missing parentheses in call to 'print'")
    assert "this looks like Python 2 code" in skipped["reason"]
    assert "stopped at line 3" in skipped["reason"]
    assert report["notes"] == [] and report["summary"]["files_skipped"] == 1


def test_a_plain_syntax_error_is_not_called_python_2():
    skipped = parse_text("def f(:\n    pass\n", "bad.py")
    assert isinstance(skipped, Skipped)
    assert skipped.reason == "syntax error at line 1, column 7: invalid syntax"


# ---------------------------------------------------------------------------- bounds


def test_the_repair_is_bounded_by_attempts():
    # every line needs its own attempt (print statements after the print_function import are
    # only rewritten where the parser stops): 5,000 lines give up after 200 attempts
    text = "from __future__ import print_function\n" + "print 'x'\n" * 5000
    started = time.monotonic()
    skipped = parse_text(text, "many.py")
    assert time.monotonic() - started < 10
    assert isinstance(skipped, Skipped)
    assert skipped.reason.endswith("(this looks like Python 2 code; reading it leniently as Python 2 gave up "
                                   "after 200 attempts)")
    short = parse_text("from __future__ import print_function\n" + "print 'x'\n" * 20, "few.py")
    assert isinstance(short, SourceFile) and short.notes[0].lines == tuple(range(2, 22))


def test_a_pathological_file_of_broken_statements_finishes_quickly_and_is_skipped():
    lines = []
    for i in range(1250):
        lines += [f"print >>out, `v{i}` <> 0{i % 7 + 1}L,", f"except E, e: raise X, m, t, u",
                  f"exec in in in", f"x = [print {i}"]
    text = "\n".join(lines) + "\n"
    assert text.count("\n") == 5000
    started = time.monotonic()
    skipped = parse_text(text, "junk.py")
    assert time.monotonic() - started < 10
    assert isinstance(skipped, Skipped)
    assert "looks like Python 2 code" in skipped.reason


def test_the_repair_is_bounded_by_time():
    # after the whole-file pass the parser still stops on line 2: that retry is out of time
    text = "from __future__ import print_function\nprint 'a'\n"
    with pytest.raises(SyntaxError) as caught:
        ast.parse(text)
    error = caught.value
    outcome = py2.adapt(text, error, max_seconds=0)
    assert outcome.tree is None and outcome.failure == "gave up after 0 seconds"


# ---------------------------------------------------------------------------- cache


def test_the_note_survives_the_cache_round_trip():
    note = Note("legacy.py", NOTE, "python2", (5, 8, 9))
    result = FileResult("legacy.py", lines=9, notes=(note,))
    text = dump_result(result)
    assert text is not None
    back = load_result(text)
    assert back == result and type(back.notes[0]) is Note and type(back.notes[0].lines) is tuple


def test_a_cached_python_2_file_keeps_its_note(legacy, capsys, parses):
    seen = parses
    args = ["--format", "json", "-j", "1", "--cache-dir", str(legacy / "cache"), "legacy.py"]
    main(args)
    first = capsys.readouterr().out
    assert seen == ["legacy.py"]
    main(args)
    second = capsys.readouterr().out
    assert seen == ["legacy.py"]  # the second run came from the cache
    assert first == second
    assert json.loads(second)["notes"][0]["message"] == NOTE


def test_a_defect_in_the_repair_costs_only_that_file(monkeypatch):
    def broken(text, error):
        raise TypeError("simulated defect")

    monkeypatch.setattr(py2, "adapt", broken)
    skipped = parse_text("print 'x'\n", "old.py")
    assert isinstance(skipped, Skipped)
    assert skipped.reason.startswith("syntax error at line 1, column 1: Missing parentheses")
    assert skipped.reason.endswith("failed with an internal error (TypeError: simulated defect))")
