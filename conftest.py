"""Session-wide test settings (pytest loads this for tests/, notebooks/ and templates/ alike)."""
import os
import shutil
import tempfile

_made: list[str] = []


def pytest_configure(config):
    # Models loaded by the tests, their notebooks' kernels and the CLI processes they start are
    # cached in a directory of this session's own (inherited through the environment), never
    # in the user's ~/.cache.
    if "THREATKIT_CACHE_DIR" not in os.environ:
        _made.append(tempfile.mkdtemp(prefix="threatkit-test-cache-"))
        os.environ["THREATKIT_CACHE_DIR"] = _made[0]


def pytest_unconfigure(config):
    for path in _made:
        shutil.rmtree(path, ignore_errors=True)
