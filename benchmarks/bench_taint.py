#!/usr/bin/env python3
"""What data-flow analysis costs: secreview with and without the data-flow rules, on the same tree.

    .venv/bin/python benchmarks/bench_taint.py                  # nova 34.0.0
    .venv/bin/python benchmarks/bench_taint.py --projects nova django

For each project (pinned source distributions, downloaded into benchmarks/_work/ by
bench_speed.fetch), in one run and one process each (`-j 1`, no cache, so the numbers compare):

  without   secreview --ignore SR11,SR12,SR13   (pattern rules only)
  with      secreview                          (pattern rules + data flow, per file and cross-module)

and prints wall time, the ratio with/without, the findings each found, and the time per phase of
the run with data flow (from `--profile`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_speed import PROJECTS, fetch, log, measure, snapshot  # noqa: E402

FLOW_RULES = "SR11,SR12,SR13"


def run(tree: str, scratch: str, extra: list[str]) -> dict:
    env = dict(os.environ, PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join(filter(None, [os.path.join(scratch, "src"), os.environ.get("PYTHONPATH")])))
    argv = [sys.executable, "-m", "secreview", "--format", "json", "-o", os.path.join(scratch, "out.json"),
            "--exit-zero", "--quiet", "-j", "1", "--no-cache", *extra, "."]
    result = measure(argv, cwd=tree, env=env)
    if result["code"] != 0:
        raise SystemExit(f"secreview failed: {result['stderr'].strip()}")
    with open(os.path.join(scratch, "out.json"), encoding="utf-8") as handle:
        result["findings"] = json.load(handle)["summary"]["findings"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", nargs="+", default=["nova"], choices=sorted(PROJECTS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="secreview-bench-taint-") as scratch:
        snapshot(scratch)
        for project in args.projects:
            tree = fetch(project)
            log(f"{project}: without data flow ...")
            without = run(tree, scratch, ["--ignore", FLOW_RULES])
            log(f"{project}: with data flow ...")
            with_flow = run(tree, scratch, ["--profile"])
            ratio = with_flow["seconds"] / without["seconds"]
            print(f"{PROJECTS[project][0]}")
            print(f"  without data flow  {without['seconds']:7.2f} s  {without['findings']:5d} findings")
            print(f"  with data flow     {with_flow['seconds']:7.2f} s  {with_flow['findings']:5d} findings")
            print(f"  cost of data flow  {ratio:7.2f}x")
            phases = [line for line in with_flow["stderr"].splitlines()
                      if line.startswith("  ") and ("data flow" in line or "global" in line or "per-file" in line)]
            for line in phases:
                print("  " + line.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
