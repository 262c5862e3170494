"""Outputs for code-review systems: SARIF additions, GitHub annotations, GitLab code quality,
review-json restricted to the diff, and `secreview post` against a local HTTP server."""

import base64
import http.server
import json
import os
import threading
from dataclasses import replace

import jsonschema
import pytest

from secreview.cli import main
from secreview.engine import review_text
from secreview.report import render
from secreview.report.github import _data, _prop

HERE = os.path.dirname(os.path.abspath(__file__))
SARIF_SCHEMA = os.path.join(HERE, "data", "sarif-schema-2.1.0.json")

FLOW = '''\
import os


def handler(request):
    name = request.args.get("name", "")
    label = name.strip()
    os.system("ls " + label)
    os.popen("uptime")
'''


def sarif_schema():
    with open(SARIF_SCHEMA, encoding="utf-8") as handle:
        return json.load(handle)


def test_sarif_with_suppression_findings_validates_and_describes_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text("import os\nx = 1  # nosec B602\nos.system(x)  # secreview: ignore[SR101]\n")
    code = main(["--no-config", "--format", "sarif", "--report-unused-suppressions",
                 "--require-suppression-reason", "m.py"])
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, sarif_schema())
    run = sarif["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"SR001", "SR002"} <= set(rules)
    assert rules["SR001"]["name"] == "unused-suppression"
    assert rules["SR001"]["properties"]["tags"] == ["security", "external/cwe/cwe-710"]
    assert "## Why it is dangerous" in rules["SR002"]["help"]["markdown"]
    assert code == 1 and "startTimeUtc" not in run["invocations"][0]


def test_sarif_timing_only_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text(FLOW)
    outputs = []
    for _ in range(2):
        main(["--no-config", "--format", "sarif", "m.py"])
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]  # byte-identical without timing
    main(["--no-config", "--format", "sarif", "--sarif-timing", "m.py"])
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, sarif_schema())
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["startTimeUtc"] <= invocation["endTimeUtc"]
    assert invocation["startTimeUtc"].endswith("Z") and len(invocation["startTimeUtc"]) == 27


def test_github_annotations_escape_everything_the_runner_reads():
    assert _data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert _prop("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    review = review_text("import os\ndef f(x):\n    os.system(x)\n", path="odd,name:1.py", select=["SR101"])
    out = render(review, "github")
    assert out.splitlines()[0].startswith("::error file=odd%2Cname%3A1.py,line=3,col=5,endLine=3,endColumn=17,"
                                          "title=SR101 shell-injection (CWE-78%2C high severity)::")
    assert out.splitlines()[-1] == "secreview: 1 finding (1 high, 0 medium, 0 low) in 1 file"
    clean = render(review_text("x = 1\n"), "github")
    assert clean == "secreview: No security defects are detected in the code (1 file)\n"


def test_review_json_comments_only_on_lines_inside_the_diff():
    review = review_text(FLOW, path="app.py")
    by_line = {f.location.line: f for f in review.findings}
    assert {7, 8} <= set(by_line)
    # the change touched line 6 (a step of the flow into line 7) and nothing near line 8
    diffed = replace(review, findings=(by_line[7], by_line[8]), changed_lines={"app.py": frozenset({6})})
    data = json.loads(render(diffed, "review-json"))
    assert data["summary"]["diff"] is True
    flow = by_line[7]
    if flow.trace:  # a data-flow finding: commented on the changed line its trace passes through
        assert [(c["path"], c["line"], c["side"]) for c in data["github"]["comments"]] == [("app.py", 6, "RIGHT")]
        comment = data["github"]["comments"][0]["body"]
        assert comment.startswith(f"**{flow.rule_id} {flow.rule_name} (CWE-78, ")
        assert "Reported at `app.py:7`; this line of the change is part of it." in comment
        assert data["gerrit"]["comments"] == {"app.py": [{"line": 6, "message": data["gerrit"]["comments"]["app.py"][0]["message"]}]}
        outside = [by_line[8]]
    else:
        assert data["github"]["comments"] == []
        outside = [by_line[7], by_line[8]]
    assert (data["summary"]["commented"], data["summary"]["not_commented"]) == (2 - len(outside), len(outside))
    body = data["github"]["body"]
    assert "Findings that no line of the diff can carry a comment for:" in body
    assert f"- `app.py:8` {by_line[8].rule_id} {by_line[8].rule_name}" in body
    # a changed flagged line carries a Gerrit range over the flagged expression
    diffed = replace(review, findings=(by_line[8],), changed_lines={"app.py": frozenset({8})})
    gerrit = json.loads(render(diffed, "review-json"))["gerrit"]
    loc = by_line[8].location
    assert gerrit["comments"]["app.py"][0]["range"] == {"start_line": 8, "start_character": loc.col,
                                                       "end_line": 8, "end_character": loc.end_col}
    assert gerrit["tag"] == "autogenerated:secreview"


def test_gitlab_code_quality_fingerprints_are_unique():
    review = review_text("import os\ndef f(x):\n    os.system(x)\n    os.system(x)\n", path="a.py", select=["SR101"])
    issues = json.loads(render(review, "gitlab"))
    assert [(i["severity"], i["location"]["lines"]["begin"]) for i in issues] == [("critical", 3), ("critical", 4)]
    assert len({i["fingerprint"] for i in issues}) == 2


# ------------------------------------------------------------------------------------- posting


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list = []
    answer = (200, b'{"id": 1}', {})

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        type(self).requests.append((self.path, dict(self.headers), body))
        status, payload, headers = type(self).answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.requests = []
    Recorder.answer = (200, b'{"id": 1}', {})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


TOKEN = "ghp_secretTOKEN1234567890"


@pytest.fixture
def review_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text("import os\ndef f(x):\n    os.system(x)\n")
    main(["--no-config", "--format", "review-json", "-o", "review.json", "m.py"])
    capsys.readouterr()
    for name in ("GITHUB_TOKEN", "SECREVIEW_GITHUB_TOKEN", "SECREVIEW_GITHUB_URL", "GITHUB_REPOSITORY",
                 "GITHUB_REF", "SECREVIEW_PR_NUMBER", "GITHUB_API_URL", "SECREVIEW_COMMIT_SHA"):
        monkeypatch.delenv(name, raising=False)
    with open("review.json", encoding="utf-8") as handle:
        return json.load(handle)


def test_post_github_sends_the_review_with_the_token_and_never_prints_it(server, review_file, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", server)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/project")
    monkeypatch.setenv("GITHUB_REF", "refs/pull/42/merge")
    assert main(["post", "github", "review.json"]) == 0
    out, err = capsys.readouterr()
    assert err == f"secreview: posted a review with 1 comment to {server}/repos/octo/project/pulls/42/reviews\n"
    assert TOKEN not in out + err
    [(path, headers, body)] = Recorder.requests
    assert path == "/repos/octo/project/pulls/42/reviews"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == review_file["github"]


def test_post_gerrit_uses_basic_auth_and_the_review_input(server, review_file, monkeypatch, capsys):
    url = f"{server}/a/changes/myproject~1234/revisions/current/review"
    monkeypatch.setenv("SECREVIEW_GERRIT_URL", url)
    monkeypatch.setenv("SECREVIEW_GERRIT_USER", "bot")
    monkeypatch.setenv("SECREVIEW_GERRIT_TOKEN", TOKEN)
    assert main(["post", "gerrit", "review.json"]) == 0
    [(path, headers, body)] = Recorder.requests
    assert path == "/a/changes/myproject~1234/revisions/current/review"
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"bot:{TOKEN}".encode()).decode()
    assert json.loads(body) == review_file["gerrit"]
    assert TOKEN not in "".join(capsys.readouterr())


def test_post_errors_never_show_the_token(server, review_file, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("SECREVIEW_GITHUB_URL", f"{server}/reviews")
    Recorder.answer = (401, json.dumps({"message": f"Bad credentials: {TOKEN}"}).encode(), {})
    assert main(["post", "github", "review.json"]) == 2
    err = capsys.readouterr().err
    assert err == f"secreview: error: post github: {server}/reviews answered HTTP 401 Unauthorized: Bad credentials: ***\n"
    # a redirect is not followed, so the token cannot travel to another host
    Recorder.requests.clear()
    Recorder.answer = (302, b"", {"Location": "http://127.0.0.2:9/steal"})
    assert main(["post", "github", "review.json"]) == 2
    assert "answered HTTP 302" in capsys.readouterr().err and len(Recorder.requests) == 1


@pytest.mark.parametrize("env, args, message", [
    ({}, ["github", "review.json"], "post: set SECREVIEW_GITHUB_TOKEN or GITHUB_TOKEN in the environment"),
    ({"GITHUB_TOKEN": TOKEN}, ["github", "review.json"], "post: set GITHUB_REPOSITORY in the environment"),
    ({"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "o/r"}, ["github", "review.json"],
     "post: set SECREVIEW_PR_NUMBER (or run on a pull_request event, where GITHUB_REF is refs/pull/N/merge)"),
    ({"GITHUB_TOKEN": TOKEN, "SECREVIEW_GITHUB_URL": "http://example.invalid/x"}, ["github", "review.json"],
     "post: SECREVIEW_GITHUB_URL must use https:// (a token is never sent over plain http except to this machine)"),
    ({"GITHUB_TOKEN": TOKEN, "SECREVIEW_GITHUB_URL": "https://u:p@example.invalid/x"}, ["github", "review.json"],
     "post: SECREVIEW_GITHUB_URL must not hold credentials; put them in the token variables"),
    ({"SECREVIEW_GERRIT_URL": "https://g.invalid/r"}, ["gerrit", "review.json"],
     "post: set SECREVIEW_GERRIT_USER in the environment"),
    ({}, ["gitea", "review.json"], "'post' takes a target and a file: 'secreview post github|gerrit REVIEW_JSON'"),
    ({}, ["github", "--force", "review.json"], "post: unknown option --force (see 'secreview post --help')"),
    ({}, ["github", "missing.json"], "post: missing.json: no such file"),
])
def test_post_errors(review_file, monkeypatch, capsys, env, args, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["post", *args]) == 2
    assert capsys.readouterr().err == f"secreview: error: {message}\n"


def test_post_refuses_other_json_and_skips_an_empty_review(review_file, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("SECREVIEW_GITHUB_URL", "https://example.invalid/reviews")
    (tmp_path / "other.json").write_text("[]")
    assert main(["post", "github", "other.json"]) == 2
    assert capsys.readouterr().err == "secreview: error: post: other.json: not a review made with --format review-json\n"
    (tmp_path / "clean.py").write_text("x = 1\n")
    main(["--no-config", "--format", "review-json", "-o", "clean.json", "clean.py"])
    assert main(["post", "github", "clean.json"]) == 0  # nothing is sent: no request at all
    assert capsys.readouterr().err == "secreview: nothing to post to github: the review has no findings\n"
    assert main(["post", "github", "review.json", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("POST https://example.invalid/reviews\n") and TOKEN not in out
