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
from secreview import policy as policy_mod
from secreview import suppress
from secreview.discover import Target
from secreview.filters import Filters
from secreview.model import FileResult, Finding, Level, Review, Skipped
from secreview.perf import RunStats
from secreview.rules import registry
from secreview.rules.base import FileContext, Rule
from secreview.source.index import BUILTINS, CONVENTIONAL_ALIASES, Index
from secreview.source.parse import DEFAULT_MAX_BYTES, SourceFile, parse_bytes, read_source
from secreview.taint import run as taint_run


@dataclass
class Options:
    """What a run reviews and how: rule selection, thresholds, jobs, cache and the like."""

    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    min_severity: Level = Level.LOW
    min_confidence: Level = Level.LOW
    max_file_size: int = DEFAULT_MAX_BYTES
    taint_specs: list[str] = field(default_factory=list)  # extra taint spec files (TOML)
    test_policy: str = "lower"  # hygiene findings in test code: lower | drop | keep (secreview.policy)
    outline: bool = False  # build the written-review outline for --format review / markdown
    # triage: per-file-ignores, suppression policy, baseline, diff filter (see secreview.filters)
    filters: Filters = field(default_factory=Filters)
    # How the per-file phase runs (secreview.parallel); none of these change a file's results, and
    # they are left out of the cache key (secreview.cache.RUN_ONLY_FIELDS lists them).
    jobs: int = 0  # worker processes; 0 = one per core (small runs stay in this process)
    cache_dir: str | None = None  # per-file result cache folder (secreview.cache); None = no cache
    file_timeout: float = 60.0  # seconds per file before it is skipped; 0 = no limit
    progress: bool = False  # draw a progress bar on standard error (the CLI decides: a terminal, not --quiet)
    # let the C library keep freed memory for the next file (perf.keep_freed_memory): a process-wide
    # setting, so only the CLI turns it on
    keep_freed_memory: bool = False
    stats: RunStats | None = None  # collects phase times, notes and (when detailed) --profile data


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
        self.flow_ids = {rule.id for rule in self.rules if getattr(rule, "sink_kind", None)}
        self.gated = [rule for rule in self.rules if rule.needs]
        # A call ``x.attr(...)`` resolves to a name ending in ``.attr`` (Index.qualname), so a rule
        # can be registered for it only when ``attr`` is a method or the last part of a name
        # registered; other such calls are not resolved here (whoever needs them resolves them).
        self.attrs = frozenset(self.methods).union(name.rpartition(".")[2] for name in self.exact)
        # For the prefixes ("os.exec*"), a part each ("exec"). A qualified name is made of the
        # file's identifiers, its module name, "builtins" and the conventional aliases, so a name
        # with the prefix can be met only in a file whose text or module name holds the part (or
        # whose identifiers may be written in other characters: not ASCII).
        self.prefix_parts = tuple(sorted({[part for part in prefix.split(".") if part][-1]
                                          for prefix, _ in self.prefixes}))
        self.prefix_always = any(part in known for part in self.prefix_parts
                                 for known in ("builtins", *CONVENTIONAL_ALIASES.values()))
        # Their first parts ("os"): a name with the prefix can be met only in a call built on a
        # name whose qualified name may begin with one (Index.names_under); None when a prefix
        # is a single part, which that does not tell.
        heads = {prefix.partition(".") for prefix, _ in self.prefixes}
        self.prefix_heads = frozenset(head for head, dot, _ in heads) if all(dot for _, dot, _ in heads) else None
        # Builtins whose call ``NAME(...)`` no rule is registered for: where the file binds NAME
        # nowhere, such a call resolves to ``builtins.NAME`` and has no rules, which the engine
        # knows without resolving it (most of the calls of test files: ``len``, ``dict``, ...)
        self.quiet_builtins = frozenset(name for name in BUILTINS
                                        if not self._call_rules(f"builtins.{name}", ast.Name(name)))
        # (qualified name, method name) of a call -> its rules
        self._memo: dict[tuple[str | None, str | None], tuple[Rule, ...]] = {}

    def inactive(self, text: str, path: str, ctx: FileContext | None = None) -> frozenset[Rule]:
        """Rules whose ``needs`` prefilter rules them out for this file (``ctx``: the file's
        context, whose searches of the text rules share: FileContext.holds)."""
        if not self.gated:
            return frozenset()
        holds = ctx.holds if ctx is not None else text.__contains__
        lowered = None
        out = []
        for rule in self.gated:
            if rule.needs_any_case:
                if lowered is None:
                    lowered = (text + "\0" + path).lower()
                hit = any(needle in lowered for needle in rule.needs)
            else:
                hit = any(holds(needle) or needle in path for needle in rule.needs)
            if not hit:
                out.append(rule)
        return frozenset(out)

    def prefixed(self, text: str, index: Index) -> set[str] | None:
        """The names that calls ``name.attr(...)``, ``name.a.attr(...)``, ``name().attr(...)``
        of the file must be built on to have a name registered with a prefix (see __init__);
        None when any call may."""
        if not self.prefix_parts:
            return set()
        module = index.module
        if not (self.prefix_always or not text.isascii()
                or any(part in text or part in module for part in self.prefix_parts)):
            return set()
        # "exec" is common ("execute"), "os" far less among the roots of the qualified names
        return None if self.prefix_heads is None else index.names_under(self.prefix_heads)

    def check(self, ctx: FileContext, skipped: list[Skipped]) -> None:
        """Run the rules on one file: ``check_call`` for the calls they registered, ``check_node``
        for the nodes of their types. Findings go to ``ctx.findings``; a rule that fails on a node
        is recorded in ``skipped`` and the rest of the file is still checked."""
        index = ctx.index
        source = ctx.source
        memo = self._memo
        inactive = self.inactive(source.text, source.path, ctx)
        rooted = self.prefixed(source.text, index)
        attrs = self.attrs
        quiet = self.quiet_builtins
        bound_anywhere = index.bound_anywhere
        Attribute, Name, Call = ast.Attribute, ast.Name, ast.Call
        called = ctx.called_names = []  # (FileContext.call_names) while each call's func is at hand
        append = called.append
        # (the attributes of a node are read as few times as can be: each read is a dict look-up
        # that Python does not specialise for ast nodes)
        for call in index.of_type(Call):
            func = call.func
            if type(func) is Attribute:
                name = func.attr
                append(name)
                if name not in attrs and rooted is not None:
                    # no rule is registered for it (see __init__), unless its name has a prefix
                    if not rooted:
                        continue
                    root = func.value  # the name it is built on, as Index._qualname goes down
                    while True:
                        cls = type(root)
                        if cls is Attribute:
                            root = root.value
                        elif cls is Call:
                            root = root.func
                        else:
                            break
                    if cls is not Name or root.id not in rooted:
                        continue
                method = name
            elif type(func) is Name:
                name = func.id
                append(name)
                if name in quiet and not bound_anywhere(name):
                    # a builtin bound nowhere in the file resolves to ``builtins.NAME``
                    # (Index._qualname), for which no rule is registered (see __init__)
                    continue
                method = None
            else:
                append("")
                method = None
            try:
                qualname = index.qualname(func)  # (Index.call_name, without reading call.func again)
            except RecursionError:
                qualname = None
            rules = memo.get((qualname, method))
            if rules is None:
                rules = self.call_rules(qualname, func)
            for rule in rules:
                if inactive and rule in inactive:
                    continue
                try:
                    rule.check_call(ctx, call, qualname)
                except Exception as exc:  # noqa: BLE001 - a bug in a rule must not lose the rest of the file
                    _failed(rule, ctx, call, skipped, exc)
        # Rule by rule, each on the nodes its ``select`` keeps (findings are sorted afterwards,
        # so the order in which rules see nodes does not show).
        collected = index.nodes.get  # (as index.of_type for one type, without a call of it per type)
        for node_type, rules in self.nodes.items():
            nodes = collected(node_type)
            if not nodes:
                continue
            for rule in rules:
                if inactive and rule in inactive:
                    continue
                try:
                    chosen = rule.select(ctx, node_type, nodes)
                except Exception:  # noqa: BLE001 - a failed shortcut costs time, not findings
                    chosen = nodes
                check = rule.check_node
                for node in chosen:
                    try:
                        check(ctx, node)
                    except Exception as exc:  # noqa: BLE001 - as above
                        _failed(rule, ctx, node, skipped, exc)

    @classmethod
    def from_options(cls, options: Options) -> RuleSet:
        return cls(registry.select(options.select, options.ignore))

    def call_rules(self, qualname: str | None, func: ast.expr) -> tuple[Rule, ...]:
        key = (qualname, func.attr if isinstance(func, ast.Attribute) else None)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = tuple(self._call_rules(qualname, func))
        return found

    def _call_rules(self, qualname: str | None, func: ast.expr) -> list[Rule]:
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


def review_source(source: SourceFile, ruleset: RuleSet, options: Options,
                  external: dict | None = None) -> FileResult:
    """Analyse one parsed file. ``external`` holds other modules' data-flow summaries (the
    cross-module step passes them when it re-analyses a file)."""
    skipped: list[Skipped] = []
    try:
        index = Index(source.tree, module_name(source.path), ruleset.collect)
    except RecursionError:
        return FileResult(source.path, (), (Skipped(source.path, "too deeply nested to analyse"),),
                          source.line_count, reviewed=False)
    label = context_mod.classify(source.path, index, source.text[:2000]).label
    ctx = FileContext(source, index, label)
    ruleset.check(ctx, skipped)
    taint_record = None
    # Test code feeds hard-coded data to fakes; nothing in it comes from an attacker, so data flow
    # is followed there only when the test-code policy keeps everything.
    if ruleset.flow_ids and (label != context_mod.TEST or options.test_policy == "keep"):
        try:
            flows, taint_record = taint_run.analyse(ctx, ruleset.flow_ids, tuple(options.taint_specs), external)
            ctx.findings = taint_run.merge(ctx.findings, flows, taint_record.get("sanitized_sinks", ()))
        except (RecursionError, MemoryError):
            skipped.append(Skipped(source.path, "partly reviewed: data-flow analysis ran out of stack "
                                                "(too deeply nested)"))
    # the analysis the policy builds is handed on to the outline only; without one, the policy
    # builds only what its split reads (no mocks and stubs in force, which only the outline reads)
    kept, dropped, analysis = policy_mod.apply(ctx.findings, source.path, index, source.text[:2000],
                                               options.test_policy, complete=options.outline)
    findings = [f for f in kept
                if f.severity >= options.min_severity and f.confidence >= options.min_confidence]
    findings = _with_fingerprints(sorted(set(findings), key=Finding.sort_key))
    dropped = _with_fingerprints(sorted(set(dropped), key=Finding.sort_key))
    outline = None
    if options.outline:  # only the written review needs it
        from secreview import outline as outline_mod

        outline = outline_mod.build_guarded(ctx, analysis, findings, dropped, skipped)
    # Rules' per-file memos may hold the context itself (SR901's _Authz): a cycle that would keep
    # the file's tree alive until the per-file collection, which then walks all of it.
    ctx.cache.clear()
    index.release()
    return FileResult(source.path, tuple(findings), tuple(skipped), source.line_count, label,
                      dropped=tuple(dropped), outline=outline, suppressions=suppress.extract(source.text),
                      taint=taint_record, notes=source.notes)


def _failed(rule: Rule, ctx: FileContext, node: ast.AST, skipped: list[Skipped], exc: Exception) -> None:
    """Record a rule that failed on one node (the rest of the file is still reviewed)."""
    line = getattr(node, "lineno", None)
    if isinstance(exc, (RecursionError, MemoryError)):
        reason = f"partly reviewed: rule {rule.id} ran out of stack at line {line or '?'} (too deeply nested)"
    else:
        reason = f"partly reviewed: rule {rule.id} failed at line {line or '?'}: {type(exc).__name__}: {exc}"
    skipped.append(Skipped(ctx.path, reason, line))


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


def review_target(target: Target, ruleset: RuleSet, options: Options, data: bytes | None = None) -> FileResult:
    """Review one file; ``data``: its bytes, when the caller has read them already (whole, within
    the size limit: secreview.parallel reads them to make the cache key)."""
    if data is not None:
        return review_bytes(data, target.display, ruleset, options)
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
    results = analyse_files(targets, ruleset, options, allow_final=stdin is None)
    if stdin is not None:
        results.append(review_bytes(stdin[1], stdin[0], ruleset, options))
    stats = options.stats or RunStats()
    with stats.phase("global (cross-module)"):
        from secreview import parallel  # reuses the stored output when no input changed

        with parallel.gc_paused():  # the re-analysed files' trees are freed by reference counting
            results = parallel.cached_global_phase(results, ruleset, options, global_phase)
    with stats.phase("triage"):
        return triage(collect(results), options)


def analyse_files(targets: list[Target], ruleset: RuleSet, options: Options,
                  allow_final: bool = True) -> list[FileResult]:
    """The per-file phase, in target order: cached, in worker processes, within the per-file
    time budget (:func:`secreview.parallel.analyse_files`)."""
    from secreview import parallel

    return parallel.analyse_files(targets, ruleset, options, allow_final)


def global_phase(results: list[FileResult], ruleset: RuleSet, options: Options) -> list[FileResult]:
    """The step that needs every file's results: cross-module data flow. Files whose calls reach
    another module's function summary are analysed again with those summaries."""
    if not ruleset.flow_ids:
        return results

    parsed_files = _ParsedFiles()

    def rerun(result: FileResult, table, demand: frozenset[str] = frozenset()) -> FileResult | None:
        # Only the data flow can change: the pattern findings of the per-file phase are kept.
        found = parsed_files.get(result.path, options.max_file_size)
        if found is None:
            return None
        parsed, index = found
        try:
            ctx = FileContext(parsed, index, result.context)
            flows, record = taint_run.analyse(ctx, ruleset.flow_ids, tuple(options.taint_specs), table, demand,
                                              result.taint)
        except (RecursionError, MemoryError):
            return None
        except Exception as exc:  # noqa: BLE001 - an engine bug must not cost the whole review
            # the file keeps its per-file results; the reader is told what was not followed
            note = Skipped(result.path, "partly reviewed: cross-module data-flow analysis failed: "
                                        f"{type(exc).__name__}: {exc}")
            return replace(result, skipped=(*result.skipped, note))
        flows = [f for f in flows if f.severity >= options.min_severity and f.confidence >= options.min_confidence]
        others = [f for f in result.findings if f.rule_id not in ruleset.flow_ids]
        merged = taint_run.merge(others, flows, record.get("sanitized_sinks", ()))
        findings = _with_fingerprints(sorted(set(merged), key=Finding.sort_key))
        return replace(result, findings=tuple(findings), taint=record)

    from secreview import parallel

    try:
        return taint_run.project(results, rerun, parallel.rerun_many_for(options))
    finally:
        parsed_files.clear()


class _ParsedFiles:
    """The parsed trees and indexes of the files the cross-module step analysed last: a file is
    often analysed again in the next round (its summaries asked for, then its calls followed
    with the table), and parsing it is most of the cost. Bounded by lines kept."""

    MAX_LINES = 40_000

    def __init__(self):
        self._kept: dict[str, tuple[SourceFile, Index]] = {}

    def get(self, path: str, max_file_size: int) -> tuple[SourceFile, Index] | None:
        found = self._kept.pop(path, None)
        if found is None:
            parsed = read_source(path, path, max_file_size)
            if isinstance(parsed, Skipped):
                return None
            try:
                found = (parsed, Index(parsed.tree, module_name(parsed.path), frozenset({ast.Call})))
            except (RecursionError, MemoryError):
                return None
        self._kept[path] = found  # the most recent last
        lines = sum(parsed.line_count for parsed, _ in self._kept.values())
        while lines > self.MAX_LINES and len(self._kept) > 1:
            oldest = next(iter(self._kept))
            parsed, index = self._kept.pop(oldest)
            lines -= parsed.line_count
            index.release()
        return found

    def clear(self) -> None:
        for _, index in self._kept.values():
            index.release()
        self._kept.clear()


def triage(review: Review, options: Options) -> Review:
    """Filters applied to the whole review: per-file-ignores, suppression comments, the
    baseline and the diff filter (:func:`secreview.filters.apply`)."""
    from secreview import filters

    return filters.apply(review, options)


def collect(results: list[FileResult]) -> Review:
    results = sorted(results, key=lambda r: r.path)
    findings = tuple(sorted((f for r in results for f in r.findings), key=Finding.sort_key))
    skipped = tuple(sorted((s for r in results for s in r.skipped), key=lambda s: (s.path, s.line or 0, s.reason)))
    return Review(findings, skipped, tuple(results))


def review_text(text: str, path: str = "<stdin>", select: list[str] | None = None) -> Review:
    """Convenience for tests and embedding: review one piece of source text."""
    options = Options(select=list(select or []))
    return collect([review_bytes(text.encode("utf-8"), path, RuleSet.from_options(options), options)])
