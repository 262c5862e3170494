"""Deserialisation of untrusted data: pickle and its relatives, YAML loaders that build Python
objects, and XML parsers that resolve or expand entities."""

from __future__ import annotations

import ast

from secreview.model import Level
from secreview.rules.base import NOT_CONSTANT, FileContext, Rule
from secreview.rules.registry import register

# ---------------------------------------------------------------------------- shared helpers

_FOLLOW = ("assign", "walrus", "with")


def _resolve(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> ast.AST | None:
    """The expression a name stands for: follow names bound by assignment (or ``with ... as``)
    to the value assigned, so ``p = XMLParser(...); parse(f, p)`` leads from ``p`` to the call."""
    while isinstance(expr, ast.Name) and depth < 8:
        binding = ctx.binding(expr)
        if binding is None or binding.kind not in _FOLLOW or binding.value is None or binding.value is expr:
            return expr
        expr = binding.value
        depth += 1
    return expr


def _call_to(ctx: FileContext, expr: ast.AST | None, names: frozenset[str] | tuple[str, ...]) -> ast.Call | None:
    """``expr`` (or the value a name is bound to) when it is a call of one of ``names``."""
    value = _resolve(ctx, expr)
    if isinstance(value, ast.Call) and ctx.qualname(value.func) in names:
        return value
    return None


_OPENERS = frozenset({"builtins.open", "io.open", "gzip.open", "bz2.open", "lzma.open", "codecs.open",
                      "gzip.GzipFile", "bz2.BZ2File", "lzma.LZMAFile"})
_PATH_BUILDERS = frozenset({"os.path.join", "os.path.dirname", "os.path.abspath", "os.path.realpath",
                            "os.path.normpath", "os.path.expanduser", "posixpath.join"})
_PATH_TYPES = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})


def _fixed_path(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> bool:
    """True for a file location fixed in the code: a constant string, ``__file__``, and
    ``os.path.join`` / ``Path(...) / ...`` / ``.parent`` built only from those."""
    if expr is None or depth > 8:
        return False
    if isinstance(expr, ast.Name) and expr.id == "__file__" and ctx.binding(expr) is None:
        return True
    if ctx.is_constant(expr):
        return isinstance(ctx.literal(expr), str)
    value = _resolve(ctx, expr)
    if value is not expr:
        return _fixed_path(ctx, value, depth + 1)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return _fixed_path(ctx, expr.left, depth + 1) and _fixed_path(ctx, expr.right, depth + 1)
    if isinstance(expr, ast.Attribute) and expr.attr in ("parent", "parents"):
        return _fixed_path(ctx, expr.value, depth + 1)
    if isinstance(expr, ast.Subscript):
        return _fixed_path(ctx, expr.value, depth + 1) and ctx.is_constant(expr.slice)
    if isinstance(expr, ast.Call) and not expr.keywords:
        name = ctx.qualname(expr.func)
        if name in _PATH_BUILDERS or name in _PATH_TYPES:
            return bool(expr.args) and all(_fixed_path(ctx, a, depth + 1) for a in expr.args)
        if isinstance(expr.func, ast.Attribute) and expr.func.attr in ("resolve", "absolute", "joinpath"):
            return _fixed_path(ctx, expr.func.value, depth + 1) \
                and all(_fixed_path(ctx, a, depth + 1) for a in expr.args)
    return False


def _fixed_file(ctx: FileContext, expr: ast.AST | None) -> bool:
    """True for a file object opened on a fixed path: ``open("x.pkl", "rb")``, ``with open(...) as f``
    (then ``f``), ``Path("x").open()``."""
    value = _resolve(ctx, expr)
    if not isinstance(value, ast.Call):
        return False
    name = ctx.qualname(value.func)
    if name in _OPENERS:
        target = ctx.argument(value, 0, "file") or ctx.argument(value, None, "filename")
        return _fixed_path(ctx, target)
    if isinstance(value.func, ast.Attribute) and value.func.attr in ("open", "read_bytes", "read_text"):
        return _fixed_path(ctx, value.func.value)
    return False


def _constant_data(ctx: FileContext, expr: ast.AST | None) -> bool:
    """True for a bytes or str literal (or a memory buffer wrapping one)."""
    if expr is None:
        return False
    value = ctx.literal(expr)
    if isinstance(value, (bytes, str)):
        return True
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (bytes, str)) for v in value):
        return True  # ``fromstringlist`` of literal pieces
    buffer = _call_to(ctx, expr, ("io.BytesIO", "io.StringIO"))
    if buffer is not None and buffer.args:
        return isinstance(ctx.literal(buffer.args[0]), (bytes, str))
    return False


def _label(ctx: FileContext, call: ast.Call, qualname: str | None) -> str:
    """The call as written, in backticks; when an alias hides what is called, the qualified name
    follows: ```unpickle` (`pickle.loads`)``."""
    text = ctx.text(call.func, 40)
    if qualname and "()" not in qualname and qualname != text and not qualname.endswith("." + text):
        return f"`{text}` (`{qualname}`)"
    return f"`{text}`"


def _shown(ctx: FileContext, expr: ast.AST) -> str:
    return f"`{ctx.text(expr, 50)}`"


# ---------------------------------------------------------------------------- SR201

_PICKLE_MODULES = ("pickle", "cPickle", "_pickle", "dill", "cloudpickle")

# qualified name -> (kind, what the call does, argument name); kind is "data" (bytes in memory),
# "file" (a file object or path) or "path" (a file name).
_UNPICKLERS: dict[str, tuple[str, str, str]] = {}
for _mod in _PICKLE_MODULES:
    _UNPICKLERS[f"{_mod}.loads"] = ("data", "unpickles", "data")
    _UNPICKLERS[f"{_mod}.load"] = ("file", "unpickles the file object", "file")
    if _mod != "cloudpickle":
        _UNPICKLERS[f"{_mod}.Unpickler"] = ("file", "builds an unrestricted unpickler over", "file")
_UNPICKLERS.update({
    "pickle._loads": ("data", "unpickles", "data"),
    "pickle._load": ("file", "unpickles the file object", "file"),
    "pickle._Unpickler": ("file", "builds an unrestricted unpickler over", "file"),
    "marshal.loads": ("data", "unmarshals", "bytes"),
    "marshal.load": ("file", "unmarshals the file object", "file"),
    "shelve.open": ("path", "opens a shelf, whose values are pickles, at", "filename"),
    "jsonpickle.decode": ("data", "decodes jsonpickle text, which names classes and callables to rebuild, from",
                          "string"),
    "jsonpickle.loads": ("data", "decodes jsonpickle text, which names classes and callables to rebuild, from",
                         "string"),
    "jsonpickle.unpickler.decode": ("data", "decodes jsonpickle text, which names classes and callables to "
                                            "rebuild, from", "string"),
    "pandas.read_pickle": ("path", "unpickles the pickled pandas object at", "filepath_or_buffer"),
    "joblib.load": ("path", "unpickles the joblib dump at", "filename"),
    "numpy.load": ("path", "loads the NumPy file at", "file"),
    "torch.load": ("path", "loads the PyTorch checkpoint at", "f"),
})

_DUMPERS = frozenset({f"{m}.dumps" for m in _PICKLE_MODULES}
                     | {"marshal.dumps", "jsonpickle.encode", "jsonpickle.dumps", "pickle._dumps"})


@register
class UnsafeDeserialization(Rule):
    """Data deserialised with pickle or a format built on it.

    ## What it finds
    `pickle` / `cPickle` / `_pickle` / `dill` / `cloudpickle` `load` and `loads`, an unrestricted
    `Unpickler`, `marshal.load(s)`, `shelve.open`, `jsonpickle.decode`, `pandas.read_pickle`,
    `joblib.load`, `numpy.load(..., allow_pickle=True)` and `torch.load` without
    `weights_only=True`. Data that is not constant is reported with high confidence; a file at a
    path fixed in the code with medium confidence. Constant bytes, a round trip such as
    `pickle.loads(pickle.dumps(obj))` (a deep copy) and unpicklers derived from
    `pickle.Unpickler` with their own `find_class` are not reported.

    A call through a local name bound to one of several modules (`codec = json`, and in another
    branch `codec = pickle`; then `codec.load(f)`) is judged as a call of each module it may be,
    and reported with one step less confidence, naming the binding that makes it unsafe
    ("`codec` may be the `pickle` module here (line 12)").

    ## Why it is dangerous
    Unpickling is running code: a pickle names any importable callable and the arguments to call
    it with (`__reduce__`), and the loader calls it before returning. Whoever controls the bytes,
    a cached blob, a message on a queue, an uploaded model, runs arbitrary code in this process.
    `marshal` does not call functions, but it is not hardened against malformed input and
    returns code objects.

    ## Example
    ```python
    import pickle
    def restore_session(request):
        return pickle.loads(request.cookies["session"].encode("latin-1"))
    ```

    ## Safe alternative
    ```python
    import json
    def restore_session(request):
        return json.loads(request.cookies["session"])   # plain data only
    ```
    Exchange plain data (JSON, MessagePack, protobuf) and rebuild objects explicitly; sign
    anything that must round-trip through a client. For model weights use `safetensors` or
    `torch.load(..., weights_only=True)`.

    ## References
    - https://cwe.mitre.org/data/definitions/502.html
    - https://docs.python.org/3/library/pickle.html#restricting-globals
    """

    id = "SR201"
    name = "unsafe-deserialization"
    cwe = 502
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Deserialise only data this process wrote and can authenticate, or switch to a data-only "
           "format such as JSON and rebuild objects explicitly.")
    calls = tuple(_UNPICKLERS)
    # ``loader.load(f)`` where ``loader`` may be one of several modules (FileContext.check_resolved)
    methods = ("load", "loads", "Unpickler")

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        ctx.check_resolved(call, qualname, _UNPICKLERS, lambda name: self._check(ctx, call, name))

    def _check(self, ctx: FileContext, call: ast.Call, qualname: str) -> None:
        kind, verb, argname = _UNPICKLERS[qualname]
        func = _label(ctx, call, qualname)
        severity, confidence = Level.HIGH, Level.HIGH
        note = ""
        fix = None
        if qualname == "numpy.load":
            allow = ctx.argument(call, 2, "allow_pickle")
            if allow is None or ctx.is_false(allow):
                return  # pickled object arrays are refused
            if ctx.is_true(allow):
                note = " with `allow_pickle=True`, so object arrays in it are unpickled"
            else:
                note = f" with `allow_pickle={ctx.text(allow, 30)}`, which may allow unpickling object arrays"
                confidence = Level.MEDIUM
            fix = "Call `numpy.load` without `allow_pickle=True` and store object data in a data-only format."
        elif qualname == "torch.load":
            weights = ctx.keyword(call, "weights_only")
            if weights is not None and ctx.is_true(weights):
                return
            if weights is None:
                if ctx.has_kwargs_splat(call):
                    return
                note = " without `weights_only=True`, so PyTorch before 2.6 unpickles the whole file"
                confidence = Level.MEDIUM
            elif ctx.is_false(weights):
                note = " with `weights_only=False`, so the whole file is unpickled, arbitrary objects included"
            else:
                note = f" with `weights_only={ctx.text(weights, 30)}`, which may unpickle arbitrary objects"
                confidence = Level.MEDIUM
            fix = "Pass `weights_only=True` to `torch.load`, or store weights with `safetensors`."
        elif qualname.startswith("marshal."):
            severity = Level.MEDIUM
        harm = ("its author can crash the interpreter or smuggle in code objects"
                if qualname.startswith("marshal.") else
                "its author chooses the callables run while it is loaded: arbitrary code in this process")
        data = ctx.argument(call, 0, argname)
        if data is None:
            if not call.args and not ctx.has_kwargs_splat(call):
                return
            ctx.report(self, call,
                       f"{func} {verb} data unpacked from `*`/`**` arguments{note}. If that data can come from "
                       f"outside, {harm}.",
                       severity=severity, confidence=Level.MEDIUM, fix=fix)
            return
        if kind == "data" and (_constant_data(ctx, data) or ctx.passes_through(data, _DUMPERS)):
            return  # nothing from outside, or a copy made by pickling and unpickling in place
        if kind == "file" and _constant_data(ctx, data):
            return
        if kind != "data" and (_fixed_path(ctx, data) or _fixed_file(ctx, data)):
            ctx.report(self, call,
                       f"{func} {verb} {_shown(ctx, data)} (a location fixed in the code){note}. Whoever can "
                       "write or replace that file runs code in this process when it is loaded.",
                       severity=severity, confidence=min(confidence, Level.MEDIUM), fix=fix)
            return
        ctx.report(self, call,
                   f"{func} {verb} {_shown(ctx, data)}{note}. If that data can come from outside, {harm}.",
                   severity=severity, confidence=confidence, fix=fix)


# ---------------------------------------------------------------------------- SR202

_SAFE_LOADERS = frozenset(f"yaml.{p}{n}" for p in ("", "loader.", "cyaml.")
                          for n in ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"))
_FULL_LOADERS = frozenset(f"yaml.{p}{n}" for p in ("", "loader.", "cyaml.") for n in ("FullLoader", "CFullLoader"))
_UNSAFE_LOADERS = frozenset(f"yaml.{p}{n}" for p in ("", "loader.", "cyaml.")
                            for n in ("Loader", "UnsafeLoader", "CLoader", "CUnsafeLoader"))
_RANK = {"safe": 0, "unknown": 1, "full": 2, "unsafe": 3}


def _loader_kind(ctx: FileContext, expr: ast.AST | None, depth: int = 0) -> str:
    """safe / full / unsafe / unknown for the value passed as a PyYAML ``Loader``."""
    if expr is None or depth > 8:
        return "unknown"
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is not None and binding.kind == "class" and isinstance(binding.node, ast.ClassDef):
            kinds = [k for k in (_loader_kind(ctx, b, depth + 1) for b in binding.node.bases) if k != "unknown"]
            return max(kinds, key=_RANK.__getitem__) if kinds else "unknown"
        if binding is not None and binding.kind in ("assign", "walrus") and binding.value is not None \
                and not isinstance(binding.value, (ast.Name, ast.Attribute)):
            return _loader_kind(ctx, binding.value, depth + 1)
    if isinstance(expr, ast.IfExp):
        return max(_loader_kind(ctx, expr.body, depth + 1), _loader_kind(ctx, expr.orelse, depth + 1),
                   key=_RANK.__getitem__)
    if isinstance(expr, ast.Call) and ctx.qualname(expr.func) == "builtins.getattr" and len(expr.args) >= 2 \
            and ctx.qualname(expr.args[0]) == "yaml" and isinstance(ctx.literal(expr.args[1]), str):
        kinds = [_loader_name_kind(f"yaml.{ctx.literal(expr.args[1])}")]
        if len(expr.args) > 2:
            kinds.append(_loader_kind(ctx, expr.args[2], depth + 1))
        return max(kinds, key=_RANK.__getitem__)
    if isinstance(expr, (ast.Name, ast.Attribute)):
        return _loader_name_kind(ctx.qualname(expr))
    return "unknown"


def _loader_name_kind(name: str | None) -> str:
    if name in _SAFE_LOADERS:
        return "safe"
    if name in _FULL_LOADERS:
        return "full"
    if name in _UNSAFE_LOADERS:
        return "unsafe"
    return "unknown"


@register
class YamlUnsafeLoad(Rule):
    """YAML parsed with a loader that builds arbitrary Python objects.

    ## What it finds
    `yaml.unsafe_load` / `unsafe_load_all`, and `yaml.load` / `load_all` whose `Loader` is
    `yaml.Loader`, `UnsafeLoader`, `CLoader`, or that have no `Loader` at all. `FullLoader`
    (also `yaml.full_load`) is reported with medium severity. A `Loader` that cannot be resolved
    (a parameter, an attribute) gives medium confidence. `SafeLoader`, `CSafeLoader`,
    `BaseLoader`, classes derived from them, `getattr(yaml, "CSafeLoader", yaml.SafeLoader)`
    and `yaml.safe_load` are not reported, nor is a constant YAML document.

    A loader chosen by file type (`loader = yaml` in one branch, `loader = json` in another, then
    `loader.load(f)`) is checked as `yaml.load` too, with one step less confidence and the
    binding named in the message; `loader.safe_load(f)`, `loader.load(f, Loader=yaml.SafeLoader)`
    and names bound only to `json` / `tomllib` are not reported.

    ## Why it is dangerous
    PyYAML's full and unsafe loaders honour tags such as `!!python/object/apply:os.system`,
    which import a module and call a function while the document is parsed. A configuration
    upload, a webhook body or a file in a shared bucket becomes code run by this service.

    ## Example
    ```python
    import yaml
    def import_template(body):
        return yaml.load(body, Loader=yaml.Loader)
    ```

    ## Safe alternative
    ```python
    import yaml
    def import_template(body):
        return yaml.safe_load(body)   # or yaml.load(body, Loader=yaml.CSafeLoader)
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/502.html
    - https://pyyaml.org/wiki/PyYAMLDocumentation
    """

    id = "SR202"
    name = "yaml-unsafe-load"
    cwe = 502
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = "Use `yaml.safe_load` (or pass `Loader=yaml.SafeLoader` / `yaml.CSafeLoader`)."
    calls = ("yaml.load", "yaml.load_all", "yaml.unsafe_load", "yaml.unsafe_load_all",
             "yaml.full_load", "yaml.full_load_all")
    # ``loader.load(f)`` where ``loader`` may be one of several modules (FileContext.check_resolved)
    methods = tuple(name.partition(".")[2] for name in calls)
    _CALLS = frozenset(calls)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        ctx.check_resolved(call, qualname, self._CALLS, lambda name: self._check(ctx, call, name))

    def _check(self, ctx: FileContext, call: ast.Call, qualname: str) -> None:
        func = _label(ctx, call, qualname)
        stream = ctx.argument(call, 0, "stream")
        if stream is not None and _constant_data(ctx, stream):
            return  # a document written in the code
        shown = _shown(ctx, stream) if stream is not None else "its input"
        fixed = stream is not None and (_fixed_file(ctx, stream) or _fixed_path(ctx, stream))
        if fixed:
            shown += " (a file at a location fixed in the code)"
        unsafe = "runs `!!python/object/apply` tags: whoever writes that YAML calls any Python function"
        full = ("instantiates Python classes named in the document; before PyYAML 5.4 it also let a "
                "document call arbitrary functions")
        severity, confidence = Level.HIGH, Level.HIGH
        if qualname in ("yaml.unsafe_load", "yaml.unsafe_load_all"):
            message = f"{func} parses {shown} with PyYAML's unsafe loader, which {unsafe}."
        elif qualname in ("yaml.full_load", "yaml.full_load_all"):
            message = f"{func} parses {shown} with `FullLoader`, which {full}."
            severity = Level.MEDIUM
        else:
            loader = ctx.argument(call, 1, "Loader")
            if loader is None:
                if ctx.has_kwargs_splat(call):
                    return  # the loader may be among the unpacked keywords
                message = (f"{func} parses {shown} without a `Loader`, so PyYAML before 5.1 uses its unsafe "
                           "loader (5.1 to 5.4 fall back to `FullLoader`): a `!!python/object/apply` tag in "
                           "the document then calls any Python function.")
                confidence = Level.MEDIUM
            else:
                kind = _loader_kind(ctx, loader)
                text = ctx.text(loader, 40)
                if kind == "safe":
                    return
                if kind == "unsafe":
                    message = f"{func} parses {shown} with `{text}`, an unsafe loader that {unsafe}."
                elif kind == "full":
                    named = f"`{text}`" if "FullLoader" in text else f"`{text}` (FullLoader)"
                    message = f"{func} parses {shown} with {named}, which {full}."
                    severity = Level.MEDIUM
                else:
                    message = (f"{func} parses {shown} with loader `{text}`, which could not be resolved to "
                               "a safe loader; if it is `yaml.Loader` or `FullLoader`, the document can build "
                               "arbitrary Python objects.")
                    confidence = Level.MEDIUM
        if fixed:
            confidence = min(confidence, Level.MEDIUM)
        ctx.report(self, call, message, severity=severity, confidence=confidence)


# ---------------------------------------------------------------------------- SR203

_ET = ("xml.etree.ElementTree", "xml.etree.cElementTree")

# qualified name -> (family, data kind, data position, data keyword, parser position)
#   family: "stdlib" or "lxml"; data kind: "text" (a document in memory), "source" (a file or
#   path), or None for a parser constructor (documents are fed to it later).
_XML: dict[str, tuple[str, str | None, int | None, str | None, int | None]] = {}
for _mod in _ET:
    _XML.update({
        f"{_mod}.parse": ("stdlib", "source", 0, "source", 1),
        f"{_mod}.iterparse": ("stdlib", "source", 0, "source", 2),
        f"{_mod}.fromstring": ("stdlib", "text", 0, "text", 1),
        f"{_mod}.XML": ("stdlib", "text", 0, "text", 1),
        f"{_mod}.fromstringlist": ("stdlib", "text", 0, "sequence", 1),
        f"{_mod}.XMLParser": ("stdlib", None, None, None, None),
        f"{_mod}.XMLPullParser": ("stdlib", None, None, None, None),
        f"{_mod}.ElementTree": ("stdlib", "source", 1, "file", None),
        f"{_mod}.ElementTree().parse": ("stdlib", "source", 0, "source", 1),
    })
_XML.update({
    "xml.dom.minidom.parse": ("stdlib", "source", 0, "file", 1),
    "xml.dom.minidom.parseString": ("stdlib", "text", 0, "string", 1),
    "xml.dom.pulldom.parse": ("stdlib", "source", 0, "stream_or_string", 1),
    "xml.dom.pulldom.parseString": ("stdlib", "text", 0, "string", 1),
    "xml.sax.parse": ("stdlib", "source", 0, "source", None),
    "xml.sax.parseString": ("stdlib", "text", 0, "string", None),
    "xml.sax.make_parser": ("stdlib", None, None, None, None),
    "xml.parsers.expat.ParserCreate": ("stdlib", None, None, None, None),
    "pyexpat.ParserCreate": ("stdlib", None, None, None, None),
    "lxml.etree.parse": ("lxml", "source", 0, "source", 1),
    "lxml.etree.fromstring": ("lxml", "text", 0, "text", 1),
    "lxml.etree.XML": ("lxml", "text", 0, "text", 1),
    "lxml.etree.fromstringlist": ("lxml", "text", 0, "strings", 1),
    "lxml.etree.iterparse": ("lxml", "source", 0, "source", None),
    "lxml.etree.XMLParser": ("lxml", None, None, None, None),
    "lxml.etree.XMLPullParser": ("lxml", None, None, None, None),
})
_XML_SERIALISERS = frozenset({f"{m}.{f}" for m in (*_ET, "lxml.etree") for f in ("tostring", "tostringlist")})
_EXTERNAL_FEATURES = frozenset({"xml.sax.handler.feature_external_ges", "xml.sax.handler.feature_external_pes"})
_EXTERNAL_FEATURE_URIS = frozenset({"http://xml.org/sax/features/external-general-entities",
                                    "http://xml.org/sax/features/external-parameter-entities"})


@register
class XmlExternalEntities(Rule):
    """XML parsed by a parser that resolves or expands entities.

    ## What it finds
    Parsing with `lxml.etree` (`parse`, `fromstring`, `XML`, `iterparse`, `XMLParser`) unless
    `resolve_entities=False` is set, reported with high severity; a SAX parser with
    `feature_external_ges` switched on, high severity; and the standard library's expat-based
    parsers (`xml.etree.ElementTree`, `xml.dom.minidom`, `xml.dom.pulldom`, `xml.sax`,
    `xml.parsers.expat`), medium severity, for entity expansion. A parser built in the file and
    passed to `parse(..., parser=p)` is judged where it is built, so a parser created with
    `resolve_entities=False` keeps its parse calls silent. `defusedxml` is never reported, nor
    is a constant document, nor are stdlib parsers in a module that calls
    `defusedxml.defuse_stdlib()`. A parser module picked at run time (`xml_lib = ElementTree`, or
    in another branch `xml_lib = etree`; then `xml_lib.fromstring(data)`) is judged as each module
    it may be, with one step less confidence.

    ## Why it is dangerous
    A document can declare entities. With lxml before 5.0 (and whenever `resolve_entities` is
    true) an external entity such as `<!ENTITY x SYSTEM "file:///etc/shadow">` is fetched and
    its content placed in the tree: a file read or a request from the server (XXE, SSRF). Expat
    does not fetch external entities, but it expands nested internal ones: a few hundred bytes
    of "billion laughs" grow to gigabytes unless expat is 2.4.1 or newer.

    ## Example
    ```python
    from lxml import etree
    def import_manifest(request):
        return etree.fromstring(request.body)
    ```

    ## Safe alternative
    ```python
    from lxml import etree
    PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
    def import_manifest(request):
        return etree.fromstring(request.body, parser=PARSER)
    ```
    Or parse with `defusedxml.ElementTree`, which refuses entity declarations altogether.

    ## References
    - https://cwe.mitre.org/data/definitions/611.html
    - https://docs.python.org/3/library/xml.html#xml-vulnerabilities
    - https://lxml.de/FAQ.html#how-do-i-use-lxml-safely-as-a-web-service-endpoint
    """

    id = "SR203"
    name = "xml-external-entities"
    cwe = 611
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Parse untrusted XML with `defusedxml`, or give lxml a parser built with "
           "`resolve_entities=False, no_network=True`.")
    calls = tuple(_XML)
    # ``setFeature`` on SAX parsers; the others for ``parser.parse(f)`` where ``parser`` may be one
    # of several modules (FileContext.check_resolved)
    methods = ("setFeature", *sorted({name.rpartition(".")[2] for name in _XML if "()" not in name}))

    _STDLIB_FIX = "Parse untrusted XML with `defusedxml` (`defusedxml.ElementTree`, `defusedxml.minidom`, ...)."
    _LXML_FIX = ("Build the lxml parser with `etree.XMLParser(resolve_entities=False, no_network=True)` and pass "
                 "it to every parse call, or use `defusedxml.lxml`.")

    def __init__(self) -> None:
        self._defused: tuple[FileContext | None, bool] = (None, False)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if isinstance(call.func, ast.Attribute) and call.func.attr == "setFeature" and qualname not in _XML:
            self._check_feature(ctx, call)
            return
        ctx.check_resolved(call, qualname, _XML, lambda name: self._check(ctx, call, name))

    def _check(self, ctx: FileContext, call: ast.Call, qualname: str) -> None:
        family, data_kind, position, keyword, parser_position = _XML[qualname]
        func = _label(ctx, call, qualname)
        if family == "stdlib" and self._stdlib_defused(ctx):
            return
        if family == "lxml":
            self._check_lxml(ctx, call, qualname, func, data_kind, position, keyword, parser_position)
            return
        # the standard library: expat expands internal entities
        risk = ("expat expands the entities a document declares, so a few hundred bytes of nested "
                "definitions (\"billion laughs\") can exhaust memory with expat older than 2.4.1. External "
                "entities are not fetched")
        if data_kind is None:
            ctx.report(self, call,
                       f"{func} builds an expat-based XML parser; {risk}.",
                       severity=Level.MEDIUM, confidence=Level.MEDIUM, fix=self._STDLIB_FIX)
            return
        if qualname.endswith(".ElementTree"):
            if not call.args[1:] and ctx.keyword(call, "file") is None:
                return  # an ElementTree wrapped around an element: nothing is parsed
        data = ctx.argument(call, position, keyword)
        if data is None or self._own_document(ctx, data, data_kind):
            return
        if self._custom_parser(ctx, call, parser_position):
            return
        fixed = data_kind == "source" and (_fixed_path(ctx, data) or _fixed_file(ctx, data))
        ctx.report(self, call,
                   f"{func} parses {_shown(ctx, data)} with the standard library's XML parser; {risk}.",
                   severity=Level.MEDIUM, confidence=Level.LOW if fixed else Level.MEDIUM, fix=self._STDLIB_FIX)

    def _check_lxml(self, ctx: FileContext, call: ast.Call, qualname: str, func: str, data_kind: str | None,
                    position: int | None, keyword: str | None, parser_position: int | None) -> None:
        if data_kind is None or qualname == "lxml.etree.iterparse":
            verdict = self._entity_option(ctx, call)
            if verdict is None:
                return
            confidence, how = verdict
            if data_kind is None:
                ctx.report(self, call,
                           f"{func} builds an lxml parser {how}; documents parsed with it can pull in files "
                           "or URLs through `<!ENTITY x SYSTEM ...>` declarations (XXE).",
                           confidence=confidence, fix=self._LXML_FIX)
                return
        else:
            if self._custom_parser(ctx, call, parser_position):
                return
            # lxml 5.0 and later no longer resolve external entities by default, and the data-flow
            # rule SR135 reports untrusted data reaching this parser: what is left is a note on
            # older lxml versions (measured on Nova: libvirt's own XML, never an attacker's).
            confidence, how = Level.LOW, ("with lxml's default parser, which before lxml 5.0 resolves "
                                          "external entities")
        data = ctx.argument(call, position, keyword)
        if data is None or self._own_document(ctx, data, data_kind):
            return
        if data_kind == "source" and (_fixed_path(ctx, data) or _fixed_file(ctx, data)):
            confidence = Level.LOW
        ctx.report(self, call,
                   f"{func} parses {_shown(ctx, data)} {how}: a document declaring "
                   "`<!ENTITY x SYSTEM \"file:///...\">` gets that file's content, or a URL's, into the tree (XXE).",
                   severity=Level.MEDIUM if confidence is Level.LOW else None,
                   confidence=confidence, fix=self._LXML_FIX)

    @staticmethod
    def _own_document(ctx: FileContext, data: ast.AST, data_kind: str) -> bool:
        """True for a document written in the code, or serialised from a tree this process built
        (the ``minidom.parseString(ET.tostring(root)).toprettyxml()`` idiom)."""
        if data_kind != "text":
            return False
        return _constant_data(ctx, data) or ctx.passes_through(data, _XML_SERIALISERS)

    def _entity_option(self, ctx: FileContext, call: ast.Call) -> tuple[Level, str] | None:
        """How a parser constructor (or lxml ``iterparse``) sets ``resolve_entities``: None when
        entities are not resolved (or the keywords are unpacked from a variable)."""
        option = ctx.keyword(call, "resolve_entities")
        if option is None:
            if ctx.has_kwargs_splat(call):
                return None
            return Level.MEDIUM, "without `resolve_entities=False` (before lxml 5.0 the default resolves them)"
        value = ctx.literal(option)
        if value is False or value == 0 or value == "internal":
            return None
        if value is True:
            return Level.HIGH, "with `resolve_entities=True`"
        if value is NOT_CONSTANT:
            return Level.MEDIUM, f"with `resolve_entities={ctx.text(option, 30)}`, which may be true"
        return Level.HIGH, f"with `resolve_entities={ctx.text(option, 30)}`"

    def _custom_parser(self, ctx: FileContext, call: ast.Call, position: int | None) -> bool:
        """True when the call is given a parser other than the default. A parser built in this
        file is reported where it is built; one from elsewhere (an attribute, a parameter) was
        configured where it was made."""
        if position is None:
            return False
        parser = ctx.argument(call, position, "parser")
        if parser is None or ctx.literal(parser) is None:
            return False
        return True

    def _check_feature(self, ctx: FileContext, call: ast.Call) -> None:
        if len(call.args) < 2:
            return
        feature, state = call.args[0], call.args[1]
        if ctx.qualname(feature) not in _EXTERNAL_FEATURES and ctx.literal(feature) not in _EXTERNAL_FEATURE_URIS:
            return
        if not ctx.is_true(state):
            return
        receiver = ctx.text(call.func.value, 40) if isinstance(call.func, ast.Attribute) else "the parser"
        ctx.report(self, call,
                   f"`{receiver}.setFeature({ctx.text(feature, 40)}, True)` turns on external entities: the SAX "
                   "parser then opens the files and URLs a document's `SYSTEM` declarations name (XXE).",
                   fix="Leave the SAX external-entity features off, or parse with `defusedxml.sax`.")

    def _stdlib_defused(self, ctx: FileContext) -> bool:
        """True when the module calls ``defusedxml.defuse_stdlib()``, which patches the standard
        library parsers. Computed once per file from the calls the index collected."""
        cached_ctx, value = self._defused
        if cached_ctx is ctx:
            return value
        value = any(ctx.qualname(c.func) == "defusedxml.defuse_stdlib" for c in ctx.index.of_type(ast.Call))
        self._defused = (ctx, value)
        return value
