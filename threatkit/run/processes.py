"""Forking and killing child processes, for the batch runners and the engine."""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path


def fork() -> int:
    """os.fork with SIGINT held back meanwhile: CPython drops a KeyboardInterrupt raised
    inside its after-fork hooks, so a Ctrl-C arriving mid-fork would be lost. Held, it is
    delivered to the parent just after, where it interrupts as usual.

    Masking SIGINT in this thread is not enough when the process has other threads (the
    progress heartbeat): the kernel hands the signal to one of them and the main thread
    still raises in the hook. So the Python-level handler only records it meanwhile."""
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
