"""The per-file result cache: hits skip the parser, edits re-analyse, damage is rebuilt."""

import dataclasses
import json
import os
import sqlite3

import pytest

from secreview import cache as cache_mod
from secreview import engine
from secreview.cache import Cache, config_key, dump_result, load_result
from secreview.cli import main
from secreview.model import FileResult, Finding, Level, Location, Skipped, TraceStep

APP = "import os\n\ndef run(cmd):\n    os.system('ls ' + cmd)\n"
UTIL = "import pickle\n\ndef load(blob):\n    return pickle.loads(blob)\n"
CLEAN = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    (tmp_path / "src" / "util.py").write_text(UTIL)
    (tmp_path / "src" / "clean.py").write_text(CLEAN)
    (tmp_path / "src" / "broken.py").write_text("def f(:\n")
    return tmp_path


def review(capsys, *args):
    code = main(["--format", "json", "-j", "1", *args, "src"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_second_run_reads_nothing_and_gives_the_same_bytes(tree, parses, capsys):
    cache_dir = str(tree / "cache")
    code1, out1, _ = review(capsys, "--cache-dir", cache_dir)
    assert sorted(parses) == ["src/app.py", "src/broken.py", "src/clean.py", "src/util.py"]
    parses.clear()
    code2, out2, _ = review(capsys, "--cache-dir", cache_dir)
    assert parses == []  # every result came from the cache: nothing was parsed
    assert (code1, out1) == (code2, out2)
    report = json.loads(out2)
    assert [(f["location"]["path"], f["location"]["line"], f["rule_id"]) for f in report["findings"]] == [
        ("src/app.py", 4, "SR101"), ("src/util.py", 4, "SR201")]
    assert [s["path"] for s in report["skipped"]] == ["src/broken.py"]  # skipped entries are cached too


def test_editing_one_file_re_analyses_that_file_only(tree, parses, capsys):
    cache_dir = str(tree / "cache")
    review(capsys, "--cache-dir", cache_dir)
    parses.clear()
    (tree / "src" / "clean.py").write_text(CLEAN + "\nimport subprocess\nsubprocess.call('x', shell=True)\n")
    code, out, _ = review(capsys, "--cache-dir", cache_dir)
    assert parses == ["src/clean.py"]
    found = [(f["location"]["path"], f["location"]["line"], f["rule_id"]) for f in json.loads(out)["findings"]]
    assert ("src/clean.py", 5, "SR101") in found


def test_the_cache_is_keyed_by_rule_selection_and_options(tree, parses, capsys):
    cache_dir = str(tree / "cache")
    review(capsys, "--cache-dir", cache_dir)
    parses.clear()
    review(capsys, "--cache-dir", cache_dir, "--select", "SR101")
    assert len(parses) == 4  # another rule selection: nothing reused
    parses.clear()
    review(capsys, "--cache-dir", cache_dir, "--min-severity", "high")
    assert len(parses) == 4
    parses.clear()
    review(capsys, "--cache-dir", cache_dir, "-j", "2", "--file-timeout", "30", "--quiet")
    assert parses == []  # jobs, time budget and quiet do not change results: all reused


def test_no_cache_neither_reads_nor_writes(tree, parses, capsys):
    cache_dir = tree / "cache"
    review(capsys, "--no-cache", "--cache-dir", str(cache_dir))
    review(capsys, "--no-cache", "--cache-dir", str(cache_dir))
    assert len(parses) == 8
    assert not (cache_dir / cache_mod.DB_NAME).exists()


def test_default_folder_follows_xdg_cache_home(tree, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tree / "xdg"))
    review(capsys)
    assert (tree / "xdg" / "secreview" / cache_mod.DB_NAME).is_file()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty-foreign-db"])
def test_a_damaged_cache_file_is_detected_and_rebuilt(tree, parses, capsys, damage):
    cache_dir = tree / "cache"
    _, expected, _ = review(capsys, "--cache-dir", str(cache_dir))
    db = cache_dir / cache_mod.DB_NAME
    if damage == "garbage":
        db.write_bytes(b"this is not a database at all" * 100)
    elif damage == "truncated":  # as if a write had been cut short
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 2 + 100])
    else:  # a SQLite file that is not ours
        db.unlink()
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE other (x)")
        conn.commit()
        conn.close()
    parses.clear()
    code, out, err = review(capsys, "--cache-dir", str(cache_dir))
    assert out == expected
    assert len(parses) == 4  # nothing trusted
    assert err.startswith(f"secreview: note: the cache {db} was damaged (")
    assert err.rstrip().endswith("and has been rebuilt")
    parses.clear()
    _, out, err = review(capsys, "--cache-dir", str(cache_dir))
    assert (out, err, parses) == (expected, "", [])  # rebuilt and working again


def test_a_cache_of_another_format_is_rebuilt_with_a_note_that_says_so(tree, parses, capsys):
    cache_dir = tree / "cache"
    _, expected, _ = review(capsys, "--cache-dir", str(cache_dir))
    db = cache_dir / cache_mod.DB_NAME
    conn = sqlite3.connect(db)  # as an older secreview would have left it
    conn.execute(f"PRAGMA user_version = {cache_mod.FORMAT - 1}")
    conn.commit()
    conn.close()
    parses.clear()
    code, out, err = review(capsys, "--cache-dir", str(cache_dir))
    assert out == expected
    assert len(parses) == 4  # nothing of the other format is read
    assert err == (f"secreview: note: the cache {db} was written by another version of secreview (cache format "
                   f"{cache_mod.FORMAT - 1}; this version uses format {cache_mod.FORMAT}) and has been rebuilt\n")
    parses.clear()
    _, out, err = review(capsys, "--cache-dir", str(cache_dir))
    assert (out, err, parses) == (expected, "", [])  # rebuilt in this format and working again


def test_a_damaged_entry_is_a_miss_and_is_replaced(tree, parses, capsys):
    cache_dir = tree / "cache"
    _, expected, _ = review(capsys, "--cache-dir", str(cache_dir))
    conn = sqlite3.connect(cache_dir / cache_mod.DB_NAME)
    key, data = next(row for row in conn.execute("SELECT key, data FROM results")
                     if "src/app.py" in row[1] and not row[0].startswith("run:"))
    conn.execute("UPDATE results SET data = ? WHERE key = ?", (data.replace('"line":4', '"line":9'), key))
    # (the run's stored final output would answer first, unchanged inputs and all: drop it)
    conn.execute("DELETE FROM results WHERE key LIKE 'run:%'")
    conn.commit()
    conn.close()
    parses.clear()
    _, out, _ = review(capsys, "--cache-dir", str(cache_dir))
    assert out == expected  # the tampered line number was not believed
    assert parses == ["src/app.py"]
    parses.clear()
    review(capsys, "--cache-dir", str(cache_dir))
    assert parses == []


def test_cache_clear_removes_only_the_cache(tree, parses, capsys):
    cache_dir = tree / "cache"
    review(capsys, "--cache-dir", str(cache_dir))
    (cache_dir / "keep.txt").write_text("not ours")
    assert main(["cache", "info", "--cache-dir", str(cache_dir)]) == 0
    info = capsys.readouterr().out
    assert info.startswith(f"cache folder: {cache_dir}\nfile results: 4\nsize: ")
    assert main(["cache", "clear", "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out == f"removed the cache in {cache_dir} (4 file results)\n"
    assert sorted(os.listdir(cache_dir)) == ["keep.txt"]
    assert main(["cache", "clear", "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out == f"no cache to remove in {cache_dir}\n"
    parses.clear()
    review(capsys, "--cache-dir", str(cache_dir))
    assert len(parses) == 4


def test_cache_clear_uses_the_default_folder(tree, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tree / "xdg"))
    review(capsys)
    assert main(["cache", "clear"]) == 0
    folder = tree / "xdg" / "secreview"
    assert capsys.readouterr().out == f"removed the cache in {folder} (4 file results)\n"
    assert not (folder / cache_mod.DB_NAME).exists()


@pytest.mark.parametrize("argv, message", [
    (["cache"], "'cache' needs an action: 'secreview cache clear' or 'secreview cache info'"),
    (["cache", "drop"], "unknown cache action 'drop' (choose clear or info)"),
    (["cache", "clear", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_cache_command_errors(argv, message, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err == f"secreview: error: {message}\n"


def test_cache_dir_that_is_a_file_is_an_error(tree, capsys):
    (tree / "afile").write_text("x")
    assert main(["--cache-dir", "afile", "src"]) == 2
    assert capsys.readouterr().err == "secreview: error: --cache-dir afile: not a folder\n"
    assert main(["cache", "clear", "--cache-dir", "afile"]) == 2
    assert capsys.readouterr().err == "secreview: error: --cache-dir afile: not a folder\n"


def test_an_unusable_default_folder_is_a_note_not_a_failure(tree, capsys, monkeypatch):
    (tree / "xdg").write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tree / "xdg"))
    code, out, err = review(capsys)
    assert code == 1 and json.loads(out)["summary"]["findings"] == 2
    assert err.startswith("secreview: note: cannot create the cache folder ")
    assert err.rstrip().endswith("; results are not cached")
    code, out, err = review(capsys, "--quiet")
    assert err == ""


# ---------------------------------------------------------------------------- the codec and keys


def _finding(**changes):
    values = dict(rule_id="SR101", rule_name="shell-injection", cwe=78, severity=Level.HIGH,
                  confidence=Level.MEDIUM, location=Location("a.py", 3, 4, 3, 20), message="m", fix="f",
                  context="test", snippet="os.system(x)", fingerprint="ab" * 16,
                  trace=(TraceStep(Location("a.py", 1, 0, 1, 5), "source"),
                         TraceStep(Location("a.py", 3, 4, 3, 20), "sink")))
    values.update(changes)
    return Finding(**values)


def test_every_field_survives_the_json_round_trip():
    result = FileResult("a.py", (_finding(),), (Skipped("a.py", "partly reviewed: x", 7),), 12, "test", True,
                        dropped=(_finding(severity=Level.LOW),), outline={"functions": [{"name": "f", "lines": [1, 2]}]},
                        suppressions=((3, 4, 20, "# secreview: allow shell-injection"),),
                        taint={"module": "a", "summaries": {"a.f": {"params": [0]}}})
    text = dump_result(result)
    assert text is not None
    back = load_result(text)
    assert back == result
    assert type(back.findings) is tuple and type(back.findings[0].severity) is Level
    assert type(back.suppressions[0]) is tuple and type(back.findings[0].trace[0]) is TraceStep


def test_the_run_output_is_made_of_the_texts_stored_per_file(tmp_path):
    # put_run reuses, for a result put_many stored (the same object), its text without the
    # data-flow record; a result the global phase replaced is encoded anew. Both come back as the
    # results without their records.
    stored = FileResult("a.py", (_finding(),), lines=4, suppressions=((1, 0, 9, "# nosec"),),
                        taint={"module": "a", "summaries": {"a.f": {"params": [0]}}})
    plain = FileResult("b.py", lines=2)
    replaced = FileResult("c.py", (_finding(location=Location("c.py", 2, 0, 2, 5)),), taint={"module": "c"})
    text, bare = cache_mod.dump_result_parts(stored)
    assert load_result(text) == stored and load_result(bare) == dataclasses.replace(stored, taint=None)
    assert cache_mod.dump_result_parts(plain) == (dump_result(plain),) * 2
    store = Cache(str(tmp_path), "config")
    store.put_many([("ka", stored), ("kb", plain), ("kc", FileResult("c.py"))])
    assert [r.path for r, _ in store.bare_texts.values()] == ["a.py", "b.py", "c.py"]
    assert store.bare_texts[id(stored)] == (stored, bare)
    encoded = []
    real = cache_mod.dump_result
    cache_mod.dump_result = lambda result: encoded.append(result.path) or real(result)
    try:
        store.put_run("run:x", "inputs", [stored, plain, replaced], store.bare_texts)
    finally:
        cache_mod.dump_result = real
    assert encoded == ["c.py"]
    assert store.get_run("run:x", "inputs") == [dataclasses.replace(stored, taint=None), plain,
                                                dataclasses.replace(replaced, taint=None)]
    store.close()


def test_a_result_that_would_not_come_back_identical_is_not_stored():
    # a tuple inside free-form JSON data would come back as a list: not cached, never wrong
    assert dump_result(FileResult("a.py", taint={"pairs": (1, 2)})) is None
    assert dump_result(FileResult("a.py", taint={"x": object()})) is None


def test_a_data_flow_record_is_written_as_its_json_form_would_be():
    # dump_result_parts writes the record with json.dumps instead of walking it with to_json:
    # the text is the same, and a record that would not come back equal is still refused
    record = {"module": "a", "level": Level.HIGH, "sub": {"x": [1, 2.5, None, True, "s"]}, "e": []}
    text, bare = cache_mod.dump_result_parts(FileResult("a.py", taint=record))
    data = cache_mod.to_json(FileResult("a.py", taint=record))
    data["taint"] = data.pop("taint")
    assert text == json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    assert json.loads(bare)["taint"] is None
    assert dump_result(FileResult("a.py", taint={1: "a"})) is None  # json.dumps makes the key "1"
    assert dump_result(FileResult("a.py", taint={(1, 2): "a"})) is None
    assert dump_result(FileResult("a.py", taint={"x": float("nan")})) is None
    assert dump_result(FileResult("a.py", taint={"x": Location("a.py", 1, 0, 1, 2)})) is None


def test_from_json_shortcuts_give_what_the_general_path_gives():
    # _layout's shortcuts (a value kept as it is; an empty list for a tuple[...] field) against
    # from_json on the field's annotation
    for kind, data in ((FileResult, {"path": "a.py", "findings": [], "suppressions": [], "notes": [],
                                     "lines": 3, "outline": None, "taint": {"k": [1]}}),
                       (Finding, cache_mod.to_json(_finding(trace=()))),
                       (Finding, cache_mod.to_json(_finding()))):
        back = cache_mod.from_json(kind, data)
        for name, hint, _, _ in cache_mod._layout(kind):
            if name in data:
                assert getattr(back, name) == cache_mod.from_json(hint, data[name])
                assert type(getattr(back, name)) is type(cache_mod.from_json(hint, data[name]))
    with pytest.raises(ValueError):
        cache_mod.from_json(FileResult, {"path": "a.py", "findings": {}})


def test_config_key_ignores_run_only_options_and_sorts_sets():
    base = engine.Options()
    same = engine.Options(jobs=7, cache_dir="/elsewhere", file_timeout=1.0, progress=True)
    assert config_key(["SR101"], base) == config_key(["SR101"], same)
    assert config_key(["SR101"], base) != config_key(["SR101", "SR102"], base)
    assert config_key(["SR101"], base) != config_key(["SR101"], engine.Options(min_confidence=Level.HIGH))
    assert config_key(["SR102", "SR101"], base) == config_key(["SR101", "SR102"], base)


def test_taint_spec_contents_are_part_of_the_key(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text("[sources]\n")
    options = engine.Options(taint_specs=[str(spec)])
    before = config_key([], options)
    spec.write_text("[sources]\nx = 1\n")
    assert config_key([], options) != before


def test_an_interrupted_write_leaves_no_entry(tmp_path, monkeypatch):
    store = Cache(str(tmp_path), "config")
    results = [(f"k{i}", FileResult(f"f{i}.py", lines=i)) for i in range(3)]
    conn = store._conn

    def executemany(sql, rows):  # Ctrl-C after the first row went in
        conn.executemany(sql, rows[:1])
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_conn", _Proxy(conn, executemany))
    with pytest.raises(KeyboardInterrupt):
        store.put_many(results)
    monkeypatch.setattr(store, "_conn", conn)
    assert store.get_many(["k0", "k1", "k2"]) == {}  # the whole transaction was rolled back
    store.put_many(results)
    assert sorted(store.get_many(["k0", "k1", "k2"])) == ["k0", "k1", "k2"]
    store.close()


class _Proxy:
    """A connection whose executemany is replaced (sqlite3.Connection attributes are read-only)."""

    def __init__(self, conn, executemany):
        self._conn = conn
        self.executemany = executemany

    def __getattr__(self, name):
        return getattr(self._conn, name)


def test_an_unchanged_run_skips_the_cross_module_step_too(tree, capsys, monkeypatch):
    calls = []
    real = engine.global_phase

    def counting(results, ruleset, options):
        calls.append(len(results))
        return real(results, ruleset, options)

    monkeypatch.setattr(engine, "global_phase", counting)
    cache_dir = str(tree / "cache")
    _, first, _ = review(capsys, "--cache-dir", cache_dir)
    _, second, _ = review(capsys, "--cache-dir", cache_dir)
    assert calls == [4] and first == second  # the stored output of the whole step was reused
    (tree / "src" / "clean.py").write_text(CLEAN + "# edited\n")
    review(capsys, "--cache-dir", cache_dir)
    assert calls == [4, 4]  # an input changed: the step ran again
    review(capsys, "--cache-dir", cache_dir, "--no-cache")
    assert calls == [4, 4, 4]


def test_every_fixture_result_can_be_cached_faithfully():
    """A result that does not survive JSON is silently not cached (found on Nova: a taint record
    holding tuples made every warm run re-analyse a file)."""
    import os

    from fixture_harness import fixture_files
    from secreview.cache import dump_result
    from secreview.engine import Options, RuleSet, review_bytes

    options = Options()
    ruleset = RuleSet.from_options(options)
    for path in fixture_files():
        with open(path, "rb") as handle:
            result = review_bytes(handle.read(), os.path.basename(path), ruleset, options)
        assert dump_result(result) is not None, path


def test_an_unchanged_run_decodes_only_the_stored_output(tree, capsys, monkeypatch):
    cache_dir = str(tree / "cache")
    _, first, _ = review(capsys, "--cache-dir", cache_dir)
    decoded = []
    real = cache_mod.load_result

    def counting(text):
        decoded.append(text)
        return real(text)

    monkeypatch.setattr(cache_mod, "load_result", counting)
    _, second, _ = review(capsys, "--cache-dir", cache_dir)
    assert second == first and decoded == []  # no per-file result (nor its data-flow record) was decoded
    conn = sqlite3.connect(os.path.join(cache_dir, cache_mod.DB_NAME))
    (stored,) = [data for key, data in conn.execute("SELECT key, data FROM results") if key.startswith("run:")]
    conn.close()
    # stored without the data-flow records
    assert all(item["taint"] is None for item in json.loads(stored.partition("\n")[2]))


def test_a_damaged_stored_output_is_recomputed_from_the_per_file_results(tree, parses, capsys):
    cache_dir = tree / "cache"
    _, expected, _ = review(capsys, "--cache-dir", str(cache_dir))
    conn = sqlite3.connect(cache_dir / cache_mod.DB_NAME)
    key, data = next(row for row in conn.execute("SELECT key, data FROM results") if row[0].startswith("run:"))
    conn.execute("UPDATE results SET data = ? WHERE key = ?", (data.replace('"line":4', '"line":9'), key))
    conn.commit()
    conn.close()
    parses.clear()
    _, out, _ = review(capsys, "--cache-dir", str(cache_dir))
    assert out == expected and parses == []  # not believed; the per-file results were still good


def test_standard_input_joins_the_run_without_the_stored_output(tree, capsys, monkeypatch):
    cache_dir = str(tree / "cache")
    review(capsys, "--cache-dir", cache_dir)
    review(capsys, "--cache-dir", cache_dir)
    monkeypatch.setattr("sys.stdin", _Stdin(b"import os\nos.system(input())\n"))
    code = main(["--format", "json", "-j", "1", "--cache-dir", cache_dir, "src", "-"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {f["location"]["path"] for f in report["findings"]} >= {"src/app.py", "<stdin>"}


class _Stdin:
    def __init__(self, data: bytes):
        import io

        self.buffer = io.BytesIO(data)


def test_an_empty_store_is_not_searched_and_keys_come_from_the_analysed_bytes(tree, parses, capsys, monkeypatch):
    # A first run into an empty store reads each file once, for its key and its review; the keys
    # it stores are exactly those a later run makes when it looks files up (parallel._keys).
    from secreview import parallel

    lookups = []
    real_keys = parallel._keys
    monkeypatch.setattr(parallel, "_keys", lambda *args: lookups.append(1) or real_keys(*args))
    cache_dir = str(tree / "cache")
    code1, out1, _ = review(capsys, "--cache-dir", cache_dir)
    assert lookups == []
    assert sorted(parses) == ["src/app.py", "src/broken.py", "src/clean.py", "src/util.py"]
    parses.clear()
    (tree / "src" / "clean.py").write_text(CLEAN + "\n")  # the stored final output no longer applies
    code2, out2, _ = review(capsys, "--cache-dir", cache_dir)
    assert lookups == [1]
    assert parses == ["src/clean.py"]  # the three others were found under the keys made in the first run
    assert (code1, out1) == (code2, out2)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_over_the_size_limit_says_the_same_with_an_empty_store(tree, capsys, monkeypatch, jobs):
    from secreview import parallel

    monkeypatch.setattr(parallel, "MIN_FILES_FOR_POOL", 2)
    monkeypatch.setattr(parallel, "MIN_BYTES_FOR_POOL", 0)
    (tree / "src" / "big.py").write_text("x = 1\n" * 400)
    outputs = []
    for where in (["--no-cache"], ["--cache-dir", str(tree / f"cache{jobs}")]):
        code = main(["--format", "json", "-j", jobs, "--max-file-size", "1000", *where, "src"])
        outputs.append((code, capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    skipped = {s["path"]: s["reason"] for s in json.loads(outputs[1][1])["skipped"]}
    assert skipped["src/big.py"] == "file is larger than the 1000 bytes limit (--max-file-size)"


def test_the_shared_encoder_writes_what_json_dumps_writes():
    """dump_result_parts encodes with one JSONEncoder made once: the same text as json.dumps
    with the same options, and the same refusal of what JSON cannot hold."""
    import json
    import math

    from secreview import cache as cache_mod

    for value in ({"a": [1, 2.5, "\u00e9\u4e2d", None, True], "b": {"c": []}}, [], "x", 3, [[1], {"k": "v"}]):
        assert cache_mod._ENCODER.encode(value) == json.dumps(value, **cache_mod._JSON_FORM)
    for bad in ({"n": math.nan}, [math.inf]):
        with pytest.raises(ValueError):
            cache_mod._ENCODER.encode(bad)
        with pytest.raises(ValueError):
            json.dumps(bad, **cache_mod._JSON_FORM)


@pytest.mark.parametrize("text", ['{"a":[1,2]}', ' {"a":1}', '{"a":1} ', '{"a":1}\n', '{"a":1}x', '\ufeff{"a":1}',
                                  '', 'nul', '[1,2', '"s"', '3', b'{"a":1}', '{"a":1}{"b":2}'])
def test_loads_is_json_loads(text):
    """cache._loads (the fast road for a bare JSON value, json.loads for anything else) gives what
    json.loads gives, or fails as it fails."""
    import json

    from secreview import cache as cache_mod

    try:
        expected = ("value", json.loads(text))
    except (ValueError, TypeError) as exc:
        expected = ("error", type(exc), str(exc))
    try:
        got = ("value", cache_mod._loads(text))
    except (ValueError, TypeError) as exc:
        got = ("error", type(exc), str(exc))
    assert got == expected
