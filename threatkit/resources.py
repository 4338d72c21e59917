"""Find the data and templates shipped with threatkit, installed or checked out."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder `data` or `templates`: inside an installed wheel, else the checkout's."""
    for candidate in (_PACKAGE / f"_{name}", _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"threatkit's {name}/ folder is missing; reinstall threatkit")


def data_path(filename: str) -> Path:
    return resource_dir("data") / filename
