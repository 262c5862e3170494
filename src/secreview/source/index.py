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
import operator
from collections.abc import Iterator
from typing import NamedTuple

BUILTINS = frozenset(dir(builtins))

_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
# the scope owners whose body statements have no scope recorded (see Index.scopes)
_BODY_OWNERS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_MAX_DEPTH = 24
# the parameters and comprehension clauses get a parent but are not visited (their parts are)
_NOT_VISITED = frozenset({ast.arg, ast.comprehension})
_UNSET = object()

Pos = tuple[int, int]


class Scope:
    """A module, class, function, lambda or comprehension scope (made by the index: _open)."""

    __slots__ = ("kind", "node", "parent", "name", "bindings", "globals", "nonlocals", "stars")
    kind: str  # module | class | function | lambda | comprehension
    node: ast.AST
    parent: Scope | None
    name: str  # dotted qualified name of the scope
    bindings: dict[str, list[Binding]]
    # the names of the ``global`` and ``nonlocal`` statements of its body: a set once one is met
    # (few scopes have one; the others share _NO_NAMES)
    globals: set[str] | frozenset[str]
    nonlocals: set[str] | frozenset[str]
    # modules imported with ``from M import *`` (into the module scope only: the other scopes
    # share an empty tuple)
    stars: list[str] | tuple[()]

    @property
    def is_function(self) -> bool:
        return self.kind in ("function", "lambda")

    def __repr__(self) -> str:
        return f"<Scope {self.kind} {self.name}>"


_NO_NAMES: frozenset[str] = frozenset()


def _open(kind: str, node: ast.AST, parent: Scope | None, name: str) -> Scope:
    """A new scope, with the shared empty ``globals``, ``nonlocals`` (_global and _nonlocal give
    a scope its own set) and ``stars`` (Index.__init__ gives the module scope its list): the
    index opens tens of thousands of scopes per project, nearly all without any."""
    scope = Scope()  # see Binding
    scope.kind = kind
    scope.node = node
    scope.parent = parent
    scope.name = name
    scope.bindings = {}
    scope.globals = _NO_NAMES
    scope.nonlocals = _NO_NAMES
    scope.stars = ()
    return scope


class Binding:
    """One place where a name gets a value.

    The index makes one per bound name (in _add, _bind_target and _arguments) and fills its slots
    itself: a class without ``__init__`` is the cheapest to instantiate (``Binding()`` costs a
    quarter less than ``object.__new__(Binding)``, half as much as a Python ``__init__``)."""

    __slots__ = ("name", "kind", "node", "pos", "qualname", "value", "scope")
    name: str
    # import | assign | augassign | loop | with | except | walrus | param | def | class | other
    kind: str
    node: ast.AST  # the statement (or arg / handler) that binds
    pos: Pos  # the name is bound from this position on
    scope: Scope
    qualname: str | None  # set for imports, defs and classes
    value: ast.expr | None  # the assigned expression, when there is a single one

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
        # node -> the scope it is evaluated in, recorded for the tree, names, the children of
        # scope owners (defs, classes, lambdas, comprehensions, except handlers) but the
        # statements of a def's or class's body; every other node is evaluated in its parent's
        # scope, a body statement in the scope its def or class opens (ask ``scope_of``). An
        # operator, shared by all the expressions that use it (one ``Add`` for all the additions),
        # gets the scope of the first one, its parent.
        self.scopes: dict[ast.AST, Scope] = {}
        self.inner_scopes: dict[ast.AST, Scope] = {}  # def / class / lambda / comprehension -> its scope
        self.nodes: dict[type, list[ast.AST]] = {}  # collected nodes of interest, in source order
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        # (class node, attribute) -> values assigned to ``self.attribute`` in that class's methods
        # (None for a value that is not a single expression, e.g. tuple unpacking or ``+=``)
        self.attribute_values: dict[tuple[ast.ClassDef, str], list[ast.expr | None]] = {}
        self.module_scope = _open("module", tree, None, module)
        self.module_scope.stars = []
        self._collect = collect
        self._qualname_cache: dict[ast.AST, str | None] = {}
        self._binding_cache: dict[ast.Name, Binding | None] = {}
        self._bound: set[str] | None = None  # every name some scope binds (bound_anywhere)
        self._alternatives_cache: dict[ast.Name, _Alternatives | None] = {}
        self._scope_list: list[Scope] | None = None
        # ``parent(node)`` is asked hundreds of thousands of times: the dict's own ``get``
        # answers it without a Python call in between (the method below says the same)
        self.parent = self.parents.get
        self._build()

    def release(self) -> None:
        """Break the index's reference cycles (a scope holds its bindings, each binding its
        scope) once it is no longer needed, so that reference counting frees the syntax tree and
        the index at once instead of leaving millions of objects to the cyclic collector."""
        for scope in (self.module_scope, *self.inner_scopes.values()):
            scope.bindings.clear()
        self._binding_cache.clear()  # what a lookup would now find: nothing

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        # A preorder walk with an explicit stack (no recursion, so deep nesting cannot crash it).
        # This loop is the dearest part of a review after parsing: the frequent node types take
        # the first branches, a node's first child is visited next without going through the
        # stack, and the rest of the work is done only where it is needed (``scopes`` is
        # recorded for few nodes, see __init__). The stack holds bare nodes: the scope changes
        # only at the children of scope owners, so a Scope pushed among them says "from here on,
        # this scope", which costs less than a (node, scope) pair per node.
        parents = self.parents
        scopes = self.scopes
        # collected type -> its list, in the order of _NODE_TYPES (the order ``nodes`` keeps)
        collect = self._collect
        buckets: dict[type, list[ast.AST]] = {cls: [] for cls in _collected_types(collect)}
        # type -> (its bucket or None, handler, children, how), made for this index as the types
        # are met: one dict lookup per node tells all that ``_plan`` worked out for its type
        plans: dict[type, tuple] = {}
        # the module scope at the bottom: popped last, as a Scope marker, it ends the walk (see
        # the Scope branch), so the stack is never empty before and a pop needs no test first
        stack: list = [self.module_scope]
        pop = stack.pop
        push = stack.append
        extend = stack.extend
        Name = ast.Name
        Attribute = ast.Attribute
        Constant = ast.Constant
        Call = ast.Call
        Store = ast.Store
        load = _LOAD
        node: ast.AST | Scope = self.tree
        scope = self.module_scope
        self.inner_scopes[node] = scope
        scopes[node] = scope
        # the buckets of the four most frequent types, looked up once; a type not collected
        # gets a list that is thrown away (appending costs less than testing for None)
        names, attributes, constants, calls = (buckets.get(t, []) for t in (Name, Attribute, Constant, Call))
        while True:
            cls = type(node)
            if cls is Name:
                names.append(node)
                scopes[node] = scope
                # ``ast.parse`` gives every name read the same Load: only other names can bind
                if node.ctx is not load and type(node.ctx) is Store:
                    self._bind_target(node, scope)
                node = pop()
                continue
            elif cls is Attribute:
                attributes.append(node)
                if node.ctx is not load and type(node.ctx) is Store:
                    self._bind_attribute(node, scope)
                child = node.value  # (taken below, as the called expression of a call is)
                parents[child] = node
            elif cls is Constant:
                constants.append(node)
                node = pop()
                continue
            elif cls is Call:  # as the general case below, without building a list of children
                calls.append(node)
                func = node.func
                parents[func] = node
                args = node.args
                keywords = node.keywords
                if args:
                    for child in args:
                        parents[child] = node
                # pushed last first; a single one without a reversed copy of its list (most
                # calls have one argument or one keyword, or none)
                if keywords:
                    for child in keywords:
                        parents[child] = node
                    if len(keywords) == 1:
                        push(keywords[0])
                    else:
                        extend(keywords[::-1])
                if args:
                    if len(args) == 1:
                        push(args[0])
                    else:
                        extend(args[::-1])
                child = func  # (taken below)
            else:
                plan = plans.get(cls)
                if plan is None:
                    if cls is Scope:  # a marker: the nodes from here on are in this scope
                        scope = node
                        if not stack:  # the module scope pushed first: the walk is over
                            break
                        node = pop()
                        continue
                    plan = plans[cls] = self._plan_here(cls, buckets)
                bucket, special, children, how = plan
                if bucket is not None:
                    bucket.append(node)
                if how == _ONE:  # a single child, ``value`` (``ast.Expr``, ``ast.keyword``)
                    child = node.value
                    parents[child] = node
                    node = child
                    continue
                if how == _ASSIGN:
                    targets = node.targets
                    value = node.value
                    for child in targets:
                        parents[child] = node
                    parents[value] = node
                    if targets:
                        push(value)
                        if len(targets) > 1:
                            extend(targets[:0:-1])
                        node = targets[0]
                    else:  # only in a tree built by hand
                        node = value
                    continue
                if special is not None:
                    # the children in order, with a Scope marker wherever the scope changes and
                    # the owner's scope again after the last child (for its siblings); the
                    # handler recorded their parents and scopes
                    order = special(self, node, scope)
                    if order:
                        node = order[0]
                        if len(order) > 1:
                            extend(order[:0:-1])
                        continue
                elif children is not None:
                    kids = children(node)
                    if kids:
                        if how == _SHARES:  # an operator keeps the first node it was found under
                            for child in kids:
                                if child not in parents:
                                    parents[child] = node
                        else:
                            for child in kids:
                                parents[child] = node
                        node = kids[0]
                        count = len(kids)
                        if count == 2:  # (a Subscript, a UnaryOp, ...) without a reversed copy
                            push(kids[1])
                        elif count > 2:
                            extend(kids[:0:-1])
                        continue
                # (a node without children, such as ``pass`` or an operator, has nothing more to
                # record: its scope is its parent's, see scope_of)
                node = pop()
                continue
            # The Attribute and Call branches come here with ``child``, an attribute's value or a
            # call's called expression: down its chain ``a.b.c`` and to its base name if it has one
            # (most do), as the loop would take them next, without going back to the top of the
            # loop and without reading their ``ctx``: both are always read (Load; compile()
            # refuses anything else), and reading an attribute of an ast node costs as much as a
            # dict store (nova, every 20th file: index 205.3 -> 199.7 M instructions; taking a
            # call's leading arguments that are names or constants here as well saved only 0.16 %
            # more: a turn of the loop costs little, reading a ctx much more)
            while type(child) is Attribute:
                attributes.append(child)
                node = child
                child = node.value
                parents[child] = node
            if type(child) is Name:
                names.append(child)
                scopes[child] = scope
                node = pop()
            else:
                node = child
        self.nodes.update((cls, found) for cls, found in buckets.items() if found)

    def _plan_here(self, cls: type, buckets: dict[type, list[ast.AST]]) -> tuple:
        """The plan of ``cls`` (see _plan) with the list its nodes are collected in."""
        bucket = buckets.get(cls)
        if bucket is None and cls not in _NODE_TYPES_SET and (self._collect is None or cls in self._collect):
            bucket = buckets[cls] = []  # a node type defined after this module was imported
        return (bucket, *(_PLANS.get(cls) or _plan(cls)))

    def _add(self, scope: Scope, name: str, kind: str, node: ast.AST, pos: Pos,
             qualname: str | None = None, value: ast.expr | None = None) -> None:
        """Record a binding of ``name`` made in ``scope`` (or where ``global`` / ``nonlocal``
        sends it)."""
        if name in scope.globals:
            scope = self.module_scope
        elif name in scope.nonlocals:
            outer = scope.parent
            while outer is not None and not outer.is_function:
                outer = outer.parent
            scope = outer or self.module_scope
        binding = Binding()  # see Binding
        binding.name = name
        binding.kind = kind
        binding.node = node
        binding.pos = pos
        binding.scope = scope
        binding.qualname = qualname
        binding.value = value
        found = scope.bindings.get(name)
        if found is None:
            scope.bindings[name] = [binding]
        else:
            found.append(binding)

    def _bind_target(self, name: ast.Name, scope: Scope) -> None:
        parent = self.parents.get(name)
        ptype = type(parent)
        value = None
        if ptype is _Assign or ptype is _AnnAssign:
            kind, end, value = "assign", parent, parent.value
        elif ptype in _LOOPS:
            kind, end = "loop", name
        elif ptype is _AugAssign:
            kind, end = "augassign", parent
        elif ptype is _withitem:
            kind, end, value = "with", name, parent.context_expr
        elif ptype is _NamedExpr:
            kind, end, value = "walrus", parent, parent.value
            while scope.kind == "comprehension" and scope.parent is not None:
                scope = scope.parent
        else:
            kind, end = "other", name
        pos = (end.end_lineno or end.lineno, end.end_col_offset or 0)  # as _end(end)
        if scope.globals or scope.nonlocals:  # the binding may belong to another scope
            self._add(scope, name.id, kind, parent or name, pos, None, value)
            return
        # _add inlined for the scope itself (the most frequent binding: one per name assigned)
        ident = name.id
        binding = Binding()  # see Binding
        binding.name = ident
        binding.kind = kind
        binding.node = parent or name
        binding.pos = pos
        binding.scope = scope
        binding.qualname = None
        binding.value = value
        bindings = scope.bindings
        found = bindings.get(ident)
        if found is None:
            bindings[ident] = [binding]
        else:
            found.append(binding)

    def _bind_attribute(self, node: ast.Attribute, scope: Scope) -> None:
        owner = node.value
        if not (isinstance(owner, _Name) and owner.id in ("self", "cls")):
            return
        if scope.kind != "function" or scope.parent is None or scope.parent.kind != "class":
            return
        parent = self.parents.get(node)
        value = parent.value if type(parent) is _Assign or type(parent) is _AnnAssign else None
        key = (scope.parent.node, node.attr)
        self.attribute_values.setdefault(key, []).append(value)

    # handlers for nodes that bind names or open scopes; each records the parents and the scopes
    # of the children it lists and returns them in visiting order, with Scope markers (see _build)

    def _import(self, node: ast.Import, scope: Scope):
        pos = _end(node)
        for alias in node.names:
            if alias.asname:
                bound, qual = alias.asname, alias.name
            else:
                bound = alias.name.partition(".")[0]
                qual = bound
            self._add(scope, bound, "import", node, pos, qual)
        return None

    def _import_from(self, node: ast.ImportFrom, scope: Scope):
        pos = _end(node)
        base = ("." * (node.level or 0)) + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                (scope if scope.kind == "module" else self.module_scope).stars.append(base)
                continue
            qual = f"{base}.{alias.name}" if base and not base.endswith(".") else base + alias.name
            self._add(scope, alias.asname or alias.name, "import", node, pos, qual)
        return None

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope):
        self.functions.append(node)
        name = node.name
        qual = f"{scope.name}.{name}"
        pos = (node.lineno, node.col_offset)
        self._add(scope, name, "def", node, pos, qual)
        inner = _open("function", node, scope, qual)
        self.inner_scopes[node] = inner
        parents = self.parents
        scopes = self.scopes
        # the parameters first (their parents are recorded before the other children's)
        args = node.args
        annotations = self._arguments(args, inner, node, pos)
        order = [*node.decorator_list]
        for child in order:
            parents[child] = node
            scopes[child] = scope
        for child in annotations:  # their parent is the parameter
            scopes[child] = scope
        order += annotations
        self._defaults(args, node, scope, order)
        returns = node.returns
        if returns is not None:
            parents[returns] = node
            scopes[returns] = scope
            order.append(returns)
        self._body(node, inner, scope, order)
        return order

    def _body(self, owner: ast.AST, inner: Scope, scope: Scope, order: list) -> None:
        """Append a def's or class's body to the visiting ``order``: evaluated in ``inner``, with
        the owner's ``scope`` again after it (for the owner's siblings). The statements' scope
        is not recorded: scope_of knows it from their parent (few nodes are ever asked it)."""
        body = owner.body  # type: ignore[attr-defined]
        if body:
            parents = self.parents
            for stmt in body:
                parents[stmt] = owner
            order.append(inner)
            order += body
            order.append(scope)

    def _lambda(self, node: ast.Lambda, scope: Scope):
        inner = _open("lambda", node, scope, f"{scope.name}.<lambda>")
        self.inner_scopes[node] = inner
        scopes = self.scopes
        order = self._arguments(node.args, inner, node, (node.lineno, node.col_offset))
        for child in order:
            scopes[child] = scope
        self._defaults(node.args, node, scope, order)
        body = node.body
        if body not in self.parents:
            self.parents[body] = node
        scopes[body] = inner
        order += (inner, body, scope)
        return order

    def _arguments(self, args: ast.arguments, inner: Scope, owner: ast.AST, pos: Pos) -> list[ast.expr]:
        """Bind the parameters in ``inner`` (from ``pos``, where the def or lambda starts); their
        annotations, whose parents (the parameters) it records."""
        annotations: list[ast.expr] = []
        all_args = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            all_args.append(args.vararg)
        if args.kwarg:
            all_args.append(args.kwarg)
        parents = self.parents
        # ``inner`` was just opened: no ``global`` or ``nonlocal`` of its body has been met yet
        # (they come later in the traversal), so the parameters bind in it directly
        bindings = inner.bindings
        for arg in all_args:
            name = arg.arg
            binding = Binding()  # see Binding
            binding.name = name
            binding.kind = "param"
            binding.node = arg
            binding.pos = pos
            binding.scope = inner
            binding.qualname = None
            binding.value = None
            found = bindings.get(name)
            if found is None:
                bindings[name] = [binding]
            else:  # ``def f(a, a)``: ast.parse accepts it (the compiler does not)
                found.append(binding)
            parents[arg] = owner
            annotation = arg.annotation
            if annotation is not None:
                parents[annotation] = arg
                annotations.append(annotation)
        return annotations

    def _defaults(self, args: ast.arguments, owner: ast.AST, scope: Scope, order: list) -> None:
        """The default values, evaluated where the def or lambda is, go to ``order``."""
        parents = self.parents
        scopes = self.scopes
        for child in args.defaults:
            parents[child] = owner
            scopes[child] = scope
            order.append(child)
        for child in args.kw_defaults:
            if child is not None:
                parents[child] = owner
                scopes[child] = scope
                order.append(child)

    def _class(self, node: ast.ClassDef, scope: Scope):
        qual = f"{scope.name}.{node.name}"
        self._add(scope, node.name, "class", node, (node.lineno, node.col_offset), qual)
        inner = _open("class", node, scope, qual)
        self.inner_scopes[node] = inner
        parents = self.parents
        scopes = self.scopes
        order = [*node.decorator_list, *node.bases, *node.keywords]
        for child in order:
            parents[child] = node
            scopes[child] = scope
        self._body(node, inner, scope, order)
        return order

    def _comprehension(self, node, scope: Scope):
        inner = _open("comprehension", node, scope, f"{scope.name}.<comprehension>")
        self.inner_scopes[node] = inner
        parents = self.parents
        scopes = self.scopes
        # the first iterable is evaluated outside (in ``scope``), all the rest inside
        order: list = [inner]
        for i, gen in enumerate(node.generators):
            parents[gen] = node
            target = gen.target
            iterable = gen.iter
            parents[target] = gen
            parents[iterable] = gen
            scopes[target] = inner
            order.append(target)
            if i == 0:
                scopes[iterable] = scope
                order += (scope, iterable, inner)
            else:
                scopes[iterable] = inner
                order.append(iterable)
            for cond in gen.ifs:
                parents[cond] = gen
                scopes[cond] = inner
                order.append(cond)
        elements = (node.key, node.value) if type(node) is ast.DictComp else (node.elt,)
        for child in elements:
            if child not in parents:
                parents[child] = node
            scopes[child] = inner
        order += elements
        order.append(scope)
        return order

    def _global(self, node: ast.Global, scope: Scope):
        if scope.globals is _NO_NAMES:
            scope.globals = set()
        scope.globals.update(node.names)  # type: ignore[union-attr]
        return None

    def _nonlocal(self, node: ast.Nonlocal, scope: Scope):
        if scope.nonlocals is _NO_NAMES:
            scope.nonlocals = set()
        scope.nonlocals.update(node.names)  # type: ignore[union-attr]
        return None

    def _except(self, node: ast.ExceptHandler, scope: Scope):
        if node.name:
            self._add(scope, node.name, "except", node, (node.lineno, node.col_offset))
        parents = self.parents
        scopes = self.scopes
        order = [*node.body]
        if node.type is not None:
            order.insert(0, node.type)
        for child in order:
            parents[child] = node
            scopes[child] = scope
        return order

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
        get = self.parents.get
        parent = get(node)
        while parent is not None:
            yield parent
            parent = get(parent)

    def scope_of(self, node: ast.AST) -> Scope:
        """The scope in which ``node`` is evaluated."""
        scopes = self.scopes
        scope = scopes.get(node)
        if scope is not None:
            return scope
        if type(node) in _NOT_VISITED:
            return self.module_scope
        # any other node is evaluated in the scope of its parent (see ``scopes`` in __init__),
        # except a statement of a def's or class's body: the children of a def or class that
        # are not in its body have their scope recorded, so a node met here under one is in
        # its body: evaluated in the scope the def or class opens
        get = self.parents.get
        parent = get(node)
        while parent is not None:
            if type(parent) in _BODY_OWNERS:
                return self.inner_scopes[parent]
            scope = scopes.get(parent)
            if scope is not None:
                return scope
            parent = get(parent)
        return self.module_scope

    def inner_scope(self, node: ast.AST) -> Scope | None:
        """The scope a def, class, lambda or comprehension opens."""
        return self.inner_scopes.get(node)

    def statement_of(self, node: ast.AST) -> ast.stmt | None:
        """The innermost statement containing ``node`` (``node`` itself if it is one)."""
        current: ast.AST | None = node
        get = self.parents.get
        while current is not None and not isinstance(current, _stmt):
            current = get(current)
        return current

    # function_of and class_of walk the parents directly (not through ancestors): they are
    # asked hundreds of thousands of times, and a generator costs more than the walk itself.

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        get = self.parents.get
        anc = get(node)
        while anc is not None:
            if isinstance(anc, _FUNCTION_NODES):
                return anc
            anc = get(anc)
        return None

    def class_of(self, node: ast.AST) -> ast.ClassDef | None:
        get = self.parents.get
        anc = get(node)
        while anc is not None:
            if isinstance(anc, _ClassDef):
                return anc
            anc = get(anc)
        return None

    def lookup(self, name: str, scope: Scope, pos: Pos) -> Binding | None:
        """The binding ``name`` refers to at ``pos`` in ``scope``, or None (builtin or unknown)."""
        module = self.module_scope
        # the innermost scope: a binding that follows the use does not count
        current: Scope | None = scope
        if current is None:
            return None
        if current.globals and name in current.globals and current is not module:
            current = module
        else:
            found = current.bindings.get(name)
            if found:
                kind = current.kind
                if kind == "comprehension":
                    return found[-1]  # targets are bound before the element is evaluated
                best = None
                for binding in found:
                    if binding.pos <= pos:
                        best = binding
                    else:
                        break
                if best is not None:
                    return best
                if kind == "function" or kind == "lambda":
                    return None  # a local used before assignment
            current = current.parent
        # the enclosing scopes (not class bodies): the last binding when none precedes the use
        while current is not None:
            kind = current.kind
            if kind == "class":
                current = current.parent
                continue
            if current.globals and name in current.globals and current is not module:
                current = module
                continue
            found = current.bindings.get(name)
            if found:
                if kind == "comprehension" or len(found) == 1:
                    return found[-1]
                best = found[-1]
                for binding in found:
                    if binding.pos <= pos:
                        best = binding
                    else:
                        break
                return best
            current = current.parent
        return None

    def binding(self, name: ast.Name) -> Binding | None:
        # Memoised per name node: the bindings do not change once the index is built, and the
        # rules and the data flow ask about the same names again and again.
        found = self._binding_cache.get(name, _UNSET)
        if found is _UNSET:
            found = self._binding_cache[name] = self.lookup(
                name.id, self.scopes.get(name, self.module_scope), (name.lineno, name.col_offset))
        return found

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
        result = cache.get(expr, _UNSET)
        if result is _UNSET:
            # no guard against cycles is needed in the cache (``x = x``): _qualname follows
            # bindings by itself, to a bounded depth, and comes back here only for a name bound
            # nowhere, which it resolves without going further
            result = cache[expr] = self._qualname(expr, 0, expr)
        return result

    def _qualname(self, expr: ast.AST, depth: int, used: bool | ast.AST = False) -> str | None:
        """``used``: whether the value is dereferenced (an attribute is read from it, or it is
        called), so that it cannot be None; or the expression whose place in the tree tells,
        looked at only when it matters."""
        if depth > _MAX_DEPTH:
            return None
        top = None
        if type(expr) is _Attribute:
            # ``base.a.b``: down to the base in a loop, as ``base`` with one level of depth per
            # attribute (the same limit as one call per level); the attributes are read again
            # only if the base resolves (``self.x.y`` does not)
            top = expr
            while type(expr) is _Attribute:
                expr = expr.value
                depth += 1
                if depth > _MAX_DEPTH:
                    return None
            used = True
        cls = type(expr)
        if cls is _Name:
            binding = self._binding_cache.get(expr, _UNSET)
            if binding is _UNSET:  # as self.binding(expr)
                binding = self._binding_cache[expr] = self.lookup(
                    expr.id, self.scopes.get(expr, self.module_scope), (expr.lineno, expr.col_offset))
            if binding is None:
                if expr.id in BUILTINS:
                    result = f"builtins.{expr.id}"
                elif self.module_scope.stars:
                    result = f"{self.module_scope.stars[-1]}.{expr.id}"
                elif not self.bound_anywhere(expr.id):
                    # A name used but never bound: read it as the module of that name, so that a
                    # code segment pasted without its imports still resolves (``subprocess.call``);
                    # a conventional alias (``ET``, ``RSA``) as the module it conventionally names.
                    result = CONVENTIONAL_ALIASES.get(expr.id, expr.id)
                else:
                    result = None
            elif binding.qualname is not None:  # an import, a def or a class
                result = binding.qualname
            elif binding.value is None:  # a parameter, a loop target, ...: nothing to follow
                result = None
            else:
                result = self._binding_qualname(binding, depth + 1, used)
                if result is None and binding.kind == "assign" and _is_none(binding.value) \
                        and (used if type(used) is bool else self._dereferenced(used)):
                    # ``x = None`` cannot be what ``x.attr`` or ``x(...)`` uses: read the name as
                    # the module its other bindings agree on (``try: import yaml`` / ``except:
                    # yaml = None``)
                    result = self._fallback(expr)
        elif cls is _Call:
            func = self._qualname(expr.func, depth + 1, True)
            result = f"{func}()" if func else None
        else:
            return None
        if top is None:
            return result
        if not result:
            return None
        if top.value is expr:  # ``base.attr``, the most frequent
            return f"{result}.{top.attr}"
        attrs = []
        while type(top) is _Attribute:
            attrs.append(top.attr)
            top = top.value
        attrs.append(result)
        attrs.reverse()
        return ".".join(attrs)

    def bound_anywhere(self, name: str) -> bool:
        """Whether some scope of the module binds ``name``; if none does, every use of it finds
        no binding (:meth:`lookup` answers from the scopes' bindings only)."""
        bound = self._bound
        if bound is None:
            # one set of every scope's names, built in C, rather than a scan of the scopes
            # per name asked
            bound = self._bound = set().union(*[scope.bindings for scope in self._all_scopes()])
        return name in bound

    def names_under(self, heads: frozenset[str]) -> set[str] | None:
        """The names whose qualified name (:meth:`qualname`), or that of an expression built on
        them (``name.attr``, ``name(...)``, ``name.attr(...).attr``), may begin with one of
        ``heads`` (first parts, such as ``os``); None when any name's may. The expressions
        built on no name resolve to nothing, and a name's qualified name is built on:
        - the qualified name of one of its bindings, an import, a def or a class;
        - the value of one of its assignments (taken as may);
        - where no binding reaches the use: ``builtins.NAME``, ``STAR.NAME`` after ``from STAR
          import *``, or, for a name bound nowhere, the name itself or the module it
          conventionally names (CONVENTIONAL_ALIASES)."""
        if "builtins" in heads or any(star.partition(".")[0] in heads for star in self.module_scope.stars):
            return None
        found = {name for name, module in CONVENTIONAL_ALIASES.items() if module.partition(".")[0] in heads}
        found = {name for name in found.union(heads) if not self.bound_anywhere(name)}
        for scope in self._all_scopes():
            for name, bindings in scope.bindings.items():
                if name in found:
                    continue
                for binding in bindings:
                    qualname = binding.qualname
                    if qualname is not None:
                        if qualname.partition(".")[0] in heads:
                            found.add(name)
                            break
                    elif binding.value is not None and binding.kind in ("assign", "walrus", "with"):
                        found.add(name)
                        break
        return found

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
            if binding.kind == "with" and isinstance(value, _Call):
                return None  # the value of ``with f() as x`` is whatever __enter__ returns
            if isinstance(value, _REFERENCES):
                return self._qualname(value, depth + 1, used)
        return None

    def call_name(self, call: ast.Call) -> str | None:
        # qualname(call.func), inlined: the engine asks it for every call of every file
        func = call.func
        cache = self._qualname_cache
        result = cache.get(func, _UNSET)
        if result is _UNSET:
            result = cache[func] = self._qualname(func, 0, func)
        return result

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
        if type(expr) is _Attribute:
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
    return type(value) is _Constant and value.value is None


def _end(node: ast.AST) -> Pos:
    return (node.end_lineno or node.lineno, node.end_col_offset or 0)


_Assign, _AnnAssign, _AugAssign, _NamedExpr, _withitem = \
    ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.withitem
_Name, _Attribute, _Call, _Constant = ast.Name, ast.Attribute, ast.Call, ast.Constant
_ClassDef, _stmt = ast.ClassDef, ast.stmt
_REFERENCES = (ast.Name, ast.Attribute, ast.Call)
_LOOPS = frozenset({ast.For, ast.AsyncFor, ast.comprehension})


# Names that code conventionally imports under an alias, read this way only when a file uses the
# name without binding it anywhere (a pasted segment).
CONVENTIONAL_ALIASES = {
    "ET": "xml.etree.ElementTree", "etree": "lxml.etree", "minidom": "xml.dom.minidom",
    "np": "numpy", "pd": "pandas", "RSA": "Crypto.PublicKey.RSA", "DSA": "Crypto.PublicKey.DSA",
    "AES": "Crypto.Cipher.AES", "DES": "Crypto.Cipher.DES", "DES3": "Crypto.Cipher.DES3",
    "ARC4": "Crypto.Cipher.ARC4", "Blowfish": "Crypto.Cipher.Blowfish", "MD5": "Crypto.Hash.MD5",
    "SHA": "Crypto.Hash.SHA", "web": "tornado.web", "sa": "sqlalchemy",
}

# How the traversal expands each node type (filled in as types are met): see _plan.
_PLANS: dict[type, tuple] = {}

# Fields that never hold a node (identifiers, strings, numbers), and ``ctx``, which holds the
# shared Load / Store / Del instances; leaving them out only saves time.
_NOT_CHILDREN = frozenset({"ctx", "id", "attr", "arg", "kind", "type_comment", "conversion", "simple",
                           "is_async", "level", "module", "tag", "asname", "rest"})

# Children of frequent node types, in field order (as the general case in _plan finds them);
# a list or tuple the traversal only reads (a field's own list can serve: ``elts``). Without an
# entry, a type goes through the general case, which tests every field value.
_CHILDREN = {
    ast.Call: lambda node: [node.func, *node.args, *node.keywords],
    ast.Assign: lambda node: [*node.targets, node.value],
    ast.Expr: lambda node: [node.value],
    ast.keyword: lambda node: [node.value],
    ast.Subscript: operator.attrgetter("value", "slice"),
    ast.If: lambda node: [node.test, *node.body, *node.orelse],
    ast.Return: lambda node: [] if node.value is None else [node.value],
    ast.Tuple: operator.attrgetter("elts"),
    ast.List: operator.attrgetter("elts"),
    ast.Set: operator.attrgetter("elts"),
    ast.Compare: lambda node: [node.left, *node.ops, *node.comparators],
    ast.BinOp: operator.attrgetter("left", "op", "right"),
    ast.UnaryOp: operator.attrgetter("op", "operand"),
    ast.BoolOp: lambda node: [node.op, *node.values],
    # ``{**d}`` has None among the keys
    ast.Dict: lambda node: [*[key for key in node.keys if key is not None], *node.values],
    ast.For: lambda node: [node.target, node.iter, *node.body, *node.orelse],
    ast.With: lambda node: [*node.items, *node.body],
    ast.withitem: lambda node: [node.context_expr] if node.optional_vars is None
    else [node.context_expr, node.optional_vars],
    ast.Raise: lambda node: [child for child in (node.exc, node.cause) if child is not None],
    ast.Try: lambda node: [*node.body, *node.handlers, *node.orelse, *node.finalbody],
    ast.JoinedStr: operator.attrgetter("values"),
}

# Types with an operator among their children: ``ast.parse`` gives all the additions one ``Add``.
_SHARING = frozenset({ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.AugAssign})
# Types whose only child is ``value``, which the loop follows without a list.
_ONE_CHILD = frozenset({ast.Expr, ast.keyword})
_ONE, _ASSIGN, _SHARES = 1, 2, 3  # the ``how`` of a plan

# The Load that ``ast.parse`` gives every name and attribute read (a tree built by hand may have
# others: the loop then tests the type).
_LOAD = ast.parse("x").body[0].value.ctx


def _plan(cls: type) -> tuple:
    """How the traversal expands a node of type ``cls``: (handler, children, how). handler
    is the special handler of a node that binds names or opens a scope, else None; children
    returns the child nodes in field order (None for a type without fields that hold nodes);
    how tells a type the loop expands itself (_ONE, _ASSIGN) or one whose children may be
    operators (_SHARES)."""
    names = tuple(f for f in cls._fields if f not in _NOT_CHILDREN)
    children = _CHILDREN.get(cls)
    if children is None and names:
        getter = operator.attrgetter(*names) if len(names) > 1 else None
        name = names[0]
        AST = ast.AST

        def children(node: ast.AST) -> list[ast.AST]:
            try:
                values = getter(node) if getter is not None else (getattr(node, name),)
            except AttributeError:  # a node built by hand may lack a field
                values = [getattr(node, f, None) for f in names]
            kids = []
            for value in values:
                if type(value) is list:
                    for item in value:
                        if isinstance(item, AST):
                            kids.append(item)
                elif isinstance(value, AST):
                    kids.append(value)
            return kids
    how = _ONE if cls in _ONE_CHILD else _ASSIGN if cls is ast.Assign else _SHARES if cls in _SHARING else 0
    plan = _PLANS[cls] = (_SPECIAL.get(cls), children, how)
    return plan


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


_NODE_TYPES = tuple(_subclasses(ast.AST))
_NODE_TYPES_SET = frozenset(_NODE_TYPES)
_COLLECTED: dict[frozenset[type] | None, tuple[type, ...]] = {}


def _collected_types(collect: frozenset[type] | None) -> tuple[type, ...]:
    """The node types ``collect`` names, in the order of _NODE_TYPES (worked out once per set)."""
    found = _COLLECTED.get(collect)
    if found is None:
        found = _COLLECTED[collect] = tuple(cls for cls in _NODE_TYPES if collect is None or cls in collect)
    return found

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
