"""Re-execute the stored notebooks in place, so their outputs match the code.

    python scripts/refresh_notebooks.py [NOTEBOOK...]   # default: notebooks/*.ipynb templates/*.ipynb

nbval compares these stored outputs in CI. Each notebook runs in a fresh
kernel from its own folder; widget state is stored (so a static HTML export
shows the controls); no timings or versions are kept in the files, and the
widgets' random model ids are renamed to ids derived from the notebook's name
and their order, so that a refresh with nothing changed changes no byte.
"""
from __future__ import annotations

import json
import re
import sys
import uuid
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
    nbformat.write(stable_widget_ids(nb, path.name), path)
    print(f"refreshed {path.relative_to(ROOT)}")


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def stable_widget_ids(nb, name: str):
    """The notebook with each widget model id (uuid4 hex, new on every run) replaced by a uuid5 of
    the notebook's name and the id's rank in the stored widget state."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return nb
    text = json.dumps(nb)
    ids = sorted(state, key=text.index)                  # by first mention: the order the run made them
    new = {old: uuid.uuid5(uuid.NAMESPACE_URL, f"threatkit:{name}:{k}").hex for k, old in enumerate(ids)}
    text = re.sub("|".join(map(re.escape, new)), lambda m: new[m.group(0)], text)
    return nbformat.from_dict(json.loads(text))


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("templates/*.ipynb"))
    for path in paths:
        refresh(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
