"""Secrets: security values drawn from a predictable generator, and credentials written into the
source as string constants."""

from __future__ import annotations

import ast
import functools
import math
import re
from collections import Counter

from secreview.model import Level
from secreview.rules.base import FileContext, Rule, identifier_words
from secreview.rules.registry import register

# ---------------------------------------------------------------------------- naming helpers



def _parts(name: str) -> list[str]:
    return identifier_words(name)


def _singular(part: str) -> str:
    return part[:-1] if len(part) > 3 and part.endswith("s") and not part.endswith(("ss", "us", "is", "as")) else part


def _target_name(target: ast.AST) -> str | None:
    """The name a value is stored under: ``x``, ``self.x``, ``cfg["x"]``."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        key = target.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
    return None


def _shown(value: str) -> str:
    """At most the first four characters of a secret (fewer for short ones), never the rest."""
    keep = max(1, min(4, len(value) // 4))
    return value[:keep] + "..."


# Head nouns (the last part of a name) that say a value is about a secret, not the secret
# itself: ``token_url``, ``password_field``, ``key_name``, ``secret_path``.
_ABOUT_A_SECRET = frozenset({
    "url", "uri", "endpoint", "path", "file", "filename", "dir", "directory", "folder", "header", "field",
    "length", "len", "size", "name", "type", "id", "template", "prefix", "suffix", "label", "format", "fmt",
    "pattern", "regex", "re", "param", "arg", "column", "col", "attr", "attribute", "hint", "policy",
    "expiry", "expire", "expires", "expiration", "ttl", "timeout", "lifetime", "age", "count", "min", "max",
    "version", "algorithm", "alg", "scheme", "scope", "host", "port", "user", "username", "email", "message",
    "msg", "error", "prompt", "title", "text", "description", "help", "placeholder", "validator", "mode",
    "method", "kind", "style", "env", "var", "variable", "location", "hasher", "backend", "class", "module",
    "lookup", "position", "index", "rule", "required", "enabled", "char", "character", "store", "storage",
    "provider", "source", "audience", "issuer", "charset", "encoding", "separator", "sep", "delimiter", "tag",
    "query", "route", "view", "form", "widget", "input", "button", "link", "page", "cookie", "reset",
    "change", "strength", "complexity", "regexp", "option", "flag", "setting", "level", "status", "state",
    "handler", "caption", "validity", "rotation", "manager", "service", "client", "helper", "util",
    "start", "end", "begin", "ref", "marker", "delim", "re", "rx", "parser", "lexer", "kw", "keyword",
    "hash", "hashed", "digest", "checksum", "fingerprint",
})


# ============================================================================ SR501

_RANDOM_FUNCS = ("random", "randint", "randrange", "choice", "choices", "sample", "getrandbits",
                 "uniform", "shuffle", "randbytes")
_PICKERS = frozenset({"choice", "choices", "sample"})

# Parts that on their own name a security value, by how clearly they do.
_CLEAR_SECRET = frozenset({"token", "password", "passwd", "pwd", "secret", "nonce", "salt", "otp", "csrf",
                           "xsrf", "passphrase", "passcode", "csrftoken", "authtoken", "accesstoken",
                           "apitoken", "secretkey"})
_LIKELY_SECRET = frozenset({"key", "apikey", "pin", "pincode", "sessionid", "sessionkey", "privatekey",
                            "accesskey", "authkey"})
# ``session``, ``reset`` and ``code`` need a companion part to mean a secret.
_SESSION_COMPANIONS = frozenset({"id", "key", "token", "cookie", "secret"})
_RESET_COMPANIONS = frozenset({"code", "token", "key", "link", "id"})
_CODE_QUALIFIERS = frozenset({"verification", "verify", "confirm", "confirmation", "activation", "auth",
                              "login", "sms", "mfa", "security", "access", "reset", "otp", "pin", "twofa"})
# ``cache_key`` or ``sort_key`` is a lookup key, not a cryptographic one.
_KEY_NEUTRAL = frozenset({"cache", "sort", "lookup", "partition", "shard", "row", "column", "primary",
                          "foreign", "dict", "map", "group", "bucket", "idempotency", "dedup", "order",
                          "index", "routing", "hash", "sharding", "redis", "s3", "object", "file", "config"})
# ``key_board``, ``keyStroke``: words that merely start with "key".
_KEY_COMPOUNDS = frozenset({"board", "stroke", "frame", "pad", "word", "note", "hole", "code"})
# The head noun (last part) says the value is about the secret, not the secret itself.
_RANDOM_NOT_SECRET_TAILS = frozenset({
    "length", "len", "size", "count", "name", "type", "index", "idx", "delay", "timeout", "interval",
    "path", "url", "file", "ttl", "expiry", "expires", "lifetime", "age", "attempts", "retries", "retry",
    "backoff", "jitter", "wait", "sleep", "position", "pos", "offset", "bits", "bytes", "chars", "alphabet",
    "charset", "format", "prefix", "suffix", "label", "field", "header", "column", "version", "strength",
}) | (_ABOUT_A_SECRET - {"id", "cookie"})
_CHAR_POOLS = frozenset({"chars", "characters", "letters", "alphabet", "symbols", "digits", "pool", "charset"})


def _random_secret_word(name: str | None) -> tuple[Level, str] | None:
    """(confidence, word) when ``name`` says it holds a security value, else None."""
    if not name:
        return None
    parts = [_singular(p) for p in _parts(name)]
    if not parts:
        return None
    last = parts[-1]
    if last in _RANDOM_NOT_SECRET_TAILS:
        return None
    if last == "id" and not (len(parts) > 1 and parts[-2] in ("session", "reset")):
        return None
    for part in parts:
        if part in _CLEAR_SECRET:
            return Level.HIGH, part
    for i, part in enumerate(parts):
        before = parts[i - 1] if i else ""
        after = parts[i + 1:]
        if part == "key":
            if before in _KEY_NEUTRAL or (i + 1 < len(parts) and parts[i + 1] in _KEY_COMPOUNDS):
                continue
            return Level.MEDIUM, f"{before}_key" if before in ("api", "private", "access", "auth") else "key"
        if part in _LIKELY_SECRET:
            return Level.MEDIUM, part
        if part == "session" and any(a in _SESSION_COMPANIONS for a in after):
            return Level.MEDIUM, "session " + next(a for a in after if a in _SESSION_COMPANIONS)
        if part == "reset" and any(a in _RESET_COMPANIONS for a in after):
            return Level.MEDIUM, "reset " + next(a for a in after if a in _RESET_COMPANIONS)
        if part == "code" and before in _CODE_QUALIFIERS:
            return Level.MEDIUM, f"{before} code"
    return None


_TRANSPARENT_FUNCS = frozenset({"builtins.str", "builtins.int", "builtins.hex", "builtins.oct", "builtins.bytes",
                                "builtins.bytearray", "builtins.format", "builtins.abs", "builtins.list",
                                "builtins.tuple", "uuid.UUID"})
_TRANSPARENT_PREFIXES = ("hashlib.", "base64.", "binascii.", "hmac.")
_TRANSPARENT_METHODS = frozenset({"join", "format", "encode", "decode", "hex", "hexdigest", "digest", "zfill",
                                  "to_bytes", "upper", "lower", "rjust", "ljust", "strip", "b64encode",
                                  "urlsafe_b64encode", "hexlify", "bytes", "int"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp)


def _transparent_call(ctx: FileContext, call: ast.Call) -> bool:
    """A call that turns a value into another form of the same value (``str``, ``"".join``,
    ``hashlib.sha256``): a secret built from random output is still predictable."""
    if isinstance(call.func, ast.Attribute) and call.func.attr in _TRANSPARENT_METHODS:
        return True
    qual = ctx.qualname(call.func)
    return qual is not None and (qual in _TRANSPARENT_FUNCS or qual.startswith(_TRANSPARENT_PREFIXES))


_ACRONYMS = {"otp": "OTP", "csrf": "CSRF", "xsrf": "XSRF", "pin": "PIN", "api": "API", "apikey": "API key",
             "sessionid": "session id", "pincode": "PIN code", "csrftoken": "CSRF token", "pwd": "password",
             "passwd": "password", "authtoken": "auth token", "accesstoken": "access token",
             "apitoken": "API token", "secretkey": "secret key", "sessionkey": "session key",
             "privatekey": "private key", "accesskey": "access key", "authkey": "auth key"}


def _with_article(word: str) -> str:
    """``otp`` -> ``an OTP``; ``api_key`` -> ``an API key``."""
    text = " ".join(_ACRONYMS.get(w, w) for w in word.replace("_", " ").split())
    return ("an " if text[0].lower() in "aeio" else "a ") + text


def _climb(ctx: FileContext, call: ast.Call) -> tuple[ast.AST, ast.AST | None, bool]:
    """Follow the random value up through the expressions that build a larger value from it.

    Returns the last expression still carrying the value, the node consuming it (an assignment,
    ``return``, keyword, dict, ...) and whether the value was transformed on the way."""
    parent_of = ctx.index.parent
    cur: ast.AST = call
    built = False
    for _ in range(32):
        parent = parent_of(cur)
        if parent is None:
            return cur, None, built
        if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.JoinedStr, ast.FormattedValue, ast.BoolOp,
                               ast.Starred)):
            built = True
        elif isinstance(parent, ast.IfExp) and cur is not parent.test:
            pass
        elif isinstance(parent, ast.Lambda) and cur is parent.body:
            pass
        elif isinstance(parent, _COMPREHENSIONS) and cur is parent.elt:
            built = True
        elif isinstance(parent, ast.DictComp) and cur is parent.value:
            built = True
        elif isinstance(parent, ast.Subscript) and cur is parent.value:
            pass
        elif isinstance(parent, ast.Call) and cur in parent.args and _transparent_call(ctx, parent):
            built = True
        elif isinstance(parent, ast.keyword) and isinstance(parent_of(parent), ast.Call) \
                and _transparent_call(ctx, parent_of(parent)):
            parent = parent_of(parent)
            built = True
        elif isinstance(parent, ast.Attribute) and cur is parent.value and parent.attr in _TRANSPARENT_METHODS:
            outer = parent_of(parent)
            if isinstance(outer, ast.Call) and outer.func is parent:
                parent = outer  # a method call: ``.hex()``, ``.to_bytes(16, "big")``
            built = True  # or a property: ``uuid.UUID(int=...).hex``
        else:
            return cur, parent, built
        cur = parent
    return cur, None, built


def _sink_name(cur: ast.AST, sink: ast.AST | None) -> tuple[str | None, str | None]:
    """(name, how) for the place the value ends up; how is None when it is not stored by name."""
    if isinstance(sink, ast.Assign) and cur is sink.value:
        names = [_target_name(t) for t in sink.targets]
        names = [n for n in names if n]
        chosen = next((n for n in names if _random_secret_word(n)), names[0] if names else None)
        return chosen, "assigned to"
    if isinstance(sink, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and cur is sink.value:
        return _target_name(sink.target), "assigned to" if not isinstance(sink, ast.AugAssign) else "appended to"
    if isinstance(sink, ast.keyword):
        return sink.arg, "passed as keyword"
    if isinstance(sink, ast.Dict):
        for key, value in zip(sink.keys, sink.values):
            if value is cur and isinstance(key, ast.Constant) and isinstance(key.value, str):
                return key.value, "stored under the key"
        return None, None
    if isinstance(sink, (ast.Return, ast.Yield)):
        return None, "returned"
    return None, None


def _is_charset(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> bool:
    """True when a population to pick from is a set of characters or numbers (a string, a
    ``string.*`` constant, a ``range``), so picking from it generates a new value rather than
    selecting one of a few existing objects."""
    if expr is None or depth > 6:
        return False
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, (str, bytes))
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        return bool(expr.elts) and all(
            isinstance(e, ast.Constant)
            and (isinstance(e.value, int) or (isinstance(e.value, str) and len(e.value) == 1))
            for e in expr.elts)
    if isinstance(expr, ast.Call):
        qual = ctx.qualname(expr.func)
        if qual == "builtins.range":
            return True
        if qual in ("builtins.list", "builtins.tuple", "builtins.set", "builtins.sorted") and expr.args:
            return _is_charset(ctx, expr.args[0], depth + 1)
        return False
    if isinstance(expr, (ast.Attribute, ast.Name)):
        qual = ctx.qualname(expr)
        if qual and qual.startswith("string."):
            return True
        if isinstance(expr, ast.Name):
            binding = ctx.binding(expr)
            if binding is not None and binding.kind == "assign" and binding.value is not None:
                return _is_charset(ctx, binding.value, depth + 1)
        return False
    if isinstance(expr, (ast.BinOp, ast.JoinedStr)):
        consts, dynamic = ctx.string_parts(expr)
        return bool(consts or dynamic) and all(_is_charset(ctx, d, depth + 1) for d in dynamic)
    return False


_NOT_SECURITY_PURPOSE = frozenset({"boundary", "jitter", "backoff", "delay", "sample", "sampling", "shuffle",
                                   "shuffled", "color", "colour", "mock", "fake", "dummy", "demo", "seed",
                                   "simulate", "simulation", "bench", "benchmark", "fuzz", "noise"})
_BENIGN_IN_SECRET_FUNC = frozenset({"length", "len", "size", "count", "delay", "timeout", "wait", "sleep",
                                    "jitter", "backoff", "attempts", "retries", "n", "i", "idx", "index",
                                    "interval", "pause"})


@register
class InsecureRandom(Rule):
    """Security value generated with the predictable `random` module.

    ## What it finds
    Calls of `random.random`, `randint`, `randrange`, `choice`, `choices`, `sample`,
    `getrandbits`, `uniform`, `shuffle` and `randbytes` (on the module or on a `random.Random()`
    instance) whose result becomes a security value: it is assigned to, passed as a keyword
    named, or stored under a dict key naming a token, password, secret, key, nonce, salt, OTP,
    CSRF token, session id, reset or verification code or PIN, or it is produced inside a
    function named that way (`generate_token`, `make_password`). The value is followed through
    `"".join(...)`, string building, `str()`, `hex()` and hashing. Randomness used for jitter,
    sampling, shuffling a list or picking one of a few existing objects (`random.choice(servers)`)
    is not reported, nor are `random.SystemRandom()` and the `secrets` module.

    ## Why it is dangerous
    The `random` module is a Mersenne Twister: fast and statistically good, but not
    unpredictable. Its whole internal state can be rebuilt from 624 consecutive 32-bit outputs,
    and it is often seeded from the clock. An attacker who sees some generated tokens (their own
    password reset links, session ids) can compute the tokens issued to other users.

    ## Example
    ```python
    import random
    import string

    def make_reset_token():
        return "".join(random.choice(string.ascii_letters) for _ in range(32))
    ```

    ## Safe alternative
    ```python
    import secrets

    def make_reset_token():
        return secrets.token_urlsafe(32)
    ```
    Use `secrets.token_bytes`, `token_hex`, `token_urlsafe` and `secrets.choice`, or an instance
    of `random.SystemRandom()`, for anything an attacker must not guess.

    ## References
    - https://cwe.mitre.org/data/definitions/338.html
    - https://docs.python.org/3/library/random.html
    - https://docs.python.org/3/library/secrets.html
    """

    id = "SR501"
    name = "insecure-random"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 338
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Generate the value with the `secrets` module (`secrets.token_urlsafe()`, `secrets.choice()`) "
           "or `random.SystemRandom()`, which draw from the operating system's CSPRNG.")
    calls = tuple(f"random.{f}" for f in _RANDOM_FUNCS) + tuple(f"random.Random().{f}" for f in _RANDOM_FUNCS)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if not qualname:
            return
        function = ctx.index.function_of(call)
        if function is not None and any(_singular(p) in _NOT_SECURITY_PURPOSE for p in _parts(function.name)):
            return  # ``_make_boundary``, ``add_jitter``: the function says what the randomness is for
        func = qualname.rsplit(".", 1)[-1]
        if func == "shuffle":
            self._check_shuffle(ctx, call)
            return
        cur, sink, built = _climb(ctx, call)
        name, how = _sink_name(cur, sink)
        found = _random_secret_word(name)
        reason = f"{how} `{name}`" if found else ""
        if found is None and how is not None:
            benign = name is not None and (_parts(name) or [""])[-1] in _BENIGN_IN_SECRET_FUNC
            if function is not None and not benign:
                found = _random_secret_word(function.name)
                if found:
                    reason = f"{how} `{name}` inside `{function.name}`" if name else f"returned from `{function.name}`"
        if found is None:
            return
        if func in _PICKERS and not built:
            population = ctx.argument(call, 0, "population") or ctx.argument(call, None, "seq")
            if not _is_charset(ctx, population):
                return  # picking one of several existing objects, not generating a value
        level, word = found
        ctx.report(self, call,
                   f"`{ctx.text(call, 50)}` draws from the `random` module's Mersenne Twister and its result is "
                   f"{reason}, which makes it {_with_article(word)}. That generator is predictable: from about "
                   "624 observed 32-bit outputs an attacker can rebuild its state and compute the other values "
                   "it produced.",
                   confidence=level)

    def _check_shuffle(self, ctx: FileContext, call: ast.Call) -> None:
        target = ctx.argument(call, 0, "x")
        name = _target_name(target) if target is not None else None
        if name is None:
            return
        found = _random_secret_word(name)
        if found is not None and found[0] is not Level.HIGH:
            found = None  # ``random.shuffle(keys)`` reorders a list of keys; it makes no new value
        reason = f"the characters of `{name}`"
        if found is None:
            function = ctx.index.function_of(call)
            if function is None or not any(p in _CHAR_POOLS for p in _parts(name)):
                return
            found = _random_secret_word(function.name)
            reason = f"`{name}` inside `{function.name}`"
        if found is None:
            return
        level, word = found
        ctx.report(self, call,
                   f"`{ctx.text(call, 50)}` shuffles {reason} with the `random` module's Mersenne Twister while "
                   f"building {_with_article(word)}. Its order is predictable to anyone who can reconstruct the "
                   "generator's state.",
                   confidence=level)


# ============================================================================ SR502

# (a) Known credential formats. Each entry: label, cheap substring that must occur, pattern.
_B62 = "A-Za-z0-9"
_FORMATS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("an AWS access key id", ("AKIA", "ASIA"), re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a GitHub token", ("ghp_", "gho_", "ghs_", "ghu_"),
     re.compile(rf"(?<![{_B62}_])gh[posu]_[{_B62}]{{36,}}(?![{_B62}])")),
    ("a GitHub fine-grained token", ("github_pat_",), re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{50,}")),
    ("a Slack token", ("xoxa-", "xoxb-", "xoxp-", "xoxr-"), re.compile(r"\bxox[abpr]-\d{6,}-[A-Za-z0-9-]{8,}")),
    ("a Stripe live secret key", ("sk_live_",), re.compile(rf"(?<![{_B62}_])sk_live_[{_B62}]{{20,}}")),
    ("a Google API key", ("AIza",), re.compile(r"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])")),
    ("a JSON Web Token", ("eyJ",),
     re.compile(r"(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,})\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")),
)
_HINTED = tuple((hint, label, pattern) for label, hints, pattern in _FORMATS for hint in hints)
# a string _format_match finds a key in holds one of these
_HINTS = ("PRIVATE KEY-----", *dict.fromkeys(hint for hint, _, _ in _HINTED))
# _HINTS grouped under a shorter text each hint of the group contains: select searches a file's
# joined long strings for the group's text first, and for its hints only on a hit. One scan for
# "xox" instead of four for the Slack prefixes, one for "IA" (rare: upper case) instead of two,
# one for "gh" instead of four (it does occur in prose: "through", "high", then all four), and a
# search for one character, much the quickest, before "eyJ" and "AIza" ("J" and "z" are rare).
_HINT_GROUPS = (("PRIVATE KEY-----", ("PRIVATE KEY-----",)), ("IA", ("AKIA", "ASIA")),
                ("gh", ("ghp_", "gho_", "ghs_", "ghu_")), ("github_pat_", ("github_pat_",)),
                ("xox", ("xoxa-", "xoxb-", "xoxp-", "xoxr-")), ("sk_live_", ("sk_live_",)), ("z", ("AIza",)),
                ("J", ("eyJ",)))  # tests/test_registry.py checks these are _HINTS, each in its group's text
_PEM = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----((?:[^-]|-(?!----))*)")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=]")

_URL_CREDS = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*)://([^\s:/@'\"]*):([^\s/@'\"]+)@")


def _entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    n = len(text)
    if n == 0:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _format_match(value: str) -> tuple[str, str] | None:
    """(label, matched text) for a known credential format inside ``value``."""
    if "PRIVATE KEY-----" in value:
        m = _PEM.search(value)
        # A header on its own is what parsing code compares against; a key needs a body.
        if m and len(_PEM_BODY.findall(m.group(3))) >= 64:
            return "a PEM private key", m.group(0)[: m.group(0).index("-----", 5) + 5]
    for hint, label, pattern in _HINTED:
        if hint not in value:  # plain substring test first: most strings contain no hint at all
            continue
        for m in pattern.finditer(value):
            token = m.group(0)
            # Documentation examples (AKIAIOSFODNN7EXAMPLE) and masks (AKIAXXXXXXXXXXXXXXXX): a real
            # key drawn from 36 or more symbols has well over 3 bits per character.
            if "EXAMPLE" in token.upper() or _entropy(token) < 3.0:
                continue
            if label == "a JSON Web Token" and not _jwt_header(m.group(1)):
                continue
            return label, token
    return None


def _jwt_header(part: str) -> bool:
    import base64  # here, not at the top: few files get here, every run imports this module

    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, TypeError):
        return False
    return raw.startswith(b"{") and (b'"alg"' in raw or b'"typ"' in raw)


# (b) Names that say a value is a credential.
_SECRET_PARTS = frozenset({"password", "passwd", "pwd", "passphrase", "secret", "token", "credential",
                           "apikey", "accesskey", "privatekey", "authkey", "secretkey", "clientsecret",
                           "authtoken", "accesstoken", "apitoken"})
_KEY_QUALIFIERS = frozenset({"api", "access", "private", "auth", "secret", "signing", "encryption", "master",
                             "hmac", "client"})
_PASSWORD_FIELD = frozenset({"password", "passwd", "pwd", "pass", "passphrase"})
_PLACEHOLDER_EXACT = frozenset({
    "changeme", "change_me", "change-me", "password", "passwd", "pass", "pwd", "secret", "token", "none",
    "null", "nil", "undefined", "todo", "tbd", "fixme", "dummy", "fake", "test", "testing", "example",
    "sample", "placeholder", "default", "redacted", "hidden", "masked", "secret_key", "api_key", "apikey",
    "admin", "root", "guest", "user", "username", "qwerty", "letmein", "empty", "unset", "notset", "n/a",
})
_PLACEHOLDER_SUBSTRINGS = ("changeme", "change_me", "change-me", "dummy", "fake", "example", "placeholder",
                           "redacted", "todo", "fixme", "your_", "your-", "yourpass", "yoursecret", "yourtoken",
                           "replace", "insert_", "sample", "test", "xxx", "***", "...", "${", "{{", "%(",
                           "$(", "<<", "not_a_", "not-a-", "notasecret", "not-secret", "not_secret")
_FORMAT_FIELD = re.compile(r"\{[A-Za-z0-9_.\[\]!:]*\}|%[-+ 0#]*\d*[sdrx]")
_SEQUENCES = ("0123456789", "1234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl",
              "9876543210")

_WORD_LIKE = (
    re.compile(r"[a-z]+\d*(?:[_\-.:/](?:[a-z]+\d*|\d+))*"),  # user_password, x-auth-token, auth:token, v2
    re.compile(r"[A-Z]+(?:_[A-Z0-9]+)*"),  # SECRET_KEY: an environment variable name
    re.compile(r"[A-Z][a-z]*(?:-[A-Z][a-z]*)+"),  # X-Auth-Token
    re.compile(r"[a-z]+(?:[A-Z][a-z0-9]+)+"),  # accessToken
    re.compile(r"(?:[A-Z][a-z]+)+"),  # Bearer, ClientSecret
)
_FILE_EXT = re.compile(r"\.(?:pem|key|crt|cer|csr|json|ya?ml|txt|ini|cfg|conf|env|p12|pfx|der|pub|jks|"
                       r"keystore|gpg|asc|html?|j2|jinja2?|py|sh|log|db|sqlite3?)$", re.I)
_REGEX = re.compile(r"\\[wdsbWDSBAZ]|\(\?[:=!<P]|\[\^|\][*+?]|\)[*+?]")  # a regular expression, not a key
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


# Every credential word of ``_secret_name`` contains one of these (``apikey``, ``authtoken``,
# ``clientsecret`` ... included), so a name holding none of them, in any case, names no credential.
_SECRET_STEMS = ("pass", "pwd", "secret", "token", "credential", "key")


@functools.lru_cache(maxsize=1 << 14)  # names, keywords and keys repeat a great deal
def _secret_name(name: str | None) -> str | None:
    """The credential word in ``name`` (``DB_PASSWORD`` -> ``password``), or None."""
    if not name or len(name) > 80:
        return None
    low = name.lower()
    # _SECRET_STEMS, spelt out: a generator over them costs more than the rest of a miss
    if not ("key" in low or "pass" in low or "token" in low or "secret" in low or "pwd" in low
            or "credential" in low):
        return None  # the parts below are lower-cased pieces of the name (or their singular)
    parts = [_singular(p) for p in _parts(name)]
    if not parts:
        return None
    last = parts[-1]
    if last in _ABOUT_A_SECRET and parts[-3:] != ["access", "key", "id"]:
        return None
    for i, part in enumerate(parts):
        if part in _SECRET_PARTS:
            return part
        if part == "key" and i and parts[i - 1] in _KEY_QUALIFIERS:
            return f"{parts[i - 1]}_key"
    if last == "pass" and len(parts) > 1:
        return "pass"
    return None


def _is_placeholder(value: str) -> bool:
    low = value.lower()
    if low in _PLACEHOLDER_EXACT or len(set(low)) <= 1:
        return True
    if any(s in low for s in _PLACEHOLDER_SUBSTRINGS):
        return True
    if value.startswith("<") and value.endswith(">"):
        return True
    if value.startswith("$") and value[1:].replace("_", "").isalnum() and value[1:].upper() == value[1:]:
        return True  # $DB_PASSWORD
    if _FORMAT_FIELD.search(value):
        return True
    bare = low.replace("-", "").replace("_", "").replace(".", "")
    return any(bare in seq for seq in _SEQUENCES) or set(value) <= set("*xX#?.-_•")


def _is_name_like(value: str, words: bool = True) -> bool:
    """Values that name something rather than being a secret: words and identifiers (unless
    ``words`` is false), header and environment variable names, URLs, paths, e-mail addresses."""
    if " " in value:
        return True  # prose: a label, a message, a help text
    if words and any(p.fullmatch(value) for p in _WORD_LIKE):
        return True
    if "://" in value or value.startswith(("/", "./", "../", "~/", "\\\\")) or re.match(r"[A-Za-z]:\\", value):
        return True
    return bool(_FILE_EXT.search(value) or _EMAIL.fullmatch(value) or _REGEX.search(value))


def _looks_secret(value: str, password_field: bool) -> bool:
    """Whether a constant bound to a credential name is plausibly a real credential.

    Entropy thresholds: a string of length n over an alphabet of size A can carry at most
    log2(min(n, A)) bits per character (A = 10 for digits, 16 for hex, 64 otherwise). Generated
    keys and tokens come close to that maximum: measured over 2,000 random samples each, a
    32-character hex key averages 3.6 of 4.0 (lowest 3.0), a 16-character base62 token 3.8 of
    4.0 (lowest 3.2), a 40-character one 4.8 of 5.3 (lowest 4.35). Requiring at least 75 % of the
    maximum, and at least 2.5 bits absolute (about six evenly used symbols), drops patterned and
    repetitive values such as ``aaaa1111`` or ``abababab`` while keeping human passwords like
    ``Wint3r-Garden!`` (about 3.5 of 3.8). Words and identifiers are filtered before entropy is
    looked at, because an English word can score as high as a random string of the same length.
    """
    value = value.strip()
    n = len(value)
    if n < 4 or n > 4096 or _is_placeholder(value):
        return False
    has_letter = any(c.isalpha() for c in value)
    has_digit = any(c.isdigit() for c in value)
    # Under a password name, letters mixed with digits (``root1234``) are a password, not a word.
    if _is_name_like(value, words=not (password_field and has_letter and has_digit)):
        return False
    if n < 8:
        # A short value is only credible as a password: a field named so, letters and digits mixed.
        return password_field and has_letter and has_digit
    if value.isdigit() and not password_field:
        return False  # numbers under a secret name are ids, ports, dates
    if all(c in "0123456789abcdefABCDEF" for c in value):
        alphabet = 16
    elif value.isdigit():
        alphabet = 10
    else:
        alphabet = 64
    ceiling = math.log2(min(n, alphabet))
    entropy = _entropy(value)
    return entropy >= 2.5 and entropy >= 0.75 * ceiling


def _default_owner(ctx: FileContext, const: ast.Constant, owner: ast.AST) -> str | None:
    """The parameter a default value belongs to in ``def f(password="...")``."""
    args = getattr(owner, "args", None)
    if not isinstance(args, ast.arguments):
        return None
    positional = [*args.posonlyargs, *args.args]
    for i, default in enumerate(args.defaults):
        if default is const:
            return positional[len(positional) - len(args.defaults) + i].arg
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        if default is const:
            return arg.arg
    return None


_GETTERS = frozenset({"get", "getenv", "setdefault", "pop"})


_LAST_DICT: list = [None, {}]


def _secret_keys(node: ast.Dict) -> dict[ast.AST, str]:
    """Value node -> constant string key (nodes hash and compare by identity), for the keys that
    name a credential (_secret_name: a value under any other key is not reported). Remembers the
    last dict, whose values are visited one after another, so a large literal table costs linear
    rather than quadratic time.
    Only constant values are looked up (the constants SR502 checks), so the other values are left
    out before their key is named, and the exact type tests suffice: parsing makes only
    ast.Constant nodes, holding exact str values."""
    if _LAST_DICT[0] is not node:
        _LAST_DICT[0] = node
        Constant = ast.Constant
        _LAST_DICT[1] = {v: k.value for k, v in zip(node.keys, node.values)
                         if type(v) is Constant and type(k) is Constant and type(k.value) is str
                         and _secret_name(k.value)}
    return _LAST_DICT[1]


_BINDING_PARENTS = frozenset({ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.Tuple, ast.keyword, ast.Dict,
                              ast.Compare, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Call})


def _bound_name(ctx: FileContext, const: ast.Constant, parent: ast.AST | None) -> tuple[str | None, str]:
    """(name, how) for the name a string constant is bound to, or (None, ""). ``parent`` is the
    constant's parent node; the most frequent parents (dict displays and calls) come first."""
    if isinstance(parent, ast.Dict):
        return _secret_keys(parent).get(const), "is stored under the key"
    if isinstance(parent, ast.Call):
        if len(parent.args) < 2 or parent.args[1] is not const:
            return None, ""
        key = parent.args[0]
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None, ""
        func = parent.func
        getter = (isinstance(func, ast.Attribute) and func.attr in _GETTERS) \
            or (isinstance(func, ast.Name) and ctx.qualname(func) in ("os.getenv", "os.environ.get"))
        if getter:
            return key.value, "is the fallback value for"
        return None, ""
    if isinstance(parent, ast.keyword):
        if parent.arg == "default":
            return _default_keyword_owner(ctx, parent), "is the default for"
        return parent.arg, "is passed as keyword"
    if isinstance(parent, ast.Assign) and parent.value is const:
        names = [n for n in (_target_name(t) for t in parent.targets) if n]
        chosen = next((n for n in names if _secret_name(n)), None)
        return chosen, "is assigned to"
    if isinstance(parent, ast.AnnAssign) and parent.value is const:
        return _target_name(parent.target), "is assigned to"
    if isinstance(parent, ast.NamedExpr) and parent.value is const:
        return _target_name(parent.target), "is assigned to"
    if isinstance(parent, ast.Tuple):
        outer = ctx.index.parent(parent)
        if isinstance(outer, ast.Assign) and outer.value is parent and len(outer.targets) == 1 \
                and isinstance(outer.targets[0], ast.Tuple) and len(outer.targets[0].elts) == len(parent.elts):
            position = next(i for i, e in enumerate(parent.elts) if e is const)
            return _target_name(outer.targets[0].elts[position]), "is assigned to"
        return None, ""
    if isinstance(parent, ast.Compare) and len(parent.ops) == 1 and isinstance(parent.ops[0], (ast.Eq, ast.NotEq)):
        other = parent.comparators[0] if parent.left is const else parent.left
        return _target_name(other), "is compared with"
    if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return _default_owner(ctx, const, parent), "is the default value of parameter"
    return None, ""


def _default_keyword_owner(ctx: FileContext, kw: ast.keyword) -> str | None:
    """``parser.add_argument("--password", default="...")`` or ``token: str = Field(default="...")``."""
    call = ctx.index.parent(kw)
    if not isinstance(call, ast.Call):
        return None
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("-"):
            return arg.value.lstrip("-")
    holder = ctx.index.parent(call)
    if isinstance(holder, ast.Assign) and holder.value is call and len(holder.targets) == 1:
        return _target_name(holder.targets[0])
    if isinstance(holder, ast.AnnAssign) and holder.value is call:
        return _target_name(holder.target)
    return None


@register
class HardcodedSecret(Rule):
    """Credential written into the source as a string constant.

    ## What it finds
    String constants that are credentials, found two ways. Known key formats anywhere in a
    string: AWS access key ids, GitHub and Slack tokens, Stripe live secret keys, Google API
    keys, PEM private key blocks (with a key body, not a bare header) and JSON Web Tokens, and
    URLs carrying a password (`scheme://user:password@host`, unless the password is a
    placeholder or repeats the user name as in `guest:guest`); these are reported with high
    confidence. And constants
    bound to a credential name (`password`, `secret`, `token`, `api_key`, `client_secret`, ...)
    by assignment, keyword argument, parameter default, dict key, comparison or environment
    fallback, when the value looks like a real secret: not a placeholder (`changeme`, `<token>`,
    `${DB_PASSWORD}`, `***`), not a name (`"Bearer"`, `"X-Auth-Token"`, `"SECRET_KEY"`, a path
    or URL) and random enough by Shannon entropy. Names about a secret rather than holding one
    (`token_url`, `password_field`, `key_name`, `*_file`, `*_header`) are skipped. Constants in
    test code are still reported, with low confidence.

    ## Why it is dangerous
    A credential in the source is in every clone, fork, wheel, container image and backup of
    the code, and in the version history forever, even after it is removed. Anyone who can
    read any of those can use it, and rotating it means a code change and a release.

    ## Example
    ```python
    import psycopg2
    conn = psycopg2.connect(host="db", user="billing", password="q7Vd-2mKx!Lr9")
    ```

    ## Safe alternative
    ```python
    import os
    import psycopg2
    conn = psycopg2.connect(host="db", user="billing", password=os.environ["BILLING_DB_PASSWORD"])
    ```
    Read credentials from the environment or a secret manager at run time, and rotate any
    credential that was ever committed.

    ## References
    - https://cwe.mitre.org/data/definitions/798.html
    - https://owasp.org/www-community/vulnerabilities/Use_of_hard-coded_password
    """

    id = "SR502"
    name = "hardcoded-secret"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 798
    severity = Level.HIGH
    confidence = Level.MEDIUM
    fix = ("Load the credential at run time from the environment or a secret manager, and revoke and "
           "rotate the one committed to the source.")
    nodes = (ast.Constant,)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # The known key formats (_format_match) are not looked for string by string: each needs
        # one of _HINTS, searched for once in the file's strings of 20 characters or more joined
        # by NUL (no hint holds a NUL, so a hit lies within one string). The few files with a hit
        # are selected again with _format_match tried on each string.
        longs: list[str] = []
        kept = self._select(ctx, nodes, longs)
        if longs:
            joined = "\0".join(longs)
            for common, hints in _HINT_GROUPS:  # each hint holds its group's text (_HINT_GROUPS)
                if common in joined:
                    for hint in hints:
                        if hint in joined:
                            return self._select(ctx, nodes, None)
        return kept

    def _select(self, ctx: FileContext, nodes: list[ast.AST], longs: list[str] | None) -> list[ast.AST]:
        """check_node's tests, in one loop: a string is reported when it holds a known key format
        (tested here only when ``longs`` is None; otherwise the strings to test are added to
        ``longs``), a URL with a password, or (without a space) is bound to a credential name:
        the name _bound_name finds must be one for _secret_name. For the two most frequent
        parents, dict displays and calls, that is decided on the key alone, before the rest of
        _bound_name. Bytes are all kept."""
        parent_of = ctx.index.parents.get
        Dict, Call, Constant, keyword = ast.Dict, ast.Call, ast.Constant, ast.keyword
        Tuple, Assign = ast.Tuple, ast.Assign
        last_dict, secret_values = None, {}
        kept = []
        add_long = longs.append if longs is not None else None
        for node in nodes:
            value = node.value
            if type(value) is not str:  # parsing makes exact str and bytes values, never subclasses
                if type(value) is bytes and len(value) >= 4:
                    kept.append(node)
                continue
            size = len(value)
            if size < 8:
                if size < 4 or value.isalpha():
                    # _looks_secret takes a value of fewer than 8 characters only when it mixes
                    # letters and digits (no letter is a digit, a space or "@"): a short word
                    # ("name", "ACTIVE", a third of the strings here) is never reported, whatever
                    # it is bound to, and its parent is not looked up (nor the tests below made)
                    continue
            elif size >= 20:
                if add_long is not None:
                    add_long(value)
                elif _format_match(value):
                    kept.append(node)
                    continue
            if "@" in value and "://" in value:  # "@" first: a one-character search is the cheaper
                kept.append(node)
                continue
            if " " in value or size > 4096:
                continue
            parent = parent_of(node)
            kind = type(parent)
            if kind is Dict:
                if parent is not last_dict:
                    last_dict, secret_values = parent, _secret_keys(parent)
                if node in secret_values:
                    kept.append(node)
            elif kind is Call:  # the fallback value of a getter, bound to its first argument
                args = parent.args
                if len(args) >= 2 and args[1] is node:
                    key = args[0]
                    if isinstance(key, Constant) and isinstance(key.value, str) \
                            and _secret_name(key.value) is not None:
                        kept.append(node)
            elif kind is keyword and parent.arg != "default":  # _bound_name's answer: the keyword
                if _secret_name(parent.arg) is not None:
                    kept.append(node)
            elif kind is Tuple:  # _bound_name names only an element of a tuple that is assigned
                if type(parent_of(parent)) is Assign \
                        and _secret_name(_bound_name(ctx, node, parent)[0]) is not None:
                    kept.append(node)
            elif kind in _BINDING_PARENTS:
                if _secret_name(_bound_name(ctx, node, parent)[0]) is not None:
                    kept.append(node)
        return kept

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, str):
            if len(value) < 4:
                return
        elif isinstance(value, bytes):
            if len(value) < 4:
                return
            value = value.decode("latin-1")
        else:
            return
        found = _format_match(value) if len(value) >= 20 else None
        if found:
            label, token = found
            shown = token if label == "a PEM private key" else _shown(token)  # the header, never the body
            ctx.report(self, node,
                       f"This string constant contains {label} (`{shown}`). Anyone who can read "
                       "this source, its history or a built package can use the credential.",
                       confidence=Level.HIGH)
            return
        if "://" in value and "@" in value and self._check_url(ctx, node, value):
            return
        if " " in value or len(value) > 4096:
            return  # prose, SQL, templates: no credential checked by name has a space
        parent = ctx.index.parent(node)
        if type(parent) not in _BINDING_PARENTS:
            return
        name, how = _bound_name(ctx, node, parent)
        word = _secret_name(name)
        if word is not None:
            self._check_named(ctx, node, value, name, how, word)  # type: ignore[arg-type]

    def _check_url(self, ctx: FileContext, node: ast.AST, value: str) -> bool:
        for m in _URL_CREDS.finditer(value):
            scheme, user, password = m.group(1), m.group(2), m.group(3)
            if not password or password == user or _is_placeholder(password) or password.startswith(("{", "$", "%")):
                continue
            who = f"user `{user}`" if user else "the connection"
            ctx.report(self, node,
                       f"This `{scheme}://` URL embeds the password for {who} (`{_shown(password)}`) in a "
                       "string constant. Anyone who can read this source or its history can log in with it.",
                       fix="Build the URL at run time from a password read from the environment or a secret "
                           "manager, and rotate the committed one.",
                       confidence=Level.HIGH)
            return True
        return False

    def _check_named(self, ctx: FileContext, node: ast.Constant, value: str, name: str, how: str,
                     word: str) -> None:
        """``value`` is bound to ``name``, which names a credential (``word``)."""
        password_field = _singular((_parts(name) or [""])[-1]) in _PASSWORD_FIELD
        if not _looks_secret(value, password_field):
            return
        in_test = ctx.context == "test"
        ctx.report(self, node,
                   f"The string constant `{_shown(value.strip())}` ({len(value.strip())} characters) {how} "
                   f"`{name}`, which names {_with_article(word)}. A credential in the source is readable by "
                   "everyone with access to the code, its history or a built package"
                   + (" (this is test code, so it may be a fixture value)." if in_test else "."),
                   confidence=Level.LOW if in_test else Level.MEDIUM)
