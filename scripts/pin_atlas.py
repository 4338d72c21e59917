"""Derive threatkit's pinned MITRE ATLAS list from an ATLAS release file.

Usage: python scripts/pin_atlas.py ATLAS-5.6.0.yaml > data/atlas/atlas.yaml

Keeps only what threatkit checks against: id, name and kind of every tactic,
technique (with sub-techniques), mitigation and case study.
"""
import sys

import yaml

HEADER = """\
# MITRE ATLAS {version}: ids and names only, derived by scripts/pin_atlas.py.
# ATLAS (https://atlas.mitre.org) is (c) The MITRE Corporation, licensed under the
# Apache License, Version 2.0; this list is a derived subset of its data.
"""


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        atlas = yaml.safe_load(f)
    matrix = atlas["matrices"][0]
    entries = []
    for section in ("tactics", "techniques", "mitigations"):
        for item in matrix.get(section, []):
            entries.append({"id": item["id"], "name": item["name"], "kind": item["object-type"]})
    for item in atlas.get("case-studies", []):
        entries.append({"id": item["id"], "name": item["name"], "kind": "case-study"})
    entries.sort(key=lambda e: e["id"])
    sys.stdout.write(HEADER.format(version=atlas["version"]))
    yaml.safe_dump({"version": str(atlas["version"]), "entries": entries}, sys.stdout,
                   sort_keys=False, allow_unicode=True, width=200)


if __name__ == "__main__":
    main(sys.argv[1])
