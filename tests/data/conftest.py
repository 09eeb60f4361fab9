"""Fixtures for the dataset tests: a fresh TFDS data folder and cache per test."""

import pytest


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "tfds")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    # Builders cache expensive parses here; a test must not depend on a warm cache.
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
