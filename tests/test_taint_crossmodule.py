"""Data flow across modules (the global phase), taint spec validation, and traces in reports.

The fixture harness reviews one file at a time, so a flow from a view in one module to a sink in
another only shows in a whole run: these tests run :func:`secreview.engine.run` on a folder.
"""

import json
import os
import textwrap
import time

import pytest

from secreview import discover, engine
from secreview.engine import Options
from secreview.model import Level
from secreview.report import render
from secreview.taint import spec as spec_mod

HELPERS = textwrap.dedent('''\
    """Shell helpers."""
    import subprocess


    def run_command(cmd):
        subprocess.call(cmd, shell=True)


    def ping_command(host):
        return "ping -c 1 " + host
    ''')
SINK_LINE = 6  # subprocess.call(...) in HELPERS
RETURN_LINE = 10  # return "ping -c 1 " + host

VIEWS = textwrap.dedent('''\
    """Views."""
    from flask import Flask, request

    {import_line}

    app = Flask(__name__)


    @app.route("/ping")
    def ping():
        host = request.args["host"]
        run_command(ping_command(host))


    @app.route("/safe")
    def safe():
        run_command(ping_command("localhost"))
    ''')
SOURCE_LINE = 11  # host = request.args["host"]
CALL_LINE = 12  # run_command(ping_command(host))


def _write_project(root, import_line):
    pkg = root / "crossmod"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text(HELPERS)
    (pkg / "views.py").write_text(VIEWS.format(import_line=import_line))
    return pkg


def _review(root, monkeypatch, target="crossmod"):
    monkeypatch.chdir(root)
    return engine.run(discover.discover([target]), Options(jobs=1, test_policy="keep"))


def _flows(review, rule="SR111"):
    return [f for f in review.findings if f.rule_id == rule]


@pytest.mark.parametrize("import_line", [
    "from .helpers import ping_command, run_command",
    "from crossmod.helpers import ping_command, run_command",
])
def test_flow_into_another_module_is_reported_at_the_sink(tmp_path, monkeypatch, import_line):
    _write_project(tmp_path, import_line)
    review = _review(tmp_path, monkeypatch)
    [finding] = _flows(review)
    assert (finding.location.path, finding.location.line) == ("crossmod/helpers.py", SINK_LINE)
    steps = [(s.location.path, s.location.line) for s in finding.trace]
    # the source in the caller, through the helper that builds the command, then the call, then the sink
    assert steps[0] == ("crossmod/views.py", SOURCE_LINE)
    assert ("crossmod/helpers.py", RETURN_LINE) in steps
    assert steps[-2:] == [("crossmod/views.py", CALL_LINE), ("crossmod/helpers.py", SINK_LINE)]
    assert steps == [
        ("crossmod/views.py", SOURCE_LINE),  # request.args
        ("crossmod/views.py", SOURCE_LINE),  # assigned to host
        ("crossmod/views.py", CALL_LINE),  # passed to ping_command()
        ("crossmod/helpers.py", RETURN_LINE),  # returned
        ("crossmod/views.py", CALL_LINE),  # returned by ping_command()
        ("crossmod/views.py", CALL_LINE),  # passed to run_command()
        ("crossmod/helpers.py", SINK_LINE),  # reaches subprocess.call
    ]
    assert "crossmod/views.py:11" in finding.message


def test_module_attribute_call_into_another_module(tmp_path, monkeypatch):
    _write_project(tmp_path, "from crossmod import helpers")
    views = tmp_path / "crossmod" / "views.py"
    views.write_text(views.read_text().replace("run_command(ping_command(", "helpers.run_command(helpers.ping_command("))
    review = _review(tmp_path, monkeypatch)
    [finding] = _flows(review)
    assert (finding.location.path, finding.location.line) == ("crossmod/helpers.py", SINK_LINE)
    assert finding.trace[0].location.path == "crossmod/views.py"
    assert finding.trace[0].location.line == SOURCE_LINE


def test_each_module_alone_reports_no_flow(tmp_path, monkeypatch):
    _write_project(tmp_path, "from .helpers import ping_command, run_command")
    for name in ("helpers.py", "views.py"):
        review = _review(tmp_path, monkeypatch, f"crossmod/{name}")
        assert _flows(review) == []


def test_constant_argument_across_modules_stays_silent(tmp_path, monkeypatch):
    _write_project(tmp_path, "from .helpers import ping_command, run_command")
    views = tmp_path / "crossmod" / "views.py"
    text = views.read_text().replace('host = request.args["host"]', 'host = request.args["host"]\n    host = "localhost"')
    views.write_text(text)
    review = _review(tmp_path, monkeypatch)
    assert _flows(review) == []


# ---- taint specs

def test_unknown_key_in_a_spec_file_names_the_file_and_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nkind = "request"\nwhat = "custom request data"\nnmes = ["myframework.request.args"]\n')
    with pytest.raises(spec_mod.SpecError) as caught:
        spec_mod.load((str(bad),))
    message = str(caught.value)
    assert "bad.toml" in message
    assert "'nmes'" in message


def test_unknown_top_level_table_in_a_spec_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sinks]]\nkind = "shell"\nnames = ["mytool.run"]\n')
    with pytest.raises(spec_mod.SpecError, match=r"bad\.toml.*'sinks'"):
        spec_mod.load((str(bad),))


def test_sink_kind_without_a_flow_rule_is_an_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sink]]\nkind = "smtp"\nnames = ["smtplib.SMTP().sendmail"]\n')
    with pytest.raises(spec_mod.SpecError, match=r"bad\.toml.*'smtp'"):
        spec_mod.load((str(bad),))


def test_extra_spec_file_adds_a_sink(tmp_path, monkeypatch):
    extra = tmp_path / "mytool.toml"
    extra.write_text('[[sink]]\nkind = "shell"\nnames = ["mytool.run_shell"]\nargs = [0]\n')
    app = tmp_path / "app.py"
    app.write_text("import sys\nimport mytool\n\nmytool.run_shell(sys.argv[1])\n")
    monkeypatch.chdir(tmp_path)
    review = engine.run(discover.discover(["app.py"]), Options(jobs=1, taint_specs=[str(extra)]))
    [finding] = _flows(review)
    assert finding.location.line == 4 and finding.trace[0].location.line == 4


# ---- traces in reports

def test_trace_in_json_and_sarif(tmp_path, monkeypatch):
    _write_project(tmp_path, "from .helpers import ping_command, run_command")
    review = _review(tmp_path, monkeypatch)
    lines = [SOURCE_LINE, SOURCE_LINE, CALL_LINE, RETURN_LINE, CALL_LINE, CALL_LINE, SINK_LINE]
    paths = ["crossmod/views.py"] * 3 + ["crossmod/helpers.py"] + ["crossmod/views.py"] * 2 + ["crossmod/helpers.py"]

    data = json.loads(render(review, "json"))
    [flow] = [f for f in data["findings"] if f["rule_id"] == "SR111"]
    assert [s["location"]["line"] for s in flow["trace"]] == lines
    assert [s["location"]["path"] for s in flow["trace"]] == paths
    assert all(s["note"] for s in flow["trace"])
    assert "request.args" in flow["trace"][0]["note"]
    # a pattern finding has an empty trace
    assert all(f["trace"] == [] for f in data["findings"] if f["rule_id"] == "SR101")

    sarif = json.loads(render(review, "sarif"))
    results = sarif["runs"][0]["results"]
    [result] = [r for r in results if r["ruleId"] == "SR111"]
    [code_flow] = result["codeFlows"]
    [thread] = code_flow["threadFlows"]
    locations = [step["location"] for step in thread["locations"]]
    assert [loc["physicalLocation"]["region"]["startLine"] for loc in locations] == lines
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in locations] == paths
    assert all(loc["message"]["text"] for loc in locations)
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "crossmod/helpers.py"
    assert all("codeFlows" not in r for r in results if r["ruleId"] == "SR101")


@pytest.mark.parametrize("entry, message", [
    ('[[flow]]\nsink = "smtp"\nrule = "SR111"\nseverity = "extreme"\n',
     r"bad\.toml: flow #1: key 'severity' must be low, medium or high"),
    ('[[flow]]\nsink = "smtp"\nrule = "SR111"\nconfidence = 3\n',
     r"bad\.toml: flow #1: key 'confidence' must be low, medium or high"),
    ('[[flow]]\nsink = "smtp"\nrule = "SR111"\nimpact = ["x"]\n', r"bad\.toml: flow #1: key 'impact' must be a string"),
    ('[[flow]]\nsink = "smtp"\nrule = "SR111"\nlike = "nothing"\n', r"'smtp' is `like` 'nothing', which has no \[\[flow\]\]"),
    ('[[sink]]\nkind = "shell"\nnames = ["x.run"]\nreceiver = "yes"\n', r"bad\.toml: sink #1: key 'receiver'"),
])
def test_flow_options_and_receiver_sinks_are_validated(tmp_path, entry, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(entry)
    with pytest.raises(spec_mod.SpecError, match=message):
        spec_mod.load((str(bad),))


def test_a_flow_kind_like_another_takes_its_sanitizers_and_its_own_severity(tmp_path, monkeypatch):
    extra = tmp_path / "mail.toml"
    extra.write_text('[[sink]]\nkind = "mail-command"\nnames = ["mailer.send_command"]\nargs = [0]\n\n'
                     '[[flow]]\nsink = "mail-command"\nrule = "SR111"\nseverity = "low"\nlike = "shell"\n')
    app = tmp_path / "app.py"
    app.write_text("import shlex\nimport sys\nimport mailer\n\n"
                   "mailer.send_command(sys.argv[1])\n"
                   "mailer.send_command(shlex.quote(sys.argv[1]))\n")
    monkeypatch.chdir(tmp_path)
    review = engine.run(discover.discover(["app.py"]), Options(jobs=1, taint_specs=[str(extra)]))
    [finding] = _flows(review)  # shlex.quote protects the shell kind, and so this one
    assert (finding.rule_id, finding.location.line, finding.severity) == ("SR111", 5, Level.LOW)


def test_the_cross_module_step_in_worker_processes_gives_the_same_review(tmp_path, monkeypatch):
    from secreview import parallel

    # ten caller modules, each re-analysed in the cross-module step
    pkg = _write_project(tmp_path, "from .helpers import ping_command, run_command")
    for n in range(10):
        (pkg / f"views{n}.py").write_text(VIEWS.format(import_line="from .helpers import ping_command, run_command"))
    monkeypatch.chdir(tmp_path)
    serial = engine.run(discover.discover(["crossmod"]), Options(jobs=1, test_policy="keep"))
    log = tmp_path / "readers.txt"
    real = engine.read_source

    main_pid = os.getpid()

    def logging_reader(*args):
        with open(log, "a") as handle:  # workers are forked: they inherit this patch
            handle.write(f"{os.getpid()}\n")
        if os.getpid() == main_pid:  # this process takes its share of a round too: leave the
            time.sleep(0.02)  # worker time to start and take some, however fast it is here
        return real(*args)

    monkeypatch.setattr(parallel, "MIN_RERUNS_FOR_POOL", 2)
    monkeypatch.setattr(engine, "read_source", logging_reader)
    pooled = engine.run(discover.discover(["crossmod"]), Options(jobs=2, test_policy="keep"))
    assert len(_flows(serial)) == 11  # one per caller module, each at the helper's sink via its own source
    assert pooled.findings == serial.findings
    readers = set(log.read_text().split())
    assert readers - {str(os.getpid())}  # the cross-module step re-read files in worker processes


def test_the_files_that_may_use_a_summary_are_kept_up_to_date_as_records_change():
    # _CallNames.candidates (an index by short name) says what _may_use says of each record
    import random
    from types import SimpleNamespace

    from secreview.taint import run as taint_run

    rng = random.Random(7)
    calls = ["a.run", "b.run", "c.load", "d.fetch", "e.f.get", "get", ".rel.load", "x().read"]

    def record():
        kind = rng.random()
        if kind < 0.15:
            return None
        if kind < 0.25:
            return {}
        return {"calls": sorted(rng.sample(calls, rng.randint(0, 4))),
                "tainted_calls": ["a.run"] if rng.random() < 0.2 else []}

    names = taint_run._CallNames()
    results = [SimpleNamespace(taint=record()) for _ in range(40)]
    for _ in range(30):
        returning = frozenset(rng.sample(["run", "load", "fetch", "get", "read", "nothing"], rng.randint(0, 3)))
        expected = [i for i, r in enumerate(results) if taint_run._may_use(r.taint or {}, returning)]
        assert names.candidates(results, returning) == expected
        for i in rng.sample(range(len(results)), rng.randint(0, 5)):  # some files analysed again
            results[i] = SimpleNamespace(taint=record())
