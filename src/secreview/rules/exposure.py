"""Information exposure: secrets written to logs and exception messages, exception text and
tracebacks handed back to API callers, and secrets compared in time that depends on the data."""

from __future__ import annotations

import ast
import re

from secreview.model import Level
from secreview.rules.access import (_is_controller, handler_params, is_request_object, request_root,
                                    tainted_names)
from secreview.rules.base import FileContext, Rule, attribute_chain, identifier_words
from secreview.rules.concurrency import child_fields
from secreview.rules.registry import register

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)

# ------------------------------------------------------------------------ what a secret is called

# Words after the head noun that still name the secret itself: ``password_value``, ``token_str``.
_SECRET_SUFFIXES = frozenset({"value", "data", "str", "string", "text", "plain", "plaintext", "raw", "bytes", "b64",
                              "hex", "clear", "cleartext", "binary", "blob", "payload", "material", "encoded",
                              "decoded", "utf8", "bin"})
_PASSWORD_HEADS = frozenset({"password", "passwd", "passphrase", "passwords", "adminpass", "adminpassword"})
_KEY_QUALIFIERS = frozenset({"private", "secret", "api", "auth", "encryption", "signing", "hmac", "master",
                             "shared", "client", "psk", "preshared", "access_secret"})
_COMPOUND_SECRETS = {"apikey": "API key", "privatekey": "private key", "secretkey": "secret key",
                     "authkey": "auth key", "authtoken": "auth token", "accesstoken": "access token",
                     "apitoken": "API token", "refreshtoken": "refresh token", "sessiontoken": "session token"}
# A token named with one of these words is a parser, pagination, lock or idempotency token.
_TOKEN_NOT_SECRET = frozenset({
    "acquire", "lock", "page", "next", "pagination", "continuation", "starting", "start", "end", "sequence", "task",
    "cancel", "cancellation", "sync", "change", "resume", "version", "creation", "idempotency", "client", "parser",
    "lexer", "word", "eof", "last", "first", "prev", "previous", "current", "bucket", "rate", "total", "new", "old",
    "grant", "marker", "cursor", "stream", "match", "matched", "expected", "unexpected", "bad", "invalid", "unknown",
    "this", "these", "other", "op", "operator", "string", "name", "regex", "punct", "punctuation", "literal",
    "keyword", "identifier", "ident", "number", "bracket", "paren", "left", "right", "sub", "pos", "position",
    "index", "idx", "type", "kind", "max", "min", "num", "count", "limit", "bucket", "progress", "cancel",
    "delimiter", "separator", "tok", "line", "field", "value", "text", "rest", "head", "tail", "global", "local"})
# Qualifiers that make a bare token an authentication secret.
_TOKEN_AUTH = frozenset({"auth", "access", "refresh", "api", "session", "bearer", "security", "csrf", "xsrf", "reset",
                         "oauth", "jwt", "identity", "keystone", "admin", "service", "user", "id", "subject",
                         "trust", "personal", "console", "registration", "invite", "verification", "confirmation",
                         "login", "secret", "private", "github", "gitlab", "slack"})
# Connection strings with passwords in them.
_CONNECTION_NAMES = frozenset({"connection_string", "connection_url", "connection_uri", "transport_url",
                               "sql_connection", "db_url", "database_url", "db_uri", "database_uri", "dsn",
                               "db_connection", "database_connection", "amqp_url", "rabbit_url", "broker_url"})
_DB_GROUPS = frozenset({"database", "api_database", "db", "placement_database", "main_database"})

MASKERS = re.compile(r"(?i)(mask|redact|sanitiz|sanitis|scrub|obfuscat|censor|hide|strip_password|clean_)")


def _is_class_name(name: str) -> bool:
    return name[:1].isupper() and any(c.islower() for c in name)


def _head(name: str) -> list[str]:
    """The words of ``name`` up to its head noun (dropping ``_value``, ``_str`` and the like)."""
    words = identifier_words(name)
    while len(words) > 1 and words[-1] in _SECRET_SUFFIXES:
        words = words[:-1]
    return words


def secret_word(name: str | None, strict_tokens: bool = False) -> str | None:
    """What credential ``name`` holds, judged by its head noun (``admin_password`` -> password;
    ``password_length``, ``secret_uuid``, ``token_pos`` are about a secret, not one). With
    ``strict_tokens`` a token must be qualified as an authentication token (``auth_token``)."""
    if not name or len(name) > 80 or _is_class_name(name):
        return None
    lowered = name.lower()
    if lowered in _CONNECTION_NAMES:
        return "connection string"
    if lowered in ("connection_info", "conn_info", "connection_properties"):
        return "volume connection info"
    words = _head(name)
    if not words:
        return None
    head, before = words[-1], words[:-1]
    if head in _PASSWORD_HEADS:
        return "password"
    if head == "pass" and before and before[-1] in ("admin", "root", "user", "db", "rabbit", "sql", "ldap", "chap"):
        return "password"
    if head in ("secret", "secrets"):
        return "secret"
    if head in ("credential", "credentials", "creds", "cred"):
        return "credentials"
    if head in _COMPOUND_SECRETS:
        return _COMPOUND_SECRETS[head]
    if head in ("key", "keys") and before and before[-1] in _KEY_QUALIFIERS:
        return "API key" if before[-1] == "api" else f"{before[-1]} key"
    if head in ("token", "tokens"):
        if any(w in _TOKEN_NOT_SECRET for w in before):
            return None
        if strict_tokens and not any(w in _TOKEN_AUTH for w in before):
            return None
        return " ".join([*before[-1:], "token"]) if before and before[-1] in _TOKEN_AUTH else "token"
    return None


def _value_name(expr: ast.AST) -> str | None:
    """What a value is called: a variable, an attribute, a constant dict key."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and isinstance(expr.slice.value, str):
        return expr.slice.value
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("get", "pop") \
            and expr.args and isinstance(expr.args[0], ast.Constant) and isinstance(expr.args[0].value, str):
        return expr.args[0].value
    return None


_TRANSPARENT_CALLS = frozenset({"builtins.str", "builtins.repr", "builtins.format", "six.text_type",
                                "six.binary_type", "oslo_utils.encodeutils.safe_decode",
                                "oslo_utils.encodeutils.safe_encode", "oslo_utils.encodeutils.to_utf8",
                                "jsonutils.dumps", "json.dumps", "oslo_serialization.jsonutils.dumps",
                                "builtins.dict", "pprint.pformat"})


def _unwrap(ctx: FileContext, expr: ast.AST) -> ast.AST | None:
    """``str(x)`` -> ``x``; a masking call -> None (the value is safe)."""
    for _ in range(4):
        if not isinstance(expr, ast.Call):
            return expr
        name = ctx.qualname(expr.func) or ""
        last = expr.func.attr if isinstance(expr.func, ast.Attribute) else expr.func.id \
            if isinstance(expr.func, ast.Name) else ""
        if MASKERS.search(last) or MASKERS.search(name):
            return None
        if name in _TRANSPARENT_CALLS or last in ("dumps", "pformat", "safe_decode", "to_utf8") or \
                (isinstance(expr.func, ast.Attribute) and expr.func.attr in ("decode", "encode", "strip")
                 and not expr.args):
            if isinstance(expr.func, ast.Attribute) and expr.func.attr in ("decode", "encode", "strip"):
                expr = expr.func.value
            elif expr.args:
                expr = expr.args[0]
            else:
                return None
            continue
        return expr
    return expr


def describe_secret(ctx: FileContext, expr: ast.AST, strict_tokens: bool = False) -> str | None:
    """A phrase naming the secret ``expr`` holds (``the password `admin_pass```), or None."""
    value = _unwrap(ctx, expr)
    if value is None:
        return None
    if isinstance(value, ast.Call) and not (isinstance(value.func, ast.Attribute)
                                            and value.func.attr in ("get", "pop")):
        return None
    name = _value_name(value)
    if name is None:
        return None
    if isinstance(value, ast.Attribute) and name == "connection":
        groups = _attr_chain(value.value)
        if groups and groups[-1] in _DB_GROUPS:
            return f"the database connection URL `{ctx.text(value, 40)}`, which carries its password,"
        return None
    if isinstance(value, ast.Attribute) and name == "headers" and is_request_object(ctx, value.value):
        return f"the request headers `{ctx.text(value, 40)}`, which carry the caller's `X-Auth-Token`,"
    word = secret_word(name, strict_tokens)
    if word is None:
        return None
    if word == "connection string":
        return f"the connection URL `{ctx.text(value, 40)}`, which carries its password,"
    if word == "volume connection info":
        if not _chap_transport(ctx, value):
            return None
        return (f"the volume connection info `{ctx.text(value, 40)}`, whose `data` carries the target's CHAP "
                "credentials (`auth_password`) for iSCSI and similar drivers,")
    return f"the {word} `{ctx.text(value, 40)}`"


_CHAP_TRANSPORTS = re.compile(r"(?i)(iscsi|chap|auth_password|auth_method|auth_username|rbd|ceph|nvme|scaleio|"
                              r"storpool|lightos)")


def _chap_transport(ctx: FileContext, node: ast.AST) -> bool:
    """The function around ``node`` deals with a volume transport whose connection info carries
    credentials (iSCSI CHAP, RBD / NVMe auth): named so, or reading the auth fields."""
    func = ctx.index.function_of(node)
    if func is None:
        return False
    memo = ctx.cache.setdefault("SR911-chap", {})
    if func not in memo:
        texts = [func.name]
        for sub in ast.walk(func):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                texts.append(sub.value)
            elif isinstance(sub, ast.Attribute):
                texts.append(sub.attr)
            elif isinstance(sub, ast.Name):
                texts.append(sub.id)
        memo[func] = bool(_CHAP_TRANSPORTS.search(" ".join(texts)))
    return memo[func]


def _attr_chain(expr: ast.AST) -> list[str]:
    return attribute_chain(expr)


def _values_in(ctx: FileContext, expr: ast.AST) -> list[ast.AST]:
    """The values a message or argument expression interpolates: the dynamic parts of a string,
    the values of a dict, the items of a tuple."""
    if isinstance(expr, ast.Dict):
        found = []
        for value in expr.values:
            found.extend(_values_in(ctx, value))
        return found
    if isinstance(expr, (ast.Tuple, ast.List)):
        return [v for elt in expr.elts for v in _values_in(ctx, elt)]
    consts, dynamic = ctx.string_parts(expr)
    out = []
    for part in dynamic:
        if isinstance(part, ast.Dict):
            out.extend(_values_in(ctx, part))
        else:
            out.append(part)
    return out


# ------------------------------------------------------------------------ SR911

_LOG_METHODS = ("debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "trace",
                "audit")
_LOGGER_NAMES = re.compile(r"^(_*log|_*logger|_*LOG|_*LOGGER|_*Log|_*Logger|logging|_*log_?\w*|\w*_log|\w*_logger"
                           r"|\w*_LOG)$")
_LOG_KWARGS_SKIP = frozenset({"exc_info", "stack_info", "stacklevel", "extra", "instance", "instance_uuid",
                              "context", "resource"})


def _is_logger(ctx: FileContext, receiver: ast.AST) -> bool:
    name = ctx.qualname(receiver) or ""
    if name.startswith(("logging", "oslo_log")) or name.endswith(("getLogger()", "get_logger()")):
        return True
    if isinstance(receiver, ast.Name):
        return bool(_LOGGER_NAMES.match(receiver.id)) and receiver.id.lower() not in ("login", "logout", "logo")
    if isinstance(receiver, ast.Attribute):
        return receiver.attr.lower() in ("log", "logger", "_log", "_logger")
    return False


@register
class SecretInLog(Rule):
    """Password, token, key or connection string written to a log or an exception message.

    ## What it finds
    Logging calls (`LOG.debug` / `info` / `warning` / `error` / `exception`, `logging.*`, a
    logger's methods) and raised exceptions whose message or arguments include a value named as a
    credential: a password, passphrase, secret, token, credentials, private / API / auth /
    encryption key, a connection URL (`transport_url`, `CONF.database.connection`), a volume's
    `connection_info` in code that handles iSCSI, RBD or NVMe volumes (its `data` then carries
    the CHAP or auth secret), or the request's headers (which carry `X-Auth-Token`). The value is found by its variable, attribute or dictionary key name,
    through `str()` / `repr()` and through messages built beforehand (`msg = "..." % password`,
    `user += token`).

    The name's head noun decides: `admin_password`, `auth_token`, `db_password_value` are
    credentials; `token_id`, `password_length`, `secret_uuid`, `creds_filename`, `key_name` are
    only about one, and a bare `key` is not one. Parser, pagination, lock and task tokens
    (`token_pos`, `next_token`, `lock_token`) are left alone, and in exception messages a token
    must be named as an authentication token (`auth_token`, `refresh_token`), since parsers put
    "unexpected token" into their errors. Values passed through `strutils.mask_password`,
    `mask_dict_password` or another masking function are not reported. `print` is not
    followed.

    ## Why it is dangerous
    Logs are copied to central collectors, attached to bug reports and read by operators and
    support staff who are not meant to hold service passwords or users' tokens. A token in a
    debug log is a working credential for whoever reads it until it expires; a database or
    message-queue URL gives direct access to every service's data.

    ## Example
    ```python
    import logging
    LOG = logging.getLogger(__name__)

    def attach(connection_info):
        auth_password = connection_info["data"]["auth_password"]
        LOG.debug("Logging in to target with CHAP secret %s", auth_password)
    ```

    ## Safe alternative
    ```python
    import logging
    from oslo_utils import strutils
    LOG = logging.getLogger(__name__)

    def attach(connection_info):
        LOG.debug("Connection info: %s", strutils.mask_dict_password(connection_info))
    ```
    Leave secrets out of messages, or mask them (`strutils.mask_password` for text,
    `strutils.mask_dict_password` for dictionaries) before they reach the logger.

    ## References
    - https://cwe.mitre.org/data/definitions/532.html
    - https://docs.openstack.org/oslo.utils/latest/reference/strutils.html
    """

    id = "SR911"
    name = "secret-in-log"
    cwe = 532
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = ("Leave the secret out of the message, or mask it first (`strutils.mask_password(text)`, "
           "`strutils.mask_dict_password(data)`).")
    methods = _LOG_METHODS
    calls = tuple(f"logging.{m}" for m in _LOG_METHODS)
    nodes = (ast.Raise,)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        func = call.func
        if isinstance(func, ast.Attribute):
            if not _is_logger(ctx, func.value):
                return
            method = func.attr
        elif qualname and qualname.startswith("logging."):
            method = qualname.split(".")[-1]
        else:
            return
        args = list(call.args[1:] if method == "log" else call.args)
        args += [kw.value for kw in call.keywords if kw.arg not in _LOG_KWARGS_SKIP]
        for arg in args:
            if isinstance(arg, ast.Starred):
                continue
            for value in _values_in(ctx, arg):
                what = describe_secret(ctx, value)
                if what:
                    ctx.report(self, call,
                               f"`{ctx.text(func, 30)}` writes {what} into the log without masking. Whoever reads "
                               "the logs (operators, log collectors, bug reports) gets a working credential.",
                               confidence=Level.MEDIUM if "connection info" in what else None)
                    return

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        return [node for node in nodes if isinstance(node.exc, ast.Call)]  # as check_node's first test

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Raise)
        exc = node.exc
        if not isinstance(exc, ast.Call):
            return
        for arg in [*exc.args, *(kw.value for kw in exc.keywords)]:
            if isinstance(arg, ast.Starred):
                continue
            if not _is_message(ctx, arg):
                continue
            for value in _values_in(ctx, arg):
                what = describe_secret(ctx, value, strict_tokens=True)
                if what:
                    ctx.report(self, node,
                               f"The exception raised here (`{ctx.text(exc.func, 40)}`) carries {what} in its "
                               "message. Exception messages end up in logs, tracebacks and often API faults, so "
                               "the credential leaks with them.")
                    return


def _is_message(ctx: FileContext, arg: ast.AST) -> bool:
    """A message built from values (not a bare value handed to the exception as data)."""
    if isinstance(arg, (ast.JoinedStr, ast.BinOp)):
        return True
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "format":
        return True
    if isinstance(arg, ast.Name):
        return ctx.is_string_building(arg)
    return False


# ------------------------------------------------------------------------ SR912

_BROAD = frozenset({"Exception", "BaseException"})
_RESPONSE_CALLS = re.compile(r"(^|\.)(HTTP[A-Z]\w*|jsonify|make_response|Response|HttpResponse\w*|JsonResponse|"
                             r"abort|Fault|json_response|error_response|render_template|render)$")
_ROUTE_DECORATORS = re.compile(r"(^|\.)(route|get|post|put|patch|delete|expose|wsexpose|action|api_view|"
                               r"view_config|response)$")


def _is_broad(ctx: FileContext, handler: ast.ExceptHandler) -> bool:
    types = handler.type
    if types is None:
        return True
    items = types.elts if isinstance(types, ast.Tuple) else [types]
    for item in items:
        name = ctx.qualname(item) or ""
        if name.removeprefix("builtins.") in _BROAD:
            return True
    return False


def _exception_text(ctx: FileContext, expr: ast.AST, exc_name: str | None) -> ast.AST | None:
    """The part of ``expr`` that carries the caught exception's text or a traceback."""
    for part in [expr, *_values_in(ctx, expr)]:
        for node in ast.walk(part):
            if isinstance(node, ast.Call):
                qual = ctx.qualname(node.func) or ""
                if qual.startswith("traceback.format") or qual in ("sys.exc_info",):
                    return node
                if qual in ("builtins.str", "builtins.repr", "six.text_type", "builtins.format") and node.args \
                        and isinstance(node.args[0], ast.Name) and node.args[0].id == exc_name:
                    return node
            if exc_name and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == exc_name and node.attr in ("args", "message", "msg", "strerror"):
                return node
            if exc_name and isinstance(node, ast.FormattedValue) and isinstance(node.value, ast.Name) \
                    and node.value.id == exc_name:
                return node.value
        if exc_name and isinstance(part, ast.Name) and part.id == exc_name and part is not expr \
                and _builds_text(ctx, expr):
            return part
    return None


def _builds_text(ctx: FileContext, expr: ast.AST, depth: int = 0) -> bool:
    """``expr`` is text made from values: an f-string, ``%`` or ``.format`` formatting (also of a
    translated ``_("...")`` message), or constant text joined with values."""
    if depth > 6:
        return False
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is not None and binding.kind in ("assign", "augassign") and binding.value is not None:
            return _builds_text(ctx, binding.value, depth + 1)
        return False
    if isinstance(expr, ast.JoinedStr):
        return True
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
        return isinstance(expr.right, (ast.Tuple, ast.Dict)) or isinstance(expr.left, (ast.Constant, ast.Call))
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format":
        return True
    consts, dynamic = ctx.string_parts(expr)
    return bool(dynamic) and any(c.strip() for c in consts)


def _handler_function(ctx: FileContext, func: ast.AST | None) -> bool:
    """A function that answers a request: takes ``req``/``request``, is routed by a decorator, or
    is an action of a controller or view class. Remembered per function (a function has many
    handlers)."""
    if not isinstance(func, _FUNCS):
        return False
    memo = ctx.cache.setdefault("SR912.handlers", {})
    found = memo.get(func)  # type: ignore[attr-defined]
    if found is None:
        found = memo[func] = _answers_request(ctx, func)  # type: ignore[index]
    return found


def _answers_request(ctx: FileContext, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    names = [a.arg for a in func.args.args]
    if any(n in ("req", "request") for n in names):
        return True
    for dec in func.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        text = ctx.text(target, 80)
        if _ROUTE_DECORATORS.search(text):
            return True
    cls = ctx.index.class_of(func)
    if cls is None or ctx.index.function_of(func) is not None:
        return False
    controllers = ctx.cache.setdefault("SR912.controllers", {})
    controller = controllers.get(cls)  # type: ignore[attr-defined]
    if controller is None:  # the same for every method of the class
        controller = controllers[cls] = _is_controller(ctx, cls)  # type: ignore[index]
    return controller and not func.name.startswith("_")


@register
class ExceptionTextToCaller(Rule):
    """Exception text or a traceback returned to the API caller.

    ## What it finds
    Inside `except:` / `except Exception` / `except BaseException` handlers: the caught
    exception's text (`str(e)`, `repr(e)`, `e.args`, `f"{e}"`) or a traceback
    (`traceback.format_exc()`) put into an HTTP response: returned from a request handler (a
    function taking `req` / `request`, a routed view, a controller action), or passed to a
    response or error constructor (`webob.exc.HTTPBadRequest(explanation=...)`, `jsonify`,
    `Response`, `HttpResponse`, `abort`, `Fault`). Handlers of specific exception classes are
    not reported: the messages of expected, user-facing exceptions (OpenStack's
    `NovaException` family, `ValueError` from parsing) are meant for the caller.

    ## Why it is dangerous
    A broad handler also catches failures the developer never meant to describe to a user:
    database errors with table names and SQL, connection strings, file paths, host names of
    internal services, library versions. Handing their text (or a whole traceback) to the caller
    maps the deployment for an attacker and can leak credentials embedded in the message.

    ## Example
    ```python
    from flask import Flask, jsonify
    app = Flask(__name__)

    @app.route("/volumes/<vid>")
    def show_volume(vid):
        try:
            return jsonify(load_volume(vid))
        except Exception as e:
            return jsonify(error=str(e)), 500
    ```

    ## Safe alternative
    ```python
    import logging
    from flask import Flask, jsonify
    app = Flask(__name__)
    LOG = logging.getLogger(__name__)

    @app.route("/volumes/<vid>")
    def show_volume(vid):
        try:
            return jsonify(load_volume(vid))
        except Exception:
            LOG.exception("Loading volume %s failed", vid)
            return jsonify(error="Internal error"), 500
    ```
    Log the details on the server and return a generic message (with a request id to correlate);
    only expected, user-facing exceptions should put their message in the response.

    ## References
    - https://cwe.mitre.org/data/definitions/209.html
    """

    id = "SR912"
    name = "exception-text-to-caller"
    cwe = 209
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Log the exception on the server (`LOG.exception(...)`) and answer with a generic message; let only "
           "expected, user-facing exception classes put their text in the response.")
    nodes = (ast.ExceptHandler,)

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.ExceptHandler)
        if not _is_broad(ctx, node):
            return
        exc_name = node.name
        func = ctx.index.function_of(node)
        # whether the function answers a request (_handler_function, a pure test) is asked only
        # where it decides: at a return of a value or a render call (most handlers have neither)
        handler_func: bool | None = None
        for sub in _walk_handler(node):
            if isinstance(sub, ast.Return) and sub.value is not None:
                if handler_func is None:
                    handler_func = _handler_function(ctx, func)
                if handler_func:
                    text = _exception_text(ctx, sub.value, exc_name)
                    if text is not None:
                        self._report(ctx, sub, text, "returns it to the caller as the response")
                        return
            if isinstance(sub, ast.Call):
                name = ctx.qualname(sub.func) or ctx.text(sub.func, 60)
                if not _RESPONSE_CALLS.search(name) or name.startswith(("logging.", "LOG.")):
                    continue
                if name.endswith(("render", "render_template")):
                    if handler_func is None:
                        handler_func = _handler_function(ctx, func)
                    if not handler_func:
                        continue
                for arg in [*sub.args, *(kw.value for kw in sub.keywords)]:
                    text = _exception_text(ctx, arg, exc_name)
                    if text is not None:
                        self._report(ctx, sub, text, f"puts it into the HTTP response built by "
                                                     f"`{ctx.text(sub.func, 40)}`")
                        return

    def _report(self, ctx: FileContext, node: ast.AST, text: ast.AST, how: str) -> None:
        what = "a traceback" if isinstance(text, ast.Call) and "traceback" in (ctx.qualname(text.func) or "") \
            else f"the text of any exception (`{ctx.text(text, 30)}`)"
        ctx.report(self, node,
                   f"This broad `except` handler takes {what} and {how}. Unexpected errors (database, "
                   "connection, file system) describe internal hosts, paths, queries and sometimes credentials, "
                   "and the caller sees all of it.")


def _walk_handler(handler: ast.ExceptHandler):
    """The nodes of the handler's body in source order (depth first), not entering nested functions
    and classes; contexts and operators left out."""
    stack: list[ast.AST] = list(reversed(handler.body))
    AST = ast.AST
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*_FUNCS, ast.Lambda, ast.ClassDef)):
            continue
        children = []
        for field in child_fields(type(node)):
            value = getattr(node, field, None)
            if type(value) is list:
                children.extend(item for item in value if isinstance(item, AST))
            elif isinstance(value, AST):
                children.append(value)
        children.reverse()
        stack.extend(children)


# ------------------------------------------------------------------------ SR913

# Names whose equality test matters only when there is a secret on one side and a guess on
# the other: a signature, a token, a password.
_WEAK_COMPARE = {"signature": "signature", "signatures": "signature", "sig": "signature",
                 "token": "token", "password": "password", "passwd": "password", "passphrase": "passphrase",
                 "secret": "secret", "pin": "PIN"}
# Names that hold a verification secret whatever they are compared with.
_STRONG_COMPARE = {"hmac": "HMAC", "apikey": "API key", "authtoken": "auth token", "accesstoken": "access token",
                   "csrftoken": "CSRF token", "apitoken": "API token", "xsrftoken": "CSRF token"}
# Words that say a comparison verifies something received against something known.
_VERIFY_WORDS = frozenset({"expected", "computed", "calculated", "received", "provided", "given", "supplied",
                           "submitted", "claimed", "candidate", "incoming", "presented", "header", "headers",
                           "stored", "request", "req", "sent", "known", "correct", "valid", "good", "hmac",
                           "digest", "hashed", "hash", "challenge", "response", "signed", "cookie"})
_NOT_VERIFYING = frozenset({"confirm", "confirmation", "repeat", "again", "retype", "previous", "old", "new",
                            "default", "initial"})


def compare_word(name: str | None) -> tuple[str, bool] | None:
    """(what the value is, whether that alone makes the comparison sensitive) for a name that
    holds a signature, HMAC, token, API key, secret, password or password hash."""
    if not name or len(name) > 60 or _is_class_name(name):
        return None
    words = _head(name)
    if not words:
        return None
    head, before = words[-1], words[:-1]
    if head in ("hash", "hashed", "digest") and any(w in ("password", "passwd", "pw", "pass", "secret", "token")
                                                    for w in before):
        return "password hash" if any(w.startswith("pass") or w == "pw" for w in before) else "hash of a secret", True
    if head in _PASSWORD_HEADS and "hashed" in before:
        return "password hash", True
    if head in _STRONG_COMPARE:
        return _STRONG_COMPARE[head], True
    if head == "key" and before and before[-1] in ("api", "secret", "auth", "shared", "hmac", "signing"):
        return ("API key" if before[-1] == "api" else f"{before[-1]} key"), before[-1] == "api"
    if head in ("token", "tokens") and before:
        if any(w in _TOKEN_NOT_SECRET for w in before):
            return None
        if before[-1] in ("csrf", "xsrf", "api", "reset", "verification", "confirmation", "invite", "registration"):
            return f"{before[-1]} token", True  # stored by the server, compared with what a client sends
    if head in _WEAK_COMPARE:
        if head == "token" and any(w in _TOKEN_NOT_SECRET for w in before):
            return None
        return _WEAK_COMPARE[head], False
    return None


def _verifying(ctx: FileContext, node: ast.Compare, sides: list[ast.AST]) -> bool:
    """The comparison checks a received value against a known one: a side comes from the request,
    or is named as expected / computed / received / provided."""
    verify = False
    for side in sides:
        for sub in ast.walk(side):
            name = _value_name(sub) if not isinstance(sub, ast.Constant) else None
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                name = sub.value.replace("-", "_")
            if name and not _is_class_name(name):
                words = set(identifier_words(name))
                if words & _NOT_VERIFYING:
                    return False  # a confirmation field, an old value: not a guess against a secret
                if words & _VERIFY_WORDS:
                    verify = True
            if isinstance(sub, ast.Attribute) and is_request_object(ctx, sub.value):
                verify = True
            if isinstance(sub, ast.Name) and is_request_object(ctx, sub):
                verify = True
    if verify:
        return True
    func = ctx.index.function_of(node)
    if func is not None:
        memo = ctx.cache.setdefault("SR913", {})
        tainted = memo.get(func)
        if tainted is None:
            body, _ids = handler_params(func)
            tainted = memo[func] = tainted_names(ctx, func, body, set())
        for side in sides:
            if request_root(ctx, side, set(), set(), tainted) is not None:
                return True
    return False


def _is_hmac_value(ctx: FileContext, expr: ast.AST, depth: int = 0) -> bool:
    """``hmac.new(...).hexdigest()``, ``hmac.digest(...)``, or a name bound to one."""
    if depth > 4:
        return False
    if isinstance(expr, ast.Call):
        qual = ctx.qualname(expr.func) or ""
        if qual in ("hmac.digest",) or qual.startswith("hmac.new()") or qual.startswith("hmac.HMAC()"):
            return True
        if isinstance(expr.func, ast.Attribute) and expr.func.attr in ("hexdigest", "digest", "decode", "lower",
                                                                       "encode", "upper"):
            return _is_hmac_value(ctx, expr.func.value, depth + 1)
        if qual in ("base64.b64encode", "base64.urlsafe_b64encode", "binascii.hexlify") and expr.args:
            return _is_hmac_value(ctx, expr.args[0], depth + 1)
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None:
            return _is_hmac_value(ctx, binding.value, depth + 1)
    return False


def _constantish(ctx: FileContext, expr: ast.AST) -> bool:
    if ctx.is_constant(expr):
        return True
    name = _value_name(expr) if isinstance(expr, (ast.Name, ast.Attribute)) else None
    if name and _is_class_name(name):
        return True  # a class: Token.Literal
    if name and name.isupper() and len(name) > 1 and not (compare_word(name.lower()) or ("", False))[1]:
        return True  # a named constant such as tokenize.NAME or signal.SIGTERM, but not settings.API_KEY
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is not None and binding.kind == "assign" and isinstance(binding.value, ast.Call) \
                and (ctx.qualname(binding.value.func) or "").startswith("inspect."):
            return True  # inspect.signature(...)
    if isinstance(expr, ast.Call):
        qual = ctx.qualname(expr.func) or ""
        if qual in ("builtins.len", "builtins.type", "builtins.id", "builtins.isinstance", "builtins.hash",
                    "builtins.bool", "builtins.int"):
            return True
    return False


@register
class TimingUnsafeCompare(Rule):
    """Signature, HMAC, token or password hash compared with `==` or `!=`.

    ## What it finds
    Equality comparisons (`==`, `!=`) between two non-constant values where one is:
    - computed with `hmac.new(...).hexdigest()` / `.digest()` / `hmac.digest(...)`;
    - named as an HMAC, an API key, a password hash or an authentication, CSRF or reset token
      (`api_key`, `password_hash`, `csrf_token`, `settings.API_KEY`);
    - named as a signature, token, password or secret, when the comparison visibly checks a
      received value: the other side comes from the request (`request.headers`, `req.params`,
      a local assigned from them) or a side is named `expected`, `computed`, `received`,
      `provided`, `header` and the like.

    Comparisons with a constant (`None`, `""`, a named constant such as `tokenize.NAME`, a class
    such as `Token.Literal`), with `len(...)` or `type(...)`, of `inspect.signature` results,
    with a confirmation or previous value (`password_confirm`, `old_password`), inside `assert`
    statements and inside `__eq__` methods are not reported, nor are parser, pagination and
    task tokens or MAC addresses.

    ## Why it is dangerous
    `==` on strings and bytes stops at the first differing character, so the time it takes
    tells how long the matching prefix is. A caller who can submit many guesses and measure the
    response time recovers a valid signature or token one character at a time, without knowing
    the key. `hmac.compare_digest` takes the same time whatever the inputs.

    ## Example
    ```python
    import hashlib
    import hmac

    def check_signature(secret, instance_id, signature):
        expected = hmac.new(secret, instance_id, hashlib.sha256).hexdigest()
        return expected == signature
    ```

    ## Safe alternative
    ```python
    import hashlib
    import hmac

    def check_signature(secret, instance_id, signature):
        expected = hmac.new(secret, instance_id, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/208.html
    - https://docs.python.org/3/library/hmac.html#hmac.compare_digest
    """

    id = "SR913"
    name = "timing-unsafe-compare"
    cwe = 208
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = "Compare secrets with `hmac.compare_digest(a, b)` (or `secrets.compare_digest`), which runs in constant time."
    nodes = (ast.Compare,)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first test, on all the comparisons at once
        return [node for node in nodes if len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq))]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Compare)
        if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            return
        left, right = node.left, node.comparators[0]
        # what there is to report first (an HMAC side, a side named as a secret: few comparisons
        # have one), then the test that a side is constant, which rules a comparison out but costs
        # more (a binding, a qualified name), and the walk up the ancestors; all of them are pure
        # tests that only return, so their order does not change what is reported
        hmac_side = _is_hmac_value(ctx, left) or _is_hmac_value(ctx, right)
        named = [(side, found) for side in (left, right) if (found := compare_word(_value_name(side))) is not None]
        if not hmac_side and not named:
            return
        if _constantish(ctx, left) or _constantish(ctx, right):
            return
        for anc in ctx.index.ancestors(node):
            if isinstance(anc, ast.Assert):
                return
            if isinstance(anc, _FUNCS):
                if anc.name in ("__eq__", "__ne__", "__hash__", "__lt__", "__gt__"):
                    return
                break
        op = "==" if isinstance(node.ops[0], ast.Eq) else "!="
        if hmac_side:
            ctx.report(self, node,
                       f"`{ctx.text(node, 70)}` compares an HMAC computed here with `{op}`, which returns as "
                       "soon as a character differs: by timing many guesses a caller can forge a valid "
                       "signature byte by byte.")
            return
        for side, (word, strong) in named:
            if not strong and not _verifying(ctx, node, [left, right]):
                continue
            ctx.report(self, node,
                       f"`{ctx.text(node, 70)}` compares the {word} `{ctx.text(side, 30)}` with `{op}`, which "
                       "returns as soon as a character differs: by timing many guesses a caller can recover "
                       "the expected value one character at a time.",
                       confidence=Level.HIGH if word in ("signature", "HMAC", "MAC", "password hash",
                                                         "hash of a secret") else Level.MEDIUM)
            return
