"""Forking and killing child processes, for the batch runners and the engine; the allocator's
settings they inherit."""
from __future__ import annotations

import ctypes
import os
import signal
import threading
from pathlib import Path


def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep the memory it frees for the next allocation rather than give
    it back to the system at once. The clock allocates and frees arrays of megabytes by the
    thousand, and each one given back is faulted in again, zeroed, on the next (10-15 % of a
    report's time). Arrays under 32 MB then come from the heap (M_MMAP_THRESHOLD), which is
    trimmed once 512 MB lie free at its top (M_TRIM_THRESHOLD). Forked children inherit it.
    Without glibc, nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mallopt(M_TRIM_THRESHOLD, 512 << 20)
    mallopt(M_MMAP_THRESHOLD, 32 << 20)


def fork() -> int:
    """os.fork with SIGINT held back meanwhile: CPython drops a KeyboardInterrupt raised
    inside its after-fork hooks, so a Ctrl-C arriving mid-fork would be lost. Held, it is
    delivered to the parent just after, where it interrupts as usual.

    Masking SIGINT in this thread is not enough when the process has other threads (the
    progress heartbeat): the kernel hands the signal to one of them and the main thread
    still raises in the hook. So the Python-level handler only records it meanwhile.

    The WebAssembly Graphviz is started first (render.wasm.start), so that no child compiles it."""
    _start_renderer()
    held: list[int] = []
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum)) if main else None
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    pid = -1
    try:
        pid = os.fork()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        if main:
            signal.signal(signal.SIGINT, previous)
    if held and pid != 0:
        signal.raise_signal(signal.SIGINT)        # the parent interrupts now, as the user meant
    return pid


def _start_renderer() -> None:
    from threatkit.render.graphviz import RenderError, backend

    try:
        if backend() != "wasm":
            return
    except RenderError:
        return                        # a bad THREATKIT_GRAPHVIZ: the child's drawing reports it
    from threatkit.render.wasm import start

    start()


def descendants(pid: int) -> list[int]:
    """Every living descendant of `pid` (children first), read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # the command name (2nd field) may hold spaces or parentheses: parse after the last ')'
        fields = text[text.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL a process, its process group and every descendant, including those that
    started sessions of their own (Jupyter kernels do)."""
    for target in [*descendants(pid), pid]:
        for kill in (os.killpg, os.kill):
            try:
                kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
