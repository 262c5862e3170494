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
