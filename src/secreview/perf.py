"""Run feedback on standard error: the progress bar and the ``--profile`` report.

The progress bar appears only on a terminal, only once a run has taken about a second, and
never with ``--quiet``; it is cleared before the report is written, so it never mixes with
output. ``--profile`` collects the time of each phase, of each file and of each rule (the
per-rule clock is only wound when profiling, so ordinary runs pay nothing for it).
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

SLOWEST = 10  # files and rules listed by --profile


def progress_wanted(stream: TextIO, quiet: bool) -> bool:
    """A progress bar is drawn on a terminal only, never with --quiet or TERM=dumb."""
    if quiet or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class gc_paused:
    """Automatic garbage collection off for a block, and as it was after; with ``collect``, the
    young generation is collected once on the way out.

    secreview makes objects in large batches of one lifetime, which collections triggered by
    allocation counts would walk again and again: the modules and rules loaded at start-up (they
    live as long as the process; ``collect=False``), and while files are analysed each file's
    syntax tree, index and data-flow states, millions of objects that live exactly as long as
    the file is analysed (secreview.parallel: :func:`~secreview.parallel.analyse_one` collects
    the young generation after each file, and the block once more at its end). Those
    collections had cost about a third of the per-file time on Nova. ``Index.release`` breaks
    the index's cycles so that reference counting frees a file's objects at once; the per-file
    collection catches any other cycle."""

    def __init__(self, collect: bool = True):
        self.collect = collect
        self.enabled = False

    def __enter__(self) -> gc_paused:
        self.enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc) -> None:
        if self.collect:
            gc.collect(0)
        if self.enabled:
            gc.enable()


# glibc's mallopt parameters (<malloc.h>) and the values secreview sets (see keep_freed_memory)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024
_TRIM_THRESHOLD = 128 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Let the C library keep the memory a file's analysis frees for the next file, instead of
    giving it back to the system and asking for it again (glibc only; True when set).

    A review allocates and frees each file's tree and index in turn. By default glibc serves the
    largest blocks (the index's tables of a big module, the parser's buffers) with their own
    mappings, and returns the top of its heap to the system once 128 KB of it are free; every
    file then takes fresh pages from the kernel, each zeroed on first touch. On Nova that was
    95,000 page faults in a -j 1 run whose peak is 161 MB (41,000 pages); with blocks of up to 32
    MB taken from the heap and the heap trimmed only past 128 MB free, 51,500, and 0.06 s less
    system time. The peak is unchanged: memory is reused, not kept beyond it. Set for a review
    run of the command line only (process-wide settings are not a library's to change); the
    forked worker processes inherit them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # musl and others: no such parameters
            return False
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt  # the C library this interpreter runs on
    except (OSError, ValueError, AttributeError, ImportError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


class Progress:
    """``secreview [#####-----] 812/1518 files  53%  3.1 s  path``, redrawn in place at most ten
    times a second, starting once ``delay`` seconds have passed."""

    def __init__(self, total: int, stream: TextIO | None = None, *, enabled: bool = True, delay: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, width: int | None = None):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.delay = delay
        self.clock = clock
        self.width = width
        self.done = 0
        self.start = clock()
        self.last_draw = -1.0
        self.drawn = False

    def advance(self, count: int = 1, label: str = "") -> None:
        self.done += count
        if not self.enabled:
            return
        now = self.clock()
        if now - self.start < self.delay or (now - self.last_draw < 0.1 and self.done < self.total):
            return
        self.last_draw = now
        self._draw(now, label)

    def _draw(self, now: float, label: str) -> None:
        import shutil  # here, not at the top: only a drawn progress bar needs it (start-up cost)

        width = self.width or shutil.get_terminal_size((80, 24)).columns
        cells = 24
        filled = cells * self.done // self.total if self.total else cells
        bar = "#" * filled + "-" * (cells - filled)
        line = (f"secreview [{bar}] {self.done}/{self.total} files {100 * self.done // max(self.total, 1):3d}% "
                f"{now - self.start:5.1f} s")
        room = width - len(line) - 3
        if label and room > 8:
            line += "  " + (label if len(label) <= room else "..." + label[-(room - 3):])
        try:
            self.stream.write("\r" + line[: width - 1] + "\x1b[K")
            self.stream.flush()
            self.drawn = True
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        """Erase the bar (the report that follows starts on a clean line)."""
        if self.drawn:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self.drawn = False
        self.enabled = False


@dataclass
class RunStats:
    """What ``--profile`` reports (and the notes a run has for standard error).

    ``detailed`` turns on per-rule timing; phases, per-file times and counts are always cheap to
    collect."""

    detailed: bool = False
    phases: dict[str, float] = field(default_factory=dict)
    file_seconds: list[tuple[float, str]] = field(default_factory=list)
    rule_seconds: dict[str, list[float]] = field(default_factory=dict)  # rule -> [seconds, calls]
    analysis_seconds: dict[str, float] = field(default_factory=dict)  # per-file sub-phases, summed
    files: int = 0
    cached: int = 0
    analysed: int = 0
    timed_out: int = 0
    jobs: int = 1
    processes: int = 0  # worker processes started (0: analysed in this process)
    notes: list[str] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start

    def add_rule_times(self, times: dict[str, list[float]]) -> None:
        """Rule times (``"SR101 name"``) and per-file step times (``"phase:index"``)."""
        for rule, (seconds, calls) in times.items():
            if rule.startswith("phase:"):
                self.analysis_seconds[rule[6:]] = self.analysis_seconds.get(rule[6:], 0.0) + seconds
                continue
            entry = self.rule_seconds.setdefault(rule, [0.0, 0])
            entry[0] += seconds
            entry[1] += calls

    def render(self) -> str:
        """The profile: phases (wall time), slowest files, slowest rules (time summed over files
        and processes)."""
        where = f"{self.processes} worker processes" if self.processes else "in one process"
        lines = [f"secreview profile: {self.files} files: {self.analysed} analysed ({where}, -j {self.jobs}), "
                 f"{self.cached} from the cache" + (f", {self.timed_out} over the time budget" if self.timed_out else "")]
        lines.append("phase                               seconds")
        total = 0.0
        for name, seconds in self.phases.items():
            lines.append(f"  {name:<32} {seconds:8.3f}")
            total += seconds
        lines.append(f"  {'total':<32} {total:8.3f}")
        if self.analysis_seconds or self.rule_seconds:
            lines.append("per-file steps (summed over files) seconds")
            steps = dict(sorted(self.analysis_seconds.items()))
            if self.rule_seconds:
                steps["rules"] = sum(seconds for seconds, _ in self.rule_seconds.values())
            for name, seconds in sorted(steps.items(), key=lambda item: (-item[1], item[0])):
                lines.append(f"  {name:<32} {seconds:8.3f}")
        if self.file_seconds:
            lines.append("slowest files                       seconds")
            for seconds, path in sorted(self.file_seconds, key=lambda item: (-item[0], item[1]))[:SLOWEST]:
                lines.append(f"  {seconds:8.3f}  {path}")
        if self.rule_seconds:
            lines.append("slowest rules                       seconds    calls")
            ranked = sorted(self.rule_seconds.items(), key=lambda item: (-item[1][0], item[0]))[:SLOWEST]
            for rule, (seconds, calls) in ranked:
                lines.append(f"  {rule:<32} {seconds:8.3f} {int(calls):8d}")
        return "\n".join(lines) + "\n"
