"""Run the pipeline: discover -> parse -> index -> rules -> (triage) -> a :class:`Review`.

Each file is handled by :func:`review_source` on its own: parse, one index traversal, then
dispatch of the collected nodes to the rules that asked for them. Nothing here imports, executes
or unpickles the code under review.
"""

from __future__ import annotations

import ast
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field, replace

from secreview import context as context_mod
from secreview.discover import Target
from secreview.model import FileResult, Finding, Level, Review, Skipped
from secreview.rules import registry
from secreview.rules.base import FileContext, Rule
from secreview.source.index import Index
from secreview.source.parse import DEFAULT_MAX_BYTES, SourceFile, parse_bytes, read_source


@dataclass
class Options:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    min_severity: Level = Level.LOW
    min_confidence: Level = Level.LOW
    max_file_size: int = DEFAULT_MAX_BYTES


class RuleSet:
    """Selected rules and their dispatch tables."""

    def __init__(self, rules: list[type[Rule]]):
        self.rules = [cls() for cls in rules]
        self.exact: dict[str, list[Rule]] = defaultdict(list)
        self.prefixes: list[tuple[str, Rule]] = []
        self.methods: dict[str, list[Rule]] = defaultdict(list)
        self.nodes: dict[type, list[Rule]] = defaultdict(list)
        for rule in self.rules:
            for name in rule.calls:
                if name.endswith("*"):
                    self.prefixes.append((name[:-1], rule))
                else:
                    self.exact[name].append(rule)
            for attr in rule.methods:
                self.methods[attr].append(rule)
            for node_type in rule.nodes:
                self.nodes[node_type].append(rule)
        self.collect = frozenset({ast.Call, *self.nodes})

    @classmethod
    def from_options(cls, options: Options) -> RuleSet:
        return cls(registry.select(options.select, options.ignore))

    def call_rules(self, qualname: str | None, func: ast.expr) -> list[Rule]:
        found: list[Rule] = []
        if qualname is not None:
            found.extend(self.exact.get(qualname, ()))
            for prefix, rule in self.prefixes:
                if qualname.startswith(prefix) and rule not in found:
                    found.append(rule)
        if isinstance(func, ast.Attribute):
            for rule in self.methods.get(func.attr, ()):
                if rule not in found:
                    found.append(rule)
        return found


def module_name(display: str) -> str:
    name = display[:-3] if display.endswith(".py") else display
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or "__main__"


def review_source(source: SourceFile, ruleset: RuleSet, options: Options) -> FileResult:
    """Analyse one parsed file."""
    skipped: list[Skipped] = []
    try:
        index = Index(source.tree, module_name(source.path), ruleset.collect)
    except RecursionError:
        return FileResult(source.path, (), (Skipped(source.path, "too deeply nested to analyse"),),
                          source.line_count, reviewed=False)
    label = context_mod.classify(source.path, index, source.text[:2000]).label
    ctx = FileContext(source, index, label)
    for call in index.of_type(ast.Call):
        try:
            qualname = index.call_name(call)
        except RecursionError:
            qualname = None
        for rule in ruleset.call_rules(qualname, call.func):
            _guarded(rule, ctx, call, skipped, lambda r=rule, c=call, q=qualname: r.check_call(ctx, c, q))
    for node_type, rules in ruleset.nodes.items():
        for node in index.of_type(node_type):
            for rule in rules:
                _guarded(rule, ctx, node, skipped, lambda r=rule, n=node: r.check_node(ctx, n))
    findings = [f for f in ctx.findings
                if f.severity >= options.min_severity and f.confidence >= options.min_confidence]
    findings = _with_fingerprints(sorted(set(findings), key=Finding.sort_key))
    return FileResult(source.path, tuple(findings), tuple(skipped), source.line_count, label)


def _guarded(rule: Rule, ctx: FileContext, node: ast.AST, skipped: list[Skipped], check) -> None:
    try:
        check()
    except (RecursionError, MemoryError):
        skipped.append(Skipped(ctx.path, f"partly reviewed: rule {rule.id} ran out of stack at line "
                                         f"{getattr(node, 'lineno', '?')} (too deeply nested)",
                               getattr(node, "lineno", None)))
    except Exception as exc:  # a bug in a rule must not lose the rest of the file
        skipped.append(Skipped(ctx.path, f"partly reviewed: rule {rule.id} failed at line "
                                         f"{getattr(node, 'lineno', '?')}: {type(exc).__name__}: {exc}",
                               getattr(node, "lineno", None)))


def fingerprint(rule_id: str, path: str, text: str, occurrence: int) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    data = "\0".join((rule_id, path, text, str(occurrence))).encode("utf-8", errors="surrogatepass")
    return hashlib.sha256(data).hexdigest()[:32]


def _with_fingerprints(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str], int] = defaultdict(int)
    result = []
    for f in findings:
        key = (f.rule_id, f.snippet)
        occurrence = seen[key]
        seen[key] += 1
        result.append(replace(f, fingerprint=fingerprint(f.rule_id, f.location.path, f.snippet, occurrence)))
    return result


def review_target(target: Target, ruleset: RuleSet, options: Options) -> FileResult:
    parsed = read_source(target.real_path, target.display, options.max_file_size)
    return _finish(parsed, ruleset, options)


def review_bytes(data: bytes, display: str, ruleset: RuleSet, options: Options) -> FileResult:
    if options.max_file_size > 0 and len(data) > options.max_file_size:
        return FileResult(display, (), (Skipped(display, "input is larger than the --max-file-size limit"),),
                          reviewed=False)
    return _finish(parse_bytes(data, display), ruleset, options)


def _finish(parsed: SourceFile | Skipped, ruleset: RuleSet, options: Options) -> FileResult:
    if isinstance(parsed, Skipped):
        return FileResult(parsed.path, (), (parsed,), reviewed=False)
    return review_source(parsed, ruleset, options)


def run(targets: list[Target], options: Options, stdin: tuple[str, bytes] | None = None) -> Review:
    """Review files (and optionally one standard-input segment) and gather the results.

    Phases: the per-file phase (:func:`analyse_files`: read, parse, index, rules; independent per
    file), the global phase (:func:`global_phase`: what needs every file, such as cross-module
    data flow), then collection into a :class:`Review` and triage (suppressions, baselines, diff
    filters) in :func:`triage`.
    """
    ruleset = RuleSet.from_options(options)
    results = analyse_files(targets, ruleset, options)
    if stdin is not None:
        results.append(review_bytes(stdin[1], stdin[0], ruleset, options))
    results = global_phase(results, ruleset, options)
    return triage(collect(results), options)


def analyse_files(targets: list[Target], ruleset: RuleSet, options: Options) -> list[FileResult]:
    """The per-file phase, one file at a time, in target order."""
    return [review_target(t, ruleset, options) for t in targets]


def global_phase(results: list[FileResult], ruleset: RuleSet, options: Options) -> list[FileResult]:
    """The step that needs every file's results (cross-module analysis). Nothing yet."""
    return results


def triage(review: Review, options: Options) -> Review:
    """Filters applied to the whole review (suppressions, baselines, diffs). Nothing yet."""
    return review


def collect(results: list[FileResult]) -> Review:
    results = sorted(results, key=lambda r: r.path)
    findings = tuple(sorted((f for r in results for f in r.findings), key=Finding.sort_key))
    skipped = tuple(sorted((s for r in results for s in r.skipped), key=lambda s: (s.path, s.line or 0, s.reason)))
    return Review(findings, skipped, tuple(results))


def review_text(text: str, path: str = "<stdin>", select: list[str] | None = None) -> Review:
    """Convenience for tests and embedding: review one piece of source text."""
    options = Options(select=list(select or []))
    return collect([review_bytes(text.encode("utf-8"), path, RuleSet.from_options(options), options)])
