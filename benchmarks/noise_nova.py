#!/usr/bin/env python3
"""Noise benchmark: run secreview on OpenStack Nova 34.0.0 and report findings per 1,000 lines.

    python benchmarks/noise_nova.py                 # counts, split production / test and by rule
    python benchmarks/noise_nova.py --sample 30     # plus 30 production findings to read by hand
    python benchmarks/noise_nova.py --select SR9    # only some rules (ids, names or prefixes)

The source distribution is fetched once with ``pip download nova==34.0.0 --no-deps --no-binary
:all:`` into ``benchmarks/_work/`` (git-ignored) and unpacked there; later runs reuse it. The
sample is drawn with a fixed seed, so the same code and rules give the same sample, and a
reviewer can record a verdict per finding. Only the standard library is used; secreview runs as
a separate process (``python -m secreview``), preferring the repository's ``.venv``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import textwrap

PACKAGE = "nova"
VERSION = "34.0.0"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "_work")
SEED = 5  # fixed: the sample must not change from run to run

_TEST_DIRS = {"tests", "test", "testing", "functional", "unit", "testcases"}
_SKIP_DIRS = {".git", ".tox", ".venv", "venv", "build", "dist", "__pycache__", "node_modules", ".eggs"}


class BenchmarkError(Exception):
    """A step failed; the message says which and why."""


# ----------------------------------------------------------------------------- source


def source_dir(work: str = WORK) -> str:
    """The unpacked sdist, downloading and unpacking it when missing."""
    unpacked = os.path.join(work, f"{PACKAGE}-{VERSION}")
    if os.path.isdir(unpacked):
        return unpacked
    os.makedirs(work, exist_ok=True)
    archive = os.path.join(work, f"{PACKAGE}-{VERSION}.tar.gz")
    if not os.path.exists(archive):
        print(f"downloading {PACKAGE}=={VERSION} (source distribution) into {work} ...", file=sys.stderr, flush=True)
        command = [_python(), "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps",
                   "--no-binary", ":all:", "--dest", work]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not os.path.exists(archive):
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise BenchmarkError(f"pip download failed: {' | '.join(tail) or 'no output'}")
    print(f"unpacking {os.path.basename(archive)} ...", file=sys.stderr, flush=True)
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(work, filter="data")  # refuses absolute paths, links out of the tree, devices
        else:  # Python without extraction filters: check member names by hand
            base = os.path.realpath(work)
            for member in tar.getmembers():
                target = os.path.realpath(os.path.join(base, member.name))
                if not target.startswith(base + os.sep) or member.issym() or member.islnk() or member.isdev():
                    raise BenchmarkError(f"refusing to unpack suspicious member {member.name!r}")
            tar.extractall(work)
    if not os.path.isdir(unpacked):
        raise BenchmarkError(f"{archive} did not unpack to {unpacked}")
    return unpacked


def _python() -> str:
    venv = os.path.join(ROOT, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def is_test_path(path: str) -> bool:
    """Test code by path: under a tests folder, or named like a test module."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    name = parts[-1] if parts else path
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return any(p.lower() in _TEST_DIRS for p in parts[:-1])


def count_lines(src: str) -> dict[str, dict[str, int]]:
    """Physical lines and files of Python code, by production / test, keyed by relative path too."""
    totals = {"production": {"files": 0, "lines": 0}, "test": {"files": 0, "lines": 0}}
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                lines = handle.read().count(b"\n")
            kind = "test" if is_test_path(os.path.relpath(path, src)) else "production"
            totals[kind]["files"] += 1
            totals[kind]["lines"] += lines
    return totals


# ----------------------------------------------------------------------------- review


def run_secreview(src: str, select: list[str], ignore: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "report.json")
        command = [_python(), "-m", "secreview", "--format", "json", "--exit-zero", "-o", out]
        for ref in select:
            command += ["--select", ref]
        for ref in ignore:
            command += ["--ignore", ref]
        command.append(src)
        print(f"running secreview on {src} ...", file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0 or not os.path.exists(out):
            raise BenchmarkError(f"secreview failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        with open(out, encoding="utf-8") as handle:
            return json.load(handle)


def relative(src: str, path: str) -> str:
    full = os.path.abspath(path if os.path.isabs(path) else os.path.join(ROOT, path))
    return os.path.relpath(full, src).replace(os.sep, "/")


# ----------------------------------------------------------------------------- report


def per_kloc(count: int, lines: int) -> float:
    return 1000.0 * count / lines if lines else 0.0


def summarise(src: str, report: dict, totals: dict) -> dict:
    by_rule: dict[str, dict] = {}
    counts = collections.Counter()
    for finding in report.get("findings", []):
        kind = "test" if is_test_path(relative(src, finding["location"]["path"])) else "production"
        counts[kind] += 1
        entry = by_rule.setdefault(finding["rule_id"], {"name": finding["rule_name"], "production": 0, "test": 0})
        entry[kind] += 1
    return {
        "package": f"{PACKAGE}=={VERSION}",
        "files": {k: v["files"] for k, v in totals.items()},
        "lines": {k: v["lines"] for k, v in totals.items()},
        "findings": dict(counts),
        "per_kloc": {k: round(per_kloc(counts[k], totals[k]["lines"]), 3) for k in totals},
        "by_rule": {rule: {**entry,
                           "production_per_kloc": round(per_kloc(entry["production"],
                                                                 totals["production"]["lines"]), 3),
                           "test_per_kloc": round(per_kloc(entry["test"], totals["test"]["lines"]), 3)}
                    for rule, entry in sorted(by_rule.items())},
        "skipped": len(report.get("skipped", [])),
    }


def print_summary(summary: dict) -> None:
    lines, findings, rate = summary["lines"], summary["findings"], summary["per_kloc"]
    print(f"{summary['package']}: {summary['files']['production']:,} production files "
          f"({lines['production']:,} lines), {summary['files']['test']:,} test files ({lines['test']:,} lines)"
          f"; {summary['skipped']} skipped by secreview")
    for kind in ("production", "test"):
        print(f"  {kind:<10} {findings.get(kind, 0):>6} findings  {rate[kind]:>7.3f} per 1,000 lines")
    if not summary["by_rule"]:
        print("  no findings")
        return
    print()
    print(f"  {'rule':<6} {'name':<30} {'prod':>6} {'/kloc':>7}   {'test':>6} {'/kloc':>7}")
    for rule, entry in summary["by_rule"].items():
        print(f"  {rule:<6} {entry['name'][:30]:<30} {entry['production']:>6} {entry['production_per_kloc']:>7.3f}"
              f"   {entry['test']:>6} {entry['test_per_kloc']:>7.3f}")


def sample(src: str, report: dict, size: int, seed: int = SEED) -> list[dict]:
    """``size`` production findings drawn with a fixed seed from the findings in a stable order."""
    production = [f for f in report.get("findings", [])
                  if not is_test_path(relative(src, f["location"]["path"]))]
    production.sort(key=lambda f: (relative(src, f["location"]["path"]), f["location"]["line"],
                                   f["location"]["column"], f["rule_id"]))
    if size >= len(production):
        return production
    picked = random.Random(seed).sample(range(len(production)), size)
    return [production[i] for i in sorted(picked)]


def print_sample(src: str, findings: list[dict], context: int = 2) -> None:
    print()
    print(f"Sample of {len(findings)} production findings (seed {SEED}); mark each real or not:")
    for number, finding in enumerate(findings, 1):
        loc = finding["location"]
        path = relative(src, loc["path"])
        print()
        print(f"[{number}] {finding['rule_id']} {finding['rule_name']} "
              f"({finding['severity']}/{finding['confidence']})  {path}:{loc['line']}")
        print(textwrap.indent(textwrap.fill(finding["message"], 100), "    "))
        for number_line, text in _excerpt(os.path.join(src, path), loc["line"], loc["end_line"], context):
            marker = ">" if loc["line"] <= number_line <= loc["end_line"] else " "
            print(f"    {marker}{number_line:>6} | {text}")
        print("    verdict: real / not real")


def _excerpt(path: str, first: int, last: int, context: int) -> list[tuple[int, str]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    last = min(last, first + 8)
    start, end = max(1, first - context), min(len(lines), last + context)
    return [(n, lines[n - 1].rstrip()) for n in range(start, end + 1)]


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, metavar="N",
                        help="print N production findings, picked with a fixed seed, for a human to read")
    parser.add_argument("--select", action="append", default=[], help="rules to run (passed to secreview)")
    parser.add_argument("--ignore", action="append", default=[], help="rules to leave out (passed to secreview)")
    parser.add_argument("--json", metavar="FILE", help="also write the summary (and the sample) as JSON")
    parser.add_argument("--work", default=WORK, help=f"download and unpack folder (default {WORK})")
    args = parser.parse_args(argv)
    try:
        src = source_dir(args.work)
        totals = count_lines(src)
        report = run_secreview(src, args.select, args.ignore)
    except BenchmarkError as exc:
        print(f"noise_nova: error: {exc}", file=sys.stderr)
        return 2
    summary = summarise(src, report, totals)
    print_summary(summary)
    picked = sample(src, report, args.sample) if args.sample > 0 else []
    if picked:
        print_sample(src, picked)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"summary": summary, "sample": picked}, handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
