"""Transport security: TLS certificate checks switched off, obsolete TLS and SSL protocol versions,
HTTP requests that can wait forever, and servers listening on every network interface."""

from __future__ import annotations

import ast
from itertools import chain, compress, repeat
from operator import attrgetter, is_

from secreview.model import Level
from secreview.rules.base import FileContext, Rule
from secreview.rules.registry import register

# ---------------------------------------------------------------------------------------- names

VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
HTTPX_VERBS = VERBS + ("stream",)

SESSION_MAKERS = ("requests.Session", "requests.session", "requests.sessions.Session",
                  "requests.sessions.session")
HTTPX_CLIENTS = ("httpx.Client", "httpx.AsyncClient")
HTTPX_TRANSPORTS = ("httpx.HTTPTransport", "httpx.AsyncHTTPTransport")
SESSIONS = frozenset(f"{maker}()" for maker in SESSION_MAKERS)

REQUESTS_FUNCTIONS = tuple(f"requests.{v}" for v in VERBS) + tuple(f"requests.api.{v}" for v in VERBS)
SESSION_METHODS = tuple(f"{session}.{v}" for session in sorted(SESSIONS) for v in VERBS)
HTTPX_FUNCTIONS = tuple(f"httpx.{v}" for v in HTTPX_VERBS)
HTTPX_CLIENT_METHODS = tuple(f"{client}().{v}" for client in HTTPX_CLIENTS for v in HTTPX_VERBS)

# Context managers whose ``__enter__`` returns the object itself, so ``with X() as name`` binds an X.
_ENTER_RETURNS_SELF = frozenset(SESSION_MAKERS + HTTPX_CLIENTS)

CERT_NONE = frozenset({"ssl.CERT_NONE", "ssl.VerifyMode.CERT_NONE"})


def _resolve(ctx: FileContext, expr: ast.AST, depth: int = 0) -> str | None:
    """The qualified name of ``expr``, also seeing through ``with requests.Session() as s`` (and
    the httpx clients), whose ``__enter__`` returns the session itself."""
    name = ctx.qualname(expr)
    if name is not None or depth > 8:
        return name
    if isinstance(expr, ast.Attribute):
        base = _resolve(ctx, expr.value, depth + 1)
        return f"{base}.{expr.attr}" if base else None
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is not None and binding.kind == "with" and isinstance(binding.value, ast.Call):
            maker = ctx.qualname(binding.value.func)
            if maker in _ENTER_RETURNS_SELF:
                return f"{maker}()"
    return None


def _callee(ctx: FileContext, call: ast.Call, name: str | None) -> str:
    """How to name the called function in a message: its qualified name for module-level
    functions and classes (``requests.get``), the call's own text for a method of an instance
    (``session.get``, ``app.run``)."""
    if name is None or "()" in name:
        return ctx.text(call.func, 50)
    return name.removeprefix("builtins.")


# ------------------------------------------------------------------------------------- SR401


@register
class TlsVerificationDisabled(Rule):
    """TLS certificate or host name verification switched off.

    ## What it finds
    - `verify=False` passed to `requests.get` / `post` / `put` / `patch` / `delete` / `head` /
      `options` / `request`, to the same methods of a `requests.Session()`, to the `httpx`
      functions and to `httpx.Client(...)`, `httpx.AsyncClient(...)` and the httpx transports.
      The same keyword on an HTTP verb method of a receiver that cannot be resolved (such as
      `self.session.get(...)`) is reported with medium confidence.
    - `session.verify = False` on a `requests.Session()`.
    - `ssl._create_unverified_context()` and the global switch
      `ssl._create_default_https_context = ssl._create_unverified_context`.
    - `cert_reqs=ssl.CERT_NONE` (or urllib3's `"CERT_NONE"`) as a keyword or a dictionary entry,
      and `context.verify_mode = ssl.CERT_NONE`.
    - `context.check_hostname = False` on an `ssl` context (medium confidence when the receiver
      cannot be resolved).
    - A project's own module-level `wrap_socket` (a `socketutil` / `sslutil` compatibility shim
      from the days before `ssl.SSLContext`, or a green version such as eventlet's), called as
      `sslutil.wrap_socket(sock)` or imported by name, without `cert_reqs`, `server_hostname`,
      `ca_certs` or a context, on the client side: medium severity and medium confidence (low
      when `**options` are unpacked into the call, since they may carry `cert_reqs`). Such shims
      forward to `ssl.wrap_socket`, whose `cert_reqs` defaults to `CERT_NONE`; what they skip is
      certificate verification, so this is CWE-295 rather than a protocol choice (SR402). The
      shim's body is usually in another module, hence the medium confidence, and the severity
      matches a direct `ssl.wrap_socket` client call. A shim defined in the same module that
      passes `cert_reqs` or builds an SSL context is trusted; `context.wrap_socket(...)` (the
      safe API) and methods such as `self._wrap_socket(...)` are not shims.

    `verify=True`, a CA bundle path, a configuration value or any variable that is not a known
    constant are not reported, nor is `urllib3.disable_warnings()` on its own.

    ## Why it is dangerous
    Without certificate verification, TLS still encrypts but no longer authenticates: anyone who
    can intercept the connection (a shared network, a compromised router, a malicious proxy)
    presents a certificate of their own and reads or rewrites the traffic, including the tokens
    and passwords sent with it. Skipping only the host name check has the same effect, since any
    valid certificate for any domain is then accepted.

    ## Example
    ```python
    import requests
    def fetch_catalog(url, token):
        return requests.get(url, headers={"X-Auth-Token": token}, verify=False, timeout=10)
    ```

    ## Safe alternative
    ```python
    import requests
    def fetch_catalog(url, token, ca_file="/etc/pki/tls/certs/ca-bundle.crt"):
        return requests.get(url, headers={"X-Auth-Token": token}, verify=ca_file, timeout=10)
    ```
    Keep verification on; for a private CA pass the CA bundle path (`verify="/path/ca.pem"`,
    `ssl.create_default_context(cafile=...)`) instead of disabling the check.

    ## References
    - https://cwe.mitre.org/data/definitions/295.html
    - https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification
    - https://docs.python.org/3/library/ssl.html#security-considerations
    """

    id = "SR401"
    name = "tls-verification-disabled"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 295
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Leave certificate and host name verification on; for a private CA, pass its bundle "
           "(`verify=\"/path/ca.pem\"` or `ssl.create_default_context(cafile=...)`).")
    calls = (REQUESTS_FUNCTIONS + SESSION_METHODS + HTTPX_FUNCTIONS + HTTPX_CLIENTS + HTTPX_TRANSPORTS
             + ("ssl._create_unverified_context",))
    methods = VERBS + ("wrap_socket",)
    # ImportFrom / FunctionDef: a ``wrap_socket`` shim imported by name or defined in the module
    nodes = (ast.Assign, ast.keyword, ast.Dict, ast.ImportFrom, ast.FunctionDef)

    _VERIFY_TAKERS = frozenset(REQUESTS_FUNCTIONS + SESSION_METHODS + HTTPX_FUNCTIONS + HTTPX_CLIENTS
                               + HTTPX_TRANSPORTS)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if isinstance(call.func, ast.Attribute) and call.func.attr == "wrap_socket":
            if qualname is not None and qualname != "ssl.wrap_socket" \
                    and ctx.index.module_reference(call.func) == qualname:
                self._shim_call(ctx, call, qualname)
            return
        name = qualname if qualname is not None else _resolve(ctx, call.func)
        if name == "ssl._create_unverified_context":
            ctx.report(self, call,
                       f"`{ctx.text(call)}` builds an SSL context that checks neither the certificate chain "
                       "nor the host name, so a connection made with it accepts any certificate an "
                       "interceptor presents.",
                       fix="Use `ssl.create_default_context()` (with `cafile=` for a private CA).")
            return
        verify = ctx.keyword(call, "verify")
        if verify is None or not ctx.is_false(verify):
            return
        if name in self._VERIFY_TAKERS:
            confidence = Level.HIGH
        elif name is None and isinstance(call.func, ast.Attribute) and call.func.attr in VERBS \
                and _looks_like_http(ctx, call):
            confidence = Level.MEDIUM  # an HTTP client we cannot resolve, such as self.session
        else:
            return
        where = _callee(ctx, call, name)
        ctx.report(self, call,
                   f"`{where}` is called with `verify={ctx.text(verify, 30)}`, so the server certificate is "
                   "not checked: anyone on the network path can impersonate the server and read or alter "
                   "the request, including any credentials it carries.",
                   confidence=confidence)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # the first test of each branch of check_node, on all the nodes of one type at once.
        # Keyword arguments, attributes, imported names and function names are identifiers: in
        # a file of ASCII text (where no identifier is normalised from other characters) one
        # that the text does not hold is nowhere, and most files hold none of those looked for.
        text = ctx.source.text
        ascii = ctx.cache.get("SR401.ascii")
        if ascii is None:  # asked once per file, not once per node type: it reads the whole text
            ascii = ctx.cache["SR401.ascii"] = text.isascii()
        if node_type is ast.keyword:
            if ascii and not ctx.holds("cert_reqs"):
                return []
            return [node for node in nodes if node.arg == "cert_reqs"]
        if node_type is ast.Assign:
            # No search of the text for the attributes' words first: SR604 (webconfig), which runs
            # on every file unless it is deselected, finds the file's assigned attributes anyway
            # (kept in ctx.cache), so three searches of the whole text would only add to its work.
            if _ASSIGNED_ATTRS.isdisjoint(assigned_attributes(ctx, nodes)[0]):
                return []  # no target ``x.attr`` with one of the attributes
            return [node for node in nodes
                    if any([isinstance(t, ast.Attribute) and t.attr in _ASSIGNED_ATTRS for t in node.targets])]
        if node_type is ast.Dict:
            # a key is a string, which escapes or implicit concatenation may spell differently
            # from the text: the keys of all the dicts are looked at at once instead
            keys = list(chain.from_iterable(map(_KEYS, nodes)))
            constants = compress(keys, map(is_, map(type, keys), repeat(ast.Constant)))
            if "cert_reqs" not in map(_VALUE, constants):
                return []
            return [node for node in nodes
                    if any([isinstance(k, ast.Constant) and k.value == "cert_reqs" for k in node.keys])]
        if node_type is ast.ImportFrom:
            if ascii and not ctx.holds("wrap_socket"):
                return []
            return [node for node in nodes if any([alias.name == "wrap_socket" for alias in node.names])]
        if node_type is ast.FunctionDef:
            if ascii and not ctx.holds("wrap_socket"):
                return []
            return [node for node in nodes if node.name == "wrap_socket"]
        return nodes

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        if isinstance(node, ast.keyword):  # the most frequent node by far: test it first
            if node.arg == "cert_reqs" and _is_cert_none(ctx, node.value, strings=True):
                parent = ctx.index.parent(node)
                if not isinstance(parent, ast.Call):
                    return
                ctx.report(self, parent,
                           f"`{ctx.text(parent.func, 50)}` is given `cert_reqs={ctx.text(node.value, 30)}`, "
                           "which accepts a peer certificate without validating it, so the connection can be "
                           "intercepted by anyone able to present a certificate of their own.")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in _ASSIGNED_ATTRS:
                    self._assignment(ctx, node)
                    break
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "wrap_socket" and node.module not in _SSL_MODULES:
                    self._shim_calls(ctx, alias.asname or alias.name)
        elif isinstance(node, ast.FunctionDef):
            if node.name == "wrap_socket" and ctx.index.scope_of(node) is ctx.index.module_scope \
                    and not _verifies(ctx, node):
                self._shim_calls(ctx, node.name)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "cert_reqs" \
                        and _is_cert_none(ctx, value, strings=True):
                    ctx.report(self, key,
                               f"The TLS options `{{{ctx.text(key, 20)}: {ctx.text(value, 30)}}}` turn off "
                               "certificate validation for whatever connection uses them, so a man in the "
                               "middle is not detected.")

    def _shim_calls(self, ctx: FileContext, local: str) -> None:
        """Calls of ``local``, a module-level ``wrap_socket`` imported by name or defined here."""
        seen = ctx.cache.setdefault("SR401.shims", set())
        if local in seen:  # imported in two places (``try`` / ``except ImportError``)
            return
        seen.add(local)  # type: ignore[attr-defined]
        for call in ctx.index.of_type(ast.Call):
            func = call.func
            if type(func) is ast.Name and func.id == local:
                binding = ctx.binding(func)
                if binding is None or not (binding.kind == "import" or (
                        binding.kind == "def" and binding.scope is ctx.index.module_scope)):
                    continue
                qualname = ctx.qualname(func) or local
                if qualname.rpartition(".")[0] not in _SSL_MODULES:
                    self._shim_call(ctx, call, qualname)

    def _shim_call(self, ctx: FileContext, call: ast.Call, qualname: str) -> None:
        """A project's own module-level ``wrap_socket`` (Python 2 era ``socketutil`` / ``sslutil``
        modules) called without anything that asks for verification. Such shims forward to
        ``ssl.wrap_socket``, whose ``cert_reqs`` defaults to ``CERT_NONE``."""
        receiver = qualname.rpartition(".")[0].rpartition(".")[2].lower()
        if "context" in receiver or "ctx" in receiver:
            return  # an SSLContext imported from another module: its wrap_socket is the safe API
        for kw in call.keywords:
            if kw.arg is not None and (kw.arg in _VERIFY_OPTIONS or "context" in kw.arg):
                return  # verification asked for, or switched off explicitly (reported on its own)
        server = ctx.keyword(call, "server_side")
        if server is not None and not ctx.is_false(server):
            return  # a server does not verify clients unless asked: nothing is skipped by default
        for arg in call.args[1:]:
            value = arg.value if isinstance(arg, ast.Starred) else arg
            if "context" in ctx.text(value, 80).lower() or "ctx" in ctx.text(value, 80).lower() \
                    or (ctx.qualname(value) or "") in _CONTEXT_MAKERS:
                return  # a context passed by position
        shown = ctx.text(call.func, 50)
        splat = [kw for kw in call.keywords if kw.arg is None]
        if splat:
            unless = f" (unless the options unpacked from `**{ctx.text(splat[0].value, 30)}` carry them)"
            confidence = Level.LOW
        else:
            unless = ""
            confidence = Level.MEDIUM
        where = f"`{shown}`" if shown == qualname or qualname.endswith("." + shown) else f"`{shown}` (`{qualname}`)"
        ctx.report(self, call,
                   f"{where} is called without `cert_reqs`, `server_hostname` or an SSL context{unless}. It is a "
                   "module-level stand-in for `ssl.wrap_socket` (a compatibility shim, or a green version of "
                   "it), and such functions forward to `ssl.wrap_socket`, which by default does not verify the "
                   "peer certificate (`cert_reqs=CERT_NONE`) and never checks the host name: the connection is "
                   "likely open to interception.",
                   severity=Level.MEDIUM, confidence=confidence,
                   fix=("Wrap the socket with `ssl.create_default_context(cafile=...).wrap_socket(sock, "
                        "server_hostname=host)`, or pass `cert_reqs=ssl.CERT_REQUIRED` and `ca_certs` to the "
                        "shim and make sure it checks the host name."))

    def _assignment(self, ctx: FileContext, node: ast.Assign) -> None:
        value = node.value
        for target in node.targets:
            if not isinstance(target, ast.Attribute):
                continue
            attr = target.attr
            if attr not in _ASSIGNED_ATTRS:
                continue  # none of the branches below applies
            shown = ctx.text(target, 40)
            if attr == "verify" and ctx.is_false(value):
                if _resolve(ctx, target.value) in SESSIONS:
                    ctx.report(self, node,
                               f"`{shown} = {ctx.text(value, 20)}` turns off certificate verification for every "
                               "request made through this requests session, so any of them can be "
                               "intercepted and altered.")
            elif attr == "verify_mode" and _is_cert_none(ctx, value, strings=False):
                ctx.report(self, node,
                           f"`{shown} = {ctx.text(value, 30)}` makes this SSL context accept any peer "
                           "certificate without validating it, so connections using it can be intercepted.")
            elif attr == "check_hostname" and ctx.is_false(value):
                receiver = _resolve(ctx, target.value)
                if receiver is None:
                    confidence = Level.MEDIUM
                elif receiver.startswith("ssl."):
                    confidence = Level.HIGH
                else:
                    continue  # a configuration object or another library's attribute
                ctx.report(self, node,
                           f"`{shown} = {ctx.text(value, 20)}` stops this SSL context from matching the "
                           "certificate to the host name, so a valid certificate for any other domain is "
                           "accepted in place of the server's.",
                           confidence=confidence)
            elif ctx.qualname(target) == "ssl._create_default_https_context" \
                    and ctx.qualname(value) == "ssl._create_unverified_context":
                ctx.report(self, node,
                           f"`{shown} = {ctx.text(value, 40)}` switches off certificate and host name "
                           "checks for every HTTPS connection the process opens through the standard library.",
                           fix="Remove the override; pass a context built with `ssl.create_default_context("
                               "cafile=...)` to the calls that need a private CA.")


_KEYS = attrgetter("keys")
_VALUE = attrgetter("value")
_TARGETS = attrgetter("targets")
_ATTR = attrgetter("attr")


def assigned_attributes(ctx: FileContext, assigns: list[ast.AST]) -> tuple[frozenset[str], frozenset[str]]:
    """For the file's assignments ``assigns`` (Index.of_type(ast.Assign)): the attributes ``attr``
    of the targets ``x.attr``, and those of the targets ``x.attr[...]``. Found once per file for
    SR401 and SR604 (webconfig), with all the targets at once rather than a loop in Python."""
    found = ctx.cache.get("assigned_attributes")
    if found is None:
        targets = list(chain.from_iterable(map(_TARGETS, assigns)))
        kinds = list(map(type, targets))
        attrs = frozenset(map(_ATTR, compress(targets, map(is_, kinds, repeat(ast.Attribute)))))
        held = list(map(_VALUE, compress(targets, map(is_, kinds, repeat(ast.Subscript)))))
        subscripted = frozenset(map(_ATTR, compress(held, map(is_, map(type, held), repeat(ast.Attribute)))))
        found = ctx.cache["assigned_attributes"] = (attrs, subscripted)
    return found  # type: ignore[return-value]
# the attributes whose assignment _assignment judges (the qualified name of an attribute ends
# with the attribute: ``ssl._create_default_https_context``)
_ASSIGNED_ATTRS = frozenset({"verify", "verify_mode", "check_hostname", "_create_default_https_context"})
_SSL_MODULES = frozenset({"ssl", "_ssl"})
# keywords of a wrap_socket call that ask for verification (or switch it off, which is reported
# where it is written): a shim given any of them is not assumed to skip the check
_VERIFY_OPTIONS = frozenset({"cert_reqs", "server_hostname", "ca_certs", "cafile", "ca_file", "capath",
                             "verify", "verify_mode", "ssl_context", "context", "ctx", "check_hostname"})
_CONTEXT_MAKERS = frozenset({"ssl.create_default_context", "ssl.create_default_context()", "ssl.SSLContext",
                             "ssl.SSLContext()"})


def _verifies(ctx: FileContext, function: ast.FunctionDef) -> bool:
    """True when a ``wrap_socket`` defined in this module visibly asks for verification: a call in
    its body passes ``cert_reqs`` (other than ``CERT_NONE``) or ``server_hostname``, or builds an
    SSL context."""
    first, last = function.lineno, function.end_lineno or function.lineno
    for call in ctx.index.of_type(ast.Call):
        if not first <= call.lineno <= last:
            continue
        if ctx.qualname(call.func) in _CONTEXT_MAKERS:
            return True
        for kw in call.keywords:
            if kw.arg in ("cert_reqs", "server_hostname") and not _is_cert_none(ctx, kw.value, strings=True):
                return True
    return False


_HTTP_KEYWORDS = frozenset({"timeout", "headers", "json", "data", "params", "auth", "cert", "proxies",
                            "allow_redirects", "stream", "files", "cookies"})


def _looks_like_http(ctx: FileContext, call: ast.Call) -> bool:
    """For a receiver we cannot resolve: does the call read as an HTTP request? It must pass a
    keyword only HTTP clients take, or a URL whose constant text has a scheme or a path."""
    if any(kw.arg in _HTTP_KEYWORDS for kw in call.keywords):
        return True
    position = 1 if call.func.attr == "request" else 0  # type: ignore[attr-defined]
    url = ctx.argument(call, position, "url")
    consts, _ = ctx.string_parts(url)
    text = "".join(consts)
    return "://" in text or text.startswith("/")


def _is_cert_none(ctx: FileContext, expr: ast.AST, *, strings: bool) -> bool:
    if ctx.qualname(expr) in CERT_NONE:
        return True
    return strings and ctx.literal(expr) in ("CERT_NONE", "NONE")


# ------------------------------------------------------------------------------------- SR402

_PROTOCOL_NAMES = {
    "SSLv2": "SSL 2.0", "SSLv3": "SSL 3.0", "TLSv1": "TLS 1.0", "TLSv1_1": "TLS 1.1",
}
# qualified name -> protocol key
_WEAK_CONSTANTS = {
    **{f"ssl.PROTOCOL_{p}": p for p in _PROTOCOL_NAMES},
    **{f"OpenSSL.SSL.{p}_METHOD": p for p in _PROTOCOL_NAMES},
}
_WEAK_VERSIONS = {f"ssl.TLSVersion.{p}": p for p in ("SSLv3", "TLSv1", "TLSv1_1")}
_WEAK_LAST = frozenset(q.rpartition(".")[2] for q in (*_WEAK_CONSTANTS, *_WEAK_VERSIONS))
_VERSION_SETTINGS = ("minimum_version", "maximum_version")


@register
class InsecureTlsProtocol(Rule):
    """Obsolete SSL or TLS protocol version selected.

    ## What it finds
    - `ssl.PROTOCOL_SSLv2`, `ssl.PROTOCOL_SSLv3`, `ssl.PROTOCOL_TLSv1`, `ssl.PROTOCOL_TLSv1_1`
      and pyOpenSSL's `SSLv2_METHOD`, `SSLv3_METHOD`, `TLSv1_METHOD`, `TLSv1_1_METHOD`, wherever
      they are used (also imported under another name), except as an operand of a comparison.
    - `ssl.TLSVersion.SSLv3`, `TLSv1` or `TLSv1_1` set as a context's `minimum_version` (or its
      `maximum_version`).
    - `ssl.wrap_socket(...)` on the client side, with medium severity: deprecated since Python
      3.7 and removed in 3.12, it never checks the host name and by default does not verify the
      certificate.
    - `ssl.wrap_socket(..., server_side=True)`, where host names and server certificates play no
      part; what matters there is the protocol version (`ssl_version`, by constant name or by
      number: `PROTOCOL_SSLv2` = 0, `SSLv3` = 1, `SSLv23` / `TLS` = 2, `TLSv1` = 3, `TLSv1_1` = 4,
      `TLSv1_2` = 5). Severities follow what the server accepts:
      - an obsolete version pinned (SSL 2.0, SSL 3.0, TLS 1.0, TLS 1.1, RFC 8996): high severity,
        reported on the `ssl_version` argument, since every client is held to it (the same
        holds for a client);
      - no `ssl_version`, or the negotiating `PROTOCOL_SSLv23` / `PROTOCOL_TLS`: medium severity
        and medium confidence. The API cannot set a minimum version, so on the Pythons that had
        it the server accepted TLS 1.0 and 1.1 (and SSL 3.0 before Python 3.6) from clients
        offering them; whether it still does depends on the OpenSSL build and policy;
      - a version from configuration: low severity, medium confidence (the value decides);
      - `PROTOCOL_TLSv1_2` (or `PROTOCOL_TLS_SERVER`): a low-severity note that the API is gone
        from Python 3.12, where the server no longer starts; the protocol itself is fine.

    ## Why it is dangerous
    SSL 2.0 and 3.0 and TLS 1.0 and 1.1 are deprecated (RFC 8996): they rely on broken
    constructions (CBC padding oracles such as POODLE, predictable IVs as in BEAST, MD5 and SHA-1
    in the handshake). A client or server that allows them can be downgraded and its traffic
    decrypted by an attacker on the network.

    ## Example
    ```python
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLSv1)
    ```

    ## Safe alternative
    ```python
    import ssl
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    ```
    Use `ssl.create_default_context()` (or `ssl.PROTOCOL_TLS_CLIENT` / `PROTOCOL_TLS_SERVER`)
    and raise `minimum_version` to TLS 1.2 or later.

    ## References
    - https://cwe.mitre.org/data/definitions/327.html
    - https://www.rfc-editor.org/rfc/rfc8996
    - https://docs.python.org/3/library/ssl.html#protocol-versions
    """

    id = "SR402"
    name = "insecure-tls-protocol"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 327
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Build the context with `ssl.create_default_context()` (or `PROTOCOL_TLS_CLIENT` / "
           "`PROTOCOL_TLS_SERVER`) and set `minimum_version = ssl.TLSVersion.TLSv1_2` or later.")
    calls = ("ssl.wrap_socket",)
    nodes = (ast.Attribute, ast.Name)
    # every weak constant's name contains one of these, and so does every wrap_socket call
    needs = ("SSLv", "TLSv", "wrap_socket")

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        # ssl.wrap_socket(sock, keyfile, certfile, server_side, cert_reqs, ssl_version, ca_certs, ...)
        server = ctx.argument(call, 3, "server_side")
        version = ctx.argument(call, 5, "ssl_version")
        protocol = _wrap_protocol(ctx, version)
        if server is None or ctx.is_false(server):
            side = "client"
        elif ctx.is_true(server):
            side = "server"
        else:
            side = "either"
        removed = "`ssl.wrap_socket` is deprecated since Python 3.7 and removed in 3.12"
        also = "`ssl.wrap_socket` is also deprecated since Python 3.7 and removed in 3.12"
        if version is not None and protocol in _PROTOCOL_NAMES:
            shown = ctx.text(version, 40)
            named = _PROTOCOL_NAMES[protocol]
            written = f"`ssl_version={shown}`" + ("" if protocol in shown else f" ({named})")
            if side == "server":
                effect = (f"this server socket speak only {named}, so every client is held to a protocol "
                          "version RFC 8996 deprecates for known weaknesses, which an attacker on the network "
                          f"can exploit to decrypt or alter the traffic. {also}.")
            else:
                effect = (f"this connection use {named}, a protocol version RFC 8996 deprecates for known "
                          "weaknesses, which an attacker on the network can exploit to decrypt or alter the "
                          f"traffic. {also}" + (", and as a client it never checks the server's host name."
                                                if side == "client" else "."))
            ctx.report(self, version,
                       f"{written} makes {effect}",
                       severity=Level.HIGH, confidence=Level.HIGH,
                       fix=self._SERVER_FIX if side == "server" else self._CLIENT_FIX)
            return
        if side == "server":
            if version is None or protocol in _NEGOTIATED:
                how = ("without `ssl_version`" if version is None
                       else f"with `ssl_version={ctx.text(version, 40)}` (negotiated)")
                ctx.report(self, call if version is None else version,
                           f"`ssl.wrap_socket(..., server_side=True)` {how} cannot set a minimum protocol "
                           "version: on the Pythons that had this function the server accepts whatever the "
                           "client offers and OpenSSL allows, TLS 1.0 and 1.1 (SSL 3.0 as well before Python "
                           f"3.6), versions RFC 8996 deprecates for known weaknesses. {also}.",
                           severity=Level.MEDIUM, confidence=Level.MEDIUM, fix=self._SERVER_FIX)
            elif protocol in _CURRENT:
                ctx.report(self, call,
                           f"`ssl.wrap_socket(..., server_side=True, ssl_version={ctx.text(version, 40)})` "
                           f"selects an acceptable protocol, but {removed}: on current Pythons this server "
                           "fails to start; build an `SSLContext` instead.",
                           severity=Level.LOW, confidence=Level.HIGH, fix=self._SERVER_FIX)
            else:
                ctx.report(self, call,
                           f"`ssl.wrap_socket(..., server_side=True)` takes its protocol from "
                           f"`{ctx.text(version, 40)}`: unless that is TLS 1.2 or later the server accepts "
                           f"versions RFC 8996 deprecates, and {removed}.",
                           severity=Level.LOW, confidence=Level.MEDIUM, fix=self._SERVER_FIX)
            return
        if side == "client":
            what = ("it never checks the server's host name and, unless `cert_reqs` is set, does not verify "
                    "its certificate either.")
        else:
            what = ("as a client it never checks the server's host name and, unless `cert_reqs` is set, does "
                    "not verify its certificate; as a server it cannot set a minimum protocol version.")
        ctx.report(self, call,
                   f"`{ctx.text(call)}` uses `ssl.wrap_socket`, deprecated since Python 3.7 and removed in "
                   f"3.12: {what}",
                   severity=Level.MEDIUM, fix=self._CLIENT_FIX)

    _CLIENT_FIX = ("Create a context with `ssl.create_default_context()` and call "
                   "`context.wrap_socket(sock, server_hostname=host)`.")
    _SERVER_FIX = ("Build a server context: `context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)`, "
                   "`context.minimum_version = ssl.TLSVersion.TLSv1_2`, `context.load_cert_chain(certfile, "
                   "keyfile)`, then `context.wrap_socket(sock, server_side=True)`.")

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        if isinstance(node, ast.Attribute):
            if node.attr not in _WEAK_LAST or type(node.ctx) is not ast.Load:
                return
        elif isinstance(node, ast.Name):
            if type(node.ctx) is not ast.Load:
                return
            if node.id not in _WEAK_LAST and node.id not in _imported_weak_names(ctx):
                return  # cheap exit: most names are not protocol constants
            binding = ctx.binding(node)
            if binding is None:
                if node.id not in _WEAK_LAST:
                    return  # only a star import can make a bare name one of the constants
            elif binding.kind != "import" or (binding.qualname or "").rpartition(".")[2] not in _WEAK_LAST:
                return  # a name assigned from the constant: the assignment itself is reported
        else:
            return
        qualname = ctx.qualname(node)
        if qualname is None:
            return
        parent = ctx.index.parent(node)
        if _in_comparison(ctx, node, parent):
            return
        if isinstance(parent, ast.Attribute) and parent.value is node and ctx.qualname(parent) in _WEAK_CONSTANTS:
            return  # the enclosing chain is reported
        shown = ctx.text(node, 40)
        if qualname in _WEAK_CONSTANTS:
            if _wrap_socket_version(ctx, node, parent):
                return  # reported with the call, which says what the version means there
            version = _PROTOCOL_NAMES[_WEAK_CONSTANTS[qualname]]
            ctx.report(self, node,
                       f"`{shown}` selects {version}, a protocol version deprecated for known weaknesses; "
                       "connections made with it can be downgraded or decrypted by an attacker on the network.")
        elif qualname in _WEAK_VERSIONS:
            setting = _version_setting(node, parent)
            if setting is None:
                return
            version = _PROTOCOL_NAMES[_WEAK_VERSIONS[qualname]]
            effect = "still accepts" if setting == "minimum_version" else "is capped at"
            ctx.report(self, node,
                       f"`{setting}` is set to `{shown}`, so the context {effect} {version}, a protocol "
                       "version deprecated for known weaknesses that an attacker can force a connection "
                       "down to.")


# ssl.wrap_socket's ``ssl_version``: the ``ssl.PROTOCOL_*`` constants and their numbers
_PROTOCOL_NUMBERS = {0: "SSLv2", 1: "SSLv3", 2: "SSLv23", 3: "TLSv1", 4: "TLSv1_1", 5: "TLSv1_2",
                     16: "TLS_CLIENT", 17: "TLS_SERVER"}
_NEGOTIATED = frozenset({"SSLv23", "TLS"})  # the highest version both sides support, the old ones included
_CURRENT = frozenset({"TLSv1_2", "TLS_SERVER", "TLS_CLIENT"})


def _wrap_protocol(ctx: FileContext, expr: ast.AST | None) -> str | None:
    """The protocol an ``ssl_version`` value selects (``TLSv1``, ``SSLv23``...), by constant name
    or number; None when it is not known."""
    if expr is None:
        return None
    name = ctx.qualname(expr) or ""
    if name.startswith("ssl.PROTOCOL_"):
        return name.removeprefix("ssl.PROTOCOL_")
    value = ctx.literal(expr)
    if type(value) is int:
        return _PROTOCOL_NUMBERS.get(value)
    return None


def _wrap_socket_version(ctx: FileContext, node: ast.AST, parent: ast.AST | None) -> bool:
    """True when ``node`` is the ``ssl_version`` passed to ``ssl.wrap_socket``."""
    call = ctx.index.parent(parent) if isinstance(parent, ast.keyword) else parent
    return isinstance(call, ast.Call) and ctx.argument(call, 5, "ssl_version") is node \
        and ctx.qualname(call.func) == "ssl.wrap_socket"


def _imported_weak_names(ctx: FileContext) -> frozenset[str]:
    """Local names bound by importing one of the weak constants (``from ssl import X as Y``)."""
    names = ctx.cache.get("SR402.names")
    if names is None:
        index = ctx.index
        names = frozenset(
            binding.name
            for scope in (index.module_scope, *index.inner_scopes.values())
            for bindings in scope.bindings.values()
            for binding in bindings
            if binding.kind == "import" and (binding.qualname or "").rpartition(".")[2] in _WEAK_LAST
        )
        ctx.cache["SR402.names"] = names
    return names


def _in_comparison(ctx: FileContext, node: ast.AST, parent: ast.AST | None) -> bool:
    if isinstance(parent, ast.Compare):
        return True
    if isinstance(parent, (ast.Tuple, ast.List, ast.Set)):
        return isinstance(ctx.index.parent(parent), ast.Compare)
    return False


def _version_setting(node: ast.AST, parent: ast.AST | None) -> str | None:
    if isinstance(parent, ast.keyword) and parent.arg in _VERSION_SETTINGS:
        return parent.arg
    if isinstance(parent, ast.Assign) and parent.value is node:
        for target in parent.targets:
            if isinstance(target, ast.Attribute) and target.attr in _VERSION_SETTINGS:
                return target.attr
    if isinstance(parent, ast.AnnAssign) and parent.value is node and isinstance(parent.target, ast.Attribute) \
            and parent.target.attr in _VERSION_SETTINGS:
        return parent.target.attr
    return None


# ------------------------------------------------------------------------------------- SR403

URLOPEN = ("urllib.request.urlopen",)


@register
class RequestWithoutTimeout(Rule):
    """HTTP request that can wait for an answer forever.

    ## What it finds
    - `requests.get` / `post` / `put` / `patch` / `delete` / `head` / `options` / `request`, and
      the same methods of a `requests.Session()`, called without `timeout=` or with
      `timeout=None`.
    - `urllib.request.urlopen(...)` without a timeout (medium confidence: a process-wide
      `socket.setdefaulttimeout` may apply).
    - `timeout=None` given to the `httpx` functions, `httpx.Client` / `AsyncClient` or their
      methods; httpx has a default timeout, so leaving it out is fine.

    A call that passes `**kwargs` is not reported, since the timeout may be in them.

    ## Why it is dangerous
    `requests` and `urlopen` wait indefinitely by default. A slow or malicious peer that
    accepts the connection and then never answers holds the worker (thread, greenlet or
    process) forever; a few such requests exhaust the pool and the service stops responding.

    ## Example
    ```python
    import requests
    def ping_endpoint(url):
        return requests.get(url).status_code
    ```

    ## Safe alternative
    ```python
    import requests
    def ping_endpoint(url):
        return requests.get(url, timeout=(3.05, 30)).status_code
    ```
    Always pass a finite `timeout` (seconds, or a `(connect, read)` pair), ideally from
    configuration.

    ## References
    - https://cwe.mitre.org/data/definitions/400.html
    - https://requests.readthedocs.io/en/latest/user/advanced/#timeouts
    """

    id = "SR403"
    name = "request-without-timeout"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 400
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = "Pass a finite `timeout=` (seconds, or a `(connect, read)` pair) to every outgoing request."
    calls = REQUESTS_FUNCTIONS + SESSION_METHODS + URLOPEN + HTTPX_FUNCTIONS + HTTPX_CLIENTS + HTTPX_CLIENT_METHODS
    methods = HTTPX_VERBS

    _REQUESTS = frozenset(REQUESTS_FUNCTIONS + SESSION_METHODS)
    _HTTPX = frozenset(HTTPX_FUNCTIONS + HTTPX_CLIENTS + HTTPX_CLIENT_METHODS)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        name = qualname if qualname is not None else _resolve(ctx, call.func)
        if name is None or ctx.has_kwargs_splat(call):
            return
        if name in self._REQUESTS:
            position = 8 if name.endswith(").request") else None  # Session.request(method, url, ..., timeout)
            timeout = ctx.argument(call, position, "timeout")
            kind, confidence = "requests", Level.HIGH
        elif name in URLOPEN:
            timeout = ctx.argument(call, 2, "timeout")
            kind, confidence = "urlopen", Level.MEDIUM
        elif name in self._HTTPX:
            timeout = ctx.keyword(call, "timeout")
            if timeout is None:
                return  # httpx applies a default timeout
            kind, confidence = "httpx", Level.HIGH
        else:
            return
        where = _callee(ctx, call, name)
        if timeout is None:
            why = ("`requests` waits indefinitely by default" if kind == "requests"
                   else "`urlopen` then uses the global socket timeout, which is none unless set")
            ctx.report(self, call,
                       f"`{where}` is called without a `timeout`; {why}, so a peer that stops answering "
                       "blocks this worker forever.",
                       confidence=confidence)
        elif _is_no_timeout(ctx, timeout):
            ctx.report(self, call,
                       f"`{where}` is called with `timeout={ctx.text(timeout, 30)}`, which disables the "
                       "timeout: a peer that stops answering blocks this worker forever.",
                       confidence=Level.HIGH)


def _is_no_timeout(ctx: FileContext, expr: ast.AST) -> bool:
    if ctx.literal(expr) is None:
        return True
    # httpx.Timeout(None) with nothing else disables every timeout as well
    return isinstance(expr, ast.Call) and ctx.qualname(expr.func) == "httpx.Timeout" and not expr.keywords \
        and len(expr.args) == 1 and isinstance(expr.args[0], ast.Constant) and expr.args[0].value is None


# ------------------------------------------------------------------------------------- SR404

# servers and listeners whose address is a (host, port) tuple: qualified name -> keyword name
_TUPLE_ADDRESS = {
    "http.server.HTTPServer": "server_address",
    "http.server.ThreadingHTTPServer": "server_address",
    "socketserver.TCPServer": "server_address",
    "socketserver.UDPServer": "server_address",
    "socketserver.ThreadingTCPServer": "server_address",
    "socketserver.ThreadingUDPServer": "server_address",
    "socketserver.ForkingTCPServer": "server_address",
    "socketserver.ForkingUDPServer": "server_address",
    "xmlrpc.server.SimpleXMLRPCServer": "addr",
    "wsgiref.simple_server.WSGIServer": "server_address",
    "socket.create_server": "address",
    "eventlet.listen": "addr",
}
# servers whose host is its own argument: qualified name -> (position, keyword)
_HOST_ARGUMENT = {
    "flask.Flask().run": (0, "host"),
    "uvicorn.run": (None, "host"),
    "uvicorn.Config": (None, "host"),
    "aiohttp.web.run_app": (None, "host"),
    "wsgiref.simple_server.make_server": (0, "host"),
    "werkzeug.serving.run_simple": (0, "hostname"),
    "werkzeug.run_simple": (0, "hostname"),
    "asyncio.start_server": (1, "host"),
}
_SOCKET_MODULES = ("socket.", "eventlet.green.socket.", "gevent.socket.", "_socket.")


def _all_interfaces(value: object, *, empty: bool) -> bool:
    if not isinstance(value, str):
        return False
    if value == "":
        return empty
    import ipaddress  # here, not at the top: few files get here, every run imports this module

    try:
        return ipaddress.ip_address(value).is_unspecified
    except ValueError:
        return False


def _address_tuple(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> ast.Tuple | None:
    """The tuple literal ``expr`` is, or that the name ``expr`` was assigned."""
    if isinstance(expr, ast.Tuple):
        return expr
    if isinstance(expr, ast.Name) and depth < 6:
        binding = ctx.binding(expr)
        if binding is not None and binding.kind == "assign" and binding.value is not None:
            return _address_tuple(ctx, binding.value, depth + 1)
    return None


@register
class BindAllInterfaces(Rule):
    """Server listening on every network interface.

    ## What it finds
    The unspecified address (`"0.0.0.0"`, `"::"`, and `""` in a `(host, port)` tuple), written
    directly or through a name bound to it, used as the listening address of:
    `<socket>.bind((host, port))`, `socket.create_server`, `eventlet.listen`, the
    `http.server` / `socketserver` / `xmlrpc.server` servers, `app.run(host=...)` on a Flask app,
    `uvicorn.run` / `uvicorn.Config`, `aiohttp.web.run_app`, `wsgiref.simple_server.make_server`,
    `werkzeug.serving.run_simple` and `asyncio.start_server`. A socket bound to port 0 (an
    ephemeral port, typical of clients) is reported with low confidence. Loopback addresses,
    specific addresses and values read from configuration are not reported.

    ## Why it is dangerous
    The unspecified address accepts connections on every interface of the machine: the public
    one, management and storage networks, container bridges. A development server, an admin
    endpoint or an internal API meant for one network becomes reachable from all of them, often
    without the authentication a public service would have.

    ## Example
    ```python
    from flask import Flask
    app = Flask(__name__)
    app.run(host="0.0.0.0", port=8080)
    ```

    ## Safe alternative
    ```python
    from flask import Flask
    from oslo_config import cfg
    app = Flask(__name__)
    app.run(host=cfg.CONF.api.bind_host, port=cfg.CONF.api.bind_port)  # 127.0.0.1 by default
    ```
    Listen on loopback or on the one address the service is meant for, taken from configuration,
    and publish it deliberately (reverse proxy, firewall rule, container port mapping).

    ## References
    - https://cwe.mitre.org/data/definitions/1327.html
    """

    id = "SR404"
    name = "bind-all-interfaces"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 1327
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Listen on loopback or on the specific address the service needs, read from configuration, "
           "and expose it deliberately through a proxy or firewall rule.")
    calls = tuple(_TUPLE_ADDRESS) + tuple(_HOST_ARGUMENT)
    methods = ("bind",)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname in _TUPLE_ADDRESS:
            self._tuple(ctx, call, qualname, ctx.argument(call, 0, _TUPLE_ADDRESS[qualname]))
        elif qualname in _HOST_ARGUMENT:
            position, keyword = _HOST_ARGUMENT[qualname]
            host = ctx.argument(call, position, keyword)
            if host is None:
                return
            value = ctx.literal(host)
            if _all_interfaces(value, empty=False):
                ctx.report(self, call,
                           f"`{_callee(ctx, call, qualname)}` is told to listen on {_shown(ctx, host, value)}, "
                           "which accepts connections on every network interface of the machine, not only the one the "
                           "service is meant for.")
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "bind" and len(call.args) == 1 \
                and not call.keywords:
            receiver = _resolve(ctx, call.func.value)
            if receiver is not None and not receiver.startswith(_SOCKET_MODULES) \
                    and not receiver.endswith(".wrap_socket()"):
                return  # a bind method of something that is not a socket
            self._tuple(ctx, call, ctx.text(call.func, 40), call.args[0])

    def _tuple(self, ctx: FileContext, call: ast.Call, where: str, address: ast.AST | None) -> None:
        pair = _address_tuple(ctx, address)
        if pair is None or len(pair.elts) != 2:
            return
        host, port = pair.elts
        value = ctx.literal(host)
        if not _all_interfaces(value, empty=True):
            return
        ephemeral = ctx.literal(port) == 0
        ctx.report(self, call,
                   f"`{where}` {'binds to' if where.endswith('.bind') else 'listens on'} {_shown(ctx, host, value)}"
                   f"{' (port 0, an ephemeral port)' if ephemeral else ''}, which accepts connections on "
                   "every network interface of the machine, not only the one the service is meant for.",
                   confidence=Level.LOW if ephemeral else None)


def _shown(ctx: FileContext, host: ast.AST, value: object) -> str:
    text = ctx.text(host, 40)
    literal = repr(value).replace("'", '"')
    return f"`{text}`" if isinstance(host, ast.Constant) else f"`{text}` ({literal})"
