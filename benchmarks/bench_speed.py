#!/usr/bin/env python3
"""Speed benchmark: secreview against the parse floor and Bandit on large real projects.

    .venv/bin/python benchmarks/bench_speed.py                       # nova and django
    .venv/bin/python benchmarks/bench_speed.py --projects nova       # one project
    .venv/bin/python benchmarks/bench_speed.py --no-bandit --json out.json

Downloads pinned source distributions (with pip, into benchmarks/_work/, which git ignores) and
installs Bandit into its own virtual environment there. Then, for each project, in one run:

  parse floor     read and ast.parse every *.py file, one process (the cost of merely parsing)
  cold -j 1       secreview, one process, empty cache
  cold -j N       secreview, one process per core, empty cache
  warm            secreview again with the cache of the run before, nothing changed
  warm, 1 edit    the same after changing one file
  bandit          Bandit on the same tree (bandit -r), in its own virtual environment

Each is a separate process run from a cold start; the script prints wall time, peak memory (the
largest sum, over the process and its children alive at a sample, of each one's peak resident
memory so far, VmHWM; sampled every 50 ms) and the ratios the targets are stated in; it also
checks that every -j 1, -j N and both warm runs give the same report, byte for byte (the one-edit
run is compared once the edit is undone). The parse floor and the two cold runs are made --repeat
times (default 5), interleaved, and each is reported by its median (all the times are printed):
on a machine whose speed drifts by 10-20 % within minutes, one floor measured in a slow or fast
moment moved the ratios by as much, and with medians of three, two nova runs in twelve still
landed 8-11 % from the typical -j 1 / floor ratio (1.74 and 2.16 around 1.95); five narrow that
spread, they do not remove it (one run of three with five gave 2.16 too). Bandit runs once, between
two more cold -j N runs; its ratio is taken against their mean, measured in the same moment.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "_work")
REPO = os.path.dirname(HERE)

PROJECTS = {
    # name: (pip requirement, folder inside the sdist that holds the code)
    "nova": ("nova==34.0.0", "nova-34.0.0"),
    "django": ("Django==5.2.8", "django-5.2.8"),
}
BANDIT = "bandit==1.9.4"

TARGETS = {
    "cold -j 1 / parse floor": ("<=", 2.0),
    "cold -j 1 / cold -j N": (">=", 1.7),
    "warm (s)": ("<", 0.5),
    "bandit / cold -j N": (">=", 10.0),
    "peak memory (MB)": ("<", 1536),
}

FLOOR = r"""
import ast, os, sys, warnings
warnings.simplefilter("ignore")
SKIP = {".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "__pycache__", "build", "dist", "node_modules"}
files = parsed = 0
for root, dirs, names in os.walk(sys.argv[1]):
    dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.endswith(".egg-info"))
    for name in sorted(names):
        if name.endswith(".py"):
            files += 1
            with open(os.path.join(root, name), "rb") as handle:
                data = handle.read()
            try:
                ast.parse(data)
                parsed += 1
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                pass
print(files, parsed)
"""


# ---------------------------------------------------------------------------- set-up


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fetch(project: str) -> str:
    requirement, folder = PROJECTS[project]
    tree = os.path.join(WORK, folder)
    if os.path.isdir(tree):
        return tree
    os.makedirs(WORK, exist_ok=True)
    name, version = requirement.split("==")
    archive = next((os.path.join(WORK, f) for f in os.listdir(WORK)
                    if f.lower().startswith(f"{name.lower()}-{version}") and f.endswith(".tar.gz")), None)
    if archive is None:
        log(f"downloading {requirement} (source distribution) ...")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        requirement, "-d", WORK], check=True)
        archive = next(os.path.join(WORK, f) for f in os.listdir(WORK)
                       if f.lower().startswith(f"{name.lower()}-{version}") and f.endswith(".tar.gz"))
    log(f"unpacking {os.path.basename(archive)} ...")
    with tarfile.open(archive) as tar:
        tar.extractall(WORK, filter="data")
    unpacked = os.path.join(WORK, os.path.basename(archive)[: -len(".tar.gz")])
    if unpacked != tree and os.path.isdir(unpacked):
        os.replace(unpacked, tree)
    return tree


def bandit() -> str:
    venv = os.path.join(WORK, "bandit-venv")
    exe = os.path.join(venv, "bin", "bandit")
    if not os.path.exists(exe):
        log(f"installing {BANDIT} into {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", BANDIT], check=True)
    return exe


# ---------------------------------------------------------------------------- measuring


SAMPLE_SECONDS = 0.05


def _tree_rss(pid: int) -> int:
    """Peak resident memory (VmHWM) of a process and its descendants, summed, in bytes: at least
    the sum of their resident memory at any moment since each started, so a sample every
    SAMPLE_SECONDS misses no peak of a process it sees. (Sampling the current VmRSS every 10 ms
    instead cost the measuring process 0.075 s of CPU in a 3 s run, taken from the two cores the
    -j 2 run under measure was using: about 2 % of its wall time.)"""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(argv: list[str], cwd: str, env: dict | None = None) -> dict:
    """Run a command; wall seconds and peak memory (MB) of its process tree."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return {"seconds": seconds, "peak_mb": peak / (1024 * 1024), "code": process.returncode,
            "stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace")}


def snapshot(scratch: str) -> str:
    """A copy of secreview's source for the whole benchmark (edits made meanwhile do not count),
    byte-compiled as an installation by pip is (Bandit's virtual environment is): where
    PYTHONDONTWRITEBYTECODE is set, as on these machines, every run would otherwise compile
    secreview's modules again (about 0.1 s of each run)."""
    target = os.path.join(scratch, "src")
    shutil.copytree(os.path.join(REPO, "src", "secreview"), os.path.join(target, "secreview"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(target, quiet=1)
    return target


def secreview(tree: str, scratch: str, name: str, jobs: int, cache: str) -> dict:
    report = os.path.join(scratch, f"{name}.json")
    # One hash seed for every run, so the byte-for-byte comparison checks what -j and the cache do
    # (output must not depend on the seed either; that is the test suite's business).
    env = dict(os.environ, PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join(filter(None, [os.path.join(scratch, "src"), os.environ.get("PYTHONPATH")])))
    result = measure([sys.executable, "-m", "secreview", "--format", "json", "-o", report, "--exit-zero",
                      "--quiet", "-j", str(jobs), "--cache-dir", cache, "."], cwd=tree, env=env)
    if result["code"] != 0:
        raise SystemExit(f"secreview failed ({name}): {result['stderr'].strip()}")
    with open(report, "rb") as handle:
        result["report"] = handle.read()
    summary = json.loads(result["report"])["summary"]
    result["files"] = summary["files_reviewed"] + summary["files_skipped"]
    result["findings"] = summary["findings"]
    return result


def pick_file(tree: str) -> str:
    """A mid-sized production module to edit for the one-edit run."""
    candidates = []
    for root, dirs, names in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in ("tests", "test", ".git"))
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                candidates.append((abs(os.path.getsize(path) - 20000), path))
    return min(candidates)[1]


def _median_run(runs: list[dict]) -> dict:
    """The run of median wall time (the lower middle one of an even count), with the highest peak
    memory of them all."""
    chosen = dict(sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2])
    chosen["peak_mb"] = max(r["peak_mb"] for r in runs)
    return chosen


def bench(project: str, jobs: int, with_bandit: bool, repeat: int = 5) -> dict:
    tree = fetch(project)
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="secreview-bench-") as scratch:
        snapshot(scratch)
        # The three runs the ratios of cold runs rest on are repeated, interleaved (floor, -j 1,
        # -j N, floor, ...), and each is reported by its median: the machine's speed drifts by
        # 10-20 % within minutes, and one floor measured in a slow moment moved a ratio by as much.
        samples: dict[str, list[dict]] = {"parse floor": [], "cold -j 1": [], f"cold -j {jobs}": []}
        for k in range(repeat):
            log(f"[{project}] parse floor ({k + 1}/{repeat}) ...")
            floor = measure([sys.executable, "-c", FLOOR, "."], cwd=tree)
            floor["files"] = int(floor["stdout"].split()[0])
            samples["parse floor"].append(floor)
            log(f"[{project}] secreview cold -j 1 ({k + 1}/{repeat}) ...")
            samples["cold -j 1"].append(secreview(tree, scratch, f"cold1-{k}", 1, os.path.join(scratch, f"cache1-{k}")))
            log(f"[{project}] secreview cold -j {jobs} ({k + 1}/{repeat}) ...")
            # the warm runs below use the cache of the last of these
            samples[f"cold -j {jobs}"].append(secreview(tree, scratch, f"coldN-{k}", jobs, os.path.join(scratch, "cacheN")
                                                        if k == repeat - 1 else os.path.join(scratch, f"cacheN-{k}")))
        for name, runs in samples.items():
            rows[name] = _median_run(runs)
        floor = rows["parse floor"]
        log(f"[{project}] secreview warm, nothing changed ...")
        rows["warm"] = secreview(tree, scratch, "warm", jobs, os.path.join(scratch, "cacheN"))
        edited = pick_file(tree)
        with open(edited, "rb") as handle:
            original = handle.read()
        log(f"[{project}] secreview warm, after editing {os.path.relpath(edited, tree)} ...")
        try:
            with open(edited, "ab") as handle:
                handle.write(b"\n\ndef _benchmark_edit(value):\n    return value\n")
            rows["warm, 1 file edited"] = secreview(tree, scratch, "edit", jobs, os.path.join(scratch, "cacheN"))
        finally:
            with open(edited, "wb") as handle:
                handle.write(original)
        rows["warm, edit undone"] = secreview(tree, scratch, "undo", jobs, os.path.join(scratch, "cacheN"))
        bracket: list[dict] = []
        if with_bandit:
            # Bandit, at half a minute a run, runs once; the cold -j N runs it is compared with are
            # the two made just before and just after it (bracketing), so that both sides of the
            # ratio are measured in the same moment of the machine: the interleaved -j N runs
            # above were made a minute or two earlier, in what can be another spell of the machine
            # (it moves by 10-15 % within minutes, either way).
            log(f"[{project}] secreview cold -j {jobs}, just before bandit ...")
            bracket.append(secreview(tree, scratch, "bandit-before", jobs, os.path.join(scratch, "cacheB0")))
            log(f"[{project}] bandit ...")
            rows["bandit"] = measure([bandit(), "-r", "-q", "-f", "json", "-o", os.path.join(scratch, "bandit.json"),
                                      "."], cwd=tree)
            log(f"[{project}] secreview cold -j {jobs}, just after bandit ...")
            bracket.append(secreview(tree, scratch, "bandit-after", jobs, os.path.join(scratch, "cacheB1")))
    reports = {r["report"] for k in ("cold -j 1", f"cold -j {jobs}") for r in samples[k]} \
        | {rows[k]["report"] for k in ("warm", "warm, edit undone")} | {r["report"] for r in bracket}
    result = {
        "project": PROJECTS[project][0],
        "files": rows["cold -j 1"]["files"],
        "findings": rows["cold -j 1"]["findings"],
        "edited": os.path.relpath(edited, tree),
        "identical_reports": len(reports) == 1,
        "runs": {name: {"seconds": round(r["seconds"], 3), "peak_mb": round(r["peak_mb"], 1)} for name, r in rows.items()},
        "repeated": {name: [round(r["seconds"], 3) for r in runs] for name, runs in samples.items()},
    }
    if bracket:
        result["bandit bracket"] = [round(r["seconds"], 3) for r in bracket]
    cold1, coldn = rows["cold -j 1"]["seconds"], rows[f"cold -j {jobs}"]["seconds"]
    ratios = {
        "cold -j 1 / parse floor": cold1 / floor["seconds"],
        "cold -j 1 / cold -j N": cold1 / coldn,
        "warm (s)": rows["warm"]["seconds"],
        "peak memory (MB)": max([r["peak_mb"] for k, r in rows.items() if k not in ("bandit", "parse floor")]
                                + [r["peak_mb"] for r in bracket]),
    }
    if "bandit" in rows:
        ratios["bandit / cold -j N"] = rows["bandit"]["seconds"] / (sum(r["seconds"] for r in bracket) / len(bracket))
    result["ratios"] = {k: round(v, 3) for k, v in ratios.items()}
    return result


def meets(name: str, value: float) -> bool:
    op, limit = TARGETS[name]
    return {"<=": value <= limit, ">=": value >= limit, "<": value < limit}[op]


def render(results: list[dict], jobs: int) -> str:
    lines = [f"secreview speed benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}, -j N = -j {jobs}"]
    for result in results:
        lines.append("")
        lines.append(f"{result['project']}: {result['files']} files, {result['findings']} findings; "
                     f"identical reports for -j 1, -j {jobs} and warm runs: {'yes' if result['identical_reports'] else 'NO'}")
        lines.append(f"  {'run':<24} {'wall s':>9} {'peak MB':>9}")
        for name, run in result["runs"].items():
            lines.append(f"  {name:<24} {run['seconds']:9.2f} {run['peak_mb']:9.1f}")
        for name, seconds in result.get("repeated", {}).items():
            if len(seconds) > 1:
                lines.append(f"  ({name}: median of {', '.join(f'{x:.2f}' for x in seconds)})")
        if result.get("bandit bracket"):
            lines.append(f"  (bandit / cold -j N: against the mean of the cold -j {jobs} runs just before and after "
                         f"bandit, {' and '.join(f'{x:.2f}' for x in result['bandit bracket'])})")
        lines.append(f"  (edited file: {result['edited']})")
        lines.append(f"  {'ratio / target':<24} {'value':>9}   target")
        for name, value in result["ratios"].items():
            op, limit = TARGETS[name]
            verdict = "ok" if meets(name, value) else "MISSED"
            lines.append(f"  {name:<24} {value:9.2f}   {op} {limit:g}  {verdict}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", default="nova,django", help="comma-separated: " + ", ".join(PROJECTS))
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="N for the all-cores runs")
    parser.add_argument("--no-bandit", action="store_true", help="leave Bandit out")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--repeat", type=int, default=5, metavar="N",
                        help="runs of the parse floor and of each cold run, interleaved; each is reported by "
                             "its median (default 5)")
    args = parser.parse_args()
    projects = [p.strip() for p in args.projects.split(",") if p.strip()]
    unknown = [p for p in projects if p not in PROJECTS]
    if unknown:
        parser.error(f"unknown project {unknown[0]!r} (choose from {', '.join(PROJECTS)})")
    if shutil.which("pip") is None and subprocess.run([sys.executable, "-m", "pip", "--version"],
                                                      capture_output=True).returncode != 0:
        parser.error("pip is needed to download the source distributions")
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    results = [bench(p, args.jobs, not args.no_bandit, args.repeat) for p in projects]
    text = render(results, args.jobs)
    sys.stdout.write(text)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"date": time.strftime("%Y-%m-%d"), "machine": platform.platform(), "cores": os.cpu_count(),
                       "results": results}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
