"""Data-flow rules: untrusted data (a request, argv, the environment, a socket) reaching a sink.

The analysis lives in ``secreview.taint``; its sources, sinks and sanitizers are data in
``taint/specs/*.toml``. Each class here documents one (source x sink kind) rule and says how a
flow of that kind is reported. Severity comes from the sink; confidence from the source (a file
or database value is a lower-confidence kind) and from how the value travelled (through a call
secreview knows nothing about lowers it).
"""

from __future__ import annotations

from typing import ClassVar

from secreview.model import Level
from secreview.rules.base import Rule
from secreview.rules.registry import register


class FlowRule(Rule):
    sink_kind: ClassVar[str]
    impact: ClassVar[str]  # what the attacker gets, in one sentence


@register
class TaintedShellCommand(FlowRule):
    """Untrusted data reaches a shell command or the program a process runs.

    ## What it finds
    A value from a request, the command line, the environment or the network that reaches
    `os.system`, `os.popen`, `subprocess.*` with `shell=True` (the whole command) or the program
    of a process (`subprocess.run([program, ...])`, `os.exec*`), without passing through
    `shlex.quote`, a numeric conversion or an allow-list check.

    ## Why it is dangerous
    The shell parses `;`, `|`, `$(...)` and backticks in the data, so the sender runs commands of
    their own; choosing the program is the same power without the shell.

    ## Example
    ```python
    from flask import request
    import subprocess
    @app.route("/ping")
    def ping():
        subprocess.run("ping -c 1 " + request.args["host"], shell=True)
    ```

    ## Safe alternative
    ```python
    @app.route("/ping")
    def ping():
        subprocess.run(["ping", "-c", "1", request.args["host"]], check=True)
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/78.html
    """

    id = "SR111"
    name = "tainted-shell-command"
    cwe = 78
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "shell"
    impact = "Shell metacharacters in it run commands of the sender's choosing with this process's privileges."
    fix = "Pass an argument list without a shell, or quote the value with `shlex.quote`; run only allow-listed programs."


@register
class TaintedCodeEvaluation(FlowRule):
    """Untrusted data reaches `eval`, `exec` or `compile`.

    ## What it finds
    A value from outside the process that becomes Python code through `eval`, `exec` or `compile`.

    ## Why it is dangerous
    The sender's text runs as Python in this process: files, credentials and the host are theirs.

    ## Example
    ```python
    import sys
    print(eval(sys.argv[1]))
    ```

    ## Safe alternative
    ```python
    import ast, sys
    print(ast.literal_eval(sys.argv[1]))
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/95.html
    """

    id = "SR112"
    name = "tainted-code-evaluation"
    cwe = 95
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "code"
    impact = "The data runs as Python code in this process."
    fix = "Parse data with `ast.literal_eval` or `json.loads`; map allowed names to functions with a dict."


@register
class TaintedSql(FlowRule):
    """Untrusted data reaches the text of an SQL statement.

    ## What it finds
    A value from outside that becomes part of the query string given to `execute`,
    `executemany`, `raw`, `text()` and similar, rather than a bound parameter.

    ## Why it is dangerous
    A quote in the value ends the SQL literal; the rest is SQL of the sender's choosing.

    ## Example
    ```python
    def show(req, cursor):
        cursor.execute("SELECT * FROM vms WHERE name = '%s'" % req.GET["name"])
    ```

    ## Safe alternative
    ```python
    def show(req, cursor):
        cursor.execute("SELECT * FROM vms WHERE name = %s", (req.GET["name"],))
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/89.html
    """

    id = "SR113"
    name = "tainted-sql"
    cwe = 89
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "sql"
    impact = "A quote in it rewrites the statement: other rows and tables can be read or changed."
    fix = "Keep the SQL text constant and pass the value as a bound parameter."


@register
class TaintedLdapFilter(FlowRule):
    """Untrusted data reaches an LDAP search filter.

    ## What it finds
    A value from outside inside the filter of `search_s`, `search_ext_s` (python-ldap) or
    `Connection.search` (ldap3) without `escape_filter_chars`.

    ## Why it is dangerous
    `*`, `(`, `)` and `|` in the value change the filter: a login check can match any user.

    ## Example
    ```python
    conn.search_s(BASE, ldap.SCOPE_SUBTREE, "(uid=%s)" % request.form["user"])
    ```

    ## Safe alternative
    ```python
    from ldap.filter import escape_filter_chars
    conn.search_s(BASE, ldap.SCOPE_SUBTREE, "(uid=%s)" % escape_filter_chars(request.form["user"]))
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/90.html
    """

    id = "SR114"
    name = "tainted-ldap-filter"
    cwe = 90
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "ldap"
    impact = "Filter metacharacters in it change which directory entries match."
    fix = "Escape the value with `ldap.filter.escape_filter_chars` (or ldap3's `escape_filter_chars`)."


@register
class TaintedXpath(FlowRule):
    """Untrusted data reaches an XPath expression.

    ## What it finds
    A value from outside inside the expression given to `xpath()` or `etree.XPath`.

    ## Why it is dangerous
    Quotes and predicates in the value change the query: other nodes of the document are returned.

    ## Example
    ```python
    tree.xpath("//user[@name='%s']" % request.args["name"])
    ```

    ## Safe alternative
    ```python
    tree.xpath("//user[@name=$name]", name=request.args["name"])
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/643.html
    """

    id = "SR115"
    name = "tainted-xpath"
    cwe = 643
    severity = Level.MEDIUM
    confidence = Level.HIGH
    sink_kind = "xpath"
    impact = "Quotes and predicates in it change what the query selects."
    fix = "Use XPath variables (`tree.xpath(\"//x[@a=$v]\", v=value)`) instead of formatting the value in."


@register
class TaintedHeader(FlowRule):
    """Untrusted data reaches an HTTP response header or cookie value.

    ## What it finds
    A value from outside set as a response header (`response.headers[...] = value`,
    `send_header`) or cookie value (`set_cookie(name, value)`).

    ## Why it is dangerous
    A carriage return and line feed in the value add headers of the sender's choosing (response
    splitting, cookie fixation) where the framework does not reject them.

    ## Example
    ```python
    response.headers["X-Next"] = request.args["next"]
    ```

    ## Safe alternative
    ```python
    value = request.args["next"]
    if "\\r" in value or "\\n" in value:
        abort(400)
    response.headers["X-Next"] = value
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/113.html
    """

    id = "SR116"
    name = "tainted-header"
    cwe = 113
    severity = Level.MEDIUM
    confidence = Level.MEDIUM
    sink_kind = "header"
    impact = "Line breaks in it can add response headers of the sender's choosing."
    fix = "Reject values containing `\\r` or `\\n`, or encode them (`urllib.parse.quote`)."


@register
class TaintedLog(FlowRule):
    """Untrusted data is written to a log unneutralised.

    ## What it finds
    A value from outside passed to a logging call as the message or an argument.

    ## Why it is dangerous
    Line breaks in the value forge log entries that an operator or a log pipeline will trust.

    ## Example
    ```python
    LOG.info("login failed for %s", request.form["user"])
    ```

    ## Safe alternative
    ```python
    LOG.info("login failed for %r", request.form["user"])   # repr escapes line breaks
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/117.html
    """

    id = "SR117"
    name = "tainted-log"
    cwe = 117
    severity = Level.LOW
    confidence = Level.MEDIUM
    sink_kind = "log"
    impact = "Line breaks in it can forge log entries."
    fix = "Log the value with `%r` or strip `\\r` and `\\n` first."


@register
class TaintedRegex(FlowRule):
    """Untrusted data is compiled as a regular expression.

    ## What it finds
    A value from outside used as the pattern of `re.compile`, `re.match`, `re.search` and
    friends, without `re.escape`.

    ## Why it is dangerous
    The sender writes the pattern: a nested quantifier makes matching take exponential time and
    ties up the worker (ReDoS).

    ## Example
    ```python
    re.search(request.args["q"], text)
    ```

    ## Safe alternative
    ```python
    re.search(re.escape(request.args["q"]), text)
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/1333.html
    """

    id = "SR118"
    name = "tainted-regex"
    cwe = 1333
    severity = Level.MEDIUM
    confidence = Level.HIGH
    sink_kind = "regex"
    impact = "A pattern of the sender's choosing can take exponential time to match."
    fix = "Escape the value with `re.escape`, or search for it as plain text."


@register
class TaintedHtml(FlowRule):
    """Untrusted data is written into an HTML response unescaped.

    ## What it finds
    A value from outside returned as the body of a Flask view, passed to `make_response`,
    `HttpResponse` (unless a literal `content_type` says it is not HTML), `HTMLResponse`,
    `Markup`, `mark_safe` or a Tornado handler's `write`, without `html.escape` /
    `markupsafe.escape` / `bleach.clean` or a numeric conversion.

    It also finds HTML markup written in the code and formatted with request data: a literal
    that contains an HTML tag (`<a href=`, `<div>`, `</td>`, `<br>`) combined with the value by
    `%`, `.format`, an f-string, `+` or `.join`, also inside a translation call
    (`_("<a href='%s'>undo</a>") % url`). The result is HTML with the value unescaped wherever it
    goes next (a Django message or Flask `flash`, a JSON field the page inserts, another layer),
    so the finding sits at the formatting expression, with medium confidence (a template might
    still escape the string). When the same string reaches one of the HTML sinks above, only that
    sink is reported. Prose with `<` comparisons, XML documents and SQL are not markup: the
    literal must contain a tag that only HTML uses, and no tag HTML does not have. Storing plain
    request text in a message (`messages.info(request, name)`) is not reported: templates escape
    messages.

    ## Why it is dangerous
    Markup in the value runs as script in the victim's browser, with their session (XSS).

    ## Example
    ```python
    @app.route("/hello")
    def hello():
        return "<h1>Hello " + request.args["name"] + "</h1>"

    def rename(request):
        messages.info(request, "Renamed to <b>{}</b>".format(request.POST["name"]))
    ```

    ## Safe alternative
    ```python
    from markupsafe import escape
    @app.route("/hello")
    def hello():
        return "<h1>Hello " + escape(request.args["name"]) + "</h1>"

    def rename(request):
        messages.info(request, format_html("Renamed to <b>{}</b>", request.POST["name"]))
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/79.html
    """

    id = "SR121"
    name = "tainted-html"
    cwe = 79
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "html"
    impact = "Markup in it runs as script in the visitor's browser."
    fix = "Escape the value (`markupsafe.escape`, `html.escape`) or render it through an autoescaping template."


@register
class TaintedTemplate(FlowRule):
    """Untrusted data is compiled as a template.

    ## What it finds
    A value from outside used as the source of `render_template_string`, `jinja2.Template`,
    `Environment.from_string` or Django's `Template`.

    ## Why it is dangerous
    Template syntax in the value runs in the template engine: with Jinja2 that reaches Python
    objects and so code execution (server-side template injection).

    ## Example
    ```python
    return render_template_string("Hello " + request.args["name"])
    ```

    ## Safe alternative
    ```python
    return render_template_string("Hello {{ name }}", name=request.args["name"])
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/94.html
    """

    id = "SR122"
    name = "tainted-template"
    cwe = 94
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "template"
    impact = "Template syntax in it is evaluated by the engine, which reaches Python objects."
    fix = "Keep the template constant and pass the value as a variable to render."


@register
class TaintedPath(FlowRule):
    """Untrusted data chooses a file path.

    ## What it finds
    A value from outside used as a path to open, read, write, delete, copy or send (`open`,
    `os.remove`, `shutil.*`, `send_file`, `FileResponse`, Twisted's `static.File`, and the
    `pathlib` methods `read_text`, `write_bytes`, `unlink`, ... on `Path(value)` or
    `base / value`), without `os.path.basename` / `secure_filename` or a containment check of
    the normalised path (`realpath(p).startswith(base)`, `os.path.commonpath([base, p]) == base`,
    `Path(p).resolve().is_relative_to(base)`, `os.path.basename(name) == name`).

    With medium severity it also finds paths from a request that are only probed or listed:
    `os.path.exists` / `isfile` / `isdir` / `getsize` / `getmtime`, `os.stat`, `os.access`,
    `Path(p).exists()` / `is_file()` / `stat()`, and `os.listdir`, `os.scandir`, `os.walk`,
    `glob.glob`, `Path(p).iterdir()` / `glob()`. A probe is reported only for data that reached it
    by known steps, not through a helper secreview knows nothing about.

    ## Why it is dangerous
    `../` sequences or an absolute path reach files outside the intended folder: configuration,
    keys, other tenants' data. A probe or a listing does not hand over the contents, but tells
    the sender which files exist there (installed software, user names, other tenants' uploads),
    which is the map for the next attack.

    ## Example
    ```python
    @app.route("/logs/<name>")
    def log(name):
        return open(os.path.join(LOG_DIR, name)).read()
    ```

    ## Safe alternative
    ```python
    @app.route("/logs/<name>")
    def log(name):
        path = os.path.realpath(os.path.join(LOG_DIR, name))
        if not path.startswith(LOG_DIR + os.sep):
            abort(404)
        return open(path).read()
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/22.html
    """

    id = "SR131"
    name = "tainted-path"
    cwe = 22
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "path"
    impact = "`../` or an absolute path in it reaches files outside the intended folder."
    fix = ("Reduce the value to a base name (`os.path.basename`, `secure_filename`), or resolve the path and "
           "check that it stays inside the intended folder.")


@register
class TaintedUrl(FlowRule):
    """Untrusted data chooses the URL of an outbound request (SSRF).

    ## What it finds
    A value from outside used as the URL (or host) of `requests`, `httpx`, `urllib` or
    `http.client` calls, without a check of its host against an allow-list.

    ## Why it is dangerous
    The server fetches what the sender names: internal services, cloud metadata endpoints
    (`169.254.169.254`) and admin interfaces behind the firewall.

    ## Example
    ```python
    requests.get(request.args["callback"], timeout=5)
    ```

    ## Safe alternative
    ```python
    url = request.args["callback"]
    if urllib.parse.urlparse(url).hostname not in ALLOWED_HOSTS:
        abort(400)
    requests.get(url, timeout=5)
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/918.html
    """

    id = "SR132"
    name = "tainted-url"
    cwe = 918
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "url"
    impact = "The server can be made to call internal services or metadata endpoints."
    fix = "Check the URL's scheme and host against an allow-list before requesting it."


@register
class TaintedRedirect(FlowRule):
    """Untrusted data chooses a redirect target (open redirect).

    ## What it finds
    A value from outside used as the location of `redirect`, `HttpResponseRedirect`,
    `RedirectResponse` or `HTTPFound`, without a host check or `url_has_allowed_host_and_scheme`.

    ## Why it is dangerous
    A link on the trusted site sends visitors to a page of the sender's choosing: phishing, token
    theft through OAuth redirects.

    ## Example
    ```python
    return redirect(request.args["next"])
    ```

    ## Safe alternative
    ```python
    target = request.args.get("next", "/")
    if urllib.parse.urlparse(target).netloc not in ("", "example.org"):
        target = "/"
    return redirect(target)
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/601.html
    """

    id = "SR133"
    name = "tainted-redirect"
    cwe = 601
    severity = Level.MEDIUM
    confidence = Level.HIGH
    sink_kind = "redirect"
    impact = "Visitors can be sent to a site of the sender's choosing from a trusted link."
    fix = "Redirect only to relative paths or allow-listed hosts (`url_has_allowed_host_and_scheme`)."


@register
class TaintedDeserialization(FlowRule):
    """Untrusted data is deserialised with a format that can run code.

    ## What it finds
    A value from outside passed to `pickle`, `marshal`, `shelve`, `dill`, `jsonpickle` or
    `yaml.load` without a safe loader.

    ## Why it is dangerous
    These formats rebuild arbitrary objects; a crafted payload runs code while it is loaded.

    ## Example
    ```python
    state = pickle.loads(base64.b64decode(request.cookies["state"]))
    ```

    ## Safe alternative
    ```python
    state = json.loads(base64.b64decode(request.cookies["state"]))
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/502.html
    """

    id = "SR134"
    name = "tainted-deserialization"
    cwe = 502
    severity = Level.HIGH
    confidence = Level.HIGH
    sink_kind = "deserialize"
    impact = "A crafted payload runs code while it is being loaded."
    fix = "Use a data-only format (`json`, `yaml.safe_load`) for anything that crosses a trust boundary."


@register
class TaintedXml(FlowRule):
    """Untrusted data is parsed by an XML parser that expands entities.

    ## What it finds
    A value from outside parsed by `xml.etree`, `minidom`, `sax` or `lxml` without a hardened
    parser (`defusedxml`, or lxml with `resolve_entities=False`).

    ## Why it is dangerous
    Entity declarations in the document expand exponentially (billion laughs) or, with lxml,
    read local files and reach internal URLs (XXE).

    ## Example
    ```python
    root = lxml.etree.fromstring(request.data)
    ```

    ## Safe alternative
    ```python
    import defusedxml.ElementTree
    root = defusedxml.ElementTree.fromstring(request.data)
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/611.html
    """

    id = "SR135"
    name = "tainted-xml"
    cwe = 611
    severity = Level.HIGH
    confidence = Level.MEDIUM
    sink_kind = "xml"
    impact = "Entity declarations in it can exhaust memory or, with lxml, read local files."
    fix = "Parse with `defusedxml`, or with an lxml parser built with `resolve_entities=False`."


@register
class TaintedSessionStore(FlowRule):
    """Untrusted data is stored in the session (a trust-boundary violation).

    ## What it finds
    A value from a request stored in `session[...]` without validation.

    ## Why it is dangerous
    Code that later reads the session trusts it as the server's own state: a user-chosen role
    or user id stored there becomes an authorisation decision.

    ## Example
    ```python
    session["role"] = request.form["role"]
    ```

    ## Safe alternative
    ```python
    role = request.form["role"]
    if role not in ("viewer", "editor"):
        abort(400)
    session["role"] = role
    ```

    ## References
    - https://cwe.mitre.org/data/definitions/501.html
    """

    id = "SR136"
    name = "tainted-session-store"
    cwe = 501
    severity = Level.LOW
    confidence = Level.MEDIUM
    sink_kind = "session"
    impact = "Later code trusts the session as the server's own state."
    fix = "Validate the value against what the user may set before storing it in the session."


FLOW_RULES: dict[str, type[FlowRule]] = {
    cls.sink_kind: cls for cls in (
        TaintedShellCommand, TaintedCodeEvaluation, TaintedSql, TaintedLdapFilter, TaintedXpath, TaintedHeader,
        TaintedLog, TaintedRegex, TaintedHtml, TaintedTemplate, TaintedPath, TaintedUrl, TaintedRedirect,
        TaintedDeserialization, TaintedXml, TaintedSessionStore)
}
