"""A per-user cache of validated models, keyed by the content of every file that went in.

A large model (a 2.7 MB file) takes seconds to parse and validate; unpickling the
validated model takes a tenth of that. An entry is found by a hash of the model file's
path and bytes (and of threatkit's own model code, so an upgrade never reads an entry
built by other code), and holds the hash of every other file the model read: its
includes, the built-in catalog, the ATLAS list. It is used only if all of them are
unchanged, so editing an include rebuilds the model.

Pickle runs code when it loads, so entries are only ever read from a directory private
to the user: created 0700, and used only if it is a real directory owned by this user
that no one else may write. That privacy is what makes pickle acceptable here; a shared
or foreign directory is ignored, never read. An entry that fails to load for any reason
is ignored and rebuilt. Entries are written atomically (a temporary file renamed into
place), and only the most recently used MAX_ENTRIES are kept.

THREATKIT_CACHE=0 turns the cache off; THREATKIT_CACHE_DIR puts it elsewhere (tests use
a temporary directory); by default it is $XDG_CACHE_HOME/threatkit (~/.cache/threatkit).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
from functools import lru_cache
from pathlib import Path

from threatkit.cachedir import cache_dir as private_cache_dir
from threatkit.files import atomic_write
from threatkit.model.yamlsafe import gc_paused

MAX_ENTRIES = 32


def cache_dir() -> Path | None:
    """The cache directory, created if missing; None when the cache is off or the directory is not private."""
    return private_cache_dir()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=1)
def _code_version() -> bytes:
    """threatkit's model code, Python and pydantic: a pickled model depends on all three."""
    import pydantic

    import threatkit

    h = hashlib.sha256(f"{threatkit.__version__}|{sys.version}|{pydantic.VERSION}".encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        h.update(source.read_bytes())
    return h.digest()


def _entry(folder: Path, path: Path, text: bytes) -> Path:
    key = hashlib.sha256(_code_version())
    for part in (str(path).encode(), str(path.resolve()).encode(), text):
        key.update(len(part).to_bytes(8, "little") + part)
    return folder / f"{key.hexdigest()}.pickle"


def unchanged(files: dict[str, str]) -> bool:
    """Every file still holds the bytes whose sha256 is given."""
    for name, expected in files.items():
        try:
            if digest(Path(name).read_bytes()) != expected:
                return False
        except OSError:
            return False
    return True


def lookup(path: Path, text: bytes):
    """(the other files it read, {path: sha256}; the cached model) for the file at `path`
    holding `text`, or None."""
    folder = cache_dir()
    if folder is None:
        return None
    entry = _entry(folder, path, text)
    try:
        raw = entry.read_bytes()
    except OSError:
        return None
    try:
        with gc_paused(kept=True):
            stored = pickle.loads(raw)     # private directory: see the module docstring
        files, model = stored["files"], stored["model"]
    except Exception:                      # a corrupt or truncated entry: rebuild it
        return None
    from threatkit.model.values import ThreatModel

    if not isinstance(model, ThreatModel) or not isinstance(files, dict) or not unchanged(files):
        return None
    try:
        os.utime(entry)                    # most recently used: kept longest
    except OSError:
        pass
    return files, model


def put(path: Path, text: bytes, files: dict[str, str], model) -> None:
    """Store `model`, built from `text` at `path` and the other `files` ({path: sha256})."""
    folder = cache_dir()
    if folder is None:
        return
    entry = _entry(folder, path, text)
    try:
        data = pickle.dumps({"files": files, "model": model}, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write(entry, data, mode=0o600, durable=False)      # a torn entry reads as a miss
        _prune(folder)
    except (OSError, pickle.PicklingError):
        pass                               # a cache that cannot be written only costs time


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)
