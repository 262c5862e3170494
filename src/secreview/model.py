"""Frozen data shared by every stage: rules, locations, findings, traces, skipped files, reviews.

Everything here is plain data: no stage reaches back into another through these objects, and
everything renders to JSON through :func:`to_dict` methods with a stable key order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Level(enum.IntEnum):
    """Severity and confidence share one ordered scale."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown level {text!r} (choose low, medium or high)") from None


# The ten pillars of CWE-1000 (Research Concepts) and their names.
PILLARS: dict[int, str] = {
    284: "Improper Access Control",
    435: "Improper Interaction Between Multiple Correctly-Behaving Entities",
    664: "Improper Control of a Resource Through its Lifetime",
    682: "Incorrect Calculation",
    691: "Insufficient Control Flow Management",
    693: "Protection Mechanism Failure",
    697: "Incorrect Comparison",
    703: "Improper Check or Handling of Exceptional Conditions",
    707: "Improper Neutralization",
    710: "Improper Adherence to Coding Standards",
}

# CWE id -> (name, CWE-1000 pillar it descends from). Where a weakness has several parents in
# CWE-1000 the pillar of its primary (first listed) ChildOf chain is used.
CWES: dict[int, tuple[str, int]] = {
    20: ("Improper Input Validation", 707),
    22: ("Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')", 664),
    59: ("Improper Link Resolution Before File Access ('Link Following')", 664),
    73: ('External Control of File Name or Path', 664),
    78: ("Improper Neutralization of Special Elements used in an OS Command ('OS Command Injection')", 707),
    79: ("Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')", 707),
    89: ("Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')", 707),
    90: ("Improper Neutralization of Special Elements used in an LDAP Query ('LDAP Injection')", 707),
    94: ("Improper Control of Generation of Code ('Code Injection')", 707),
    95: ("Improper Neutralization of Directives in Dynamically Evaluated Code ('Eval Injection')", 707),
    113: ("Improper Neutralization of CRLF Sequences in HTTP Headers ('HTTP Request/Response Splitting')", 707),
    116: ('Improper Encoding or Escaping of Output', 707),
    117: ("Improper Output Neutralization for Logs", 707),
    200: ("Exposure of Sensitive Information to an Unauthorized Actor", 664),
    208: ("Observable Timing Discrepancy", 664),
    209: ("Generation of Error Message Containing Sensitive Information", 664),
    248: ('Uncaught Exception', 691),
    259: ("Use of Hard-coded Password", 284),
    276: ('Incorrect Default Permissions', 284),
    285: ('Improper Authorization', 284),
    295: ("Improper Certificate Validation", 284),
    321: ("Use of Hard-coded Cryptographic Key", 284),
    326: ("Inadequate Encryption Strength", 693),
    327: ("Use of a Broken or Risky Cryptographic Algorithm", 693),
    328: ("Use of Weak Hash", 693),
    330: ("Use of Insufficiently Random Values", 693),
    338: ("Use of Cryptographically Weak Pseudo-Random Number Generator (PRNG)", 693),
    352: ('Cross-Site Request Forgery (CSRF)', 693),
    362: ("Concurrent Execution using Shared Resource with Improper Synchronization ('Race Condition')", 691),
    366: ('Race Condition within a Thread', 691),
    367: ("Time-of-check Time-of-use (TOCTOU) Race Condition", 691),
    377: ("Insecure Temporary File", 664),
    390: ('Detection of Error Condition Without Action', 703),
    396: ('Declaration of Catch for Generic Exception', 703),
    400: ("Uncontrolled Resource Consumption", 664),
    404: ("Improper Resource Shutdown or Release", 664),
    409: ('Improper Handling of Highly Compressed Data (Data Amplification)', 664),
    489: ("Active Debug Code", 710),
    501: ("Trust Boundary Violation", 664),
    502: ("Deserialization of Untrusted Data", 664),
    532: ("Insertion of Sensitive Information into Log File", 664),
    601: ("URL Redirection to Untrusted Site ('Open Redirect')", 664),
    610: ('Externally Controlled Reference to a Resource in Another Sphere', 664),
    611: ("Improper Restriction of XML External Entity Reference", 664),
    614: ("Sensitive Cookie in HTTPS Session Without 'Secure' Attribute", 693),
    617: ('Reachable Assertion', 691),
    639: ('Authorization Bypass Through User-Controlled Key', 284),
    643: ("Improper Neutralization of Data within XPath Expressions ('XPath Injection')", 707),
    667: ('Improper Locking', 691),
    669: ('Incorrect Resource Transfer Between Spheres', 664),
    674: ('Uncontrolled Recursion', 691),
    703: ("Improper Check or Handling of Exceptional Conditions", 703),
    710: ("Improper Adherence to Coding Standards", 710),
    732: ("Incorrect Permission Assignment for Critical Resource", 284),
    755: ('Improper Handling of Exceptional Conditions', 703),
    770: ("Allocation of Resources Without Limits or Throttling", 664),
    772: ("Missing Release of Resource after Effective Lifetime", 664),
    775: ("Missing Release of File Descriptor or Handle after Effective Lifetime", 664),
    798: ("Use of Hard-coded Credentials", 284),
    862: ('Missing Authorization', 284),
    863: ('Incorrect Authorization', 284),
    916: ("Use of Password Hash With Insufficient Computational Effort", 693),
    918: ("Server-Side Request Forgery (SSRF)", 664),
    1004: ("Sensitive Cookie Without 'HttpOnly' Flag", 284),
    1327: ("Binding to an Unrestricted IP Address", 664),
    1333: ("Inefficient Regular Expression Complexity", 664),
}


def cwe_name(cwe: int) -> str:
    return CWES[cwe][0]


def cwe_pillar(cwe: int) -> int:
    return CWES[cwe][1]


@dataclass(frozen=True, slots=True)
class Location:
    """A span in a file. Lines are 1-based, columns 0-based (as in ``ast``)."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.col + 1,
            "end_line": self.end_line,
            "end_column": self.end_col + 1,
        }


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of a data flow: where the value was, and what happened to it there."""

    location: Location
    note: str

    def to_dict(self) -> dict:
        return {"location": self.location.to_dict(), "note": self.note}


@dataclass(frozen=True, slots=True)
class Finding:
    """One reported defect: the rule, its CWE, severity and confidence, where, and what to do."""

    rule_id: str
    rule_name: str
    cwe: int
    severity: Level
    confidence: Level
    location: Location
    message: str
    fix: str
    context: str = "production"
    snippet: str = ""
    fingerprint: str = ""
    trace: tuple[TraceStep, ...] = ()
    # why context triage changed this finding (lowered or dropped in test code); '' when it did not
    triage: str = ""
    # first and last line of the flagged statement (suppression comments on any of them apply);
    # (0, 0) when unknown. Not part of the JSON report.
    statement_lines: tuple[int, int] = (0, 0)

    @property
    def pillar(self) -> int:
        return cwe_pillar(self.cwe)

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.line, loc.col, self.rule_id, loc.end_line, loc.end_col, self.message)

    def to_dict(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "cwe": self.cwe,
            "cwe_name": cwe_name(self.cwe),
            "pillar": self.pillar,
            "pillar_name": PILLARS[self.pillar],
            "severity": self.severity.label,
            "confidence": self.confidence.label,
            "location": self.location.to_dict(),
            "message": self.message,
            "fix": self.fix,
            "context": self.context,
            "snippet": self.snippet,
            "fingerprint": self.fingerprint,
            "trace": [step.to_dict() for step in self.trace],
            "triage": self.triage,
        }


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file (or part of one) that was not reviewed, and why."""

    path: str
    reason: str
    line: int | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "reason": self.reason, "line": self.line}


@dataclass(frozen=True, slots=True)
class Note:
    """Something a reader should know about how a reviewed file was read: not a defect, not a skip.

    ``kind`` is ``python2`` for a file read leniently as Python 2 (secreview.source.py2); ``lines``
    are the lines that were adapted."""

    path: str
    message: str
    kind: str = ""
    lines: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "message": self.message, "lines": list(self.lines)}


@dataclass(frozen=True, slots=True)
class FileResult:
    """What the per-file phase produced for one file."""

    path: str
    findings: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    lines: int = 0
    context: str = "production"
    reviewed: bool = True
    # hygiene findings the test-code policy set aside (each with its reason in ``triage``)
    dropped: tuple[Finding, ...] = ()
    # plain JSON data for the written review (secreview.outline), built only when asked for
    outline: dict | None = None
    # suppression comments of the file, (line, col, end_col, comment text): see secreview.suppress
    suppressions: tuple[tuple[int, int, int, str], ...] = ()
    # the file's record for the cross-module data-flow step (JSON): module name, function
    # summaries, calls into other modules; see secreview.taint.run
    taint: dict | None = None
    # how the file was read, when a reader should know (e.g. read leniently as Python 2)
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Review:
    """The result of a run: the findings and skipped files, with what the report needs besides."""

    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    files: tuple[FileResult, ...] = field(default=())
    # set by a diff review: display path -> changed (added) line numbers of the new revision
    changed_lines: dict[str, frozenset[int]] | None = None
    # (start, end) as UTC ISO-8601 times when the run asked for them (--sarif-timing)
    timing: tuple[str, str] | None = None

    @property
    def notes(self) -> tuple[Note, ...]:
        """The per-file notes of every file, sorted by path."""
        return tuple(sorted((n for r in self.files for n in r.notes), key=lambda n: (n.path, n.kind, n.message)))

    @property
    def files_reviewed(self) -> int:
        return sum(1 for f in self.files if f.reviewed)

    def counts(self) -> dict[str, int]:
        counts = {"high": 0, "medium": 0, "low": 0}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts
