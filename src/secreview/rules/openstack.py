"""OpenStack domain rules: disk images inspected or converted with their format left to probing,
and commands run as root (processutils, rootwrap, privsep) with arguments taken from a request."""

from __future__ import annotations

import ast
import re

from secreview.model import Level
from secreview.rules.access import (
    _call_name,
    _in_request_functions,
    _is_sanitiser_call,
    handler_params,
    request_root,
    tainted_names,
)
from secreview.rules.base import FileContext, Rule, attribute_chain, identifier_words
from secreview.rules.registry import register

# ------------------------------------------------------------------------ running commands

_EXEC_NAMES = frozenset({"execute", "_execute", "trycmd", "ssh_execute", "execute_root", "run_command",
                         "execute_command", "call", "run", "check_call", "check_output", "Popen", "system",
                         "popen", "getoutput", "getstatusoutput", "create_subprocess_exec",
                         "create_subprocess_shell"})
_AMBIGUOUS = frozenset({"call", "run", "check_call", "check_output", "Popen", "system", "popen", "getoutput",
                        "getstatusoutput", "create_subprocess_exec", "create_subprocess_shell"})
_PROCESS_MODULES = ("subprocess.", "os.", "asyncio.", "commands.")


def _command_parts(ctx: FileContext, call: ast.Call) -> tuple[list[str], list[ast.expr]] | None:
    """Constant tokens and dynamic parts of the command a call runs, or None when it is not a
    command-running call. ``execute('qemu-img', 'info', path)``, ``execute(*cmd)``,
    ``subprocess.run(['qemu-img', ...])`` and shell strings are all understood."""
    name = _call_name(call)
    if name not in _EXEC_NAMES:
        return None
    if name in _AMBIGUOUS:
        qual = ctx.qualname(call.func) or ""
        if not qual.startswith(_PROCESS_MODULES):
            return None
        pieces: list[ast.AST] = call.args[:1] or [kw.value for kw in call.keywords if kw.arg in ("args", "cmd")]
    else:
        pieces = list(call.args)
    consts: list[str] = []
    dynamic: list[ast.expr] = []
    for piece in pieces:
        target = piece.value if isinstance(piece, ast.Starred) else piece
        if isinstance(piece, ast.Starred) and not _single_value(ctx, target):
            dynamic.append(piece)  # a list built in several steps: its options are unknown
            continue
        c, d = ctx.string_parts(target)
        consts.extend(c)
        dynamic.extend(d)
    tokens = [tok for text in consts for tok in text.split()]
    return tokens, dynamic


def _single_value(ctx: FileContext, expr: ast.AST) -> bool:
    """A name assigned once in its scope and never changed in place (``.append``, ``.extend``,
    ``+=`` are allowed only when ``string_parts`` can follow them, i.e. augmented assignment)."""
    if not isinstance(expr, ast.Name):
        return False
    binding = ctx.binding(expr)
    if binding is None or binding.kind not in ("assign", "augassign"):
        return False
    bindings = binding.scope.bindings.get(expr.id, [])
    if sum(1 for b in bindings if b.kind == "assign") > 1:
        return False
    func = ctx.index.function_of(expr)
    for node in ast.walk(func) if func is not None else ():
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("append", "extend", "insert") \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == expr.id:
            return False
    return True


_QEMU_SUBCOMMANDS = frozenset({"info", "convert", "resize", "rebase", "commit", "check", "compare", "map",
                               "measure", "amend", "dd", "snapshot", "bitmap"})
_OPTION_WORDS = frozenset({"args", "arg", "opts", "opt", "options", "option", "flags", "flag", "params", "cmd",
                           "command", "extra", "argv"})


def _has_format(tokens: list[str], flags: tuple[str, ...]) -> bool:
    for tok in tokens:
        for flag in flags:
            if tok == flag or (flag.startswith("--") and tok.startswith(flag + "=")) or \
                    (len(flag) == 2 and tok.startswith(flag) and len(tok) > 2 and not tok.startswith("--")):
                return True
    return False


def _unknown_options(dynamic: list[ast.expr]) -> bool:
    """A dynamic part that may itself be a list of options (``*extra_args``, ``fmt_opts``)."""
    for part in dynamic:
        if isinstance(part, ast.Starred):
            return True
        name = part.id if isinstance(part, ast.Name) else part.attr if isinstance(part, ast.Attribute) else \
            _call_name(part) if isinstance(part, ast.Call) else ""
        if name and set(identifier_words(name)) & _OPTION_WORDS:
            return True
    return False


_INFO_HELPERS = re.compile(r"^(privileged_|unprivileged_|_)?qemu_img_info$")


@register
class ImageFormatNotSpecified(Rule):
    """Disk image inspected or converted by `qemu-img` without an explicit input format.

    ## What it finds
    - `qemu-img info`, `convert`, `resize`, `rebase`, `commit`, `check`, `compare`, `map`,
      `measure` and `amend` run through `processutils.execute`, `utils.execute`, another
      `execute` helper, or `subprocess` (argument lists, `*cmd` tuples and shell strings alike)
      without `-f FORMAT` / `--format` (or `--image-opts`).
    - Calls to `qemu_img_info(path)` helpers without a `format=` argument (or with
      `format=None`): with medium confidence for helpers known to probe then
      (`nova.virt.images.qemu_img_info`, `nova.privsep.qemu.*qemu_img_info`) and for helpers of
      the same file that do not run a format inspector first; with low confidence for helpers
      that cannot be seen. Helpers that inspect the format themselves and pass `-f` (Cinder's
      `image_utils.qemu_img_info`, or a local helper calling a format inspector) are not
      reported.

    Commands whose options come partly from a variable that may hold them (`*extra_args`,
    `fmt_opts`) are not reported, since the format may be among them. A missing output format
    (`-O`) on `convert` is not reported: the default output is raw, which is safe.

    ## Why it is dangerous
    Without `-f`, `qemu-img` guesses the format from the file's contents. A guest (or a user
    uploading an image) controls those contents: a raw disk whose first bytes form a qcow2 or
    vmdk header with a backing file or extent named `/etc/shadow` or another guest's disk is
    then opened as that format, and the host file is read into the image the user gets back
    (the class of OSSA-2024-001 / CVE-2024-32498, which hit Nova, Cinder and Glance).

    ## Example
    ```python
    from oslo_concurrency import processutils

    def virtual_size(path):
        out, _err = processutils.execute("qemu-img", "info", "--output=json", path)
        return out
    ```

    ## Safe alternative
    ```python
    from oslo_concurrency import processutils

    def virtual_size(path, disk_format):
        out, _err = processutils.execute("qemu-img", "info", "-f", disk_format, "--output=json", path)
        return out
    ```
    Pass the format recorded for the image (from Glance metadata or the driver's own records,
    after checking it with a format inspector), never what `qemu-img` detects.

    ## References
    - https://cwe.mitre.org/data/definitions/20.html
    - https://security.openstack.org/ossa/OSSA-2024-001.html
    - https://www.qemu.org/docs/master/tools/qemu-img.html
    """

    id = "SR921"
    name = "image-format-not-specified"
    cwe = 20
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Pass the image's known format explicitly: `qemu-img <command> -f <format> ...` "
           "(or `format=` to the `qemu_img_info` helper), validated against a format inspector.")
    nodes = (ast.Call,)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first tests, once per called name: a qemu_img_info helper or a command runner.
        # The runners are found by intersecting the sets, and the helpers looked for only when
        # one called name holds "qemu_img_info" (searched for once in the names joined by NUL,
        # which no name holds): the names ctx.calls_named would accept, without a call per name.
        names = ctx.call_names()
        distinct = set(names)
        wanted = distinct & _EXEC_NAMES
        if "qemu_img_info" in "\0".join(distinct):
            wanted.update(name for name in distinct if "qemu_img_info" in name and _INFO_HELPERS.match(name))
        if not wanted:
            return []
        return [call for call, name in zip(nodes, names) if name in wanted]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        name = _call_name(node)
        if "qemu_img_info" in name and _INFO_HELPERS.match(name):
            self._helper(ctx, node, name)
            return
        if name not in _EXEC_NAMES:
            return  # not a command-running call (the first test of _command_parts)
        parts = _command_parts(ctx, node)
        if parts is None:
            return
        tokens, dynamic = parts
        position = next((i for i, tok in enumerate(tokens) if tok == "qemu-img" or tok.endswith("/qemu-img")), None)
        if position is None or position + 1 >= len(tokens):
            return
        sub = tokens[position + 1]
        if sub not in _QEMU_SUBCOMMANDS:
            return
        rest = tokens[position + 2:]
        if _has_format(rest, ("-f", "--format", "--image-opts")):
            return
        if _unknown_options(dynamic):
            return
        ctx.report(self, node,
                   f"`{ctx.text(node.func, 40)}` runs `qemu-img {sub}` without `-f`, so qemu-img probes the image "
                   "format from the file's contents. A raw image written by a guest or user can carry a qcow2 "
                   "or vmdk header whose backing file points at a host file, which is then read as part of "
                   "the image.")

    def _helper(self, ctx: FileContext, call: ast.Call, name: str) -> None:
        fmt = ctx.argument(call, 1, "format")
        for keyword in _FORMAT_KEYWORDS:
            fmt = fmt if fmt is not None else ctx.keyword(call, keyword)
        if ctx.has_kwargs_splat(call) and fmt is None:
            return
        if fmt is not None and ctx.literal(fmt) is not None:
            return
        verdict = _helper_probes(ctx, call)
        if verdict is None:
            return
        shown = ctx.text(call.args[0], 30) if call.args else "the image"
        ctx.report(self, call,
                   f"`{ctx.text(call.func, 60)}({shown})` is called without a `format=`"
                   f"{' (it is None)' if fmt is not None else ''}, so `qemu-img info` probes the format from the "
                   "file's contents: an image whose contents the guest or a user controls can claim to be qcow2 "
                   "with a backing file on the host, and the reported format, size and backing file are the "
                   "attacker's.",
                   confidence=verdict)


_FORMAT_KEYWORDS = ("format", "img_format", "image_format", "disk_format", "fmt", "src_format", "source_format")
# Helpers known to run `qemu-img info` without `-f` when no format is given.
_PROBING_HELPERS = frozenset({"nova.virt.images.qemu_img_info", "nova.virt.images.privileged_qemu_img_info",
                              "nova.privsep.qemu.unprivileged_qemu_img_info",
                              "nova.privsep.qemu.privileged_qemu_img_info"})
# Helpers known to detect the format with a format inspector first and pass it with `-f`.
_INSPECTING_HELPERS = frozenset({"cinder.image.image_utils.qemu_img_info"})
_INSPECTOR_CALL = re.compile(r"(?i)(inspect|get_format|detect_file_format|safety_check)")


def _helper_probes(ctx: FileContext, call: ast.Call) -> Level | None:
    """How sure we are that this ``qemu_img_info`` helper probes the format: MEDIUM for known
    probing helpers and for helpers defined in this file that do not inspect the format first,
    LOW for helpers we cannot see, None for helpers that inspect the format themselves."""
    qual = ctx.qualname(call.func) or ""
    if qual in _INSPECTING_HELPERS:
        return None
    if qual in _PROBING_HELPERS:
        return Level.MEDIUM
    definition = _local_definition(ctx, call)
    if definition is not None and not _abstract(definition):
        return _definition_probes(ctx, definition, 0)
    return Level.LOW


def _abstract(definition: ast.AST) -> bool:
    body = [s for s in definition.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return all(isinstance(s, (ast.Pass, ast.Raise)) for s in body)


def _local_definition(ctx: FileContext, call: ast.Call) -> ast.AST | None:
    """The function of this file a call runs: ``helper(...)`` or ``self.helper(...)``."""
    func = call.func
    if isinstance(func, ast.Name):
        binding = ctx.binding(func)
        return binding.node if binding is not None and binding.kind == "def" else None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
        cls = ctx.index.class_of(call)
        if cls is not None:
            for stmt in cls.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == func.attr:
                    return stmt
    return None


def _definition_probes(ctx: FileContext, definition: ast.AST, depth: int) -> Level | None:
    """Follow a local helper: None if it (or a helper it calls) inspects the format first."""
    for node in ast.walk(definition):
        if not isinstance(node, ast.Call) or node is definition:
            continue
        if _INSPECTOR_CALL.search(_call_name(node) or ""):
            return None
        qual = ctx.qualname(node.func) or ""
        if qual in _INSPECTING_HELPERS:
            return None
        if depth < 3 and (_call_name(node) or "").find("qemu_img_info") >= 0:
            inner = _local_definition(ctx, node)
            if inner is not None and inner is not definition and _definition_probes(ctx, inner, depth + 1) is None:
                return None
    return Level.MEDIUM


# ------------------------------------------------------------------------ SR922

_ROOT_HELPERS = re.compile(r"(?i)(rootwrap|^sudo$|privsep-helper)")
_VALIDATION_DECORATOR = re.compile(r"(^|\.)(schema|validated|query_schema|expected_errors_and_schema)$")


def _privsep_entrypoints(ctx: FileContext) -> set[str]:
    key = "SR922-entrypoints"
    found = ctx.cache.get(key)
    if found is None:
        found = set()
        for func in ctx.index.functions:
            for dec in func.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(target, ast.Attribute) and target.attr == "entrypoint":
                    found.add(func.name)
        ctx.cache[key] = found
    return found  # type: ignore[return-value]


def _root_sink(ctx: FileContext, call: ast.Call) -> str | None:
    """How ``call`` runs something as root, or None."""
    run_as_root = ctx.keyword(call, "run_as_root")
    if run_as_root is not None and ctx.is_true(run_as_root):
        return "runs its command as root (`run_as_root=True`)"
    if ctx.keyword(call, "root_helper") is not None:
        return "runs its command as root through a root helper"
    qual = ctx.qualname(call.func) or ""
    if ".privsep." in f".{qual}" and not qual.endswith(("entrypoint", "PrivContext", "start")):
        return "is a privsep entrypoint and runs as root"
    name = _call_name(call)
    if isinstance(call.func, ast.Name) and name in _privsep_entrypoints(ctx):
        return "is a privsep entrypoint (decorated with `.entrypoint`) and runs as root"
    parts = _command_parts(ctx, call)
    if parts is not None and parts[0] and _ROOT_HELPERS.search(parts[0][0]):
        return f"runs its command as root through `{parts[0][0]}`"
    return None


def _guarded(ctx: FileContext, func: ast.AST) -> set[str]:
    """Names the function validates: tested in an ``if`` / ``assert`` by a validation call, a regex
    match or an allow-list membership test."""
    names: set[str] = set()
    for node in ast.walk(func):
        tests = []
        if isinstance(node, (ast.If, ast.While, ast.Assert, ast.IfExp)):
            tests.append(node.test)
        for test in tests:
            for sub in ast.walk(test):
                if isinstance(sub, ast.Call) and (_is_sanitiser_call(ctx, sub) or _call_name(sub) in (
                        "match", "fullmatch", "search", "isdigit", "isalnum", "isidentifier", "is_uuid_like",
                        "startswith")):
                    for arg in [*sub.args, sub.func]:
                        names.update(n.id for n in ast.walk(arg) if isinstance(n, ast.Name))
                if isinstance(sub, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in sub.ops):
                    names.update(n.id for n in ast.walk(sub.left) if isinstance(n, ast.Name))
    return names


@register
class RootCommandFromRequest(Rule):
    """Command run as root with an argument taken from the request.

    ## What it finds
    In a function that handles a request (it takes `req` / `request`, or reads `request.*`),
    a call that runs something with root privileges — `processutils.execute` / `utils.execute`
    / any `execute` with `run_as_root=True` or a `root_helper`, a command starting with `sudo`
    or `*-rootwrap`, or a privsep entrypoint (`nova.privsep.*`, functions decorated with
    `@<context>.entrypoint`) — handed a value that comes, through local assignments, from the
    request: `req.params`, `req.GET`, `request.args`, `request.json`, the handler's `body` or
    its URL id parameters. A value passed through `int()`, `uuid.UUID()`, a validation function,
    or tested by a regular-expression match, `is_uuid_like` or an allow-list membership test is
    not reported. A handler with JSON-schema validation (`@validation.schema`) is reported with
    low confidence.

    ## Why it is dangerous
    Root helpers and privsep daemons are the boundary between an API service and root on the
    host. Even without a shell, a request value used as a command argument can be an option
    (`--output=/etc/...`), a path outside the intended directory (`../../`), or a device name
    the caller does not own; the command then does the caller's bidding as root.

    ## Example
    ```python
    from oslo_concurrency import processutils

    def resize_device(self, req, body):
        device = body["device"]
        processutils.execute("blockdev", "--rereadpt", device, run_as_root=True)
    ```

    ## Safe alternative
    ```python
    import re
    from oslo_concurrency import processutils

    DEVICE = re.compile(r"^/dev/vd[a-z]$")

    def resize_device(self, req, body):
        device = body["device"]
        if not DEVICE.match(device):
            raise ValueError("bad device")
        processutils.execute("blockdev", "--rereadpt", device, run_as_root=True)
    ```
    Validate request values against a strict pattern or an allow-list (or map them to values
    the service chooses) before they reach anything that runs as root; prefer narrow privsep
    entrypoints that validate their own arguments.

    ## References
    - https://cwe.mitre.org/data/definitions/78.html
    - https://docs.openstack.org/oslo.privsep/latest/
    """

    id = "SR922"
    name = "root-command-from-request"
    cwe = 78
    severity = Level.HIGH
    confidence = Level.MEDIUM
    fix = ("Validate the request value against a strict pattern or allow-list (or convert it with `int()` / "
           "`uuid.UUID()`) before it reaches a command run as root.")
    nodes = (ast.Call,)
    # how a call runs as root (_root_sink): a run_as_root / root_helper keyword, a privsep module
    # or entrypoint, or a rootwrap / sudo / privsep-helper command. No ``needs`` text prefilter on
    # those words: since select() keeps only calls in functions that may see a request, its six
    # case-blind searches of every file cost more than they spared (nova 0.02 s; 2026-11-27).

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node reports only an argument in which request_root finds request data, with the
        # parameters and tainted names of the call's function: the calls of functions that take
        # no request data are dropped, a verdict per function (most files have none, and
        # _root_sink, which check_node asks first, resolves every call's name)
        return _in_request_functions(ctx, nodes)

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        how = _root_sink(ctx, node)  # rules out most calls, more cheaply than finding the function
        if how is None:
            return
        func = ctx.index.function_of(node)
        if func is None:
            return
        cache = ctx.cache.setdefault(self.id, {})
        if func not in cache:
            body_params, id_params = handler_params(func)
            tainted = tainted_names(ctx, func, body_params, id_params)
            guarded = _guarded(ctx, func)
            cache[func] = (body_params, id_params, {k: v for k, v in tainted.items() if k not in guarded}, guarded)
        body_params, id_params, tainted, guarded = cache[func]
        args = [a.value if isinstance(a, ast.Starred) else a for a in node.args]
        args += [kw.value for kw in node.keywords if kw.arg not in ("run_as_root", "root_helper", "check_exit_code")]
        for arg in args:
            root = request_root(ctx, arg, body_params - guarded, id_params - guarded, tainted)
            if root is None:
                continue
            schema = any(_VALIDATION_DECORATOR.search(_dotted_text(d)) for d in func.decorator_list)
            ctx.report(self, node,
                       f"`{ctx.text(node.func, 40)}` {how}, and its argument `{ctx.text(arg, 40)}` comes from "
                       f"the request (`{ctx.text(root, 30)}`) without validation. The caller picks an argument of "
                       "a root command: an option, a path outside the expected directory, or another tenant's "
                       "device.",
                       confidence=Level.LOW if schema else Level.MEDIUM)
            return


def _dotted_text(expr: ast.AST) -> str:
    return ".".join(attribute_chain(expr.func if isinstance(expr, ast.Call) else expr))
