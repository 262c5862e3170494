"""The rule registry: every rule class, by id and by name, and selection by either."""

from __future__ import annotations

import importlib
import pkgutil
import re

from secreview.model import CWES
from secreview.rules.base import Rule

_ID = re.compile(r"^SR\d{3}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

RULES: dict[str, type[Rule]] = {}
_BY_NAME: dict[str, type[Rule]] = {}
_loaded = False


class RuleError(ValueError):
    """An unknown or malformed rule reference."""


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: validate a rule's metadata and add it to the registry."""
    if not _ID.match(getattr(cls, "id", "")):
        raise RuleError(f"{cls.__name__}: rule id must look like SR123, got {getattr(cls, 'id', None)!r}")
    if not _NAME.match(getattr(cls, "name", "")):
        raise RuleError(f"{cls.__name__}: rule name must be kebab-case, got {getattr(cls, 'name', None)!r}")
    if cls.id in RULES or cls.name in _BY_NAME:
        raise RuleError(f"{cls.__name__}: duplicate rule id or name {cls.id} / {cls.name}")
    if cls.cwe not in CWES:
        raise RuleError(f"{cls.id}: CWE-{cls.cwe} is not in secreview.model.CWES")
    RULES[cls.id] = cls
    _BY_NAME[cls.name] = cls
    return cls


def load() -> dict[str, type[Rule]]:
    """Import every module of the ``secreview.rules`` package once; return the registry."""
    global _loaded
    if not _loaded:
        import secreview.rules as package

        from secreview.perf import gc_paused

        # the rules' classes, tables and patterns live as long as the process (see gc_paused)
        with gc_paused(collect=False):
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
                if info.name not in ("base", "registry"):
                    importlib.import_module(f"secreview.rules.{info.name}")
        _loaded = True
    return RULES


def all_rules() -> list[type[Rule]]:
    return [RULES[key] for key in sorted(load())]


def get(ref: str) -> type[Rule]:
    """A rule by id (case-insensitive) or kebab-case name."""
    load()
    key = ref.strip()
    rule = RULES.get(key.upper()) or _BY_NAME.get(key.lower())
    if rule is None:
        raise RuleError(f"unknown rule {ref!r} (see 'secreview rules' for the list)")
    return rule


def select(select: list[str] | None = None, ignore: list[str] | None = None) -> list[type[Rule]]:
    """Rules chosen by ``select`` (all when empty) minus ``ignore``. A reference may also be an
    id prefix such as ``SR1`` (a family) or ``ALL``."""
    load()
    chosen = set(_expand(select) if select else RULES)
    chosen -= set(_expand(ignore or []))
    return [RULES[key] for key in sorted(chosen)]


def _expand(refs: list[str]) -> set[str]:
    found: set[str] = set()
    for ref in refs:
        ref = ref.strip()
        if not ref:
            continue
        if ref.upper() == "ALL":
            found.update(RULES)
        elif re.fullmatch(r"SR\d{0,2}", ref.upper()):
            matches = {key for key in RULES if key.startswith(ref.upper())}
            if not matches:
                raise RuleError(f"unknown rule {ref!r} (see 'secreview rules' for the list)")
            found.update(matches)
        else:
            found.add(get(ref).id)
    return found
