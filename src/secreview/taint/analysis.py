"""Forward taint analysis of one module, with per-function summaries.

Each function (and the module body) is interpreted once per round over its statements in order:
an environment maps local names (and constant-key slots of containers) to the set of *flows*
that reach them. A flow remembers its source kind, its confidence, the steps it took (source,
assignments, calls, returns) and the sink kinds it has been sanitised for. Branches are joined,
loops run twice, conditions that fold to constants prune the dead branch, and guards (allow-list
membership, anchored regex matches, path containment, URL host checks) clean the guarded name.

Parameters of ordinary functions carry symbolic flows (``param:N``); what reaches the function's
return and its sinks becomes its summary, applied at every call. Rounds repeat until no summary
changes (bounded). Summaries are plain JSON so the cross-module step (``taint.project``) can apply
one module's summaries to calls made in another.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from secreview.model import Level, Location, TraceStep
from secreview.rules.base import NOT_CONSTANT, FileContext
from secreview.taint import markup
from secreview.taint.demand import Demand
from secreview.taint.spec import Sink, SpecIndex

MAX_FLOWS = 4
MAX_STEPS = 14
MAX_ROUNDS = 4
MAX_NESTING = 8  # callees interpreted inside their caller's interpretation, at the most
# A module body that surely meets no untrusted data is interpreted only when a summary changes
# (ModuleTaint.run); False interprets it first, always (the tests compare both).
DEFER_CLEAN_MODULE = True
# Module-level code nested deeper than this is interpreted first, as always: the interpretation
# recurses and may run out of stack there, which the file's report tells.
_CLEAN_DEPTH = 64
# Calls whose result carries nothing of their arguments.
CLEAN_RESULT = frozenset({
    "builtins.len", "builtins.bool", "builtins.isinstance", "builtins.issubclass", "builtins.hasattr",
    "builtins.callable", "builtins.id", "builtins.hash", "builtins.type", "builtins.print", "builtins.range",
    "builtins.enumerate.__never__", "builtins.sorted.__never__",
})
_ANCHORED = re.compile(r"^\^.*\$$|^\^.*\\Z$", re.S)
MARKUP_KIND = "html-markup"  # HTML markup in a literal formatted with data (see taint/markup.py)
MARKUP_MARK = "markup@"  # breadcrumb a markup expression leaves on the flows it formats
_UNKNOWN = object()  # not looked up yet (None is an answer: no enclosing class or function)


@dataclass(frozen=True)
class Flow:
    kind: str  # source kind, or "param:N" for a function's N-th parameter
    confidence: Level
    steps: tuple[TraceStep, ...]
    what: str = ""
    sanitized: frozenset[str] = frozenset()
    via: tuple[str, ...] = ()  # breadcrumbs: sanitizers and helpers passed through
    weak: bool = False  # passed through a call secreview knows nothing about

    # Flows are hashed and ranked many times over (sets of flows are merged at every step):
    # both are computed once per flow and kept in the instance's __dict__ (not fields, so they
    # take no part in equality). Of the steps, the hash takes only where the first and the last
    # are and the last one's note: equal flows still hash alike, and hashing every step (each
    # a dataclass hashing its location, another dataclass) was most of the cost of making a
    # flow; two flows that differ only elsewhere merely collide.
    def __hash__(self) -> int:
        cached = self.__dict__.get("_hash")
        if cached is None:
            steps = self.steps
            if steps:
                first, last = steps[0].location, steps[-1]
                ends = (first.line, first.col, last.location.line, last.location.col, last.note)
            else:
                ends = ()
            cached = hash((self.kind, self.confidence, len(steps), ends, self.what, self.sanitized, self.via,
                           self.weak))
            self.__dict__["_hash"] = cached
        return cached

    @property
    def rank(self) -> tuple:
        cached = self.__dict__.get("_rank")
        if cached is None:
            cached = self.__dict__["_rank"] = _rank(self)
        return cached

    @property
    def is_param(self) -> bool:
        return self.kind.startswith("param:")

    def safe_for(self, sink_kind: str) -> bool:
        return "*" in self.sanitized or sink_kind in self.sanitized

    def step(self, item: TraceStep) -> Flow:
        return _flow(self.kind, self.confidence, _trimmed(self.steps + (item,)), self.what, self.sanitized, self.via,
                     self.weak)

    def weakened(self) -> Flow:
        """This flow, passed through a call secreview knows nothing about."""
        if self.weak:
            return self
        found = self.__dict__.get("_weakened")
        if found is None:
            found = self.__dict__["_weakened"] = _flow(self.kind, self.confidence, self.steps, self.what,
                                                        self.sanitized, self.via, True)
        return found

    def to_json(self) -> dict:
        return {"kind": self.kind, "confidence": self.confidence.label, "what": self.what,
                "steps": [_step_json(s) for s in self.steps], "sanitized": sorted(self.sanitized),
                "via": list(self.via), "weak": self.weak}

    @classmethod
    def from_json(cls, data: dict) -> Flow:
        return cls(data["kind"], Level.parse(data["confidence"]), tuple(_step_from(s) for s in data["steps"]),
                   data.get("what", ""), frozenset(data.get("sanitized", ())), tuple(data.get("via", ())),
                   data.get("weak", False))


_new = object.__new__


def _flow(kind: str, confidence: Level, steps: tuple[TraceStep, ...], what: str, sanitized: frozenset[str],
          via: tuple[str, ...], weak: bool) -> Flow:
    """``Flow(...)`` (or ``dataclasses.replace`` of one) without the frozen dataclass's
    ``__init__``, which sets each field through ``object.__setattr__``: flows are made by the
    hundred thousand, and this takes half the time."""
    flow = _new(Flow)
    flow.__dict__.update(kind=kind, confidence=confidence, steps=steps, what=what, sanitized=sanitized, via=via,
                         weak=weak)
    return flow


def _trimmed(steps: tuple[TraceStep, ...]) -> tuple[TraceStep, ...]:
    """At most MAX_STEPS steps: the first two and the last ones."""
    if len(steps) > MAX_STEPS:
        return steps[:2] + steps[-(MAX_STEPS - 2):]
    return steps


def _step_json(step: TraceStep) -> list:
    loc = step.location
    return [loc.path, loc.line, loc.col, loc.end_line, loc.end_col, step.note]


def _step_from(data: list) -> TraceStep:
    path, line, col, end_line, end_col, note = data
    return TraceStep(Location(path, line, col, end_line, end_col), note)


Taint = frozenset  # frozenset[Flow]
EMPTY: frozenset = frozenset()


def _union(*taints: frozenset) -> frozenset:
    # Most unions have at most one non-empty part, or the same set twice (a join of branches
    # that left a name alone): that part is the result as it is, with no new set made.
    found = None
    merged = None
    for t in taints:
        if t and t is not found:
            if found is None:
                found = t
            elif merged is None:
                merged = found | t
            else:
                merged = merged | t
    if merged is None:
        if found is None:
            return EMPTY
        merged = found
    if len(merged) > MAX_FLOWS:
        return frozenset(sorted(merged, key=_flow_rank)[:MAX_FLOWS])
    return merged


def _union2(a: frozenset, b: frozenset) -> frozenset:
    """``_union(a, b)``, without packing the arguments (joins make millions of these)."""
    if not b or a is b:
        merged = a
    elif not a:
        merged = b
    else:
        merged = a | b
    if len(merged) > MAX_FLOWS:
        return frozenset(sorted(merged, key=_flow_rank)[:MAX_FLOWS])
    return merged


def _flow_rank(flow: Flow) -> tuple:
    return flow.rank


def _ranked(taint: frozenset) -> list[Flow]:
    """The flows of ``taint``, best first (most sets hold one flow, which need no ranking)."""
    if len(taint) < 2:
        return list(taint)
    return sorted(taint, key=_flow_rank)


def _rank(flow: Flow) -> tuple:
    first = flow.steps[0].location if flow.steps else None
    # Ends with every step and the rest of the flow, so the order is total: flows come out of
    # sets, whose order changes with the hash seed from one process to the next.
    return (flow.is_param, -flow.confidence, flow.weak, len(flow.steps), flow.kind,
            (first.path, first.line, first.col) if first else ("", 0, 0), flow.via,
            tuple((s.location.path, s.location.line, s.location.col, s.location.end_line, s.location.end_col, s.note)
                  for s in flow.steps), flow.what, tuple(sorted(flow.sanitized)))


@dataclass
class Summary:
    """What a function does with its parameters: which reach its return value and which reach a sink."""

    params: list[str]
    returns: frozenset = EMPTY  # flows (param:N or real sources) that reach a return
    sinks: list[tuple[int, str, str, Flow, TraceStep]] = field(default_factory=list)
    # (param index, sink kind, sink description, the param's flow up to the sink, the sink step)

    def key(self) -> tuple:
        """A value that changes when the summary does."""
        return (self.returns,
                tuple((i, k, d, f.steps, f.sanitized, s) for i, k, d, f, s in self.sinks))

    def to_json(self) -> dict:
        return {"params": self.params,
                "returns": [f.to_json() for f in sorted(self.returns, key=_flow_rank)],
                "sinks": [[i, kind, desc, flow.to_json(), _step_json(step)] for i, kind, desc, flow, step in self.sinks]}

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        return cls(list(data["params"]), frozenset(Flow.from_json(f) for f in data["returns"]),
                   [(i, kind, desc, Flow.from_json(flow), _step_from(step)) for i, kind, desc, flow, step in data["sinks"]])


@dataclass(frozen=True)
class Hit:
    """A real source reaching a sink."""

    sink_node: ast.AST
    sink_kind: str
    sink_desc: str
    flow: Flow


class State:
    __slots__ = ("env", "slots", "slot_count")

    def __init__(self, env: dict | None = None, slots: dict | None = None, slot_count: dict | None = None):
        self.env: dict[str, frozenset] = env if env is not None else {}
        self.slots: dict[tuple[str, object], frozenset] = slots if slots is not None else {}
        # name -> how many slots it has (so that names without slots are told apart in O(1))
        if slot_count is None:
            slot_count = {}
            for name, _ in self.slots:
                slot_count[name] = slot_count.get(name, 0) + 1
        self.slot_count: dict[str, int] = slot_count

    def copy(self) -> State:
        new = _new(State)
        new.env, new.slots, new.slot_count = dict(self.env), dict(self.slots), dict(self.slot_count)
        return new

    def join(self, other: State) -> State:
        env = dict(self.env)
        for k, v in other.env.items():
            mine = env.get(k)
            if mine is not v or len(v) > MAX_FLOWS:  # most names are the same set on both sides
                env[k] = _union2(EMPTY if mine is None else mine, v)
        if not other.slots:
            return State(env, dict(self.slots), dict(self.slot_count))
        slots = dict(self.slots)
        for k, v in other.slots.items():
            slots[k] = _union2(slots.get(k, EMPTY), v)
        return State(env, slots)

    def has(self, name: str) -> bool:
        return name in self.env or name in self.slot_count

    def set_slot(self, name: str, key: object, taint: frozenset) -> None:
        if (name, key) not in self.slots:
            self.slot_count[name] = self.slot_count.get(name, 0) + 1
        self.slots[(name, key)] = taint

    def assign(self, name: str, taint: frozenset) -> None:
        self.env[name] = taint
        if name in self.slot_count:
            del self.slot_count[name]
            for key in [k for k in self.slots if k[0] == name]:
                del self.slots[key]

    def whole(self, name: str) -> frozenset:
        if name not in self.slot_count:
            taint = self.env.get(name, EMPTY)
            return taint if len(taint) <= MAX_FLOWS else _union(taint)
        parts = [self.env.get(name, EMPTY)]
        parts += [v for k, v in self.slots.items() if k[0] == name]
        return _union(*parts)


class ModuleTaint:
    """Taint analysis of one module."""

    def __init__(self, ctx: FileContext, spec: SpecIndex, external: ExternalTable | None = None,
                 demand: frozenset[str] = frozenset(), text_facts: tuple[list[int], bool] | None = None):
        self.ctx = ctx
        self.text_facts = text_facts  # Demand.text_facts: given, or found by run()
        self.demand = demand  # functions (names within the module) other modules want summaries of
        self.index = ctx.index
        self.spec = spec
        self.external = external
        self.module = self.index.module
        self.path = ctx.path
        self.functions: dict[str, ast.AST] = {}
        for func in self.index.functions:
            scope = self.index.inner_scope(func)
            if scope is not None:
                self.functions[scope.name] = func
        # each function's summary, made when first asked for (see summary()): most functions
        # are never interpreted nor called by one that is
        self.summaries: dict[ast.AST, Summary] = {}
        self.final_env: dict[ast.AST, State] = {}
        # self.x taint: read from the previous round, written in this one
        self.attr_taint: dict[tuple[ast.AST, str], frozenset] = {}
        self.attr_next: dict[tuple[ast.AST, str], frozenset] = {}
        self.attr_own: dict[tuple[ast.AST, tuple[ast.AST, str]], frozenset] = {}  # (method, key) -> its params
        self.tainted_external: set[str] = set()  # external calls that received real untrusted data
        # external calls that received only parameters' flows, by the unit making them, and the
        # functions of this module called with untrusted data: the summaries of these functions
        # are applied to it, so the summaries of what they pass their parameters to matter
        self.param_calls: dict[ast.AST, set[str]] = {}
        self.relevant: set[ast.AST] = set()
        # the rounds (see run): results, summary versions, what each unit used, and the units
        # being interpreted (nested: a callee is interpreted when a caller first needs it)
        self._hits: dict[ast.AST, list[Hit]] = {}
        self._versions: dict[ast.AST, int] = {}
        self._used: dict[ast.AST, dict[ast.AST, int]] = {}
        self._stale: set[ast.AST] = set()
        self._interpreted: set[ast.AST] = set()
        self._active: set[ast.AST] = set()
        self._depth = 0
        # what each unit depends on, to re-run only what a changed summary affects
        self.callees: dict[ast.AST, set[ast.AST]] = {}
        self.attrs_read: dict[ast.AST, set[tuple[ast.AST, str]]] = {}
        self.attr_writes: dict[ast.AST, dict[tuple[ast.AST, str], frozenset]] = {}
        self.hits: list[Hit] = []
        self.routes: dict[ast.AST, str] = {}  # routed view -> its framework owner
        self.unresolved: set[str] = set()  # calls to functions of other modules (for the cross-module step)
        self.sanitized_sinks: set[tuple[int, int]] = set()  # sinks reached only by sanitised untrusted data
        self._source_cache: dict[ast.AST, frozenset] = {}
        self.opened_attrs = spec.opened_attrs  # (SpecIndex: worked out once per specification)
        # Units run again in later rounds, loop bodies twice, and a node is stepped through by
        # many flows: what depends only on the node is worked out once per module.
        self._locations: dict[ast.AST, Location] = {}
        self._steps: dict[tuple[ast.AST, str], TraceStep] = {}
        self._assigned: dict[ast.AST, TraceStep] = {}  # target -> its "assigned to `x`" step
        self._calls: dict[ast.Call, _CallFacts] = {}
        self._params: dict[ast.AST, list[tuple[str, frozenset]]] = {}  # function -> its parameters' flows
        self._folds: dict[ast.expr, bool | None] = {}  # condition -> its constant value
        self._guards: dict[ast.expr, tuple[dict[str, frozenset], dict[str, frozenset]]] = {}
        self._marks: dict[ast.expr, str | None] = {}  # expression -> its markup mark, None without markup
        self._class_of: dict[ast.AST, ast.ClassDef | None] = {}
        self._handler_markers: dict[ast.AST, frozenset[str]] = {}  # function (or node) -> handler_markers()
        self._function_of: dict[ast.AST, ast.AST | None] = {}  # unit -> the function it is nested in
        # The same sets of flows are assigned to the same targets, and passed through unknown
        # calls, again and again: the resulting sets are remembered (the same set object comes
        # back, which also makes the joins that meet it again cheap).
        self._noted: dict[tuple[ast.AST, frozenset], frozenset] = {}
        self._weakened: dict[frozenset, frozenset] = {}

    # ------------------------------------------------------------------ driver

    def run(self) -> list[Hit]:
        funcs = list(self.index.functions)
        for func in funcs:
            if func.decorator_list:  # (only a decorator routes a view)
                owner = self._route_owner(func)
                if owner:
                    self.routes[func] = owner
        # Only the functions untrusted data can reach, or whose summary is wanted, are
        # interpreted (see taint/demand.py); the others keep an empty summary. A function is
        # also interpreted when an interpreted one calls it with untrusted data (or with its
        # parameters, when its own summary is applied to untrusted data): right then, before
        # the caller goes on, so that the caller applies the callee's summary (see request()).
        plan = self._plan = Demand(self, funcs, self.demand, self.text_facts)
        needed = plan.initial()
        self.text_facts = plan.text_facts
        self._position = {func: i for i, func in enumerate(funcs)}
        if self.demand:
            prefix = len(self.module) + 1
            self.relevant.update(func for name, func in self.functions.items() if name[prefix:] in self.demand)
        units = [self.index.tree, *(f for f in funcs if f in needed)]
        self._todo = units
        # The module body is the first unit of the first round: every function's summary is
        # still empty then, so untrusted data can reach it only from a source read at module
        # level or from another module's summary that returns some. When neither can happen
        # (most modules: imports, constants, classes), interpreting it then finds nothing, and
        # changes nothing but caches: it is left for later, and interpreted (as it was then) only
        # if a function's summary changes, which is the only way it could be re-run and find
        # something (see _rounds and _unit).
        self._deferred_module = False
        self._deferred_callees: set[ast.AST] = set()  # the functions of this module it may call
        if DEFER_CLEAN_MODULE and _Unit(self, self.index.tree).starts_clean():
            self._deferred_module = True
            self._deferred_external = self.external.frozen() if self.external is not None else None
            self._todo = units[1:]
        try:
            units = self._rounds(funcs, units, needed)
        finally:
            self._plan = None  # the plan refers back to this object: no cycle is left behind
        self.hits = [hit for unit in units for hit in self._hits.get(unit, ())]
        return self.hits

    def _rounds(self, funcs: list[ast.AST], units: list[ast.AST], needed: set[ast.AST]) -> list[ast.AST]:
        """Interpret the units round after round until nothing changes (bounded): the units
        interpreted, in order."""
        for _ in range(MAX_ROUNDS):
            self._grown = set()
            self._done = set()  # units analysed in this round
            self._next = 0
            while self._next < len(self._todo):
                unit = self._todo[self._next]
                self._next += 1
                if unit not in self._done:
                    self._analyse(unit)
            if self._grown:
                needed |= self._grown
                units = [self.index.tree, *(f for f in funcs if f in needed)]
            # ``self.x`` after the round: what any method stored there, except that a method's
            # parameters are its own (``param:N`` means nothing in another method)
            self.attr_next = {}
            own_next: dict[tuple[ast.AST, tuple[ast.AST, str]], frozenset] = {}
            for unit, writes in self.attr_writes.items():
                for key, value in writes.items():
                    shared = frozenset(f for f in value if not f.is_param)
                    if len(shared) != len(value):
                        own_next[(unit, key)] = value - shared
                    if shared or key not in self.attr_next:
                        self.attr_next[key] = _union2(self.attr_next.get(key, EMPTY), shared)
            changed_attrs = {k for k in set(self.attr_taint) | set(self.attr_next)
                             if self.attr_taint.get(k) != self.attr_next.get(k)}
            changed_attrs |= {unit_key[1] for unit_key, _ in set(self.attr_own.items()) ^ set(own_next.items())}
            self.attr_taint = self.attr_next
            self.attr_own = own_next
            versions, used, stale = self._versions, self._used, self._stale
            # a module body left for later (see run) runs once the summary of a function it
            # may call changed
            deferred = self.index.tree if self._deferred_module \
                and any(callee in versions for callee in self._deferred_callees) else None
            self._todo = [u for u in units
                          if u is deferred or u in stale
                          or any(versions.get(c, 0) != v for c, v in used.get(u, {}).items())
                          or self.attrs_read.get(u, set()) & changed_attrs]
            self._stale = set()
            if not self._todo:
                break
        return units

    def _analyse(self, unit: ast.AST) -> None:
        """Interpret one unit in this round, noting what it used and whether its summary changed."""
        summary = None if unit is self.index.tree else self.summary(unit)
        before = summary.key() if summary is not None else None
        self._done.add(unit)
        self._interpreted.add(unit)
        self.hits = []
        self._unit(unit)
        self._hits[unit] = self.hits
        versions = self._versions
        self._used[unit] = {callee: versions.get(callee, 0) for callee in self.callees.get(unit, ())}
        if summary is not None and summary.key() != before:
            versions[unit] = versions.get(unit, 0) + 1
        more = self._plan.after_unit(unit)
        if more:
            self._schedule(more)

    def _schedule(self, more: set[ast.AST]) -> None:
        """Newly needed functions run in this round, after the current unit, in source order."""
        self._grown |= more
        position = self._position
        rest = set(self._todo[self._next:]) | {u for u in more if u not in self._done}
        self._todo = self._todo[:self._next] + sorted(rest, key=lambda u: position.get(u, -1))

    def request(self, callee: ast.AST, relevant: bool) -> None:
        """A unit calls ``callee`` of this module with untrusted data, or with parameters'
        flows (``relevant``: its own summary is applied to untrusted data): ``callee`` is
        interpreted now if it was not yet, and is itself ``relevant`` from now on."""
        if callee not in self.relevant:
            self.relevant.add(callee)
            if callee in self._interpreted:  # interpreted before without its callees: again
                self._stale.add(callee)
        if callee in self._interpreted or callee in self._active:
            return
        more = self._plan.add_group(callee)
        if self._depth >= MAX_NESTING:
            self._schedule(more | {callee})
            return
        saved = (self.hits, self._current_callees, self._current_attrs, self._current_writes,
                 self._current_param_calls)
        self._active.add(callee)
        self._depth += 1
        try:
            self._grown |= more
            self._analyse(callee)
        finally:
            self._depth -= 1
            self._active.discard(callee)
            (self.hits, self._current_callees, self._current_attrs, self._current_writes,
             self._current_param_calls) = saved
        if more - {callee}:
            self._schedule(more - {callee})

    def summary(self, func: ast.AST) -> Summary:
        """The summary of ``func``, a function of this module: empty until it is interpreted
        (a summary not made yet is an empty one, which ``exported`` leaves out too)."""
        found = self.summaries.get(func)
        if found is None:
            found = self.summaries[func] = Summary([a.arg for a in _params(func)])
        return found

    def param_external(self) -> set[str]:
        """External calls given parameters' flows by the functions whose summaries are applied
        to untrusted data (called with it here, or demanded by another file), or by the
        functions of this module those call."""
        start = set(self.relevant)
        seen: set[ast.AST] = set()
        found: set[str] = set()
        while start:
            unit = start.pop()
            if unit in seen:
                continue
            seen.add(unit)
            found |= self.param_calls.get(unit, set())
            start |= self.callees.get(unit, set()) - seen
        return found

    def param_seeded(self, func: ast.AST) -> bool:
        """Whether a parameter of ``func`` is itself untrusted data (see ``_Unit._param_flows``,
        which this mirrors): a routed view, a handler method, an API controller's body."""
        if func in self.routes:
            return True
        spec = self.spec
        # (a function of another name, a class of another suffix, is none of theirs: the union of
        # the sources' method names and the sources' suffixes tell it first)
        if func.name in spec.handler_method_names:
            for src in spec.handler_sources:
                if src.handler_methods and func.name in src.handler_methods \
                        and self.handler_markers(func) & set(src.handler_bases):
                    return True
        if spec.param_sources:
            cls = self.class_of(func)
            if cls is not None and cls.name.endswith(spec.param_class_suffixes):
                for src in self.spec.param_sources:
                    if cls.name.endswith(tuple(src.class_suffixes)) \
                            and not {a.arg for a in _params(func)}.isdisjoint(src.param_names):
                        return True
        return False

    def all_unresolved(self) -> set[str]:
        """Qualified names of every call into another module, in analysed functions or not (the
        cross-module step re-analyses a file when one of them returns untrusted data)."""
        call_name = self.index.call_name
        calls = self.index.of_type(ast.Call)
        try:
            quals = set(map(call_name, calls))  # many calls share a name: each is seen once
        except RecursionError:
            quals = set()
            for call in calls:
                try:
                    quals.add(call_name(call))
                except RecursionError:
                    continue
        # a call of this module's own function is recorded too: the cross-module step looks
        # names up outside the caller's module only
        return {qual.replace("().", ".") if "()." in qual else qual
                for qual in quals if qual and not qual.startswith("builtins.")}

    def exported(self) -> dict[str, dict]:
        """Summaries worth sharing with other modules, by qualified name."""
        out = {}
        for name, func in sorted(self.functions.items()):
            summary = self.summaries.get(func)
            if summary is not None and (summary.returns or summary.sinks):
                out[name] = summary.to_json()
        return out

    def _unit(self, node: ast.AST) -> None:
        self._current_callees = self.callees.setdefault(node, set())
        self._current_param_calls = self.param_calls.setdefault(node, set())
        self._current_param_calls.clear()
        self._current_attrs = self.attrs_read.setdefault(node, set())
        self._current_callees.clear()
        self._current_attrs.clear()
        self._current_writes = self.attr_writes[node] = {}
        unit = _Unit(self, node)
        if node is self.index.tree and self._deferred_module:
            # the module body left for later (see run): the calls it makes see the other modules'
            # summaries as they were when it would have run (a summary fetched since then is not
            # among them)
            self._deferred_module = False
            external, self.external = self.external, self._deferred_external
            try:
                unit.run()
            finally:
                self.external = external
            return
        unit.run()

    # ------------------------------------------------------------------ helpers used by units

    def loc(self, node: ast.AST) -> Location:
        found = self._locations.get(node)
        if found is None:
            found = self._locations[node] = self.ctx.location(node)
        return found

    def step(self, node: ast.AST, note: str) -> TraceStep:
        key = (node, note)
        found = self._steps.get(key)
        if found is None:
            found = self._steps[key] = TraceStep(self.loc(node), note)
        return found

    def assigned(self, target: ast.AST) -> TraceStep:
        """The step of a value assigned to ``target``."""
        found = self._assigned.get(target)
        if found is None:
            found = self._assigned[target] = self.step(target, f"assigned to `{self.ctx.text(target, 40)}`")
        return found

    def _route_owner(self, func: ast.AST) -> str | None:
        for src in self.spec.route_sources:
            for deco in getattr(func, "decorator_list", ()):
                call = deco if isinstance(deco, ast.Call) else None
                target = call.func if call else deco
                if not isinstance(target, ast.Attribute) or target.attr not in src.route_decorators:
                    continue
                owner = self.index.qualname(target.value)
                if owner in src.route_owners:
                    return owner
                base = target.value
                if owner is None and isinstance(base, ast.Name) and base.id in ("app", "bp", "blueprint", "router", "api"):
                    return "app"
        return None

    def class_of(self, node: ast.AST) -> ast.ClassDef | None:
        """``Index.class_of`` (a walk up the tree), remembered per node."""
        found = self._class_of.get(node, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._class_of[node] = self.index.class_of(node)
        return found

    def handler_markers(self, node: ast.AST) -> frozenset[str]:
        """Qualified names of the enclosing class's bases and the enclosing function's decorators:
        what marks code as a request handler (``tornado.web.RequestHandler``, ``@web.authenticated``)."""
        func = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else self.index.function_of(node)
        owner = node if func is None else func  # what they depend on: the same for a whole function
        found = self._handler_markers.get(owner)
        if found is None:
            found = self._handler_markers[owner] = self._find_markers(owner, func)
        return found

    def _find_markers(self, owner: ast.AST, func: ast.AST | None) -> frozenset[str]:
        found: set[str] = set()
        if func is not None:
            for deco in func.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                qual = self.index.qualname(target)
                if qual:
                    found.add(qual)
        cls = self.index.class_of(owner)
        if cls is not None:
            found |= {q for q in (self.index.qualname(b) for b in cls.bases) if q}
        return frozenset(found)

    def local_target(self, call: ast.Call, qualname: str | None) -> ast.AST | None:
        """The function of this module ``call`` calls, if it is one."""
        if qualname and "()." in qualname:
            qualname = qualname.replace("().", ".")  # Svc().restart / s = Svc(); s.restart -> Svc.restart
        if qualname and qualname in self.functions:
            return self.functions[qualname]
        func = call.func
        if type(func) is ast.Attribute and type(func.value) is ast.Name and func.value.id in ("self", "cls"):
            cls = self.class_of(call)
            scope = self.index.inner_scope(cls) if cls is not None else None
            if scope is not None:
                return self.functions.get(f"{scope.name}.{func.attr}")
        return None

    def resolve_call(self, call: ast.Call, qualname: str | None) -> _Resolved:
        """Where the summary of what ``call`` calls is to be found (it depends only on the call)."""
        local = self.local_target(call, qualname)
        if local is not None:
            return _Resolved(local, local.name, None, None)
        if qualname and "()." in qualname:
            qualname = qualname.replace("().", ".")
        if qualname and not qualname.startswith("builtins."):
            found = self.external.get(qualname, self.module) if self.external else None
            return _Resolved(None, qualname.rsplit(".", 1)[-1], qualname, found)
        return _Resolved(None, "", None, None)

    def use_summary(self, resolved: _Resolved) -> tuple[Summary | None, str]:
        """The summary ``resolved`` leads to, noting the callee this unit depends on or the
        call into another module."""
        if resolved.local is not None:
            self._current_callees.add(resolved.local)
            return self.summary(resolved.local), resolved.name
        if resolved.unresolved is not None:
            self.unresolved.add(resolved.unresolved)
            if resolved.external is not None:
                return resolved.external, resolved.name
        return None, ""


class _Resolved(NamedTuple):
    local: ast.AST | None  # a function of this module
    name: str  # the called function's short name
    unresolved: str | None  # a call into another module (for the cross-module step)
    external: Summary | None  # that module's summary, when the cross-module step passed it


class _CallFacts:
    """What a call does to taint that depends only on the call, worked out at its first visit
    (the class attributes are the defaults)."""

    sinks: list[Sink] | tuple = ()  # the sinks that apply (when the receiver is clean)
    receiver_sinks: list[Sink] | None = None  # the same with a tainted receiver (when first needed)
    source: frozenset | None = None  # the call is itself a source: its flows
    carries: tuple | None = None  # _CARRIES entry
    protects: frozenset | None = None  # the call is a sanitizer for these sink kinds
    clean = False  # CLEAN_RESULT
    resolved: _Resolved | None = None  # None: no summary, nothing to note
    known: bool | None = None  # a call whose result surely carries its inputs (when first needed)

    def __init__(self, qual: str | None):
        self.qual = qual


class ExternalTable:
    """Other modules' summaries by qualified name, found by the full name or, when the module
    path differs (a project checked out under another folder), by the last two parts."""

    fetch = None  # set by the cross-module step on a file's view: computes a missing summary
    extra: dict[str, Summary] | None = None  # summaries added to one view (see add)
    extra_tail: dict[str, list[str]] | None = None

    def __init__(self, summaries: dict[str, Summary], source_returning: frozenset[str] = frozenset()):
        self.full = summaries
        self.excluded: str | None = None  # a module prefix whose summaries this view leaves out
        # short names of the functions whose result carries untrusted data (see taint/demand.py)
        self.source_returning = source_returning
        # the keys by their last two parts (``".".join(key.split(".")[-2:])`` of a key with a
        # dot: what follows its last dot but one, found without splitting every key)
        tail: dict[str, list[str]] = {}
        setdefault, rfind = tail.setdefault, str.rfind
        for key in summaries:
            last = rfind(key, ".")
            if last >= 0:
                setdefault(key[rfind(key, ".", 0, last) + 1:], []).append(key)
        for keys in tail.values():
            if len(keys) > 1:
                keys.sort()
        self.tail = tail

    def __bool__(self) -> bool:
        return bool(self.full)

    def without_module(self, module: str) -> ExternalTable:
        """A view without ``module``'s own summaries (no copy: the table is shared)."""
        view = ExternalTable.__new__(ExternalTable)
        view.full, view.tail, view.excluded = self.full, self.tail, module + "."
        view.source_returning = self.source_returning
        return view

    def keys_for(self, qualname: str, module: str) -> list[str]:
        """Every key :meth:`key` could answer for ``qualname`` in a table holding a subset of
        these keys: the exact one and every one that matches by its last parts."""
        own = module + "."
        return [key for key in dict.fromkeys(self._candidates(_absolute(qualname, module)))
                if not key.startswith(own)]

    def frozen(self) -> ExternalTable:
        """This view as it is now: what :meth:`add` adds later does not show in it (the fetcher
        is the same)."""
        view = ExternalTable.__new__(ExternalTable)
        view.__dict__.update(self.__dict__)
        if self.extra is not None:
            view.extra = dict(self.extra)
            view.extra_tail = {tail: list(keys) for tail, keys in self.extra_tail.items()}
        return view

    def add(self, key: str, summary: Summary) -> None:
        """Add a summary to this view only (the shared table is left as it is)."""
        if self.extra is None:
            self.extra, self.extra_tail = {}, {}
        self.extra[key] = summary
        parts = key.split(".")
        if len(parts) >= 2:
            self.extra_tail.setdefault(".".join(parts[-2:]), []).append(key)

    def get(self, qualname: str, module: str) -> Summary | None:
        key = self.key(qualname, module)
        if key is None:
            return None
        return self.extra[key] if self.extra is not None and key in self.extra else self.full[key]

    def key(self, qualname: str, module: str) -> str | None:
        excluded = self.excluded
        for key in self._candidates(_absolute(qualname, module)):
            if not (excluded and key.startswith(excluded)):
                return key
        return None

    def _candidates(self, qualname: str):
        """The keys that may stand for ``qualname``, best first: the name itself, then the keys
        ending in the same parts (a project checked out under another folder), in key order."""
        extra = self.extra
        if qualname in self.full or extra is not None and qualname in extra:
            yield qualname
        parts = qualname.split(".")
        if len(parts) < 2:
            return
        tail = ".".join(parts[-2:])
        keys = self.tail.get(tail, ())
        if extra is not None and tail in self.extra_tail:
            keys = sorted({*keys, *self.extra_tail[tail]})
        for key in keys:
            key_parts = key.split(".")
            n = min(len(parts), len(key_parts))
            if key_parts[-n:] == parts[-n:]:
                yield key


def _absolute(qualname: str, module: str) -> str:
    """A relative name (``.helpers.run``) made absolute from the module it is used in."""
    if qualname.startswith("."):
        level = len(qualname) - len(qualname.lstrip("."))
        package = module.split(".")[:-level] if level <= module.count(".") + 1 else []
        qualname = ".".join([*package, qualname.lstrip(".")])
    return qualname


def _lookup_external(table: ExternalTable, qualname: str, module: str) -> Summary | None:
    return table.get(qualname, module)


def _params(func: ast.AST) -> list[ast.arg]:
    args = func.args
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        found.append(args.vararg)
    if args.kwarg:
        found.append(args.kwarg)
    return found


class _Unit:
    """One function (or the module body) under analysis in one round."""

    def __init__(self, mod: ModuleTaint, node: ast.AST):
        self.mod = mod
        self.ctx = mod.ctx
        self.index = mod.index
        self.spec = mod.spec
        self.node = node
        self.is_module = isinstance(node, ast.Module)
        self.returns: frozenset = EMPTY
        self.summary = None if self.is_module else mod.summary(node)
        self.sinks: list = []
        self._sink_keys: dict = {}  # (param, sink kind, description, sink step) -> (rank, entry)
        self.outer: State | None = None
        if not self.is_module:
            parent_func = mod._function_of.get(node, _UNKNOWN)
            if parent_func is _UNKNOWN:
                parent_func = mod._function_of[node] = self.index.function_of(node)
            self.outer = mod.final_env.get(parent_func) if parent_func is not None else None
        self.module_state = mod.final_env.get(mod.index.tree)

    def starts_clean(self) -> bool:
        """Whether the module body, interpreted before any function (every summary of the
        module empty), surely meets no untrusted data and changes nothing a function reads: no
        node it may evaluate is a source (as ``expr`` and ``call`` tell them), no call may take
        untrusted data back from another module's summary, nothing reads or writes ``self.x``.
        Every node outside functions and lambdas is looked at, a superset of what it evaluates.
        Also False for a call named ``f()().x`` (that call's name noted among the unresolved
        ones may be another call's own name, see ``call``) and for code nested so deep that
        interpreting it might run out of stack."""
        index, names, source_attrs, mod = self.index, self.spec.source_names, self.spec.source_attrs, self.mod
        callees = mod._deferred_callees
        external = mod.external
        returning: frozenset[str] = frozenset()
        if external:
            if external.extra:  # summaries outside the table's short names: not worked out here
                return False
            returning = external.source_returning
        Name, Attribute, Call, Constant, Load = ast.Name, ast.Attribute, ast.Call, ast.Constant, ast.Load
        # a depth-first walk; _UP on the stack closes the children of a node (depth: how many
        # nodes are open)
        stack: list = list(self.node.body)
        pop, push, extend = stack.pop, stack.append, stack.extend
        depth = 0
        while stack:
            node = pop()
            kind = type(node)
            if kind is Name:
                # a name is evaluated only where it is read (``bind`` takes the targets)
                if node.id in ("self", "cls"):
                    return False
                if type(node.ctx) is Load:
                    qual = index.qualname(node)
                    if qual is not None and qual in names:
                        return False
                continue
            if node is _UP:
                depth -= 1
                continue
            if kind is Attribute:
                # (an attribute is a source only if it ends in one of these, see _find_source)
                if node.attr in source_attrs and self._source(node):
                    return False
                value = node.value
                if type(value) is Name:
                    # ``name.attr``, the most frequent: its only child, a name read, looked at
                    # here as the branch above would, one level deeper, without the stack
                    if depth >= _CLEAN_DEPTH or value.id in ("self", "cls"):
                        return False
                    qual = index.qualname(value)
                    if qual is not None and qual in names:
                        return False
                    continue
                children = (value,)
            elif kind is Call:
                func = node.func
                qual = index.call_name(node)
                # (a method call is a source only if it ends in one of these, see _call_source)
                if (type(func) is not Attribute or func.attr in source_attrs) \
                        and self._call_source(func, qual) is not None:
                    return False
                local = mod.local_target(node, qual)
                if local is not None:
                    callees.add(local)
                elif qual:
                    if "()()" in qual:
                        return False
                    if returning and qual.replace("().", ".").rsplit(".", 1)[-1] in returning:
                        return False
                # its children, the called expression and the arguments other than constants,
                # pushed one by one (as below, without a list of them first)
                depth += 1
                if depth > _CLEAN_DEPTH:
                    return False
                push(_UP)
                push(func)
                for child in node.args:
                    if type(child) is not Constant:
                        push(child)
                for keyword in node.keywords:
                    if type(child := keyword.value) is not Constant:
                        push(child)
                continue
            elif kind is Constant:  # (a value assigned, say: nothing to look at)
                continue
            elif kind in _DEFINITIONS:
                # a def evaluates its decorators; a class its decorators and its body
                children = node.decorator_list + node.body if kind is ast.ClassDef else node.decorator_list
            elif kind in _NOT_EVALUATED:
                continue
            elif kind is ast.Assign:
                children = [*node.targets, node.value]
            elif kind is ast.Dict or kind is ast.List or kind is ast.Tuple:
                values = (*node.keys, *node.values) if kind is ast.Dict else node.elts
                children = [child for child in values if child is not None and type(child) is not Constant]
            else:
                children = [child for child in ast.iter_child_nodes(node) if type(child) not in _LEAVES]
            if children:
                depth += 1
                if depth > _CLEAN_DEPTH:
                    return False
                push(_UP)
                extend(children)
        return True

    def run(self) -> None:
        state = State()
        if not self.is_module:
            self._bind_params(state)
            body = self.node.body
        else:
            body = self.node.body
        state = self.block(body, state)
        self.mod.final_env[self.node] = state
        if self.summary is not None:
            self.summary.returns = self.returns
            self.summary.sinks = sorted(self.sinks, key=lambda s: (s[0], s[1], s[4].location.line, s[4].location.col))

    def _bind_params(self, state: State) -> None:
        found = self.mod._params.get(self.node)
        if found is None:
            found = self.mod._params[self.node] = self._param_flows()
        for name, flows in found:
            state.env[name] = flows

    def _param_flows(self) -> list[tuple[str, frozenset]]:
        func = self.node
        params = _params(func)
        cls = self.index.class_of(func)
        route = self.mod.routes.get(func)
        found = []
        for i, arg in enumerate(params):
            if i == 0 and arg.arg in ("self", "cls"):
                continue
            flows = {Flow(f"param:{i}", Level.HIGH, (self.mod.step(arg, f"parameter `{arg.arg}`"),))}
            if route:
                flows.add(Flow("request", Level.HIGH, (self.mod.step(arg, f"path parameter `{arg.arg}` of a routed view"),),
                               "a path parameter of a routed view"))
            for src in self.spec.handler_sources:
                if src.handler_methods and func.name in src.handler_methods \
                        and self.mod.handler_markers(func) & set(src.handler_bases):
                    flows.add(Flow(src.kind, src.confidence,
                                   (self.mod.step(arg, f"parameter `{arg.arg}` ({src.what})"),), src.what))
            for src in self.spec.param_sources:
                if arg.arg in src.param_names and cls is not None and cls.name.endswith(tuple(src.class_suffixes)):
                    flows.add(Flow(src.kind, src.confidence,
                                   (self.mod.step(arg, f"parameter `{arg.arg}` ({src.what})"),), src.what))
            found.append((arg.arg, frozenset(flows)))
        return found

    # ------------------------------------------------------------------ statements

    def block(self, stmts: list[ast.stmt], state: State) -> State:
        for stmt in stmts:
            state = self.stmt(stmt, state)
        return state

    def stmt(self, node: ast.stmt, state: State) -> State:
        kind = type(node)
        if kind is ast.Assign:
            taint = self.expr(node.value, state)
            for target in node.targets:
                self.bind(target, taint, state, node.value)
        elif kind is ast.Expr:
            self.expr(node.value, state)
        elif kind is ast.If:
            return self._if(node, state)
        elif kind is ast.AnnAssign:
            if node.value is not None:
                self.bind(node.target, self.expr(node.value, state), state, node.value)
        elif kind is ast.AugAssign:
            taint = self.expr(node.value, state)
            if isinstance(node.target, ast.Name):
                state.env[node.target.id] = _union2(self.lookup(node.target.id, state), self._note(taint, node.target))
            else:
                self.bind(node.target, _union2(self.expr(node.target, state), taint), state, None)
        elif kind is ast.Return:
            if node.value is not None:
                taint = self.expr(node.value, state)
                self._route_return(node, taint)
                if taint:
                    self.returns = _union2(self.returns, frozenset(
                        f.step(self.mod.step(node, "returned")) for f in taint))
        elif kind in (ast.For, ast.AsyncFor):
            taint = self.expr(node.iter, state)
            first = state.copy()
            self.bind(node.target, taint, first, None)
            once = self.block(node.body, first)
            again = once.copy()
            self.bind(node.target, taint, again, None)
            twice = self.block(node.body, again)
            state = state.join(once).join(twice)
            if node.orelse:
                state = self.block(node.orelse, state)
        elif kind is ast.While:
            test = self._fold(node.test)
            if test is False:
                return self.block(node.orelse, state) if node.orelse else state
            self.expr(node.test, state)
            once = self.block(node.body, state.copy())
            twice = self.block(node.body, once.copy())
            state = state.join(once).join(twice)
            if node.orelse:
                state = self.block(node.orelse, state)
        elif kind in (ast.With, ast.AsyncWith):
            for item in node.items:
                taint = self.expr(item.context_expr, state)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, taint, state, item.context_expr)
            state = self.block(node.body, state)
        elif kind in (ast.Try, ast.TryStar):
            start = state.copy()
            body = self.block(node.body, state)
            merged = body
            for handler in node.handlers:
                merged = merged.join(self.block(handler.body, start.join(body)))
            if node.orelse:
                merged = merged.join(self.block(node.orelse, body.copy()))
            state = self.block(node.finalbody, merged) if node.finalbody else merged
        elif kind is ast.Match:
            subject = self.expr(node.subject, state)
            out = state.copy()
            for case in node.cases:
                branch = state.copy()
                for name in _match_names(case.pattern):
                    branch.env[name] = subject
                out = out.join(self.block(case.body, branch))
            state = out
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            for deco in node.decorator_list:
                self.expr(deco, state)
            if kind is ast.ClassDef:
                state = self.block(node.body, state) if self.is_module else state
        elif kind is ast.Delete:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    state.env.pop(target.id, None)
        elif kind in (ast.Raise, ast.Assert):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child, state)
        return state

    def _if(self, node: ast.If, state: State) -> State:
        folded = self._fold(node.test)
        if folded is True:
            return self.block(node.body, state)
        if folded is False:
            return self.block(node.orelse, state)
        self.expr(node.test, state)
        guards = self.mod._guards
        found = guards.get(node.test)
        if found is None:
            found = guards[node.test] = self._guard(node.test, state)
        inside, after_if_exits = found
        body_state = state.copy()
        for name, protects in inside.items():
            body_state.env[name] = _sanitize(self.lookup(name, state), protects, "checked against an allow-list")
        body = self.block(node.body, body_state)
        # the body ran on a copy: the state the if statement was given is the else branch's own
        orelse = self.block(node.orelse, state) if node.orelse else state
        exits = bool(node.body) and self._leaves(node.body[-1])
        if node.orelse and self._leaves(node.orelse[-1]) and not exits:
            return body  # the else branch leaves: what follows runs only when the test was true
        if exits:
            # the body leaves: what follows runs only when the test was false
            for name, protects in after_if_exits.items():
                orelse.env[name] = _sanitize(self.lookup(name, orelse), protects, "rejected unless allowed")
            return orelse
        return body.join(orelse)

    def _leaves(self, stmt: ast.stmt) -> bool:
        """A statement after which the block does not go on: return, raise, continue, break, or a
        call that never returns (``abort(400)``, ``sys.exit()``, ``pecan.abort``)."""
        if isinstance(stmt, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
            return True
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            func = stmt.value.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            return name in ("abort", "exit", "_exit") or (self.index.qualname(func) or "") in ("sys.exit", "os._exit")
        return False

    def _guard(self, test: ast.expr, state: State) -> tuple[dict[str, frozenset], dict[str, frozenset]]:
        """Names made safe by ``test``: inside the body when true, and after the if when the body
        leaves (the negated form)."""
        negated = False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            negated, test = True, test.operand
        positive: dict[str, frozenset] = {}
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            op, right = test.ops[0], test.comparators[0]
            subject = test.left
            contained = self._path_guard(subject, right) if isinstance(op, (ast.Eq, ast.NotEq)) else []
            if contained:
                # os.path.basename(name) == name, os.path.commonpath([base, real]) == base
                for name in contained:
                    positive[name] = frozenset({"path"})
                if isinstance(op, ast.NotEq):
                    negated = not negated
            elif isinstance(op, (ast.In, ast.NotIn)) and self.ctx.literal(right) is not NOT_CONSTANT:
                names, protects = self._guard_subject(subject)
                for name in names:
                    positive[name] = protects
                if isinstance(op, ast.NotIn):
                    negated = not negated
            elif isinstance(op, (ast.Eq, ast.NotEq)) and self.ctx.literal(right) is not NOT_CONSTANT:
                names, protects = self._guard_subject(subject)
                for name in names:
                    positive[name] = protects
                if isinstance(op, ast.NotEq):
                    negated = not negated
        elif isinstance(test, ast.Call):
            qual = self.index.qualname(test.func) or ""
            args = test.args
            if qual in ("re.match", "re.fullmatch") and len(args) >= 2:
                pattern = self.ctx.literal(args[0])
                if isinstance(pattern, str) and (qual == "re.fullmatch" or _ANCHORED.match(pattern)):
                    for name in _names_in(args[1]):
                        positive[name] = frozenset({"*"})
            elif isinstance(test.func, ast.Attribute) and test.func.attr in ("match", "fullmatch") and args:
                for name in _names_in(args[0]):
                    positive[name] = frozenset({"*"})
            elif isinstance(test.func, ast.Attribute) and test.func.attr in ("isdigit", "isdecimal", "isalnum", "isidentifier"):
                for name in _names_in(test.func.value):
                    positive[name] = frozenset({"*"})
            elif isinstance(test.func, ast.Attribute) and test.func.attr == "startswith":
                base = test.func.value
                names = _names_in(base)
                if isinstance(base, ast.Call):
                    names += [n for a in base.args for n in _names_in(a)]
                for name in names:
                    if self._normalised_path(name, base):
                        positive[name] = frozenset({"path"})
            elif isinstance(test.func, ast.Attribute) and test.func.attr == "is_relative_to" \
                    and self._resolved(test.func.value):
                # Path(...).resolve().is_relative_to(base)
                for name in _names_in(test.func.value):
                    positive[name] = frozenset({"path"})
            elif qual.endswith("url_has_allowed_host_and_scheme") or qual.endswith("is_safe_url"):
                for name in _names_in(args[0]) if args else []:
                    positive[name] = frozenset({"redirect", "url"})
            elif qual in ("oslo_utils.uuidutils.is_uuid_like", "oslo_utils.netutils.is_valid_ipv4"):
                for name in _names_in(args[0]) if args else []:
                    positive[name] = frozenset({"*"})
        if negated:
            return {}, positive
        return positive, {}

    def _guard_subject(self, subject: ast.expr) -> tuple[list[str], frozenset]:
        # urlparse(url).netloc in ALLOWED -> url is safe as a redirect or outbound URL
        if isinstance(subject, ast.Attribute) and subject.attr in ("netloc", "hostname", "scheme"):
            inner = subject.value
            if isinstance(inner, ast.Call) and (self.index.qualname(inner.func) or "").endswith(("urlparse", "urlsplit")):
                return [n for a in inner.args for n in _names_in(a)], frozenset({"redirect", "url"})
            names = _names_in(inner)
            if isinstance(inner, ast.Name):
                # parsed = urlparse(url); if parsed.netloc not in HOSTS: ... -> url is checked too
                binding = self.index.binding(inner)
                value = binding.value if binding is not None else None
                if isinstance(value, ast.Call) and (self.index.qualname(value.func) or "").endswith(("urlparse", "urlsplit")):
                    names += [n for a in value.args for n in _names_in(a)]
            return names, frozenset({"redirect", "url"})
        return _names_in(subject), frozenset({"*"})

    def _path_guard(self, left: ast.expr, right: ast.expr) -> list[str]:
        """Names a path equality test keeps inside a folder: ``os.path.basename(n) == n`` (no
        separator in ``n``) and ``os.path.commonpath([base, p]) == base`` with ``p`` resolved."""
        for call, other in ((left, right), (right, left)):
            if not isinstance(call, ast.Call) or not call.args:
                continue
            qual = self.index.qualname(call.func) or ""
            arg = call.args[0]
            if qual in ("os.path.basename", "werkzeug.utils.secure_filename") and isinstance(arg, ast.Name) \
                    and isinstance(other, ast.Name) and arg.id == other.id:
                return [arg.id]
            if qual == "os.path.commonpath" and isinstance(arg, (ast.List, ast.Tuple)):
                return [n for elt in arg.elts if self._resolved(elt) for n in _names_in(elt)]
        return []

    def _resolved(self, expr: ast.expr) -> bool:
        """A path made absolute and free of ``..``: ``realpath(p)``, ``Path(p).resolve()``, or a
        name bound to one."""
        if isinstance(expr, ast.Name):
            binding = self.index.binding(expr)
            expr = binding.value if binding is not None and binding.kind in ("assign", "walrus") else None
        if not isinstance(expr, ast.Call):
            return False
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "resolve":
            return True
        return (self.index.qualname(expr.func) or "") in ("os.path.realpath", "os.path.abspath", "os.path.normpath")

    def _normalised_path(self, name: str, base: ast.expr) -> bool:
        if isinstance(base, ast.Call) and (self.index.qualname(base.func) or "") in (
                "os.path.realpath", "os.path.abspath", "os.path.normpath"):
            return True
        scope = self.index.scope_of(base)
        binding = self.index.lookup(name, scope, (base.lineno, base.col_offset))
        value = binding.value if binding is not None else None
        return isinstance(value, ast.Call) and (self.index.qualname(value.func) or "") in (
            "os.path.realpath", "os.path.abspath", "os.path.normpath", "pathlib.Path().resolve")

    def _fold(self, test: ast.expr) -> bool | None:
        folds = self.mod._folds
        if test in folds:
            return folds[test]
        value = _fold_expr(self.ctx, test)
        found = folds[test] = value if isinstance(value, bool) else None
        return found

    def _route_return(self, node: ast.Return, taint: frozenset) -> None:
        owner = self.mod.routes.get(self.node)
        if not owner or not owner.startswith("flask.") or not taint:
            return
        value = node.value
        if isinstance(value, (ast.Dict, ast.List, ast.Tuple, ast.Call)):
            return  # JSON, a (body, status) tuple or a response built by a call the sinks already see
        self.sink_hit(node, "html", "the HTML body of a Flask view", taint)

    # ------------------------------------------------------------------ binding

    def _note(self, taint: frozenset, target: ast.AST) -> frozenset:
        if not taint:
            return taint
        key = (target, taint)
        noted = self.mod._noted.get(key)
        if noted is None:
            step = self.mod.assigned(target)
            noted = self.mod._noted[key] = frozenset([f.step(step) for f in taint])
        return noted

    def bind(self, target: ast.AST, taint: frozenset, state: State, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            state.assign(target.id, self._note(taint, target))
            if isinstance(value, (ast.Dict, ast.List, ast.Tuple)):
                self._bind_slots(target.id, value, state)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) \
                    and not any(isinstance(e, ast.Starred) for e in target.elts + value.elts):
                for sub_target, sub_value in zip(target.elts, value.elts):
                    self.bind(sub_target, self.expr(sub_value, state), state, sub_value)
            else:
                for elt in target.elts:
                    self.bind(elt.value if isinstance(elt, ast.Starred) else elt, taint, state, None)
        elif isinstance(target, ast.Attribute):
            if isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"):
                cls = self.mod.class_of(target)
                if cls is not None:
                    key = (cls, target.attr)
                    noted = self._note(taint, target)
                    writes = self.mod._current_writes
                    writes[key] = _union2(writes.get(key, EMPTY), noted)
        elif isinstance(target, ast.Subscript):
            base = target.value
            key = self.ctx.literal(target.slice)
            self._subscript_store(target, taint)
            if isinstance(base, ast.Name):
                if key is not NOT_CONSTANT and _hashable(key):
                    state.set_slot(base.id, key, self._note(taint, target))
                else:
                    state.env[base.id] = _union2(state.env.get(base.id, EMPTY), self._note(taint, target))
        elif isinstance(target, ast.Starred):
            self.bind(target.value, taint, state, None)

    def _bind_slots(self, name: str, value: ast.expr, state: State) -> None:
        state.env[name] = EMPTY
        if isinstance(value, ast.Dict):
            for k, v in zip(value.keys, value.values):
                key = self.ctx.literal(k) if k is not None else NOT_CONSTANT
                taint = self._slot_note(self.expr(v, state), v, name, key)
                if key is NOT_CONSTANT or not _hashable(key):
                    state.env[name] = _union2(state.env[name], taint)
                elif taint:
                    state.set_slot(name, key, taint)
        else:
            for i, elt in enumerate(value.elts):
                if isinstance(elt, ast.Starred):
                    state.env[name] = _union2(state.env[name], self.expr(elt, state))
                    continue
                taint = self._slot_note(self.expr(elt, state), elt, name, i)
                if taint:
                    state.set_slot(name, i, taint)

    def _slot_note(self, taint: frozenset, value: ast.AST, name: str, key: object) -> frozenset:
        if not taint:
            return taint
        label = f"{name}[{key!r}]" if key is not NOT_CONSTANT else name
        return frozenset(f.step(self.mod.step(value, f"stored in `{label}`")) for f in taint)

    def _subscript_store(self, target: ast.Subscript, taint: frozenset) -> None:
        if not taint:
            return
        base = target.value
        qual = self.index.qualname(base)
        text = self.ctx.text(base, 60)
        for store, sink in self.spec.subscript_sinks.items():
            if qual == store or text == store or text.endswith("." + store.rsplit(".", 1)[-1]) and store.startswith("request."):
                self.sink_hit(target, sink.kind, sink.what or "a store", taint)
        if isinstance(base, ast.Attribute) and base.attr == "headers" and _looks_like_response(base.value):
            self.sink_hit(target, "header", "an HTTP response header", taint)

    # ------------------------------------------------------------------ expressions

    def lookup(self, name: str, state: State) -> frozenset:
        if state.has(name):
            return state.whole(name)
        if self.outer is not None and name in self.outer.env:
            return self.outer.whole(name)
        if self.module_state is not None and not self.is_module and name in self.module_state.env:
            return self.module_state.whole(name)
        return EMPTY

    def expr(self, node: ast.expr | None, state: State) -> frozenset:
        if node is None:
            return EMPTY
        kind = type(node)
        if kind is ast.Name:  # the commonest expression: lookup() and State.whole() inlined
            src = self.mod._source_cache.get(node)
            if src is None:
                qual = self.index.qualname(node)
                src = self._source(node) if qual is not None and qual in self.spec.source_names else EMPTY
                self.mod._source_cache[node] = src
            if src:
                return src
            name = node.id
            if name in state.env and name not in state.slot_count:
                taint = state.env[name]
                return taint if len(taint) <= MAX_FLOWS else _union(taint)
            return self.lookup(name, state)
        if kind is ast.Constant:
            return EMPTY
        if kind is ast.Call:
            taint = self.call(node, state)
            return self._markup(node, taint) if taint else taint
        if kind is ast.Attribute:
            src = self.mod._source_cache.get(node)
            if src is None:
                src = self._source(node)
            if src:
                return src
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                cls = self.mod.class_of(node)
                if cls is not None:
                    key = (cls, node.attr)
                    self.mod._current_attrs.add(key)
                    own = self.mod.attr_own.get((self.node, key)) if self.mod.attr_own else None
                    if own:
                        return _union2(self.mod.attr_taint.get(key, EMPTY), own)
                    if key in self.mod.attr_taint:
                        return self.mod.attr_taint[key]
            return self.expr(node.value, state)
        if kind is ast.Subscript:
            src = self._source(node)
            if src:
                return src
            key = self.ctx.literal(node.slice)
            self.expr(node.slice, state)
            base = node.value
            if isinstance(base, ast.Name) and state.has(base.id):
                if key is not NOT_CONSTANT and _hashable(key) and (base.id, key) in state.slots:
                    return _union2(state.slots[(base.id, key)], state.env.get(base.id, EMPTY))
                if key is not NOT_CONSTANT and _hashable(key):
                    return state.env.get(base.id, EMPTY)
                return state.whole(base.id)
            return self.expr(base, state)
        if kind is ast.BinOp:
            taint = _union2(self.expr(node.left, state), self.expr(node.right, state))
            return self._markup(node, taint) if taint else taint
        if kind is ast.BoolOp:
            return _union(*(self.expr(v, state) for v in node.values))
        if kind is ast.UnaryOp:
            taint = self.expr(node.operand, state)
            return EMPTY if isinstance(node.op, ast.Not) else taint
        if kind is ast.Compare:
            self.expr(node.left, state)
            for comp in node.comparators:
                self.expr(comp, state)
            return EMPTY
        if kind is ast.IfExp:
            folded = self._fold(node.test)
            if folded is True:
                return self.expr(node.body, state)
            if folded is False:
                return self.expr(node.orelse, state)
            self.expr(node.test, state)
            return _union2(self.expr(node.body, state), self.expr(node.orelse, state))
        if kind is ast.JoinedStr:
            return self._markup(node, _union(*(self.expr(v, state) for v in node.values)))
        if kind is ast.FormattedValue:
            return self.expr(node.value, state)
        if kind in (ast.List, ast.Tuple, ast.Set):
            return _union(*(self.expr(e, state) for e in node.elts))
        if kind is ast.Dict:
            for k in node.keys:
                self.expr(k, state)
            return _union(*(self.expr(v, state) for v in node.values))
        if kind in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
            inner = state.copy()
            for gen in node.generators:
                self.bind(gen.target, self.expr(gen.iter, inner), inner, None)
                for cond in gen.ifs:
                    self.expr(cond, inner)
            if kind is ast.DictComp:
                return _union2(self.expr(node.key, inner), self.expr(node.value, inner))
            return self.expr(node.elt, inner)
        if kind in (ast.Await, ast.Starred, ast.YieldFrom):
            return self.expr(node.value, state)
        if kind is ast.Yield:
            return self.expr(node.value, state)
        if kind is ast.NamedExpr:
            taint = self.expr(node.value, state)
            self.bind(node.target, taint, state, node.value)
            return taint
        if kind is ast.Slice:
            for part in (node.lower, node.upper, node.step):
                self.expr(part, state)
            return EMPTY
        return EMPTY

    def _markup(self, node: ast.expr, taint: frozenset) -> frozenset:
        """A literal with HTML markup formatted with ``taint``: a hit of the markup sink here, and
        the result marked so that an HTML sink it reaches later takes the finding over."""
        if not taint or MARKUP_KIND not in self.spec.sink_kinds:
            return taint
        marks = self.mod._marks
        if node in marks:
            mark = marks[node]
        else:
            text = markup.template(self.ctx, node, self.index.parent(node))
            mark = marks[node] = markup_mark(self.mod.loc(node)) if text is not None and markup.is_html(text) else None
        if mark is None:
            return taint
        self.sink_hit(node, MARKUP_KIND, "HTML markup formatted with it unescaped", taint)
        return frozenset([f if mark in f.via else _flow(f.kind, f.confidence, f.steps, f.what, f.sanitized,
                                                        f.via + (mark,), f.weak) for f in taint])

    def _source(self, node: ast.expr) -> frozenset:
        cache = self.mod._source_cache
        found = cache.get(node)
        if found is None:
            found = cache[node] = self._find_source(node)
        return found

    def _find_source(self, node: ast.expr) -> frozenset:
        spec = self.spec
        qual = self.index.qualname(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        src = spec.source_names.get(qual) if qual else None
        if src is None and isinstance(node, ast.Subscript):
            return EMPTY
        if src is None and isinstance(node, ast.Attribute):
            base = node.value
            base_name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
            table = spec.receiver_attrs.get(base_name) if base_name else None
            if table and node.attr in table:
                base_qual = self.index.qualname(base) if isinstance(base, ast.Name) else None
                if base_qual is None or base_qual == base_name:
                    src = table[node.attr]
            if src is None and isinstance(base, ast.Name) and base.id == "self" and spec.handler_sources:
                src = self._handler_source(node)
        if src is None:
            return EMPTY
        text = self.ctx.text(node, 50)
        return frozenset({Flow(src.kind, src.confidence, (self.mod.step(node, f"`{text}` ({src.what})"),), src.what)})

    def _handler_source(self, node: ast.Attribute):
        markers = self.mod.handler_markers(node)
        if not markers:
            return None
        for src in self.spec.handler_sources:
            if node.attr in src.self_attributes and markers & set(src.handler_bases):
                return src
        return None

    def call(self, node: ast.Call, state: State) -> frozenset:
        facts = self.mod._calls.get(node)
        if facts is None:
            facts = self.mod._calls[node] = self._call_facts(node)
        func = node.func
        qual = facts.qual
        receiver = self.expr(func.value, state) if isinstance(func, ast.Attribute) else EMPTY
        if isinstance(func, (ast.Call, ast.Subscript)):
            receiver = self.expr(func, state)
        arg_taints = [self.expr(a, state) for a in node.args]
        kw_taints = {kw.arg: self.expr(kw.value, state) for kw in node.keywords}
        if facts.sinks or receiver:
            self._check_sinks(node, facts, arg_taints, kw_taints, state, receiver)
        if facts.source is not None:
            return facts.source
        if facts.carries is not None:
            # only some arguments reach the result: re.sub(pattern, repl, text) returns text and repl
            positions, keywords = facts.carries
            carried = [arg_taints[i] for i in positions if i < len(arg_taints)]
            carried += [kw_taints[k] for k in keywords if k in kw_taints]
            return _union(*carried)
        protects = facts.protects
        if protects is not None:
            if "*" in protects:
                return EMPTY
            return _sanitize(_union(receiver, *arg_taints, *kw_taints.values()), protects, f"via {qual}")
        if facts.clean:
            return EMPTY
        passed = None  # the flows the arguments carry, when needed
        if facts.resolved is not None:
            resolved = facts.resolved
            passed = [f for t in (*arg_taints, *kw_taints.values()) for f in t]
            tainted = any(not f.is_param for f in passed)
            if resolved.local is not None and passed and (tainted or self.node in self.mod.relevant):
                self.mod.request(resolved.local, True)
            summary, name = self.mod.use_summary(resolved)
            fetch = getattr(self.mod.external, "fetch", None) if summary is None else None
            if fetch is not None and resolved.unresolved is not None and tainted:
                # another module's function without a summary yet, given untrusted data: the
                # cross-module step computes it now (as it would after this round otherwise)
                summary = fetch(resolved.unresolved, self.mod.module)
                if summary is not None:
                    facts.resolved = resolved._replace(external=summary)
                    name = resolved.name
            if summary is not None:
                return self._apply_summary(node, summary, name, arg_taints, kw_taints)
        if qual in self.mod.unresolved:
            if passed is None:
                passed = [f for t in (*arg_taints, *kw_taints.values()) for f in t]
            if any(not f.is_param for f in passed):
                self.mod.tainted_external.add(qual)
            elif passed:
                self.mod._current_param_calls.add(qual)
        everything = _union(receiver, *arg_taints, *kw_taints.values())
        if not everything:
            return EMPTY
        # an unknown call: assume its result carries its inputs (string helpers, containers, ...)
        known = facts.known
        if known is None:
            known = qual is not None and (qual.startswith("builtins.") or qual.split(".")[0] in _KNOWN_MODULES)
            if isinstance(func, ast.Attribute) and (func.attr in _STRING_METHODS or func.attr in _PATH_METHODS
                                                    and self._pathlike(func.value, 0)):
                known = True
            facts.known = known
        if known:
            return everything
        weak = self.mod._weakened.get(everything)
        if weak is None:
            weak = self.mod._weakened[everything] = frozenset([f.weakened() for f in everything])
        return weak

    def _call_facts(self, node: ast.Call) -> _CallFacts:
        func = node.func
        qual = self.index.qualname(func)
        facts = _CallFacts(qual)
        sinks = self._sinks(node, qual, False)
        if sinks:
            facts.sinks = sinks
        spec = self.spec
        src = self._call_source(func, qual)
        if src is not None:
            text = self.ctx.text(node, 50)
            facts.source = frozenset({Flow(src.kind, src.confidence, (self.mod.step(node, f"`{text}` ({src.what})"),),
                                           src.what)})
            return facts
        if qual in _CARRIES:
            facts.carries = _CARRIES[qual]
            return facts
        protects = spec.sanitizers.get(qual) if qual else None
        if protects is None and qual and "." in qual and not self.index.bound_anywhere(qual.split(".")[0]):
            protects = spec.sanitizer_tails.get(qual)
        if protects is not None:
            facts.protects = protects
            return facts
        if qual in CLEAN_RESULT:
            facts.clean = True
            return facts
        resolved = self.mod.resolve_call(node, qual)
        if resolved.local is not None or resolved.unresolved is not None:
            facts.resolved = resolved
        return facts

    def _call_source(self, func: ast.expr, qual: str | None):
        """The source a call of ``func`` (qualified name ``qual``) is: input(), request.get_json(),
        sock.recv(...); or None."""
        spec = self.spec
        src = spec.source_names.get(qual) if qual else None
        if src is None and isinstance(func, ast.Attribute) and func.attr in spec.source_methods:
            src = spec.source_methods[func.attr]
        if src is None and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id == "self" and spec.handler_sources:
                src = self._handler_source(func)
            elif func.attr in self.mod.opened_attrs:
                opened = self._opened_by(func.value)
                if opened:
                    src = spec.source_names.get(f"{opened}().{func.attr}")
        if src is None and isinstance(func, ast.Attribute):
            table = spec.receiver_attrs.get(func.value.id) if isinstance(func.value, ast.Name) else None
            if table and func.attr in table and self.index.qualname(func.value) in (None, func.value.id):
                src = table[func.attr]
        return src

    def _opened_by(self, name: ast.Name) -> str | None:
        """``with open(p) as f`` / ``f = open(p)``: the qualified name of what made ``f``."""
        binding = self.index.binding(name)
        value = binding.value if binding is not None else None
        if isinstance(value, ast.Call):
            return self.index.qualname(value.func)
        return None

    def _apply_summary(self, node: ast.Call, summary: Summary, name: str,
                       arg_taints: list[frozenset], kw_taints: dict) -> frozenset:
        by_param: dict[int, frozenset] = {}
        offset = 0
        if summary.params and summary.params[0] in ("self", "cls") and isinstance(node.func, ast.Attribute):
            offset = 1
        for i, taint in enumerate(arg_taints):
            by_param[i + offset] = taint
        for key, taint in kw_taints.items():
            if key in summary.params:
                by_param[summary.params.index(key)] = taint
        call_step = self.mod.step(node, f"passed to `{name}()`")
        returned = self.mod.step(node, f"returned by `{name}()`")
        through = f"through {name}()"
        # An actual argument's flow goes on with the call and the parameter's steps inside the
        # function (``_trimmed`` keeps what appending them one by one with ``Flow.step`` keeps).
        out: set = set()
        for flow in _ranked(summary.returns):
            if flow.is_param:
                index = int(flow.kind.split(":")[1])
                tail = (call_step, *flow.steps[1:], returned)
                for actual in _ranked(by_param.get(index, EMPTY)):
                    out.add(_flow(actual.kind, actual.confidence, _trimmed(actual.steps + tail), actual.what,
                                  actual.sanitized | flow.sanitized, actual.via + flow.via + (through,),
                                  actual.weak or flow.weak))
            else:
                out.add(flow.step(returned))
        for index, sink_kind, desc, flow, sink_step in summary.sinks:
            guard = self.spec.guard_kind(sink_kind)
            tail = (call_step, *flow.steps[1:], sink_step)
            for actual in _ranked(by_param.get(index, EMPTY)):
                if actual.safe_for(guard):
                    continue
                merged = _flow(actual.kind, actual.confidence, _trimmed(actual.steps + tail), actual.what,
                               actual.sanitized | flow.sanitized, actual.via + flow.via, actual.weak or flow.weak)
                if merged.safe_for(guard):
                    continue
                self._record(None, sink_kind, desc, merged, sink_step)
        return frozenset(out) if len(out) <= MAX_FLOWS else frozenset(sorted(out, key=_flow_rank)[:MAX_FLOWS])

    # ------------------------------------------------------------------ sinks

    def _check_sinks(self, node: ast.Call, facts: _CallFacts, arg_taints: list, kw_taints: dict, state: State,
                     receiver: frozenset = EMPTY) -> None:
        if receiver:
            sinks = facts.receiver_sinks
            if sinks is None:
                sinks = facts.receiver_sinks = self._sinks(node, facts.qual, True)
        else:
            sinks = facts.sinks
        for sink in sinks:
            taint = self._sink_argument_taint(sink, node, arg_taints, kw_taints, state)
            if sink.receiver:
                taint = _union2(taint, receiver)
            if taint:
                self.sink_hit(node, sink.kind, sink.what or _SINK_WHAT.get(sink.kind, sink.kind), taint)

    def _sinks(self, node: ast.Call, qual: str | None, receiver: bool) -> list[Sink]:
        """The sinks that ``node`` is and that apply to it as written (``shell=True``, no safe
        setting, a textual query), with or without a tainted receiver."""
        spec = self.spec
        sinks = list(spec.sink_names.get(qual, ())) if qual else []
        if not sinks and receiver and isinstance(node.func, ast.Attribute):
            by_path = spec.sink_names.get(f"pathlib.Path().{node.func.attr}")  # (base / name).exists()
            if by_path and self._pathlike(node.func.value, 0):
                sinks = list(by_path)
        if isinstance(node.func, ast.Attribute):
            for sink in spec.sink_methods.get(node.func.attr, ()):
                if sink not in sinks:
                    sinks.append(sink)
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "self" \
                    and node.func.attr in spec.self_sinks:
                markers = self.mod.handler_markers(node)
                for sink in spec.self_sinks[node.func.attr]:
                    if markers & set(sink.handler_bases) and sink not in sinks:
                        sinks.append(sink)
        # a query object (SQLAlchemy select(...)) binds its values
        return [sink for sink in sinks if self._applies(sink, node)
                and not (sink.kind == "sql" and not self._textual_query(sink, node))]

    def _textual_query(self, sink: Sink, node: ast.Call) -> bool:
        arg = node.args[0] if node.args and 0 in sink.args else None
        if arg is None:
            for key in sink.keywords:
                arg = self.ctx.keyword(node, key) or arg
        return arg is not None and self._stringish(arg, 0)

    def _pathlike(self, expr: ast.AST, depth: int) -> bool:
        """A ``pathlib`` path: ``Path(x)``, ``base / name`` with a path on the left, its
        ``.parent`` or ``.resolve()``, or a name bound to one of these."""
        if depth > 4:
            return False
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            return self._pathlike(expr.left, depth + 1)
        qual = self.index.qualname(expr) or ""
        if qual in ("pathlib.Path()", "pathlib.PurePath()", "pathlib.PosixPath()", "pathlib.WindowsPath()"):
            return True
        if isinstance(expr, ast.Attribute) and expr.attr == "parent":
            return self._pathlike(expr.value, depth + 1)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _PATH_METHODS:
            return self._pathlike(expr.func.value, depth + 1)
        if isinstance(expr, ast.Name):
            binding = self.index.binding(expr)
            value = binding.value if binding is not None and binding.kind in ("assign", "walrus") else None
            return value is not None and self._pathlike(value, depth + 1)
        return False

    def _stringish(self, expr: ast.AST, depth: int) -> bool:
        if isinstance(expr, (ast.JoinedStr, ast.BinOp, ast.Constant, ast.Subscript, ast.Attribute)):
            return True
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in ("format", "join", "replace", "strip", "lower",
                                                                 "upper", "get", "decode"):
                return True
            return (self.index.qualname(func) or "") in ("builtins.str",) or self._source(func) != EMPTY
        if isinstance(expr, ast.Name) and depth < 4:
            binding = self.index.binding(expr)
            if binding is None or binding.value is None:
                return True  # a parameter or unknown: it may well be text
            return self._stringish(binding.value, depth + 1)
        return True

    def _applies(self, sink: Sink, node: ast.Call) -> bool:
        shell_true = any(self.ctx.keyword(node, k) is not None and not self.ctx.is_false(self.ctx.keyword(node, k))
                         and self.ctx.literal(self.ctx.keyword(node, k)) is not None for k in ("shell",))
        if sink.when_true:
            if not any((v := self.ctx.keyword(node, k)) is not None and not self.ctx.is_false(v)
                       and self.ctx.literal(v) is not None for k in sink.when_true):
                return False
        if sink.program_only and shell_true:
            return False  # the shell sink sees the whole command
        for cond in sink.safe_if:
            given = self.ctx.keyword(node, cond.keyword)
            if given is None and cond.position is not None and cond.position < len(node.args):
                given = node.args[cond.position]
            if given is None:
                continue
            if not cond.values:
                return False
            if (self.index.qualname(given) or "") in cond.values:
                return False
            literal = self.ctx.literal(given)  # content_type="text/plain; charset=utf-8"
            if isinstance(literal, str) and literal.split(";")[0].strip().lower() in cond.values:
                return False
        return True

    def _sink_argument_taint(self, sink: Sink, node: ast.Call, arg_taints: list, kw_taints: dict,
                             state: State) -> frozenset:
        parts = []
        for pos in sink.args:
            if pos < len(node.args) and not any(isinstance(a, ast.Starred) for a in node.args[:pos]):
                arg = node.args[pos]
                if sink.program_only and isinstance(arg, (ast.List, ast.Tuple)):
                    parts.append(self.expr(arg.elts[0], state) if arg.elts else EMPTY)
                elif sink.program_only and isinstance(arg, ast.Name) and (arg.id, 0) in state.slots:
                    parts.append(state.slots[(arg.id, 0)])
                else:
                    parts.append(arg_taints[pos])
        for key in sink.keywords:
            if key in kw_taints:
                parts.append(kw_taints[key])
        return _union(*parts)

    def sink_hit(self, node: ast.AST, sink_kind: str, desc: str, taint: frozenset) -> None:
        sink_step = self.mod.step(node, f"reaches `{self.ctx.text(node.func if isinstance(node, ast.Call) else node, 40)}` ({desc})")
        guard = self.spec.guard_kind(sink_kind)
        real = [f for f in taint if not f.is_param]
        if real and all(f.safe_for(guard) for f in real):
            # untrusted data arrives here, but only after a sanitizer or guard for this sink
            self.mod.sanitized_sinks.add((node.lineno, node.col_offset))
        for flow in _ranked(taint):
            if flow.safe_for(guard):
                continue
            self._record(node, sink_kind, desc, flow.step(sink_step), sink_step)

    def _record(self, node: ast.AST | None, sink_kind: str, desc: str, flow: Flow, sink_step: TraceStep) -> None:
        if flow.is_param:
            if self.summary is not None:
                index = int(flow.kind.split(":")[1])
                key = (index, sink_kind, desc, sink_step)
                kept = self._sink_keys.get(key)
                # the best flow per parameter and sink is kept (the shortest, say, rather than
                # one that went round a recursive call first): which comes first depends on
                # the order functions were analysed in
                if kept is None or _flow_rank(flow) < kept[0]:
                    entry = (index, sink_kind, desc, _flow(flow.kind, flow.confidence, flow.steps[:-1],
                                                           flow.what, flow.sanitized, flow.via, flow.weak),
                             sink_step)
                    if kept is None:
                        self.sinks.append(entry)
                    else:
                        self.sinks[self.sinks.index(kept[1])] = entry
                    self._sink_keys[key] = (_flow_rank(flow), entry)
            return
        self.mod.hits.append(Hit(node, sink_kind, desc, flow))


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_UP = object()  # see _Unit.starts_clean
# nodes whose insides the interpretation never evaluates (a lambda's body runs when called)
_NOT_EVALUATED = (ast.Lambda, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Pass)
# children with nothing to look at: constants, and the contexts and operators of expressions
_LEAVES = frozenset({ast.Constant, ast.Load, ast.Store, ast.Del, *ast.operator.__subclasses__(),
                     *ast.boolop.__subclasses__(), *ast.unaryop.__subclasses__(), *ast.cmpop.__subclasses__()})

# Calls whose result carries only some of their arguments: positions and keywords.
_CARRIES = {
    "re.sub": ((1, 2), ("repl", "string")),
    "re.subn": ((1, 2), ("repl", "string")),
    "re.split": ((1,), ("string",)),
    "re.findall": ((1,), ("string",)),
    "re.match": ((1,), ("string",)),
    "re.search": ((1,), ("string",)),
    "re.fullmatch": ((1,), ("string",)),
}

_STRING_METHODS = frozenset({
    "strip", "lstrip", "rstrip", "lower", "upper", "title", "capitalize", "casefold", "replace", "split", "rsplit",
    "splitlines", "join", "format", "format_map", "encode", "decode", "get", "getlist", "pop", "setdefault",
    "copy", "items", "values", "keys", "partition", "rpartition", "zfill", "center", "ljust", "rjust",
    "removeprefix", "removesuffix", "expandtabs", "translate", "read", "readline", "readlines", "getvalue",
    "to_dict", "dict", "json", "text", "content", "first", "last", "group", "groups", "groupdict",
})
_PATH_METHODS = frozenset({"resolve", "absolute", "joinpath", "with_name", "with_suffix", "expanduser",
                           "relative_to", "as_posix"})
_KNOWN_MODULES = frozenset({"os", "posixpath", "urllib", "base64", "binascii", "json", "string", "codecs", "html",
                            "shlex", "pathlib", "collections", "copy", "itertools", "functools", "textwrap", "re"})
_SINK_WHAT = {
    "shell": "a shell command", "code": "code evaluation", "sql": "an SQL statement", "path": "a file path",
    "url": "an outbound request URL", "redirect": "a redirect target", "html": "an HTML response",
    "template": "a template compiled from a string", "ldap": "an LDAP filter", "xpath": "an XPath expression",
    "xml": "an XML parser", "deserialize": "a deserialiser", "header": "an HTTP header", "log": "a log message",
    "session": "the session", "regex": "a regular expression",
    "path-probe": "a file path probed", MARKUP_KIND: "HTML markup",
}


def markup_mark(loc: Location) -> str:
    """The breadcrumb a markup expression at ``loc`` leaves on the flows it formats."""
    return f"{MARKUP_MARK}{loc.path}:{loc.line}:{loc.col}"


def _sanitize(taint: frozenset, protects: frozenset, note: str) -> frozenset:
    return frozenset([_flow(f.kind, f.confidence, f.steps, f.what, f.sanitized | protects, f.via + (note,), f.weak)
                      for f in taint])


def _names_in(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Call):
        found = []
        for arg in node.args:
            found += _names_in(arg)
        if isinstance(node.func, ast.Attribute):
            found += _names_in(node.func.value)
        return found
    if isinstance(node, ast.Attribute):
        return _names_in(node.value)
    if isinstance(node, ast.Subscript):
        return _names_in(node.value)
    return []


def _match_names(pattern: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(pattern):
        name = getattr(node, "name", None)
        if isinstance(name, str):
            names.append(name)
        rest = getattr(node, "rest", None)
        if isinstance(rest, str):
            names.append(rest)
    return names


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _looks_like_response(node: ast.AST) -> bool:
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name in ("response", "resp", "res") or name.endswith("_response")


def _fold_expr(ctx: FileContext, node: ast.expr) -> object:
    """Constant value of a condition, or NOT_CONSTANT: literals, names bound to them, arithmetic,
    comparisons, ``not``, ``and`` / ``or``."""
    if isinstance(node, ast.Compare):
        left = _fold_expr(ctx, node.left)
        if left is NOT_CONSTANT:
            return NOT_CONSTANT
        for op, comp in zip(node.ops, node.comparators):
            right = _fold_expr(ctx, comp)
            if right is NOT_CONSTANT:
                return NOT_CONSTANT
            try:
                ok = _COMPARE[type(op)](left, right)
            except (TypeError, KeyError):
                return NOT_CONSTANT
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _fold_expr(ctx, node.operand)
        return NOT_CONSTANT if inner is NOT_CONSTANT else not inner
    if isinstance(node, ast.BoolOp):
        values = [_fold_expr(ctx, v) for v in node.values]
        if any(v is NOT_CONSTANT for v in values):
            return NOT_CONSTANT
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub)):
        left, right = _fold_expr(ctx, node.left), _fold_expr(ctx, node.right)
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            return {ast.Mult: lambda a, b: a * b, ast.Add: lambda a, b: a + b,
                    ast.Sub: lambda a, b: a - b}[type(node.op)](left, right)
    value = ctx.literal(node)
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return NOT_CONSTANT


_COMPARE = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b, ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}
