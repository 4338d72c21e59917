"""Re-execute the stored notebooks in place, so their outputs match the code.

    python scripts/refresh_notebooks.py [NOTEBOOK...]   # default: notebooks/*.ipynb templates/*.ipynb

nbval compares these stored outputs in CI. Each notebook runs in a fresh
kernel from its own folder; widget state is stored (so a static HTML export
shows the controls); no timings or versions are kept in the files.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=600, record_timing=False,
                            store_widget_state=True, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, path)
    print(f"refreshed {path.relative_to(ROOT)}")


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("templates/*.ipynb"))
    for path in paths:
        refresh(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
