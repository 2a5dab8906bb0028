"""Shared test setup: the tests never read or write the user's cache of check results."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """$XDG_CACHE_HOME in a fresh folder (subprocesses inherit it): results cached by an
    earlier run or by the user cannot stand in for a check the tests mean to run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield
