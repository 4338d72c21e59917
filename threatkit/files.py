"""Write output files atomically: a reader never sees a half-written file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | Path, data: str | bytes, mode: int = 0o644, durable: bool = True) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it into place.
    `mode` 0o600 keeps a private cache entry private (the temporary file starts that way).
    `durable`: on disk before the rename (fsync), so a crash leaves the old file or the new one,
    never a torn one; a cache, which reads a torn entry as a miss, need not wait for the disk."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
