"""The per-file result cache: an unchanged file is not read by the parser again.

A file's results are stored under a key made of

- the file's display path and the SHA-256 of its bytes,
- the *engine*: secreview's version, a hash of every source and data file of the installed
  package (so an edited rule invalidates everything) and the Python version (``ast`` changes
  between versions),
- the *configuration*: the selected rules and every :class:`~secreview.engine.Options` field that
  can change a file's results (thresholds, size limit, rule options, the contents of taint-spec
  files); fields that only steer the run (``jobs``, the cache folder, the progress bar, the
  per-file time budget, profiling) are left out (:data:`RUN_ONLY_FIELDS`).

Storage is one SQLite file (``results.sqlite3``) in the cache folder; each value is the JSON form
of a :class:`~secreview.model.FileResult` with a SHA-256 checksum over key and value. Nothing is
ever pickled. A damaged database (not a database, malformed pages, a foreign or older layout) is
deleted and rebuilt; a damaged row (bad checksum, bad JSON, a shape that no longer decodes) is a
miss and is overwritten. Writes happen in transactions, so an interrupted run leaves whole
entries or none (SQLite's journal is kept, without waiting for the disk: only a machine crash
could damage the file, and that damage is what the checks above catch). A result is only stored
when it survives the JSON round trip unchanged, so a cached result is always byte-for-byte the
result a fresh analysis would give.

Serialisation is generic: :func:`to_json` and :func:`from_json` walk ``dataclasses.fields`` and
the field annotations, so fields added to ``FileResult`` or ``Finding`` later are cached too, as
long as their values are JSON-able (dataclasses, enums, tuples, lists, dicts with string keys,
strings, numbers, booleans, ``None``).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import sqlite3
import sys
import types
import typing
from collections.abc import Callable, Iterable

from secreview import __version__
from secreview.model import FileResult

DB_NAME = "results.sqlite3"
# Bump when the table layout or the value encoding changes (3: data-flow records list every
# function of a file and the calls that ask other files for summaries).
FORMAT = 3
_APPLICATION_ID = 0x53526376  # "SRcv": marks the database as ours
_OWN_FILES = (DB_NAME, DB_NAME + "-journal", DB_NAME + "-wal", DB_NAME + "-shm")

# Options fields that steer a run but never change a file's results (filters are triage: applied
# to the whole review after the per-file phase).
RUN_ONLY_FIELDS = frozenset({"jobs", "cache_dir", "file_timeout", "progress", "stats", "filters",
                             "keep_freed_memory"})

# SQLite errors that say "not now" rather than "this file is damaged": the cache is left alone
# (and unused for this run) instead of being rebuilt.
_TRANSIENT = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR",
                        "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH", "SQLITE_NOMEM", "SQLITE_INTERRUPT"})


class CacheError(Exception):
    """The cache folder cannot be used at all (it is a file, or cannot be created)."""


def default_dir() -> str:
    """``$XDG_CACHE_HOME/secreview``, else ``~/.cache/secreview``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "secreview")


# ---------------------------------------------------------------------------- keys


@functools.cache
def engine_key() -> str:
    """secreview's version, the hash of its own source and data files, and the Python version."""
    digest = hashlib.sha256()
    digest.update(f"secreview {__version__}\0python {sys.version}\0format {FORMAT}\0".encode())
    package = os.path.dirname(os.path.abspath(__file__))
    found = []
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in files:
            if name.endswith((".py", ".toml", ".json", ".txt", ".yaml", ".yml")):
                found.append(os.path.join(folder, name))
    for path in sorted(found):
        digest.update(os.path.relpath(path, package).replace(os.sep, "/").encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def config_key(rule_ids: Iterable[str], options: object) -> str:
    """The part of every key that depends on the rule selection and the options."""
    state = {"engine": engine_key(), "rules": sorted(rule_ids)}
    if dataclasses.is_dataclass(options):
        for f in dataclasses.fields(options):
            if f.name not in RUN_ONLY_FIELDS:
                state[f.name] = _canonical(getattr(options, f.name))
        # Files the options point at whose contents change results (taint specifications).
        for name in ("taint_specs", "taint_spec_files"):
            for path in _paths(getattr(options, name, None)):
                state[f"{name}:{path}"] = _file_digest(path)
    text = json.dumps(state, sort_keys=True, ensure_ascii=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _paths(value: object) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    if isinstance(value, (list, tuple)):
        return [os.fspath(v) for v in value if isinstance(v, (str, os.PathLike))]
    return []


def _file_digest(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.errno}"


def _canonical(value: object) -> object:
    """A JSON-able form of an option value with a stable order (sets sorted, enums by name)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, dict):
        return sorted([repr(k), _canonical(v)] for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return sorted(repr(_canonical(v)) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def file_key(config: str, display: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return hashlib.sha256(f"{config}\0{display}\0{digest}".encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------------------- JSON codec


def to_json(value: object) -> object:
    """The JSON form of a result: dataclasses as objects (every field), enums by value,
    tuples as lists. Raises TypeError for anything else that JSON cannot hold."""
    cls = type(value)
    if cls in _PLAIN or value is None:  # the commonest values first (a run stores hundreds of thousands)
        return value
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = (tuple(f.name for f in dataclasses.fields(cls))
                                     if dataclasses.is_dataclass(cls) else ())
    if names:
        return {name: to_json(getattr(value, name)) for name in names}
    if isinstance(value, (str, bool, int, float)) and not isinstance(value, enum.Enum):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("cannot cache a dict with keys that are not strings")
        return {k: to_json(v) for k, v in value.items()}
    raise TypeError(f"cannot cache a value of type {type(value).__name__}")


_PLAIN = frozenset({str, bool, int, float})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # dataclass -> its field names; () for other types


def from_json(kind: object, data: object) -> object:
    """Rebuild a value of type ``kind`` (a class or an annotation) from its JSON form."""
    if data is None:
        return None
    origin = _origin(kind)
    if origin is None:
        try:
            shape = _SHAPES[kind]
        except (KeyError, TypeError):  # (TypeError: an annotation that cannot be a dict key)
            shape = _shape(kind)
        if shape is _AS_IS:  # str, int, bool, dict, Any ...: the JSON value is the value
            return data
        if shape is _DATACLASS:
            if not isinstance(data, dict):
                raise ValueError(f"expected an object for {kind.__name__}")
            values = {}
            for name, hint, required, how in _layout(kind):
                if name in data:
                    value = data[name]
                    # what from_json gives, without the call for the commonest values
                    if how is _AS_IS or value is None:
                        values[name] = value
                    elif how is _TUPLES and value == []:
                        values[name] = ()
                    else:
                        values[name] = from_json(hint, value)
                elif required:
                    raise ValueError(f"{kind.__name__}.{name} is missing")
            return kind(**values)
        if shape is _ENUM:
            return kind(data)
        if kind is tuple and isinstance(data, list):
            return tuple(data)
        if kind is float and isinstance(data, int) and not isinstance(data, bool):
            return float(data)
        return data
    args = _ARGS[kind] if kind in _ARGS else typing.get_args(kind)
    if origin is tuple:
        if not isinstance(data, list):
            raise ValueError("expected a list for a tuple")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v) for v in data)
        if args and len(args) == len(data):
            return tuple(from_json(a, v) for a, v in zip(args, data))
        return tuple(data)
    if origin is list:
        return [from_json(args[0] if args else typing.Any, v) for v in data]
    if origin is dict:
        value_kind = args[1] if len(args) == 2 else typing.Any
        return {k: from_json(value_kind, v) for k, v in data.items()}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return from_json(options[0], data)
        for option in options:  # the first member whose shape matches
            if isinstance(option, type) and dataclasses.is_dataclass(option) and isinstance(data, dict):
                return from_json(option, data)
            if typing.get_origin(option) in (tuple, list) and isinstance(data, list):
                return from_json(option, data)
        return data
    if origin is typing.Literal:
        return data
    return data


# What from_json does with a value of a class (not a generic alias): the class's shape,
# remembered per class (is_dataclass and issubclass are asked once, not once per value)
_AS_IS, _DATACLASS, _ENUM, _CONVERTED = "as is", "dataclass", "enum", "tuple or float"
_TUPLES = "tuple[...]"  # (see _layout)
_SHAPES: dict[object, str] = {}


def _shape(kind: object) -> str:
    if not isinstance(kind, type):
        shape = _AS_IS
    elif dataclasses.is_dataclass(kind):
        shape = _DATACLASS
    elif issubclass(kind, enum.Enum):
        shape = _ENUM
    elif kind is tuple or kind is float:
        shape = _CONVERTED
    else:
        shape = _AS_IS
    try:
        _SHAPES[kind] = shape
    except TypeError:
        pass
    return shape


_ORIGINS: dict[object, object] = {}
_ARGS: dict[object, tuple] = {}


def _origin(kind: object) -> object:
    """``typing.get_origin(kind)``, remembered per annotation (with its arguments)."""
    try:
        return _ORIGINS[kind]
    except KeyError:
        origin = _ORIGINS[kind] = typing.get_origin(kind)
        _ARGS[kind] = typing.get_args(kind)
        return origin
    except TypeError:  # an annotation that cannot be a dict key
        return typing.get_origin(kind)


@functools.cache
def _layout(cls: type) -> tuple[tuple[str, object, bool, str | None], ...]:
    """(name, annotation, required, how) of each field of a dataclass. How from_json decodes
    the field's values, when that is known from the annotation alone: _AS_IS, a value is kept
    (``str``, ``int``, ``bool``, ``dict``); _TUPLES, a ``tuple[...]``, which an empty list
    decodes to ``()``; None, anything else."""
    hints = _hints(cls)
    layout = []
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name, typing.Any)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        origin = _origin(hint)
        how = None
        if origin is None and isinstance(hint, type) and _shape(hint) is _AS_IS:
            how = _AS_IS
        elif origin is tuple:
            how = _TUPLES
        layout.append((f.name, hint, required, how))
    return tuple(layout)


@functools.cache
def _hints(cls: type) -> dict[str, object]:
    """Field annotations of a dataclass, resolved; one that cannot be resolved reads as Any."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation naming something only imported for type checking
        hints = {}
        for klass in reversed(cls.__mro__):
            for name, annotation in getattr(klass, "__annotations__", {}).items():
                probe = type("_Probe", (), {"__annotations__": {name: annotation}, "__module__": klass.__module__})
                try:
                    hints[name] = typing.get_type_hints(probe)[name]
                except Exception:
                    hints[name] = typing.Any
        return hints


_JSON_FORM = {"ensure_ascii": True, "separators": (",", ":"), "allow_nan": False}
# json.dumps(value, **_JSON_FORM) is _ENCODER.encode(value): json.dumps builds this encoder anew
# on every call with options other than its defaults, and every file's result is encoded
_ENCODER = json.JSONEncoder(**_JSON_FORM)


def dump_result(result: FileResult) -> str | None:
    """The stored text of a result, or None when it cannot be stored faithfully."""
    parts = dump_result_parts(result)
    return parts[0] if parts is not None else None


def dump_result_parts(result: FileResult) -> tuple[str, str] | None:
    """(the stored text of a result, the text of the result without its data-flow record), or
    None when it cannot be stored faithfully. The record is written last, so the second text is
    the first with ``null`` in its place: the run's final output (:meth:`Cache.put_run`, which
    leaves the records out) is made of these texts without encoding the results again. The
    round trip is checked on the first; each field is decoded on its own (:func:`from_json`), so
    the second decodes to the same result without its record."""
    try:
        data = {}
        for name in _RESULT_FIELDS:
            # to_json's answers for the commonest values of a result's fields, without the call:
            # a string, a number, None, and an empty tuple (most files have no findings, no
            # suppressions, nothing skipped)
            value = getattr(result, name)
            if value is None or type(value) in _PLAIN:
                data[name] = value
            elif type(value) is tuple and not value:
                data[name] = []
            else:
                data[name] = to_json(value)
        data["taint"] = None
        bare = _ENCODER.encode(data)
        flow = result.taint
        # The record is JSON data already: json.dumps writes it as to_json's form would be
        # written (tuples as lists, an int, float or str enum as its value, which it is equal to)
        # without walking it in Python; where the two differ (a key that is not a string, say)
        # the record does not come back equal and the round trip below refuses it, as before.
        text = bare if flow is None else f"{bare[:-len('null}')]}{_ENCODER.encode(flow)}}}"
        if load_result(text) != result:
            return None  # would not come back identical (a list where a tuple was, say)
    except (TypeError, ValueError, RecursionError):
        return None
    return text, bare


# FileResult's fields but its data-flow record, which dump_result_parts writes last
_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(FileResult) if f.name != "taint")


def load_results(text: str) -> list[FileResult]:
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("not a list of file results")
    results = [from_json(FileResult, item) for item in data]
    if not all(isinstance(r, FileResult) for r in results):
        raise ValueError("not a list of file results")
    return results


_DECODER = json.JSONDecoder()  # json.loads' own decoder: the same options


def _loads(text: str) -> object:
    """``json.loads(text)``, cheaper for a text that is one JSON value with nothing around it
    (what dump_result_parts writes, and every stored result is: each file's result is decoded
    once when it is stored, for its round trip, and once per warm run): ``raw_decode`` alone,
    without the searches for blanks at either end that json.loads adds. Any other text (blanks
    around the value, more after it, a byte string, not JSON at all) goes to json.loads, which
    reads it or refuses it as it always did."""
    try:
        value, end = _DECODER.raw_decode(text)
    except (ValueError, TypeError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def load_result(text: str) -> FileResult:
    value = from_json(FileResult, _loads(text))
    if not isinstance(value, FileResult):
        raise ValueError("not a file result")
    return value


# ---------------------------------------------------------------------------- storage


def _checksum(key: str, text: str) -> str:
    return hashlib.sha256(f"{key}\0{text}".encode()).hexdigest()


class Cache:
    """The result store in one folder. Every method is safe to call on a damaged store: damage
    is reported through ``note`` and the store is rebuilt; a store that cannot be used at all
    (locked by another run for too long, a read-only folder) makes lookups miss and writes no-ops."""

    def __init__(self, folder: str, config: str, note: Callable[[str], None] | None = None):
        self.folder = folder
        self.path = os.path.join(folder, DB_NAME)
        self.config = config
        self.engine = engine_key()
        self.note = note or (lambda message: None)
        self.hits = 0
        self.misses = 0
        self.stored = 0
        self.rebuilt = False
        self.broken_rows = 0
        # id(result) -> (result, its text without the data-flow record), for what put_many
        # encoded in this run (see dump_result_parts and put_run)
        self.bare_texts: dict[int, tuple[FileResult, str]] = {}
        self._conn: sqlite3.Connection | None = None
        self._disabled = False
        self._pruned = False
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create the cache folder {folder}: {exc.strerror or exc}") from None
        if not os.path.isdir(folder):
            raise CacheError(f"the cache folder {folder} is not a folder")
        self._connect()

    # -- connection

    def _connect(self) -> None:
        for attempt in (1, 2):
            conn = None
            try:
                conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                # No fsync per transaction (two per commit would cost more than the writes on
                # a cold run): an interrupted process still leaves whole entries or none, as the
                # journal is in the operating system's hands; only a machine crash could damage
                # the file, and a damaged cache is detected and rebuilt (see the module notes).
                conn.execute("PRAGMA synchronous = OFF")
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if not tables and app_id == 0 and version == 0:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {FORMAT}")
                    conn.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, engine TEXT NOT NULL, "
                                 "checksum TEXT NOT NULL, data TEXT NOT NULL) WITHOUT ROWID")
                    conn.execute("COMMIT")
                elif app_id == _APPLICATION_ID and version != FORMAT:
                    # ours, written by another secreview (an older one, or a newer one run on the
                    # same folder): nothing is damaged; its entries are of no use to this version
                    conn.close()
                    conn = None
                    if attempt == 2:  # still there: the old file could not be removed
                        self._give_up(sqlite3.DatabaseError(f"a cache of format {version} that cannot be replaced"))
                        return
                    self._discard(f"the cache {self.path} was written by another version of secreview "
                                  f"(cache format {version}; this version uses format {FORMAT}) and has been rebuilt")
                    continue
                elif app_id != _APPLICATION_ID or "results" not in tables:
                    raise sqlite3.DatabaseError("not a secreview cache")
                self._conn = conn
                return
            except sqlite3.DatabaseError as exc:
                if conn is not None:
                    conn.close()
                if _transient(exc) or attempt == 2:
                    self._give_up(exc)
                    return
                self._discard(f"the cache {self.path} was damaged ({exc}) and has been rebuilt")

    def _close_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None

    def _discard(self, message: str) -> None:
        self._close_connection()
        for name in _OWN_FILES:
            try:
                os.unlink(os.path.join(self.folder, name))
            except FileNotFoundError:
                pass
            except OSError:
                pass
        if not self.rebuilt:
            self.note(message)
        self.rebuilt = True

    def _give_up(self, exc: Exception) -> None:
        if not self._disabled:
            self.note(f"the cache {self.path} cannot be used for this run ({exc}); results are not cached")
        self._disabled = True
        self._close_connection()

    def _damaged(self, exc: sqlite3.DatabaseError) -> None:
        if _transient(exc):
            self._give_up(exc)
        else:
            self._discard(f"the cache {self.path} was damaged ({exc}) and has been rebuilt")
            self._connect()

    # -- lookups and writes

    def is_empty(self) -> bool:
        """Whether the store holds no entry at all (nothing could be found in it); False when
        that cannot be told, so that the caller looks things up as usual."""
        if self._conn is None:
            return False
        try:
            return self._conn.execute("SELECT 1 FROM results LIMIT 1").fetchone() is None
        except sqlite3.DatabaseError:
            return False

    def key(self, display: str, data: bytes) -> str:
        return file_key(self.config, display, data)

    def get_many(self, keys: list[str]) -> dict[str, FileResult]:
        """Results stored under ``keys``; damaged rows are left out (and counted)."""
        found: dict[str, FileResult] = {}
        if self._conn is None or not keys:
            self.misses += len(keys)
            return found
        rows: list[tuple[str, str, str, str]] = []
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows.extend(self._conn.execute(
                    f"SELECT key, engine, checksum, data FROM results WHERE key IN ({marks})", chunk))
        except sqlite3.DatabaseError as exc:
            self._damaged(exc)
            self.misses += len(keys)
            return {}
        for key, engine, checksum, text in rows:
            if engine != self.engine or checksum != _checksum(key, text):
                self.broken_rows += 1
                continue
            try:
                found[key] = load_result(text)
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
                self.broken_rows += 1
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, items: list[tuple]) -> None:
        """Store results (one transaction; results that cannot be stored faithfully are left out).
        Each item is ``(key, result)``, or ``(key, result, texts)`` with the result already
        encoded by :func:`dump_result_parts` (None: it cannot be stored faithfully)."""
        if not items:
            return
        rows = []
        for key, result, *encoded in items:
            parts = encoded[0] if encoded else dump_result_parts(result)
            if parts is not None:
                text, bare = parts
                rows.append((key, self.engine, _checksum(key, text), text))
                self.bare_texts[id(result)] = (result, bare)
        if not rows:
            return
        for attempt in (1, 2):
            if self._conn is None:
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    if not self._pruned:  # entries of another engine can never be used again
                        self._conn.execute("DELETE FROM results WHERE engine != ?", (self.engine,))
                        self._pruned = True
                    self._conn.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)", rows)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn is not None and self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                self.stored += len(rows)
                return
            except sqlite3.DatabaseError as exc:
                self._damaged(exc)
                if attempt == 2 or self._disabled:
                    return

    def get_run(self, slot: str, inputs: str) -> list[FileResult] | None:
        """The stored output of the global phase for the run ``slot`` (rules, options, paths), if
        it was computed from exactly the same ``inputs`` (every file's key). Only the output is
        read: a re-run with nothing changed decodes neither the per-file results nor their
        data-flow records."""
        found = self.get_texts([slot])
        text = found.get(slot)
        if text is None:
            return None
        try:
            stored_inputs, _, body = text.partition("\n")
            if stored_inputs != inputs:
                return None
            return load_results(body)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError):
            self.broken_rows += 1
            return None

    def put_run(self, slot: str, inputs: str, output: list[FileResult],
                known: dict[int, tuple[FileResult, str]] | None = None) -> None:
        """Store the global phase's ``output``. The data-flow records are left out: nothing after
        the global phase reads them, and they are most of a result's size. ``known``: the
        :attr:`bare_texts` of the run's :meth:`put_many`; a result stored there, unchanged by the
        global phase (the same object), is not encoded again."""
        parts = []
        for result in output:
            hit = known.get(id(result)) if known else None
            if hit is not None and hit[0] is result:
                parts.append(hit[1])
                continue
            text = dump_result(dataclasses.replace(result, taint=None) if result.taint is not None else result)
            if text is None:
                return
            parts.append(text)
        self.put_texts([(slot, f"{inputs}\n[{','.join(parts)}]")])

    def get_texts(self, keys: list[str]) -> dict[str, str]:
        """Stored texts under ``keys`` whose checksum holds."""
        if self._conn is None or not keys:
            return {}
        try:
            rows = list(self._conn.execute(
                f"SELECT key, engine, checksum, data FROM results WHERE key IN ({','.join('?' * len(keys))})", keys))
        except sqlite3.DatabaseError as exc:
            self._damaged(exc)
            return {}
        found = {}
        for key, engine, checksum, text in rows:
            if engine == self.engine and checksum == _checksum(key, text):
                found[key] = text
            else:
                self.broken_rows += 1
        return found

    def put_texts(self, items: list[tuple[str, str]]) -> None:
        rows = [(key, self.engine, _checksum(key, text), text) for key, text in items]
        if self._conn is None or not rows:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn is not None and self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            self._damaged(exc)

    def close(self) -> None:
        self._close_connection()


def _transient(exc: Exception) -> bool:
    return getattr(exc, "sqlite_errorname", "") in _TRANSIENT


def clear(folder: str) -> tuple[int, int]:
    """Remove the cache files secreview owns in ``folder``: (entries removed, files removed).
    Nothing else in the folder is touched."""
    entries = 0
    path = os.path.join(folder, DB_NAME)
    if os.path.isfile(path):
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
            try:
                entries = conn.execute("SELECT count(*) FROM results WHERE key NOT LIKE 'run:%'").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error:
            entries = 0  # damaged: removed all the same
    removed = 0
    for name in _OWN_FILES:
        target = os.path.join(folder, name)
        try:
            os.unlink(target)
            removed += 1
        except FileNotFoundError:
            pass
    return entries, removed


def info(folder: str) -> tuple[int, int]:
    """(entries, bytes on disk) of the cache in ``folder``; (0, 0) when there is none."""
    path = os.path.join(folder, DB_NAME)
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in _OWN_FILES if os.path.isfile(os.path.join(folder, n)))
    if not os.path.isfile(path):
        return 0, size
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM results WHERE key NOT LIKE 'run:%'").fetchone()[0], size
        finally:
            conn.close()
    except sqlite3.Error:
        return 0, size
