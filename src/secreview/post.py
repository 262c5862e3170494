"""``secreview post github|gerrit REVIEW_JSON``: send a review made with ``--format review-json``.

Posting is separate from reviewing on purpose: the review itself never talks to the network,
and this command does nothing else. The address and the credentials come from the environment:

GitHub (a pull-request review):
  SECREVIEW_GITHUB_URL      the full reviews endpoint, or else it is built from
                            GITHUB_API_URL (default https://api.github.com), GITHUB_REPOSITORY
                            (owner/name) and SECREVIEW_PR_NUMBER (or GITHUB_REF refs/pull/N/...)
  SECREVIEW_GITHUB_TOKEN    or GITHUB_TOKEN: sent as a bearer token
  SECREVIEW_COMMIT_SHA      optional: the commit the comments are about

Gerrit (a ReviewInput on one revision of a change):
  SECREVIEW_GERRIT_URL      .../a/changes/{change}/revisions/{revision}/review
  SECREVIEW_GERRIT_USER, SECREVIEW_GERRIT_TOKEN   the HTTP credentials (basic authentication)

The token is never printed, logged or put in an error message, is sent only over https (plain
http is allowed for a loopback address, for tests), and redirects are not followed, so it cannot
be forwarded to another host.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from secreview import __version__
from secreview.errors import UserError

USAGE = """\
usage: secreview post github|gerrit REVIEW_JSON [--dry-run]

Post a review made with 'secreview ... --format review-json -o REVIEW_JSON' ('-' reads standard
input) as a GitHub pull-request review or a Gerrit review. The address and the token come from
the environment (see the README, 'Review comments'); the token is never printed. --dry-run prints
the address and the body instead of sending them. Nothing is posted when the review has no
findings and no skipped files.
"""

TIMEOUT = 30


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # never carry a token elsewhere
        return None


def command(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    dry_run = "--dry-run" in argv
    rest = [a for a in argv if a != "--dry-run"]
    unknown = [a for a in rest if a.startswith("-") and a != "-"]
    if unknown:
        raise UserError(f"post: unknown option {unknown[0]} (see 'secreview post --help')")
    if len(rest) != 2 or rest[0] not in ("github", "gerrit"):
        raise UserError("'post' takes a target and a file: 'secreview post github|gerrit REVIEW_JSON'")
    target, source = rest
    review = _load(source)
    env = os.environ
    if target == "github":
        url, headers, token = _github(env)
        body = dict(review["github"])
        if env.get("SECREVIEW_COMMIT_SHA"):
            body["commit_id"] = env["SECREVIEW_COMMIT_SHA"]
    else:
        url, headers, token = _gerrit(env)
        body = review["gerrit"]
    summary = review["summary"]
    if not summary.get("findings") and not summary.get("skipped"):
        print(f"secreview: nothing to post to {target}: the review has no findings", file=sys.stderr)
        return 0
    if dry_run:
        sys.stdout.write(f"POST {_shown(url)}\n" + json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        return 0
    _send(target, url, headers, body, token)
    print(f"secreview: posted a review with {len(_comments(target, body))} comment"
          f"{'s' * (len(_comments(target, body)) != 1)} to {_shown(url)}", file=sys.stderr)
    return 0


def _comments(target: str, body: dict) -> list:
    if target == "github":
        return list(body.get("comments", []))
    return [c for items in body.get("comments", {}).values() for c in items]


def _load(source: str) -> dict:
    where = "post: standard input" if source == "-" else f"post: {source}"
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
    except FileNotFoundError:
        raise UserError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{where}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or data.get("format") != "secreview-review":
        raise UserError(f"{where}: not a review made with --format review-json")
    for key in ("summary", "github", "gerrit"):
        if not isinstance(data.get(key), dict):
            raise UserError(f"{where}: missing \"{key}\" (make it again with --format review-json)")
    return data


def _need(env, *names: str) -> str:
    for name in names:
        if env.get(name):
            return env[name]
    raise UserError(f"post: set {' or '.join(names)} in the environment")


def _github(env) -> tuple[str, dict, str]:
    token = _need(env, "SECREVIEW_GITHUB_TOKEN", "GITHUB_TOKEN")
    url = env.get("SECREVIEW_GITHUB_URL")
    if not url:
        api = env.get("GITHUB_API_URL") or "https://api.github.com"
        repo = _need(env, "GITHUB_REPOSITORY")
        number = env.get("SECREVIEW_PR_NUMBER")
        if not number:
            m = re.fullmatch(r"refs/pull/(\d+)/(?:merge|head)", env.get("GITHUB_REF", ""))
            if not m:
                raise UserError("post: set SECREVIEW_PR_NUMBER (or run on a pull_request event, "
                                "where GITHUB_REF is refs/pull/N/merge)")
            number = m.group(1)
        if not number.isdigit():
            raise UserError(f"post: SECREVIEW_PR_NUMBER must be a number, got {number!r}")
        url = f"{api.rstrip('/')}/repos/{urllib.parse.quote(repo)}/pulls/{number}/reviews"
    _check_url(url, "SECREVIEW_GITHUB_URL")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    return url, headers, token


def _gerrit(env) -> tuple[str, dict, str]:
    url = _need(env, "SECREVIEW_GERRIT_URL")
    user = _need(env, "SECREVIEW_GERRIT_USER")
    token = _need(env, "SECREVIEW_GERRIT_TOKEN")
    _check_url(url, "SECREVIEW_GERRIT_URL")
    basic = base64.b64encode(f"{user}:{token}".encode()).decode()
    return url, {"Authorization": f"Basic {basic}"}, token


def _check_url(url: str, name: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UserError(f"post: {name} must be an https:// address, got {_shown(url)!r}")
    if parts.username or parts.password:
        raise UserError(f"post: {name} must not hold credentials; put them in the token variables")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise UserError(f"post: {name} must use https:// (a token is never sent over plain http "
                        "except to this machine)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _send(target: str, url: str, headers: dict, body: dict, token: str) -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # secreview: ignore[SR132] the operator names the server; https only
        url, data=data, method="POST")
    for name, value in headers.items():
        request.add_unredirected_header(name, value)
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", f"secreview/{__version__}")
    opener = urllib.request.build_opener(_NoRedirect)
    secrets = [token, *(v.split(" ", 1)[1] for v in headers.values() if v.startswith(("Basic ", "Bearer ")))]
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = _detail(exc)
        raise UserError(_scrub(f"post {target}: {_shown(url)} answered HTTP {exc.code} {exc.reason}"
                               f"{': ' + detail if detail else ''}", secrets)) from None
    except urllib.error.URLError as exc:
        raise UserError(_scrub(f"post {target}: cannot reach {_shown(url)}: {exc.reason}", secrets)) from None
    except (OSError, ValueError) as exc:
        raise UserError(_scrub(f"post {target}: cannot reach {_shown(url)}: {exc}", secrets)) from None


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return ""
    raw = raw.removeprefix(")]}'").strip()  # Gerrit's guard against JSON hijacking
    try:
        data = json.loads(raw)
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            raw = data["message"]
    except json.JSONDecodeError:
        pass
    text = " ".join(raw.split())
    return text[:200]


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
