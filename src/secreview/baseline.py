"""Baselines: the findings a project has accepted for now, so that only new ones are reported.

    secreview baseline create .secreview-baseline.json src
    secreview --baseline .secreview-baseline.json src

An entry is keyed by a line-free fingerprint (rule, normalised path, normalised statement text)
and carries a count. Edits above a known finding move its line, not its key, so it stays
known; a second identical defect in the same file makes the count too small, so it is new.

The file is JSON with sorted keys and entries, no timestamps and no source text (so no secret a
finding points at is copied into it): the same findings give the same bytes, and it is safe to
commit.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable

from secreview.errors import UserError
from secreview.model import Finding

FORMAT = "secreview-baseline"
VERSION = 1


def key(finding: Finding) -> str:
    """The line-free key of a finding: unlike the fingerprint it leaves out the occurrence index,
    which the count stands for."""
    path = finding.location.path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    data = "\0".join((finding.rule_id, path, finding.snippet)).encode("utf-8", errors="surrogatepass")
    return hashlib.sha256(data).hexdigest()[:32]


def build(findings: Iterable[Finding]) -> dict:
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for f in findings:
        counts[(f.location.path, f.rule_id, f.rule_name, key(f))] += 1
    entries = [
        {"path": path, "rule_id": rule_id, "rule_name": name, "fingerprint": fp, "count": n}
        for (path, rule_id, name, fp), n in sorted(counts.items())
    ]
    return {"format": FORMAT, "version": VERSION, "findings": entries}


def render(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def counts_of(data: dict) -> dict[str, int]:
    result: dict[str, int] = {}
    for entry in data["findings"]:
        result[entry["fingerprint"]] = result.get(entry["fingerprint"], 0) + entry["count"]
    return result


def load(path: str, option: str = "--baseline") -> dict:
    """Read and check a baseline file; every problem names the file and the key."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise UserError(f"{option} {path}: no such file (create one with 'secreview baseline create {path} PATH...')") from None
    except IsADirectoryError:
        raise UserError(f"{option} {path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise UserError(f"{option} {path}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{option} {path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    where = f"{option} {path}"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{where}: not a secreview baseline (expected \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise UserError(f"{where}: unsupported \"version\": {json.dumps(data.get('version'))} (this secreview reads {VERSION})")
    unknown = sorted(set(data) - {"format", "version", "findings"})
    if unknown:
        raise UserError(f"{where}: unknown key \"{unknown[0]}\"")
    entries = data.get("findings")
    if not isinstance(entries, list):
        raise UserError(f"{where}: \"findings\" must be an array")
    fields = {"path": str, "rule_id": str, "rule_name": str, "fingerprint": str, "count": int}
    for i, entry in enumerate(entries):
        at = f"{where}: findings[{i}]"
        if not isinstance(entry, dict):
            raise UserError(f"{at} must be an object")
        for name, kind in fields.items():
            value = entry.get(name)
            if name not in entry:
                raise UserError(f"{at}: missing \"{name}\"")
            if not isinstance(value, kind) or isinstance(value, bool):
                raise UserError(f"{at}: \"{name}\" must be {'an integer' if kind is int else 'a string'}")
        extra = sorted(set(entry) - set(fields))
        if extra:
            raise UserError(f"{at}: unknown key \"{extra[0]}\"")
        if entry["count"] < 1:
            raise UserError(f"{at}: \"count\" must be at least 1")
        if len(entry["fingerprint"]) != 32 or any(c not in "0123456789abcdef" for c in entry["fingerprint"]):
            raise UserError(f"{at}: \"fingerprint\" must be 32 lower-case hex digits")
    return data


def subtract(findings: list[Finding], known: dict[str, int]) -> list[Finding]:
    """The findings the baseline does not account for. Within a key the first ``count``
    findings (in report order) are known; any beyond are new."""
    left = dict(known)
    result = []
    for f in sorted(findings, key=Finding.sort_key):
        k = key(f)
        if left.get(k, 0) > 0:
            left[k] -= 1
        else:
            result.append(f)
    return result


def compare(old: dict, new: dict) -> tuple[int, int, int]:
    """(added, removed, kept) finding counts between two baselines."""
    a, b = counts_of(old), counts_of(new)
    added = sum(max(n - a.get(k, 0), 0) for k, n in b.items())
    removed = sum(max(n - b.get(k, 0), 0) for k, n in a.items())
    kept = sum(min(n, a.get(k, 0)) for k, n in b.items())
    return added, removed, kept
