"""The command line.

    secreview [OPTIONS] PATH...      review files and folders ('-' reads a code segment from stdin)
    secreview rules                  list the rules
    secreview explain RULE           print one rule's documentation

Exit codes: 0 nothing at or above the thresholds, 1 findings, 2 usage, configuration or
internal error (one line on standard error naming the problem).
"""

from __future__ import annotations

import argparse
import os
import sys

from secreview.perf import gc_paused

# Loading the modules makes a few hundred thousand objects that live as long as the process and
# next to no garbage: no automatic collection walks them while they load (see gc_paused).
with gc_paused(collect=False):
    from secreview import __version__, commands, config, perf
    from secreview import cache as cache_mod
    from secreview.discover import TargetError, discover
    from secreview.engine import Options, run
    from secreview.errors import UserError
    from secreview.model import PILLARS, Level, cwe_name, cwe_pillar
    from secreview.policy import POLICIES as TEST_POLICIES
    from secreview.report import FORMATS, REVIEW_FORMATS, render
    from secreview.rules import registry
    from secreview.source.parse import DEFAULT_MAX_BYTES

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

DESCRIPTION = """\
Review Python code for security defects: each finding names the exact lines, the weakness
(a CWE and its CWE-1000 category), why it matters and how to fix it.

commands:
  secreview [OPTIONS] PATH...   review files and folders recursively; '-' reads standard input
  secreview rules               list the rules
  secreview explain RULE        print a rule's documentation (RULE is an id or a name)
  secreview review PATH...      a written review of each file: context, topics with line ranges,
                                each defect with its fix, and a verdict (same as --format review)
  secreview diff [REV_RANGE]    review only what a change introduced (see 'secreview diff --help')
  secreview baseline create|update FILE PATH...   record today's findings; see --baseline
  secreview post github|gerrit REVIEW_JSON        post a --format review-json file as a review
  secreview cache clear|info [--cache-dir DIR]    empty or describe the per-file result cache
"""

EPILOG = """\
exit codes: 0 no findings at or above the thresholds, 1 findings, 2 usage, configuration or
internal error.

Folders are walked for *.py files; .git, virtual environments, build, dist and cache folders
are skipped. A file that cannot be read or parsed is reported as skipped, with the reason, in
every output format.
"""


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def _split(values: list[str] | None) -> list[str]:
    items: list[str] = []
    for value in values or []:
        items.extend(part.strip() for part in value.split(",") if part.strip())
    return items


def _level(text: str) -> Level:
    try:
        return Level.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size(text: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024, "g": 1024 ** 3}
    raw = text.strip().lower().removesuffix("b")
    factor = units.get(raw[-1:], 1)
    number = raw[:-1] if raw[-1:] in units else raw
    try:
        value = int(float(number) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use bytes, or a number with K, M or G)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"size must not be negative: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="secreview", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files or folders to review; '-' reads a code segment from standard input")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of standard output")
    parser.add_argument("--select", action="append", metavar="RULES",
                        help="only these rules: ids, names or id prefixes (SR1), comma-separated; repeatable")
    parser.add_argument("--ignore", action="append", metavar="RULES",
                        help="leave out these rules (same forms as --select)")
    parser.add_argument("--min-severity", type=_level, default=None, metavar="LEVEL",
                        help="report findings of at least this severity: low, medium or high (default: low)")
    parser.add_argument("--min-confidence", type=_level, default=None, metavar="LEVEL",
                        help="report findings of at least this confidence: low, medium or high (default: low)")
    parser.add_argument("--exclude", action="append", metavar="PATTERN",
                        help="skip paths matching this gitignore-style pattern (also files named explicitly); repeatable")
    parser.add_argument("--max-file-size", type=_size, default=None, metavar="SIZE",
                        help=f"skip files larger than this, with a reason (default: {DEFAULT_MAX_BYTES // (1024 * 1024)}M; 0 = no limit)")
    parser.add_argument("--stdin-filename", metavar="NAME", default="<stdin>",
                        help="the name to report for code read from standard input")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("--test-policy", choices=TEST_POLICIES, default=None, metavar="POLICY",
                        help="hygiene findings in test code (weak hash of test data, fixed /tmp path, placeholder "
                             "credential, ...): 'lower' them to low severity with the reason (default), 'drop' them "
                             "(the review and the JSON 'dropped' list still show them with the reason) or 'keep' them")
    parser.add_argument("--link-base", metavar="URL", default=None,
                        help="with --format markdown: link each cited line to URL/PATH#L12 (e.g. "
                             "https://github.com/ORG/REPO/blob/COMMIT)")
    change = parser.add_argument_group("configuration, suppressions, baselines and change review")
    change.add_argument("--config", metavar="FILE",
                        help="read [tool.secreview] from FILE instead of the nearest pyproject.toml above the first PATH")
    change.add_argument("--no-config", action="store_true", help="read no configuration file")
    change.add_argument("--baseline", metavar="FILE",
                        help="report only findings not recorded in FILE (see 'secreview baseline')")
    change.add_argument("--diff-base", metavar="REF",
                        help="report only findings touching lines changed since the merge base of REF and HEAD")
    change.add_argument("--patch", metavar="FILE",
                        help="report only findings touching lines a unified diff FILE adds (its new side is the working tree)")
    change.add_argument("--new-only", action="store_true",
                        help="with a change: report findings whose fingerprint the base revision lacks, instead")
    change.add_argument("--require-suppression-reason", action="store_true",
                        help="a suppression comment without a written reason silences nothing and is reported (SR002)")
    change.add_argument("--report-unused-suppressions", action="store_true",
                        help="report suppression comments that silence no finding (SR001)")
    change.add_argument("--sarif-timing", action="store_true",
                        help="add start and end times to the SARIF invocation (the output then differs from run to run)")
    speed = parser.add_argument_group("speed and limits")
    speed.add_argument("-j", "--jobs", type=_jobs, default=0, metavar="N",
                       help="analyse files in N processes (default: one per core; small runs use one)")
    speed.add_argument("--no-cache", action="store_true",
                       help="neither read nor write the per-file result cache")
    speed.add_argument("--cache-dir", metavar="DIR",
                       help="keep the per-file result cache in DIR (default: $XDG_CACHE_HOME/secreview, "
                            "else ~/.cache/secreview)")
    speed.add_argument("--file-timeout", type=_seconds, default=None, metavar="SECONDS",
                       help="skip a file, with the reason, when its analysis takes longer than this "
                            "(default: 60; 0 = no limit)")
    speed.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bar and no notes on standard error")
    speed.add_argument("--profile", action="store_true",
                       help="print the time per phase and the slowest files and rules on standard error")
    parser.add_argument("--version", action="version", version=f"secreview {__version__}")
    return parser


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per core) or more, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or a positive number of seconds, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            return COMMANDS[argv[0]](argv[1:])
        return _cmd_review(argv)
    except UsageError as exc:
        return _fail(str(exc))
    except registry.RuleError as exc:
        return _fail(str(exc))
    except UserError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_ERROR
    except Exception as exc:  # the last line of defence: one line, exit 2, never a traceback dump
        return _fail(f"internal error: {type(exc).__name__}: {exc}")


def console() -> None:
    """The ``secreview`` command (and ``python -m secreview``): :func:`main`, then exit at once.

    By the time ``main`` returns, the report is written and closed, the cache closed and the
    worker processes gone; what is left is the interpreter tearing down every object the run
    built (rules, their memos, results), tens of milliseconds on a large tree that the caller
    waits for and nobody reads. So standard output and error are flushed and the process ends
    with ``os._exit``. An exception out of ``main`` (there should be none: it turns errors into
    exit codes) takes the normal way out."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            if stream is sys.stdout:
                _silence_stdout()
                code = code or EXIT_ERROR
    os._exit(code)


def _fail(message: str) -> int:
    print(f"secreview: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _cmd_review(argv: list[str], diff_range: str | None = None, diff_mode: bool = False,
                baseline_action: str | None = None, baseline_file: str | None = None) -> int:
    args = build_parser().parse_args(argv)
    _check_link_base(args)
    if diff_mode:  # 'secreview diff [REV_RANGE]': the one positional argument is the range
        if len(args.paths) > 1:
            raise UsageError(f"'diff' takes one REV_RANGE, got also {args.paths[1]!r} (see 'secreview diff --help')")
        diff_range, args.paths = (args.paths[0] if args.paths else None), []
    args.diff_range, args.diff_mode = diff_range, diff_mode
    args.baseline_action, args.baseline_file = baseline_action, baseline_file  # 'secreview baseline'
    if not args.paths and not diff_mode:
        raise UsageError("no PATH given (try 'secreview .' or 'secreview --help')")
    settings = config.settle(args)  # [tool.secreview] fills in what the command line left unset
    options = Options(
        select=_split(args.select),
        ignore=_split(args.ignore),
        min_severity=args.min_severity,
        min_confidence=args.min_confidence,
        max_file_size=args.max_file_size,
    )
    options = settings.complete(options, args)
    options = _speed_options(options, args)
    options.outline = args.format in REVIEW_FORMATS  # the written review needs each file's outline
    stats = options.stats
    registry.select(options.select, options.ignore)  # validates the rule references up front
    paths = [p for p in args.paths if p != "-"]
    use_stdin = len(paths) != len(args.paths)
    with stats.phase("discover"):
        try:
            targets = discover(paths, _split(args.exclude))
        except TargetError as exc:
            raise UsageError(str(exc)) from None
        targets = settings.filter_targets(targets)
    stdin = (args.stdin_filename, sys.stdin.buffer.read()) if use_stdin else None
    review = commands.run_review(args, options, targets, stdin, run, settings)
    if not args.quiet:
        for note in stats.notes:
            print(f"secreview: note: {note}", file=sys.stderr)
    if baseline_action:
        return commands.write_baseline(args, review)
    with stats.phase("report"):
        _write(render(review, args.format, link_base=args.link_base or ""), args.output)
    if args.profile:
        sys.stderr.write(stats.render())
    if review.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _speed_options(options: Options, args: argparse.Namespace) -> Options:
    """-j, the cache, the time budget, progress and --profile (secreview.parallel)."""
    cache_dir = None
    if not args.no_cache:
        if args.cache_dir:
            cache_dir = _cache_folder(args.cache_dir)
        else:
            cache_dir = cache_mod.default_dir()
    options.jobs = args.jobs
    options.cache_dir = cache_dir
    if args.file_timeout is not None:
        options.file_timeout = args.file_timeout
    options.progress = perf.progress_wanted(sys.stderr, args.quiet)
    options.stats = perf.RunStats(detailed=args.profile)
    options.keep_freed_memory = True
    return options


def _cache_folder(folder: str) -> str:
    """An explicit --cache-dir must be a folder we can create."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--cache-dir {folder}: not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --cache-dir {folder}: {exc.strerror or exc}") from None
    return folder


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        commands.write_atomically(output, text)
    except OSError as exc:
        raise UsageError(f"cannot write --output {output}: {exc.strerror or exc}") from None


def _cmd_rules(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("usage: secreview rules\n\nList every rule: id, name, CWE, default severity/confidence, summary.")
        return EXIT_CLEAN
    if argv:
        raise UsageError(f"'rules' takes no arguments, got {argv[0]!r}")
    lines = []
    for rule in registry.all_rules():
        lines.append(f"{rule.id}  {rule.name:<30} CWE-{rule.cwe:<5} {rule.severity.label:<6} "
                     f"{rule.confidence.label:<6} {rule.summary()}")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_CLEAN


def _cmd_explain(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("usage: secreview explain RULE\n\nPrint a rule's documentation; RULE is an id (SR101) or a name.")
        return EXIT_CLEAN
    if len(argv) != 1:
        raise UsageError("'explain' takes exactly one rule id or name, e.g. 'secreview explain SR101'")
    rule = registry.get(argv[0])
    pillar = cwe_pillar(rule.cwe)
    import textwrap  # here, not at the top: only explain needs it (start-up of a review)

    header = textwrap.dedent(f"""\
        {rule.id} {rule.name}
        CWE-{rule.cwe}: {cwe_name(rule.cwe)}
        Category (CWE-1000 pillar): CWE-{pillar} {PILLARS[pillar]}
        Default severity: {rule.severity.label}; confidence: {rule.confidence.label}
        """)
    sys.stdout.write(header + "\n" + rule.doc() + "\n")
    return EXIT_CLEAN


# Subcommands: the first argument names one; anything else is a review of paths. (A folder with a
# command's name is reviewed as ./NAME.)
def _cmd_diff(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(commands.DIFF_HELP)
        return EXIT_CLEAN
    return _cmd_review(argv, diff_mode=True)


def _cmd_baseline(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(commands.BASELINE_HELP)
        return EXIT_CLEAN
    action, path, rest = commands.split_baseline_args(argv)
    return _cmd_review(rest, baseline_action=action, baseline_file=path)


CACHE_HELP = """\
usage: secreview cache clear [--cache-dir DIR]
       secreview cache info [--cache-dir DIR]

The per-file result cache: a file whose bytes, path, rules and options are unchanged since a
previous run is not analysed again. 'clear' removes the cache (only the files secreview keeps
there); 'info' prints where it is, how many results it holds and its size. The default folder is
$XDG_CACHE_HOME/secreview, else ~/.cache/secreview.
"""


def _cmd_cache(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        if not argv:
            raise UsageError("'cache' needs an action: 'secreview cache clear' or 'secreview cache info'")
        sys.stdout.write(CACHE_HELP)
        return EXIT_CLEAN
    action, rest = argv[0], argv[1:]
    if action not in ("clear", "info"):
        raise UsageError(f"unknown cache action {action!r} (choose clear or info)")
    parser = _Parser(prog=f"secreview cache {action}", add_help=False)
    parser.add_argument("--cache-dir", metavar="DIR")
    args = parser.parse_args(rest)
    folder = args.cache_dir or cache_mod.default_dir()
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--cache-dir {folder}: not a folder")
    if action == "clear":
        entries, files = cache_mod.clear(folder) if os.path.isdir(folder) else (0, 0)
        if files:
            print(f"removed the cache in {folder} ({entries} file results)")
        else:
            print(f"no cache to remove in {folder}")
        return EXIT_CLEAN
    entries, size = cache_mod.info(folder) if os.path.isdir(folder) else (0, 0)
    print(f"cache folder: {folder}\nfile results: {entries}\nsize: {size} bytes")
    return EXIT_CLEAN


def _cmd_post(argv: list[str]) -> int:
    from secreview import post

    return post.command(argv)


REVIEW_HELP = """\
usage: secreview review [OPTIONS] PATH...

A written review of each file: its context (production code, unit or functional test, ...)
with the evidence, numbered sections for the topics present (test and environment set-up;
mocks, stubs and fakes; data handling and input validation; interactions with the outside),
each defect with its lines, CWE and category, severity and confidence, why it matters here
and the fix, and a verdict. Same as 'secreview --format review PATH...'; every option of
the main command applies ('--format markdown' writes Markdown, '--link-base URL' links lines).
"""


def _cmd_written_review(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(REVIEW_HELP)
        return EXIT_CLEAN
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--format" and i + 1 < len(argv) else \
            arg.partition("=")[2] if arg.startswith("--format=") else None
        if value is not None and value not in REVIEW_FORMATS:
            raise UsageError(f"'review' writes --format review or markdown, not {value!r} "
                             f"(use 'secreview --format {value} PATH...')")
    return _cmd_review(["--format", "review", *argv])


def _check_link_base(args: argparse.Namespace) -> None:
    base = args.link_base
    if base is None:
        return
    if args.format != "markdown":
        raise UsageError("--link-base only applies to --format markdown")
    if not base.strip() or any(c.isspace() for c in base) or "://" not in base:
        raise UsageError(f"--link-base must be a URL such as https://github.com/ORG/REPO/blob/COMMIT, got {base!r}")


COMMANDS = {
    "review": _cmd_written_review,
    "rules": _cmd_rules,
    "explain": _cmd_explain,
    "diff": _cmd_diff,
    "baseline": _cmd_baseline,
    "post": _cmd_post,
    "cache": _cmd_cache,
}


if __name__ == "__main__":
    console()
