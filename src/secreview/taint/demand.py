"""Which functions of a module the taint analysis has to interpret: the ones untrusted data can
reach, and the ones whose summary another module asks for.

Most functions of a large project never see untrusted data: interpreting them only to compute a
summary nobody applies was most of the data-flow time. A function is analysed when it is *needed*:

- it may read a source: a source's name appears in its text (the last part of a source's
  qualified name, a source method, a request-object name, or a local alias imported for a
  source), or its parameters are sources (routed views, handler methods, API controller bodies),
  or it is a method of a request-handler class;
- another module passes untrusted data to it (``demand``, filled in by the cross-module step);
- a needed function calls it with untrusted data, or with its parameters when its own summary is
  applied to untrusted data (``ModuleTaint.request``: the callee is interpreted right then);
- it is nested in a needed function or encloses one (closures share state);
- it reads ``self.x`` that a needed method wrote, or writes ``self.x`` that a needed method reads;
- it reads a module-level name the module body bound to untrusted data, or calls a function of
  this module whose result carries untrusted data.

Every test is conservative: it only ever adds functions, so a function left out is one whose
analysis could not change a finding or a summary that is used. The functions are grouped by
their outermost function (a method, or a module-level function): groups are needed as a whole.
"""

from __future__ import annotations

import ast
from bisect import bisect_right
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from secreview.taint.analysis import ModuleTaint

def occurrences(text: str, word: str, start: int = 0, end: int | None = None) -> list[int]:
    """Offsets where ``word`` occurs in ``text[start:end]`` as a whole identifier (``str.find``
    and a look at the neighbours: many times faster than a regular expression with ``\\b``)."""
    found = []
    end = len(text) if end is None else end
    size = len(word)
    length = len(text)
    find = text.find
    at = find(word, start, end)
    while at >= 0:
        after = at + size
        # (``_is_word`` inlined: most words are found many times as parts of longer names)
        if after < length and ((char := text[after]) == "_" or char.isalnum()):
            pass
        elif at == 0 or not ((char := text[at - 1]) == "_" or char.isalnum()):
            found.append(at)
        at = find(word, after, end)
    return found


def _separates(char: str) -> bool:
    """Whether ``char`` ends a word of the text, the words being what splitting it at blanks and
    ASCII punctuation (other than "_") gives: a blank (``str.split`` and ``str.isspace`` agree on
    what is one) or ASCII punctuation. Any other character, letters and punctuation of other
    scripts alike, is part of the word."""
    return char.isspace() or (char < "\x80" and not (char.isalnum() or char == "_"))


def _stands_alone(text: str, word: str) -> bool:
    """Whether ``word`` is one of the words of ``text`` (see _separates), found without splitting
    the text: an occurrence with a separator (or the text's end) on each side. (Splitting a text
    that is not ASCII into all its words cost about 1 ms per file; most of the vocabulary's words
    do not occur in it at all, which one search tells.)"""
    if not word or any(_separates(char) for char in word):
        return False  # the split never gives an empty word or one holding a separator
    size = len(word)
    length = len(text)
    at = text.find(word)
    while at >= 0:
        after = at + size
        if (at == 0 or _separates(text[at - 1])) and (after >= length or _separates(text[after])):
            return True
        at = text.find(word, at + 1)
    return False


def _is_word(char: str) -> bool:
    return char == "_" or char.isalnum()


class Demand:
    """The needed functions of one module, grown as the analysis learns more."""

    def __init__(self, mod: ModuleTaint, functions: list[ast.AST], demand: frozenset[str] = frozenset(),
                 text_facts: tuple[list[int], bool] | None = None):
        self.mod = mod
        # What the searches of the text found: where it may name a source (sorted offsets) and
        # whether it names a handler base. They depend on the text (and its imports) alone: the
        # cross-module step, analysing a file again, passes those of the file's earlier analysis
        # (taint.run.analyse checks the text is the same) instead of searching it again.
        self.text_facts = text_facts
        self.index = mod.index
        self.text = mod.ctx.source.text
        self.functions = functions
        self.demand = demand
        # group of each function: its outermost enclosing function (itself at the top level)
        self.group: dict[ast.AST, ast.AST] = {}
        self.members: dict[ast.AST, list[ast.AST]] = {}
        # Found by lines, without walking up the tree from each function: the index lists the
        # functions in preorder (a function's subtree, the functions nested in it, follows it
        # at once), a nested function starts within the lines of the function that encloses it,
        # and a function not nested in another shares no line with another such (see below).
        # So a function belongs to the last group begun when it starts within that group's lines,
        # and begins a group of its own otherwise.
        group, members = self.group, self.members
        top, top_first, top_last, top_members = None, 0, -1, []
        for func in functions:
            line = func.lineno
            if top_first <= line <= top_last:
                group[func] = top
                top_members.append(func)
            else:
                top, top_first, top_last = func, line, func.end_lineno or line
                group[func] = func
                top_members = members[func] = [func]
        # Groups never share a line (a ``def`` starts a line and its body ends its last one), so
        # a line number tells the group: by the first and last lines, in order.
        self.groups = sorted(self.members, key=lambda g: g.lineno)
        self.first = [g.lineno for g in self.groups]
        self.last = [g.end_lineno or g.lineno for g in self.groups]
        self.needed: set[ast.AST] = set()  # needed groups
        self._seen_attrs: set[tuple[ast.AST, str]] = set()
        self._tainted_names: set[str] = set()
        self._returning: set[ast.AST] = set()
        self._ascii = self.text.isascii()
        self._mentioned: dict[str, bool] = {}  # word -> mentioned
        self._substrings: dict[str, bool] = {}  # word -> occurs as a substring
        self._where: dict[str, list[int]] = {}  # word -> its occurrences
        self._stems = _spec_facts(mod.spec).stems  # (see _contains, which asks it for every word)
        # Lines are counted on "\n" as ``ast`` counts them; with other line ends (a bare "\r")
        # every function is needed.
        text = self.text
        self._lines_ok = "\r" not in text or text.count("\r") == text.count("\r\n")

    # ------------------------------------------------------------------ start

    def initial(self) -> set[ast.AST]:
        """The functions needed before any is analysed."""
        if not self._lines_ok:
            return self._add(self.groups)
        mod = self.mod
        facts = _spec_facts(mod.spec)
        found = self.text_facts
        if found is None:  # (see text_facts)
            found = self.text_facts = (sorted(self._source_offsets()),
                                       any(self._mentions(name) for name in facts.handler_names))
        offsets, check_handlers = found
        seeds: list[ast.AST] = self._groups_at(offsets)
        for func in self.functions:
            if mod.param_seeded(func) or check_handlers and mod.handler_markers(func) & facts.handler_bases:
                seeds.append(self.group[func])
        if self.demand:
            prefix = len(mod.module) + 1
            seeds += [self.group[func] for name, func in mod.functions.items()
                      if name[prefix:] in self.demand and func in self.group]
        external = mod.external
        if external is not None and external.source_returning:
            seeds += self._calling_sources(external)
        return self._add(seeds)

    def _source_offsets(self) -> set[int]:
        """Where the text may name a source. A name of a module's attribute (``os.environ``) counts
        bare (``from os import environ``) or after the name of what it hangs off or a local alias;
        a method of an object (``open(p).read``, ``parse_args``) and a source method count
        anywhere; a request attribute counts after a request object's name (``req.GET``)."""
        text = self.text
        facts = _spec_facts(self.mod.spec)
        aliases = set()  # local names imported for a source or what one hangs off, under another name
        for name, bindings in self.index.module_scope.bindings.items():
            for binding in bindings:
                qual = binding.qualname
                if binding.kind == "import" and qual in facts.prefixes and name != qual.rsplit(".", 1)[-1]:
                    aliases.add(name)
        found: set[int] = set()
        mentions, where = self._mentions, self._occurrences
        for name in sorted(aliases):
            found.update(occurrences(text, name))
        for word in facts.anywhere:
            if mentions(word):
                found.update(where(word))
        for word, roots in facts.objects_sorted:
            # the roots first: a word like ``args`` or ``form`` is in most texts (as a substring,
            # which then costs a walk over its occurrences), a root like ``werkzeug`` seldom
            if ("builtins" in roots or any(mentions(root) for root in roots)) and mentions(word):
                found.update(where(word))
        for root, words in facts.attributes_by_root.items():
            if root is not None and not mentions(root):
                continue  # (a file that names no ``flask`` skips all of its words at once)
            for word, owners, bare in words:
                if not mentions(word):
                    continue
                accepted = owners | aliases
                for at in where(word):
                    before = _word_before(text, at)
                    if before in accepted or before is None and bare:
                        found.add(at)
        for base, attrs in facts.receivers.items():
            if not mentions(base):
                continue
            for at in where(base):
                attr = _word_after(text, at + len(base))
                if attr is not None and attr in attrs:
                    found.add(at)
        return found

    def _calling_sources(self, external) -> list[ast.AST]:
        """Groups calling a function of another module whose result is untrusted data."""
        module = self.mod.module
        names = external.source_returning
        found = []
        for group, calls in self._calls_named(names).items():
            if group is None or group in found:
                continue
            for call in calls:
                try:
                    qual = self.index.call_name(call)
                except RecursionError:
                    qual = None
                if qual and "()." in qual:
                    qual = qual.replace("().", ".")
                summary = external.get(qual, module) if qual else None
                if summary is not None and any(not f.is_param for f in summary.returns):
                    found.append(group)
                    break
        return found

    def _mentions(self, word: str) -> bool:
        """Whether the text holds ``word`` (a word of the specification's vocabulary) as a whole
        identifier: as one of the words splitting the text at blanks and ASCII punctuation gives.
        A word absent even as a substring (most of them) costs one search of the text, or none
        when a shorter word of the vocabulary inside it is absent (``req`` for ``request``):
        cheaper than splitting every file into all of its words. In ASCII text a word stands
        between separators exactly where ``occurrences`` finds it (for ASCII, its letters,
        digits and "_" are those the translation keeps); in other text, where letters of other
        scripts and their punctuation alike are part of a word, ``_stands_alone`` looks."""
        found = self._mentioned.get(word)
        if found is None:
            found = self._mentioned[word] = self._contains(word) and (
                bool(self._occurrences(word)) if self._ascii else _stands_alone(self.text, word))
        return found

    def _contains(self, word: str) -> bool:
        """Whether ``word`` occurs in the text at all (as any substring); not if its stem does
        not (see _stems)."""
        found = self._substrings.get(word)
        if found is None:
            stem = self._stems.get(word)
            found = self._substrings[word] = (stem is None or self._contains(stem)) and word in self.text
        return found

    def _occurrences(self, word: str) -> list[int]:
        """``occurrences(text, word)``, found once per word."""
        found = self._where.get(word)
        if found is None:
            found = self._where[word] = occurrences(self.text, word) \
                if not self._ascii or self._contains(word) else []
        return found

    # ------------------------------------------------------------------ growing

    def _add(self, groups) -> set[ast.AST]:
        """Mark ``groups`` needed: the functions newly needed."""
        new: set[ast.AST] = set()
        for group in groups:
            if group not in self.needed:
                self.needed.add(group)
                new.update(self.members[group])
        return new

    def add_group(self, func: ast.AST) -> set[ast.AST]:
        """Mark the group of ``func`` needed (a needed function calls it with untrusted data):
        the functions newly needed."""
        return self._add([self.group[func]])

    def after_unit(self, unit: ast.AST) -> set[ast.AST]:
        """Functions newly needed once ``unit`` has been analysed."""
        if len(self.needed) == len(self.groups):
            return set()
        mod = self.mod
        more: list[ast.AST] = []
        if unit is self.index.tree:  # module-level names bound to untrusted data: their readers
            state = mod.final_env.get(unit)
            if state is not None:
                names = {name for name, taint in state.env.items() if taint}
                names |= {key[0] for key, taint in state.slots.items() if taint}
                names -= self._tainted_names
                if names:
                    self._tainted_names |= names
                    more += self._groups_with(frozenset(names))
        else:  # a function whose result is untrusted data: its callers
            summary = mod.summaries.get(unit)
            if summary is not None and unit not in self._returning \
                    and any(not f.is_param for f in summary.returns):
                self._returning.add(unit)
                more += self._groups_with(frozenset({unit.name}))
        # ``self.x`` given untrusted data: the methods of the class that mention ``x``
        written = [key for key, taint in mod.attr_writes.get(unit, {}).items()
                   if key not in self._seen_attrs and any(not f.is_param for f in taint)]
        for cls, attr in written:
            self._seen_attrs.add((cls, attr))
            more += self._groups_with(frozenset({attr}), cls.lineno, cls.end_lineno or cls.lineno)
        return self._add(more) if more else set()

    # ------------------------------------------------------------------ where things are

    def _group_at(self, line: int) -> ast.AST | None:
        i = bisect_right(self.first, line) - 1
        return self.groups[i] if i >= 0 and line <= self.last[i] else None

    def _groups_with(self, words, first: int = 1, last: int | None = None) -> list[ast.AST]:
        """Groups not yet needed whose lines (within ``first``..``last``) hold one of ``words``
        as a whole identifier."""
        if not words or not self.groups:
            return []
        return self._groups_at(sorted({at for word in words for at in occurrences(self.text, word)}), first, last)

    def _groups_at(self, offsets: list[int], first: int = 1, last: int | None = None) -> list[ast.AST]:
        """Groups not yet needed holding one of the (sorted) character ``offsets`` on a line
        within ``first``..``last``."""
        text = self.text
        found: list[ast.AST] = []
        seen: set[ast.AST] = set()
        line, previous = 1, 0
        for at in offsets:
            line += text.count("\n", previous, at)
            previous = at
            if line < first:
                continue
            if last is not None and line > last:
                break
            group = self._group_at(line)
            if group is not None and group not in self.needed and group not in seen:
                seen.add(group)
                found.append(group)
        return found

    def _calls_named(self, names) -> dict[ast.AST | None, list[ast.Call]]:
        """The calls whose called name (``run`` in ``run(x)`` and ``h.run(x)``) is one of
        ``names``, in order, by group (None outside functions)."""
        found: dict[ast.AST | None, list[ast.Call]] = {}
        Attribute, Name = ast.Attribute, ast.Name
        for call in self.index.of_type(ast.Call):
            func = call.func
            kind = type(func)
            if (func.attr if kind is Attribute else func.id if kind is Name else None) in names:
                found.setdefault(self._group_at(call.lineno), []).append(call)
        return found


_BLANK = " \t\r\n\f\\"  # what may stand between a name, its dot and the attribute


def _word_before(text: str, at: int) -> str | None:
    """The identifier before a ``.`` that precedes offset ``at`` (blanks allowed), or None when
    no ``.`` precedes it; "" when something other than an identifier does."""
    i = at - 1
    while i >= 0 and text[i] in _BLANK:
        i -= 1
    if i < 0 or text[i] != ".":
        return None
    i -= 1
    while i >= 0 and text[i] in _BLANK:
        i -= 1
    end = i + 1
    while i >= 0 and _is_word(text[i]):
        i -= 1
    return text[i + 1:end]


def _word_after(text: str, at: int) -> str | None:
    """The identifier after a ``.`` that follows offset ``at`` (blanks allowed), or None."""
    i, size = at, len(text)
    while i < size and text[i] in _BLANK:
        i += 1
    if i >= size or text[i] != ".":
        return None
    i += 1
    while i < size and text[i] in _BLANK:
        i += 1
    start = i
    while i < size and _is_word(text[i]):
        i += 1
    return text[start:i] or None


class _SpecFacts:
    """What the seed search needs of a source specification, worked out once per specification."""

    def __init__(self, spec):
        self.prefixes: set[str] = set()  # every source name and every dotted prefix of one
        # (root, last name) of a source that is an attribute of a module or of an object a
        # module has (``os.environ``: root None, the module itself names it; ``flask.request.args``:
        # root ``flask``, which the file must mention) -> (the names it may follow, whether it
        # may stand alone: only a module's own attribute can be imported by its name)
        self.attributes: dict[tuple[str | None, str], tuple[set[str], bool]] = {}
        # attribute of an object made by a call (``open(p).read``) -> the roots of those sources
        self.objects: dict[str, set[str]] = {}
        for name in spec.source_names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                self.prefixes.add(".".join(parts[:i]))
            if len(parts) < 2:
                self.objects.setdefault(name, set()).add("builtins")
            elif parts[-2].endswith("()"):
                self.objects.setdefault(parts[-1], set()).add(parts[0])
            else:
                key = (None if len(parts) == 2 else parts[0], parts[-1])
                owners, bare = self.attributes.get(key, (set(), False))
                if parts[0] != "builtins":
                    owners.add(parts[-2])
                self.attributes[key] = (owners, bare or len(parts) == 2)
        # the same with each word's roots in order (a tuple): as _source_offsets asks about them
        self.objects_sorted = [(word, tuple(sorted(roots))) for word, roots in self.objects.items()]
        # the same by root: (last name, owners, bare) of each
        self.attributes_by_root: dict[str | None, list[tuple[str, set[str], bool]]] = {}
        for (root, word), (owners, bare) in self.attributes.items():
            self.attributes_by_root.setdefault(root, []).append((word, owners, bare))
        self.anywhere = sorted(spec.source_methods)
        self.receivers = {base: frozenset(attrs) for base, attrs in spec.receiver_attrs.items()}
        self.handler_bases = frozenset(b for src in spec.handler_sources for b in src.handler_bases)
        # a class or decorator resolves to a handler base only if the file spells its last name
        # (in the import, the attribute or the bare name)
        self.handler_names = sorted({b.rsplit(".", 1)[-1] for b in self.handler_bases})
        # every word Demand asks the text about (Demand._mentions, the words looked for)
        self.vocabulary = frozenset({*self.anywhere, *self.objects, *self.receivers, *self.handler_names,
                                     *(root for roots in self.objects.values() for root in roots),
                                     *(word for key in self.attributes for word in key if word is not None)})
        self.stems = _stems(self.vocabulary)


def _stems(vocabulary) -> dict[str, str]:
    """For each word (and each stem), a shorter string inside it to look for first: where that
    one does not occur in a text, neither does the word (``request`` in ``http_request``, then
    ``req`` in ``request``). The longest such string of the vocabulary's words and of the
    prefixes of four letters or more that two words share (``fetch`` for ``fetchall`` and
    ``fetchone``): most words then cost no search of a text that lacks their stem."""
    words = sorted(vocabulary)
    pieces = set(words)
    for word, other in zip(words, words[1:]):  # (neighbours in order share the longest prefixes)
        size = 0
        while size < min(len(word), len(other)) and word[size] == other[size]:
            size += 1
        if size >= 4:
            pieces.add(word[:size])
    stems = {}
    for word in pieces:
        inner = [piece for piece in pieces if piece != word and piece in word]
        if inner:
            stems[word] = max(inner, key=lambda piece: (len(piece), piece))
    return stems


_FACTS: dict[int, tuple[object, _SpecFacts]] = {}


def _spec_facts(spec) -> _SpecFacts:
    found = _FACTS.get(id(spec))
    if found is None or found[0] is not spec:
        found = _FACTS[id(spec)] = (spec, _SpecFacts(spec))
    return found[1]
