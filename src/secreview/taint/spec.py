"""Taint specifications: sources, sinks, sanitizers and flow rules, read from TOML data files.

The built-in specs live in ``taint/specs/*.toml``, one file per framework or library family;
users add their own files (``Options.taint_specs``). Files are parsed as data with ``tomllib`` and
validated: an unknown key, a wrong type or an unknown sink kind is a :class:`SpecError` naming the
file and the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

from secreview.model import Level

SPEC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs")
LEVELS = {"low": Level.LOW, "medium": Level.MEDIUM, "high": Level.HIGH}


class SpecError(ValueError):
    """A taint specification file that cannot be used."""


@dataclass(frozen=True)
class Source:
    """Where untrusted data comes from: calls, attributes or parameters of a kind."""

    kind: str
    what: str
    confidence: Level = Level.HIGH
    names: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    receiver_names: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    route_decorators: tuple[str, ...] = ()
    route_owners: tuple[str, ...] = ()
    param_names: tuple[str, ...] = ()
    class_suffixes: tuple[str, ...] = ()
    handler_bases: tuple[str, ...] = ()  # base classes, or method decorators, that mark a request handler
    self_attributes: tuple[str, ...] = ()  # ...whose self.X (attribute or method call) is request data
    handler_methods: tuple[str, ...] = ()  # ...whose methods of these names take request data as parameters


@dataclass(frozen=True)
class SafeIf:
    """A keyword argument (and values) that makes a sink's call safe."""

    keyword: str
    position: int | None = None
    values: tuple[str, ...] = ()  # empty: any value given makes the call safe


@dataclass(frozen=True)
class Sink:
    """A call whose arguments must not carry untrusted data."""

    kind: str
    what: str = ""
    names: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    args: tuple[int, ...] = (0,)
    keywords: tuple[str, ...] = ()
    when_true: tuple[str, ...] = ()
    program_only: bool = False
    safe_if: tuple[SafeIf, ...] = ()
    subscript_stores: tuple[str, ...] = ()
    handler_bases: tuple[str, ...] = ()  # with self_methods: calls self.X() inside such a handler
    self_methods: tuple[str, ...] = ()
    receiver: bool = False  # the object the method is called on is the sink value (``Path(p).exists()``)


@dataclass(frozen=True)
class FlowOptions:
    """How hits of one sink kind are reported, when the kind differs from its rule's default: a
    file-system probe is a path flow of lower impact than an open."""

    severity: Level | None = None  # instead of the rule's severity
    confidence: Level | None = None  # the highest confidence a hit of this kind gets
    impact: str = ""  # instead of the rule's impact sentence
    like: str = ""  # sanitizers and guards of this sink kind protect this one too


@dataclass(frozen=True)
class Sanitizer:
    """Calls that make data safe for some sink kinds."""

    names: tuple[str, ...]
    protects: frozenset[str]


@dataclass
class Spec:
    """The data-flow specification: sources, sinks, sanitizers and the rules that report flows."""

    sources: list[Source] = field(default_factory=list)
    sinks: list[Sink] = field(default_factory=list)
    sanitizers: list[Sanitizer] = field(default_factory=list)
    flows: dict[str, str] = field(default_factory=dict)  # sink kind -> rule id
    flow_sources: dict[str, frozenset[str]] = field(default_factory=dict)  # sink kind -> source kinds (all if absent)
    flow_options: dict[str, FlowOptions] = field(default_factory=dict)  # sink kind -> reporting options
    files: list[str] = field(default_factory=list)

    def index(self) -> SpecIndex:
        return SpecIndex(self)


class SpecIndex:
    """Lookup tables built from a :class:`Spec`."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.source_names: dict[str, Source] = {}
        self.source_methods: dict[str, Source] = {}
        self.receiver_attrs: dict[str, dict[str, Source]] = {}
        self.route_sources: list[Source] = []
        self.param_sources: list[Source] = []
        self.handler_sources: list[Source] = []
        for src in spec.sources:
            for name in src.names:
                self.source_names.setdefault(name, src)
            for method in src.methods:
                self.source_methods.setdefault(method, src)
            for receiver in src.receiver_names:
                table = self.receiver_attrs.setdefault(receiver, {})
                for attr in src.attributes:
                    table.setdefault(attr, src)
            if src.route_decorators:
                self.route_sources.append(src)
            if src.param_names:
                self.param_sources.append(src)
            if src.handler_bases:
                self.handler_sources.append(src)
        # the attribute an attribute or method call has to end in to be a source of any kind
        # (the last name of a source, a source method, a request object's attribute)
        self.source_attrs = frozenset({name.rsplit(".", 1)[-1] for name in self.source_names} | set(self.source_methods)
                                      | {attr for table in self.receiver_attrs.values() for attr in table})
        # what param_seeded (taint.analysis) looks at first: any handler source's method names,
        # any parameter source's class name suffixes
        self.handler_method_names = frozenset(m for src in self.handler_sources for m in src.handler_methods)
        self.param_class_suffixes = tuple(suffix for src in self.param_sources for suffix in src.class_suffixes)
        # methods of opened things that are sources (``open(p).read``: "builtins.open().read")
        self.opened_attrs = frozenset(name.rsplit("().", 1)[1] for name in self.source_names if "()." in name)
        self.sink_names: dict[str, list[Sink]] = {}
        self.sink_methods: dict[str, list[Sink]] = {}
        self.subscript_sinks: dict[str, Sink] = {}
        self.self_sinks: dict[str, list[Sink]] = {}
        for sink in spec.sinks:
            for method in sink.self_methods:
                self.self_sinks.setdefault(method, []).append(sink)
            for name in sink.names:
                self.sink_names.setdefault(name, []).append(sink)
            for method in sink.methods:
                self.sink_methods.setdefault(method, []).append(sink)
            for store in sink.subscript_stores:
                self.subscript_sinks[store] = sink
        self.sanitizers: dict[str, frozenset[str]] = {}
        for san in spec.sanitizers:
            for name in san.names:
                self.sanitizers[name] = self.sanitizers.get(name, frozenset()) | san.protects
        # ``escape.xhtml_escape`` in a segment without imports: sanitizers by their dotted tails
        self.sanitizer_tails: dict[str, frozenset[str]] = {}
        for name, protects in self.sanitizers.items():
            parts = name.split(".")
            for i in range(1, len(parts) - 1):
                tail = ".".join(parts[i:])
                self.sanitizer_tails[tail] = self.sanitizer_tails.get(tail, frozenset()) | protects
        self.sink_kinds = frozenset(spec.flows)
        # sink kind -> the kind whose sanitizers protect it (itself unless its flow says `like`)
        self.guard_kinds: dict[str, str] = {kind: opts.like for kind, opts in spec.flow_options.items() if opts.like}

    def guard_kind(self, sink_kind: str) -> str:
        return self.guard_kinds.get(sink_kind, sink_kind)


_SOURCE_KEYS = {f for f in Source.__dataclass_fields__}
_SINK_KEYS = {f for f in Sink.__dataclass_fields__}
_TOP_KEYS = {"source", "sink", "sanitizer", "flow"}


def _strings(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: expected a list of strings")
    return tuple(value)


def _ints(value, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise SpecError(f"{where}: expected a list of argument positions (integers from 0)")
    return tuple(value)


def _load_file(path: str, spec: Spec) -> None:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read taint spec: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    for key in data:
        if key not in _TOP_KEYS:
            raise SpecError(f"{path}: unknown key {key!r} (expected [[source]], [[sink]], [[sanitizer]] or [[flow]])")
    for i, entry in enumerate(data.get("source", [])):
        where = f"{path}: source #{i + 1}"
        _check_table(entry, where, _SOURCE_KEYS, required=("kind", "what"))
        kwargs = {}
        for key, value in entry.items():
            if key in ("kind", "what"):
                if not isinstance(value, str):
                    raise SpecError(f"{where}: key {key!r} must be a string")
                kwargs[key] = value
            elif key == "confidence":
                if value not in LEVELS:
                    raise SpecError(f"{where}: key 'confidence' must be low, medium or high")
                kwargs[key] = LEVELS[value]
            else:
                kwargs[key] = _strings(value, f"{where}: key {key!r}")
        spec.sources.append(Source(**kwargs))
    for i, entry in enumerate(data.get("sink", [])):
        where = f"{path}: sink #{i + 1}"
        _check_table(entry, where, _SINK_KEYS, required=("kind",))
        kwargs = {}
        for key, value in entry.items():
            if key in ("kind", "what"):
                if not isinstance(value, str):
                    raise SpecError(f"{where}: key {key!r} must be a string")
                kwargs[key] = value
            elif key == "args":
                kwargs[key] = _ints(value, f"{where}: key 'args'")
            elif key in ("program_only", "receiver"):
                if not isinstance(value, bool):
                    raise SpecError(f"{where}: key {key!r} must be true or false")
                kwargs[key] = value
            elif key == "safe_if":
                kwargs[key] = tuple(_safe_if(item, f"{where}: safe_if #{j + 1}") for j, item in enumerate(value))
            else:
                kwargs[key] = _strings(value, f"{where}: key {key!r}")
        spec.sinks.append(Sink(**kwargs))
    for i, entry in enumerate(data.get("sanitizer", [])):
        where = f"{path}: sanitizer #{i + 1}"
        _check_table(entry, where, {"names", "protects"}, required=("names", "protects"))
        spec.sanitizers.append(Sanitizer(_strings(entry["names"], f"{where}: key 'names'"),
                                         frozenset(_strings(entry["protects"], f"{where}: key 'protects'"))))
    for i, entry in enumerate(data.get("flow", [])):
        where = f"{path}: flow #{i + 1}"
        _check_table(entry, where, {"sink", "rule", "sources", "severity", "confidence", "impact", "like"},
                     required=("sink", "rule"))
        for key in ("sink", "rule", "impact", "like"):
            if key in entry and not isinstance(entry[key], str):
                raise SpecError(f"{where}: key {key!r} must be a string")
        spec.flows[entry["sink"]] = entry["rule"]
        if "sources" in entry:
            spec.flow_sources[entry["sink"]] = frozenset(_strings(entry["sources"], f"{where}: key 'sources'"))
        levels = {}
        for key in ("severity", "confidence"):
            if key in entry:
                if entry[key] not in LEVELS:
                    raise SpecError(f"{where}: key {key!r} must be low, medium or high")
                levels[key] = LEVELS[entry[key]]
        if levels or "impact" in entry or "like" in entry:
            spec.flow_options[entry["sink"]] = FlowOptions(impact=entry.get("impact", ""), like=entry.get("like", ""),
                                                           **levels)
    spec.files.append(path)


def _safe_if(item, where: str) -> SafeIf:
    if not isinstance(item, dict):
        raise SpecError(f"{where}: expected a table with 'keyword', optional 'position' and 'values'")
    _check_table(item, where, {"keyword", "position", "values"}, required=("keyword",))
    position = item.get("position")
    if position is not None and (not isinstance(position, int) or position < 0):
        raise SpecError(f"{where}: key 'position' must be an argument position")
    return SafeIf(item["keyword"], position, _strings(item.get("values", []), f"{where}: key 'values'"))


def _check_table(entry, where: str, allowed: set[str], required: tuple[str, ...]) -> None:
    if not isinstance(entry, dict):
        raise SpecError(f"{where}: expected a table")
    for key in entry:
        if key not in allowed:
            raise SpecError(f"{where}: unknown key {key!r}")
    for key in required:
        if key not in entry:
            raise SpecError(f"{where}: missing key {key!r}")


def load(extra: tuple[str, ...] = ()) -> Spec:
    """The built-in specs plus ``extra`` files, validated."""
    return _load(tuple(extra))


@lru_cache(maxsize=8)
def _load(extra: tuple[str, ...]) -> Spec:
    spec = Spec()
    builtin = sorted(f for f in os.listdir(SPEC_DIR) if f.endswith(".toml"))
    for name in builtin:
        _load_file(os.path.join(SPEC_DIR, name), spec)
    for path in extra:
        _load_file(path, spec)
    for kind, opts in spec.flow_options.items():
        if opts.like and opts.like not in spec.flows:
            raise SpecError(f"taint spec: flow {kind!r} is `like` {opts.like!r}, which has no [[flow]] rule")
    for sink in spec.sinks:
        if sink.kind not in spec.flows:
            raise SpecError(f"{_file_of(spec, sink)}: sink kind {sink.kind!r} has no [[flow]] rule "
                            f"(known kinds: {', '.join(sorted(spec.flows))})")
    return spec


def _file_of(spec: Spec, sink: Sink) -> str:
    return spec.files[-1] if spec.files else "taint spec"
