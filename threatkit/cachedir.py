"""threatkit's per-user cache directory, for what is costly to build and safe to keep.

What is kept there is loaded as code (compiled WebAssembly, compiled Jinja
templates), so it is only ever used if private to the user: created 0700,
owned by this user, writable by no one else; a shared or foreign directory is
never read. THREATKIT_CACHE=0 turns caching off; THREATKIT_CACHE_DIR puts the
directory elsewhere; by default it is $XDG_CACHE_HOME/threatkit (~/.cache/threatkit).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

OFF = {"0", "off", "no", "false"}


def cache_dir(sub: str = "") -> Path | None:
    """The cache directory (or its subdirectory `sub`), created if missing; None when
    caching is off or the directory is not private."""
    if os.environ.get("THREATKIT_CACHE", "1").strip().lower() in OFF or not hasattr(os, "getuid"):
        return None
    where = os.environ.get("THREATKIT_CACHE_DIR")
    path = Path(where) if where else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "threatkit"
    for folder in (path, path / sub) if sub else (path,):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            return None
        if not (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077):
            return None
    return path / sub if sub else path
