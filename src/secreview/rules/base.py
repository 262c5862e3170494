"""What a rule is, and the helpers every rule uses to read the code it is shown.

A rule is a class with a docstring in the standard sections, metadata as class attributes and
one or two check methods. It never walks the tree: the engine walks each file once and calls
``check_call`` for calls whose qualified name (or, for ``methods``, attribute name) the rule
registered, and ``check_node`` for nodes of the types it registered (those its ``select`` keeps).
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable
from typing import ClassVar

from secreview.model import Finding, Level, Location, TraceStep
from secreview.source.index import Binding, Candidate, Index
from secreview.source.parse import OTHER_ASCII_BREAKS, SourceFile

DOC_SECTIONS = ("What it finds", "Why it is dangerous", "Example", "Safe alternative", "References")

NOT_CONSTANT = object()

# Line breaks of str.splitlines besides "\n" (see FileContext.word_lines), those an ASCII text
# may hold first; a search for each character is much faster than one for a character class.
_OTHER_BREAKS = OTHER_ASCII_BREAKS
_OTHER_BREAKS_UNICODE = ("\x85", "\u2028", "\u2029")


class Rule:
    """Base class; subclasses are registered with :func:`secreview.rules.registry.register`."""

    id: ClassVar[str]
    name: ClassVar[str]
    cwe: ClassVar[int]
    severity: ClassVar[Level]
    confidence: ClassVar[Level]
    fix: ClassVar[str]  # the default "how to fix" sentence
    # Dispatch: qualified names of calls ("os.system", "subprocess.*"), attribute names of calls on
    # receivers of any kind ("execute"), and node types.
    calls: ClassVar[tuple[str, ...]] = ()
    methods: ClassVar[tuple[str, ...]] = ()
    nodes: ClassVar[tuple[type, ...]] = ()
    # A cheap per-file prefilter: when set, the rule can only report in a file whose text (or
    # path) contains one of these strings, and is not run on other files. It must be a necessary
    # condition of every finding the rule makes; ``needs_any_case`` compares in lower case.
    needs: ClassVar[tuple[str, ...]] = ()
    needs_any_case: ClassVar[bool] = False
    # Hygiene rules flag weak practice rather than an exploitable flow; context triage may lower
    # or drop them in test code.
    hygiene: ClassVar[bool] = False

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        raise NotImplementedError

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        raise NotImplementedError

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        """The nodes of ``node_type`` (``nodes``, in source order) to call ``check_node`` on.

        A rule may drop here, in one pass and without a call per node, nodes on which its
        ``check_node`` returns at once without reporting; it must keep every other node, in
        order (tests/test_registry.py checks that no finding is lost). All of them by default."""
        return nodes

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else ""

    @classmethod
    def sections(cls) -> dict[str, str]:
        """The docstring's ``## Section`` bodies, by title."""
        return parse_sections(cls.__doc__ or "")

    @classmethod
    def doc(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")


def parse_sections(doc: str) -> dict[str, str]:
    import inspect

    text = inspect.cleandoc(doc)
    sections: dict[str, str] = {}
    current = None
    lines: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^##\s+(.+?)\s*$", line)
        if m:
            if current:
                sections[current] = "\n".join(lines).strip()
            current, lines = m.group(1), []
        elif current:
            lines.append(line)
    if current:
        sections[current] = "\n".join(lines).strip()
    return sections


class FileContext:
    """One file under review, as rules see it."""

    def __init__(self, source: SourceFile, index: Index, context: str = "production"):
        self.source = source
        self.index = index
        self.path = source.path
        self.context = context
        self.findings: list[Finding] = []
        self.cache: dict[str, object] = {}  # per-file memo for rules: key by rule id
        self._via: Candidate | None = None  # set while a rule checks a call as one of its candidates
        self.called_names: list[str] | None = None  # see call_names (the engine fills it in)
        self._word_lines: dict[tuple[str, ...], list[int] | None] = {}  # see word_lines
        self._holds: dict[str, bool] = {}  # see holds

    # ------------------------------------------------------------------ reporting

    def report(self, rule: Rule, node: ast.AST, message: str, *, fix: str | None = None,
               severity: Level | None = None, confidence: Level | None = None,
               end_node: ast.AST | None = None,
               trace: Iterable[tuple[ast.AST, str] | TraceStep] = ()) -> None:
        via = self._via
        if via is not None:  # the call was checked as one of the modules a name may be bound to
            message = f"{via.describe()}: {message}"
            confidence = Level(max(Level.LOW, (confidence or rule.confidence) - 1))
        end = end_node or node
        location = self._span(node, end)
        steps = tuple(item if isinstance(item, TraceStep) else TraceStep(self.location(item[0]), item[1])
                      for item in trace)
        self.findings.append(Finding(
            rule_id=rule.id,
            rule_name=rule.name,
            cwe=rule.cwe,
            severity=severity or rule.severity,
            confidence=confidence or rule.confidence,
            location=location,
            message=message,
            fix=fix or rule.fix,
            context=self.context,
            snippet=self.statement_text(node),
            trace=steps,
            statement_lines=self.statement_lines(node, location),
        ))

    def location(self, node: ast.AST) -> Location:
        return self._span(node, node)

    def _span(self, start: ast.AST, end: ast.AST) -> Location:
        """A location with columns in characters (``ast`` counts UTF-8 bytes)."""
        end_line = end.end_lineno or end.lineno
        end_col = end.end_col_offset if end.end_col_offset is not None else end.col_offset
        return Location(self.path, start.lineno, self._chars(start.lineno, start.col_offset),
                        end_line, self._chars(end_line, end_col))

    def _chars(self, line: int, byte_col: int) -> int:
        text = self.source.line(line)
        shift = self.source.col_shift
        if text.isascii():
            return byte_col + shift
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")) + shift

    def statement_lines(self, node: ast.AST, location: Location) -> tuple[int, int]:
        """First and last line of the simple statement holding ``node``; for a compound statement
        (``if``, ``with``, ``def`` ...) only its header up to the flagged node. Suppression
        comments on any of these lines apply to the finding."""
        stmt = self.index.statement_of(node)
        start, end = location.line, location.end_line
        if stmt is not None and not _is_compound(stmt):
            start, end = min(start, stmt.lineno), max(end, stmt.end_lineno or stmt.lineno)
        elif stmt is not None:
            start = min(start, stmt.lineno)
        return start, end

    def statement_text(self, node: ast.AST) -> str:
        """Whitespace-normalised text of the simple statement holding ``node`` (or of ``node``)."""
        stmt = self.index.statement_of(node)
        target = stmt if stmt is not None and not _is_compound(stmt) else node
        return " ".join(self.source.segment(target).split())

    def text(self, node: ast.AST, limit: int = 60) -> str:
        """Short, single-line source text of ``node`` for messages."""
        text = " ".join(self.source.segment(node).split())
        return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."

    # ------------------------------------------------------------------ reading the text

    def mentions(self, node: ast.AST, words: tuple[str, ...]) -> bool:
        """Whether one of ``words`` occurs in the source lines ``node`` spans: the same answer as
        ``any(word in "\\n".join(source.lines[node.lineno - 1:node.end_lineno]) ...)``, without
        joining the lines for each node (see :meth:`word_lines`)."""
        first = node.lineno
        last = node.end_lineno or first
        found = self.word_lines(words)
        if found is None:  # line breaks other than "\n": join the lines, as said above
            body = "\n".join(self.source.lines[first - 1:last])
            return any(word in body for word in words)
        at = bisect_left(found, first)
        return at < len(found) and found[at] <= last

    def holds(self, word: str) -> bool:
        """``word in source.text``, searched once per file: several rules (and the engine's
        ``needs`` prefilter) ask about the same words, and each search reads the whole text."""
        found = self._holds.get(word)
        if found is None:
            found = self._holds[word] = word in self.source.text
        return found

    def word_lines(self, words: tuple[str, ...]) -> list[int] | None:
        """The numbers (from 1, as ``source.lines`` counts) of the lines holding one of ``words``,
        in order; found once per file from the words' occurrences in the text. None when the text
        has a line break other than "\\n" (``source.lines`` comes from ``str.splitlines``, which
        also breaks at "\\r", form feeds and others, so counting "\\n" would number its lines
        differently) or a word is empty or holds "\\n" (it could then span lines)."""
        cache = self._word_lines
        if words in cache:
            return cache[words]
        text = self.source.text
        found: list[int] | None = None
        if all(word and "\n" not in word for word in words) and not any(brk in text for brk in _OTHER_BREAKS) \
                and (text.isascii() or not any(brk in text for brk in _OTHER_BREAKS_UNICODE)):
            starts = set()
            for word in words:
                at = text.find(word)
                while at >= 0:
                    starts.add(at)
                    at = text.find(word, at + 1)
            found = []
            line, counted = 1, 0
            for at in sorted(starts):  # the "\n" before each occurrence, counted once in all
                line += text.count("\n", counted, at)
                counted = at
                if not found or found[-1] != line:
                    found.append(line)
        cache[words] = found
        return found

    # ------------------------------------------------------------------ reading calls

    def call_names(self) -> list[str]:
        """The called name of each call of the file, in the order of ``index.of_type(ast.Call)``:
        the attribute (``execute`` in ``self.db.execute(sql)``), the name (``execute(sql)``), or
        "" for any other callee. For the ``select`` of rules that look at every call."""
        names = self.called_names
        if names is None:
            Attribute, Name = ast.Attribute, ast.Name
            names = self.called_names = [
                func.attr if type(func) is Attribute else func.id if type(func) is Name else ""
                for func in [call.func for call in self.index.of_type(ast.Call)]]
        return names

    def calls_named(self, calls: list[ast.Call], accept: Callable[[str], bool]) -> list[ast.Call]:
        """The calls among ``calls`` (all the file's calls, as ``select`` receives them) whose
        called name (:meth:`call_names`) passes ``accept``, which is asked once per distinct name."""
        names = self.call_names()
        wanted = {name for name in set(names) if accept(name)}
        if not wanted:
            return []
        return [call for call, name in zip(calls, names) if name in wanted]

    def qualname(self, expr: ast.AST | None) -> str | None:
        return self.index.qualname(expr)

    def candidates(self, expr: ast.AST | None) -> tuple[Candidate, ...]:
        """The modules the name at the root of ``expr`` may be bound to, when there are several
        (:meth:`secreview.source.index.Index.candidates`)."""
        return self.index.candidates(expr)

    def check_resolved(self, call: ast.Call, qualname: str | None, names: Collection[str],
                       check: Callable[[str], None]) -> None:
        """Run ``check(name)`` with what ``call`` calls, when that is one of ``names``.

        When the called name may be bound to one of several modules (``loader = yaml`` in one
        branch, ``loader = json`` in another), ``qualname`` is only one of them: ``check`` then
        runs with each candidate in ``names`` until one reports, and what it reports names the
        candidate ("`loader` may be the `yaml` module here (line 7)") with one step less
        confidence. A rule using this registers the attribute names in ``methods`` as well, so
        that the engine shows it calls whose textual resolution is another candidate."""
        candidates = self.index.candidates(call.func)
        if not candidates:
            if qualname in names:
                check(qualname)  # type: ignore[arg-type]
            return
        for candidate in candidates:
            if candidate.qualname not in names:
                continue
            before = len(self.findings)
            self._via = candidate
            try:
                check(candidate.qualname)
            finally:
                self._via = None
            if len(self.findings) > before:
                return

    @staticmethod
    def keyword(call: ast.Call, name: str) -> ast.expr | None:
        for kw in call.keywords:
            if kw.arg == name:
                return kw.value
        return None

    @staticmethod
    def has_kwargs_splat(call: ast.Call) -> bool:
        return any(kw.arg is None for kw in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args)

    @staticmethod
    def argument(call: ast.Call, position: int | None, name: str | None = None) -> ast.expr | None:
        """The argument passed at ``position`` or as keyword ``name``."""
        if name is not None:
            for kw in call.keywords:
                if kw.arg == name:
                    return kw.value
        if position is not None and position < len(call.args):
            arg = call.args[position]
            if any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
                return None
            return arg
        return None

    # ------------------------------------------------------------------ reading values

    def binding(self, name: ast.Name) -> Binding | None:
        return self.index.binding(name)

    def literal(self, expr: ast.AST | None, depth: int = 0) -> object:
        """The value of an expression built only from literals (and names bound to them), else
        :data:`NOT_CONSTANT`. Strings built by concatenation, ``%``, f-strings and ``.format``
        of constants are constants too."""
        if expr is None or depth > 12:
            return NOT_CONSTANT
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.Name):
            binding = self.index.binding(expr)
            if binding is None or binding.kind not in ("assign", "walrus") or binding.value is None:
                return NOT_CONSTANT
            return self.literal(binding.value, depth + 1)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls"):
            return self._attribute_literal(expr, depth)
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            items = [self.literal(e, depth + 1) for e in expr.elts]
            if any(i is NOT_CONSTANT for i in items):
                return NOT_CONSTANT
            if isinstance(expr, ast.Set):
                try:
                    return frozenset(items)
                except TypeError:
                    return NOT_CONSTANT
            return tuple(items) if isinstance(expr, ast.Tuple) else items
        if isinstance(expr, ast.Call) and len(expr.args) == 1 and not expr.keywords \
                and self.index.qualname(expr.func) in ("builtins.frozenset", "builtins.set", "builtins.tuple"):
            inner = self.literal(expr.args[0], depth + 1)
            if isinstance(inner, (tuple, list, frozenset)):
                try:
                    return frozenset(inner) if "set" in self.index.qualname(expr.func) else tuple(inner)
                except TypeError:
                    return NOT_CONSTANT
            return NOT_CONSTANT
        if isinstance(expr, ast.JoinedStr):
            parts = []
            for value in expr.values:
                if isinstance(value, ast.Constant):
                    parts.append(str(value.value))
                elif isinstance(value, ast.FormattedValue):
                    inner = self.literal(value.value, depth + 1)
                    if inner is NOT_CONSTANT:
                        return NOT_CONSTANT
                    parts.append(str(inner))
                else:
                    return NOT_CONSTANT
            return "".join(parts)
        if isinstance(expr, ast.BinOp):
            left = self.literal(expr.left, depth + 1)
            right = self.literal(expr.right, depth + 1)
            if left is NOT_CONSTANT or right is NOT_CONSTANT:
                return NOT_CONSTANT
            try:
                if isinstance(expr.op, ast.Add) and type(left) is type(right) and isinstance(left, (str, bytes, int, float, tuple, list)):
                    return left + right
                if isinstance(expr.op, ast.Mod) and isinstance(left, str):
                    return left % right
                if isinstance(expr.op, ast.BitOr) and isinstance(left, int) and isinstance(right, int):
                    return left | right
                if isinstance(expr.op, (ast.Mult,)) and isinstance(left, int) and isinstance(right, int) and abs(right) < 1 << 20:
                    return left * right
                if isinstance(expr.op, ast.LShift) and isinstance(left, int) and isinstance(right, int) and 0 <= right < 64:
                    return left << right
            except (TypeError, ValueError, KeyError, OverflowError):
                return NOT_CONSTANT
            return NOT_CONSTANT
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
            inner = self.literal(expr.operand, depth + 1)
            return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else NOT_CONSTANT
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format":
            base = self.literal(expr.func.value, depth + 1)
            if not isinstance(base, str):
                return NOT_CONSTANT
            args = [self.literal(a, depth + 1) for a in expr.args]
            kwargs = {kw.arg: self.literal(kw.value, depth + 1) for kw in expr.keywords if kw.arg}
            if any(a is NOT_CONSTANT for a in args) or any(v is NOT_CONSTANT for v in kwargs.values()):
                return NOT_CONSTANT
            if len(kwargs) != len(expr.keywords):
                return NOT_CONSTANT
            try:
                return base.format(*args, **kwargs)
            except (IndexError, KeyError, ValueError, AttributeError, TypeError):
                return NOT_CONSTANT
        return NOT_CONSTANT

    def _attribute_literal(self, expr: ast.Attribute, depth: int) -> object:
        """``self.x`` is constant when every assignment to it in the class (in its body or to
        ``self.x`` in its methods) is the same literal."""
        cls = self.index.class_of(expr)
        if cls is None:
            return NOT_CONSTANT
        values = list(self.index.attribute_values.get((cls, expr.attr), ()))
        body = self.index.inner_scope(cls)
        for binding in body.bindings.get(expr.attr, ()) if body is not None else ():
            values.append(binding.value if binding.kind == "assign" else None)
        if not values:
            return NOT_CONSTANT
        first = self.literal(values[0], depth + 1)
        if first is NOT_CONSTANT:
            return NOT_CONSTANT
        for value in values[1:]:
            if self.literal(value, depth + 1) != first:
                return NOT_CONSTANT
        return first

    def is_constant(self, expr: ast.AST | None) -> bool:
        return self.literal(expr) is not NOT_CONSTANT

    def is_true(self, expr: ast.AST | None) -> bool:
        return self.literal(expr) is True

    def is_false(self, expr: ast.AST | None) -> bool:
        value = self.literal(expr)
        return value is False or (type(value) is int and value == 0)

    def is_string_building(self, expr: ast.AST | None) -> bool:
        """True for a string made by formatting or concatenating a value that is not constant."""
        if expr is None or self.is_constant(expr):
            return False
        if isinstance(expr, ast.JoinedStr):
            return True
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Mod)):
            return _stringish(expr.left) or _stringish(expr.right) or self.is_string_building(expr.left)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("format", "join", "replace"):
            return True
        if isinstance(expr, ast.Name):
            binding = self.index.binding(expr)
            if binding is not None and binding.kind == "assign" and binding.value is not None and binding.value is not expr:
                return self.is_string_building(binding.value)
            if binding is not None and binding.kind == "augassign":
                return True
        return False


    def string_parts(self, expr: ast.AST | None, depth: int = 0) -> tuple[list[str], list[ast.expr]]:
        """Split a string-valued expression into its constant text and its dynamic parts.

        Follows f-strings, ``+``, ``%``, ``.format``, ``sep.join([...])``, lists and tuples, and
        names bound (or augmented) by assignment. Numbers count as constant text."""
        if expr is None:
            return [], []
        if depth > 12:
            return [], [expr]
        if isinstance(expr, ast.Constant):
            value = expr.value
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            return ([str(value)] if value is not None else []), []
        consts: list[str] = []
        dynamic: list[ast.expr] = []

        def add(sub: ast.AST | None) -> None:
            c, d = self.string_parts(sub, depth + 1)
            consts.extend(c)
            dynamic.extend(d)

        if isinstance(expr, ast.JoinedStr):
            for value in expr.values:
                add(value.value if isinstance(value, ast.FormattedValue) else value)
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            add(expr.left)
            add(expr.right)
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult) and any(
                isinstance(side, ast.Constant) and isinstance(side.value, (str, bytes)) for side in (expr.left, expr.right)):
            # "?" * len(values): a repeated constant (placeholders), whatever the count
            add(expr.left if isinstance(expr.left, ast.Constant) else expr.right)
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
            add(expr.left)
            right = expr.right
            if isinstance(right, (ast.Tuple, ast.List)):
                for elt in right.elts:
                    add(elt)
            elif isinstance(right, ast.Dict):
                for value in right.values:
                    add(value)
            else:
                add(right)
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format":
            add(expr.func.value)
            for arg in expr.args:
                add(arg)
            for kw in expr.keywords:
                add(kw.value)
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "join" \
                and len(expr.args) == 1 and not expr.keywords:
            add(expr.func.value)
            add(expr.args[0])
        elif isinstance(expr, (ast.List, ast.Tuple)):
            for elt in expr.elts:
                add(elt.value if isinstance(elt, ast.Starred) else elt)
        elif isinstance(expr, ast.Name):
            binding = self.index.binding(expr)
            if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None:
                add(binding.value)
            elif binding is not None and binding.kind == "augassign" and isinstance(binding.node, ast.AugAssign):
                stmt = binding.node
                before = self.index.lookup(expr.id, binding.scope, (stmt.lineno, stmt.col_offset))
                if before is not None and before.kind in ("assign", "walrus") and before.value is not None:
                    add(before.value)
                elif before is not None:
                    dynamic.append(expr)
                add(stmt.value)
            else:
                dynamic.append(expr)
        else:
            dynamic.append(expr)
        return consts, dynamic

    def passes_through(self, expr: ast.AST, functions: frozenset[str], depth: int = 0) -> bool:
        """True when ``expr`` is the result of one of ``functions`` (by qualified name), directly
        or through names bound to such a call: ``shlex.quote(x)``, ``int(n)``."""
        if depth > 8:
            return False
        if isinstance(expr, ast.Call):
            return self.index.qualname(expr.func) in functions
        if isinstance(expr, ast.Name):
            binding = self.index.binding(expr)
            if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None:
                return self.passes_through(binding.value, functions, depth + 1)
        return False


def attribute_chain(expr: ast.AST, require_name: bool = False) -> list[str]:
    """The names of an attribute chain, outermost last: ``self.api.get`` -> self, api, get. When
    the chain does not start at a name (``f().x``) the names found are returned, or none with
    ``require_name``."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
    elif require_name:
        return []
    return list(reversed(parts))


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def identifier_words(name: str) -> list[str]:
    """Lower-case word parts of an identifier: ``newSessionID`` -> new, session, id;
    ``DB_PASSWORD`` -> db, password. Matching whole parts keeps ``monkey`` from meaning ``key``."""
    return [word.lower() for word in _WORD.findall(name)]


def _stringish(expr: ast.AST) -> bool:
    return (isinstance(expr, ast.Constant) and isinstance(expr.value, str)) or isinstance(expr, ast.JoinedStr)


def _is_compound(stmt: ast.stmt) -> bool:
    return isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
                             ast.TryStar, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Match))
