"""The context policy: what happens to hygiene findings in test code.

Hygiene rules (``Rule.hygiene = True``) flag weak practice (a fast hash, a fixed temporary path, a
socket bound to every interface, a credential-shaped constant) rather than a path an attacker
reaches. In a test wired with fixtures and fakes that practice protects nothing real, so
``--test-policy`` decides what becomes of those findings there:

- ``lower`` (default): kept, severity lowered to low, the reason in ``Finding.triage``;
- ``drop``: removed from the findings and kept aside (``FileResult.dropped``) with the reason, so
  the written review can still say what was set aside and why;
- ``keep``: unchanged.

Never touched, whatever the policy: findings of rules that are not hygiene rules (a command built
from values and run through a shell is a defect in a test too), data-flow findings (a finding with
a ``trace`` follows real data; context never drops it), and credentials in a known key format
(``SR502`` at high confidence: a real AWS key in a test is a real leak).
"""

from __future__ import annotations

from dataclasses import replace

from secreview import context as context_mod
from secreview.model import Finding, Level
from secreview.rules import registry

POLICIES = ("lower", "drop", "keep")
DEFAULT_POLICY = "lower"

# Why a finding of each hygiene rule is not a defect when it sits in test code. Rules added later
# fall back to the generic sentence.
REASONS: dict[str, str] = {
    "SR301": "a weak hash in a test digests test data; no stored password or signature depends on it",
    "SR302": "a legacy cipher in a test exercises support for it; no real data is encrypted with it",
    "SR303": "a block mode in a test exercises the code path; no real data is encrypted with it",
    "SR304": "small keys keep tests fast; no key made in a test protects anything real",
    "SR401": "a test talks to its own in-process or self-signed test server, so there is no certificate to check",
    "SR402": "an old protocol in a test exercises the negotiation; no real traffic is carried",
    "SR403": "a test's HTTP calls go to fixtures or mocks; a missing timeout can stall the test run, not a service",
    "SR404": "a test server lives only for the test run; binding to every interface exposes nothing lasting",
    "SR501": "random test data needs no unpredictability; nothing an attacker could guess is protected",
    "SR502": "a credential-shaped constant in a test is a fixture value for a fake service, not a real account",
    "SR601": "a temporary name in a test names scratch data of the test run",
    "SR602": "a fixed temporary path in a test holds scratch data of the test run, not a service's state",
    "SR603": "file modes set by a test apply to the test's own scratch files",
    "SR604": "a debug switch in a test configures an application that only the test process talks to",
    "SR605": "templates rendered in a test produce output that no browser displays",
}
GENERIC_REASON = "this rule flags practice, not a path an attacker reaches, and test code protects nothing real"


def exempt(finding: Finding) -> str | None:
    """Why a hygiene finding stays as it is even in test code, or None."""
    if finding.trace:
        return "a data-flow finding follows real data"
    if finding.rule_id == "SR502" and finding.confidence == Level.HIGH:
        return "a credential in a known key format may be real"
    return None


def is_hygiene(rule_id: str) -> bool:
    rule = registry.RULES.get(rule_id)
    return bool(rule is not None and getattr(rule, "hygiene", False))


def apply(findings: list[Finding], path: str, index, head: str, policy: str,
          analysis: context_mod.Analysis | None = None, complete: bool = True
          ) -> tuple[list[Finding], list[Finding], context_mod.Analysis | None]:
    """Split one file's findings into (kept, dropped), lowering or dropping hygiene findings in
    test code. The per-function analysis is built only when a finding needs it, and returned;
    with ``complete=False`` (a caller that will not read it) only as far as the split needs it
    (see :func:`secreview.context.analyse`)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown test policy {policy!r} (choose {', '.join(POLICIES)})")
    if policy == "keep" or not findings:
        return list(findings), [], analysis
    kept: list[Finding] = []
    dropped: list[Finding] = []
    for finding in findings:
        if not is_hygiene(finding.rule_id) or exempt(finding):
            kept.append(finding)
            continue
        if analysis is None:
            analysis = context_mod.analyse(path, index, head, complete=complete)
        where = analysis.in_test(finding.location.line)
        if where is None:
            kept.append(finding)
            continue
        reason = REASONS.get(finding.rule_id, GENERIC_REASON)
        if policy == "drop":
            dropped.append(replace(finding, triage=f"dropped in test code ({where}): {reason}"))
        else:
            kept.append(replace(finding, severity=Level.LOW,
                                triage=f"lowered to low severity in test code ({where}): {reason}"))
    return kept, dropped, analysis
