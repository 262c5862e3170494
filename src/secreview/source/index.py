"""Scopes, bindings and qualified names for one module, built in a single traversal.

The index is the semantic model every rule asks instead of reading text: what does this name
refer to here (``from subprocess import call as c`` makes ``c`` mean ``subprocess.call``), which
statement bound it, what is a node's parent, its scope, its enclosing function. Nodes are never
modified; everything lives in side tables keyed by node identity.

Resolution follows Python's rules: function scopes see enclosing function scopes and the module
but not class bodies; a name bound anywhere in a function is local to all of it. Within one
scope the binding that precedes the use in the text wins (so a name re-bound inside a function
or class shadows the import); a use in a nested function that precedes every binding of an
enclosing scope sees that scope's last binding, as a function called after the module has loaded
would.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from typing import NamedTuple

BUILTINS = frozenset(dir(builtins))

_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_MAX_DEPTH = 24

Pos = tuple[int, int]


class Scope:
    __slots__ = ("kind", "node", "parent", "name", "bindings", "globals", "nonlocals", "stars")

    def __init__(self, kind: str, node: ast.AST, parent: Scope | None, name: str):
        self.kind = kind  # module | class | function | lambda | comprehension
        self.node = node
        self.parent = parent
        self.name = name  # dotted qualified name of the scope
        self.bindings: dict[str, list[Binding]] = {}
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.stars: list[str] = []  # modules imported with ``from M import *``

    @property
    def is_function(self) -> bool:
        return self.kind in ("function", "lambda")

    def __repr__(self) -> str:
        return f"<Scope {self.kind} {self.name}>"


class Binding:
    """One place where a name gets a value."""

    __slots__ = ("name", "kind", "node", "pos", "qualname", "value", "scope")

    def __init__(self, name: str, kind: str, node: ast.AST, pos: Pos, scope: Scope,
                 qualname: str | None = None, value: ast.expr | None = None):
        self.name = name
        # import | assign | augassign | loop | with | except | walrus | param | def | class | other
        self.kind = kind
        self.node = node  # the statement (or arg / handler) that binds
        self.pos = pos  # the name is bound from this position on
        self.scope = scope
        self.qualname = qualname  # set for imports, defs and classes
        self.value = value  # the assigned expression, when there is a single one

    def __repr__(self) -> str:
        return f"<Binding {self.kind} {self.name} at {self.pos}>"


class Candidate(NamedTuple):
    """One module a local name may be bound to where it is used (see :meth:`Index.candidates`)."""

    qualname: str  # what the expression means with this binding: ``yaml.load``
    name: str  # the local name: ``loader``
    target: str  # what the name is bound to: ``yaml``
    line: int  # line of the binding: ``loader = yaml``

    def describe(self) -> str:
        """For messages, such as: `loader` may be the `yaml` module here (line 7)."""
        return f"`{self.name}` may be the `{self.target}` module here (line {self.line})"


class _Alternatives(NamedTuple):
    modules: tuple[tuple[str, Binding], ...]  # distinct module references, in source order
    assigned: bool  # at least one of them is an assignment (``loader = yaml``), not an import


class Index:
    """The semantic model of one module."""

    def __init__(self, tree: ast.Module, module: str = "__main__", collect: frozenset[type] | None = None):
        self.tree = tree
        self.module = module
        self.parents: dict[ast.AST, ast.AST] = {}
        self.scopes: dict[ast.AST, Scope] = {}  # every node -> the scope it is evaluated in
        self.inner_scopes: dict[ast.AST, Scope] = {}  # def / class / lambda / comprehension -> its scope
        self.nodes: dict[type, list[ast.AST]] = {}  # collected nodes of interest, in source order
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        # (class node, attribute) -> values assigned to ``self.attribute`` in that class's methods
        # (None for a value that is not a single expression, e.g. tuple unpacking or ``+=``)
        self.attribute_values: dict[tuple[ast.ClassDef, str], list[ast.expr | None]] = {}
        self.module_scope = Scope("module", tree, None, module)
        self._collect = collect
        self._qualname_cache: dict[ast.AST, str | None] = {}
        self._unbound_cache: dict[str, bool] = {}
        self._alternatives_cache: dict[ast.Name, _Alternatives | None] = {}
        self._scope_list: list[Scope] | None = None
        self._build()

    def release(self) -> None:
        """Break the index's reference cycles (a scope holds its bindings, each binding its
        scope) once it is no longer needed, so that reference counting frees the syntax tree and
        the index at once instead of leaving millions of objects to the cyclic collector."""
        for scope in (self.module_scope, *self.inner_scopes.values()):
            scope.bindings.clear()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        parents = self.parents
        scopes = self.scopes
        collect = self._collect
        nodes = self.nodes
        stack: list[tuple[ast.AST, Scope]] = [(self.tree, self.module_scope)]
        self.inner_scopes[self.tree] = self.module_scope
        fields_of = _FIELDS
        AST = ast.AST
        Name = ast.Name
        Store = ast.Store
        while stack:
            node, scope = stack.pop()
            scopes[node] = scope
            cls = type(node)
            if collect is None or cls in collect:
                bucket = nodes.get(cls)
                if bucket is None:
                    nodes[cls] = [node]
                else:
                    bucket.append(node)
            if cls is Name:
                if type(node.ctx) is Store:
                    self._bind_target(node, scope)
                continue
            if cls is ast.Attribute and type(node.ctx) is Store:
                self._bind_attribute(node, scope)
            special = _SPECIAL.get(cls)
            if special is not None:
                children = special(self, node, scope)
            else:
                children = []
                names = fields_of.get(cls)
                if names is None:
                    names = fields_of[cls] = tuple(f for f in cls._fields if f != "ctx")
                for name in names:
                    value = getattr(node, name, None)
                    if value is None or type(value) in _LEAF_TYPES:
                        continue
                    if type(value) is list:
                        for item in value:
                            if isinstance(item, AST):
                                children.append((item, scope))
                    elif isinstance(value, AST):
                        children.append((value, scope))
            for child, _ in children:
                if child not in parents:
                    parents[child] = node
            children.reverse()
            stack.extend(children)

    def _add(self, scope: Scope, binding: Binding) -> None:
        name = binding.name
        if name in scope.globals:
            scope = self.module_scope
        elif name in scope.nonlocals:
            outer = scope.parent
            while outer is not None and not outer.is_function:
                outer = outer.parent
            scope = outer or self.module_scope
        binding.scope = scope
        scope.bindings.setdefault(name, []).append(binding)

    def _bind_target(self, name: ast.Name, scope: Scope) -> None:
        parent = self.parents.get(name)
        ptype = type(parent)
        value = None
        if ptype is ast.Assign:
            kind, pos, value = "assign", _end(parent), parent.value
        elif ptype is ast.AnnAssign:
            kind, pos, value = "assign", _end(parent), parent.value
        elif ptype is ast.AugAssign:
            kind, pos = "augassign", _end(parent)
        elif ptype in (ast.For, ast.AsyncFor, ast.comprehension):
            kind, pos = "loop", _end(name)
        elif ptype is ast.withitem:
            kind, pos, value = "with", _end(name), parent.context_expr
        elif ptype is ast.NamedExpr:
            kind, pos, value = "walrus", _end(parent), parent.value
            while scope.kind == "comprehension" and scope.parent is not None:
                scope = scope.parent
        else:
            kind, pos = "other", _end(name)
        self._add(scope, Binding(name.id, kind, parent or name, pos, scope, None, value))

    def _bind_attribute(self, node: ast.Attribute, scope: Scope) -> None:
        owner = node.value
        if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
            return
        if scope.kind != "function" or scope.parent is None or scope.parent.kind != "class":
            return
        parent = self.parents.get(node)
        value = parent.value if type(parent) in (ast.Assign, ast.AnnAssign) else None
        key = (scope.parent.node, node.attr)
        self.attribute_values.setdefault(key, []).append(value)

    # handlers for nodes that bind names or open scopes; each returns (child, scope) pairs

    def _import(self, node: ast.Import, scope: Scope):
        pos = _end(node)
        for alias in node.names:
            if alias.asname:
                bound, qual = alias.asname, alias.name
            else:
                bound = alias.name.partition(".")[0]
                qual = bound
            self._add(scope, Binding(bound, "import", node, pos, scope, qual))
        return []

    def _import_from(self, node: ast.ImportFrom, scope: Scope):
        pos = _end(node)
        base = ("." * (node.level or 0)) + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                (scope if scope.kind == "module" else self.module_scope).stars.append(base)
                continue
            qual = f"{base}.{alias.name}" if base and not base.endswith(".") else base + alias.name
            self._add(scope, Binding(alias.asname or alias.name, "import", node, pos, scope, qual))
        return []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope):
        self.functions.append(node)
        qual = f"{scope.name}.{node.name}"
        self._add(scope, Binding(node.name, "def", node, (node.lineno, node.col_offset), scope, qual))
        inner = Scope("function", node, scope, qual)
        self.inner_scopes[node] = inner
        children = [(d, scope) for d in node.decorator_list]
        children += self._arguments(node.args, scope, inner, node)
        if node.returns is not None:
            children.append((node.returns, scope))
        children += [(stmt, inner) for stmt in node.body]
        return children

    def _lambda(self, node: ast.Lambda, scope: Scope):
        inner = Scope("lambda", node, scope, f"{scope.name}.<lambda>")
        self.inner_scopes[node] = inner
        children = self._arguments(node.args, scope, inner, node)
        children.append((node.body, inner))
        return children

    def _arguments(self, args: ast.arguments, outer: Scope, inner: Scope, owner: ast.AST):
        children: list[tuple[ast.AST, Scope]] = []
        pos = (owner.lineno, owner.col_offset)
        all_args = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            all_args.append(args.vararg)
        if args.kwarg:
            all_args.append(args.kwarg)
        for arg in all_args:
            self._add(inner, Binding(arg.arg, "param", arg, pos, inner))
            self.parents[arg] = owner
            if arg.annotation is not None:
                self.parents[arg.annotation] = arg
                children.append((arg.annotation, outer))
        children += [(d, outer) for d in args.defaults]
        children += [(d, outer) for d in args.kw_defaults if d is not None]
        return children

    def _class(self, node: ast.ClassDef, scope: Scope):
        qual = f"{scope.name}.{node.name}"
        self._add(scope, Binding(node.name, "class", node, (node.lineno, node.col_offset), scope, qual))
        inner = Scope("class", node, scope, qual)
        self.inner_scopes[node] = inner
        children = [(d, scope) for d in node.decorator_list]
        children += [(b, scope) for b in node.bases]
        children += [(k, scope) for k in node.keywords]
        children += [(stmt, inner) for stmt in node.body]
        return children

    def _comprehension(self, node, scope: Scope):
        inner = Scope("comprehension", node, scope, f"{scope.name}.<comprehension>")
        self.inner_scopes[node] = inner
        children: list[tuple[ast.AST, Scope]] = []
        for i, gen in enumerate(node.generators):
            self.parents[gen] = node
            self.parents[gen.target] = gen
            self.parents[gen.iter] = gen
            for cond in gen.ifs:
                self.parents[cond] = gen
            children.append((gen.target, inner))
            children.append((gen.iter, scope if i == 0 else inner))
            children += [(cond, inner) for cond in gen.ifs]
        if isinstance(node, ast.DictComp):
            children += [(node.key, inner), (node.value, inner)]
        else:
            children.append((node.elt, inner))
        return children

    def _global(self, node: ast.Global, scope: Scope):
        scope.globals.update(node.names)
        return []

    def _nonlocal(self, node: ast.Nonlocal, scope: Scope):
        scope.nonlocals.update(node.names)
        return []

    def _except(self, node: ast.ExceptHandler, scope: Scope):
        if node.name:
            self._add(scope, Binding(node.name, "except", node, (node.lineno, node.col_offset), scope))
        children = []
        if node.type is not None:
            children.append((node.type, scope))
        children += [(stmt, scope) for stmt in node.body]
        return children

    # ------------------------------------------------------------------ queries

    def of_type(self, *types: type) -> list[ast.AST]:
        """Collected nodes of the given types, in source order for a single type."""
        if len(types) == 1:
            return self.nodes.get(types[0], [])
        found = [n for t in types for n in self.nodes.get(t, [])]
        found.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
        return found

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        parent = self.parents.get(node)
        while parent is not None:
            yield parent
            parent = self.parents.get(parent)

    def scope_of(self, node: ast.AST) -> Scope:
        """The scope in which ``node`` is evaluated."""
        return self.scopes.get(node, self.module_scope)

    def inner_scope(self, node: ast.AST) -> Scope | None:
        """The scope a def, class, lambda or comprehension opens."""
        return self.inner_scopes.get(node)

    def statement_of(self, node: ast.AST) -> ast.stmt | None:
        """The innermost statement containing ``node`` (``node`` itself if it is one)."""
        current: ast.AST | None = node
        while current is not None and not isinstance(current, ast.stmt):
            current = self.parents.get(current)
        return current

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        for anc in self.ancestors(node):
            if isinstance(anc, _FUNCTION_NODES):
                return anc
        return None

    def class_of(self, node: ast.AST) -> ast.ClassDef | None:
        for anc in self.ancestors(node):
            if isinstance(anc, ast.ClassDef):
                return anc
        return None

    def lookup(self, name: str, scope: Scope, pos: Pos) -> Binding | None:
        """The binding ``name`` refers to at ``pos`` in ``scope``, or None (builtin or unknown)."""
        current: Scope | None = scope
        innermost = True
        while current is not None:
            if not innermost and current.kind == "class":
                current = current.parent
                continue
            if name in current.globals and current is not self.module_scope:
                current, innermost = self.module_scope, False
                continue
            found = current.bindings.get(name)
            if found and current.kind == "comprehension":
                return found[-1]  # targets are bound before the element is evaluated
            if found:
                best = None
                for binding in found:
                    if binding.pos <= pos:
                        best = binding
                    else:
                        break
                if best is not None:
                    return best
                if innermost and current.is_function:
                    return None  # a local used before assignment
                if not innermost:
                    return found[-1]
            innermost = False
            current = current.parent
        return None

    def binding(self, name: ast.Name) -> Binding | None:
        scope = self.scopes.get(name, self.module_scope)
        return self.lookup(name.id, scope, (name.lineno, name.col_offset))

    def qualname(self, expr: ast.AST | None) -> str | None:
        """Dotted name an expression refers to: ``ET.parse`` -> ``xml.etree.ElementTree.parse``.

        Builtins resolve to ``builtins.NAME``; a name bound nowhere in the module resolves to
        itself, read as a module (a segment without its imports); a name bound to a call of something known resolves
        to that thing followed by ``()`` (``app = Flask(...)``: ``app.run`` ->
        ``flask.Flask().run``). Locally computed values resolve to None.
        """
        if expr is None:
            return None
        cache = self._qualname_cache
        if expr in cache:
            return cache[expr]
        cache[expr] = None  # guards against cycles such as ``x = x``
        result = self._qualname(expr, 0, expr)
        cache[expr] = result
        return result

    def _qualname(self, expr: ast.AST, depth: int, used: bool | ast.AST = False) -> str | None:
        """``used``: whether the value is dereferenced (an attribute is read from it, or it is
        called), so that it cannot be None; or the expression whose place in the tree tells,
        looked at only when it matters."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Attribute):
            base = self._qualname(expr.value, depth + 1, True)
            return f"{base}.{expr.attr}" if base else None
        if isinstance(expr, ast.Name):
            binding = self.binding(expr)
            if binding is None:
                if expr.id in BUILTINS:
                    return f"builtins.{expr.id}"
                if self.module_scope.stars:
                    return f"{self.module_scope.stars[-1]}.{expr.id}"
                if self._bound_nowhere(expr.id):
                    # A name used but never bound: read it as the module of that name, so that a
                    # code segment pasted without its imports still resolves (``subprocess.call``);
                    # a conventional alias (``ET``, ``RSA``) as the module it conventionally names.
                    return CONVENTIONAL_ALIASES.get(expr.id, expr.id)
                return None
            result = self._binding_qualname(binding, depth + 1, used)
            if result is None and binding.kind == "assign" and _is_none(binding.value) \
                    and (used if type(used) is bool else self._dereferenced(used)):
                # ``x = None`` cannot be what ``x.attr`` or ``x(...)`` uses: read the name as the
                # module its other bindings agree on (``try: import yaml`` / ``except: yaml = None``)
                result = self._fallback(expr)
            return result
        if isinstance(expr, ast.Call):
            func = self._qualname(expr.func, depth + 1, True)
            return f"{func}()" if func else None
        return None

    def _bound_nowhere(self, name: str) -> bool:
        cache = self._unbound_cache
        if name not in cache:
            cache[name] = not any(name in scope.bindings for scope in self._all_scopes())
        return cache[name]

    def _all_scopes(self) -> list[Scope]:
        if self._scope_list is None:
            self._scope_list = [self.module_scope, *self.inner_scopes.values()]
        return self._scope_list

    def _dereferenced(self, expr: ast.AST) -> bool:
        parent = self.parents.get(expr)
        return (type(parent) is ast.Attribute and parent.value is expr) \
            or (type(parent) is ast.Call and parent.func is expr)

    def _binding_qualname(self, binding: Binding, depth: int, used: bool | ast.AST = False) -> str | None:
        if binding.qualname is not None:
            return binding.qualname
        if binding.kind in ("assign", "walrus", "with") and binding.value is not None:
            value = binding.value
            if binding.kind == "with" and isinstance(value, ast.Call):
                return None  # the value of ``with f() as x`` is whatever __enter__ returns
            if isinstance(value, (ast.Name, ast.Attribute, ast.Call)):
                return self._qualname(value, depth + 1, used)
        return None

    def call_name(self, call: ast.Call) -> str | None:
        return self.qualname(call.func)

    # ------------------------------------------------------------------ several possible modules

    def candidates(self, expr: ast.AST | None) -> tuple[Candidate, ...]:
        """Every module the name at the root of the attribute chain ``expr`` may be bound to where
        ``expr`` is used, when there are several: after ``loader = None``, ``loader = yaml`` in one
        branch and ``loader = json`` in another, ``loader.load`` -> ``yaml.load``, ``json.load``.
        A bare name (``decode(x)`` after ``decode = pickle.loads`` or ``json.loads``) has none.

        Empty when one binding decides (ask :meth:`qualname`), and when any binding that may
        reach the use is something other than None or a module reference (an imported name, a
        name bound nowhere, or an attribute of one). Only assignments make candidates: names
        bound by alternative imports alone (``try: import cPickle as pickle`` / ``except
        ImportError: import pickle``) keep resolving to the last import.
        """
        suffix: list[str] = []
        root = expr
        while type(root) is ast.Attribute:
            suffix.append(root.attr)
            root = root.value
        if type(root) is not ast.Name or root is expr:
            return ()
        alternatives = self._alternatives(root)
        if alternatives is None or not alternatives.assigned or len(alternatives.modules) < 2:
            return ()
        tail = "".join(f".{attr}" for attr in reversed(suffix))
        return tuple(Candidate(f"{target}{tail}", root.id, target, binding.node.lineno)
                     for target, binding in alternatives.modules)

    def _alternatives(self, name: ast.Name, depth: int = 0) -> _Alternatives | None:
        """The module references among the bindings of ``name`` that may reach this use; None
        when one binding decides or when one of them is not None or a module reference.

        A binding reaches the use when it precedes it in its scope and no later preceding
        binding dominates the use (an assignment in the same block as a statement that holds
        the use, before it); control flow is otherwise not followed."""
        cache = self._alternatives_cache
        if name in cache:
            return cache[name]
        cache[name] = None  # guards against cycles such as ``a = b`` / ``b = a``
        result = None
        binding = self.binding(name)
        if binding is not None and binding.kind in ("assign", "import") and depth <= 8:
            found = binding.scope.bindings.get(name.id, ())
            if len(found) > 1:
                result = self._reaching_modules(name, found, depth)
        cache[name] = result
        return result

    def _reaching_modules(self, name: ast.Name, found: list[Binding], depth: int) -> _Alternatives | None:
        pos = (name.lineno, name.col_offset)
        preceding = [b for b in found if b.pos <= pos] or found
        modules: list[tuple[str, Binding]] = []
        assigned = False
        for binding in reversed(preceding):
            if binding.kind == "import":
                target = binding.qualname
            elif binding.kind == "assign" and binding.value is not None:
                if _is_none(binding.value):
                    target = None
                else:
                    target = self._module_of(binding.value, depth + 1)
                    if target is None:
                        return None
                    assigned = True
            else:
                return None
            if target is not None and all(target != known for known, _ in modules):
                modules.append((target, binding))
            if self._dominates(binding.node, name):
                break
        if not modules:
            return None
        modules.reverse()
        return _Alternatives(tuple(modules), assigned)

    def _fallback(self, name: ast.Name, depth: int = 0) -> str | None:
        """The one module a name bound to None in some places means where it is used as a
        module; with only imports besides None, the last import (as for imports anywhere)."""
        alternatives = self._alternatives(name, depth)
        if alternatives is None:
            return None
        if not alternatives.assigned or len(alternatives.modules) == 1:
            return alternatives.modules[-1][0]
        return None

    def module_reference(self, expr: ast.AST | None) -> str | None:
        """The qualified name ``expr`` stands for when it reaches a module only through imports:
        an imported name, a name bound nowhere (read as a module), a name assigned one, or an
        attribute of these (``sslutil.wrap_socket`` -> ``mypkg.sslutil.wrap_socket``). None for
        anything built at run time: a parameter, ``self.x``, a call's result."""
        return None if expr is None else self._module_of(expr, 0)

    def _module_of(self, expr: ast.AST, depth: int) -> str | None:
        """The qualified name of a module reference: an imported name, a name bound nowhere (read
        as a module), a name assigned one, or an attribute of one of these; None otherwise."""
        if depth > _MAX_DEPTH:
            return None
        if type(expr) is ast.Attribute:
            base = self._module_of(expr.value, depth + 1)
            return f"{base}.{expr.attr}" if base else None
        if type(expr) is not ast.Name:
            return None
        binding = self.binding(expr)
        if binding is None:
            found = self.qualname(expr)
            return None if found is None or found.startswith("builtins.") else found
        if binding.kind == "import":
            return binding.qualname
        if binding.kind == "assign" and binding.value is not None:
            if _is_none(binding.value):
                return self._fallback(expr, depth + 1)
            return self._module_of(binding.value, depth + 1)
        return None

    def _dominates(self, stmt: ast.AST, use: ast.AST) -> bool:
        """True when ``stmt`` sits in a block (a body, an ``else``, a ``finally``) that also holds,
        after it, the statement containing ``use``: every path to ``use`` runs ``stmt`` first
        (leaving aside exceptions and early exits)."""
        owner = self.parents.get(stmt)
        if owner is None:
            return False
        parents = self.parents
        node = use
        while True:
            up = parents.get(node)
            if up is None:
                return False
            if up is owner:
                break
            node = up
        for field in ("body", "orelse", "finalbody"):
            block = getattr(owner, field, None)
            if type(block) is list and any(s is stmt for s in block):
                return any(s is node for s in block[block.index(stmt) + 1:])
        return False


def _is_none(value: ast.AST | None) -> bool:
    return type(value) is ast.Constant and value.value is None


def _end(node: ast.AST) -> Pos:
    return (node.end_lineno or node.lineno, node.end_col_offset or 0)


# Names that code conventionally imports under an alias, read this way only when a file uses the
# name without binding it anywhere (a pasted segment).
CONVENTIONAL_ALIASES = {
    "ET": "xml.etree.ElementTree", "etree": "lxml.etree", "minidom": "xml.dom.minidom",
    "np": "numpy", "pd": "pandas", "RSA": "Crypto.PublicKey.RSA", "DSA": "Crypto.PublicKey.DSA",
    "AES": "Crypto.Cipher.AES", "DES": "Crypto.Cipher.DES", "DES3": "Crypto.Cipher.DES3",
    "ARC4": "Crypto.Cipher.ARC4", "Blowfish": "Crypto.Cipher.Blowfish", "MD5": "Crypto.Hash.MD5",
    "SHA": "Crypto.Hash.SHA", "web": "tornado.web", "sa": "sqlalchemy",
}

_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAF_TYPES = frozenset({str, int, float, complex, bytes, bool, type(None), type(...)})

_SPECIAL = {
    ast.Import: Index._import,
    ast.ImportFrom: Index._import_from,
    ast.FunctionDef: Index._function,
    ast.AsyncFunctionDef: Index._function,
    ast.Lambda: Index._lambda,
    ast.ClassDef: Index._class,
    ast.ListComp: Index._comprehension,
    ast.SetComp: Index._comprehension,
    ast.GeneratorExp: Index._comprehension,
    ast.DictComp: Index._comprehension,
    ast.Global: Index._global,
    ast.Nonlocal: Index._nonlocal,
    ast.ExceptHandler: Index._except,
}
