"""Whole rendered outputs against checked-in expected files, and schema validation.

Regenerate the expected files after an intended change with
``SECREVIEW_UPDATE_EXPECTED=1 ./run-tests.sh tests/test_reports.py`` and review the diff.
"""

import json
import os

import jsonschema
import pytest

from secreview.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "fixtures", "report_sample")
EXPECTED = os.path.join(HERE, "expected")
SARIF_SCHEMA = os.path.join(HERE, "data", "sarif-schema-2.1.0.json")
JSON_SCHEMA = os.path.join(HERE, "..", "src", "secreview", "report", "report.schema.json")


def render(capsys, monkeypatch, *args, cwd=SAMPLE):
    monkeypatch.chdir(cwd)
    code = main(list(args))
    return code, capsys.readouterr().out


def compare(name, text):
    path = os.path.join(EXPECTED, name)
    if os.environ.get("SECREVIEW_UPDATE_EXPECTED"):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(path, encoding="utf-8") as handle:
        assert text == handle.read()


@pytest.mark.parametrize("fmt, suffix", [("text", "txt"), ("json", "json"), ("sarif", "sarif"),
                                         ("github", "github.txt"), ("gitlab", "gitlab.json"),
                                         ("review-json", "review.json")])
def test_whole_output(capsys, monkeypatch, fmt, suffix):
    code, out = render(capsys, monkeypatch, "--format", fmt, ".")
    assert code == 1
    compare(f"report_sample.{suffix}", out)


def test_clean_verdict(capsys, monkeypatch):
    code, out = render(capsys, monkeypatch, "clean.py")
    assert (code, out) == (0, "Reviewed 1 file.\nNo security defects are detected in the code\n")


def test_json_report_matches_its_schema(capsys, monkeypatch):
    _, out = render(capsys, monkeypatch, "--format", "json", ".")
    with open(JSON_SCHEMA, encoding="utf-8") as handle:
        jsonschema.validate(json.loads(out), json.load(handle))


def test_sarif_validates_against_the_official_schema_for_every_fixture(capsys, monkeypatch):
    with open(SARIF_SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    _, out = render(capsys, monkeypatch, "--format", "sarif", ".", cwd=os.path.join(HERE, "fixtures"))
    sarif = json.loads(out)
    jsonschema.validate(sarif, schema)
    run = sarif["runs"][0]
    assert len(run["results"]) > 20
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({r["ruleId"] for r in run["results"]})
    for rule in rules:
        assert f"external/cwe/cwe-{rule['properties']['cwe']}" in rule["properties"]["tags"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["region"]["startColumn"] >= 1
        assert len(result["partialFingerprints"]["secreview/v1"]) == 32


def test_fingerprints_ignore_line_numbers(tmp_path, capsys, monkeypatch):
    body = "import os\n\ndef f(x):\n    os.system('ls ' + x)\n"
    (tmp_path / "a.py").write_text(body)
    _, first = render(capsys, monkeypatch, "--format", "json", "a.py", cwd=tmp_path)
    (tmp_path / "a.py").write_text("# a new comment\n\n\n" + body)
    _, second = render(capsys, monkeypatch, "--format", "json", "a.py", cwd=tmp_path)
    [f1], [f2] = json.loads(first)["findings"], json.loads(second)["findings"]
    assert f1["location"]["line"] + 3 == f2["location"]["line"]
    assert f1["fingerprint"] == f2["fingerprint"]
    (tmp_path / "a.py").write_text(body + "    os.system('ls ' + x)\n")
    _, third = render(capsys, monkeypatch, "--format", "json", "a.py", cwd=tmp_path)
    prints = [f["fingerprint"] for f in json.loads(third)["findings"]]
    assert prints[0] == f1["fingerprint"] and prints[1] != prints[0]


def test_columns_count_characters_not_bytes(tmp_path, capsys, monkeypatch):
    (tmp_path / "u.py").write_text("import os\nétiquette = 1; os.system('x' + étiquette)\n")
    _, out = render(capsys, monkeypatch, "--format", "json", "u.py", cwd=tmp_path)
    [finding] = json.loads(out)["findings"]
    assert (finding["location"]["column"], finding["location"]["end_column"]) == (16, 42)
