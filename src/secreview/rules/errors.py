"""Error handling that hides security failures: an exception raised by an authentication,
authorisation, signature, certificate or token check caught and turned into success."""

from __future__ import annotations

import ast
from dataclasses import replace

from secreview.model import Level
from secreview.rules.base import FileContext, Rule, identifier_words
from secreview.rules.concurrency import exception_names, is_logging_call, walk_local
from secreview.rules.registry import register

_BROAD = frozenset({"*", "Exception", "BaseException"})
# Security checks by qualified name.
_CHECK_FUNCTIONS = frozenset({
    "hmac.compare_digest", "secrets.compare_digest", "jwt.decode", "jwt.api_jwt.decode", "bcrypt.checkpw",
    "ssl.match_hostname", "OpenSSL.crypto.verify", "werkzeug.security.check_password_hash",
    "django.contrib.auth.authenticate", "django.contrib.auth.hashers.check_password",
    "nova.policy.authorize", "keystoneauth1.session.Session().get_token",
})
# Method or function names that are a security check on any receiver.
_CHECK_NAMES = frozenset({
    "verify", "authorize", "authorise", "authenticate", "check_password", "check_password_hash",
    "verify_password", "validate_password", "validate_token", "verify_token", "check_token",
    "verify_signature", "validate_signature", "check_signature", "verify_certificate",
    "validate_certificate", "verify_cert", "verify_hmac", "check_hmac", "do_handshake", "compare_digest",
    "checkpw", "match_hostname", "verify_jwt", "decode_jwt", "validate_jwt", "check_auth",
    "check_permission", "check_permissions", "has_permission", "require_admin_context",
    "authorize_action", "enforce_policy", "check_policy", "verify_request",
})
_CHECK_VERBS = frozenset({"verify", "validate", "check", "authorize", "authorise", "authenticate"})
_CHECK_OBJECTS = frozenset({"signature", "sig", "token", "certificate", "cert", "password", "passwd", "hmac",
                            "digest", "credentials", "credential", "jwt", "mac", "auth", "policy",
                            "permission", "permissions", "signed", "hostname", "csrf", "nonce"})
# Exception types that report a failed check.
_FAILURE_WORDS = frozenset({"signature", "token", "unauthorized", "unauthorised", "forbidden", "authentication",
                            "authorization", "authorisation", "certificate", "cert", "ssl", "verification",
                            "credentials", "policy", "permission", "denied", "hmac", "jwt", "csrf"})
_SUCCESS_FLAG_WORDS = frozenset({"valid", "verified", "authorized", "authorised", "authenticated", "ok",
                                 "allowed", "trusted", "is", "signed", "success", "passed"})


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _receiver_words(call: ast.Call) -> list[str]:
    func = call.func
    if not isinstance(func, ast.Attribute):
        return []
    receiver = func.value
    words: list[str] = []
    while isinstance(receiver, (ast.Attribute, ast.Call)):
        if isinstance(receiver, ast.Call):
            receiver = receiver.func
            continue
        words += identifier_words(receiver.attr)
        receiver = receiver.value
    if isinstance(receiver, ast.Name):
        words += identifier_words(receiver.id)
    return words


def security_check(ctx: FileContext, call: ast.Call) -> bool:
    """A call that authenticates, authorises or verifies a signature, certificate, token or
    password, and reports failure by raising."""
    if (ctx.qualname(call.func) or "") in _CHECK_FUNCTIONS:
        return True
    name = _call_name(call)
    if name in _CHECK_NAMES:
        return True
    words = identifier_words(name)
    if set(words) & _CHECK_VERBS and set(words) & _CHECK_OBJECTS:
        return True
    receiver = set(_receiver_words(call))
    if name == "enforce" and receiver & {"policy", "enforcer", "policies"}:
        return True
    if name == "can" and receiver & {"context", "ctx", "req", "request"}:
        return True
    if name == "decode" and receiver & {"jwt", "token", "signer", "serializer"}:
        return True
    if name in ("loads", "unsign") and receiver & {"signer", "serializer", "signing"}:
        return True
    return False


def _failure_exception(names: list[str]) -> bool:
    return any(set(identifier_words(n)) & _FAILURE_WORDS for n in names)


def _catches_failure(caught: list[str]) -> bool:
    """A handler catching ``caught`` (exception_names) may hide a failed check: it is broad, or
    catches an exception that reports one (SSLWantReadError and the like ask to retry instead)."""
    if set(caught) & _BROAD:
        return True
    return _failure_exception(caught) and not any("Want" in n for n in caught)


@register
class SwallowedSecurityException(Rule):
    """Failure of a security check caught and ignored or turned into success.

    ## What it finds
    A `try` whose body calls a check that signals failure by raising (`verify`, `authorize`,
    `authenticate`, `check_password`, `validate_token`, `policy.enforce`, `context.can`,
    `jwt.decode`, `do_handshake`, `hmac.compare_digest`, and names such as
    `verify_signature` or `validate_certificate`), or raises inside the `try` after such a
    check, with a handler that catches the failure (a bare `except:`, `except Exception`, or
    an exception named like a failed check: `InvalidSignature`, `PolicyNotAuthorized`,
    `Forbidden`, `SSLError`...) and then only passes, logs, returns `True`, returns the
    unchecked data, sets a flag such as `valid = True`, `continue`s as the last statement of a
    loop body (the same as passing), or returns nothing from a function that the `try` ends and
    whose normal path returns nothing either.

    Not reported: handlers that re-raise, raise another error or return a failure value
    (`False`, `None` from a function that otherwise returns a value, an error response); an
    early `return` or `continue` that skips the statements after the `try` (the protected
    operation is then skipped too); retry signals such as `ssl.SSLWantReadError`;
    and the probing idiom where the check gates later statements of the same `try` body or its
    `else` block (`context.can(...); show_host = True`), since the failure then skips exactly
    what the check protects. A check whose result is assigned (`claims = jwt.decode(...)`) is
    only reported when the handler returns success, since the code after the `try` may still
    test the result.

    The CWE is 396 for a bare or `Exception` catch and 390 for a specific exception.

    ## Why it is dangerous
    These checks deny by raising. In this order: the check fails and raises, the handler
    catches the exception, logs it at most, and execution continues after the `try` exactly as
    if the check had passed, so the caller is treated as authenticated or authorised, or
    tampered data as signed. A broad handler also catches unrelated errors (a typo, a
    `KeyError`) that would otherwise reveal the check never ran.

    ## Example
    ```python
    import logging
    LOG = logging.getLogger(__name__)
    def verify_image(verifier, image_id):
        try:
            verifier.verify()
        except Exception:
            LOG.warning("Signature verification failed for image %s", image_id)
    ```

    ## Safe alternative
    ```python
    import logging
    LOG = logging.getLogger(__name__)
    class SignatureVerificationError(Exception):
        pass
    def verify_image(verifier, image_id):
        try:
            verifier.verify()
        except Exception as exc:
            LOG.warning("Signature verification failed for image %s", image_id)
            raise SignatureVerificationError(image_id) from exc
    ```
    Catch only the exceptions the check documents, and let a failure deny: re-raise, raise an
    authorisation error, or return an explicit failure the caller must act on.

    ## References
    - https://cwe.mitre.org/data/definitions/390.html
    - https://cwe.mitre.org/data/definitions/396.html
    """

    id = "SR811"
    name = "swallowed-security-exception"
    cwe = 396
    severity = Level.HIGH
    confidence = Level.MEDIUM
    fix = ("Let the failure deny access: re-raise (or raise an authorisation error) in the handler, catch only "
           "the exceptions the check documents, and never return success from it.")
    nodes = (ast.Try,)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # A finding needs a handler that check_node does not skip: one that may _swallow (its
        # statements are all of the kinds _swallows accepts; anything else makes it return None)
        # and catches a failure (_catches_failure). Most handlers raise or call something, and a
        # try without such a handler is dropped before its body is searched for checks.
        return [node for node in nodes
                if any([_may_swallow(handler) and _catches_failure(exception_names(handler))
                        for handler in node.handlers])]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Try)
        found = self._check_in(ctx, node)
        if found is None:
            return
        check, stmt_index, raised = found
        gated = bool(node.orelse) or any(not _harmless(s) for s in node.body[stmt_index + 1:])
        assigned = isinstance(node.body[stmt_index], (ast.Assign, ast.AnnAssign)) and not raised
        function = ctx.index.function_of(node)
        for handler in node.handlers:
            caught = exception_names(handler)
            if not _catches_failure(caught):
                continue
            broad = bool(set(caught) & _BROAD)
            outcome = self._swallows(ctx, handler, check, function)
            if outcome is None:
                continue
            success, what = outcome
            if not success and (gated or assigned):
                continue
            catch = "except:" if "*" in caught else f"except {ctx.text(handler.type, 40)}:"
            if raised is not None:
                failing = f"the `{ctx.text(raised, 50)}` raised when `{ctx.text(check, 50)}` fails"
            else:
                failing = f"a failure of `{ctx.text(check, 50)}`"
            after = ("the caller receives success" if success else
                     "execution continues after the `try` as if the check had passed")
            ctx.report(self, handler,
                       f"`{catch}` catches {failing} and {what}: {after}, so an "
                       "unauthenticated or unauthorised request (or tampered data) is accepted.",
                       severity=Level.HIGH if success or raised is not None or not broad else Level.MEDIUM,
                       confidence=Level.HIGH if success else Level.MEDIUM,
                       trace=[(check, "the security check that can fail"),
                              (handler, "the failure is caught here and not acted on")])
            if not broad:
                ctx.findings[-1] = replace(ctx.findings[-1], cwe=390)
            return

    @staticmethod
    def _check_in(ctx: FileContext, node: ast.Try):
        """The last security check in the ``try`` body: (call, index of its top-level statement,
        the ``raise`` that reports its failure if the body raises on a failed check)."""
        found = None
        for i, stmt in enumerate(node.body):
            for sub in walk_local(stmt):
                if isinstance(sub, ast.Call) and security_check(ctx, sub):
                    raised = None
                    if isinstance(stmt, ast.If) and any(sub is n for n in ast.walk(stmt.test)):
                        raised = next((n for s in stmt.body for n in walk_local(s) if isinstance(n, ast.Raise)),
                                      None)
                        if raised is None:
                            continue
                    elif isinstance(stmt, ast.If):
                        continue  # a check nested in a branch: too indirect to judge
                    if found is None or i >= found[1]:
                        found = (sub, i, raised)
        return found

    @staticmethod
    def _swallows(ctx: FileContext, handler: ast.ExceptHandler, check: ast.Call, function):
        """(returns success?, what the handler does) when the handler hides the failure."""
        actions = []
        success = False
        for stmt in handler.body:
            if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                actions.append("ignores it")
            elif isinstance(stmt, ast.Continue):
                if not _last_in_loop(ctx, handler):
                    return None  # skips the rest of the item: a denial
                actions.append("ignores it")
            elif isinstance(stmt, ast.Expr) and is_logging_call(stmt.value):
                actions.append("only logs it")
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                    and ctx.is_true(stmt.value) and \
                    set(identifier_words(stmt.targets[0].id)) & _SUCCESS_FLAG_WORDS:
                actions.append(f"sets `{stmt.targets[0].id} = True`")
                success = True
            elif isinstance(stmt, ast.Return):
                value = stmt.value
                if value is not None and ctx.is_true(value):
                    actions.append("returns `True`")
                    success = True
                elif value is not None and isinstance(value, ast.Name) and any(
                        isinstance(a, ast.Name) and a.id == value.id for a in check.args):
                    actions.append(f"returns the unchecked `{value.id}`")
                    success = True
                elif (value is None or (isinstance(value, ast.Constant) and value.value is None)) \
                        and function is not None and not _returns_values(function) \
                        and _last_in_function(ctx, handler, function):
                    actions.append("returns normally")
                    success = True
                else:
                    return None
            else:
                return None
        if not actions:
            return None
        if success:
            what = next(a for a in actions if a.startswith(("returns", "sets")))
        else:
            what = "only logs it" if "only logs it" in actions else actions[0]
        return success, what


# the statements SwallowedSecurityException._swallows may accept (it looks at each more closely)
_SWALLOWING = frozenset({ast.Pass, ast.Expr, ast.Continue, ast.Assign, ast.Return})


def _may_swallow(handler: ast.ExceptHandler) -> bool:
    """False when _swallows certainly returns None for ``handler``: a statement of another kind."""
    return all([type(stmt) in _SWALLOWING for stmt in handler.body])


def _harmless(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and (
        isinstance(stmt.value, ast.Constant) or is_logging_call(stmt.value)))


def _returns_values(function: ast.AST) -> bool:
    for node in walk_local(function):
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
    return False


def _try_of(ctx: FileContext, handler: ast.ExceptHandler) -> ast.AST | None:
    return ctx.index.parent(handler)


def _last_in_loop(ctx: FileContext, handler: ast.ExceptHandler) -> bool:
    """The ``try`` is the last statement of a loop body, so ``continue`` changes nothing."""
    node = _try_of(ctx, handler)
    parent = ctx.index.parent(node) if node is not None else None
    return isinstance(parent, (ast.For, ast.While, ast.AsyncFor)) and parent.body and parent.body[-1] is node


def _last_in_function(ctx: FileContext, handler: ast.ExceptHandler, function: ast.AST) -> bool:
    """The ``try`` ends the function, so returning from the handler looks like the normal end;
    when statements follow, an early return skips them and denies instead."""
    node = _try_of(ctx, handler)
    body = getattr(function, "body", [])
    return bool(body) and body[-1] is node
