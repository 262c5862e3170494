import os

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")

# Fixture files are code under review, never test modules (some are named test_*.py on purpose).
collect_ignore_glob = ["fixtures/*"]


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_result_cache(tmp_path_factory, monkeypatch):
    """Every test gets an empty cache folder of its own ($XDG_CACHE_HOME), so no test reads
    results another test stored, and nothing is written to the real ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def parses(monkeypatch):
    """Display paths of the files parsed for analysis: engine.read_source reads and parses a file;
    engine.parse_bytes parses bytes the caller read (secreview.parallel, when it makes the cache
    keys from the bytes it analyses)."""
    from secreview import engine

    seen = []
    real_read, real_parse = engine.read_source, engine.parse_bytes

    def reading(path, display, limit):
        seen.append(display)
        return real_read(path, display, limit)

    def parsing(data, display):
        seen.append(display)
        return real_parse(data, display)

    monkeypatch.setattr(engine, "read_source", reading)
    monkeypatch.setattr(engine, "parse_bytes", parsing)
    return seen
