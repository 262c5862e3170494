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
import tempfile
import textwrap

from secreview import __version__
from secreview.discover import TargetError, discover
from secreview.engine import Options, run
from secreview.model import PILLARS, Level, cwe_name, cwe_pillar
from secreview.report import FORMATS, render
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
    parser.add_argument("--min-severity", type=_level, default=Level.LOW, metavar="LEVEL",
                        help="report findings of at least this severity: low, medium or high (default: low)")
    parser.add_argument("--min-confidence", type=_level, default=Level.LOW, metavar="LEVEL",
                        help="report findings of at least this confidence: low, medium or high (default: low)")
    parser.add_argument("--exclude", action="append", metavar="PATTERN",
                        help="skip paths matching this gitignore-style pattern (also files named explicitly); repeatable")
    parser.add_argument("--max-file-size", type=_size, default=DEFAULT_MAX_BYTES, metavar="SIZE",
                        help=f"skip files larger than this, with a reason (default: {DEFAULT_MAX_BYTES // (1024 * 1024)}M; 0 = no limit)")
    parser.add_argument("--stdin-filename", metavar="NAME", default="<stdin>",
                        help="the name to report for code read from standard input")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("--version", action="version", version=f"secreview {__version__}")
    return parser


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
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_ERROR
    except Exception as exc:  # the last line of defence: one line, exit 2, never a traceback dump
        return _fail(f"internal error: {type(exc).__name__}: {exc}")


def _fail(message: str) -> int:
    print(f"secreview: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _cmd_review(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.paths:
        raise UsageError("no PATH given (try 'secreview .' or 'secreview --help')")
    options = Options(
        select=_split(args.select),
        ignore=_split(args.ignore),
        min_severity=args.min_severity,
        min_confidence=args.min_confidence,
        max_file_size=args.max_file_size,
    )
    registry.select(options.select, options.ignore)  # validates the rule references up front
    paths = [p for p in args.paths if p != "-"]
    use_stdin = len(paths) != len(args.paths)
    try:
        targets = discover(paths, _split(args.exclude))
    except TargetError as exc:
        raise UsageError(str(exc)) from None
    stdin = (args.stdin_filename, sys.stdin.buffer.read()) if use_stdin else None
    review = run(targets, options, stdin)
    _write(render(review, args.format), args.output)
    if review.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    folder = os.path.dirname(os.path.abspath(output))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".secreview-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, output)
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
COMMANDS = {
    "rules": _cmd_rules,
    "explain": _cmd_explain,
}


if __name__ == "__main__":
    sys.exit(main())
