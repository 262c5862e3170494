"""Parallel analysis, the per-file time budget, worker failures, --profile and the progress bar."""

import ast
import io
import json
import os
import re
import subprocess
import sys
import time

import pytest

from secreview import engine, parallel, perf
from secreview.cli import main
from secreview.discover import discover
from secreview.perf import Progress, RunStats, progress_wanted
from secreview.rules.base import FileContext
from secreview.source.index import Index
from secreview.source.parse import parse_text

SNIPPETS = [
    "import os\n\ndef f(x):\n    os.system('ls ' + x)\n",
    "import pickle\n\ndef g(blob):\n    return pickle.loads(blob)\n",
    "import hashlib\n\ndigest = hashlib.md5(b'x').hexdigest()\n",
    "import yaml\n\ndef h(text):\n    return yaml.load(text)\n",
    "def clean(a, b):\n    return a + b\n",
    "import requests\n\ndef get(url):\n    return requests.get(url, verify=False)\n",
    "def broken(:\n",
]


@pytest.fixture
def many(tmp_path, monkeypatch):
    """A tree of 42 files of every kind (findings, clean, skipped), and the pool forced on."""
    monkeypatch.chdir(tmp_path)
    for i in range(42):
        folder = tmp_path / "pkg" / f"m{i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:02d}.py").write_text(f"# file {i}\n" + SNIPPETS[i % len(SNIPPETS)] * (1 + i % 3))
    monkeypatch.setattr(parallel, "MIN_FILES_FOR_POOL", 2)
    monkeypatch.setattr(parallel, "MIN_BYTES_FOR_POOL", 0)
    return tmp_path


def run(capsys, *args):
    code = main(["--no-cache", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_output_is_identical_for_any_number_of_processes(many, capsys, fmt):
    outputs = {run(capsys, "--format", fmt, "-j", str(jobs), "pkg")[:2] for jobs in (1, 2, 3)}
    assert len(outputs) == 1
    code, out = outputs.pop()
    assert code == 1 and out


def test_the_pool_is_really_used_and_small_runs_stay_in_process(many, capsys, monkeypatch):
    _, _, err = run(capsys, "--profile", "-j", "2", "pkg")
    assert "42 analysed (2 worker processes, -j 2)" in err
    monkeypatch.setattr(parallel, "MIN_FILES_FOR_POOL", 24)
    monkeypatch.setattr(parallel, "MIN_BYTES_FOR_POOL", 512 * 1024)
    _, _, err = run(capsys, "--profile", "-j", "2", "pkg")  # 42 small files: not worth a pool
    assert "42 analysed (in one process, -j 2)" in err


def _slow_on(name, seconds=30):
    real = engine.review_target

    def review_target(target, ruleset, options, data=None):
        if target.display.endswith(name):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:  # busy Python code, as a pathological rule would be
                sum(range(1000))
        return real(target, ruleset, options, data)

    return review_target


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_over_the_time_budget_becomes_a_skipped_entry(many, capsys, monkeypatch, jobs):
    monkeypatch.setattr(engine, "review_target", _slow_on("f07.py"))
    start = time.monotonic()
    code, out, _ = run(capsys, "--format", "json", "-j", jobs, "--file-timeout", "0.5", "pkg")
    assert time.monotonic() - start < 20
    report = json.loads(out)
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert skipped["pkg/m2/f07.py"] == "analysis stopped after 0.5 s (over the per-file time budget, --file-timeout)"
    assert report["summary"]["files_skipped"] == 7  # the six syntax errors and the slow file
    assert report["summary"]["files_reviewed"] == 35


def test_a_timed_out_file_is_not_cached(many, capsys, monkeypatch):
    monkeypatch.setattr(engine, "review_target", _slow_on("f07.py", seconds=3))
    cache = str(many / "cache")
    main(["--format", "json", "-j", "1", "--cache-dir", cache, "--file-timeout", "0.3", "pkg"])
    first = json.loads(capsys.readouterr().out)
    assert "pkg/m2/f07.py" in {s["path"] for s in first["skipped"]}
    main(["--format", "json", "-j", "1", "--cache-dir", cache, "--file-timeout", "0", "pkg"])
    second = json.loads(capsys.readouterr().out)
    assert "pkg/m2/f07.py" not in {s["path"] for s in second["skipped"]}  # analysed again, in full


def test_the_time_budget_restores_the_previous_alarm_handler(many, capsys, monkeypatch):
    import signal

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        run(capsys, "-j", "1", "--file-timeout", "5", "pkg")
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_worker_that_dies_costs_only_its_file(many, capsys, monkeypatch):
    real = engine.review_target
    parent = os.getpid()

    def review_target(target, ruleset, options, data=None):
        if target.display.endswith("f11.py") and os.getpid() != parent:
            os._exit(3)  # as if the kernel had killed the worker
        return real(target, ruleset, options, data)

    monkeypatch.setattr(engine, "review_target", review_target)
    code, out, _ = run(capsys, "--format", "json", "-j", "2", "pkg")
    report = json.loads(out)
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert skipped["pkg/m1/f11.py"] == "the process analysing this file died (killed, or out of memory)"
    assert report["summary"]["files_reviewed"] == 35
    expected = run(capsys, "--format", "json", "-j", "1", "pkg")[1]
    assert [f for f in report["findings"]] == [f for f in json.loads(expected)["findings"]
                                                 if f["location"]["path"] != "pkg/m1/f11.py"]


def test_profile_lists_phases_files_and_rules(many, capsys):
    code, out, err = run(capsys, "--profile", "-j", "1", "pkg")
    lines = err.splitlines()
    assert lines[0] == "secreview profile: 42 files: 42 analysed (in one process, -j 1), 0 from the cache"
    assert lines[1] == "phase                               seconds"
    steps = lines.index("per-file steps (summed over files) seconds")
    assert [line.split()[0] for line in lines[2:steps]] == ["discover", "per-file", "global", "triage", "report",
                                                            "total"]
    files = lines.index("slowest files                       seconds")
    names = sorted(line[2:34].strip() for line in lines[steps + 1:files])
    assert names == ["context policy", "data flow (per file)", "index", "read and parse", "rules"]
    files = lines.index("slowest files                       seconds")
    rules = lines.index("slowest rules                       seconds    calls")
    assert rules - files - 1 == 10  # the ten slowest files
    for line in lines[files + 1:rules]:
        assert re.fullmatch(r"  +\d+\.\d{3}  pkg/m\d/f\d\d\.py", line)
    assert 1 <= len(lines) - rules - 1 <= 10
    for line in lines[rules + 1:]:
        assert re.fullmatch(r"  SR\d{3} [a-z0-9-]+ +\d+\.\d{3} +\d+", line)
    assert "per-file analysis" in err and out  # the report itself still goes to standard output


def test_profile_with_workers_collects_rule_times_from_them(many, capsys):
    _, _, err = run(capsys, "--profile", "-j", "2", "pkg")
    rules = err.splitlines()[err.splitlines().index("slowest rules                       seconds    calls") + 1:]
    calls = sum(int(line.split()[-1]) for line in rules)
    assert calls > 0


def test_no_progress_and_no_stderr_when_not_a_terminal(many, capsys):
    code, out, err = run(capsys, "-j", "1", "pkg")
    assert err == ""
    assert "\r" not in out


@pytest.mark.parametrize("argv, message", [
    (["-j", "-1", "x"], "argument -j/--jobs: must be 0 (one per core) or more, got -1"),
    (["-j", "many", "x"], "argument -j/--jobs: not a number of processes: 'many'"),
    (["--file-timeout", "soon", "x"], "argument --file-timeout: not a number of seconds: 'soon'"),
    (["--file-timeout", "-2", "x"], "argument --file-timeout: must be 0 (no limit) or a positive number of seconds, got '-2'"),
    (["--file-timeout", "nan", "x"], "argument --file-timeout: must be 0 (no limit) or a positive number of seconds, got 'nan'"),
])
def test_bad_speed_options_are_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err == f"secreview: error: {message}\n"


# ---------------------------------------------------------------------------- the progress bar


class Tty(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_progress_is_wanted_only_on_a_terminal_without_quiet(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    assert progress_wanted(Tty(), quiet=False) is True
    assert progress_wanted(Tty(), quiet=True) is False
    assert progress_wanted(io.StringIO(), quiet=False) is False
    monkeypatch.setenv("TERM", "dumb")
    assert progress_wanted(Tty(), quiet=False) is False


def test_progress_appears_after_a_second_and_is_erased():
    stream, clock = Tty(), Clock()
    bar = Progress(200, stream, clock=clock, width=80)
    bar.advance(1, "a.py")
    clock.now += 0.5
    bar.advance(1, "b.py")
    assert stream.getvalue() == ""  # a short run never shows a bar
    clock.now += 0.625
    bar.advance(98, "pkg/c.py")
    assert stream.getvalue() == "\rsecreview [############------------] 100/200 files  50%   1.1 s  pkg/c.py\x1b[K"
    clock.now += 0.0625
    bar.advance(1, "d.py")  # at most ten redraws a second
    assert stream.getvalue().count("\r") == 1
    clock.now += 0.25
    bar.advance(99, "e.py")
    assert stream.getvalue().endswith("\rsecreview [########################] 200/200 files 100%   1.4 s  e.py\x1b[K")
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_disabled_writes_nothing():
    stream, clock = Tty(), Clock()
    bar = Progress(10, stream, enabled=False, clock=clock)
    clock.now += 5
    bar.advance(10, "x.py")
    bar.close()
    assert stream.getvalue() == ""


def test_progress_shortens_long_paths_to_the_terminal_width():
    stream, clock = Tty(), Clock()
    bar = Progress(10, stream, clock=clock, width=90)
    clock.now += 2
    bar.advance(1, "a/very/long/path/" * 10 + "file.py")
    line = stream.getvalue()[1:-3]
    assert line == "secreview [##----------------------] 1/10 files  10%   2.0 s  ...a/very/long/path/file.py"
    assert len(line) <= 89


def test_run_stats_render_without_workers_or_rules():
    stats = RunStats()
    stats.phases["discover"] = 0.25
    text = stats.render()
    assert text == ("secreview profile: 0 files: 0 analysed (in one process, -j 1), 0 from the cache\n"
                    "phase                               seconds\n"
                    "  discover                            0.250\n"
                    "  total                               0.250\n")


def test_profile_rule_times_include_the_select_prefilter():
    # a rule's select() can cost more than its checks (SR502 looks at every constant): --profile
    # counts it under the rule, one call per file and node type
    ruleset = engine.RuleSet.from_options(engine.Options(select=["SR502"]))
    times: dict[str, list[float]] = {}
    parallel.instrument(ruleset, times)
    source = parse_text("limit = 1\nname = 'x'\n", "m.py")
    ctx = FileContext(source, Index(source.tree, "m", ruleset.collect), "production")
    ruleset.check(ctx, [])
    seconds, calls = times["SR502 hardcoded-secret"]
    assert calls == 1 and seconds > 0  # the select, which kept neither constant for check_node
    assert ctx.findings == []


def test_keys_made_by_the_workers_serve_the_next_run(many, capsys):
    # Into an empty store the workers make the cache keys from the bytes they analyse: a second
    # run (in this process) finds every file under them and gives the same report.
    first = main(["--format", "json", "--profile", "-j", "2", "--cache-dir", "c", "pkg"])
    out1, err1 = capsys.readouterr()
    assert "42 analysed (2 worker processes, -j 2), 0 from the cache" in err1
    (many / "pkg" / "m0" / "f00.py").write_text("# file 0, edited\n" + SNIPPETS[0])
    second = main(["--format", "json", "--profile", "-j", "1", "--cache-dir", "c", "pkg"])
    out2, err2 = capsys.readouterr()
    assert "42 files: 1 analysed (in one process, -j 1), 41 from the cache" in err2
    report1, report2 = json.loads(out1), json.loads(out2)
    assert (first, report1["findings"]) == (second, report2["findings"])


def test_a_run_in_one_process_does_not_import_the_process_machinery(many):
    # multiprocessing and concurrent.futures cost about as much to import as reviewing forty files
    code = ("import sys\nfrom secreview.cli import main\n"
            "main(['--quiet', '--no-cache', '--exit-zero', '-j', '1', 'pkg'])\n"
            "print(sorted(m for m in ('multiprocessing', 'concurrent.futures', 'logging') if m in sys.modules))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code], cwd=many, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_store_is_the_same_whether_workers_or_this_process_encode(many, capsys):
    # Into an empty store the process that analyses a file also encodes its result; a run with
    # -j 2 (workers) and one with -j 1 (this process) store the same rows, byte for byte.
    import sqlite3

    from secreview.cache import DB_NAME

    rows = {}
    for jobs in ("1", "2"):
        main(["--format", "json", "-j", jobs, "--cache-dir", f"c{jobs}", "pkg"])
        capsys.readouterr()
        with sqlite3.connect(os.path.join(many, f"c{jobs}", DB_NAME)) as conn:
            rows[jobs] = sorted(conn.execute("SELECT key, data FROM results"))
    assert len(rows["1"]) == 43  # the 42 files and the run's final output
    assert rows["1"] == rows["2"]


class _Round:
    """Stand-ins for a round of the cross-module step: ``lines`` orders the files."""

    def __init__(self, lines: int):
        self.lines = lines


def _pid_and_double(result, table, demand):
    return os.getpid(), result.lines * 2, table, demand


def test_a_round_of_reruns_is_shared_between_this_process_and_a_worker(monkeypatch):
    items = [(_Round(n), f"table{n}", frozenset({n})) for n in range(12)]
    monkeypatch.setattr(parallel, "MIN_RERUNS_FOR_POOL", 2)
    main_pid = os.getpid()

    def rerun_slowly(*item):  # each file takes long enough that neither process takes them all
        time.sleep(0.02)
        return _pid_and_double(*item)

    done = parallel.rerun_many_for(engine.Options(jobs=2))(rerun_slowly, items)
    assert [d[1:] for d in done] == [(n * 2, f"table{n}", frozenset({n})) for n in range(12)]  # in item order
    pids = {d[0] for d in done}
    assert main_pid in pids and len(pids) == 2  # this process and one worker: jobs - 1 forked
    assert parallel._RERUN_STATE is None


def test_a_worker_dying_in_a_round_of_reruns_costs_only_time(monkeypatch):
    items = [(_Round(n), None, frozenset()) for n in range(10)]
    main_pid = os.getpid()

    def rerun(result, table, demand):
        if os.getpid() != main_pid:
            os._exit(3)  # the worker dies on its first file
        time.sleep(0.01)
        return result.lines

    monkeypatch.setattr(parallel, "MIN_RERUNS_FOR_POOL", 2)
    assert parallel.rerun_many_for(engine.Options(jobs=2))(rerun, items) == list(range(10))


def test_a_worker_whose_results_cannot_be_read_costs_only_time(monkeypatch):
    # the child exits cleanly but what it wrote is not a whole pickle: its files are analysed here
    import pickle

    items = [(_Round(n), None, frozenset()) for n in range(10)]
    main_pid = os.getpid()
    ran_here = []

    def rerun(result, table, demand):
        if os.getpid() == main_pid:
            ran_here.append(result.lines)
            time.sleep(0.01)
        return result.lines

    monkeypatch.setattr(parallel, "MIN_RERUNS_FOR_POOL", 2)
    monkeypatch.setattr(pickle, "dumps", lambda obj, protocol=None: b"\x80\x05truncated")
    assert parallel.rerun_many_for(engine.Options(jobs=2))(rerun, items) == list(range(10))
    assert sorted(ran_here) == list(range(10))  # each file once here, the child's share too


def _interrupt_a_round(monkeypatch, rerun) -> None:
    """Run a round of ten files with jobs=2 that ``rerun`` (or the test's patches) interrupt:
    Ctrl-C comes through at once, and the one worker forked is stopped and collected."""
    items = [(_Round(n), None, frozenset()) for n in range(10)]
    children = []
    real_fork_share = parallel._fork_share

    def fork_share():
        pid, fd = real_fork_share()
        children.append(pid)
        return pid, fd

    monkeypatch.setattr(parallel, "MIN_RERUNS_FOR_POOL", 2)
    monkeypatch.setattr(parallel, "_fork_share", fork_share)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        parallel.rerun_many_for(engine.Options(jobs=2))(rerun, items)
    assert time.monotonic() - start < 10
    assert len(children) == 1
    with pytest.raises(ChildProcessError):  # stopped and collected: no zombie is left
        os.waitpid(children[0], os.WNOHANG)
    assert parallel._RERUN_STATE is None


def test_an_interrupted_round_of_reruns_stops_its_worker(monkeypatch):
    main_pid = os.getpid()

    def rerun(result, table, demand):
        if os.getpid() != main_pid:
            time.sleep(30)  # a worker that would outlive the interrupted run
        raise KeyboardInterrupt

    _interrupt_a_round(monkeypatch, rerun)


def test_a_round_interrupted_while_collecting_a_worker_stops_and_collects_it(monkeypatch):
    # Ctrl-C while this process waits for a worker's share: the worker is stopped and collected
    main_pid = os.getpid()

    def rerun(result, table, demand):
        if os.getpid() != main_pid:
            time.sleep(30)  # the worker's share would take long
        return result.lines

    def interrupted_read(*args, **kwargs):  # the wait for the worker's share interrupted
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel, "open", interrupted_read, raising=False)
    _interrupt_a_round(monkeypatch, rerun)


def test_a_small_round_or_one_job_reruns_here_in_order(monkeypatch):
    items = [(_Round(n), None, frozenset()) for n in range(5)]
    seen = []

    def rerun(result, table, demand):
        seen.append((os.getpid(), result.lines))
        return result.lines

    assert parallel.rerun_many_for(engine.Options(jobs=2))(rerun, items) == list(range(5))  # under MIN_RERUNS_FOR_POOL
    monkeypatch.setattr(parallel, "MIN_RERUNS_FOR_POOL", 2)
    assert parallel.rerun_many_for(engine.Options(jobs=1))(rerun, items) == list(range(5))
    assert seen == [(os.getpid(), n) for n in range(5)] * 2


def test_a_round_of_reruns_without_shared_memory_runs_here(monkeypatch):
    class NoSemaphores:  # as where /dev/shm is missing: multiprocessing cannot make a shared value
        def get_start_method(self):
            return "fork"

        def Value(self, *args):  # noqa: N802 - multiprocessing's name
            raise OSError(38, "Function not implemented")

    items = [(_Round(n), None, frozenset()) for n in range(10)]
    monkeypatch.setattr(parallel, "MIN_RERUNS_FOR_POOL", 2)
    monkeypatch.setattr(parallel, "_context", NoSemaphores)
    done = parallel.rerun_many_for(engine.Options(jobs=2))(_pid_and_double, items)
    assert done == [(os.getpid(), n * 2, None, frozenset()) for n in range(10)]
    assert parallel._RERUN_STATE is None


CONTROLLER = '''
from nova.api.openstack import wsgi


class ServersController(wsgi.Controller):
    def index(self, req):
        context = req.environ["nova.context"]
        context.can("os_compute_api:servers:index")
        return {"servers": []}

    def show(self, req, id):
        return {"server": id}

    def delete(self, req, id):
        context = req.environ["nova.context"]
        context.can("os_compute_api:servers:delete")

    def update(self, req, id, body):
        return body
'''


def test_a_reviewed_file_leaves_no_cycle_for_the_collector(monkeypatch):
    # gc_paused collects once per file: a cycle through the file context (a rule's per-file memo
    # holding it, as SR901's does) would keep the whole tree alive until then, and that collection
    # would walk every node of it
    import gc

    from secreview.rules import access

    made = []
    real_init = access._Authz.__init__

    def init(self, ctx):
        made.append(ctx.path)
        real_init(self, ctx)

    monkeypatch.setattr(access._Authz, "__init__", init)
    source = parse_text(CONTROLLER, "nova/api/openstack/compute/servers.py")
    ruleset = engine.RuleSet.from_options(engine.Options())
    was_enabled = gc.isenabled()
    gc.disable()
    gc.collect()
    try:
        result = engine.review_source(source, ruleset, engine.Options())
        del source
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, (ast.AST, FileContext, Index))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert made == ["nova/api/openstack/compute/servers.py"]  # SR901 memoised the context
    assert result.reviewed
    assert left == []


def test_the_c_library_keeps_freed_memory_for_command_line_runs_of_many_files(many, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "keep_freed_memory", lambda: calls.append(1) or True)
    run(capsys, "-j", "1", "pkg")  # 42 files to analyse
    assert calls == [1]
    monkeypatch.setattr(parallel, "MIN_FILES_TO_KEEP_MEMORY", 43)
    run(capsys, "-j", "1", "pkg")  # fewer than that: not worth importing ctypes
    assert calls == [1]
    monkeypatch.setattr(parallel, "MIN_FILES_TO_KEEP_MEMORY", 2)
    targets = discover(["pkg"])
    engine.run(targets, engine.Options(jobs=1))  # a library caller: process-wide settings are its own
    assert calls == [1]
    engine.run(targets, engine.Options(jobs=1, keep_freed_memory=True))
    assert calls == [1, 1]


def test_keep_freed_memory_sets_glibcs_parameters_and_nothing_elsewhere(monkeypatch):
    glibc = sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    assert perf.keep_freed_memory() is glibc
    monkeypatch.setattr(sys, "platform", "darwin")
    assert perf.keep_freed_memory() is False
    monkeypatch.setattr(sys, "platform", "linux")

    def no_such_name(name):
        raise ValueError("unrecognized configuration name")

    monkeypatch.setattr(os, "confstr", no_such_name)  # a C library that is not glibc
    assert perf.keep_freed_memory() is False


@pytest.mark.parametrize("content", [b"", b"x = 1\n", b"a" * 70000 + b"\n"])
@pytest.mark.parametrize("size_seen", ["same", "smaller", "larger"])
@pytest.mark.parametrize("limit", [None, 1, 6, 7, 50000, 10**6])
def test_read_all_reads_what_a_file_object_reads(tmp_path, content, size_seen, limit):
    """_read_all (every file's read, by read_file) gives what ``open(path, "rb").read(limit)``
    gives, also when the file changed size since it was looked at."""
    import os

    from secreview.source.parse import _read_all

    path = tmp_path / "f.py"
    path.write_bytes(content)
    size = {"same": len(content), "smaller": max(len(content) - 3, 0), "larger": len(content) + 5}[size_seen]
    with open(path, "rb") as handle:
        expected = handle.read(-1 if limit is None else limit)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_all(fd, size, limit) == expected
    finally:
        os.close(fd)


def test_read_for_key_refuses_what_is_not_a_regular_file_or_too_large(tmp_path):
    from secreview.discover import Target
    from secreview.parallel import _read_for_key

    path = tmp_path / "f.py"
    path.write_bytes(b"x = 1\n")
    target = Target(str(path), str(path))
    data, stamp = _read_for_key(target, 100)
    assert data == b"x = 1\n" and stamp[0] == 6
    assert _read_for_key(target, 5) is None
    assert _read_for_key(target, 0)[0] == b"x = 1\n"
    assert _read_for_key(Target(str(tmp_path), str(tmp_path)), 100) is None
    assert _read_for_key(Target(str(tmp_path / "gone.py"), "gone.py"), 100) is None
