"""Crashes and denial of service: sizes taken from the network or a request and trusted,
unbounded reads, archives extracted without checks, regular expressions that backtrack
catastrophically, request parsing that turns bad input into an uncaught exception, security
checks written as ``assert`` and recursion whose depth the input controls."""

from __future__ import annotations

import ast
from itertools import compress, repeat

from secreview.model import Level
from secreview.rules.access import _may_see_requests
from secreview.rules.base import FileContext, Rule, identifier_words
from secreview.rules.concurrency import walk_nodes
from secreview.rules.registry import register

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)

# ============================================================================ request data

REQUEST_PROXIES = frozenset({"flask.request", "pecan.request", "bottle.request", "quart.request"})
REQUEST_NAMES = frozenset({"request", "req"})
# attributes of a request object that carry what the client sent
REQUEST_DATA = frozenset({
    "args", "form", "values", "json", "data", "GET", "POST", "params", "headers", "body", "cookies",
    "files", "query_params", "query_string", "match_info", "text", "query", "str_params", "str_GET",
    "str_POST", "json_body", "stream", "body_file", "body_file_raw", "matchdict", "urlvars", "path",
    "path_info", "content_length", "get_json", "get_data",
})
# environ keys a client controls
_CLIENT_ENVIRON = ("HTTP_", "CONTENT_", "QUERY_STRING", "PATH_INFO", "wsgi.input")
# werkzeug's multi-dicts answer a missing key with 400 Bad Request, not 500
_WERKZEUG_400 = frozenset({"args", "form", "values", "files", "headers", "cookies"})
# methods that read from or reshape a request value and keep it request data
_KEEPING = frozenset({"get", "getlist", "getall", "getone", "pop", "strip", "lstrip", "rstrip", "lower",
                      "upper", "decode", "encode", "split", "rsplit", "partition", "replace", "read",
                      "readline", "getvalue", "get_json", "get_data", "mixed", "copy", "items", "values",
                      "keys", "dict"})
_JSON_LOADS = frozenset({"json.loads", "simplejson.loads", "ujson.loads", "orjson.loads",
                         "oslo_serialization.jsonutils.loads", "jsonutils.loads"})
_XML_PARSERS = frozenset({
    "xml.etree.ElementTree.fromstring", "xml.etree.ElementTree.XML", "xml.etree.cElementTree.fromstring",
    "lxml.etree.fromstring", "lxml.etree.XML", "defusedxml.ElementTree.fromstring",
    "defusedxml.lxml.fromstring", "xml.dom.minidom.parseString", "defusedxml.minidom.parseString",
})


def _attr_or_name(expr: ast.AST) -> str:
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Call):
        return _attr_or_name(expr.func)
    return ""


def _request_object(ctx: FileContext, expr: ast.AST) -> str | None:
    """What kind of request object ``expr`` is: ``flask`` (or another framework proxy),
    ``param`` (a parameter named request / req), ``self`` (``self.request``) or None."""
    if isinstance(expr, ast.Name):
        if expr.id in REQUEST_NAMES:
            binding = ctx.binding(expr)
            if binding is None:
                return "param"
            if binding.kind == "param":
                return "param"
            if binding.kind == "import" and binding.qualname in REQUEST_PROXIES:
                return binding.qualname.split(".")[0]
            return None
        binding = ctx.binding(expr)
        if binding is not None and binding.kind == "import" and binding.qualname in REQUEST_PROXIES:
            return binding.qualname.split(".")[0]
        return None
    if isinstance(expr, ast.Attribute):
        if expr.attr == "request" and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return "self"
        qualname = ctx.qualname(expr)
        if qualname in REQUEST_PROXIES:
            return qualname.split(".")[0]
    return None


def _environ_object(ctx: FileContext, expr: ast.AST) -> bool:
    """``environ`` (a WSGI application's parameter), ``request.environ`` or ``request.META``."""
    if isinstance(expr, ast.Name) and expr.id in ("environ", "env"):
        binding = ctx.binding(expr)
        return binding is not None and binding.kind == "param"
    if isinstance(expr, ast.Attribute) and expr.attr in ("environ", "META"):
        return _request_object(ctx, expr.value) is not None
    return False


def _http_handler_self(ctx: FileContext, expr: ast.AST) -> bool:
    """``self`` inside an ``http.server`` / ``socketserver`` request handler class."""
    if not (isinstance(expr, ast.Name) and expr.id == "self"):
        return False
    cls = ctx.index.class_of(expr)
    if cls is None:
        return False
    for base in cls.bases:
        text = ctx.qualname(base) or _attr_or_name(base)
        if text.endswith("RequestHandler"):
            return True
    return False


def _key_text(ctx: FileContext, step: ast.AST | None) -> object:
    """The constant key of a subscript or ``.get(key)`` step, else None."""
    if isinstance(step, ast.Subscript):
        return ctx.literal(step.slice)
    if isinstance(step, ast.Call) and step.args:
        return ctx.literal(step.args[0])
    return None


class Origin:
    """Where a value came from: ``request`` (what a client sent), ``network`` (bytes read from
    a socket or stream) or ``file`` (bytes read from something we cannot name)."""

    __slots__ = ("kind", "node", "field", "framework")

    def __init__(self, kind: str, node: ast.AST, field: str = "", framework: str = ""):
        self.kind = kind
        self.node = node
        self.field = field
        self.framework = framework


def _request_field(ctx: FileContext, expr: ast.AST) -> Origin | None:
    """``request.args``, ``req.params``, ``environ["HTTP_X"]``, ``self.headers`` ... (the field
    node itself, not a value derived from it)."""
    if isinstance(expr, ast.Attribute):
        kind = _request_object(ctx, expr.value)
        if kind is not None and expr.attr in REQUEST_DATA:
            return Origin("request", expr, expr.attr, kind)
        if expr.attr in ("headers", "path", "rfile") and _http_handler_self(ctx, expr.value):
            return Origin("request", expr, expr.attr, "http.server")
    return None


def _request_data(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> Origin | None:
    """The request field ``expr`` derives from: directly, through subscripts, ``.get()`` and
    string methods, ``json.loads``, or names bound to such values."""
    if expr is None or depth > 10:
        return None
    if isinstance(expr, ast.Attribute):
        found = _request_field(ctx, expr)
        if found is not None:
            return found
        return None
    if isinstance(expr, ast.Subscript):
        if _environ_object(ctx, expr.value):
            key = _key_text(ctx, expr)
            if isinstance(key, str) and key.startswith(_CLIENT_ENVIRON):
                return Origin("request", expr, key, "wsgi")
            return None
        return _request_data(ctx, expr.value, depth + 1)
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in _KEEPING:
            if func.attr in ("get_json", "get_data") and _request_object(ctx, func.value) is not None:
                return Origin("request", expr, func.attr, _request_object(ctx, func.value) or "")
            if func.attr == "get" and _environ_object(ctx, func.value):
                key = _key_text(ctx, expr)
                if isinstance(key, str) and key.startswith(_CLIENT_ENVIRON):
                    return Origin("request", expr, key, "wsgi")
                return None
            return _request_data(ctx, func.value, depth + 1)
        qualname = ctx.qualname(func)
        if qualname in _JSON_LOADS or qualname in ("builtins.str", "builtins.bytes"):
            return _request_data(ctx, ctx.argument(expr, 0), depth + 1)
        return None
    if isinstance(expr, ast.Name):
        value = _bound_value(ctx, expr)
        if value is not None:
            return _request_data(ctx, value, depth + 1)
        if expr.id == "body" and _body_parameter(ctx, expr):
            return Origin("request", expr, "body", "param")
    return None


def _body_parameter(ctx: FileContext, name: ast.Name) -> bool:
    """``body`` is a parameter of a controller method that also takes the request
    (``def create(self, req, body)``): the decoded JSON body of the request."""
    binding = ctx.binding(name)
    if binding is None or binding.kind != "param":
        return False
    func = binding.scope.node
    if not isinstance(func, _FUNCTIONS) or not any(arg.arg in REQUEST_NAMES for arg in func.args.args):
        return False
    cls = ctx.index.parent(func)
    return isinstance(cls, ast.ClassDef) and any("Controller" in ctx.text(base, 80) for base in cls.bases)


def _bound_value(ctx: FileContext, name: ast.Name) -> ast.AST | None:
    """The expression a local name was last assigned (also through ``a, b = ...`` and
    ``x: int = ...``), or None for parameters, loops and the like."""
    binding = ctx.binding(name)
    if binding is None:
        return None
    if binding.kind in ("assign", "walrus") and binding.value is not None:
        return binding.value
    if binding.kind == "other" and isinstance(binding.node, (ast.Tuple, ast.List)):
        node: ast.AST | None = binding.node
        while isinstance(node, (ast.Tuple, ast.List, ast.Starred)):
            node = ctx.index.parent(node)
        if isinstance(node, ast.Assign):
            return _unpacked(node.value, binding.node, name.id)
    return None


def _unpacked(value: ast.AST, target: ast.AST, name: str) -> ast.AST:
    """For ``a, b = x, y`` the element matching ``name``; otherwise the whole value (the
    result of ``struct.unpack`` or ``recvfrom`` unpacked)."""
    if isinstance(value, (ast.Tuple, ast.List)) and isinstance(target, (ast.Tuple, ast.List)) \
            and len(value.elts) == len(target.elts):
        for elt, val in zip(target.elts, value.elts):
            if isinstance(elt, ast.Name) and elt.id == name:
                return val
    return value


# ============================================================================ network data

_RECEIVE = frozenset({"recv", "recvfrom", "recv_bytes", "readexactly", "recvmsg"})
_READ = frozenset({"read", "read1", "readline", "readexactly", "readuntil"})
_NETWORK_WORDS = frozenset({"sock", "socket", "conn", "connection", "client", "peer", "rfile", "stream",
                            "resp", "response", "channel", "chan", "wsgi", "input", "reader", "req",
                            "request", "remote", "tcp", "udp", "ws", "websocket"})
# a module's own helpers that wrap ``sock.recv`` (``def recv(sock, n)``)
_RECEIVE_HELPERS = frozenset({"recv", "recv_exact", "recv_exactly", "recvall", "recv_all", "read_exact",
                              "read_exactly", "readexactly"})
URLOPENERS = frozenset({"urllib.request.urlopen", "urllib2.urlopen", "six.moves.urllib.request.urlopen",
                        "urllib.urlopen"})


def _stream_kind(ctx: FileContext, receiver: ast.AST, depth: int = 0) -> str | None:
    """What a stream object is: ``request`` (a request body stream), ``socket`` (a socket's
    ``makefile()``), ``urlopen`` (an HTTP response from ``urlopen``), or None."""
    if depth > 6:
        return None
    field = _request_field(ctx, receiver)
    if field is not None and field.field in ("stream", "body_file", "body_file_raw", "rfile"):
        return "request"
    if isinstance(receiver, (ast.Subscript, ast.Call)):
        origin = _request_data(ctx, receiver)
        if origin is not None and origin.field == "wsgi.input":
            return "request"
    if isinstance(receiver, ast.Attribute) and receiver.attr == "rfile" \
            and isinstance(receiver.value, ast.Name) and receiver.value.id == "self":
        return "request" if _http_handler_self(ctx, receiver.value) else None
    if isinstance(receiver, ast.Call):
        if isinstance(receiver.func, ast.Attribute) and receiver.func.attr == "makefile":
            return "socket"
        if ctx.qualname(receiver.func) in URLOPENERS:
            return "urlopen"
        return None
    if isinstance(receiver, ast.Name):
        binding = ctx.binding(receiver)
        if binding is not None and binding.kind in ("assign", "walrus", "with") and binding.value is not None:
            return _stream_kind(ctx, binding.value, depth + 1)
    return None


def _received(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> Origin | None:
    """Bytes received from outside: ``sock.recv(...)``, ``stream.read(...)``, a request body, or
    a slice of them, or a local name bound to one of those."""
    if expr is None or depth > 10:
        return None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        attr = expr.func.attr
        receiver = expr.func.value
        if attr in _RECEIVE:
            return Origin("network", expr, attr)
        if attr in _READ:
            if _stream_kind(ctx, receiver) is not None:
                return Origin("network", expr, attr)
            words = set(identifier_words(ctx.text(receiver, 80).replace(".", "_")))
            return Origin("network" if words & _NETWORK_WORDS else "file", expr, attr)
        if attr in ("decode", "strip", "rstrip", "lstrip", "getvalue", "tobytes"):
            return _received(ctx, receiver, depth + 1)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in _RECEIVE_HELPERS:
        return Origin("network", expr, expr.func.id)
    if isinstance(expr, ast.Subscript):
        return _received(ctx, expr.value, depth + 1)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _received(ctx, expr.left, depth + 1) or _received(ctx, expr.right, depth + 1)
    if isinstance(expr, ast.Call) and ctx.qualname(expr.func) in ("builtins.bytes", "builtins.bytearray",
                                                                   "builtins.memoryview") and expr.args:
        return _received(ctx, expr.args[0], depth + 1)
    if isinstance(expr, ast.Name):
        value = _bound_value(ctx, expr)
        if value is not None:
            return _received(ctx, value, depth + 1)
        return None
    origin = _request_data(ctx, expr)
    if origin is not None and origin.field in ("data", "body", "get_data", "text", "stream", "wsgi.input"):
        return origin
    return None


# ============================================================================ small helpers


def _try_handles(ctx: FileContext, node: ast.AST, errors: frozenset[str], stop: ast.AST | None = None) -> bool:
    """True when ``node`` sits in the body of a ``try`` (below ``stop``) with a handler that
    catches one of ``errors`` (or everything)."""
    child = node
    for anc in ctx.index.ancestors(node):
        if anc is stop or isinstance(anc, (*_FUNCTIONS, ast.Lambda, ast.ClassDef)):
            return False
        if isinstance(anc, (ast.Try, ast.TryStar)) and any(child is stmt for stmt in anc.body):
            for handler in anc.handlers:
                if _handler_catches(ctx, handler, errors):
                    return True
        child = anc
    return False


_BROAD = frozenset({"Exception", "BaseException"})


def _handler_catches(ctx: FileContext, handler: ast.ExceptHandler, errors: frozenset[str]) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for typ in types:
        name = _attr_or_name(typ)
        if name in _BROAD or name in errors:
            return True
    return False


def _function_names(ctx: FileContext, func: ast.AST, key: str) -> dict[str, list[int]]:
    """Per function, memoised: names that appear in an ordering comparison (``<``, ``>=``...)
    with anything but a small constant, in ``min()``, or as an argument of a call named like a
    check (``check_size(n)``), with the lines where they do."""
    cache = ctx.cache.setdefault(key, {})
    assert isinstance(cache, dict)
    found = cache.get(func)
    if found is not None:
        return found
    found = {}
    for node in ast.walk(func):
        names: list[ast.AST] = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                if not isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                    continue
                pair = (operands[i], operands[i + 1])
                for side, other in (pair, pair[::-1]):
                    value = ctx.literal(other)
                    if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 1:
                        continue
                    names.append(side)
        elif isinstance(node, ast.Call):
            callee = _attr_or_name(node.func)
            words = set(identifier_words(callee))
            if callee == "min" or words & {"check", "validate", "verify", "ensure", "limit", "bound", "clamp",
                                           "cap", "max"}:
                names.extend(node.args)
        for side in names:
            for sub in ast.walk(side):
                if isinstance(sub, ast.Name):
                    found.setdefault(sub.id, []).append(sub.lineno)
                elif isinstance(sub, ast.Attribute):
                    found.setdefault(ctx.text(sub, 80), []).append(sub.lineno)
    cache[func] = found
    return found


def _scope_node(ctx: FileContext, node: ast.AST) -> ast.AST:
    return ctx.index.function_of(node) or ctx.index.tree


# ============================================================================ SR801

_SIZE_KEEPING_OPS = (ast.Add, ast.Sub, ast.Mult, ast.LShift, ast.Pow)
_SIZE_LEFT_OPS = (ast.FloorDiv, ast.Div, ast.RShift)
_UNPACKERS = ("struct.unpack", "struct.unpack_from", "struct.Struct().unpack", "struct.Struct().unpack_from",
              "builtins.int.from_bytes")


class SizeTrace:
    __slots__ = ("origin", "source", "names")

    def __init__(self, origin: Origin, source: ast.AST, names: list[str]):
        self.origin = origin  # where the bytes or the field came from
        self.source = source  # the expression that produced the number
        self.names = names  # local names the number went through


def _size_from_input(ctx: FileContext, expr: ast.AST | None, names: list[str] | None = None,
                     depth: int = 0, field: int | None = None) -> SizeTrace | None:
    """How ``expr``, used as a size or count, derives from input without a bound. ``field`` is
    the position taken from a tuple of unpacked values, when known."""
    names = [] if names is None else names
    if expr is None or depth > 12:
        return None
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is not None and binding.kind == "augassign" and isinstance(binding.node, ast.AugAssign):
            stmt = binding.node
            if isinstance(stmt.op, (ast.Mod, ast.BitAnd)):
                return None
            before = ctx.index.lookup(expr.id, binding.scope, (stmt.lineno, stmt.col_offset))
            if before is None or before.value is None:
                return None
            names.append(expr.id)
            return _size_from_input(ctx, before.value, names, depth + 1)
        value = _bound_value(ctx, expr)
        if value is None:
            return None
        names.append(expr.id)
        position = field
        if binding is not None and binding.kind == "other" and isinstance(binding.node, (ast.Tuple, ast.List)):
            elts = binding.node.elts
            if not any(isinstance(e, ast.Starred) for e in elts):
                position = next((i for i, e in enumerate(elts) if isinstance(e, ast.Name) and e.id == expr.id), None)
        return _size_from_input(ctx, value, names, depth + 1, position)
    if isinstance(expr, ast.Subscript):
        origin = _request_data(ctx, expr)
        if origin is not None and origin.field not in _WERKZEUG_400 - {"headers"} and origin.framework != "wsgi":
            # a number inside a JSON body (request.json["count"])
            if origin.field in ("json", "get_json", "json_body", "data", "body"):
                return SizeTrace(origin, expr, names)
        index = ctx.literal(expr.slice)
        position = index if isinstance(index, int) and not isinstance(index, bool) else None
        return _size_from_input(ctx, expr.value, names, depth + 1, position)
    if isinstance(expr, ast.BinOp):
        if isinstance(expr.op, _SIZE_KEEPING_OPS):
            return (_size_from_input(ctx, expr.left, names, depth + 1)
                    or _size_from_input(ctx, expr.right, names, depth + 1))
        if isinstance(expr.op, _SIZE_LEFT_OPS):
            return _size_from_input(ctx, expr.left, names, depth + 1)
        return None
    if isinstance(expr, ast.Attribute):
        if expr.attr == "content_length" and _request_object(ctx, expr.value) is not None:
            return SizeTrace(Origin("request", expr, "content_length"), expr, names)
        return None
    if isinstance(expr, ast.Call):
        qualname = ctx.qualname(expr.func)
        if qualname in ("builtins.int", "builtins.float", "builtins.abs", "builtins.round"):
            arg = ctx.argument(expr, 0)
            origin = _request_data(ctx, arg)
            if origin is not None:
                return SizeTrace(origin, expr, names)
            return _size_from_input(ctx, arg, names, depth + 1)
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "get" and ctx.keyword(expr, "type") is not None:
            origin = _request_data(ctx, expr.func.value)
            if origin is not None and ctx.qualname(ctx.keyword(expr, "type")) in ("builtins.int", "builtins.float"):
                return SizeTrace(origin, expr, names)
        if qualname in ("builtins.max",):
            for arg in expr.args:
                found = _size_from_input(ctx, arg, names, depth + 1)
                if found is not None:
                    return found
            return None
        unpacker = qualname in _UNPACKERS or (
            isinstance(expr.func, ast.Attribute) and expr.func.attr in ("unpack", "unpack_from", "from_bytes")
            and qualname is not None and (qualname.startswith("struct.") or qualname.endswith("int.from_bytes")))
        if unpacker:
            from_bytes = bool(qualname and qualname.endswith("from_bytes"))
            struct_object = (qualname or "").startswith("struct.Struct()")
            if not from_bytes and _small_fields(ctx, expr, struct_object, field):
                return None  # 8- and 16-bit fields: the format itself bounds the value
            data = ctx.argument(expr, 0 if from_bytes or struct_object else 1, "buffer")
            origin = _received(ctx, data)
            if origin is not None:
                return SizeTrace(origin, expr, names)
        return None
    return None


_SMALL_CODES = frozenset("bBhH?")
_NUMBER_CODES = frozenset("bBhH?iIlLqQnNefdP")


def _struct_format(ctx: FileContext, call: ast.Call, struct_object: bool) -> str | None:
    if not struct_object:
        value = ctx.literal(ctx.argument(call, 0, "format"))
        return value if isinstance(value, str) else None
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    for _ in range(4):
        if isinstance(receiver, ast.Name):
            binding = ctx.binding(receiver)
            receiver = binding.value if binding is not None and binding.kind == "assign" else None
        elif isinstance(receiver, ast.Attribute):
            receiver = None
    if isinstance(receiver, ast.Call):
        value = ctx.literal(ctx.argument(receiver, 0, "format"))
        return value if isinstance(value, str) else None
    return None


def _small_fields(ctx: FileContext, call: ast.Call, struct_object: bool, field: int | None) -> bool:
    """The unpacked value (field ``field``, or every numeric field when unknown) is an 8- or
    16-bit integer, so it cannot exceed 65535."""
    fmt = _struct_format(ctx, call, struct_object)
    if fmt is None:
        return False
    codes: list[str] = []
    count = ""
    for ch in fmt.lstrip("@=<>!"):
        if ch.isdigit():
            count += ch
        elif ch.isspace():
            continue
        else:
            n = int(count) if count else 1
            count = ""
            if ch in "sp":
                codes.append(ch)
            elif ch != "x":
                codes.extend(ch * n)
    if field is not None:
        return 0 <= field < len(codes) and codes[field] in _SMALL_CODES
    numbers = [c for c in codes if c in _NUMBER_CODES]
    return bool(numbers) and all(c in _SMALL_CODES for c in numbers)


def _bounded(ctx: FileContext, trace: SizeTrace, sink: ast.AST) -> bool:
    scope = _scope_node(ctx, sink)
    checked = _function_names(ctx, scope, "SR801.checks")
    line = sink.lineno
    for name in trace.names:
        if any(at <= line for at in checked.get(name, ())):
            return True
    return False


def _origin_phrase(ctx: FileContext, trace: SizeTrace) -> str:
    origin = trace.origin
    shown = ctx.text(trace.source, 50)
    if origin.kind == "request":
        return f"`{shown}`, a value the client sends"
    what = ctx.text(origin.node, 40)
    if origin.kind == "network":
        return f"`{shown}`, decoded from bytes received by `{what}`"
    return f"`{shown}`, decoded from bytes read by `{what}`"


@register
class UnboundedSizeFromInput(Rule):
    """Size or count taken from the network or a request and used without an upper bound.

    ## What it finds
    A number that comes from outside, used to allocate memory, read or loop with no upper
    bound checked first:
    - sources: a value unpacked with `struct.unpack` / `unpack_from` / `Struct.unpack` or
      `int.from_bytes` from bytes received with `recv` / `recvfrom` / `read` (or a request
      body), `int(...)` of a request field (`request.args[...]`, `req.GET`, `req.params`,
      `request.headers["Content-Length"]`, `self.headers` in an `http.server` handler,
      `environ["CONTENT_LENGTH"]`), `request.content_length`, a number inside a JSON body, and
      local names bound to any of them (also after arithmetic such as `n * 4 + 8`);
    - uses: `recv(n)`, `recv_into(buf, n)`, `read(n)`, `readexactly(n)`, `range(n)`,
      `bytearray(n)`, `bytes(n)`, `b"\\0" * n`, `[x] * n`.

    A name compared with `<`, `<=`, `>`, `>=` against anything but 0 or 1 earlier in the function,
    passed through `min()` or handed to a function named like a check (`check_size(n)`,
    `_validate_length(n)`) is treated as bounded. Bytes read from a file we cannot identify as
    a socket or stream give medium confidence.

    ## Why it is dangerous
    The peer chooses the number. A four-byte length field of `0xFFFFFFFF` makes `recv(n)` or
    `read(n)` try to allocate 4 GiB at once, `bytearray(n)` does the same, and `range(n)` spins
    the worker for as long as the attacker likes. One message is enough to exhaust the memory of
    the process (or of the host, for a service that runs on every compute node) or to stall it.

    ## Example
    ```python
    import struct
    def read_frame(sock):
        (length,) = struct.unpack("!I", sock.recv(4))
        return sock.recv(length)
    ```

    ## Safe alternative
    ```python
    import struct
    MAX_FRAME = 1 << 20
    def read_frame(sock):
        (length,) = struct.unpack("!I", sock.recv(4))
        if length > MAX_FRAME:
            raise ValueError("frame too large")
        return sock.recv(length)
    ```
    Check every size against a limit that fits the protocol before using it, or clamp it with
    `min(length, MAX)`; read large bodies in fixed-size chunks.

    ## References
    - https://cwe.mitre.org/data/definitions/770.html
    - https://cwe.mitre.org/data/definitions/789.html
    """

    id = "SR801"
    name = "unbounded-size-from-input"
    cwe = 770
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = ("Compare the size with a protocol limit before using it (`if n > MAX: raise ...`) or clamp it "
           "with `min(n, MAX)`, and read large payloads in fixed-size chunks.")
    calls = ("builtins.range", "builtins.bytearray", "builtins.bytes")
    methods = ("recv", "recv_into", "read", "readexactly", "read1")
    nodes = (ast.BinOp, ast.Call)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname in ("builtins.range", "builtins.bytearray", "builtins.bytes"):
            if qualname != "builtins.range" and len(call.args) != 1:
                return
            candidates = list(call.args[:2])
            verb = {"builtins.range": "loops", "builtins.bytearray": "allocates",
                    "builtins.bytes": "allocates"}[qualname]
        elif isinstance(call.func, ast.Attribute):
            position = 1 if call.func.attr == "recv_into" else 0
            size = ctx.argument(call, position, "nbytes" if call.func.attr == "recv_into" else None)
            if size is None:
                size = ctx.argument(call, None, "n") or ctx.argument(call, None, "size")
            candidates = [size] if size is not None else []
            verb = "reads"
        else:
            return
        for arg in candidates:
            trace = _size_from_input(ctx, arg)
            if trace is not None and verb == "loops" and trace.origin.kind == "file":
                continue  # a loop over a count read from a local file stops at the file's end
            if trace is not None and not _bounded(ctx, trace, call):
                self._report(ctx, call, arg, trace, verb)
                return

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first test, on all the nodes of one type at once
        if node_type is ast.Call:
            return [node for node in ctx.calls_named(nodes, _RECEIVE_HELPERS.__contains__)
                    if isinstance(node.func, ast.Name) and node.args]
        if node_type is ast.BinOp:
            return [node for node in nodes if isinstance(node.op, ast.Mult)]
        return nodes

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        if isinstance(node, ast.Call):
            # a module's own receive helper: ``recv(sock, n)`` / ``recv_exact(n)``
            if isinstance(node.func, ast.Name) and node.func.id in _RECEIVE_HELPERS and node.args:
                size = node.args[-1]
                trace = _size_from_input(ctx, size)
                if trace is not None and not _bounded(ctx, trace, node):
                    self._report(ctx, node, size, trace, "reads")
            return
        if not isinstance(node.op, ast.Mult):
            return
        for seq, count in ((node.left, node.right), (node.right, node.left)):
            if isinstance(seq, (ast.List, ast.Tuple)) or (
                    isinstance(seq, ast.Constant) and isinstance(seq.value, (bytes, str))):
                trace = _size_from_input(ctx, count)
                if trace is not None and not _bounded(ctx, trace, node):
                    self._report(ctx, node, count, trace, "allocates")
                return

    def _report(self, ctx: FileContext, node: ast.AST, size: ast.AST, trace: SizeTrace, verb: str) -> None:
        what = ctx.text(node, 50)
        who = {"request": "the client", "network": "the peer"}.get(trace.origin.kind, "whoever wrote the data")
        effect = {
            "loops": f"{who} decides how many times this loop runs",
            "allocates": f"{who} decides how much memory is allocated here",
            "reads": f"{who} decides how large a buffer is allocated and filled here",
        }[verb]
        confidence = Level.MEDIUM if trace.origin.kind == "file" else Level.HIGH
        shown = ctx.text(size, 40)
        if ctx.text(trace.source, 50) == shown:
            source = f"`{shown}` is {_origin_phrase(ctx, trace)}"
        else:
            source = f"`{shown}` comes from {_origin_phrase(ctx, trace)}"
        ctx.report(self, node,
                   f"`{what}` uses a size nobody bounded: {source}, and no upper limit is checked before "
                   f"this use, so {effect}. A value such as 0xFFFFFFFF exhausts memory or stalls the worker.",
                   confidence=confidence,
                   trace=[(trace.origin.node, "input read here"), (trace.source, "size taken from it"),
                          (node, "used without a bound")])


# ============================================================================ SR802


def _handles_request(ctx: FileContext, node: ast.AST) -> bool:
    """The enclosing function is given the request (``request`` / ``req`` / ``environ``)."""
    func = ctx.index.function_of(node)
    if func is None:
        return False
    return any(arg.arg in REQUEST_NAMES or arg.arg == "environ" for arg in func.args.args)


def _fixed_host(ctx: FileContext, url: ast.AST) -> bool:
    """The URL's scheme and host are constant text (``f"https://releases.example.org/{v}"``):
    the code, not the caller, picks the server."""
    if isinstance(url, ast.Name):
        binding = ctx.binding(url)
        if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None:
            return _fixed_host(ctx, binding.value)
        return False
    if isinstance(url, ast.JoinedStr) and url.values and isinstance(url.values[0], ast.Constant):
        head = str(url.values[0].value)
    elif isinstance(url, ast.BinOp) and isinstance(url.op, (ast.Add, ast.Mod)):
        left = url.left
        while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add):
            left = left.left
        value = ctx.literal(left)
        head = value if isinstance(value, str) else ""
    elif isinstance(url, ast.Call) and isinstance(url.func, ast.Attribute) and url.func.attr == "format":
        value = ctx.literal(url.func.value)
        head = value if isinstance(value, str) else ""
    else:
        return False
    scheme, sep, rest = head.partition("://")
    return bool(sep) and "/" in rest and "{" not in rest.split("/")[0] and "%" not in rest.split("/")[0]


def _accumulates(loop: ast.While, chunk_names: set[str], recv_calls: list[ast.Call]) -> ast.AST | None:
    """The statement that appends received chunks to a buffer inside ``loop``, if any."""
    for node in ast.walk(loop):
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            value = node.value
            if (isinstance(value, ast.Name) and value.id in chunk_names) or any(value is c for c in recv_calls):
                return node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("append", "extend") and node.args:
            arg = node.args[0]
            if (isinstance(arg, ast.Name) and arg.id in chunk_names) or any(arg is c for c in recv_calls):
                return node
    return None


def _loop_is_capped(loop: ast.While) -> bool:
    """A comparison in the loop involves ``len(...)`` or a counter the loop updates."""
    counters = {node.target.id for node in ast.walk(loop)
                if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)
                and not (isinstance(node.op, ast.Add) and isinstance(node.value, ast.Name))}
    for node in ast.walk(loop):
        if isinstance(node, ast.Compare) and any(
                isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for op in node.ops):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and _attr_or_name(sub.func) in ("len", "tell", "getbuffer"):
                    return True
                if isinstance(sub, ast.Name) and sub.id in counters:
                    return True
        if isinstance(node, ast.Call) and _attr_or_name(node.func) == "min":
            return True
    return False


@register
class UnboundedRead(Rule):
    """Read from a request stream or a socket with no size limit.

    ## What it finds
    - `.read()`, `.readline()` and `.readlines()` without a size (or with `-1` / `None`) on
      request body streams: `request.stream`, `req.body_file`, `environ["wsgi.input"]`,
      `self.rfile` in an `http.server` / `socketserver` handler, and on a socket's `makefile()`.
    - `.read()` without a size on the response of `urlopen(url)` in code that serves a request
      (the URL comes from the request, or the function is given the request), when the URL's
      host is not fixed text (medium severity, low confidence).
    - A `while` loop that calls `recv()` and appends every chunk to a buffer (`buf += chunk`,
      `chunks.append(chunk)`) with no comparison of the buffer's length, or of a byte counter,
      anywhere in the loop.

    Reads with a size, loops that compare `len(buf)` or a counter with a limit, and Flask's
    `request.get_data()` (bounded by `MAX_CONTENT_LENGTH` when it is configured) are not reported.

    ## Why it is dangerous
    Without a limit the process keeps reading for as long as the peer keeps sending: a client
    that streams gigabytes (or a chunked body without end) fills the worker's memory, and with
    `readline()` a single line without a newline does the same. Every such request holds a
    worker until it dies, so a few clients take the whole service down.

    ## Example
    ```python
    def upload(environ, start_response):
        data = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [str(len(data)).encode()]
    ```

    ## Safe alternative
    ```python
    MAX_BODY = 10 * 1024 * 1024
    def upload(environ, start_response):
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
        data = environ["wsgi.input"].read(length)
        start_response("200 OK", [])
        return [str(len(data)).encode()]
    ```
    Read at most a configured maximum (`read(limit)`), in chunks, and stop with an error once the
    total passes the limit.

    ## References
    - https://cwe.mitre.org/data/definitions/400.html
    """

    id = "SR802"
    name = "unbounded-read"
    cwe = 400
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = ("Read at most a configured maximum (`stream.read(limit)`), in fixed-size chunks, and fail once "
           "the running total passes the limit.")
    methods = ("read", "readline", "readlines")
    nodes = (ast.While,)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        assert isinstance(call.func, ast.Attribute)
        size = ctx.argument(call, 0, "size") or ctx.argument(call, None, "n") or ctx.argument(call, None, "hint")
        if size is not None and ctx.literal(size) not in (-1, None):
            return
        kind = _stream_kind(ctx, call.func.value)
        if kind is None:
            return
        method = call.func.attr
        what = ctx.text(call, 60)
        if kind == "urlopen":
            if method != "read":
                return
            opener = self._opener(ctx, call.func.value)
            url = ctx.argument(opener, 0, "url") if opener is not None else None
            if url is None or ctx.is_constant(url) or _fixed_host(ctx, url):
                return
            if _request_data(ctx, url) is None and not _handles_request(ctx, call):
                return  # only a server fetching for a client is in scope
            ctx.report(self, call,
                       f"`{what}` reads the whole HTTP response from `{ctx.text(url, 40)}` into memory with no "
                       "size limit; a server at that address (or anyone who can redirect the request) can "
                       "send an endless body and exhaust this process's memory.",
                       severity=Level.MEDIUM, confidence=Level.LOW)
            return
        source = "the request body" if kind == "request" else "the socket"
        line = " a single line without a newline" if method == "readline" else " an endless body"
        ctx.report(self, call,
                   f"`{what}` reads {source} with no size limit, so the client decides how much memory this "
                   f"process fills: sending{line} keeps the worker reading until it runs out of memory.")

    @staticmethod
    def _opener(ctx: FileContext, receiver: ast.AST, depth: int = 0) -> ast.Call | None:
        if isinstance(receiver, ast.Call):
            return receiver
        if isinstance(receiver, ast.Name) and depth < 6:
            binding = ctx.binding(receiver)
            if binding is not None and binding.value is not None:
                return UnboundedRead._opener(ctx, binding.value, depth + 1)
        return None

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node reports only a loop holding a call ``x.recv(...)``: the index collects every
        # call but those in the type parameters of a def or class (which it does not visit), so
        # in a file without type parameters and without a call named ``recv`` (FileContext.
        # call_names: most files) no loop is looked at
        if "recv" in ctx.call_names() or any(map(getattr, ctx.index.inner_scopes, repeat("type_params"), repeat(None))):
            return nodes
        return []

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.While)
        recv_calls = []
        chunk_names: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "recv":
                recv_calls.append(sub)
                parent = ctx.index.parent(sub)
                if isinstance(parent, ast.Assign):
                    chunk_names.update(t.id for t in parent.targets if isinstance(t, ast.Name))
        if not recv_calls:
            return
        inner = ctx.index.function_of(recv_calls[0])
        if inner is not ctx.index.function_of(node):
            return
        append = _accumulates(node, chunk_names, recv_calls)
        if append is None or _loop_is_capped(node):
            return
        ctx.report(self, recv_calls[0],
                   f"The loop receives with `{ctx.text(recv_calls[0], 40)}` and keeps every chunk "
                   f"(`{ctx.text(append, 40)}`) until the peer stops, with no limit on the total: a peer that "
                   "keeps sending (or never sends the terminator the loop waits for) grows the buffer until "
                   "the process runs out of memory.",
                   confidence=Level.MEDIUM,
                   fix="Keep a running total of received bytes and raise once it passes a protocol limit.")


# ============================================================================ SR803

_TAR_OPENERS = frozenset({"tarfile.open", "tarfile.TarFile", "tarfile.TarFile.open", "tarfile.TarFile.gzopen",
                          "tarfile.TarFile.bz2open", "tarfile.TarFile.xzopen", "tarfile.TarFile.taropen"})
_ZIP_OPENERS = frozenset({"zipfile.ZipFile"})
_MEMBER_CHECKS = frozenset({"getmembers", "getnames", "getmember", "infolist", "namelist", "getinfo",
                            "data_filter", "tar_filter", "commonpath", "commonprefix", "realpath",
                            "is_relative_to", "file_size"})
_DECOMPRESSORS = frozenset({"zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress"})
_STREAM_DECOMPRESSORS = ("zlib.decompressobj()", "bz2.BZ2Decompressor()", "lzma.LZMADecompressor()")


def _archive_kind(ctx: FileContext, receiver: ast.AST, depth: int = 0) -> str | None:
    if depth > 6:
        return None
    if isinstance(receiver, ast.Call):
        name = ctx.qualname(receiver.func)
        if name in _TAR_OPENERS:
            return "tar"
        if name in _ZIP_OPENERS:
            return "zip"
        return None
    if isinstance(receiver, ast.Name):
        binding = ctx.binding(receiver)
        if binding is not None and binding.kind in ("assign", "walrus", "with") and binding.value is not None:
            return _archive_kind(ctx, binding.value, depth + 1)
    return None


def _function_checks_members(ctx: FileContext, node: ast.AST) -> bool:
    """The enclosing function looks at member names or sizes, or a global extraction filter is set."""
    scope = _scope_node(ctx, node)
    cache = ctx.cache.setdefault("SR803.checks", {})
    assert isinstance(cache, dict)
    if scope not in cache:
        found = False
        for sub in ast.walk(scope):
            if isinstance(sub, ast.Attribute) and sub.attr in _MEMBER_CHECKS | {"extraction_filter"}:
                found = True
                break
            if isinstance(sub, ast.Name) and sub.id in _MEMBER_CHECKS:
                found = True
                break
        cache[scope] = found
    if cache[scope]:
        return True
    return _module_sets_filter(ctx)


def _module_sets_filter(ctx: FileContext) -> bool:
    found = ctx.cache.get("SR803.global")
    if found is None:
        found = any(isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "extraction_filter" for t in stmt.targets)
            for stmt in ctx.index.tree.body)
        ctx.cache["SR803.global"] = found
    return bool(found)


@register
class ArchiveExtractionUnchecked(Rule):
    """Archive extracted, or data decompressed, without path and size checks.

    ## What it finds
    - `TarFile.extractall()` / `extract()` on a `tarfile.open(...)` archive without a safe
      `filter=` (`"data"` or `"tar"`, or a filter function), and `shutil.unpack_archive(...)`
      without `filter=`, unless the function inspects the members first (`getmembers()`,
      `getnames()`, `os.path.commonpath`, `realpath`...) or the module sets
      `TarFile.extraction_filter`. `filter="fully_trusted"` is reported too.
    - `ZipFile.extractall()` / `extract()` with no look at the members' sizes (`infolist()`,
      `file_size`) in the function: low severity, since `zipfile` already strips `..` and
      absolute paths, but nothing limits how much it writes (a zip bomb).
    - `zlib.decompress`, `gzip.decompress`, `bz2.decompress`, `lzma.decompress`, and a
      decompressor object's `decompress(data)` without `max_length`, applied to bytes received
      from a socket or a request.

    ## Why it is dangerous
    A tar member named `../../etc/cron.d/job` or `/root/.ssh/authorized_keys`, or a symbolic
    link followed by a member written through it, lands outside the target directory: the
    uploader writes files anywhere the service can (zip slip, CWE-22). A small compressed input
    can expand to gigabytes (a decompression bomb, CWE-409), filling memory or the disk.

    ## Example
    ```python
    import tarfile
    def import_bundle(path, dest):
        with tarfile.open(path) as bundle:
            bundle.extractall(dest)
    ```

    ## Safe alternative
    ```python
    import tarfile
    def import_bundle(path, dest):
        with tarfile.open(path) as bundle:
            bundle.extractall(dest, filter="data")
    ```
    On Python 3.12 and later pass `filter="data"` (it refuses absolute paths, `..`, links out of
    the tree and device files); otherwise check every member's name, type and size before
    extracting it. Decompress received data through `decompressobj().decompress(data,
    max_length)` and stop at a limit.

    ## References
    - https://cwe.mitre.org/data/definitions/22.html
    - https://cwe.mitre.org/data/definitions/409.html
    - https://docs.python.org/3/library/tarfile.html#extraction-filters
    """

    id = "SR803"
    name = "archive-extraction-unchecked"
    cwe = 22
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Pass `filter=\"data\"` to `extractall` / `extract` / `unpack_archive` (or check every member's "
           "name, type and size first), and decompress untrusted data with a `max_length` limit.")
    calls = ("shutil.unpack_archive", *_DECOMPRESSORS)
    methods = ("extractall", "extract", "decompress")

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname == "shutil.unpack_archive":
            self._unpack_archive(ctx, call)
        elif qualname in _DECOMPRESSORS:
            self._decompress(ctx, call, qualname)
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "decompress":
            if qualname is not None and qualname.startswith(_STREAM_DECOMPRESSORS):
                if ctx.argument(call, 1, "max_length") is None:
                    self._decompress(ctx, call, qualname)
        elif isinstance(call.func, ast.Attribute):
            kind = _archive_kind(ctx, call.func.value)
            if kind == "tar":
                self._tar(ctx, call)
            elif kind == "zip":
                self._zip(ctx, call)

    def _unsafe_filter(self, ctx: FileContext, call: ast.Call) -> tuple[bool, str]:
        flt = ctx.keyword(call, "filter")
        if flt is None:
            return True, "without a `filter=`"
        value = ctx.literal(flt)
        name = ctx.qualname(flt) or ""
        if value == "fully_trusted" or name.endswith("fully_trusted_filter"):
            return True, f"with `filter={ctx.text(flt, 30)}`, which trusts every member"
        return False, ""

    def _tar(self, ctx: FileContext, call: ast.Call) -> None:
        unsafe, how = self._unsafe_filter(ctx, call)
        if not unsafe:
            return
        members = ctx.keyword(call, "members")
        if members is not None and not (isinstance(members, ast.Call) and _attr_or_name(members.func) == "getmembers"):
            return  # the caller picked the members
        if "fully_trusted" not in how and _function_checks_members(ctx, call):
            return
        what = ctx.text(call, 60)
        ctx.report(self, call,
                   f"`{what}` extracts a tar archive {how}: a member named `../...` or with an absolute path, "
                   "or a symlink followed by a member written through it, is written outside the target "
                   "directory, wherever this process may write.")

    def _zip(self, ctx: FileContext, call: ast.Call) -> None:
        if ctx.keyword(call, "members") is not None or _function_checks_members(ctx, call):
            return
        ctx.report(self, call,
                   f"`{ctx.text(call, 60)}` extracts a zip archive without looking at its members' sizes or "
                   "count; `zipfile` strips `..` and absolute paths, but a small archive that expands to "
                   "gigabytes (a zip bomb) still fills the disk.",
                   severity=Level.LOW, confidence=Level.MEDIUM,
                   fix="Check `sum(info.file_size for info in archive.infolist())` and the member count against "
                       "limits before extracting.")

    def _unpack_archive(self, ctx: FileContext, call: ast.Call) -> None:
        unsafe, how = self._unsafe_filter(ctx, call)
        if not unsafe:
            return
        fmt = ctx.literal(ctx.argument(call, 2, "format"))
        if fmt == "zip":
            return
        if "fully_trusted" not in how and _function_checks_members(ctx, call):
            return
        ctx.report(self, call,
                   f"`{ctx.text(call, 60)}` unpacks an archive {how}; for tar formats that means members with "
                   "`..`, absolute paths or links are written outside the target directory, wherever this "
                   "process may write.")

    def _decompress(self, ctx: FileContext, call: ast.Call, qualname: str) -> None:
        data = ctx.argument(call, 0, "data")
        origin = _received(ctx, data)
        if origin is None or origin.kind == "file":
            return
        ctx.report(self, call,
                   f"`{ctx.text(call, 60)}` decompresses `{ctx.text(data, 30)}`, received from "
                   f"`{ctx.text(origin.node, 40)}`, with no limit on the output: a few kilobytes of crafted "
                   "input expand to gigabytes and exhaust memory (a decompression bomb).",
                   severity=Level.MEDIUM,
                   fix="Use `zlib.decompressobj()` (or `bz2.BZ2Decompressor` / `lzma.LZMADecompressor`) and "
                       "call `decompress(data, max_length)`, failing once the output passes a limit.",
                   trace=[(origin.node, "received here"), (call, "decompressed without a limit")])


# ============================================================================ regex analysis
#
# A small, conservative parser of Python regular expressions into a tree, and a test for the
# shape that makes a backtracking engine take exponential time: a repetition whose body can
# match the same run of one character in two or more ways (``(a+)+``, ``(\w+\s?)*``,
# ``(a|a)*``, ``(\d|\d\d)+``, ``(.*,){12}``). Constructs we do not model (backreferences,
# conditionals, atomic groups, possessive quantifiers) make the analysis give up.

_ALPHABET = frozenset(chr(i) for i in range(128)) | frozenset("\u00e9\u4e2d\u00a0\u0663\u2028")
_DIGITS = frozenset(c for c in _ALPHABET if c.isdecimal())
_WORDS = frozenset(c for c in _ALPHABET if c.isalnum() or c == "_")
_SPACES = frozenset(c for c in _ALPHABET if c.isspace())
_MAX_PATTERN = 2000
_RUN = 4  # lengths of single-character runs considered


class _Unsupported(Exception):
    pass


class _RNode:
    __slots__ = ("kind", "chars", "items", "min", "max", "start", "end", "parent", "anchor")

    def __init__(self, kind: str, start: int, end: int = 0):
        self.kind = kind  # char | seq | alt | rep | zero
        self.chars: frozenset[str] = frozenset()
        self.items: list[_RNode] = []
        self.min = 0
        self.max: int | None = 0
        self.start = start
        self.end = end
        self.parent: _RNode | None = None
        self.anchor = False


class _RegexParser:
    def __init__(self, pattern: str, ignorecase: bool, dotall: bool, verbose: bool):
        self.p = pattern
        self.i = 0
        self.ignorecase = ignorecase
        self.dotall = dotall
        self.verbose = verbose
        self.reps: list[_RNode] = []

    def parse(self) -> _RNode:
        self._leading_flags()
        node = self._alt()
        if self.i != len(self.p):
            raise _Unsupported("unbalanced")
        return node

    def _leading_flags(self) -> None:
        while self.p.startswith("(?", self.i) and self.i + 2 < len(self.p) and self.p[self.i + 2] in "aiLmsux":
            end = self.p.find(")", self.i)
            if end < 0 or ":" in self.p[self.i:end]:
                return
            flags = self.p[self.i + 2:end]
            self.ignorecase |= "i" in flags
            self.dotall |= "s" in flags
            self.verbose |= "x" in flags
            self.i = end + 1

    def _peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def _alt(self) -> _RNode:
        start = self.i
        alt = _RNode("alt", start)
        alt.items.append(self._seq())
        while self._peek() == "|":
            self.i += 1
            alt.items.append(self._seq())
        alt.end = self.i
        for item in alt.items:
            item.parent = alt
        return alt

    def _seq(self) -> _RNode:
        seq = _RNode("seq", self.i)
        while self.i < len(self.p) and self._peek() not in "|)":
            if self.verbose and self._skip_verbose():
                continue
            atom = self._atom()
            atom = self._quantified(atom)
            if atom is not None:
                atom.parent = seq
                seq.items.append(atom)
        seq.end = self.i
        return seq

    def _skip_verbose(self) -> bool:
        c = self._peek()
        if c.isspace():
            self.i += 1
            return True
        if c == "#":
            end = self.p.find("\n", self.i)
            self.i = len(self.p) if end < 0 else end + 1
            return True
        return False

    def _char(self, chars: frozenset[str], start: int) -> _RNode:
        node = _RNode("char", start, self.i)
        if self.ignorecase:
            chars = chars | frozenset(c.swapcase() for c in chars if len(c.swapcase()) == 1)
        node.chars = chars
        return node

    def _zero(self, start: int, anchor: bool = True) -> _RNode:
        node = _RNode("zero", start, self.i)
        node.anchor = anchor
        return node

    def _atom(self) -> _RNode | None:
        start = self.i
        c = self.p[self.i]
        self.i += 1
        if c == "(":
            return self._group(start)
        if c == "[":
            return self._char(self._class(), start)
        if c == ".":
            chars = _ALPHABET if self.dotall else _ALPHABET - {"\n"}
            return self._char(chars, start)
        if c in "^$":
            return self._zero(start)
        if c == "\\":
            return self._escape(start, in_class=False)
        if c in "*+?":
            raise _Unsupported("nothing to repeat")
        if c == "{" and self._quantifier_at(start):
            raise _Unsupported("nothing to repeat")
        return self._char(frozenset(c), start)

    def _group(self, start: int) -> _RNode | None:
        p = self.p
        lookaround = False
        if p.startswith("?", self.i):
            rest = p[self.i + 1:self.i + 3]
            if rest.startswith(":"):
                self.i += 2
            elif rest.startswith("P<"):
                end = p.find(">", self.i)
                if end < 0:
                    raise _Unsupported("group name")
                self.i = end + 1
            elif rest.startswith("P="):
                raise _Unsupported("backreference")
            elif rest[:1] in ("=", "!"):
                self.i += 2
                lookaround = True
            elif rest in ("<=", "<!"):
                self.i += 3
                lookaround = True
            elif rest.startswith("#"):
                end = p.find(")", self.i)
                if end < 0:
                    raise _Unsupported("comment")
                self.i = end + 1
                return None
            elif rest[:1] in ("(", ">"):
                raise _Unsupported("conditional or atomic group")
            else:
                end = self.i + 1
                while end < len(p) and p[end] not in ":)":
                    end += 1
                flags = p[self.i + 1:end]
                if end >= len(p) or p[end] != ":" or not all(f in "aiLmsux-" for f in flags):
                    raise _Unsupported("inline flags")
                if "i" in flags.partition("-")[0]:
                    self.ignorecase = True
                if "s" in flags.partition("-")[0]:
                    self.dotall = True
                self.i = end + 1
        inner = self._alt()
        if self._peek() != ")":
            raise _Unsupported("unbalanced")
        self.i += 1
        if lookaround:
            return self._zero(start)
        inner.start, inner.end = start, self.i
        return inner

    def _class(self) -> frozenset[str]:
        p = self.p
        negate = False
        if self._peek() == "^":
            negate = True
            self.i += 1
        chars: set[str] = set()
        first = True
        while True:
            if self.i >= len(p):
                raise _Unsupported("unterminated class")
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            self.i += 1
            if c == "\\":
                got = self._escape(self.i - 1, in_class=True)
                low = got.chars
            else:
                low = frozenset(c)
            if self._peek() == "-" and self.i + 1 < len(p) and p[self.i + 1] != "]" and len(low) == 1:
                self.i += 1
                hc = p[self.i]
                self.i += 1
                high = self._escape(self.i - 1, in_class=True).chars if hc == "\\" else frozenset(hc)
                if len(high) != 1:
                    raise _Unsupported("class range")
                lo, hi = ord(next(iter(low))), ord(next(iter(high)))
                chars.update(ch for ch in _ALPHABET if lo <= ord(ch) <= hi)
                chars.update(low | high)
            else:
                chars.update(low)
        if self.ignorecase:
            chars |= {c.swapcase() for c in chars if len(c.swapcase()) == 1}
        result = frozenset(chars)
        return _ALPHABET - result if negate else result

    def _escape(self, start: int, in_class: bool) -> _RNode:
        p = self.p
        if self.i >= len(p):
            raise _Unsupported("trailing backslash")
        c = p[self.i]
        self.i += 1
        sets = {"d": _DIGITS, "w": _WORDS, "s": _SPACES}
        if c in sets:
            return self._char(sets[c], start)
        if c.lower() in sets:
            return self._char(_ALPHABET - sets[c.lower()], start)
        if not in_class and c in "bBAZ":
            return self._zero(start)
        simple = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a", "b": "\b"}
        if c in simple:
            return self._char(frozenset(simple[c]), start)
        if c in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[c]
            digits = p[self.i:self.i + width]
            try:
                ch = chr(int(digits, 16))
            except ValueError:
                raise _Unsupported("escape") from None
            self.i += width
            return self._char(frozenset(ch), start)
        if c == "N":
            end = p.find("}", self.i)
            if end < 0:
                raise _Unsupported("named escape")
            self.i = end + 1
            return self._char(frozenset("\uffff"), start)
        if c == "0":
            while self.i < len(p) and p[self.i] in "01234567" and self.i - start < 4:
                self.i += 1
            return self._char(frozenset("\0"), start)
        if c.isdigit():
            if in_class:
                raise _Unsupported("octal in class")
            raise _Unsupported("backreference")
        return self._char(frozenset(c), start)

    def _quantifier_at(self, pos: int) -> tuple[int, int | None, int] | None:
        """A ``{m,n}`` quantifier starting at ``pos``: (min, max, end), or None for a literal brace."""
        p = self.p
        end = p.find("}", pos)
        if end < 0:
            return None
        body = p[pos + 1:end]
        lo, comma, hi = body.partition(",")
        if not (lo.isdigit() or (comma and lo == "")) or (hi and not hi.isdigit()) or (not comma and not lo):
            return None
        low = int(lo) if lo else 0
        high = None if comma and not hi else int(hi) if hi else low
        return low, high, end + 1

    def _quantified(self, atom: _RNode | None) -> _RNode | None:
        while True:
            c = self._peek()
            if atom is None or c == "" or c not in "*+?{":
                return atom
            start = atom.start
            if c == "{":
                found = self._quantifier_at(self.i)
                if found is None:
                    return atom
                low, high, self.i = found
            else:
                self.i += 1
                low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            if self._peek() == "+":
                raise _Unsupported("possessive quantifier")
            if self._peek() == "?":
                self.i += 1  # lazy: still backtracks
            rep = _RNode("rep", start, self.i)
            rep.min, rep.max = low, high
            rep.items = [atom]
            atom.parent = rep
            self.reps.append(rep)
            atom = rep


def _chars_in(node: _RNode) -> frozenset[str]:
    if node.kind == "char":
        return node.chars
    result: frozenset[str] = frozenset()
    for item in node.items:
        result |= _chars_in(item)
    return result


def _has_zero_width(node: _RNode) -> bool:
    return node.kind == "zero" or any(_has_zero_width(item) for item in node.items)


def _nullable(node: _RNode) -> bool:
    if node.kind == "zero":
        return True
    if node.kind == "char":
        return False
    if node.kind == "seq":
        return all(_nullable(i) for i in node.items)
    if node.kind == "alt":
        return any(_nullable(i) for i in node.items)
    return node.min == 0 or _nullable(node.items[0])


def _ways(node: _RNode, c: str) -> dict[int, int]:
    """For runs of ``c`` up to ``_RUN`` long: in how many ways (capped at 2) ``node`` matches
    each length."""
    if node.kind == "char":
        return {1: 1} if c in node.chars else {}
    if node.kind == "zero":
        return {0: 1}
    if node.kind == "seq":
        result = {0: 1}
        for item in node.items:
            result = _combine(result, _ways(item, c))
            if not result:
                return {}
        return result
    if node.kind == "alt":
        result: dict[int, int] = {}
        for item in node.items:
            for length, count in _ways(item, c).items():
                result[length] = min(2, result.get(length, 0) + count)
        return result
    # repetition; an iteration that matches nothing ends the loop in Python's engine
    body = {k: v for k, v in _ways(node.items[0], c).items() if k > 0}
    result = {0: 1} if node.min == 0 or _nullable(node.items[0]) else {}
    power = {0: 1}
    top = _RUN if node.max is None else min(node.max, _RUN)
    for k in range(1, top + 1):
        power = _combine(power, body)
        if not power:
            break
        if k >= node.min or _nullable(node.items[0]):
            for length, count in power.items():
                result[length] = min(2, result.get(length, 0) + count)
    return result


def _combine(left: dict[int, int], right: dict[int, int]) -> dict[int, int]:
    result: dict[int, int] = {}
    for a, x in left.items():
        for b, y in right.items():
            if a + b <= _RUN:
                result[a + b] = min(2, result.get(a + b, 0) + x * y)
    return result


def _can_fail_after(rep: _RNode) -> bool:
    """Something after ``rep`` can fail (a required item or an anchor), forcing backtracking."""
    node = rep
    parent = node.parent
    while parent is not None:
        if parent.kind == "seq":
            after = parent.items[parent.items.index(node) + 1:]
            if any(item.anchor or not _nullable(item) for item in after):
                return True
        node, parent = parent, parent.parent
    return False


class RegexProblem:
    __slots__ = ("text", "char", "fails_after")

    def __init__(self, text: str, char: str, fails_after: bool):
        self.text = text
        self.char = char
        self.fails_after = fails_after


def analyse_regex(pattern: str, ignorecase: bool = False, dotall: bool = False,
                  verbose: bool = False) -> RegexProblem | None:
    """The first repetition of ``pattern`` whose body matches a run of one character in more
    than one way, or None (also when the pattern uses constructs this analysis does not model)."""
    if len(pattern) > _MAX_PATTERN:
        return None
    parser = _RegexParser(pattern, ignorecase, dotall, verbose)
    try:
        parser.parse()
    except (_Unsupported, IndexError, ValueError):
        return None
    for rep in parser.reps:
        if rep.max is not None and rep.max < 10:
            continue
        body = rep.items[0]
        if _has_zero_width(body):
            continue  # a lookaround or word boundary inside may forbid the splits
        for c in sorted(_chars_in(body) & _ALPHABET, key=lambda ch: (not ch.isalpha(), not ch.isalnum(), ch)):
            ways = _ways(body, c)
            if sum(count for length, count in ways.items() if length > 0) >= 2:
                return RegexProblem(pattern[rep.start:rep.end], c, _can_fail_after(rep))
    return None


# ============================================================================ SR804

_RE_FUNCTIONS = {  # name -> position of the searched string
    "compile": None, "match": 1, "search": 1, "fullmatch": 1, "findall": 1, "finditer": 1,
    "sub": 2, "subn": 2, "split": 1,
}
_RE_MODULES = ("re", "regex")


def _regex_flags(ctx: FileContext, expr: ast.AST | None) -> set[str]:
    found: set[str] = set()
    if expr is None:
        return found
    for sub in ast.walk(expr):
        if isinstance(sub, (ast.Attribute, ast.Name)):
            name = (ctx.qualname(sub) or _attr_or_name(sub)).rpartition(".")[2]
            found.add({"IGNORECASE": "I", "DOTALL": "S", "VERBOSE": "X"}.get(name, name))
    value = ctx.literal(expr)
    if isinstance(value, int) and not isinstance(value, bool):
        if value & 2:
            found.add("I")
        if value & 16:
            found.add("S")
        if value & 64:
            found.add("X")
    return found


def _shown_char(c: str) -> str:
    return repr(c)[1:-1] if not c.isalnum() else c


@register
class CatastrophicRegex(Rule):
    """Regular expression that can backtrack for exponential time.

    ## What it finds
    - A constant pattern given to `re.compile`, `re.match`, `search`, `fullmatch`, `findall`,
      `finditer`, `sub`, `subn` or `split` with a repetition whose body can match the same run
      of characters in more than one way: nested quantifiers (`(a+)+`, `(\\w+\\s?)*`,
      `(.*,){12}`) and overlapping alternatives under a quantifier (`(a|a)*`, `(\\d|\\d\\d)+`,
      `(\\s|.)*`). The pattern is parsed by a small analyser of its own; constructs it does not
      model (backreferences, conditionals, atomic groups) are left alone. Something must follow
      the repetition that can fail (a required character or an anchor), or the call must be
      `fullmatch`, or the backtracking never starts. A call applied to a constant string is not
      reported; `re.compile` is reported with medium confidence, since the text it is applied to
      is decided elsewhere.

    A pattern built from input without `re.escape` is reported by the data-flow rule SR118
    (`tainted-regex`), not by this rule.

    ## Why it is dangerous
    Python's `re` engine backtracks. When a repeated group can split a run of characters between
    its iterations in many ways, a subject made of a long run followed by a character that makes
    the match fail forces the engine through every split: 30 characters can take minutes. The
    worker doing the match is stuck and a handful of requests stops the service.

    ## Example
    ```python
    import re
    HOSTNAME = re.compile(r"^([a-z0-9]+-?)+$")
    def valid_hostname(name):
        return HOSTNAME.match(name) is not None
    ```

    ## Safe alternative
    ```python
    import re
    HOSTNAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
    def valid_hostname(name):
        return len(name) <= 63 and HOSTNAME.match(name) is not None
    ```
    Rewrite the pattern so that each character can be matched in only one way (make the
    separator mandatory inside the repeated group, drop the inner quantifier), bound the input
    length before matching, and pass text from users through `re.escape` before putting it in a
    pattern.

    ## References
    - https://cwe.mitre.org/data/definitions/1333.html
    - https://owasp.org/www-community/attacks/Regular_expression_Denial_of_Service_-_ReDoS
    """

    id = "SR804"
    name = "catastrophic-regex"
    cwe = 1333
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = ("Rewrite the pattern so each character can match in only one way (make the separator inside the "
           "repeated group mandatory, drop the inner quantifier, remove overlapping alternatives) and bound the "
           "length of the text before matching.")
    calls = tuple(f"{module}.{name}" for module in _RE_MODULES for name in _RE_FUNCTIONS)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        assert qualname is not None
        func = qualname.rpartition(".")[2]
        pattern = ctx.argument(call, 0, "pattern")
        if pattern is None:
            return
        value = ctx.literal(pattern)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str):
            return  # a pattern built from input is the data-flow rule SR118's finding
        position = _RE_FUNCTIONS[func]
        subject = None
        if position is not None:
            subject = ctx.argument(call, position, "string")
            if subject is None or ctx.is_constant(subject):
                return
        flag_position = {"compile": 1, "sub": 4, "subn": 4, "split": 3}.get(func, 2)
        flags = _regex_flags(ctx, ctx.argument(call, flag_position, "flags"))
        problem = analyse_regex(value, "I" in flags, "S" in flags, "X" in flags)
        if problem is None or not (problem.fails_after or func == "fullmatch"):
            return
        char = _shown_char(problem.char)
        applied = (f"applied to `{ctx.text(subject, 30)}`" if subject is not None
                   else "compiled here and applied wherever it is used")
        ctx.report(self, call,
                   f"The pattern of `{qualname}` ({applied}) repeats `{problem.text}`, whose body can match a run "
                   f"of `{char}` in more than one way: a subject with a few dozen `{char}` followed by a character "
                   "that makes the match fail sends the backtracking engine through exponentially many splits and "
                   "stalls the worker.",
                   confidence=Level.HIGH if subject is not None else Level.MEDIUM)


# ============================================================================ SR805

_PARSERS = {
    "builtins.int": "ValueError", "builtins.float": "ValueError", "uuid.UUID": "ValueError",
    "base64.b64decode": "binascii.Error", "base64.urlsafe_b64decode": "binascii.Error",
    "base64.b32decode": "binascii.Error", "base64.b16decode": "binascii.Error",
    "base64.decodebytes": "binascii.Error", "datetime.datetime.strptime": "ValueError",
    "ipaddress.ip_address": "ValueError", "ipaddress.ip_network": "ValueError",
    **{name: "ValueError" for name in _JSON_LOADS},
}
_LOOP_ONLY_PARSERS = {"struct.unpack": "struct.error", "struct.unpack_from": "struct.error"}
_PARSE_ERRORS = frozenset({"ValueError", "TypeError", "JSONDecodeError", "Error", "DecodeError",
                           "binascii.Error", "UnicodeDecodeError", "UnicodeError", "error", "AddressValueError"})
_KEY_ERRORS = frozenset({"KeyError", "LookupError", "IndexError", "TypeError", "MultiValueDictKeyError"})
_HANDLING_WORDS = frozenset({"schema", "validate", "validated", "validation", "validator", "expected", "errors",
                             "errorhandler", "catch", "exception", "exceptions", "handle", "serializer"})
_WERKZEUG = frozenset({"flask", "quart"})
_JSONISH = frozenset({"json", "get_json", "json_body", "data", "body"})
_CHECK_METHODS = frozenset({"isdigit", "isdecimal", "isnumeric", "match", "fullmatch", "is_uuid_like",
                            "is_int_like", "isalnum"})
_RECEIVERS = frozenset({"recv", "recvfrom", "recv_string", "recv_multipart", "readline", "read"})


def _decorator_handles(ctx: FileContext, func: ast.AST) -> bool:
    for dec in getattr(func, "decorator_list", ()):
        words = set(identifier_words(_attr_or_name(dec)))
        text_words = set(identifier_words(ctx.text(dec, 80).replace(".", "_")))
        if words & _HANDLING_WORDS or text_words & {"validation", "schema", "expected"}:
            return True
    return False


def _app_error_handler(ctx: FileContext) -> bool:
    """The module registers an application-wide error handler (Flask ``errorhandler``)."""
    found = ctx.cache.get("SR805.app")
    if found is None:
        found = any(isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("errorhandler", "register_error_handler", "add_exception_handler",
                                           "exception_handler")
                    for call in ctx.index.of_type(ast.Call))
        ctx.cache["SR805.app"] = found
    return bool(found)


def _function_guards(ctx: FileContext, func: ast.AST) -> tuple[set[object], set[str]]:
    """Per function, memoised: constant keys tested with ``in`` / ``not in`` / ``.get``-free
    membership, and names checked with ``isdigit()``-like calls or a regex match."""
    cache = ctx.cache.setdefault("SR805.guards", {})
    assert isinstance(cache, dict)
    found = cache.get(func)
    if found is None:
        keys: set[object] = set()
        names: set[str] = set()
        # the nodes of ast.walk, found without its generators
        for node in walk_nodes(func):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                value = ctx.literal(node.left)
                if isinstance(value, (str, int)):
                    keys.add(value)
                elif isinstance(value, tuple):
                    keys.update(v for v in value if isinstance(v, (str, int)))
            elif isinstance(node, ast.Call) and _attr_or_name(node.func) in _CHECK_METHODS:
                for sub in [node.func, *node.args]:
                    for inner in walk_nodes(sub):
                        if isinstance(inner, ast.Name):
                            names.add(inner.id)
        found = (keys, names)
        cache[func] = found
    return found


# request fields that are not a mapping of the client's (a path, a stream, a length, a text)
_NOT_MAPPINGS = ("path", "path_info", "stream", "body_file", "content_length", "text", "query_string")
# The fields _mapping_origin can accept: _request_field answers only for an attribute of
# REQUEST_DATA, or with framework "http.server" (which _mapping_origin turns down), and its field
# is the attribute's name; so an attribute outside this set is turned down before the lookups.
_MAPPING_FIELDS = REQUEST_DATA - frozenset(_NOT_MAPPINGS)


def _mapping_origin(ctx: FileContext, expr: ast.AST, depth: int = 0) -> Origin | None:
    """``expr`` is a mapping the client built: a request's query, form or JSON body, the result
    of ``json.loads`` on request data, or an element of one of those."""
    if depth > 8:
        return None
    if isinstance(expr, ast.Attribute):
        if expr.attr not in _MAPPING_FIELDS:
            return None  # (most attributes: no lookup of the request object below)
        origin = _request_field(ctx, expr)
        if origin is None or origin.framework == "http.server" or origin.field in _NOT_MAPPINGS:
            return None
        if origin.framework in _WERKZEUG and origin.field in _WERKZEUG_400:
            return None  # werkzeug answers a missing key with 400 Bad Request
        if origin.framework in _WERKZEUG and origin.field in ("data", "body"):
            return None  # bytes, not a mapping
        return origin
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in ("get_json", "json") \
                and _request_object(ctx, func.value) is not None:
            return Origin("request", expr, "json", _request_object(ctx, func.value) or "")
        if ctx.qualname(func) in _JSON_LOADS:
            return _request_data(ctx, ctx.argument(expr, 0))
        return None
    if isinstance(expr, ast.Subscript):
        if isinstance(expr.slice, ast.Slice):
            return None
        inner = _mapping_origin(ctx, expr.value, depth + 1)
        if inner is not None and inner.field in _JSONISH | {"param"}:
            return inner
        return None
    if isinstance(expr, ast.Name):
        value = _bound_value(ctx, expr)
        if value is not None:
            return _mapping_origin(ctx, value, depth + 1)
        if expr.id == "body" and _body_parameter(ctx, expr):
            return Origin("request", expr, "body", "param")
    return None


def _may_parse_requests(ctx: FileContext) -> bool:
    """False only when ``_mapping_origin`` finds nothing anywhere in the file, told from its text.

    What ``_mapping_origin`` finds comes from a request object (``_request_object``: a name
    ``req`` / ``request``, ``self.request``, or a name or attribute that resolves to one of
    REQUEST_PROXIES, ``<framework>.request``), from a parameter ``body`` of a function that takes
    ``req`` / ``request``, or from a call of one of _JSON_LOADS; the ``http.server`` fields of
    ``_request_field`` it turns down. The first two need the identifier ``req`` or ``request``
    in the text (``access._may_see_requests``, which argues it); the last the identifier
    ``loads``, the last part of each of _JSON_LOADS: a resolved name ends with the attribute
    or the imported, defined or assigned name it comes from, each written in the file (an ASCII
    file: ``_may_see_requests`` answers True for the others), and no conventional alias of the
    index names such a function."""
    found = ctx.cache.get("SR805.may-parse-requests")
    if found is None:
        found = ctx.cache["SR805.may-parse-requests"] = _may_see_requests(ctx) or "loads" in ctx.source.text
    return found  # type: ignore[return-value]


def _loop_of(ctx: FileContext, node: ast.AST, func: ast.AST | None) -> ast.While | None:
    for anc in ctx.index.ancestors(node):
        if anc is func or isinstance(anc, (*_FUNCTIONS, ast.Lambda, ast.ClassDef)):
            return None
        if isinstance(anc, ast.While):
            return anc
    return None


def _inside(ctx: FileContext, node: ast.AST, container: ast.AST) -> bool:
    return any(anc is container for anc in ctx.index.ancestors(node))


@register
class UnhandledRequestParse(Rule):
    """Request or message data parsed with no handling of bad input.

    ## What it finds
    - In code that handles a request (a function given the request as `request` / `req`, a Flask
      or pecan view reading the request proxy, a WSGI application reading `environ`, an
      `http.server` handler reading `self.headers`), `int()`, `float()`, `json.loads`,
      `uuid.UUID`, `base64.b64decode` and similar parsers applied to request data, and key access
      on a request's JSON body, Django / webob query or form dictionaries and the `body` of a
      controller method, with no `try` / `except` around them that catches the error. Low
      severity: the client gets a 500 answer.
    - In a `while` loop that receives from a socket or reads lines from a stream, the same
      parsers (and `struct.unpack`) applied to what was received, with no `try` inside the loop:
      one malformed message ends the loop, and the service with it. Medium severity.

    Not reported: Flask's `request.args[...]`, `form`, `values`, `files`, `headers` and
    `cookies`, which answer a missing key with 400; handlers with a validating or error-handling
    decorator (`@validation.schema`, `@wsgi.expected_errors`, `@validate`...); modules that
    register an application-wide error handler; keys tested first with `in`; values checked first
    with `isdigit()` or a regular expression match.

    ## Why it is dangerous
    The client controls the input, so it also controls the exception. In a request handler an
    uncaught `ValueError` or `KeyError` becomes a 500 answer and a logged traceback: noisy logs,
    misleading monitoring, sometimes internal details in the answer, and a cheap way to burn
    worker time. In a service loop the exception unwinds the loop: one malformed packet stops
    the listener for everyone.

    ## Example
    ```python
    from flask import Flask, request
    app = Flask(__name__)
    @app.route("/servers")
    def list_servers():
        limit = int(request.args.get("limit", 100))
        return {"limit": limit}
    ```

    ## Safe alternative
    ```python
    from flask import Flask, abort, request
    app = Flask(__name__)
    @app.route("/servers")
    def list_servers():
        limit = request.args.get("limit", 100, type=int)
        if limit is None or not 0 < limit <= 1000:
            abort(400, "limit must be an integer between 1 and 1000")
        return {"limit": limit}
    ```
    Validate request data with a schema or convert it inside `try` / `except ValueError` and
    answer 400; in a service loop, catch errors per message, log them and continue.

    ## References
    - https://cwe.mitre.org/data/definitions/248.html
    - https://cwe.mitre.org/data/definitions/703.html
    """

    id = "SR805"
    name = "unhandled-request-parse"
    cwe = 248
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Validate the input (a schema, `request.args.get(..., type=int)`) or wrap the conversion in "
           "`try` / `except ValueError` (or `KeyError`) and answer 400; in a service loop, handle errors "
           "per message and keep looping.")
    calls = tuple(_PARSERS) + tuple(_LOOP_ONLY_PARSERS)
    nodes = (ast.Subscript,)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        func = ctx.index.function_of(call)
        if func is None:
            return
        arg = ctx.argument(call, 0)
        if qualname in _LOOP_ONLY_PARSERS:
            arg = ctx.argument(call, 1, "buffer")
        if arg is None:
            return
        error = _PARSERS.get(qualname or "") or _LOOP_ONLY_PARSERS.get(qualname or "", "ValueError")
        errors = _PARSE_ERRORS | {error.rpartition(".")[2]}
        if qualname not in _LOOP_ONLY_PARSERS:
            origin = _request_data(ctx, arg)
            if origin is not None and not isinstance(arg, ast.Constant):
                if self._handled_request(ctx, call, func, origin, errors) or _inside_validation(ctx, call):
                    return
                _, checked = _function_guards(ctx, func)
                if any(isinstance(sub, ast.Name) and sub.id in checked for sub in ast.walk(arg)):
                    return
                shown = (qualname or "").removeprefix("builtins.")
                if not self._first_in_statement(ctx, call):
                    return
                ctx.report(self, call,
                           f"`{ctx.text(call, 60)}` parses `{ctx.text(arg, 40)}`, which the client sends, and "
                           f"nothing here catches the `{error}` that `{shown}` raises on malformed "
                           f"input: any client can make `{getattr(func, 'name', '?')}` fail with a 500 answer "
                           "and a logged traceback.",
                           severity=Level.LOW, fix=_HANDLER_FIX,
                           trace=[(origin.node, "request data"), (call, "parsed without handling")])
                return
        self._service_loop(ctx, call, func, arg, errors, qualname or "")

    def _handled_request(self, ctx: FileContext, node: ast.AST, func: ast.AST, origin: Origin,
                         errors: frozenset[str]) -> bool:
        if _try_handles(ctx, node, errors):
            return True
        name = getattr(func, "name", "")
        if origin.framework == "param" and name.startswith("_") and not name.startswith("__"):
            return True  # a private helper handed the request: its callers validate and handle errors
        if _decorator_handles(ctx, func):
            return True
        outer = ctx.index.function_of(func)
        if outer is not None and _decorator_handles(ctx, outer):
            return True
        if origin.framework in REQUEST_PROXIES_FRAMEWORKS and _app_error_handler(ctx):
            return True
        return False

    def _service_loop(self, ctx: FileContext, call: ast.Call, func: ast.AST, data: ast.AST,
                      errors: frozenset[str], qualname: str) -> None:
        loop = _loop_of(ctx, call, func)
        if loop is None:
            return
        origin = _received(ctx, data)
        if origin is None or origin.kind != "network" or not _inside(ctx, origin.node, loop):
            return
        if isinstance(origin.node, ast.Call) and isinstance(origin.node.func, ast.Attribute) \
                and origin.node.func.attr not in _RECEIVERS:
            return
        if _try_handles(ctx, call, errors, stop=loop):
            return
        if self._restarted(ctx, loop, func, errors):
            return
        shown = qualname.removeprefix("builtins.")
        ctx.report(self, call,
                   f"`{ctx.text(call, 60)}` parses what `{ctx.text(origin.node, 40)}` received, inside the service "
                   f"loop at line {loop.lineno}, and nothing in the loop catches the error `{shown}` raises on a "
                   "malformed message: one bad message from any peer ends the loop and stops the service.",
                   fix="Wrap the parsing of each message in `try` / `except` inside the loop, log the bad message "
                       "and continue with the next one.",
                   trace=[(origin.node, "message received"), (call, "parsed without handling"),
                          (loop, "loop ended by the exception")])

    @staticmethod
    def _restarted(ctx: FileContext, loop: ast.While, func: ast.AST, errors: frozenset[str]) -> bool:
        """The loop sits in a ``try`` that is itself inside an outer loop (a restart pattern)."""
        for anc in ctx.index.ancestors(loop):
            if anc is func:
                return False
            if isinstance(anc, (ast.While, ast.For)) and _try_handles(ctx, loop, errors, stop=anc):
                return True
        return False

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node reports only a subscript whose mapping _mapping_origin finds, and it finds
        # one only in a file that spells ``req`` / ``request`` or ``loads`` (_may_parse_requests):
        # in the others no subscript is looked at. Then check_node's first tests, on all the
        # subscripts at once, and the first test of _mapping_origin on the mapping: it finds an
        # origin only in a name, a call or an attribute among _MAPPING_FIELDS (a subscript, which
        # check_node leaves to the inner access, and anything else it turns down at once). The
        # exact types suffice: parsing makes no subclasses of the ast node types.
        if not _may_parse_requests(ctx):
            return []
        Load, Slice, Name, Call, Attribute = ast.Load, ast.Slice, ast.Name, ast.Call, ast.Attribute
        fields = _MAPPING_FIELDS
        return [node for node in nodes if type(node.ctx) is Load and not isinstance(node.slice, Slice)
                and ((kind := type(value := node.value)) is Name or kind is Call
                     or (kind is Attribute and value.attr in fields))]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Subscript)
        if type(node.ctx) is not ast.Load or isinstance(node.slice, ast.Slice):
            return
        if isinstance(node.value, ast.Subscript):
            return  # the inner access is reported
        origin = _mapping_origin(ctx, node.value)
        if origin is None:
            return
        func = ctx.index.function_of(node)
        if func is None:
            return
        key = ctx.literal(node.slice)
        keys, _ = _function_guards(ctx, func)
        if key in keys or _iterates_keys(ctx, node):
            return
        if self._handled_request(ctx, node, func, origin, _KEY_ERRORS):
            return
        parent = ctx.index.parent(node)
        if isinstance(parent, ast.Compare) or (isinstance(parent, ast.Call) and _attr_or_name(parent.func) in (
                "isinstance", "hasattr", "len")):
            return
        if not self._first_in_statement(ctx, node):
            return
        missing = "a missing key" if not isinstance(key, int) else "a missing element"
        ctx.report(self, node,
                   f"`{ctx.text(node, 50)}` reads a key of data the client sends with no check that it is there "
                   f"and no `except KeyError` around it: a request with {missing} or a different shape makes "
                   f"`{getattr(func, 'name', '?')}` fail with a 500 answer and a logged traceback.",
                   severity=Level.LOW, fix=_HANDLER_FIX,
                   trace=[(origin.node, "request data"), (node, "key read without a check")])

    @staticmethod
    def _first_in_statement(ctx: FileContext, node: ast.AST) -> bool:
        """One finding per statement: ``float(request.GET["days"])`` is one defect."""
        stmt = ctx.index.statement_of(node)
        reported = ctx.cache.setdefault("SR805.statements", set())
        assert isinstance(reported, set)
        if stmt in reported:
            return False
        reported.add(stmt)
        return True


_HANDLER_FIX = ("Validate the request data first (a schema, `request.args.get(..., type=int)`, a `key in data` "
                "test) or wrap the conversion in `try` / `except` and answer 400 Bad Request.")


def _inside_validation(ctx: FileContext, node: ast.AST) -> bool:
    """``node`` is an argument of a call named like a validation (``assert_(int(x) >= 0)``,
    ``check_limit(int(x))``): the code around it is checking the input already."""
    for anc in ctx.index.ancestors(node):
        if isinstance(anc, ast.stmt):
            return False
        if isinstance(anc, ast.Call) and set(identifier_words(_attr_or_name(anc.func))) & {
                "assert", "check", "validate", "verify", "ensure"}:
            return True
    return False


def _iterates_keys(ctx: FileContext, node: ast.Subscript) -> bool:
    """``mapping[k]`` where ``k`` loops over ``mapping`` (or its keys) itself."""
    key = node.slice
    if not isinstance(key, ast.Name):
        return False
    binding = ctx.binding(key)
    if binding is None or binding.kind != "loop":
        return False
    loop = binding.node
    while loop is not None and not isinstance(loop, (ast.For, ast.AsyncFor, ast.comprehension)):
        loop = ctx.index.parent(loop)
    if loop is None:
        return False
    source = loop.iter
    if isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute) and source.func.attr == "keys":
        source = source.func.value
    return ctx.text(source, 200) == ctx.text(node.value, 200)


REQUEST_PROXIES_FRAMEWORKS = frozenset(name.split(".")[0] for name in REQUEST_PROXIES)


# ============================================================================ SR806

_AUTH_WORDS = frozenset({"admin", "authenticated", "authorized", "authorised", "authorize", "authorise",
                         "permission", "permissions", "permitted", "perm", "perms", "privileged", "privilege",
                         "superuser", "staff", "owner", "owns", "authenticate", "allowed", "login", "logged",
                         "policy", "acl", "access", "csrf"})
_SECRET_WORDS = frozenset({"token", "password", "passwd", "secret", "signature", "hmac", "csrf", "nonce", "role",
                           "roles", "otp", "digest", "apikey", "sig"})
_OWNER_WORDS = frozenset({"project", "tenant", "user", "owner", "domain", "account"})
_INVARIANT_CALLS = frozenset({"isinstance", "issubclass", "callable", "hasattr", "len", "type", "all", "any",
                              "iscoroutinefunction"})


def _expr_words(ctx: FileContext, expr: ast.AST) -> set[str]:
    words: set[str] = set()
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Name):
            words.update(identifier_words(sub.id))
        elif isinstance(sub, ast.Attribute):
            words.update(identifier_words(sub.attr))
    return words


def _final_words(ctx: FileContext, expr: ast.AST) -> set[str]:
    """Words of the last name in ``expr``: ``expected_token`` -> expected, token;
    ``token.position`` -> position; ``headers["X-Auth-Token"]`` -> x, auth, token."""
    if isinstance(expr, ast.Subscript):
        key = ctx.literal(expr.slice)
        if isinstance(key, str):
            return set(identifier_words(key.replace("-", "_")))
        return _final_words(ctx, expr.value)
    if isinstance(expr, ast.Call):
        return set(identifier_words(_attr_or_name(expr.func)))
    return set(identifier_words(_attr_or_name(expr)))


@register
class AssertSecurityCheck(Rule):
    """Security check written as an `assert`, which `python -O` removes.

    ## What it finds
    `assert` statements in production code whose condition enforces access or validates input:
    - an authorisation or authentication predicate: `assert user.is_admin`,
      `assert request.user.is_authenticated`, `assert context.can(...)`,
      `assert has_permission(...)`, `assert is_owner(...)`;
    - a comparison of tokens, passwords, signatures, HMACs or roles (`assert token == expected`,
      `assert "admin" in roles`), or of project, tenant, user or owner ids
      (`assert context.project_id == instance.project_id`);
    - any condition on request data (`assert len(request.args["name"]) < 64`).

    Internal invariants (`isinstance`, `is not None`, `len(...)`, plain flags) and all asserts in
    test code are left alone.

    ## Why it is dangerous
    Python drops every `assert` when it runs with `-O` or `PYTHONOPTIMIZE` set, which some
    packaging and container images do. The check then silently disappears: the unprivileged user
    reaches the admin action, the forged token is accepted, the unchecked input flows on. Even
    with asserts enabled, a failed check raises `AssertionError`, which handlers rarely map to
    403 or 400.

    ## Example
    ```python
    def delete_flavor(context, flavor_id):
        assert context.is_admin, "admin only"
        db.flavor_destroy(context, flavor_id)
    ```

    ## Safe alternative
    ```python
    def delete_flavor(context, flavor_id):
        if not context.is_admin:
            raise exception.Forbidden("admin only")
        db.flavor_destroy(context, flavor_id)
    ```
    Use an explicit `if` that raises a dedicated exception (or a policy check such as
    `context.can(...)`); keep `assert` for invariants of the program itself.

    ## References
    - https://cwe.mitre.org/data/definitions/617.html
    - https://docs.python.org/3/reference/simple_stmts.html#the-assert-statement
    """

    id = "SR806"
    name = "assert-security-check"
    cwe = 617
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = "Replace the `assert` with an `if` that raises an explicit exception (403 or 400 for the caller)."
    nodes = (ast.Assert,)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        return nodes if ctx.context == "production" else []  # as check_node's first test

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Assert)
        if ctx.context != "production":
            return
        kind = self._classify(ctx, node.test)
        if kind is None:
            return
        what, confidence = kind
        ctx.report(self, node,
                   f"`assert {ctx.text(node.test, 60)}` {what}, but `python -O` strips every assert: with "
                   "optimisation on, the check disappears and the code below runs for anyone.",
                   confidence=confidence)

    def _classify(self, ctx: FileContext, test: ast.AST) -> tuple[str, Level] | None:
        if isinstance(test, ast.BoolOp):
            for value in test.values:
                found = self._classify(ctx, value)
                if found is not None:
                    return found
            return None
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self._classify(ctx, test.operand)
        for sub in ast.walk(test):
            if isinstance(sub, (ast.Attribute, ast.Subscript, ast.Call)) and _request_data(ctx, sub) is not None:
                return "validates data the client sends", Level.MEDIUM
        if isinstance(test, ast.Call):
            name = _attr_or_name(test.func)
            if name in _INVARIANT_CALLS:
                return None
            words = set(identifier_words(name))
            if words & _AUTH_WORDS or name == "can" or (words & {"check", "verify", "validate", "is", "has"}
                                                        and words & (_SECRET_WORDS | _OWNER_WORDS)):
                return "enforces an access or authentication check", Level.HIGH
            return None
        if isinstance(test, (ast.Attribute, ast.Name)):
            words = set(identifier_words(_attr_or_name(test)))
            if words & _AUTH_WORDS:
                return "enforces an access or authentication check", Level.HIGH
            return None
        if isinstance(test, ast.Compare):
            operands = [test.left, *test.comparators]
            if any(isinstance(op, (ast.Is, ast.IsNot)) for op in test.ops):
                return None
            if any(isinstance(o, ast.Constant) and o.value is None for o in operands):
                return None
            if any(isinstance(o, ast.Call) and _attr_or_name(o.func) in _INVARIANT_CALLS for o in operands):
                return None
            if not any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in test.ops):
                return None
            finals = [_final_words(ctx, o) for o in operands if not ctx.is_constant(o)]
            if finals and all(words & _SECRET_WORDS for words in finals):
                return "compares a secret, token or role", Level.MEDIUM
            sides = [_expr_words(ctx, o) for o in operands]
            if len(sides) == 2 and all("id" in s and s & _OWNER_WORDS for s in sides):
                return "checks ownership (a project, tenant or user id)", Level.MEDIUM
        return None


# ============================================================================ SR807

_DEPTH_WORDS = frozenset({"depth", "level", "levels", "limit", "nesting", "recursion", "remaining", "max"})
_PARSED_INPUT = _JSON_LOADS | _XML_PARSERS | frozenset({"yaml.safe_load", "yaml.load"})


def _recursive_functions(ctx: FileContext) -> dict[ast.AST, set[int]]:
    """Functions of the module that call themselves, with the positions of their parameters
    that the self-call passes a part of (``walk(node[key])``, ``walk(child)`` for ``child in
    node``)."""
    found = ctx.cache.get("SR807.recursive")
    if found is not None:
        assert isinstance(found, dict)
        return found
    result: dict[ast.AST, set[int]] = {}
    names = {f.name for f in ctx.index.functions}
    # a self-call names its own function: the others are skipped before the (costlier) lookups,
    # all at once on the called names (FileContext.call_names, "" for no name: never a function's)
    calls = ctx.index.of_type(ast.Call)
    spans: dict[str, list[tuple[int, int]]] = {}
    by_name: dict[str, list[ast.AST]] | None = None
    for call in compress(calls, map(names.__contains__, ctx.call_names())) if names else ():
        called = call.func
        if type(called) is ast.Attribute:
            # _callee_function finds no function for a method called on anything but a name
            # ``self`` / ``cls`` (``obj.get(...)`` in a module that defines ``get``: most of the
            # matches), so the lookup of the enclosing function is spared for those
            receiver = called.value
            if type(receiver) is not ast.Name or receiver.id not in ("self", "cls"):
                continue
            called = called.attr
        else:
            called = called.id
        # The function found below must be named ``called`` and hold the call, so the call lies
        # within the lines of a def of that name (from its first decorator to its last line:
        # everything in its subtree does). Most such calls (``self.get()`` in another method)
        # lie in none, and the walk up the parents to their function is spared. index.functions
        # holds every def that function_of can return (see access._request_takers).
        span = spans.get(called)
        if span is None:
            if by_name is None:
                by_name = {}
                for function in ctx.index.functions:
                    by_name.setdefault(function.name, []).append(function)
            span = spans[called] = [(min([f.lineno, *[d.lineno for d in f.decorator_list]]),
                                     f.end_lineno or f.lineno) for f in by_name[called]]
        line = call.lineno
        for first, last in span:
            if first <= line <= last:
                break
        else:
            continue
        func = ctx.index.function_of(call)
        if func is None or func.name != called:
            continue
        target = _callee_function(ctx, call)
        if target is not func:
            continue
        params = [a.arg for a in func.args.args]
        offset = 1 if params and params[0] in ("self", "cls") and isinstance(call.func, ast.Attribute) else 0
        for i, arg in enumerate(call.args):
            position = i + offset
            if position < len(params) and _part_of(ctx, arg, params[position]):
                result.setdefault(func, set()).add(position)
    ctx.cache["SR807.recursive"] = result
    return result


def _callee_function(ctx: FileContext, call: ast.Call) -> ast.AST | None:
    func = call.func
    if isinstance(func, ast.Name):
        binding = ctx.binding(func)
        if binding is not None and binding.kind == "def":
            return binding.node
        return None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
        cls = ctx.index.class_of(call)
        if cls is None:
            return None
        for stmt in cls.body:
            if isinstance(stmt, _FUNCTIONS) and stmt.name == func.attr:
                return stmt
    return None


def _part_of(ctx: FileContext, expr: ast.AST, param: str, depth: int = 0) -> bool:
    """``expr`` is an element of the parameter ``param``: ``param[k]``, ``param.children``, a loop
    variable over ``param`` / ``param.items()`` / ``param.values()``."""
    if depth > 6:
        return False
    if isinstance(expr, (ast.Subscript, ast.Attribute)):
        base = expr.value
        if isinstance(base, ast.Name) and base.id == param:
            return True
        return _part_of(ctx, base, param, depth + 1)
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is None:
            return False
        if binding.kind == "loop":
            loop = binding.node
            while loop is not None and not isinstance(loop, (ast.For, ast.AsyncFor, ast.comprehension)):
                loop = ctx.index.parent(loop)
            if loop is None:
                return False
            source = loop.iter
            if isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute):
                source = source.func.value
            elif isinstance(source, ast.Call) and source.args:
                source = source.args[0]
            return (isinstance(source, ast.Name) and source.id == param) or _part_of(ctx, source, param, depth + 1)
        if binding.kind in ("assign", "walrus") and binding.value is not None:
            return _part_of(ctx, binding.value, param, depth + 1)
    return False


def _parsed_input(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> ast.AST | None:
    """``expr`` is a document parsed from request or network data: the parsing call."""
    if expr is None or depth > 8:
        return None
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in ("get_json", "json") \
                and _request_object(ctx, func.value) is not None:
            return expr
        if ctx.qualname(func) in _PARSED_INPUT:
            data = ctx.argument(expr, 0)
            if _request_data(ctx, data) is not None:
                return expr
            origin = _received(ctx, data)
            if origin is not None and origin.kind == "network":
                return expr
        if isinstance(func, ast.Attribute) and func.attr in ("getroot",):
            return _parsed_input(ctx, func.value, depth + 1)
        return None
    if isinstance(expr, ast.Attribute):
        origin = _request_field(ctx, expr)
        if origin is not None and origin.field in ("json", "json_body"):
            return expr
        return None
    if isinstance(expr, ast.Name):
        value = _bound_value(ctx, expr)
        if value is not None:
            return _parsed_input(ctx, value, depth + 1)
    return None


@register
class InputControlledRecursion(Rule):
    """Recursive walk over a document parsed from input, with no depth limit.

    ## What it finds
    A function that calls itself (by name, or as `self.method`) on a part of one of its
    parameters (`walk(node[key])`, `walk(child)` for each `child` of `node`), called in the same
    module with a document parsed from a request or from received data: `json.loads` of request
    data, `request.get_json()`, `request.json`, or an XML tree from `ElementTree.fromstring` /
    `lxml.etree.fromstring` of request data. Functions with a parameter named like a depth limit
    (`depth`, `level`, `max_depth`, `remaining`...) are not reported.

    ## Why it is dangerous
    The nesting of the document is the depth of the recursion, and the client chooses it. A JSON
    body of a few kilobytes of `[[[[...]]]]` or an XML document of nested elements exceeds
    Python's recursion limit: the walk raises `RecursionError` (a 500 answer, or a dead worker
    thread when it is not caught), and deep recursion in C extensions can crash the process.

    ## Example
    ```python
    import json
    def redact(node):
        if isinstance(node, dict):
            return {k: redact(v) for k, v in node.items()}
        if isinstance(node, list):
            return [redact(v) for v in node]
        return node
    def handle(req):
        return redact(json.loads(req.body))
    ```

    ## Safe alternative
    ```python
    import json
    MAX_DEPTH = 32
    def redact(node, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError("document nested too deeply")
        if isinstance(node, dict):
            return {k: redact(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [redact(v, depth + 1) for v in node]
        return node
    def handle(req):
        return redact(json.loads(req.body))
    ```
    Carry a depth counter and reject documents nested deeper than the application needs, or walk
    the structure iteratively with an explicit stack and a size limit.

    ## References
    - https://cwe.mitre.org/data/definitions/674.html
    """

    id = "SR807"
    name = "input-controlled-recursion"
    cwe = 674
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Pass a depth counter through the recursion and reject input nested deeper than a fixed limit, or "
           "walk the structure iteratively with an explicit stack.")
    nodes = (ast.Call,)
    # A finding needs a document parsed from input (_parsed_input): a call of a method
    # ``get_json`` / ``json``, the attribute ``json`` / ``json_body`` of a request, or a call of
    # one of _PARSED_INPUT, whose qualified name comes from the module's name written in the file
    # (an import, or the module itself used unimported) or its path, or from a conventional alias
    # used unimported (``ET`` for xml.etree.ElementTree). No ``needs`` text prefilter on those
    # words: most files hold one (``ET`` is in GET and SET), so the searches cost more than the
    # select() they spared (nova 0.03 s, Django 0.05 s more with it; measured 2026-11-27).

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first tests: an argument, and a callee named like a self-recursive function
        # of the module (most modules have none)
        names = self._names(ctx)
        if not names:
            return []
        return [node for node in ctx.calls_named(nodes, names.__contains__) if node.args]

    @staticmethod
    def _names(ctx: FileContext) -> frozenset[str]:
        names = ctx.cache.get("SR807.names")
        if names is None:
            names = ctx.cache["SR807.names"] = frozenset(f.name for f in _recursive_functions(ctx))
        return names  # type: ignore[return-value]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        if not node.args:
            return
        names = ctx.cache.get("SR807.names")
        if names is None:
            names = ctx.cache["SR807.names"] = frozenset(f.name for f in _recursive_functions(ctx))
        if not names:
            return  # most files have no self-recursive function: skip the callee lookup
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if called not in names:
            return
        recursive = _recursive_functions(ctx)
        target = _callee_function(ctx, node)
        if target is None:
            return
        positions = recursive.get(target)
        if not positions or ctx.index.function_of(node) is target:
            return
        params = [a.arg for a in target.args.args] + [a.arg for a in target.args.kwonlyargs]
        if any(set(identifier_words(p)) & _DEPTH_WORDS for p in params):
            return
        offset = 1 if params and params[0] in ("self", "cls") and isinstance(node.func, ast.Attribute) else 0
        for position in sorted(positions):
            index = position - offset
            if not 0 <= index < len(node.args):
                continue
            source = _parsed_input(ctx, node.args[index])
            if source is None:
                continue
            argument = ctx.text(node.args[index], 30)
            parsed = ctx.text(source, 40)
            how = "a document parsed from input" if argument == parsed else f"parsed from input by `{parsed}`"
            ctx.report(self, node,
                       f"`{ctx.text(node, 50)}` hands `{argument}`, {how}, "
                       f"to `{target.name}`, which calls itself once per nesting level "
                       "with no depth limit: a small document nested a few thousand levels deep raises "
                       "`RecursionError` here and fails the request or kills the worker.",
                       trace=[(source, "document parsed from input"), (node, "handed to the recursive walk"),
                              (target, "recursion without a depth limit")])
            return
