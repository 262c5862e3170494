"""Access control in API code: controller actions that skip the policy check their siblings make,
request contexts elevated to admin and then used on an object the caller named, and access
decisions taken on roles or project ids the caller supplied himself."""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from itertools import compress, repeat
from operator import attrgetter

from secreview.model import Level
from secreview.rules.base import FileContext, Rule, identifier_words
from secreview.rules.concurrency import child_fields, import_bindings
from secreview.rules.concurrency import walk_nodes as _walk
from secreview.rules.registry import register

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


# ------------------------------------------------------------------------ request data (shared)

# Names under which a handler receives the HTTP request.
REQUEST_NAMES = frozenset({"req", "request"})
# Attributes of a request object that carry what the caller sent.
REQUEST_DATA_ATTRS = frozenset({
    "params", "GET", "POST", "headers", "cookies", "json", "json_body", "body", "text", "args", "form",
    "values", "files", "data", "query_params", "query_string", "matchdict", "urlvars", "get_json",
    "get_data", "stream", "body_file", "content", "query", "match_info", "path_params",
})
# Module-level request objects of web frameworks.
REQUEST_OBJECTS = frozenset({"flask.request", "pecan.request", "bottle.request", "quart.request"})
# Parameters of an API handler that carry what the caller sent (``def update(self, req, id, body)``).
BODY_PARAMS = frozenset({"body", "payload", "data", "json_body", "request_body", "kwargs"})


def _id_param(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_uuid", "_name")) or name == "uuid"


def is_request_object(ctx: FileContext, expr: ast.AST) -> bool:
    """``req`` / ``request`` (a parameter or a framework's global), or ``self.request``."""
    if isinstance(expr, ast.Name):
        if expr.id in REQUEST_NAMES:
            binding = ctx.binding(expr)
            if binding is None or binding.kind == "param" or ctx.qualname(expr) in REQUEST_OBJECTS:
                return True
            # ``request = Request(environ)`` / ``req = webob.Request.blank(...)``
            value = binding.value if binding.kind == "assign" else None
            return isinstance(value, ast.Call) and "Request" in _dotted(value.func)
        return ctx.qualname(expr) in REQUEST_OBJECTS
    if isinstance(expr, ast.Attribute) and expr.attr in REQUEST_NAMES:
        if isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return True
        return ctx.qualname(expr) in REQUEST_OBJECTS
    return False


def handler_params(func: ast.AST) -> tuple[set[str], set[str]]:
    """(body-like parameters, id-like parameters) of an API handler; empty unless ``func`` takes a
    request (``req`` / ``request``) or is a view method of a class."""
    if not isinstance(func, _FUNCS):
        return set(), set()
    args = func.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    if REQUEST_NAMES.isdisjoint(names):
        return set(), set()
    body = {n for n in names if n in BODY_PARAMS}
    ids = {n for n in names if _id_param(n)}
    return body, ids


def request_root(ctx: FileContext, expr: ast.AST, body_params: set[str], id_params: set[str],
                 tainted: dict[str, ast.AST] | set[str]) -> ast.AST | None:
    """The request-data expression ``expr`` reads from (``req.params["role"]``, ``body["x"]``,
    ``request.headers.get("X-Roles")``, a tainted local), or None. Conversions through
    ``int()``, ``uuid.UUID()`` and the like stop the search."""
    for node in _walk_unsanitised(ctx, expr):
        if isinstance(node, ast.Attribute) and node.attr in REQUEST_DATA_ATTRS and is_request_object(ctx, node.value):
            return _widen(ctx, node, expr)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in tainted or node.id in body_params or node.id in id_params:
                binding = ctx.binding(node)
                if binding is None:
                    continue
                if node.id in tainted:
                    origin = tainted[node.id] if isinstance(tainted, dict) else None
                    return origin if origin is not None else node
                if binding.kind == "param":
                    return _widen(ctx, node, expr)
    return None


def _widen(ctx: FileContext, node: ast.AST, limit: ast.AST) -> ast.AST:
    """``body`` -> ``body.get("a", {}).get("b")`` / ``body["a"]["b"]``: the whole read."""
    current = node
    while current is not limit:
        parent = ctx.index.parent(current)
        if isinstance(parent, ast.Subscript) and parent.value is current:
            current = parent
        elif isinstance(parent, ast.Attribute) and parent.value is current:
            grand = ctx.index.parent(parent)
            if isinstance(grand, ast.Call) and grand.func is parent and parent.attr in ("get", "pop", "getlist"):
                current = grand
            else:
                break
        else:
            break
    return current


SANITISERS = frozenset({
    "builtins.int", "builtins.float", "builtins.bool", "builtins.len", "builtins.abs", "builtins.round",
    "uuid.UUID", "ipaddress.ip_address", "ipaddress.ip_network", "ipaddress.ip_interface",
    "netaddr.IPAddress", "netaddr.IPNetwork", "shlex.quote", "pipes.quote",
    "oslo_utils.strutils.bool_from_string", "oslo_utils.strutils.string_to_bytes",
    "oslo_utils.uuidutils.is_uuid_like", "os.path.basename",
})
_SANITISER_WORDS = re.compile(r"(?i)(valid|sanitiz|sanitis|check|quote|escape|is_uuid|to_int|int_or|"
                              r"bool_from|clean|normalize|normalise|secure_filename)")


def _is_sanitiser_call(ctx: FileContext, call: ast.Call) -> bool:
    name = ctx.qualname(call.func)
    if name in SANITISERS:
        return True
    last = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id if isinstance(call.func, ast.Name) else ""
    return bool(last and _SANITISER_WORDS.search(last))


def _scoped_lookup(ctx: FileContext, call: ast.Call) -> bool:
    """A call handed the caller's own (not elevated) request context, such as
    ``objects.Volume.get_by_id(context, id)``: what it returns is an object the caller may see,
    no longer raw request data."""
    for arg in [*call.args, *(kw.value for kw in call.keywords)]:
        if isinstance(arg, ast.Name) and arg.id in ("context", "ctxt", "ctx"):
            binding = ctx.binding(arg)
            if binding is not None and binding.kind == "assign" and isinstance(binding.value, ast.Call) \
                    and re.search(r"(elevated|admin_context)", _dotted(binding.value.func)):
                return False
            return True
    return False


def _walk_unsanitised(ctx: FileContext, expr: ast.AST):
    """``ast.walk`` that does not enter sanitising calls, lookups made with the caller's own
    context, or lambdas."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call) and (_is_sanitiser_call(ctx, node) or _scoped_lookup(ctx, node)):
            continue
        if isinstance(node, (ast.Lambda, *_FUNCS)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def tainted_names(ctx: FileContext, func: ast.AST, body_params: set[str], id_params: set[str]) -> dict[str, ast.AST]:
    """Local names of ``func`` that hold request data, assigned (in order) from request data, with
    the request read each comes from."""
    tainted: dict[str, ast.AST] = {}
    assigns = [n for n in _walk(func) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.For, ast.With,
                                                             ast.AugAssign, ast.NamedExpr))]
    assigns.sort(key=lambda n: (n.lineno, n.col_offset))
    for _ in range(2):
        for node in assigns:
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                value = node.value
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, ast.For):
                value, targets = node.iter, [node.target]
            else:
                for item in node.items:
                    if item.optional_vars is None:
                        continue
                    origin = request_root(ctx, item.context_expr, body_params, id_params, tainted)
                    if origin is not None:
                        for name in _target_names(item.optional_vars):
                            tainted.setdefault(name, origin)
                continue
            if value is None:
                continue
            origin = request_root(ctx, value, body_params, id_params, tainted)
            if origin is not None:
                for target in targets:
                    for name in _target_names(target):
                        tainted.setdefault(name, origin)
    return tainted


def _target_names(target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _target_names(elt)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def signature_node(func: ast.FunctionDef | ast.AsyncFunctionDef, source_line: str) -> ast.AST:
    """A node spanning ``def name(...)`` on its first line, so that a finding on a function shows
    the signature instead of the whole body."""
    node = ast.Name(id=func.name, ctx=ast.Load())
    node.lineno = node.end_lineno = func.lineno
    node.col_offset = func.col_offset
    node.end_col_offset = max(func.col_offset, len(source_line.rstrip().encode("utf-8")))
    return node


# ------------------------------------------------------------------------ authorisation evidence

_AUTH_CALL = re.compile(r"(?i)(authori[sz]|enforce|polic(y|ies)|permission|has_perm|require_admin|admin_required|"
                        r"check_access|require_role|check_role|is_allowed|has_role|can_access|check_owner|"
                        r"assert_owner|require_owner|ensure_owner|check_project|verify_project)")
_NOT_AUTH = re.compile(r"(?i)(quota|limit|rate|schema|version)")
_AUTH_DECORATOR = re.compile(r"(?i)(login_required|permission_required|permission_classes|authori[sz]|polic(y|ies)|"
                             r"enforce|admin_required|require_admin|requires_auth|auth_required|jwt_required|"
                             r"roles_required|roles_accepted|staff_member_required|superuser_required|"
                             r"user_passes_test|protected|require_role|has_role|scope_required|"
                             r"require_context|require_admin_context)")
_FORBIDDEN = re.compile(r"(?i)(forbidden|permissiondenied|notauthori[sz]ed|unauthori[sz]ed|accessdenied|"
                        r"policynotauthorized|adminrequired)")
_ADMIN_ATTRS = frozenset({"is_admin", "is_superuser", "is_staff", "has_perm", "has_perms", "is_admin_project"})
# A class whose bases carry the authorisation for every method.
_AUTH_MIXINS = re.compile(r"(?i)(LoginRequired|PermissionRequired|UserPassesTest|AccessMixin|StaffRequired|"
                          r"SuperuserRequired|Authenticated)")

# How the last part of a controller base's name ends (MethodView and APIView end in View)
_CONTROLLER_ENDS = ("Controller", "View", "ViewSet", "Resource", "Handler")
# The last part of an action decorator's name, and a dotted name ending in one
_ACTIONS = frozenset({"action", "expose", "wsexpose", "route", "api_view", "when"})
_ACTION_DECORATOR = re.compile(r"(^|\.)(" + "|".join(sorted(_ACTIONS)) + r")$")
_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
_NOT_ACTIONS = frozenset({"dispatch", "setup", "get_queryset", "get_object", "get_serializer_class",
                          "get_serializer", "get_context_data", "get_template_names", "as_view", "options",
                          "head", "version", "versions"})
_INERT_RAISE = re.compile(r"(?i)(gone|notimplemented|notfound|methodnotallowed|deprecated|notsupported)")


def _dotted(expr: ast.AST) -> str:
    if isinstance(expr, ast.Call):
        return _dotted(expr.func)
    if isinstance(expr, ast.Attribute):
        base = _dotted(expr.value)
        return f"{base}.{expr.attr}" if base else expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return ""


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


# name -> verdict: the names of decorators and calls repeat across the actions and controllers
# of a project, and the patterns below are dearer than a dict lookup
_DECORATOR_VERDICTS: dict[str, bool] = {}
_CALL_VERDICTS: dict[str, bool] = {}


def _names_decorator_auth(name: str) -> bool:
    """A decorator name that applies authorisation (``@policy.enforce_x``, ``@login_required``)."""
    found = _DECORATOR_VERDICTS.get(name)
    if found is None:
        found = bool(_AUTH_DECORATOR.search(name)) and not _NOT_AUTH.search(name)
        if len(_DECORATOR_VERDICTS) > 50_000:
            _DECORATOR_VERDICTS.clear()
        _DECORATOR_VERDICTS[name] = found
    return found


def _names_call_auth(name: str) -> bool:
    """A called name that checks authorisation (``authorize``, ``enforce``) or refuses access
    (``Forbidden``)."""
    found = _CALL_VERDICTS.get(name)
    if found is None:
        found = bool(_AUTH_CALL.search(name)) and not _NOT_AUTH.search(name) or bool(_FORBIDDEN.search(name))
        if len(_CALL_VERDICTS) > 50_000:
            _CALL_VERDICTS.clear()
        _CALL_VERDICTS[name] = found
    return found


class _Authz:
    """Which functions of a module check authorisation, directly or through a helper in the same
    class or module."""

    def __init__(self, ctx: FileContext):
        self.ctx = ctx
        self.memo: dict[ast.AST, bool] = {}
        self.module_funcs = {n.name: n for n in ctx.index.tree.body if isinstance(n, _FUNCS)}

    def decorated(self, func: ast.AST) -> bool:
        for dec in func.decorator_list:
            for sub in _walk(dec):
                if isinstance(sub, (ast.Name, ast.Attribute)):
                    if _names_decorator_auth(_dotted(sub)):
                        return True
        return False

    def checks(self, func: ast.AST, depth: int = 0) -> bool:
        if func in self.memo:
            return self.memo[func]
        self.memo[func] = False  # cycles
        result = self.decorated(func) or self._body_checks(func, depth)
        self.memo[func] = result
        return result

    def _body_checks(self, func: ast.AST, depth: int) -> bool:
        cls = self.ctx.index.class_of(func)
        methods = {n.name: n for n in cls.body if isinstance(n, _FUNCS)} if cls is not None else {}
        for node in _walk(func):
            if isinstance(node, ast.Call):
                name = _call_name(node)
                if name == "can" and isinstance(node.func, ast.Attribute):
                    return True
                if name and _names_call_auth(name):
                    return True
                if name == "abort" and node.args and isinstance(node.args[0], ast.Constant) \
                        and node.args[0].value in (401, 403):
                    return True
                if depth < 4:
                    target = None
                    func_expr = node.func
                    if isinstance(func_expr, ast.Attribute) and isinstance(func_expr.value, ast.Name) \
                            and func_expr.value.id in ("self", "cls"):
                        target = methods.get(func_expr.attr)
                    elif isinstance(func_expr, ast.Name):
                        target = self.module_funcs.get(func_expr.id)
                    if target is not None and target is not func and self.checks(target, depth + 1):
                        return True
            elif isinstance(node, ast.Attribute) and node.attr in _ADMIN_ATTRS:
                return True
            elif isinstance(node, ast.Raise) and node.exc is not None:
                if _FORBIDDEN.search(_dotted(node.exc)):
                    return True
        return False


_EQUALITY_OR_MEMBERSHIP = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)  # the comparisons SR903 looks at


def _is_controller(ctx: FileContext, cls: ast.ClassDef) -> bool:
    # Both tests below look at the last part of a dotted name only, so they are asked of that
    # part without building the name: most classes (tests, with mock.patch on every method) are
    # ruled out so.
    for base in cls.bases:
        if _last_part(base).endswith(_CONTROLLER_ENDS):
            return True
    for stmt in cls.body:
        if isinstance(stmt, _FUNCS):
            for dec in stmt.decorator_list:
                if _last_part(dec) in _ACTIONS:
                    name = _dotted(dec)
                    if "wsgi" in name or "pecan" in name or "expose" in name:
                        return True
    return False


def _last_part(expr: ast.AST) -> str:
    """The part of ``_dotted(expr)`` after its last dot: the attribute or name the expression (or
    what it calls) ends with."""
    while type(expr) is ast.Call:
        expr = expr.func
    kind = type(expr)
    return expr.attr if kind is ast.Attribute else expr.id if kind is ast.Name else ""  # type: ignore[attr-defined]


def _class_wide_auth(ctx: FileContext, cls: ast.ClassDef, authz: _Authz) -> bool:
    """Authorisation applied to every method: a mixin base, class decorators, or a class attribute
    such as ``decorators = [login_required]`` or ``permission_classes = [...]``."""
    for base in cls.bases:
        if _AUTH_MIXINS.search(_dotted(base)):
            return True
    if authz.decorated(cls):
        return True
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign):
            names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            if any(n in ("decorators", "method_decorators", "permission_classes", "permission_required",
                         "authentication_classes", "policy", "required_permissions") for n in names):
                return True
        if isinstance(stmt, _FUNCS) and stmt.name in ("dispatch", "_before", "before", "_lookup",
                                                      "initial", "check_permissions", "__before__") \
                and authz.checks(stmt):
            return True
    return False


def _is_action(stmt: ast.AST, framework_view: bool) -> bool:
    if not isinstance(stmt, _FUNCS):
        return False
    decorators = [_dotted(d) for d in stmt.decorator_list]
    if any(d.endswith(("staticmethod", "classmethod", "property", "setter", "cached_property")) for d in decorators):
        return False
    if any(_ACTION_DECORATOR.search(d) for d in decorators):
        return True
    if stmt.name.startswith("_") or stmt.name in _NOT_ACTIONS:
        return False
    if framework_view:
        return stmt.name in _HTTP_VERBS or stmt.name in ("list", "retrieve", "create", "update",
                                                         "partial_update", "destroy")
    params = [a.arg for a in stmt.args.args]
    return any(p in REQUEST_NAMES for p in params[1:2])


def _inert(func: ast.AST) -> bool:
    """A body that does nothing worth protecting: only a docstring, ``pass``, or raising "gone" /
    "not implemented"."""
    body = [s for s in func.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if not body:
        return True
    if all(isinstance(s, ast.Pass) for s in body):
        return True
    if len(body) == 1 and isinstance(body[0], ast.Raise):
        return True
    if len(body) <= 2 and isinstance(body[-1], ast.Raise) and body[-1].exc is not None \
            and _INERT_RAISE.search(_dotted(body[-1].exc)):
        return True
    return any(re.search(r"(^|\.)(removed|deprecated|obsolete)$", _dotted(d)) for d in func.decorator_list)


@register
class MissingAuthorization(Rule):
    """API controller action without the authorisation check its sibling actions make.

    ## What it finds
    Classes that serve API requests (subclasses of webob / Nova `wsgi.Controller`, pecan
    `RestController`, Flask `MethodView`, Django class-based views, or any class with
    `@wsgi.action` / `@pecan.expose` methods) in which most action methods check authorisation
    but one does not. An action is a public method taking the request (`index`, `show`,
    `create`, `update`, `delete`, ...), an HTTP verb method of a view, or a method decorated
    with `@wsgi.action`. A check is a call to `context.can(...)`, `policy.authorize` /
    `policy.enforce` or another function named for authorisation, an `is_admin` test, raising
    `Forbidden`, or a decorator such as `@login_required`, `@permission_required` or
    `@policy.enforce_*`, directly or through a helper method of the same class or module.
    Classes whose authorisation is class-wide (mixins, `decorators = [...]`,
    `permission_classes`) are skipped, as are actions that only raise (removed APIs) or are
    marked `@wsgi.removed`, controllers with fewer than two checked actions, and read actions
    (`index`, `show`, `detail`, ...) when at least two of them are unchecked, which marks reads
    as public by design. When the unchecked action hands the request context to a service
    layer (`self.volume_api.get(context, ...)`), which in some projects (Cinder) checks the
    policy itself, the finding has low confidence.

    ## Why it is dangerous
    In a controller the policy check is written by hand in every action. When the siblings of
    an action check a policy and it does not, the usual cause is that the check was forgotten
    when the action was added, and any authenticated user (of any project) can call it:
    read another tenant's resources, or perform an operation an operator reserved for admins.

    ## Example
    ```python
    from nova.api.openstack import wsgi

    class HostController(wsgi.Controller):
        def index(self, req):
            context = req.environ["nova.context"]
            context.can("os_compute_api:os-hosts:list")
            return self.api.list_hosts(context)

        def show(self, req, id):
            context = req.environ["nova.context"]
            context.can("os_compute_api:os-hosts:show")
            return self.api.get_host(context, id)

        def reboot(self, req, id):
            context = req.environ["nova.context"]
            return self.api.reboot_host(context, id)   # no policy check
    ```

    ## Safe alternative
    ```python
    from nova.api.openstack import wsgi

    class HostController(wsgi.Controller):
        def reboot(self, req, id):
            context = req.environ["nova.context"]
            context.can("os_compute_api:os-hosts:reboot")
            return self.api.reboot_host(context, id)
    ```
    Add the policy check the operation needs (and a policy rule with a safe default); if the
    action is meant to be open to everyone, say so in a comment next to it.

    ## References
    - https://cwe.mitre.org/data/definitions/862.html
    - https://docs.openstack.org/oslo.policy/latest/
    """

    id = "SR901"
    name = "missing-authorization"
    cwe = 862
    severity = Level.HIGH
    confidence = Level.MEDIUM
    fix = ("Check the caller's authorisation at the start of the action, as its sibling actions do "
           "(`context.can(policy_name, target=...)`, or the framework's permission decorator).")
    nodes = (ast.ClassDef,)

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.ClassDef)
        if not _is_controller(ctx, node):
            return
        authz = ctx.cache.get(self.id)
        if not isinstance(authz, _Authz):
            authz = ctx.cache[self.id] = _Authz(ctx)
        if _class_wide_auth(ctx, node, authz):
            return
        framework_view = any(re.search(r"(MethodView|^View|\.View|APIView|ViewSet|Resource|Handler)$", _dotted(b))
                             for b in node.bases)
        actions = [s for s in node.body if _is_action(s, framework_view) and not _inert(s)]
        if len(actions) < 3:
            return
        checked = [a for a in actions if authz.checks(a)]
        unchecked = [a for a in actions if a not in checked]
        if len(checked) < 2 or len(checked) <= len(unchecked) or not unchecked:
            return
        open_reads = [a for a in unchecked if _is_read(a)]
        if len(open_reads) >= 2:
            unchecked = [a for a in unchecked if a not in open_reads]  # public reads, by design
        examples = ", ".join(f"`{a.name}`" for a in checked[:3])
        how = _how_checked(checked[0], ctx)
        for action in unchecked:
            line = ctx.source.line(action.lineno)
            service = _delegated_to(ctx, action)
            if service:
                caveat = (f" The request context is handed to `{service}`; if that service layer enforces the "
                          "policy, this is fine, but nothing in the controller shows it.")
                confidence = Level.LOW
            else:
                caveat, confidence = "", None
            ctx.report(self, signature_node(action, line),
                       f"`{node.name}.{action.name}` serves a request without any authorisation check, while "
                       f"{len(checked)} of the {len(actions)} actions of this controller check one ({examples}"
                       f"{', ...' if len(checked) > 3 else ''}{how}). Unless the action is meant to be public, "
                       f"any caller who reaches the endpoint can run it, whatever their role or project.{caveat}",
                       confidence=confidence)


_READS = frozenset({"index", "show", "detail", "get", "list", "get_all", "get_one", "retrieve", "head"})
_SERVICE = re.compile(r"(?i)(^|_)api$")


def _is_read(func: ast.AST) -> bool:
    return func.name in _READS or func.name.startswith(("get_", "list_", "show_", "_show", "_get"))


def _delegated_to(ctx: FileContext, func: ast.AST, depth: int = 0) -> str | None:
    """The service-layer call (``self.volume_api.get``) the action hands its request context to,
    directly or through a helper of the same class; such layers often check the policy."""
    cls = ctx.index.class_of(func)
    methods = {n.name: n for n in cls.body if isinstance(n, _FUNCS)} if cls is not None else {}
    for node in _walk(func):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        receiver = node.func.value
        passes_context = any(isinstance(a, ast.Name) and a.id in ("context", "ctxt", "ctx")
                             for a in [*node.args, *(k.value for k in node.keywords)])
        if passes_context and isinstance(receiver, ast.Attribute) and _SERVICE.search(receiver.attr):
            return ctx.text(node.func, 40)
        if depth < 3 and isinstance(receiver, ast.Name) and receiver.id == "self":
            target = methods.get(node.func.attr)
            if target is not None and target is not func:
                found = _delegated_to(ctx, target, depth + 1)
                if found:
                    return found
    return None


def _how_checked(func: ast.AST, ctx: FileContext) -> str:
    for dec in func.decorator_list:
        if any(isinstance(sub, (ast.Name, ast.Attribute)) and _AUTH_DECORATOR.search(_dotted(sub))
               for sub in _walk(dec)):
            return f"; for example `@{ctx.text(dec, 40)}`"
    for node in _walk(func):
        if isinstance(node, ast.Call) and _call_name(node) == "can" and isinstance(node.func, ast.Attribute):
            return f"; for example `{ctx.text(node.func, 30)}(...)`"
    return ""


# ------------------------------------------------------------------------ SR902

_ELEVATORS = re.compile(r"(^|\.)(get_admin_context|elevated|get_elevated_context|admin_context)$")
_CONTEXT_NAMES = frozenset({"context", "ctxt", "ctx", "elevated", "admin_context", "admin_ctxt",
                            "elevated_context", "elevated_ctxt", "cctxt"})
# Operations whose name says they act on one object named by the caller.
_OBJECT_OP = re.compile(r"(?i)(^get|_get$|_get_|by_uuid|by_id|by_name|^show|^delete|_delete|^destroy|_destroy|"
                        r"^update|_update|^save$|^reboot|^rebuild|^resize|^stop|^start|^lock|^unlock|"
                        r"^attach|^detach|^migrate|^evacuate|^lookup|^find|^fetch|^remove|^add_|^set_|"
                        r"^pause|^unpause|^suspend|^resume|^rescue|^unrescue|^shelve|^unshelve|^backup|"
                        r"^snapshot|^restore|^trigger)")


def _is_elevation(ctx: FileContext, expr: ast.AST | None) -> bool:
    if not isinstance(expr, ast.Call):
        return False
    name = _dotted(expr.func)
    if name and _ELEVATORS.search(name):
        return True
    qual = ctx.qualname(expr.func)
    return bool(qual) and bool(_ELEVATORS.search(qual))


@register
class ElevatedContextMisuse(Rule):
    """Request context elevated to admin and used on an object the caller identified.

    ## What it finds
    In a function that handles a request (it takes `req` / `request`), an admin context made
    with `context.elevated()` or `get_admin_context()` passed to a lookup or operation (a call
    named `get*`, `*_by_uuid`, `delete`, `update`, `reboot`, ...) whose other arguments come from
    the request: the URL id parameter (`id`, `server_id`, ...), the body, `req.params`. It is
    reported only when the function makes no authorisation check of its own (`context.can`,
    `policy.authorize`, ...) and does not first look the same value up with the caller's own
    context: an elevated lookup after such a check is the normal pattern.

    ## Why it is dangerous
    A user's request context scopes database lookups to the user's project; the admin context
    does not. Looking up an id the caller chose with an elevated context returns (or lets the
    code act on) another tenant's object as if it were the caller's: an insecure direct object
    reference.

    ## Example
    ```python
    def show(self, req, id):
        context = req.environ["nova.context"]
        elevated = context.elevated()
        instance = objects.Instance.get_by_uuid(elevated, id)
        return self._view(instance)
    ```

    ## Safe alternative
    ```python
    def show(self, req, id):
        context = req.environ["nova.context"]
        instance = objects.Instance.get_by_uuid(context, id)      # scoped to the caller
        context.can("compute:show", target={"project_id": instance.project_id})
        return self._view(instance)
    ```
    Look the object up with the caller's context, or check the policy against the object's
    project before using the elevated context for the part that really needs it.

    ## References
    - https://cwe.mitre.org/data/definitions/639.html
    - https://docs.openstack.org/nova/latest/reference/policy-enforcement.html
    """

    id = "SR902"
    name = "elevated-context-misuse"
    cwe = 639
    severity = Level.HIGH
    confidence = Level.MEDIUM
    fix = ("Look the object up with the caller's own context (or check `context.can(..., target=...)` against "
           "the object's project first) and keep the elevated context for the step that needs it.")
    nodes = (ast.FunctionDef, ast.AsyncFunctionDef)
    # No ``needs`` text prefilter: select() asks _elevation_words first, which gives up on a file
    # whose text mentions neither "elevated" nor "admin_context" (one search, done once).

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first tests (an elevation named in the file and in the function, request
        # data read in it), in one pass, each answered from facts found once per file
        words = _elevation_words(ctx)
        if words is None or not _may_see_requests(ctx):
            return []
        takers = _request_takers(ctx, False)
        if takers is not None:
            return [node for node in nodes if node in takers and ctx.mentions(node, words)]
        return [node for node in nodes if ctx.mentions(node, words) and _takes_request_data(ctx, node)]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        words = _elevation_words(ctx)
        if words is None:
            return  # no elevation anywhere in the file
        if not ctx.mentions(node, words):
            return  # nor in this function
        body_params, id_params = handler_params(node)
        if not body_params and not id_params:
            if not _reads_request_data(ctx, node):
                return
        calls = [n for n in _walk(node) if isinstance(n, ast.Call)]
        if not any(_is_elevation(ctx, c) for c in calls):
            return
        authz = _Authz(ctx)
        if authz.checks(node):
            return
        elevated_names = set()
        for stmt in _walk(node):
            if isinstance(stmt, ast.Assign) and _is_elevation(ctx, stmt.value):
                elevated_names.update(_target_names(t)[0] for t in stmt.targets if _target_names(t))
        tainted = tainted_names(ctx, node, body_params, id_params)
        user_lookups: set[str] = set()
        candidates = []
        for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
            args = [*call.args, *(kw.value for kw in call.keywords)]
            elevated_arg = next((a for a in args if _is_elevation(ctx, a)
                                 or (isinstance(a, ast.Name) and a.id in elevated_names)), None)
            data = [a for a in args if a is not elevated_arg
                    and request_root(ctx, a, body_params, id_params, tainted) is not None]
            keys = {ctx.text(a, 80) for a in data}
            if elevated_arg is None:
                if any(isinstance(a, ast.Name) and a.id in _CONTEXT_NAMES for a in args):
                    user_lookups |= keys
                continue
            name = _call_name(call)
            if not data or not name or not _OBJECT_OP.search(name):
                continue
            if keys & user_lookups:
                continue
            candidates.append((call, elevated_arg, data[0]))
        for call, elevated_arg, datum in candidates[:1]:
            ctx.report(self, call,
                       f"`{ctx.text(call.func, 50)}` is called with the elevated context "
                       f"`{ctx.text(elevated_arg, 30)}` on `{ctx.text(datum, 40)}`, which comes from the request, "
                       "and nothing in this handler checks that the caller may access that object. The admin "
                       "context skips the project scoping, so a caller who names another tenant's id gets "
                       "(or acts on) that tenant's object.")


def _elevation_words(ctx: FileContext) -> tuple[str, ...] | None:
    """What SR902 looks for in a function's text: "elevated", "admin_context" and the local names
    the elevation functions are imported as; None when the file's text names neither of the two
    (no elevation anywhere, whatever it imports)."""
    words = ctx.cache.get("SR902.words", ())
    if words == ():
        text = ctx.source.text
        if "elevated" in text or "admin_context" in text:
            words = ("elevated", "admin_context", *sorted(
                b.name for b in import_bindings(ctx)
                if b.qualname and ("elevated" in b.qualname or "admin_context" in b.qualname)
                and _ELEVATORS.search(b.qualname)))  # (each name _ELEVATORS matches holds one of the two)
        else:
            words = None
        ctx.cache["SR902.words"] = words
    return words  # type: ignore[return-value]


def _takes_request_data(ctx: FileContext, func: ast.AST, body_only: bool = False) -> bool:
    """Whether ``request_root`` can find request data in ``func`` (with the parameters
    ``handler_params`` gives, or only its body-like ones with ``body_only``): only when it has
    such parameters or reads a request attribute (``_reads_request_data``), since a tainted name
    is one assigned from what ``request_root`` found. The rules' ``select`` ask it first."""
    body_params, id_params = handler_params(func)
    return bool(body_params or (id_params and not body_only)) or _reads_request_data(ctx, func)


def _reads_request_data(ctx: FileContext, func: ast.AST) -> bool:
    """``_mentions_request_data``, answered from the functions found once per file."""
    readers = _request_readers(ctx)
    return func in readers if readers is not None else _mentions_request_data(ctx, func)


_ATTR = attrgetter("attr")


def _may_see_requests(ctx: FileContext) -> bool:
    """False when the file's text shows that no function of it takes or reads a request.

    ``handler_params`` finds parameters only in a function with one named ``req`` or
    ``request``, and ``is_request_object`` holds only for a name or attribute ``req`` /
    ``request``, or one that resolves to a framework's ``<module>.request``, which is spelt in
    the file as an identifier ``request`` (imported, assigned, or a def), since every part of a
    resolved name is an identifier of the file, its module name or a builtin. In an ASCII text
    an identifier is written as it is (``ast`` normalises others with NFKC), so a text without
    the word ``req`` or ``request`` has no such parameter and reads no request."""
    found = ctx.cache.get("access.may-see-requests")
    if found is None:
        text = ctx.source.text
        found = ctx.cache["access.may-see-requests"] = not text.isascii() or _spells_request(text)
    return found  # type: ignore[return-value]


def _spells_request(text: str) -> bool:
    """Whether an ASCII ``text`` holds the identifier ``req`` or ``request`` (a word of its own:
    not ``required``, ``requests`` or ``pre_req``); ``str.find`` is much faster here than a
    regular expression starting with ``\\b``."""
    at = text.find("req")
    while at >= 0:
        if at == 0 or not _word_char(text[at - 1]):
            # "request..." is the word "request" or no word at all ("u" goes on from "req")
            end = at + 7 if text.startswith("uest", at + 3) else at + 3
            if end >= len(text) or not _word_char(text[end]):
                return True
        at = text.find("req", at + 1)
    return False


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _request_readers(ctx: FileContext) -> set[ast.AST] | None:
    """The functions of the file for which ``_mentions_request_data`` is true, found once: the
    functions above each request attribute (``req.params``) of the index's attribute nodes.

    The index records every node of a type it collects, and its parent, except inside the type
    parameters of a def or class (``def f[T: x.y]()``), which it does not visit. None (ask
    ``_mentions_request_data`` for each function) when the index did not collect attributes
    (a run with only some rules) or when a def or class has type parameters."""
    key = "access.request-readers"
    found: set[ast.AST] | None = ctx.cache.get(key, ())  # type: ignore[assignment]
    if found != ():
        return found
    found = None
    index = ctx.index
    attributes = index.nodes.get(ast.Attribute)
    if not _may_see_requests(ctx):
        found = set()
    elif attributes and not any(map(getattr, index.inner_scopes, repeat("type_params"), repeat(None))):
        # (any type parameters: the owners asked in C, without a generator step for each)
        found = set()
        parent = index.parents.get
        # the attributes named in REQUEST_DATA_ATTRS, picked without a Python step per attribute
        for node in compress(attributes, map(REQUEST_DATA_ATTRS.__contains__, map(_ATTR, attributes))):
            if is_request_object(ctx, node.value):
                above = parent(node)
                while above is not None:
                    if isinstance(above, _FUNCS):
                        if above in found:
                            break  # and so are the functions above it
                        found.add(above)
                    above = parent(above)
    ctx.cache[key] = found
    return found


def _in_request_functions(ctx: FileContext, nodes: list[ast.AST], body_only: bool = False) -> list[ast.AST]:
    """The nodes among ``nodes`` whose function (``index.function_of``) may see request data
    (``_takes_request_data``, asked once a function): a rule that reports only what
    ``request_root`` finds in the function of a node, with that function's parameters, can drop
    the others."""
    if not nodes or not _may_see_requests(ctx):
        return []
    function_of = ctx.index.function_of
    takers = _request_takers(ctx, body_only)
    if takers is not None:
        # Most files that spell ``req`` have no function that may see request data: that rules
        # out all the nodes without looking up each node's function.
        if not takers:
            return []
        # The function of a node holds it, so a node whose function is a taker lies within the
        # lines of one, from its first decorator (function_of answers the def for its decorators
        # and defaults too) to its last line: the nodes outside all of those (most of the calls,
        # in the files with takers) are dropped without the walk up their parents.
        starts, ends = _line_spans(takers)
        kept = []
        for node in nodes:
            line = node.lineno
            at = bisect_right(starts, line) - 1
            if at >= 0 and line <= ends[at] and function_of(node) in takers:  # (None is not in it)
                kept.append(node)
        return kept
    verdicts: dict[ast.AST, bool] = {}
    kept = []
    for node in nodes:
        func = function_of(node)
        if func is None:
            continue
        verdict = verdicts.get(func)
        if verdict is None:
            verdict = verdicts[func] = _takes_request_data(ctx, func, body_only)
        if verdict:
            kept.append(node)
    return kept


def _line_spans(functions: set[ast.AST]) -> tuple[list[int], list[int]]:
    """The lines of ``functions`` (defs), each from its first decorator to its last line, as
    disjoint ranges in order: their first lines and their last lines."""
    starts: list[int] = []
    ends: list[int] = []
    for first, last in sorted((min([f.lineno, *[d.lineno for d in f.decorator_list]]), f.end_lineno or f.lineno)
                              for f in functions):
        if ends and first <= ends[-1]:
            if last > ends[-1]:
                ends[-1] = last  # a def within (or overlapping) the range before
        else:
            starts.append(first)
            ends.append(last)
    return starts, ends


_ARG = attrgetter("arg")


def _request_takers(ctx: FileContext, body_only: bool) -> set[ast.AST] | None:
    """The functions of the file for which ``_takes_request_data(ctx, func, body_only)`` is true,
    found once per file for both values of ``body_only`` (SR922 asks one, SR903 the other); None
    when ``_request_readers`` is.

    ``index.functions`` holds every def that ``function_of`` can return (the index records the
    parents of what it visits, and it visits a def's body only through the def). A function is
    in the set when it reads request data (``_request_readers``) or when ``handler_params`` gives
    it body-like (or, without ``body_only``, id-like) parameters, which it gives only to a
    function with a parameter named ``req`` or ``request``: the others are passed over with one
    test of their positional parameters' names."""
    key = "access.request-takers"
    found = ctx.cache.get(key)
    if found is None:
        readers = _request_readers(ctx)
        if readers is None:
            found = (None, None)
        else:
            takers, body_takers = set(readers), set(readers)
            disjoint = REQUEST_NAMES.isdisjoint
            for func in ctx.index.functions:
                args = func.args
                if disjoint(map(_ARG, args.args)) and not args.posonlyargs and not args.kwonlyargs:
                    continue  # no request parameter: handler_params gives nothing
                body_params, id_params = handler_params(func)
                if body_params:
                    takers.add(func)
                    body_takers.add(func)
                elif id_params:
                    takers.add(func)
            found = (takers, body_takers)
        ctx.cache[key] = found
    return found[1 if body_only else 0]  # type: ignore[index]


def _mentions_request_data(ctx: FileContext, func: ast.AST) -> bool:
    for node in _attributes(func, REQUEST_DATA_ATTRS):
        if is_request_object(ctx, node.value):
            return True
    return False


def _attributes(root: ast.AST, names: frozenset[str]) -> list[ast.Attribute]:
    """The attribute nodes in ``root``'s subtree that read one of ``names``: those of ``ast.walk``,
    in another order, found faster (names and constants, which have no child node, are not visited)."""
    found: list[ast.Attribute] = []
    stack = [root]
    AST, Attribute, leaves = ast.AST, ast.Attribute, (ast.Name, ast.Constant)
    while stack:
        node = stack.pop()
        cls = type(node)
        if cls is Attribute and node.attr in names:  # type: ignore[attr-defined]
            found.append(node)  # type: ignore[arg-type]
        for field in child_fields(cls):
            value = getattr(node, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST) and not isinstance(item, leaves):
                        stack.append(item)
            elif isinstance(value, AST) and not isinstance(value, leaves):
                stack.append(value)
    return found


# ------------------------------------------------------------------------ SR903

_PRIVILEGED_VALUES = frozenset({"admin", "administrator", "root", "superuser", "super_admin", "superadmin",
                                "cloud_admin", "operator", "staff", "owner", "manager", "system", "reader",
                                "member", "service"})
_ACCESS_WORDS = frozenset({"role", "roles", "admin", "superuser", "privilege", "privileges", "permission",
                           "permissions", "project", "tenant", "owner", "group", "groups", "scope", "level",
                           "access", "is_admin", "staff", "user", "domain"})
_ADMIN_WORDS = frozenset({"admin", "superuser", "staff", "root", "privileged", "elevated", "sudo"})
_OWN_ATTRS = frozenset({"project_id", "tenant_id", "user_id", "tenant", "project", "user", "roles",
                        "is_admin", "domain_id", "owner", "username", "user_name", "project_name"})
_IDENTITY_HEADERS = re.compile(r"(?i)^(x[-_])?(roles?|is[-_]admin|project[-_]id|tenant[-_]id|user[-_]id|"
                               r"identity[-_]status|service[-_]roles|project[-_]name|tenant|user[-_]name|"
                               r"domain[-_]id|auth[-_]user|remote[-_]user)$")


_ACCESS_KEYS: dict[str, bool] = {}  # key -> _names_access(key) (keys and names repeat)


def _names_access(key: str) -> bool:
    """A key or name that names a role, project, owner, permission... or an identity header."""
    found = _ACCESS_KEYS.get(key)
    if found is None:
        words = set(identifier_words(key.replace("-", "_")))
        found = bool(words & _ACCESS_WORDS and not words & {"name", "description", "url", "email", "type"}
                     or _IDENTITY_HEADERS.match(key))
        if len(_ACCESS_KEYS) > 50_000:
            _ACCESS_KEYS.clear()
        _ACCESS_KEYS[key] = found
    return found


def _key_text(expr: ast.AST) -> str | None:
    """The constant key read by ``x["key"]`` / ``x.get("key")`` / ``x.key``."""
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and isinstance(expr.slice.value, str):
        return expr.slice.value
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("get", "getlist", "pop") \
            and expr.args and isinstance(expr.args[0], ast.Constant) and isinstance(expr.args[0].value, str):
        return expr.args[0].value
    return None


@register
class UserSuppliedRoleCheck(Rule):
    """Access decision taken on a role, project or user id the caller supplied.

    ## What it finds
    Comparisons in an `if` (or a boolean returned or assigned) between a value read from the
    request (`req.params`, `req.GET`, `request.args`, `request.form`, `request.json`,
    `request.cookies`, `body[...]`, identity headers such as `X-Roles` or `X-Project-Id` read
    directly in application code) and either a privileged constant (`"admin"`, `"root"`,
    `"superuser"`, ...) or the identity of the authenticated caller (`context.project_id`,
    `request.user.id`, ...), where the request value is named like a role, project, tenant,
    owner or permission. Identity headers read in a keystone or auth middleware module (one
    that builds the request context) are not reported.

    ## Why it is dangerous
    Whatever the request carries, the caller chose. `?role=admin`, a forged `X-Roles: admin`
    header sent straight to a service not behind the auth middleware, or a `project_id` in the
    body equal to the caller's own, proves nothing about the caller: the check grants access to
    anyone who writes the expected value.

    ## Example
    ```python
    def delete_flavor(self, req, id):
        if req.params.get("role") == "admin":
            return self.api.delete(id)
        raise exc.HTTPForbidden()
    ```

    ## Safe alternative
    ```python
    def delete_flavor(self, req, id):
        context = req.environ["nova.context"]
        context.can("os_compute_api:os-flavor-manage:delete")
        return self.api.delete(id)
    ```
    Take roles and project ids from the authenticated context (built by the auth middleware
    from a validated token), and check them through the policy engine.

    ## References
    - https://cwe.mitre.org/data/definitions/639.html
    - https://docs.openstack.org/keystonemiddleware/latest/middlewarearchitecture.html
    """

    id = "SR903"
    name = "user-supplied-role-check"
    cwe = 639
    severity = Level.HIGH
    confidence = Level.MEDIUM
    fix = ("Decide access on the authenticated identity (the request context built from a validated token) "
           "through the policy engine, never on a role or id the request carries.")
    nodes = (ast.Compare,)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first test, on all the comparisons at once; then its request_root needs
        # request data in the comparison's function (_takes_request_data, asked once a function)
        compares = [node for node in nodes if len(node.ops) == 1 and isinstance(node.ops[0], _EQUALITY_OR_MEMBERSHIP)]
        return _in_request_functions(ctx, compares, body_only=True)

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Compare)
        if len(node.ops) != 1 or not isinstance(node.ops[0], _EQUALITY_OR_MEMBERSHIP):
            return
        if not self._decides(ctx, node):
            return
        left, right = node.left, node.comparators[0]
        if self._access_name(ctx, left) is None and self._access_name(ctx, right) is None:
            return  # neither side names a role, project or user: skip the per-function data flow
        func = ctx.index.function_of(node)
        if func is None:
            return
        cache = ctx.cache.setdefault(self.id, {})
        if func not in cache:
            body_params, id_params = handler_params(func)
            cache[func] = (body_params, tainted_names(ctx, func, body_params, set()))
        body_params, tainted = cache[func]
        for request_side, other in ((left, right), (right, left)):
            root = request_root(ctx, request_side, body_params, set(), tainted)
            if root is None:
                continue
            what = self._access_name(ctx, request_side)
            if what is None:
                continue
            header = _is_header(ctx, request_side, root)
            if header and self._middleware(ctx):
                return
            verdict = self._privileged(ctx, other, what)
            if verdict is None:
                return
            if verdict.startswith("the caller's own") and not self._grants(ctx, node):
                return
            source = "an identity header the caller can set" if header else "the request"
            shown = root if isinstance(request_side, ast.Name) else request_side
            ctx.report(self, node,
                       f"`{ctx.text(node, 70)}` decides access on `{what}` taken from {source} "
                       f"(`{ctx.text(shown, 40)}`), compared with {verdict}. The caller chooses that "
                       "value, so anyone who sends it passes the check.",
                       confidence=Level.LOW if verdict.startswith("the caller's own") else None)
            return

    @staticmethod
    def _decides(ctx: FileContext, node: ast.Compare) -> bool:
        current: ast.AST = node
        for parent in ctx.index.ancestors(node):
            if isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.Assert)) and parent.test is current:
                return True
            if isinstance(parent, ast.Return):
                return True
            if isinstance(parent, (ast.BoolOp, ast.UnaryOp)):
                current = parent
                continue
            if isinstance(parent, ast.Assign):
                names = [n for t in parent.targets for n in _target_names(t)]
                return any(set(identifier_words(n)) & {"admin", "allowed", "authorized", "authorised",
                                                       "permitted", "can", "owner", "privileged", "access"}
                           for n in names)
            return False
        return False

    @staticmethod
    def _access_name(ctx: FileContext, expr: ast.AST) -> str | None:
        for node in _walk(expr):
            key = _key_text(node)
            if key is None and isinstance(node, ast.Attribute):
                key = node.attr if node.attr not in REQUEST_DATA_ATTRS else None
            if key is None and isinstance(node, ast.Name):
                # a name counts unless it is the request object: asked only of names that would count
                if _names_access(node.id) and not is_request_object(ctx, node):
                    return node.id
                continue
            if key is not None and _names_access(key):
                return key
        return None

    @staticmethod
    def _privileged(ctx: FileContext, other: ast.AST, key: str) -> str | None:
        value = ctx.literal(other)
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        admin_key = bool(set(identifier_words(key.replace("-", "_"))) & _ADMIN_WORDS)
        for item in values:
            if isinstance(item, str) and item.lower() in _PRIVILEGED_VALUES:
                return f"the privileged value `{item!r}`"
            if admin_key and (item is True or item == 1 or
                              (isinstance(item, str) and item.lower() in ("1", "true", "yes", "on", "y"))):
                return f"`{item!r}`"
        if isinstance(other, ast.Attribute) and other.attr in _OWN_ATTRS:
            base = _dotted(other.value)
            if base and base.split(".")[-1] in ("context", "ctxt", "ctx", "user", "identity", "auth",
                                                 "credentials", "creds", "current_user", "g"):
                return (f"the caller's own `{ctx.text(other, 40)}`; that only proves the caller wrote their own "
                        "id into the request, not that the object belongs to them")
        return None

    @staticmethod
    def _grants(ctx: FileContext, node: ast.Compare) -> bool:
        """``if <request value> == <own id>:`` followed by a branch that does not refuse."""
        if not isinstance(node.ops[0], (ast.Eq, ast.In)):
            return False
        parent = ctx.index.parent(node)
        if not isinstance(parent, ast.If) or parent.test is not node:
            return False
        return not any(isinstance(s, ast.Raise) for s in parent.body)

    @staticmethod
    def _middleware(ctx: FileContext) -> bool:
        """A module that builds the request context from the auth middleware's headers."""
        cached = ctx.cache.get("SR903-middleware")
        if cached is None:
            cached = False
            for cls in ctx.index.tree.body:
                if isinstance(cls, ast.ClassDef) and any(
                        re.search(r"(Middleware|Context|Auth|Keystone)", _dotted(b) or "") for b in cls.bases):
                    cached = True
            if re.search(r"(?i)(auth|middleware|context|keystone)", ctx.path.rsplit("/", 1)[-1]):
                cached = True
            ctx.cache["SR903-middleware"] = cached
        return bool(cached)


def _is_header(ctx: FileContext, expr: ast.AST, root: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr in ("headers", "environ", "META") and
               is_request_object(ctx, n.value) for n in _walk(root))
