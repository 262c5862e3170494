"""The review-a-change commands and the parts of a review run they share with the main command.

    secreview diff [REV_RANGE] [OPTIONS]          review what a change introduced
    secreview baseline create|update FILE [OPTIONS] PATH...
    secreview post github|gerrit REVIEW_JSON       post a --format review-json file

``secreview diff`` and ``secreview baseline`` are the main review with a different choice of
files and a different end: :mod:`secreview.cli` parses their options with the main parser and
calls :func:`run_review` here instead of :func:`secreview.engine.run`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace

from secreview.errors import UserError
from secreview.model import Review

DIFF_HELP = """\
usage: secreview diff [REV_RANGE] [OPTIONS]

Review what a change introduced. Changed Python files are analysed whole at the new revision
(so data flowing from unchanged code counts), and only findings whose lines, or data-flow steps,
touch an added or changed line are reported.

  (no REV_RANGE)   the working tree (staged, unstaged and untracked files) against HEAD
  A                the working tree against commit A
  A..B             commit B against commit A
  A...B            commit B against the merge base of A and B (what a branch changed)

  --new-only       report instead the findings whose fingerprint the base revision lacks
                   (also catches a defect made by deleting a line)

Every option of the main command applies (--format, --baseline, --select, --config, ...).
Renamed files are compared under their new name; deleted, binary and non-Python files are
passed over. Exit codes as for the main command.
"""

BASELINE_HELP = """\
usage: secreview baseline create FILE [OPTIONS] PATH...
       secreview baseline update FILE [OPTIONS] PATH...

Record the current findings in FILE, so that 'secreview --baseline FILE PATH...' reports only
new ones. 'create' refuses to overwrite FILE; 'update' rewrites it from the current findings
(fixed ones leave it, new ones join it) and says how many were added and removed. Entries are
line-free fingerprints with counts, sorted, without source text: safe to commit. Every option
of the main command applies; run both commands from the same folder.
"""


def split_baseline_args(argv: list[str]) -> tuple[str, str, list[str]]:
    if not argv or argv[0] not in ("create", "update"):
        got = f", got {argv[0]!r}" if argv else ""
        raise UserError(f"'baseline' needs 'create' or 'update' and a FILE, e.g. "
                        f"'secreview baseline create .secreview-baseline.json .'{got}")
    if len(argv) < 2 or argv[1].startswith("-"):
        raise UserError(f"'baseline {argv[0]}' needs the baseline FILE to write")
    return argv[0], argv[1], argv[2:]


def run_review(args, options, targets: list, stdin, run, settings=None) -> Review:
    """Run one review with the change, baseline and timing options of ``args``. ``run`` is
    :func:`secreview.engine.run`."""
    from secreview.filters import Filters

    timing = getattr(args, "sarif_timing", False)
    started = _now() if timing else ""  # the clock is read (and datetime imported) for --sarif-timing only
    filters = getattr(options, "filters", None) or Filters()
    diff_range = getattr(args, "diff_range", None)
    diff_mode = getattr(args, "diff_mode", False)
    if getattr(args, "baseline", None) and not getattr(args, "baseline_action", None):
        from secreview import baseline as baseline_mod

        filters = replace(filters, baseline=baseline_mod.counts_of(baseline_mod.load(args.baseline)))
    sources = [bool(diff_mode), bool(getattr(args, "diff_base", None)), bool(getattr(args, "patch", None))]
    if sum(sources) > 1:
        raise UserError("use only one of 'secreview diff', --diff-base and --patch")
    if getattr(args, "new_only", False) and not any(sources):
        raise UserError("--new-only needs a change to compare with: 'secreview diff', --diff-base or --patch")
    change = None
    if any(sources):
        from secreview import diff as diff_mod  # only a change review needs git and unidiff
    if diff_mode:
        change = diff_mod.from_range(diff_range, os.getcwd())
    elif getattr(args, "diff_base", None):
        change = diff_mod.from_base(args.diff_base, os.getcwd())
    elif getattr(args, "patch", None):
        change = diff_mod.from_patch(args.patch, os.getcwd())
    if change is None:  # a review of whole files needs no scratch folder for revisions (nor tempfile)
        scratch_folder = contextlib.nullcontext()
    else:
        import tempfile

        scratch_folder = tempfile.TemporaryDirectory(prefix="secreview-diff-")
    with scratch_folder as scratch:
        if change is not None:
            if diff_mode:
                targets = _keep_excluded_out(diff_mod.new_targets(change, scratch), args)
                if settings is not None:
                    targets = settings.filter_targets(targets)
            changed = diff_mod.changed_lines(change)
            base = None
            if getattr(args, "new_only", False):
                base_options = replace(options, filters=replace(filters, baseline=None, changed_lines=None,
                                                               base_fingerprints=None, report_unused=False,
                                                               require_reason=False))
                base_targets = diff_mod.base_targets(change, scratch)
                base = frozenset(f.fingerprint for f in run(base_targets, base_options, None).findings)
            filters = replace(filters, changed_lines=changed, base_fingerprints=base)
        review = run(targets, replace(options, filters=filters), stdin)
    if timing:
        review = replace(review, timing=(started, _now()))
    return review


def _keep_excluded_out(targets: list, args) -> list:
    patterns = list(getattr(args, "exclude", None) or [])
    if not patterns:
        return targets
    from secreview.config import excluded
    from secreview.discover import gitignore_spec

    spec = gitignore_spec(patterns)

    return [t for t in targets if not excluded(spec, t.display, os.getcwd())
            and not spec.match_file(os.path.basename(t.display))]


def _now() -> str:
    import datetime  # here, not at the top: only --sarif-timing needs it (start-up cost)

    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_baseline(args, review: Review) -> int:
    """End of ``secreview baseline create|update``: write the file, report on standard error."""
    from secreview import baseline as baseline_mod

    path, action = args.baseline_file, args.baseline_action
    data = baseline_mod.build(review.findings)
    exists = os.path.exists(path)
    if action == "create" and exists:
        raise UserError(f"baseline create: {path} already exists (use 'secreview baseline update {path} ...')")
    if action == "update" and not exists:
        raise UserError(f"baseline update: {path}: no such file (use 'secreview baseline create {path} ...')")
    old = baseline_mod.load(path, option="baseline update") if action == "update" else None
    _atomic_write(path, baseline_mod.render(data))
    total = sum(e["count"] for e in data["findings"])
    if old is None:
        print(f"secreview: wrote {path}: {total} finding{'s' * (total != 1)} in {len(data['findings'])} "
              f"entr{'ies' if len(data['findings']) != 1 else 'y'}", file=sys.stderr)
    else:
        added, removed, kept = baseline_mod.compare(old, data)
        print(f"secreview: updated {path}: {added} added, {removed} removed, {kept} kept", file=sys.stderr)
    return 0


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so a
    reader (or an interrupted run) never sees half a file. Raises OSError."""
    folder = os.path.dirname(os.path.abspath(path))
    import tempfile  # here, not at the top: only writing a baseline needs it (start-up cost)

    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".secreview-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _atomic_write(path: str, text: str) -> None:
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
