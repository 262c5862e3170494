"""The per-file phase (read, parse, index, rules, per-file summaries) over many files: cached,
in parallel, within a time budget, with progress.

- **Cache.** With a cache folder, each file's bytes are hashed first; files whose results are
  stored under that hash (and the same engine and configuration, see :mod:`secreview.cache`) are
  not parsed again. What is analysed is stored afterwards, unless the file changed while it was
  being analysed or its analysis ran out of time. An empty store is not searched: each file is
  read once, by the process that analyses it, and its key made from those bytes.
- **Processes.** The files left are analysed by ``jobs`` worker processes, biggest files first so
  that no process is left with a large file at the end. A small run (fewer than
  :data:`MIN_FILES_FOR_POOL` files or :data:`MIN_BYTES_FOR_POOL` bytes to analyse) stays in this
  process: starting workers would cost more than it saves. Every file is analysed on its own, so
  results are the same, byte for byte, whatever ``jobs`` is; they are returned in target order.
- **Time budget.** ``file_timeout`` seconds per file, measured with ``SIGALRM`` in the process that
  analyses the file; a file over budget becomes a skipped entry with the reason. (The budget
  interrupts Python code; a single call into C, such as parsing, finishes first. The size limit
  keeps that call short.)
- **Robustness.** A worker that dies (killed, out of memory) costs only its files: they are
  retried one by one in fresh workers, and a file that kills its worker again is skipped with
  the reason. Ctrl-C stops the workers and leaves no partly written cache entry.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import signal
import stat
import sys
import threading
import time
from typing import TYPE_CHECKING

from secreview import engine
from secreview.cache import Cache, CacheError, dump_result_parts, file_key
from secreview.discover import Target
from secreview.model import FileResult, Skipped
from secreview.source.parse import read_file
from secreview.perf import Progress, RunStats, gc_paused, keep_freed_memory

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

# multiprocessing and concurrent.futures (with logging) are imported where processes or threads
# are started: a run in one process (-j 1, or a small run) never needs them, and importing them
# costs about as much as reviewing forty files.

MIN_FILES_FOR_POOL = 24
MIN_BYTES_FOR_POOL = 512 * 1024
DEFAULT_FILE_TIMEOUT = 60.0
_CHUNK_BYTES = 96 * 1024  # files are sent to workers in chunks of about this many bytes
_CHUNK_FILES = 16
# fewer files than this to analyse: the C library's settings are left alone (importing ctypes
# to change them costs about what reviewing five files does)
MIN_FILES_TO_KEEP_MEMORY = 32


class FileTimeout(BaseException):
    """Raised by SIGALRM inside the analysis of a file over its time budget. A BaseException so
    that no ``except Exception`` in a rule can swallow it."""


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def effective_jobs(jobs: int) -> int:
    return jobs if jobs and jobs > 0 else cpu_count()


def timeout_reason(seconds: float) -> str:
    return f"analysis stopped after {seconds:g} s (over the per-file time budget, --file-timeout)"


# ---------------------------------------------------------------------------- one file


_armed = False


def _on_alarm(signum, frame):  # noqa: ARG001
    if _armed:
        raise FileTimeout()


def _can_time_out() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def analyse_one(target: Target, ruleset: engine.RuleSet, options: engine.Options,
                timeout: float, key_config: str | None = None) -> tuple[FileResult, float, bool, tuple | None]:
    """Analyse one file within ``timeout`` seconds (0: no limit): (result, seconds, timed out,
    cache entry). With ``key_config`` (the cache's configuration key) the cache key is made here,
    from the bytes that are analysed, and the result encoded for the store (in the worker, not
    in the process that stores it): ``(key, stamp, texts)``, the key and stamp as :func:`_keys`
    makes them and the texts as ``cache.dump_result_parts`` (None: not storable); None for a
    file that cannot be read whole (its result comes from ``engine.review_target``, which says
    why) or that ran out of time. The caller has installed :func:`_on_alarm` as the SIGALRM
    handler when ``timeout`` is set."""
    global _armed
    start = time.perf_counter()
    timed_out = False
    keyed = None
    try:
        try:
            if timeout > 0:
                _armed = True
                signal.setitimer(signal.ITIMER_REAL, timeout)
            read = _read_for_key(target, options.max_file_size) if key_config is not None else None
            if read is None:
                result = engine.review_target(target, ruleset, options)
            else:  # the bytes engine.review_target would read, read once for the key and the review
                data, stamp = read
                keyed = (file_key(key_config, target.display, data), stamp)
                result = engine.review_target(target, ruleset, options, data)
        finally:
            if timeout > 0:
                _armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
    except FileTimeout:
        timed_out = True
        result = FileResult(target.display, (), (Skipped(target.display, timeout_reason(timeout)),), reviewed=False)
    except RecursionError:
        result = FileResult(target.display, (), (Skipped(target.display, "too deeply nested to analyse"),),
                            reviewed=False)
    except MemoryError:
        result = FileResult(target.display, (), (Skipped(target.display, "ran out of memory while analysing"),),
                            reviewed=False)
    except Exception as exc:  # an engine bug on one file must not cost the others
        result = FileResult(target.display, (), (Skipped(
            target.display, f"internal error while analysing: {type(exc).__name__}: {exc}"),), reviewed=False)
    if keyed is not None:
        keyed = None if timed_out else (keyed[0], keyed[1], dump_result_parts(result))
    if not gc.isenabled():  # collection per file (see gc_paused): this file's cycles, once
        gc.collect(0)
    return result, time.perf_counter() - start, timed_out, keyed


class _AlarmHandler:
    """Installs the SIGALRM handler for the time budget, and puts the old one back."""

    def __init__(self, timeout: float):
        self.active = timeout > 0 and _can_time_out()
        self.previous = None

    def __enter__(self) -> bool:
        if self.active:
            self.previous = signal.signal(signal.SIGALRM, _on_alarm)
        return self.active

    def __exit__(self, *exc) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous if self.previous is not None else signal.SIG_DFL)


# ---------------------------------------------------------------------------- rule clock


def instrument(ruleset: engine.RuleSet, times: dict[str, list[float]]) -> None:
    """Wind a clock around every rule's checks and its ``select()`` prefilter (for --profile):
    ``times[rule] = [seconds, calls]``; a select is one call per file and node type."""
    clock = time.perf_counter
    for rule in ruleset.rules:
        label = f"{rule.id} {rule.name}"
        for method in ("check_call", "check_node", "select"):
            original = getattr(rule, method)

            def timed(*args, _original=original, _label=label, **kwargs):
                start = clock()
                try:
                    return _original(*args, **kwargs)
                finally:
                    entry = times.get(_label)
                    if entry is None:
                        entry = times[_label] = [0.0, 0]
                    entry[0] += clock() - start
                    entry[1] += 1

            setattr(rule, method, timed)


PHASE = "phase:"  # keys of per-file sub-phase times in the same table as the rule times

# (label, object, attribute): the per-file steps --profile times, when they exist
_STEPS = (
    ("read and parse", engine, "read_source"),
    ("index", engine, "Index"),
    ("data flow (per file)", getattr(engine, "taint_run", None), "analyse"),
    ("context policy", getattr(engine, "policy_mod", None), "apply"),
)


def instrument_steps(times: dict[str, list[float]]):
    """Wind a clock around the per-file steps (for --profile); returns the function that undoes it."""
    clock = time.perf_counter
    undo = []
    for label, owner, name in _STEPS:
        original = getattr(owner, name, None) if owner is not None else None
        if original is None:
            continue

        def timed(*args, _original=original, _key=PHASE + label, **kwargs):
            start = clock()
            try:
                return _original(*args, **kwargs)
            finally:
                entry = times.get(_key)
                if entry is None:
                    entry = times[_key] = [0.0, 0]
                entry[0] += clock() - start
                entry[1] += 1

        setattr(owner, name, timed)
        undo.append((owner, name, original))

    def restore() -> None:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)

    return restore


# ---------------------------------------------------------------------------- worker processes

# (ruleset, options, timeout, rule times): set before the pool forks, or by _init_worker
_STATE: tuple[engine.RuleSet, engine.Options, float, dict[str, list[float]]] | None = None


def _init_worker(options: engine.Options, timeout: float, detailed: bool, busy=None, counter=None) -> None:
    global _STATE, _BUSY, _SLOT
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops
    if busy is not None and counter is not None:
        with counter.get_lock():
            _SLOT = counter.value
            counter.value += 1
        _BUSY = busy if _SLOT < len(busy) else None
    if _STATE is None:  # not inherited through fork
        ruleset = engine.RuleSet.from_options(options)
        times: dict[str, list[float]] = {}
        if detailed:
            instrument(ruleset, times)
            instrument_steps(times)
        _STATE = (ruleset, options, timeout, times)
    if timeout > 0 and hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, _on_alarm)
    _tune_gc()


_BUSY = None  # the shared "file being analysed" slots (see _busy_array)
_SLOT = 0


def _work(chunk: list[tuple[int, Target]], key_config: str | None = None):
    assert _STATE is not None
    ruleset, options, timeout, times = _STATE
    busy, slot = _BUSY, _SLOT
    done = []
    for i, target in chunk:
        if busy is not None:
            busy[slot] = i
        done.append((i, *analyse_one(target, ruleset, options, timeout, key_config)))
    if busy is not None:
        busy[slot] = -1
    rule_times = dict(times)
    times.clear()
    return done, rule_times


def _tune_gc() -> None:
    """Garbage collection per file, not per allocation count: see :class:`gc_paused`."""
    gc.freeze()
    gc.disable()


MIN_RERUNS_FOR_POOL = 8  # fewer files than this are re-analysed in this process
# (rerun, items, order, next position in order) inherited by forked workers of the cross-module step
_RERUN_STATE = None


def rerun_many_for(options: engine.Options):
    """How the cross-module step re-analyses a round's files: by this process and jobs - 1
    forked worker processes together when more than one job is allowed, the platform forks, and
    the round is big enough; else in order, here."""
    jobs = effective_jobs(getattr(options, "jobs", 1))

    def rerun_many(rerun, items: list) -> list:
        global _RERUN_STATE
        if jobs <= 1 or len(items) < MIN_RERUNS_FOR_POOL or _context().get_start_method() != "fork":
            return [rerun(*item) for item in items]
        # The biggest files first; each process takes the next file of this order until none
        # is left. This process takes its share too instead of waiting: one process fewer to
        # fork per round, and the files it parses stay in its cache for the next round.
        order = sorted(range(len(items)), key=lambda i: -items[i][0].lines)
        done: dict[int, object] = {}
        children: list[tuple[int, int]] = []
        try:
            _RERUN_STATE = (rerun, items, order, _context().Value("i", 0))
            for _ in range(min(jobs, len(items)) - 1):
                children.append(_fork_share())
            done.update(_rerun_share())
            while children:
                done.update(_share_of(*children.pop()))
        except OSError:  # no shared memory or no process to be had: the rest here
            pass
        finally:
            _RERUN_STATE = None
            for pid, fd in children:  # not collected (interrupted): stopped
                _end_child(pid, fd)
        return [done[i] if i in done else rerun(*items[i]) for i in range(len(items))]

    return rerun_many


def _rerun_share() -> dict[int, object]:
    """Re-analyse files of the round, taking the next one of the order until none is left."""
    assert _RERUN_STATE is not None
    rerun, items, order, position = _RERUN_STATE
    done = {}
    while True:
        with position.get_lock():
            k = position.value
            position.value = k + 1
        if k >= len(order):
            return done
        i = order[k]
        done[i] = rerun(*items[i])


def _fork_share() -> tuple[int, int]:
    """A forked child that takes its share of the round (:func:`_rerun_share`) and writes what it
    did, pickled, to a pipe: (its pid, the pipe's end to read). A bare fork rather than a pool:
    the child has the round (files, table, results) already and starts at once, where a pool's
    queue and feeder threads wait for this process, busy with its own share, to hand them the
    interpreter lock (measured: a worker started 4 to 70 ms late)."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # the child: never returns
        code = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops
            os.close(read_end)
            import pickle

            payload = pickle.dumps(_rerun_share(), protocol=pickle.HIGHEST_PROTOCOL)
            with open(write_end, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _share_of(pid: int, fd: int) -> dict[int, object]:
    """What a child of :func:`_fork_share` did ({} if it died or wrote less than all of it: its
    files are then analysed here). The pipe is closed and the child collected whatever happens;
    interrupted (Ctrl-C), the child is stopped first."""
    import pickle

    try:
        with open(fd, "rb") as source:
            payload = source.read()
        _, status = os.waitpid(pid, 0)
    except BaseException:
        _end_child(pid)
        raise
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return {}
    try:
        # our own forked child's results, through a pipe only it and this process hold: the same
        # trust as a process pool's result queue; nothing of the reviewed code is unpickled
        return pickle.loads(payload)  # secreview: ignore[SR134] our own child's results, not reviewed data
    except Exception:  # noqa: BLE001 - a truncated payload: the files are analysed here
        return {}


def _end_child(pid: int, fd: int | None = None) -> None:
    """Stop a child of :func:`_fork_share` that is not needed any more, collect it, and close its
    pipe's end (``fd``) if this process still holds it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def _context():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    # fork shares the loaded rules with the workers; elsewhere (macOS, Windows) spawn is the safe one
    return multiprocessing.get_context("fork" if "fork" in methods and sys.platform.startswith("linux") else "spawn")


def _chunks(order: list[tuple[int, Target, int]]) -> list[list[tuple[int, Target]]]:
    """Chunks of files, biggest files first; a big file travels alone."""
    chunks: list[list[tuple[int, Target]]] = []
    current: list[tuple[int, Target]] = []
    size = 0
    for i, target, nbytes in order:
        if current and (size + nbytes > _CHUNK_BYTES or len(current) >= _CHUNK_FILES):
            chunks.append(current)
            current, size = [], 0
        current.append((i, target))
        size += nbytes
    if current:
        chunks.append(current)
    return chunks


class _Pool:
    """A process pool that survives the death of a worker."""

    def __init__(self, jobs: int, options: engine.Options, timeout: float, detailed: bool):
        self.jobs = jobs
        self.args = (dataclasses.replace(options, stats=None) if _has_field(options, "stats") else options,
                     timeout, detailed)
        self.started = 0

    def executor(self, workers: int, busy) -> ProcessPoolExecutor:
        from concurrent.futures import ProcessPoolExecutor

        self.started += workers
        counter = _context().Value("i", 0)
        return ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init_worker,
                                   initargs=(*self.args, busy, counter))


def _has_field(obj: object, name: str) -> bool:
    return any(f.name == name for f in dataclasses.fields(obj))


def _stop(executor: ProcessPoolExecutor) -> None:
    """Stop at once: cancel what has not started and end the workers."""
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        try:
            process.terminate()
        except (OSError, AttributeError):
            pass
    for process in processes:
        try:
            process.join(timeout=2)
        except (OSError, AttributeError, AssertionError):
            pass


# ---------------------------------------------------------------------------- the phase


def analyse_files(targets: list[Target], ruleset: engine.RuleSet, options: engine.Options,
                  allow_final: bool = True) -> list[FileResult]:
    """Results for ``targets``, in target order. With ``allow_final`` (no other input joins the
    run), an unchanged run returns the stored final output at once (``final`` set on the list)."""
    global _STATE
    stats: RunStats | None = getattr(options, "stats", None)
    timeout = float(getattr(options, "file_timeout", 0) or 0)
    jobs = effective_jobs(getattr(options, "jobs", 1))
    results: list[FileResult | None] = [None] * len(targets)
    sizes = [0] * len(targets)
    detailed = bool(stats and stats.detailed)
    if stats is not None:
        stats.files += len(targets)
        stats.jobs = jobs

    def note(message: str) -> None:
        if stats is not None:
            stats.notes.append(message)

    # 1. the cache
    cache: Cache | None = None
    keys: dict[int, tuple[str, tuple[int, int]]] = {}
    key_config: str | None = None  # set when the keys are made as the files are analysed
    cache_dir = getattr(options, "cache_dir", None)
    if cache_dir and targets:
        start = time.perf_counter()
        try:
            cache = Cache(cache_dir, _config(ruleset, options), note)
        except CacheError as exc:
            note(f"{exc}; results are not cached")
        if cache is not None and cache.is_empty():
            # Nothing can be found in an empty store (a first run, a cleared cache): the files are
            # not read and hashed here first; each key is made from the bytes that are analysed.
            key_config = cache.config
        elif cache is not None:
            for i, (size, key, stamp) in enumerate(_keys(cache, targets, options.max_file_size, jobs)):
                if key is not None:
                    sizes[i] = size
                    keys[i] = (key, stamp)
            run_key = _run_key(cache.config, targets, keys) if allow_final else None
            if run_key is not None:
                # Nothing changed since a run over exactly these inputs: its final output (after the
                # cross-module step) is all that is needed; no per-file result is decoded.
                final = cache.get_run(run_key[1], run_key[2])
                if final is not None and len(final) == len(targets):
                    cache.close()
                    if stats is not None:
                        stats.cached += len(targets)
                        stats.phases["cache lookup"] = stats.phases.get("cache lookup", 0.0) \
                            + time.perf_counter() - start
                    done = _Results(final)
                    done.final = True
                    return done
            found = cache.get_many([key for key, _ in keys.values()])
            for i, (key, _) in keys.items():
                hit = found.get(key)
                if hit is not None:
                    results[i] = hit
            if stats is not None:
                stats.cached += len(found)
                stats.phases["cache lookup"] = stats.phases.get("cache lookup", 0.0) + time.perf_counter() - start

    todo = [i for i, r in enumerate(results) if r is None]
    if getattr(options, "keep_freed_memory", False) and len(todo) >= MIN_FILES_TO_KEEP_MEMORY:
        keep_freed_memory()
    for i in todo:
        if not sizes[i]:
            sizes[i] = _size(targets[i])
    pending: list[tuple] = []  # (key, result) or (key, result, its texts) to store

    timed_out_any = False

    def finished(i: int, result: FileResult, seconds: float, timed_out: bool, keyed: tuple | None) -> None:
        nonlocal timed_out_any
        timed_out_any = timed_out_any or timed_out
        results[i] = result
        if keyed is not None:
            keys[i] = keyed[:2]
        if stats is not None:
            stats.analysed += 1
            stats.timed_out += timed_out
            stats.file_seconds.append((seconds, result.path))
        if cache is not None and i in keys and not timed_out:
            key, stamp = keys[i]
            if _stamp(targets[i]) == stamp:  # unchanged while it was analysed
                pending.append((key, result) if keyed is None else (key, result, keyed[2]))
                if len(pending) >= 256:
                    cache.put_many(pending)
                    pending.clear()

    # 2. the analysis
    progress = Progress(len(todo), enabled=bool(getattr(options, "progress", False)))
    start = time.perf_counter()
    try:
        total_bytes = sum(sizes[i] for i in todo)
        if jobs > 1 and len(todo) >= MIN_FILES_FOR_POOL and total_bytes >= MIN_BYTES_FOR_POOL:
            order = sorted(((i, targets[i], sizes[i]) for i in todo), key=lambda item: (-item[2], item[0]))
            _STATE = None
            rule_times: dict[str, list[float]] = {}
            if _context().get_start_method() == "fork":
                worker_ruleset = engine.RuleSet.from_options(options) if detailed else ruleset
                worker_times: dict[str, list[float]] = {}
                if detailed:
                    instrument(worker_ruleset, worker_times)
                _STATE = (worker_ruleset, options, timeout, worker_times)
            restore = instrument_steps(worker_times) if detailed and _STATE is not None else None
            try:
                processes = _run_pool(_chunks(order), jobs, options, timeout, detailed, targets,
                                      finished, progress, rule_times, key_config)
            finally:
                _STATE = None
                if restore is not None:
                    restore()
            if stats is not None:
                stats.processes += processes
                stats.add_rule_times(rule_times)
        else:
            times: dict[str, list[float]] = {}
            local = ruleset
            restore = None
            if detailed:
                local = engine.RuleSet.from_options(options)
                instrument(local, times)
                restore = instrument_steps(times)
            try:
                with _AlarmHandler(timeout) as can_time_out, gc_paused():
                    for i in todo:
                        finished(i, *analyse_one(targets[i], local, options,
                                                 timeout if can_time_out else 0, key_config))
                        progress.advance(1, targets[i].display)
            finally:
                if restore is not None:
                    restore()
            if stats is not None:
                stats.add_rule_times(times)
        if cache is not None:
            cache.put_many(pending)
    finally:
        progress.close()
        if cache is not None:
            cache.close()
        if stats is not None:
            stats.phases["per-file analysis"] = stats.phases.get("per-file analysis", 0.0) + time.perf_counter() - start
    done = _Results(r for r in results if r is not None)
    if cache is not None and len(done) == len(targets) and not timed_out_any:
        # Every input is known by its key: the global phase's output can be cached for this run.
        done.run_key = _run_key(cache.config, targets, keys)
        done.bare_texts = cache.bare_texts
    return done


def _run_key(config: str, targets: list[Target], keys: dict) -> tuple[str, str, str, int] | None:
    """(config, slot, inputs digest, count) of a run whose every file has a cache key, else None."""
    if len(keys) != len(targets):
        return None
    paths = "\0".join(t.display for t in targets)
    slot = "run:" + hashlib.sha256(f"run\0{config}\0{paths}".encode("utf-8", "surrogatepass")).hexdigest()
    inputs = hashlib.sha256("\0".join(keys[i][0] for i in range(len(targets))).encode()).hexdigest()
    return config, slot, inputs, len(targets)


class _Results(list):
    """The per-file results, and (when every file had a cache key) what identifies the run's
    inputs: (config, slot, inputs digest, count), for :func:`cached_global_phase`. ``final``: these
    are already the global phase's stored output (nothing changed since it was computed)."""

    run_key: tuple[str, str, str, int] | None = None
    final: bool = False
    bare_texts: dict | None = None  # Cache.bare_texts of the per-file results stored in this run


def cached_global_phase(results: list[FileResult], ruleset: engine.RuleSet, options: engine.Options,
                        compute) -> list[FileResult]:
    """``compute(results, ruleset, options)`` (the cross-module step), or its stored output when
    the run's inputs (every file's path and bytes, the rules and options) are exactly those it was
    computed from: a re-run with nothing changed does no cross-module work either."""
    if getattr(results, "final", False):
        return results
    run_key = getattr(results, "run_key", None)
    cache_dir = getattr(options, "cache_dir", None)
    if run_key is None or not cache_dir or len(results) != run_key[3]:
        return compute(results, ruleset, options)
    config, slot, inputs, _ = run_key
    try:
        cache = Cache(cache_dir, config)
    except CacheError:
        return compute(results, ruleset, options)
    try:
        stored = cache.get_run(slot, inputs)
        if stored is not None and len(stored) == len(results):
            return stored
        output = compute(results, ruleset, options)
        cache.put_run(slot, inputs, list(output), getattr(results, "bare_texts", None))
        return output
    finally:
        cache.close()


def _run_pool(chunks, jobs, options, timeout, detailed, targets, finished, progress, rule_times,
              key_config: str | None = None) -> int:
    """Run the chunks in a pool. When a worker dies, the files the workers were busy with are the
    suspects: each is retried alone in a fresh worker (and skipped if it kills that one too);
    every other unfinished file goes to a fresh pool."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    pool = _Pool(min(jobs, len(chunks)), options, timeout, detailed)
    done: set[int] = set()

    def record(batch, times) -> None:
        for i, result, seconds, timed_out, keyed in batch:
            if i not in done:
                done.add(i)
                finished(i, result, seconds, timed_out, keyed)
                progress.advance(1, result.path)
        for label, (seconds, calls) in times.items():
            entry = rule_times.setdefault(label, [0.0, 0])
            entry[0] += seconds
            entry[1] += calls

    remaining = chunks
    while remaining:
        busy = _busy_array(pool.jobs)
        executor = pool.executor(pool.jobs, busy)
        unfinished: list[tuple[int, Target]] = []
        broken = False
        try:
            futures = {executor.submit(_work, chunk, key_config): chunk for chunk in remaining}
            manager = getattr(executor, "_executor_manager_thread", None)
            waiting = set(futures)
            while waiting:
                finished_now, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in finished_now:
                    try:
                        record(*future.result())
                    except BrokenProcessPool:
                        broken = True
                        unfinished.extend(futures[future])
                    except Exception:  # a result that could not travel back: retried alone
                        unfinished.extend(futures[future])
        except BaseException:
            _stop(executor)
            raise
        executor.shutdown(wait=True)
        if manager is not None:
            manager.join()  # a broken pool forgets its manager thread; never fork beside it
            _settle_threads()
        suspects = {i for i in busy[:] if i >= 0} if broken else {i for i, _ in unfinished}
        left = [(i, t) for i, t in unfinished if i not in done]
        if not (suspects & {i for i, _ in left}):
            suspects = {i for i, _ in left}  # cannot tell which file it was: try each alone
        for i, target in sorted((item for item in left if item[0] in suspects), key=lambda item: item[0]):
            _isolated(pool, i, target, record, key_config)
        remaining = _chunks([(i, t, 0) for i, t in left if i not in suspects and i not in done])
    return pool.started


def _isolated(pool: _Pool, i: int, target: Target, record, key_config: str | None = None) -> None:
    """Analyse one file in a worker of its own; if that worker dies too, the file is skipped."""
    from concurrent.futures.process import BrokenProcessPool

    executor = pool.executor(1, None)
    manager = None
    try:
        future = executor.submit(_work, [(i, target)], key_config)
        manager = getattr(executor, "_executor_manager_thread", None)
        record(*future.result())
    except BrokenProcessPool:
        record([(i, FileResult(target.display, (), (Skipped(
            target.display, "the process analysing this file died (killed, or out of memory)"),),
            reviewed=False), 0.0, True, None)], {})
    except BaseException:
        _stop(executor)
        raise
    finally:
        executor.shutdown(wait=True)
        if manager is not None:
            manager.join()
            _settle_threads()


def _settle_threads(limit: float = 0.2) -> None:
    """Wait (briefly) until the threads of a finished pool have really exited, so that the next
    fork happens in a single-threaded process."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if len(os.listdir("/proc/self/task")) <= 1:
                return
        except OSError:
            return
        time.sleep(0.002)


def _busy_array(slots: int):
    """Shared slots where each worker writes the index of the file it is analysing (-1: none)."""
    array = _context().Array("q", [-1] * slots, lock=False)
    return array


def _config(ruleset: engine.RuleSet, options: engine.Options) -> str:
    from secreview.cache import config_key

    return config_key([rule.id for rule in ruleset.rules], options)


def _keys(cache: Cache, targets: list[Target], max_bytes: int, jobs: int) -> list[tuple]:
    """(size, cache key, stamp) of every target, in order ((0, None, None) for a file that cannot
    be read). Reading and hashing release the interpreter lock, so with more than one job the
    files are read by that many threads (the workers have not started yet)."""
    def one(target: Target) -> tuple:
        read = _read_for_key(target, max_bytes)
        if read is None:
            return 0, None, None
        data, stamp = read
        return len(data), cache.key(target.display, data), stamp

    if jobs > 1 and len(targets) >= MIN_FILES_FOR_POOL:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(jobs) as pool:
            return list(pool.map(one, targets, chunksize=32))
    return [one(target) for target in targets]


def _read_for_key(target: Target, max_bytes: int) -> tuple[bytes, tuple[int, int]] | None:
    """The bytes of a regular file within the size limit, and its (size, mtime) stamp."""
    try:
        info = os.stat(target.real_path)
        if not stat.S_ISREG(info.st_mode):  # (before opening it: opening a FIFO would wait)
            return None
        data = read_file(target.real_path, info.st_size, max_bytes + 1 if max_bytes > 0 else None)
    except (OSError, ValueError):
        return None
    if max_bytes > 0 and len(data) > max_bytes:
        return None
    return data, (info.st_size, info.st_mtime_ns)


def _stamp(target: Target) -> tuple[int, int] | None:
    try:
        info = os.stat(target.real_path)
    except (OSError, ValueError):
        return None
    return info.st_size, info.st_mtime_ns


def _size(target: Target) -> int:
    try:
        return os.stat(target.real_path).st_size
    except (OSError, ValueError):
        return 0
