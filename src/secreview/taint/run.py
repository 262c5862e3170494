"""Glue between the taint analysis and the engine: findings from hits, the per-file record of
summaries for the cross-module step, and that step itself."""

from __future__ import annotations

import zlib
from dataclasses import replace

from secreview.model import Finding, Level
from secreview.rules import registry
from secreview.rules.base import FileContext
from secreview.taint import spec as spec_mod
from secreview.taint.analysis import MARKUP_KIND, ExternalTable, Hit, ModuleTaint, Summary, _flow_rank, markup_mark

# A pattern rule's finding gives way to the data-flow finding on the same call.
SUPERSEDES = {
    "SR111": ("SR101", "SR102"),
    "SR112": ("SR103",),
    "SR113": ("SR104",),
    "SR134": ("SR201", "SR202"),
    "SR135": ("SR203",),
}
MAX_PROJECT_ROUNDS = 3
# Low-impact sinks are reported only for data that reached them by known steps: a value that went
# through calls secreview knows nothing about (an id looked up from a header, say) is most often
# no longer the sender's text. A file-system probe is one of them: after an unknown helper
# (`sanitise_name(p)`, `lookup_path(id)`) the path is most often the application's own.
WEAK_NOT_ENOUGH = frozenset({"log", "header", "session", "path-probe"})


# Sink kinds whose finding replaces the markup finding for the string that reaches them.
MARKUP_TAKEN_BY = frozenset({"html", "template", MARKUP_KIND})


def spec_index(extra: tuple[str, ...] = ()) -> spec_mod.SpecIndex:
    cache = _INDEXES
    if extra not in cache:
        cache[extra] = spec_mod.load(extra).index()
    return cache[extra]


_INDEXES: dict[tuple[str, ...], spec_mod.SpecIndex] = {}


def analyse(ctx: FileContext, selected: set[str], extra_specs: tuple[str, ...] = (),
            external: ExternalTable | None = None, demand: frozenset[str] = frozenset(),
            previous: dict | None = None) -> tuple[list[Finding], dict]:
    """Taint findings for one file (only for selected flow rules) and its record for the
    cross-module step. ``demand``: functions of this file whose summaries other files want.
    ``previous``: the file's record from an earlier analysis (the cross-module step's)."""
    spec = spec_index(extra_specs)
    # The searches of the text that choose the functions to analyse (Demand.text_facts) find the
    # same for the same text: an analysis again reuses them when the text's checksum is the one
    # the earlier analysis recorded (a file changed on disk since is searched again); so is the
    # list of its calls.
    text_sum = zlib.crc32(ctx.source.text.encode("utf-8", "surrogatepass"))
    text_facts = calls = None
    if previous is not None and previous.get("text_sum") == text_sum:
        if previous.get("text_facts") is not None:
            offsets, handlers = previous["text_facts"]
            text_facts = (offsets, handlers)
        # the calls into other modules, every call's name resolved (ModuleTaint.all_unresolved),
        # depend on the text alone too
        calls = previous.get("calls")
    module = ModuleTaint(ctx, spec, external, demand, text_facts)
    hits = module.run()
    findings = []
    seen: dict[tuple, Finding] = {}
    # one finding per rule and sink: the best-ranked flow, whatever order the hits came in
    hits = sorted(hits, key=lambda h: _flow_rank(h.flow))
    # HTML markup formatted with data that then reaches an HTML or template sink (or wider markup)
    # is reported at that sink: the flows that left a markup expression carry its mark
    taken_over = {mark for hit in hits if hit.sink_kind in MARKUP_TAKEN_BY
                  for mark in hit.flow.via if mark.startswith("markup@")}
    for hit in hits:
        if hit.sink_kind == MARKUP_KIND and markup_mark(hit.flow.steps[-1].location) in taken_over:
            continue
        rule_id = spec.spec.flows.get(hit.sink_kind)
        if rule_id is None or rule_id not in selected:
            continue
        allowed = spec.spec.flow_sources.get(hit.sink_kind)
        if allowed is not None and hit.flow.kind not in allowed:
            continue
        if hit.flow.weak and hit.sink_kind in WEAK_NOT_ENOUGH:
            continue
        finding = _finding(ctx, registry.get(rule_id), hit, spec.spec.flow_options.get(hit.sink_kind))
        key = (finding.rule_id, finding.location)
        if key not in seen:
            seen[key] = finding
            findings.append(finding)
    findings.sort(key=Finding.sort_key)
    prefix = len(ctx.index.module) + 1
    record = {"module": ctx.index.module, "summaries": module.exported(),
              "calls": sorted(module.all_unresolved()) if calls is None else calls,
              "tainted_calls": sorted(module.tainted_external),
              "param_calls": sorted(module.param_external() - module.tainted_external),
              "sanitized_sinks": [list(pos) for pos in sorted(module.sanitized_sinks)],
              # every function, analysed or not, so that other files can ask for its summary
              "functions": sorted(name[prefix:] for name in module.functions),
              "demanded": sorted(demand),
              "text_sum": text_sum,
              "text_facts": None if module.text_facts is None else list(module.text_facts)}
    return findings, record


def _finding(ctx: FileContext, rule, hit: Hit, options: spec_mod.FlowOptions | None = None) -> Finding:
    flow = hit.flow
    sink = flow.steps[-1]
    source = flow.steps[0]
    confidence = flow.confidence
    if flow.weak and confidence > Level.MEDIUM:
        confidence = Level.MEDIUM
    severity, impact = rule.severity, rule.impact
    if options is not None:
        if options.confidence is not None and confidence > options.confidence:
            confidence = options.confidence
        severity = options.severity if options.severity is not None else severity
        impact = options.impact or impact
    via = ""
    helpers = [v for v in flow.via if v.startswith("through ")]
    if helpers:
        via = " (" + ", ".join(dict.fromkeys(helpers)) + ")"
    where = f"line {source.location.line}" if source.location.path == sink.location.path \
        else f"{source.location.path}:{source.location.line}"
    origin = source.note[0].upper() + source.note[1:] if source.note[:1].isalpha() else source.note
    message = f"{origin} on {where} {sink.note}{via}. {impact}"
    loc = sink.location
    if hit.sink_node is not None:
        snippet = ctx.statement_text(hit.sink_node)
    elif loc.path == ctx.path:
        snippet = " ".join(" ".join(ctx.source.lines[loc.line - 1:loc.end_line]).split())
    else:
        snippet = sink.note
    return Finding(
        rule_id=rule.id, rule_name=rule.name, cwe=rule.cwe, severity=severity, confidence=confidence,
        location=loc, message=message, fix=rule.fix, context=ctx.context, snippet=snippet, trace=flow.steps,
    )


def merge(pattern: list[Finding], flows: list[Finding], sanitized: list | tuple = ()) -> list[Finding]:
    """Pattern findings on the same call as a data-flow finding give way to it; a pattern finding
    on a call that untrusted data reaches only through a sanitizer or guard drops to low confidence."""
    taken = {(f.location.path, f.location.line, f.location.col, old)
             for f in flows for old in SUPERSEDES.get(f.rule_id, ())}
    cleaned = {tuple(pos) for pos in sanitized}
    superseded = {old for olds in SUPERSEDES.values() for old in olds}
    kept = []
    for f in pattern:
        if (f.location.path, f.location.line, f.location.col, f.rule_id) in taken:
            continue
        if f.rule_id in superseded and (f.location.line, f.location.col) in cleaned and f.confidence > Level.LOW:
            f = replace(f, confidence=Level.LOW,
                        message=f.message + " The untrusted value that reaches it passes a sanitizer or an "
                                            "allow-list check first (data-flow analysis).")
        kept.append(f)
    return kept + flows


def _serially(rerun, items: list) -> list:
    return [rerun(*item) for item in items]


def project(results: list, rerun, rerun_many=_serially) -> list:
    """The cross-module step: re-analyse files whose calls reach another module's summary, until
    nothing changes (bounded). After the first round a file is analysed again only if a summary
    it uses changed in the round before. Within a round the table of summaries is fixed, so the
    files of a round are independent: ``rerun_many(rerun, [(result, table, demand), ...])``
    analyses them (in order, or in worker processes) and returns the new results in the same
    order; ``demand`` names the functions of the file whose summaries other files want.

    The per-file phase computes summaries only for the functions untrusted data reaches in their
    own file (taint/demand.py). The others are computed here when asked for, by analysing their
    file again with them demanded: first the functions a file passes untrusted data to
    (``tainted_calls``), then, for the files about to be analysed with the table of summaries,
    the functions they pass their parameters to (``param_calls``), so that a summary applied
    there can follow its parameters one module further, as a summary of the per-file phase
    would."""
    results = list(results)
    owners = _owners(results)
    demands = _Demands(owners, rerun, rerun_many)
    # what files pass untrusted data to, and what the files that may be analysed again with the
    # table (they pass untrusted data on, or call a function returning it) pass parameters to
    first = _collect_all(results)
    returning = _source_returning(first)
    names = _CallNames()
    candidates = [i for i, result in enumerate(results)
                  if _may_use(getattr(result, "taint", None) or {}, returning, names)]
    results = demands.serve(results, [(range(len(results)), "tainted_calls"), (candidates, "param_calls")], None)
    raw = _collect_all(results)
    if not raw:
        return results
    parsed = _Summaries(raw)
    changed_names: set[str] | None = None  # None: the first round, every file may be affected
    for _ in range(MAX_PROJECT_ROUNDS):
        everything = ExternalTable(parsed, _source_returning(raw))
        pending = _pending(results, everything, changed_names, names)
        served = demands.serve(results, [(pending, "param_calls")], everything)
        if served is not results:  # the new summaries join the table before it is used
            results = served
            raw, parsed = _refresh(raw, parsed, _collect_all(results))
            everything = ExternalTable(parsed, _source_returning(raw))
            pending = _pending(results, everything, changed_names, names)
        updated = list(results)
        items = []
        demands.new_round()
        for i in pending:
            view = everything.without_module(_module(results[i]))
            view.fetch = _Fetcher(demands, results, everything, view)
            items.append((results[i], view, _demanded(results[i].taint or {})))
        fetched: dict[int, list] = {}
        for i, (new, more) in zip(pending, rerun_many(_fetching(rerun), items)):
            old = results[i]
            if new is not None and (new.findings != old.findings or new.taint != old.taint
                                    or new.skipped != old.skipped):
                updated[i] = new
            for j, result in more.items():
                fetched.setdefault(j, []).append(result)
        demands.tabled.update(pending)
        updated = demands.settle(updated, fetched, set(pending), everything)
        updated = demands.serve(updated, [(range(len(updated)), "tainted_calls")], everything)
        new_raw = _collect_all(updated)
        results = updated
        changed_names = {name for name in set(raw) | set(new_raw) if raw.get(name) != new_raw.get(name)}
        if not changed_names:
            break
        raw, parsed = _refresh(raw, parsed, new_raw)
    return _supersede_across(results)


def _module(result) -> str:
    return (getattr(result, "taint", None) or {}).get("module", "")


def _demanded(record: dict) -> frozenset[str]:
    return frozenset(record.get("demanded", ()))


def _collect_all(results: list) -> dict[str, dict]:
    raw: dict[str, dict] = {}
    for result in results:
        _collect(raw, result)
    return raw


def _refresh(raw: dict, parsed: _Summaries, new_raw: dict) -> tuple[dict, _Summaries]:
    """The table's summaries after ``raw`` became ``new_raw`` (decoded ones kept if unchanged)."""
    return new_raw, _Summaries({name: (dict.__getitem__(parsed, name) if name in parsed and raw.get(name) == data
                                       else data) for name, data in new_raw.items()})


def _pending(results: list, table: ExternalTable, changed_names: set[str] | None,
             names: _CallNames | None = None) -> list[int]:
    """Files to analyse again with the table: those using a summary (that changed)."""
    pending = []
    names = names or _CallNames()
    # (most files are not among these: _used finds nothing, no call could use a summary)
    for i in names.candidates(results, table.source_returning):
        record = getattr(results[i], "taint", None) or {}
        module = record.get("module", "")
        uses = _used(record, table, module, names)
        if uses and (changed_names is None or uses & changed_names):
            pending.append(i)
    return pending


def _may_use(record: dict, returning: frozenset[str], names: _CallNames | None = None) -> bool:
    """Whether a file may be analysed again with the table: it passes untrusted data to another
    module, or calls a function (by its short name) that returns untrusted data."""
    return bool(record.get("tainted_calls")) or not returning.isdisjoint((names or _CallNames())(record))


class _CallNames:
    """The short names (``run`` of ``pkg.tasks.run``) of the calls a file's record lists, worked
    out once per record: the cross-module step asks about every file in every round, and only
    a file calling a name some summary returns untrusted data from can use that summary."""

    def __init__(self):
        self._found: dict[int, tuple[dict, frozenset[str]]] = {}
        self._named: dict[int, tuple[dict, dict[str, list[str]]]] = {}
        # for candidates(): the record seen at each position, the positions of the records with
        # tainted calls, and the positions by the short names their calls have
        self._seen: list = []
        self._tainted: set[int] = set()
        self._calling: dict[str, set[int]] = {}

    def candidates(self, results: list, returning: frozenset[str]) -> list[int]:
        """Positions of the results whose record lists calls that receive untrusted data or a
        call of one of the short names ``returning``, in order: ``_may_use`` of each, from an
        index by short name kept up to date as records change (the cross-module step asks
        about every file several times, and few files change between its questions)."""
        seen = self._seen
        if len(seen) != len(results):
            seen[:] = [None] * len(results)
            self._tainted, self._calling = set(), {}
        records = [getattr(result, "taint", None) for result in results]
        tainted, calling = self._tainted, self._calling
        for i in [i for i, (record, before) in enumerate(zip(records, seen)) if record is not before]:
            before = seen[i]
            if before:
                tainted.discard(i)
                for name in self(before):
                    calling[name].discard(i)
            record = seen[i] = records[i]
            if record:
                if record.get("tainted_calls"):
                    tainted.add(i)
                for name in self(record):
                    calling.setdefault(name, set()).add(i)
        found = set(tainted)
        for name in returning.intersection(calling):
            found |= calling[name]
        return sorted(found)

    def __call__(self, record: dict) -> frozenset[str]:
        found = self._found.get(id(record))
        if found is None or found[0] is not record:  # (the record is kept: its id stays its own)
            found = self._found[id(record)] = (record, frozenset(
                name.rsplit(".", 1)[-1] for name in record.get("calls", ())))
        return found[1]

    def named(self, record: dict) -> dict[str, list[str]]:
        """The calls the record lists by their short names."""
        found = self._named.get(id(record))
        if found is None or found[0] is not record:
            by_name: dict[str, list[str]] = {}
            for name in record.get("calls", ()):
                by_name.setdefault(name.rsplit(".", 1)[-1], []).append(name)
            found = self._named[id(record)] = (record, by_name)
        return found[1]


def _owners(results: list) -> dict[str, list[tuple[int, str]]]:
    """Full name of every function of every file -> (file's position, name within its module)."""
    owners: dict[str, list[tuple[int, str]]] = {}
    for i, result in enumerate(results):
        record = getattr(result, "taint", None) or {}
        module = record.get("module", "")
        for name in record.get("functions", ()):
            owners.setdefault(f"{module}.{name}", []).append((i, name))
    return owners


def _fetching(rerun):
    """``rerun`` that also returns the results of the files its table's fetcher analysed."""
    def run(result, table, demand=frozenset()):
        new = rerun(result, table, demand)
        fetcher = getattr(table, "fetch", None)
        return new, (dict(fetcher.fetched) if fetcher is not None else {})
    return run


class _Fetcher:
    """Computes, while one file is analysed again with the table, the summaries of the other
    files' functions it passes data to and the table lacks (``ExternalTable.fetch``): their
    files are analysed with those functions demanded, right then, instead of in a later round
    after which the file would be analysed once more. Each file's fetcher works alone (the
    results do not depend on which process analyses which file); the cross-module step
    settles what they fetched (:meth:`_Demands.settle`)."""

    def __init__(self, demands: _Demands, results: list, table: ExternalTable, view: ExternalTable):
        self.demands = demands
        self.results = results
        self.table = table
        self.view = view  # the caller's view of the table (its own module left out)
        self.fetched: dict[int, object] = {}
        self.tried: set[str] = set()

    def __call__(self, qualname: str, module: str) -> Summary | None:
        if qualname not in self.tried:
            self.tried.add(qualname)
            wants: dict[int, set[str]] = {}
            for j, name in self.demands.owners_of(qualname, module):
                if name not in _demanded(self._current(j).taint or {}):
                    wants.setdefault(j, set()).add(name)
            for j in sorted(wants):
                current = self._current(j)
                owner = _module(current)
                new = self.demands.fetch(j, current, self.table, _demanded(current.taint or {}) | wants[j])
                if new is None:
                    continue
                self.fetched[j] = new
                for name, data in ((new.taint or {}).get("summaries") or {}).items():
                    full = name if name.startswith(owner) else f"{owner}.{name}"
                    if full not in self.table.full:
                        self.view.add(full, Summary.from_json(data))
        return self.view.get(qualname, module)

    def _current(self, j: int):
        return self.fetched.get(j, self.results[j])


class _Demands:
    """Summaries asked for across files, and the files that serve them (see :func:`project`)."""

    def __init__(self, owners: dict[str, list[tuple[int, str]]], rerun, rerun_many):
        self.owners = owners
        self.defined = ExternalTable(dict.fromkeys(owners))
        self.rerun = rerun
        self.rerun_many = rerun_many
        self.tabled: set[int] = set()  # files analysed with other modules' summaries
        self.asked: dict[int, set[str]] = {}  # functions each file was asked for
        # what fetchers got this round: (file, its result then, functions demanded) -> result
        self._fetches: dict[tuple[int, int, frozenset[str]], tuple[object, object, object]] = {}

    def fetch(self, j: int, current, table: ExternalTable, demand: frozenset[str]):
        """``current`` (file ``j``) analysed again with ``demand``, for a fetcher: with the table
        (its own module left out) when it already was. Fetchers of the same round often ask the
        same file for the same functions (three callers of one helper): the analysis then depends
        on nothing else (the table is fixed within a round; the file's view has no fetcher), so
        its result is reused, in this process, instead of analysing the file again."""
        key = (j, id(current), demand)
        found = self._fetches.get(key)
        if found is not None and found[0] is current and found[1] is table:
            return found[2]
        view = table.without_module(_module(current)) if j in self.tabled else None
        new = self.rerun(current, view, demand)
        self._fetches[key] = (current, table, new)  # (both kept: their ids stay theirs)
        return new

    def new_round(self) -> None:
        """Forget the fetched results: the next round's table differs."""
        self._fetches = {}

    def owners_of(self, qualname: str, module: str) -> list[tuple[int, str]]:
        """(file's position, function name) of every function a call of ``qualname`` made in
        ``module`` may reach (every key the table of summaries could answer with)."""
        return [owner for key in self.defined.keys_for(qualname, module) for owner in self.owners[key]]

    def settle(self, results: list, fetched: dict[int, list], rerun_now: set[int],
               table: ExternalTable) -> list:
        """Take in the results of the files fetchers analysed: a file fetched once with every
        function asked of it keeps that result; otherwise (several fetchers asked for different
        functions, or the file was itself analysed again this round) it is analysed again with
        all of them."""
        if not fetched:
            return results
        out = list(results)
        again = []
        for j in sorted(fetched):
            wanted = set(_demanded(out[j].taint or {}))
            for result in fetched[j]:
                wanted |= _demanded(result.taint or {})
            self.asked.setdefault(j, set()).update(wanted)
            whole = [r for r in fetched[j] if _demanded(r.taint or {}) == wanted]
            if whole and j not in rerun_now:
                out[j] = whole[0]
            else:
                view = table.without_module(_module(out[j])) if j in self.tabled else None
                again.append((j, (out[j], view, frozenset(wanted))))
        if again:
            for (j, _), new in zip(again, self.rerun_many(self.rerun, [item for _, item in again])):
                if new is not None:
                    out[j] = new
        return out

    def serve(self, results: list, asks: list[tuple[object, str]], table: ExternalTable | None) -> list:
        """Analyse again, with the functions demanded, the files whose functions are called in the
        calls of each ``(callers, kind)`` of ``asks`` (file positions, record key) and have no
        summary for yet. A file is analysed as it was last: with the table when it already was,
        without before. The same list comes back when nothing was asked for."""
        wants: dict[int, set[str]] = {}
        for callers, kind in asks:
            for i in callers:
                record = getattr(results[i], "taint", None) or {}
                module = record.get("module", "")
                for qualname in record.get(kind, ()):
                    for j, name in self.owners_of(qualname, module):
                        if name not in self.asked.get(j, ()) and name not in _demanded(results[j].taint or {}):
                            wants.setdefault(j, set()).add(name)
        if not wants:
            return results
        order = sorted(wants)
        items = []
        for j in order:
            self.asked.setdefault(j, set()).update(wants[j])
            view = table.without_module(_module(results[j])) if table is not None and j in self.tabled else None
            items.append((results[j], view, _demanded(results[j].taint or {}) | wants[j]))
        out = list(results)
        for j, new in zip(order, self.rerun_many(self.rerun, items)):
            if new is not None:
                out[j] = new
        return out


def _source_returning(raw: dict[str, dict]) -> frozenset[str]:
    """Short names of the functions whose summary returns untrusted data (not a parameter)."""
    found = set()
    for name, data in raw.items():  # the JSON form, as the records hold it
        if any(not flow["kind"].startswith("param:") for flow in data.get("returns", ())):
            found.add(name.rsplit(".", 1)[-1])
    return frozenset(found)


class _Summaries(dict):
    """Summaries by qualified name, decoded from their JSON form when first looked up (most are
    never needed by any other module)."""

    def __getitem__(self, name: str) -> Summary:
        value = dict.__getitem__(self, name)
        if isinstance(value, dict):
            value = Summary.from_json(value)
            dict.__setitem__(self, name, value)
        return value


def _collect(table: dict[str, dict], result) -> None:
    record = getattr(result, "taint", None) or {}
    module = record.get("module", "")
    for name, data in record.get("summaries", {}).items():
        table[name if name.startswith(module) else f"{module}.{name}"] = data


def _used(record: dict, table: ExternalTable, module: str, names: _CallNames | None = None) -> set[str]:
    """Names of other modules' summaries that could change this file's result: functions that
    receive untrusted data here and pass it on or to a sink, and functions that return it."""
    found: set[str] = set()
    for qualname in record.get("tainted_calls", ()):
        key = table.key(qualname, module)
        if key is not None and not key.startswith(module + "."):
            summary = table.full[key]
            if summary.sinks or any(f.is_param for f in summary.returns):
                found.add(key)
    returning = table.source_returning  # only these short names can return untrusted data
    # the calls of those short names (the record's calls, looked at by name, not one by one)
    named = (names or _CallNames()).named(record)
    for qualname in [qualname for name in returning.intersection(named) for qualname in named[name]]:
        key = table.key(qualname, module)
        if key is not None and not key.startswith(module + "."):
            if any(not f.is_param for f in table.full[key].returns):
                found.add(key)
    return found


def _supersede_across(results: list) -> list:
    """A data-flow finding found by the cross-module step sits in another file than the call that
    started it: drop the pattern finding on the same sink there too."""
    from dataclasses import replace

    flows = [f for r in results for f in r.findings if f.rule_id in SUPERSEDES]
    taken = {(f.location.path, f.location.line, f.location.col, old) for f in flows for old in SUPERSEDES[f.rule_id]}
    if not taken:
        return results
    out = []
    for result in results:
        kept = tuple(f for f in result.findings
                     if (f.location.path, f.location.line, f.location.col, f.rule_id) not in taken)
        out.append(result if len(kept) == len(result.findings) else replace(result, findings=kept))
    return out


def taint_rule_ids() -> set[str]:
    from secreview.rules.dataflow import FLOW_RULES

    return {cls.id for cls in FLOW_RULES.values()}

