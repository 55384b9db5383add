"""Fixtures for the datasets tests. The bundled corpora must be in place (`make data`): the tests
that read them fail, not skip, when they are missing, because CI runs `make data` first."""

import pytest

from datasets import cache
from datasets.fetch import DEBIAN_FILES


@pytest.fixture(scope="session")
def bundled_cache():
    """The real cache directory, checked to hold every Debian corpus."""
    root = cache.cache_dir()
    missing = [d.package for d in DEBIAN_FILES if not cache.is_complete(root / d.target)]
    assert not missing, f"bundled corpora missing in {root}: {missing}; run `make data`"
    return root
