"""Cryptography: broken hash functions, broken or obsolete ciphers, ECB mode and keys too short
to resist factoring or discrete-log attacks."""

from __future__ import annotations

import ast

from secreview.model import Level
from secreview.rules.base import NOT_CONSTANT, FileContext, Rule, identifier_words
from secreview.rules.registry import register

_PYCRYPTO = ("Crypto", "Cryptodome")  # PyCrypto / pycryptodome, and pycryptodomex
_HAZMAT = "cryptography.hazmat.primitives"
_ASYM = f"{_HAZMAT}.asymmetric"
_ALGORITHM_MODULES = (f"{_HAZMAT}.ciphers.algorithms", "cryptography.hazmat.decrepit.ciphers.algorithms")


# ---------------------------------------------------------------------------------------- helpers

def _callee(ctx: FileContext, call: ast.Call, qualname: str | None) -> str:
    """The call as written, plus what it resolves to when an alias hides it."""
    shown = f"`{ctx.text(call)}`"
    if qualname:
        written = ctx.text(call.func, 200).split(".")[-2:]
        if written != qualname.split(".")[-2:]:
            shown += f" (`{qualname}`)"
    return shown


_SECRET_WORDS = frozenset({
    "password", "passwd", "pwd", "secret", "token", "tokens", "signature", "sign", "signs", "signed",
    "signing", "signer", "auth", "authn", "authz", "hmac", "key", "keys", "apikey", "passphrase", "credential",
    "credentials",
})
_SECRET_PREFIXES = ("password", "passwd", "secret", "authent", "authoriz", "signatur", "credential", "hmac")
# "key" next to one of these words names a lookup key, not a cryptographic one.
_LOOKUP_WORDS = frozenset({"cache", "etag", "bucket", "shard", "partition", "lookup", "dedup", "sort", "row",
                           "memo", "dict", "map", "index", "idempotency", "primary", "redis", "lock"})
# Words that name a secret on their own when they appear in the hashed value's name.
_STRONG_WORDS = frozenset({"password", "passwd", "pwd", "secret", "passphrase", "credential", "credentials"})


def _words(name: str) -> list[str]:
    return identifier_words(name)


def _secretish(name: str | None) -> bool:
    if not name:
        return False
    words = _words(name)
    lookup = bool(_LOOKUP_WORDS.intersection(words))
    for word in words:
        if word in ("key", "keys") and lookup:
            continue
        if word in _SECRET_WORDS or word.startswith(_SECRET_PREFIXES):
            return True
    return False


def _target_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) \
            and isinstance(target.slice.value, str):
        return target.slice.value
    return None


def _targets(stmt: ast.stmt) -> list[ast.AST]:
    if isinstance(stmt, ast.Assign):
        raw = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        raw = [stmt.target]
    else:
        return []
    found: list[ast.AST] = []
    for target in raw:
        found.extend(target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target])
    return found


def _value_name(expr: ast.AST | None) -> str | None:
    """The variable a hashed value comes from: ``password``, ``user.password``, ``pw.encode()``."""
    for _ in range(4):
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) \
                and expr.func.attr in ("encode", "strip", "lower", "decode"):
            expr = expr.func.value
        else:
            break
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def _secret_purpose(ctx: FileContext, call: ast.Call, data: ast.AST | None) -> str | None:
    """Why the digest made by ``call`` looks like it protects a secret, or None."""
    index = ctx.index
    node: ast.AST = call
    parent = index.parent(node)
    while parent is not None and not isinstance(parent, ast.stmt):
        if isinstance(parent, ast.keyword) and _secretish(parent.arg):
            return f"the digest is passed as `{parent.arg}=`"
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) \
                and parent.func.attr in ("sign", "verify") and node is not parent.func:
            return f"it is handed to `{ctx.text(parent.func, 40)}()`"
        if isinstance(parent, (ast.Lambda, ast.comprehension)):
            break
        node, parent = parent, index.parent(parent)
    stmt = index.statement_of(call)
    if stmt is not None:
        for target in _targets(stmt):
            if _secretish(_target_name(target)):
                return f"the result is stored in `{ctx.text(target, 40)}`"
    function = index.function_of(call)
    if function is not None and _secretish(function.name):
        return f"it runs in `{function.name}()`"
    name = _value_name(data)
    if name and _STRONG_WORDS.intersection(_words(name)):
        return "the hashed value is named like a password or secret"
    return None


def _enclosing_call(ctx: FileContext, node: ast.AST) -> ast.Call | None:
    """The call ``node`` is an argument of (positional or keyword), if any."""
    parent = ctx.index.parent(node)
    if isinstance(parent, ast.keyword):
        parent = ctx.index.parent(parent)
    if isinstance(parent, ast.Call) and parent.func is not node:
        return parent
    return None


# ---------------------------------------------------------------------------------------- SR301

_HASH_NOTES = {
    "MD5": "whose collisions are computed in seconds on a laptop",
    "SHA-1": "whose collisions have been produced in practice (SHAttered in 2017, chosen-prefix in 2020)",
    "MD4": "which is broken to the point that collisions are found by hand",
    "MD2": "which has practical preimage and collision attacks",
    "MD5-SHA1": "a legacy TLS 1.0 construction no stronger than SHA-1",
}
_HASHLIB_NAMES = {"md5": "MD5", "sha1": "SHA-1", "md4": "MD4", "md5-sha1": "MD5-SHA1", "md5_sha1": "MD5-SHA1"}

# qualified name -> (algorithm, accepts usedforsecurity, how the hashed data is passed: position, keyword)
_HASH_CALLS: dict[str, tuple[str, bool, int | None, str | None]] = {
    "hashlib.md5": ("MD5", True, 0, "string"),
    "hashlib.sha1": ("SHA-1", True, 0, "string"),
    "oslo_utils.secretutils.md5": ("MD5", True, 0, "string"),
    f"{_HAZMAT}.hashes.MD5": ("MD5", False, None, None),
    f"{_HAZMAT}.hashes.SHA1": ("SHA-1", False, None, None),
}
for _pkg in _PYCRYPTO:
    for _mod, _algo in (("MD5", "MD5"), ("SHA1", "SHA-1"), ("SHA", "SHA-1"), ("MD4", "MD4"), ("MD2", "MD2")):
        _HASH_CALLS[f"{_pkg}.Hash.{_mod}.new"] = (_algo, False, 0, "data")

# Digest modules and constructors that make HMAC weak, by qualified name.
_WEAK_DIGESTMODS = {"hashlib.md5": "MD5", "hashlib.md4": "MD4", "oslo_utils.secretutils.md5": "MD5"}
for _pkg in _PYCRYPTO:
    for _mod, _algo in (("MD5", "MD5"), ("MD4", "MD4"), ("MD2", "MD2")):
        _WEAK_DIGESTMODS[f"{_pkg}.Hash.{_mod}"] = _algo
        _WEAK_DIGESTMODS[f"{_pkg}.Hash.{_mod}.new"] = _algo

_HASH_ALGO_BY_QUALNAME = {"hashlib.md5": "MD5", "hashlib.sha1": "SHA-1", "oslo_utils.secretutils.md5": "MD5"}

_STDLIB_HMAC = ("hmac.new", "hmac.digest", "hmac.HMAC")
_PYCRYPTO_HMAC = tuple(f"{p}.Hash.HMAC.new" for p in _PYCRYPTO)
# cryptography constructions where SHA-1 is still sound (a keyed MAC, a KDF, OAEP padding), and
# the HMAC one where MD5 is weak rather than broken.
_HAZMAT_HMAC = (f"{_HAZMAT}.hmac.HMAC",)
_SHA1_STILL_SOUND = _HAZMAT_HMAC + (f"{_HAZMAT}.kdf.pbkdf2.PBKDF2HMAC", f"{_ASYM}.padding.MGF1",
                                    f"{_ASYM}.padding.OAEP", f"{_HAZMAT}.kdf.hkdf.HKDF",
                                    f"{_HAZMAT}.kdf.hkdf.HKDFExpand")


@register
class WeakHash(Rule):
    """Broken hash function (MD5, SHA-1, MD4, MD2) used where the digest may need to resist attack.

    ## What it finds
    Digests made with `hashlib.md5`, `hashlib.sha1`, `hashlib.new("md5" | "sha1" | "md4" |
    "md5-sha1")`, `hashlib.file_digest(f, "md5")`, oslo's `secretutils.md5`, pycryptodome's
    `MD5` / `SHA1` / `MD4` / `MD2` `.new()` (both the `Crypto` and `Cryptodome` packages) and
    `cryptography`'s `hashes.MD5()` / `hashes.SHA1()`. Confidence is high when the digest plainly
    protects a secret: the enclosing function or the variable it is stored in is named after a
    password, secret, token, key, signature or HMAC, or it is handed to `.sign()`. HMAC built on
    MD5 (`hmac.new(key, msg, hashlib.md5)`, `digestmod="md5"`, pycryptodome's `HMAC.new`
    without `digestmod`, which defaults to MD5) is reported with low severity.

    A call that passes `usedforsecurity=False` is not reported: it declares a checksum or cache
    key (so is one whose flag is a variable, decided by the caller). SHA-1 inside HMAC, PBKDF2, HKDF or OAEP/MGF1 padding is not reported either, since those
    constructions do not rely on collision resistance.

    ## Why it is dangerous
    Collisions for MD5 take seconds and for SHA-1 are within reach of a modest budget, so a
    signature or integrity check over such a digest can be transferred to a different document.
    Both are also fast: a stored password or token digest is guessed offline at billions of
    attempts per second.

    ## Example
    ```python
    import hashlib
    def hash_password(password):
        return hashlib.md5(password.encode()).hexdigest()
    ```

    ## Safe alternative
    ```python
    import hashlib, os
    def hash_password(password):
        salt = os.urandom(16)
        return salt + hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)

    def etag(body):
        return hashlib.md5(body, usedforsecurity=False).hexdigest()   # declared non-security use
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/328.html
    - https://cwe.mitre.org/data/definitions/916.html
    - https://docs.python.org/3/library/hashlib.html#hashlib.new
    """

    id = "SR301"
    name = "weak-hash"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 328
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    fix = ("Use SHA-256 or stronger (`hashlib.sha256`, `hashes.SHA256()`), a salted slow KDF (`hashlib.scrypt`, "
           "argon2, bcrypt) for passwords, and pass `usedforsecurity=False` where the digest is only a checksum.")
    calls = (*_HASH_CALLS, "hashlib.new", "hashlib.file_digest", *_STDLIB_HMAC, *_PYCRYPTO_HMAC)

    _SECRET_FIX = ("Hash passwords with a salted slow KDF (`hashlib.scrypt`, argon2, bcrypt), and sign or MAC "
                   "with SHA-256 or stronger (`hmac.new(key, msg, hashlib.sha256)`).")
    _HMAC_FIX = "Use HMAC with SHA-256 or stronger: `hmac.new(key, msg, hashlib.sha256)`."

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname in _STDLIB_HMAC or qualname in _PYCRYPTO_HMAC:
            self._check_hmac(ctx, call, qualname)
            return
        if qualname == "hashlib.new":
            name = ctx.literal(ctx.argument(call, 0, "name"))
            algo = _HASHLIB_NAMES.get(name.lower()) if isinstance(name, str) else None
            accepts_flag, data = True, ctx.argument(call, 1, "data") or ctx.keyword(call, "string")
        elif qualname == "hashlib.file_digest":
            algo = self._digest_algo(ctx, ctx.argument(call, 1, "digest"), _HASH_ALGO_BY_QUALNAME)
            accepts_flag, data = False, ctx.argument(call, 0, "fileobj")
        elif qualname in _HASH_CALLS:
            algo, accepts_flag, position, keyword = _HASH_CALLS[qualname]
            data = ctx.argument(call, position, keyword) if keyword else None
            if keyword == "string" and data is None:
                data = ctx.keyword(call, "data")
        else:
            return
        if algo is None:
            return
        if accepts_flag:
            flag = ctx.keyword(call, "usedforsecurity")
            if flag is not None and (ctx.is_false(flag) or not ctx.is_constant(flag)):
                return  # declared (or decided by the caller to be) a non-security digest
        if qualname is not None and qualname.startswith(f"{_HAZMAT}.hashes."):
            outer = _enclosing_call(ctx, call)
            outer_name = ctx.qualname(outer.func) if outer is not None else None
            if algo == "SHA-1" and outer_name in _SHA1_STILL_SOUND:
                return
            if algo == "MD5" and outer_name in _HAZMAT_HMAC:
                ctx.report(self, call,
                           f"{_callee(ctx, call, qualname)} is the digest of `{ctx.text(outer.func)}`, i.e. HMAC-MD5. "
                           "HMAC-MD5 is not broken as a MAC today, but MD5 is rejected by FIPS builds and leaves no "
                           "margin.",
                           fix="Use `hashes.SHA256()` as the HMAC digest.",
                           severity=Level.LOW, confidence=Level.HIGH)
                return
        callee = _callee(ctx, call, qualname)
        does = f"hashes `{ctx.text(data, 40)}` with {algo}" if data is not None else f"selects {algo}"
        purpose = _secret_purpose(ctx, call, data)
        if purpose:
            ctx.report(self, call,
                       f"{callee} {does}, and {purpose}, so the digest looks like it protects a "
                       f"secret. {algo} is fast and collision-prone: a password or token hashed this way falls to "
                       "offline guessing, and a signature over it can be forged with a colliding message.",
                       fix=self._SECRET_FIX, confidence=Level.HIGH)
            return
        # No sign that the digest guards a secret: most such uses are checksums and cache keys
        # (measured on Nova: image cache file names), so this is a low note, not a defect claim.
        ctx.report(self, call,
                   f"{callee} {does}, {_HASH_NOTES[algo]}. A digest that must resist an "
                   "attacker (an integrity check, a signature, a stored credential) cannot rely on it; "
                   "nothing here shows it guards a secret, so pass `usedforsecurity=False` if it is a checksum.",
                   severity=Level.LOW, confidence=Level.LOW)

    @staticmethod
    def _digest_algo(ctx: FileContext, digest: ast.AST | None, by_qualname: dict[str, str]) -> str | None:
        if digest is None:
            return None
        value = ctx.literal(digest)
        if isinstance(value, str):
            return _HASHLIB_NAMES.get(value.lower())
        if value is not NOT_CONSTANT:
            return None
        return by_qualname.get(ctx.qualname(digest) or "")

    def _check_hmac(self, ctx: FileContext, call: ast.Call, qualname: str) -> None:
        position = 2
        digest = ctx.argument(call, position, "digest" if qualname == "hmac.digest" else "digestmod")
        callee = _callee(ctx, call, qualname)
        if digest is None:
            if ctx.has_kwargs_splat(call) or len(call.args) > position:
                return
            if qualname in _PYCRYPTO_HMAC:
                ctx.report(self, call,
                           f"{callee} passes no `digestmod`, and pycryptodome's HMAC then defaults to MD5. "
                           "HMAC-MD5 is not broken as a MAC today, but MD5 leaves no safety margin.",
                           fix="Pass `digestmod=SHA256` to `HMAC.new`.", severity=Level.LOW, confidence=Level.HIGH)
            elif qualname == "hmac.new":
                ctx.report(self, call,
                           f"{callee} passes no `digestmod`: Python before 3.8 silently uses MD5, and 3.8 and later "
                           "raise `TypeError`.",
                           fix=self._HMAC_FIX, severity=Level.LOW, confidence=Level.MEDIUM)
            return
        algo = self._digest_algo(ctx, digest, _WEAK_DIGESTMODS)
        if algo not in ("MD5", "MD4", "MD2"):
            return  # HMAC-SHA1 is still a sound MAC
        ctx.report(self, call,
                   f"{callee} computes HMAC-{algo} (digest `{ctx.text(digest, 40)}`). HMAC-{algo} is not broken as "
                   f"a MAC today, but {algo} is rejected by FIPS builds and leaves no safety margin.",
                   fix=self._HMAC_FIX, severity=Level.LOW, confidence=Level.HIGH)


# ---------------------------------------------------------------------------------------- SR302

# module name -> (display name, weakness, severity)
_PYCRYPTO_CIPHERS = {
    "DES": ("DES", "a 56-bit key that is searched exhaustively in about a day", Level.HIGH),
    "DES3": ("Triple DES", "a 64-bit block, so the Sweet32 birthday attack recovers plaintext after some "
                           "32 GiB under one key; NIST disallows it for encryption", Level.HIGH),
    "ARC2": ("RC2", "a 64-bit block and published related-key attacks", Level.HIGH),
    "ARC4": ("RC4", "keystream biases that reveal plaintext sent repeatedly (why TLS banned it)", Level.HIGH),
    "Blowfish": ("Blowfish", "a 64-bit block open to Sweet32 birthday attacks and classes of weak keys",
                 Level.HIGH),
    "XOR": ("the XOR cipher", "no security at all: one known plaintext reveals the key", Level.HIGH),
    "CAST": ("CAST-128", "a 64-bit block open to Sweet32 birthday attacks", Level.HIGH),
}
_HAZMAT_CIPHERS = {
    "ARC4": _PYCRYPTO_CIPHERS["ARC4"],
    "TripleDES": _PYCRYPTO_CIPHERS["DES3"],
    "Blowfish": _PYCRYPTO_CIPHERS["Blowfish"],
    "IDEA": ("IDEA", "a 64-bit block open to Sweet32 birthday attacks and classes of weak keys", Level.HIGH),
    "CAST5": _PYCRYPTO_CIPHERS["CAST"],
    "SEED": ("SEED", "little public analysis and no modern support; `cryptography` moved it to its decrepit "
                     "module", Level.MEDIUM),
}
_CIPHER_CALLS: dict[str, tuple[str, str, Level]] = {}
for _pkg in _PYCRYPTO:
    for _mod, _info in _PYCRYPTO_CIPHERS.items():
        _CIPHER_CALLS[f"{_pkg}.Cipher.{_mod}.new"] = _info
for _module in _ALGORITHM_MODULES:
    for _cls, _info in _HAZMAT_CIPHERS.items():
        _CIPHER_CALLS[f"{_module}.{_cls}"] = _info


@register
class WeakCipher(Rule):
    """Encryption with a broken or obsolete cipher (DES, 3DES, RC2, RC4, Blowfish, CAST, IDEA, XOR).

    ## What it finds
    Cipher objects created with PyCrypto / pycryptodome's `DES`, `DES3`, `ARC2`, `ARC4`,
    `Blowfish`, `CAST` and `XOR` `.new(...)` (both the `Crypto` and `Cryptodome` packages), and
    `cryptography`'s `algorithms.ARC4`, `TripleDES`, `Blowfish`, `IDEA`, `CAST5` and `SEED`
    (from `primitives.ciphers.algorithms` or `decrepit.ciphers.algorithms`). SEED, which has no
    known practical attack but is obsolete, gets medium severity. AES and ChaCha20 are not
    reported, nor are helpers such as `DES3.adjust_key_parity`.

    ## Why it is dangerous
    DES keys are small enough to search exhaustively. The 64-bit block ciphers (3DES, Blowfish,
    CAST, IDEA, RC2) leak plaintext through birthday collisions once a few tens of gigabytes pass
    under one key. RC4 keystreams are biased and XOR with a repeated key is no encryption at all.

    ## Example
    ```python
    from Crypto.Cipher import DES3
    def seal(key, iv, data):
        return DES3.new(key, DES3.MODE_CBC, iv).encrypt(data)
    ```

    ## Safe alternative
    ```python
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    def seal(key, data):
        nonce = os.urandom(12)
        return nonce + AESGCM(key).encrypt(nonce, data, None)
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/327.html
    - https://sweet32.info/
    """

    id = "SR302"
    name = "weak-cipher"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 327
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Encrypt with AES-GCM or ChaCha20-Poly1305 (`AESGCM` / `ChaCha20Poly1305` from `cryptography`, or "
           "`AES.new(key, AES.MODE_GCM)`).")
    calls = tuple(_CIPHER_CALLS)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        info = _CIPHER_CALLS.get(qualname or "")
        if info is None:
            return
        cipher, weakness, severity = info
        ctx.report(self, call,
                   f"{_callee(ctx, call, qualname)} encrypts with {cipher}, which has {weakness}. Treat data it "
                   "protects as readable by an attacker who collects the ciphertext.",
                   severity=severity)


# ---------------------------------------------------------------------------------------- SR303

_BLOCK_CIPHERS = ("AES", "DES", "DES3", "ARC2", "Blowfish", "CAST")
_PYCRYPTO_BLOCK_NEW = tuple(f"{p}.Cipher.{c}.new" for p in _PYCRYPTO for c in _BLOCK_CIPHERS)
_HAZMAT_ECB = f"{_HAZMAT}.ciphers.modes.ECB"
_MODE_ECB_VALUE = 1  # the value of MODE_ECB in PyCrypto and pycryptodome


@register
class EcbMode(Rule):
    """Block cipher used in ECB mode, which encrypts equal blocks to equal ciphertext.

    ## What it finds
    `cryptography`'s `modes.ECB()` and PyCrypto / pycryptodome block ciphers (`AES`, `DES`,
    `DES3`, `ARC2`, `Blowfish`, `CAST`) created with `MODE_ECB`, passed by position or as
    `mode=`, directly or through a variable; the mode is recognised by its qualified name. The
    literal `1` (the value of `MODE_ECB`) and a call with no mode at all (PyCrypto's default is
    ECB; pycryptodome raises) are reported with medium confidence. CBC, CTR, GCM and the other
    modes are not reported.

    ## Why it is dangerous
    ECB encrypts each block on its own with the same key, so identical plaintext blocks produce
    identical ciphertext blocks: the structure of the data shows through (the well-known
    encrypted penguin), an attacker learns which records are equal, and blocks can be cut, reordered
    and replayed without detection.

    ## Example
    ```python
    from Crypto.Cipher import AES
    def encrypt_token(key, token):
        return AES.new(key, AES.MODE_ECB).encrypt(token)
    ```

    ## Safe alternative
    ```python
    from Crypto.Cipher import AES
    def encrypt_token(key, token):
        cipher = AES.new(key, AES.MODE_GCM)
        ciphertext, tag = cipher.encrypt_and_digest(token)
        return cipher.nonce + tag + ciphertext
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/327.html
    - https://csrc.nist.gov/pubs/sp/800/38/a/final
    """

    id = "SR303"
    name = "ecb-mode"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 327
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = ("Use an authenticated mode with a fresh nonce per message: AES-GCM (`modes.GCM(iv)`, `AESGCM`, "
           "`AES.MODE_GCM`) or ChaCha20-Poly1305.")
    calls = (_HAZMAT_ECB, *_PYCRYPTO_BLOCK_NEW)

    _WHY = ("equal plaintext blocks give equal ciphertext blocks, so patterns in the data show through and "
            "blocks can be reordered or replayed undetected.")

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        callee = _callee(ctx, call, qualname)
        if qualname == _HAZMAT_ECB:
            ctx.report(self, call, f"{callee} selects ECB mode: {self._WHY}")
            return
        if qualname not in _PYCRYPTO_BLOCK_NEW:
            return
        mode = ctx.argument(call, 1, "mode")
        if mode is None:
            if ctx.has_kwargs_splat(call) or len(call.args) > 1 or not call.args:
                return
            ctx.report(self, call,
                       f"{callee} passes no mode: PyCrypto then uses ECB (pycryptodome raises `TypeError`), and in "
                       f"ECB {self._WHY}",
                       confidence=Level.MEDIUM)
            return
        mode_name = ctx.qualname(mode) or ""
        if mode_name.endswith(".MODE_ECB") and mode_name.startswith(tuple(f"{p}." for p in _PYCRYPTO)):
            shown = f"`{ctx.text(mode, 40)}`"
            if not shown.endswith("MODE_ECB`"):
                shown += f" (`{mode_name}`)"
            ctx.report(self, call, f"{callee} uses {shown}: {self._WHY}")
            return
        value = ctx.literal(mode)
        if type(value) is int and value == _MODE_ECB_VALUE:
            ctx.report(self, call,
                       f"{callee} passes mode `{ctx.text(mode, 40)}`, the numeric value of `MODE_ECB`: {self._WHY}",
                       confidence=Level.MEDIUM)


# ---------------------------------------------------------------------------------------- SR304

# qualified name -> (key type, position of the size, its keyword)
_SIZED_KEYS: dict[str, tuple[str, int, str]] = {
    f"{_ASYM}.rsa.generate_private_key": ("RSA", 1, "key_size"),
    f"{_ASYM}.dsa.generate_private_key": ("DSA", 0, "key_size"),
    f"{_ASYM}.dsa.generate_parameters": ("DSA", 0, "key_size"),
    f"{_ASYM}.dh.generate_parameters": ("Diffie-Hellman", 1, "key_size"),
    "paramiko.RSAKey.generate": ("RSA", 0, "bits"),
    "paramiko.rsakey.RSAKey.generate": ("RSA", 0, "bits"),
    "paramiko.DSSKey.generate": ("DSA", 0, "bits"),
    "paramiko.dsskey.DSSKey.generate": ("DSA", 0, "bits"),
}
for _pkg in _PYCRYPTO:
    _SIZED_KEYS[f"{_pkg}.PublicKey.RSA.generate"] = ("RSA", 0, "bits")
    _SIZED_KEYS[f"{_pkg}.PublicKey.DSA.generate"] = ("DSA", 0, "bits")
    _SIZED_KEYS[f"{_pkg}.PublicKey.ElGamal.generate"] = ("ElGamal", 0, "bits")

_EC_CALLS = {f"{_ASYM}.ec.generate_private_key": (0, "curve"), f"{_ASYM}.ec.derive_private_key": (1, "curve")}
# curves below 224 bits -> (size in bits, severity)
_WEAK_CURVES = {"SECP192R1": (192, Level.MEDIUM), "SECT163K1": (163, Level.HIGH), "SECT163R2": (163, Level.HIGH)}
_PYCRYPTO_ECC = tuple(f"{p}.PublicKey.ECC.generate" for p in _PYCRYPTO)
_WEAK_CURVE_NAMES = {"p192", "p-192", "nist p-192", "secp192r1", "prime192v1"}
_PKEY_GENERATE = "OpenSSL.crypto.PKey().generate_key"

MINIMUM_BITS = 2048
BROKEN_BITS = 1024


@register
class WeakKeySize(Rule):
    """Asymmetric key generated with a size too small to resist attack.

    ## What it finds
    RSA, DSA, Diffie-Hellman and ElGamal keys generated with a constant size below 2048 bits:
    `cryptography`'s `rsa.generate_private_key`, `dsa.generate_private_key`,
    `dsa.generate_parameters` and `dh.generate_parameters`, PyCrypto / pycryptodome's
    `RSA.generate`, `DSA.generate` and `ElGamal.generate`, paramiko's `RSAKey.generate` /
    `DSSKey.generate` and pyOpenSSL's `PKey().generate_key`. Sizes below 1024 bits are high
    severity, 1024 up to 2047 medium. Elliptic-curve keys on curves below 224 bits
    (`SECP192R1`, `SECT163K1`, `SECT163R2`, or pycryptodome's `ECC.generate(curve="P-192")`) are
    reported as well. A size held in a variable that is not a constant is not reported.

    ## Why it is dangerous
    A 512-bit RSA modulus is factored in hours on rented machines and 768 bits has been
    factored publicly; 1024-bit RSA and DSA are within reach of well-funded attackers and below
    NIST's minimum since 2013. Anything signed or encrypted with such a key can be forged or read
    once it is broken, for as long as the key or its ciphertext lives.

    ## Example
    ```python
    from cryptography.hazmat.primitives.asymmetric import rsa
    def new_signing_key():
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ```

    ## Safe alternative
    ```python
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    def new_signing_key():
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
        # or: ec.generate_private_key(ec.SECP256R1())
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/326.html
    - https://csrc.nist.gov/pubs/sp/800/131/a/r2/final
    """

    id = "SR304"
    name = "weak-key-size"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 326
    severity = Level.MEDIUM
    confidence = Level.HIGH
    fix = ("Generate RSA, DSA and Diffie-Hellman keys of at least 2048 bits (3072 for keys used past 2030), "
           "or use a curve of at least 256 bits such as SECP256R1 or Ed25519.")
    calls = (*_SIZED_KEYS, *_EC_CALLS, *_PYCRYPTO_ECC, _PKEY_GENERATE)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname in _EC_CALLS:
            self._check_curve(ctx, call, qualname, ctx.argument(call, *_EC_CALLS[qualname]))
            return
        if qualname in _PYCRYPTO_ECC:
            self._check_curve_name(ctx, call, qualname, ctx.argument(call, None, "curve"))
            return
        if qualname == _PKEY_GENERATE:
            kind, size = self._pkey_kind(ctx, call), ctx.argument(call, 1, "bits")
        elif qualname in _SIZED_KEYS:
            kind, position, keyword = _SIZED_KEYS[qualname]
            size = ctx.argument(call, position, keyword)
        else:
            return
        if kind is None or size is None:
            return
        bits = ctx.literal(size)
        if type(bits) is not int or bits <= 0 or bits >= MINIMUM_BITS:
            return
        callee = _callee(ctx, call, qualname)
        written = ctx.text(size, 30)
        source = f" (`{written}`)" if written != str(bits) else ""
        if bits < BROKEN_BITS:
            ctx.report(self, call,
                       f"{callee} generates a {bits}-bit {kind} key{source}. Keys this small are "
                       "broken with public tools and modest rented hardware, so anything it signs or protects can "
                       "be forged or read.",
                       severity=Level.HIGH)
            return
        ctx.report(self, call,
                   f"{callee} generates a {bits}-bit {kind} key{source}, below the 2048-bit "
                   "minimum NIST has required since 2013; 1024-bit keys are within reach of well-funded attackers.")

    @staticmethod
    def _pkey_kind(ctx: FileContext, call: ast.Call) -> str | None:
        kind = ctx.qualname(ctx.argument(call, 0, "type")) or ""
        return {"OpenSSL.crypto.TYPE_RSA": "RSA", "OpenSSL.crypto.TYPE_DSA": "DSA"}.get(kind)

    def _check_curve(self, ctx: FileContext, call: ast.Call, qualname: str, curve: ast.AST | None) -> None:
        if curve is None:
            return
        target = curve.func if isinstance(curve, ast.Call) else curve
        name = (ctx.qualname(target) or "").removesuffix("()")
        prefix = f"{_ASYM}.ec."
        if not name.startswith(prefix) or name[len(prefix):] not in _WEAK_CURVES:
            return
        short = name[len(prefix):]
        bits, severity = _WEAK_CURVES[short]
        shown = f"`{ctx.text(curve, 40)}`"
        if short not in shown:
            shown += f" ({short})"
        ctx.report(self, call,
                   f"{_callee(ctx, call, qualname)} generates a key on {shown}, a {bits}-bit curve "
                   f"(about {bits // 2}-bit security), below the 224-bit minimum; signatures and key agreement on it "
                   "do not hold against a determined attacker.",
                   severity=severity)

    def _check_curve_name(self, ctx: FileContext, call: ast.Call, qualname: str, curve: ast.AST | None) -> None:
        value = ctx.literal(curve)
        if not isinstance(value, str) or value.strip().lower() not in _WEAK_CURVE_NAMES:
            return
        ctx.report(self, call,
                   f"{_callee(ctx, call, qualname)} generates a key on the 192-bit curve `{ctx.text(curve, 30)}` "
                   "(about 96-bit security), below the 224-bit minimum.")
