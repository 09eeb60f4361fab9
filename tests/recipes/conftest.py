"""Fixtures of the recipe tests: one TFDS folder shared by the session."""

import pytest


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tfds"))
