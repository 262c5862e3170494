"""Suppression comments: where they apply, Bandit's nosec, reasons, unused suppressions."""

import json

import pytest

from secreview.cli import main
from secreview.suppress import extract, parse

HEADER = "import os\nimport subprocess\n\n\ndef run(cmd, cursor, name):\n"


def findings(tmp_path, monkeypatch, capsys, body, *args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text(HEADER + body)
    code = main(["--format", "json", "--no-config", "--select", "SR1,SR301", *args, "m.py"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["location"]["line"], f["rule_id"]) for f in report["findings"]]


@pytest.mark.parametrize("body", [
    # on the flagged line, by id, by name, in a list, after another tool's comment
    "    os.system(cmd)  # secreview: ignore[SR101] cmd is a fixed admin command\n",
    "    os.system(cmd)  # secreview: ignore[shell-injection] cmd is a fixed admin command\n",
    "    os.system(cmd)  # secreview: ignore[SR301, SR101] fixed command\n",
    "    os.system(cmd)  # noqa: S605  # secreview: ignore[SR101] fixed command\n",
    "    os.system(cmd)  # secreview: ignore  every rule, with a reason\n",
    # on any line of a multi-line statement
    "    subprocess.call(  # secreview: ignore[SR101] first line\n        cmd,\n        shell=True,\n    )\n",
    "    subprocess.call(\n        cmd,  # secreview: ignore[SR101] middle line\n        shell=True,\n    )\n",
    "    subprocess.call(\n        cmd,\n        shell=True,\n    )  # secreview: ignore[SR101] closing line\n",
    # on the line that closes a multi-line string, after the closing triple quote
    '    cursor.execute("""\n        SELECT * FROM t WHERE name = \'%s\'\n    """ % name)  # secreview: ignore[SR104] name is an enum value\n',
    # Bandit's forms, for migration
    "    os.system(cmd)  # nosec\n",
    "    subprocess.call(cmd, shell=True)  # nosec B602\n",
    "    subprocess.call(cmd, shell=True)  # nosec: B602, B607 -- fixed command\n",
    "    os.system(cmd)  # nosec SR101\n",
])
def test_a_suppression_silences_the_finding(tmp_path, monkeypatch, capsys, body):
    assert findings(tmp_path, monkeypatch, capsys, body) == (0, [])
    unsuppressed = "\n".join(line.split("#")[0].rstrip() if "secreview" in line or "nosec" in line else line
                             for line in body.splitlines()) + "\n"
    code, found = findings(tmp_path, monkeypatch, capsys, unsuppressed)
    assert code == 1 and len(found) == 1


@pytest.mark.parametrize("body", [
    "    os.system(cmd)  # secreview: ignore[SR301] another rule\n",  # names another rule
    "    # secreview: ignore[SR101] the line above the statement does not count\n    os.system(cmd)\n",
    "    os.system(cmd)\n    x = 1  # secreview: ignore[SR101] the next statement does not count\n",
    "    os.system(cmd)  # nosec B303\n",  # a Bandit id for another weakness
    "    os.system(cmd)  # nosec B404\n",  # a Bandit id without an equivalent
    "    os.system('# secreview: ignore[SR101] in a string' + cmd)\n",  # not a comment
])
def test_a_suppression_elsewhere_or_for_another_rule_does_not(tmp_path, monkeypatch, capsys, body):
    code, found = findings(tmp_path, monkeypatch, capsys, body)
    assert code == 1 and [rule for _, rule in found] == ["SR101"]


def test_only_the_statement_is_covered_not_the_block(tmp_path, monkeypatch, capsys):
    body = ("    if cmd:  # secreview: ignore[SR101] a header comment covers the header only\n"
            "        os.system(cmd)\n")
    assert findings(tmp_path, monkeypatch, capsys, body) == (1, [(7, "SR101")])


def test_required_reason(tmp_path, monkeypatch, capsys):
    body = ("    os.system(cmd)  # secreview: ignore[SR101]\n"
            "    os.popen(cmd)  # secreview: ignore[SR101] fixed command\n"
            "    subprocess.call(cmd, shell=True)  # nosec B602\n")
    assert findings(tmp_path, monkeypatch, capsys, body) == (0, [])
    code, found = findings(tmp_path, monkeypatch, capsys, body, "--require-suppression-reason")
    assert (code, found) == (1, [(6, "SR101"), (6, "SR002"), (8, "SR101"), (8, "SR002")])
    main(["--no-config", "--require-suppression-reason", "--select", "SR1", "m.py"])
    out = capsys.readouterr().out
    assert ("m.py:6:21: SR002 [low/high] CWE-710 suppression-without-reason: The suppression "
            "`# secreview: ignore[SR101]` gives no reason, and this run requires one") in out


def test_unused_suppressions_are_reported_when_asked(tmp_path, monkeypatch, capsys):
    body = ("    x = cmd.strip()  # secreview: ignore[SR101] nothing here\n"
            "    os.system(cmd)  # secreview: ignore[SR101, SR301] one of two is used\n"
            "    y = 2  # nosec B404\n"
            "    z = 3  # secreview: ignore[no-such-rule] typo\n"
            "    w = 4  # nosec\n")
    assert findings(tmp_path, monkeypatch, capsys, body) == (0, [])
    code, found = findings(tmp_path, monkeypatch, capsys, body, "--report-unused-suppressions")
    assert (code, found) == (1, [(6, "SR001"), (7, "SR001"), (8, "SR001"), (9, "SR001")])
    main(["--no-config", "--report-unused-suppressions", "--select", "SR1,SR301", "--format", "json", "m.py"])
    messages = [f["message"].split(" on this statement")[0] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert messages == [
        "The suppression `# secreview: ignore[SR101] nothing here` silences nothing for SR101",
        "The suppression `# secreview: ignore[SR101, SR301] one of two is used` silences nothing for SR301",
        "The suppression `# nosec B404` silences nothing for B404 (has no secreview equivalent)",
        "The suppression `# secreview: ignore[no-such-rule] typo` silences nothing for no-such-rule "
        "(names no secreview rule)",
    ]
    # a blanket '# nosec' is judged only when every rule ran: with --select it is not reported,
    # and a rule that did not run is never called unused
    main(["--no-config", "--report-unused-suppressions", "--select", "SR1", "--format", "json", "m.py"])
    found = [(f["location"]["line"], f["rule_id"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    assert found == [(6, "SR001"), (8, "SR001"), (9, "SR001")]


def test_suppressions_are_read_only_from_files_that_mention_them():
    assert extract("import os\nos.system(x)  # a comment\n") == ()
    text = "x = 1  # nosec B602 reason\ny = '# secreview: ignore[SR1]'\nz = 2  # secreview: ignore[SR101]\n"
    assert extract(text) == ((1, 7, 26, " nosec B602 reason".strip()), (3, 7, 33, "secreview: ignore[SR101]"))
    [nosec, ours] = parse(extract(text))
    assert (nosec.kind, nosec.codes, nosec.reason) == ("nosec", ("B602",), "reason")
    assert (ours.kind, ours.codes, ours.reason) == ("secreview", ("SR101",), "")


def test_suppressions_work_for_standard_input(monkeypatch, capsys):
    import io
    import sys

    data = b"import os\ndef f(x):\n    os.system(x)  # secreview: ignore[SR101] reviewed\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["--no-config", "-"]) == 0


def _extract_by_tokenizing(text):
    """extract without the whole-text test (every file with "secreview:" or "nosec" tokenized)."""
    from secreview import suppress
    from secreview.source.comments import comments

    if not suppress.may_hold_suppressions(text):
        return ()
    lines = text.splitlines()
    found = []
    for line, comment in sorted(comments(text).items()):
        if not (suppress._SECREVIEW.search(comment) or suppress._NOSEC.search(comment)):
            continue
        source = lines[line - 1] if 0 < line <= len(lines) else ""
        at = source.rfind(comment) if comment else -1
        col = max(source.rfind("#", 0, at) if at >= 0 else source.rfind("#"), 0)
        found.append((line, col, max(len(source.rstrip()), col + 1), comment))
    return tuple(found)


@pytest.mark.parametrize("text", [
    "t = 5  # nanoseconds\n", "nanoseconds = 1\n", "x = 'nosec'\n", "x = 'secreview: ignore'\n",
    "x = 1  # nosec\n", "x = 1  #nosec B602\r\n", "x = 1  # pre-nosec\n", "x = 1  # nosecurity\n",
    "x = 1  # nosec\ty = 2\n", "x = 'secreview:'\ny = 2  # SECREVIEW: Ignore[SR101] because\n",
    "x = 1  # secreview: ignore\x0c\n", "x = 1  # secreview: ignore[SR101]\ry = 2  # nosec\r",
    "x = 1  # secreview:\n#   ignore\n", "s = '''\n# nosec\n'''\n", "x = 1  # nosec: B404\u00a0\n",
])
def test_the_whole_text_test_drops_no_suppression(text):
    # extract tokenizes only a text that the comment patterns match as a whole (MULTILINE)
    assert extract(text) == _extract_by_tokenizing(text)
