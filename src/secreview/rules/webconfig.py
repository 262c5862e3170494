"""Web framework settings that switch protections off: Flask's interactive debugger, Jinja2
templates without HTML escaping, and Django values marked safe without escaping."""

from __future__ import annotations

import ast

from secreview.model import Level
from secreview.rules.base import NOT_CONSTANT, FileContext, Rule
from secreview.rules.registry import register
from secreview.rules.transport import assigned_attributes

# ---------------------------------------------------------------------------- SR604

_FLASK_APPS = frozenset({"flask.Flask()", "flask.current_app", "flask.app.Flask()"})
_APP_NAMES = frozenset({"app", "application", "flask_app", "wsgi_app"})
# Frameworks whose ``app.run(debug=True)`` does not start the Werkzeug debugger.
_OTHER_ROOTS = frozenset({"sanic", "bottle", "quart", "aiohttp", "tornado", "fastapi", "starlette", "falcon",
                          "cherrypy", "pyramid", "django", "uvicorn", "gunicorn", "asyncio", "trio", "anyio",
                          "subprocess", "typer", "click", "celery", "dramatiq"})


def _flask_app(ctx: FileContext, expr: ast.AST | None) -> Level | None:
    """How sure we are that ``expr`` is a Flask application: HIGH when it resolves to
    ``flask.Flask()``, MEDIUM when it does not resolve but is named like one, else None."""
    if expr is None:
        return None
    qualname = ctx.qualname(expr)
    if qualname in _FLASK_APPS:
        return Level.HIGH
    if qualname is not None and qualname.split(".")[0].rstrip("()") in _OTHER_ROOTS | {"flask", "werkzeug"}:
        return None  # something else from a known library (flask.Blueprint(), sanic.Sanic(), ...)
    if qualname is not None and qualname.startswith("builtins."):
        return None
    name = expr.id if isinstance(expr, ast.Name) else expr.attr if isinstance(expr, ast.Attribute) else None
    if name in _APP_NAMES:
        return Level.MEDIUM
    return None


def _debug_target(target: ast.AST) -> bool:
    """``x.debug`` or ``x.config[...]``: the assignment targets FlaskDebugMode.check_node looks at."""
    if isinstance(target, ast.Attribute):
        return target.attr == "debug"
    return isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute) \
        and target.value.attr == "config"


def _dict_key_true(ctx: FileContext, expr: ast.AST | None, key: str) -> ast.expr | None:
    """The value stored under the constant ``key`` in a dict display, when it is constant true."""
    if not isinstance(expr, ast.Dict):
        return None
    for k, v in zip(expr.keys, expr.values):
        if k is not None and ctx.literal(k) == key and ctx.is_true(v):
            return v
    return None


@register
class FlaskDebugMode(Rule):
    """Flask application run with the Werkzeug debugger enabled.

    ## What it finds
    `app.run(debug=True)` (or `use_debugger=True`) on an object that resolves to `flask.Flask()`,
    `app.debug = True`, `app.config["DEBUG"] = True`, `app.config.update(DEBUG=True)` and
    `app.config.from_mapping(DEBUG=True)`, and `werkzeug.serving.run_simple(...,
    use_debugger=True)`. When the receiver does not resolve but is named `app` or `application`
    the finding has medium confidence. Values that are not constant (`debug=os.environ.get(...)`,
    `debug=CONF.debug`), `debug=False` and a plain `app.run()` are not reported, nor are the
    `run` methods of other frameworks (Sanic, Bottle, Quart, aiohttp) when their objects resolve.

    ## Why it is dangerous
    In debug mode an unhandled exception renders the Werkzeug debugger, whose traceback frames
    contain an interactive Python console. Whoever can reach the server and trigger an error can
    run arbitrary code as the service user; the PIN that guards the console is derived from
    machine details that are often guessable or readable through another bug. Debug mode also
    turns on the reloader and detailed error pages that expose source and settings.

    ## Example
    ```python
    from flask import Flask
    app = Flask(__name__)

    if __name__ == "__main__":
        app.run(host="0.0.0.0", debug=True)
    ```

    ## Safe alternative
    ```python
    import os
    from flask import Flask
    app = Flask(__name__)

    if __name__ == "__main__":
        # development only, off unless explicitly requested; production uses gunicorn/uwsgi
        app.run(debug=os.environ.get("FLASK_DEBUG") == "1")
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/489.html
    - https://flask.palletsprojects.com/en/latest/debugging/
    - https://werkzeug.palletsprojects.com/en/latest/debug/
    """

    id = "SR604"
    name = "flask-debug-mode"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 489
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Do not enable debug mode in code: leave `debug` off (or read it from configuration that "
           "defaults to off) and serve the app with a production WSGI server such as gunicorn.")
    calls = ("werkzeug.serving.run_simple", "werkzeug.run_simple")
    methods = ("run", "update", "from_mapping")
    nodes = (ast.Assign,)

    _CONSEQUENCE = ("Werkzeug's debugger then shows an interactive Python console on error pages, so whoever "
                    "reaches the server and triggers an exception can run code as the service user.")

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname in ("werkzeug.serving.run_simple", "werkzeug.run_simple"):
            flag = ctx.argument(call, 4, "use_debugger")
            if flag is not None and ctx.is_true(flag):
                ctx.report(self, call,
                           f"`{qualname}` is called with `use_debugger={ctx.text(flag, 20)}`. " + self._CONSEQUENCE)
            return
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        if func.attr == "run":
            sure = _flask_app(ctx, func.value)
            if sure is None:
                return
            for position, keyword in ((2, "debug"), (None, "use_debugger")):
                flag = ctx.argument(call, position, keyword)
                if flag is not None and ctx.is_true(flag):
                    ctx.report(self, call,
                               f"`{ctx.text(func)}` starts the Flask development server with "
                               f"`{keyword}={ctx.text(flag, 20)}`. " + self._CONSEQUENCE,
                               confidence=sure)
                    return
            return
        # app.config.update(DEBUG=True) / app.config.from_mapping({"DEBUG": True})
        config = func.value
        if not (isinstance(config, ast.Attribute) and config.attr == "config"):
            return
        sure = _flask_app(ctx, config.value)
        if sure is None:
            return
        flag = ctx.keyword(call, "DEBUG")
        if flag is None or not ctx.is_true(flag):
            flag = _dict_key_true(ctx, ctx.argument(call, 0), "DEBUG")
        if flag is None or not ctx.is_true(flag):
            return
        ctx.report(self, call,
                   f"`{ctx.text(func)}` sets `DEBUG` to `{ctx.text(flag, 20)}` in the Flask configuration. "
                   + self._CONSEQUENCE, confidence=sure)

    def select(self, ctx: FileContext, node_type: type, nodes: list[ast.AST]) -> list[ast.AST]:
        # check_node's first test, inlined: a target ``x.debug`` or ``x.config[...]``; most files
        # have neither, which the file's assigned attributes tell at once
        attrs, subscripted = assigned_attributes(ctx, nodes)
        if "debug" not in attrs and "config" not in subscripted:
            return []
        Attribute = ast.Attribute
        return [node for node in nodes if any([
            target.attr == "debug" if type(target) is Attribute
            else type(target) is ast.Subscript and type(target.value) is Attribute and target.value.attr == "config"
            for target in node.targets])]

    def check_node(self, ctx: FileContext, node: ast.AST) -> None:
        assert isinstance(node, ast.Assign)
        # the targets' shape first: it rules out nearly every assignment more cheaply than is_true
        for target in node.targets:
            if _debug_target(target):
                break
        else:
            return
        if not ctx.is_true(node.value):
            return
        for target in node.targets:
            sure = None
            if isinstance(target, ast.Attribute) and target.attr == "debug":
                sure = _flask_app(ctx, target.value)
            elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute) \
                    and target.value.attr == "config" and ctx.literal(target.slice) == "DEBUG":
                sure = _flask_app(ctx, target.value.value)
            if sure is not None:
                ctx.report(self, node,
                           f"`{ctx.text(target)} = {ctx.text(node.value, 20)}` turns on Flask debug mode. "
                           + self._CONSEQUENCE, confidence=sure)
                return


# ---------------------------------------------------------------------------- SR605

_JINJA_FACTORIES = frozenset({"jinja2.Environment", "jinja2.Template", "jinja2.environment.Environment",
                              "jinja2.environment.Template", "jinja2.sandbox.SandboxedEnvironment"})
_AUTOESCAPE_POLICIES = frozenset({"jinja2.select_autoescape", "jinja2.utils.select_autoescape"})
_MARK_SAFE = frozenset({"django.utils.safestring.mark_safe", "django.utils.html.mark_safe"})
_ESCAPED = frozenset({"django.utils.html.escape", "django.utils.html.conditional_escape",
                      "django.utils.html.format_html", "django.utils.html.format_html_join",
                      "django.utils.html.escapejs", "django.utils.html.json_script", "django.utils.html.strip_tags",
                      "django.template.loader.render_to_string", "django.template.defaultfilters.escape",
                      "html.escape", "markupsafe.escape", "jinja2.escape", "bleach.clean",
                      "builtins.int", "builtins.float", "builtins.len"})


def _is_function(ctx: FileContext, expr: ast.AST) -> bool:
    """True for a lambda, a name bound to a def (or an imported lowercase name), or ``self.m``
    where the enclosing class defines a method ``m``: a callable autoescape policy."""
    if isinstance(expr, ast.Lambda):
        return True
    if isinstance(expr, ast.Name):
        binding = ctx.binding(expr)
        if binding is None:
            return False
        if binding.kind == "def":
            return True
        return binding.kind == "import" and not expr.id.isupper()
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls"):
        owner = ctx.index.class_of(expr)
        if owner is not None:
            return any(isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == expr.attr
                       for stmt in owner.body)
    return False


@register
class Jinja2AutoescapeOff(Rule):
    """HTML produced from templates or values without escaping.

    ## What it finds
    `jinja2.Environment(...)`, `jinja2.Template(...)` and `SandboxedEnvironment(...)` created
    without an `autoescape` argument (Jinja2's default is off) or with a constant false one. An
    `autoescape` value that is a variable is reported with medium confidence. `autoescape=True`,
    `autoescape=select_autoescape(...)` or a function deciding per template is not reported,
    nor is a call that passes `**options`, nor a `Template` whose constant source contains no
    `<` (it does not produce markup).

    It also finds Django's `mark_safe` applied to a value that is not constant (medium severity
    and confidence). A constant string, or one whose every interpolated value went through
    `escape`, `conditional_escape`, `format_html` or `render_to_string`, is not reported.

    ## Why it is dangerous
    Without escaping, a value rendered into a page is markup: a user name like
    `<script>fetch("/api/keys").then(...)</script>` runs in the browser of everyone who views
    the page, with their session. `mark_safe` tells Django the string is already escaped, so the
    template engine passes it through untouched.

    ## Example
    ```python
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader("templates"))

    def render_profile(user):
        return env.get_template("profile.html").render(name=user.display_name)
    ```

    ## Safe alternative
    ```python
    import jinja2
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader("templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
    )
    ```
    In Django, build HTML from values with `format_html("<b>{}</b>", value)` instead of
    `mark_safe`.

    ## References
    - https://cwe.mitre.org/data/definitions/79.html
    - https://jinja.palletsprojects.com/en/latest/api/#autoescaping
    - https://docs.djangoproject.com/en/stable/ref/utils/#django.utils.safestring.mark_safe
    """

    id = "SR605"
    name = "jinja2-autoescape-off"
    hygiene = True  # weak practice rather than a reachable flow: see secreview.policy
    cwe = 79
    severity = Level.HIGH
    confidence = Level.HIGH
    fix = ("Create Jinja2 environments with `autoescape=select_autoescape([\"html\", \"xml\"])` (or "
           "`autoescape=True`), and build Django HTML with `format_html` rather than `mark_safe`.")
    calls = tuple(_JINJA_FACTORIES) + tuple(_MARK_SAFE)

    def check_call(self, ctx: FileContext, call: ast.Call, qualname: str | None) -> None:
        if qualname in _MARK_SAFE:
            self._check_mark_safe(ctx, call, qualname)
            return
        func = (qualname or "").replace("jinja2.environment.", "jinja2.")
        value = ctx.keyword(call, "autoescape")
        if value is None:
            if ctx.has_kwargs_splat(call):
                return
            if qualname and qualname.endswith("Template"):
                source = ctx.literal(ctx.argument(call, 0, "source"))
                if isinstance(source, str) and "<" not in source:
                    return  # a plain-text template
            ctx.report(self, call,
                       f"`{func}` is created without `autoescape`, and Jinja2 does not escape by default: "
                       "every `{{ value }}` rendered through it is inserted into the HTML as markup.")
            return
        literal = ctx.literal(value)
        if literal is not NOT_CONSTANT:
            if literal:
                return
            ctx.report(self, call,
                       f"`{func}` is created with `autoescape={ctx.text(value, 30)}`: every `{{{{ value }}}}` rendered "
                       "through it is inserted into the HTML as markup, so a value holding `<script>` runs in "
                       "the viewer's browser.")
            return
        if ctx.passes_through(value, _AUTOESCAPE_POLICIES) or _is_function(ctx, value):
            return
        ctx.report(self, call,
                   f"`{func}` takes `autoescape={ctx.text(value, 30)}`, which is not constant; where it is false, "
                   "values rendered through the templates are inserted into the HTML unescaped.",
                   confidence=Level.MEDIUM)

    def _check_mark_safe(self, ctx: FileContext, call: ast.Call, qualname: str) -> None:
        value = ctx.argument(call, 0, "s")
        if value is None:
            return
        consts, dynamic = ctx.string_parts(value)
        unsafe = [d for d in dynamic if not ctx.passes_through(d, _ESCAPED)]
        if not unsafe:
            return
        if len(unsafe) == 1 and unsafe[0] is value:
            what = f"`{ctx.text(call, 50)}` marks `{ctx.text(value, 40)}`, which is not constant,"
        else:
            names = ", ".join(f"`{ctx.text(d, 30)}`" for d in unsafe[:3])
            what = f"`{ctx.text(call, 50)}` marks a string built from {names}"
        ctx.report(self, call,
                   f"{what} as already-escaped HTML, so Django's templates insert it without escaping; any "
                   "markup in that value reaches the page.",
                   severity=Level.MEDIUM, confidence=Level.MEDIUM,
                   fix="Build the HTML with `django.utils.html.format_html(...)`, which escapes each value, or "
                       "escape the values with `conditional_escape` before calling `mark_safe`.")
