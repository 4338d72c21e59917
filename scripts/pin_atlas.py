"""Derive threatkit's pinned MITRE ATLAS list from an ATLAS release file.

Usage: python scripts/pin_atlas.py ATLAS-5.6.0.yaml > data/atlas/atlas.yaml

Keeps only what threatkit checks against and exports: id, name and kind of
every tactic, technique (with sub-techniques), mitigation and case study; a
tactic's shortname (the Navigator's and STIX kill-chain phase name) and a
technique's tactics (a sub-technique has its parent's, as in ATLAS's STIX).
"""
import sys

import yaml

HEADER = """\
# MITRE ATLAS {version}: ids and names only, derived by scripts/pin_atlas.py.
# ATLAS (https://atlas.mitre.org) is (c) The MITRE Corporation, licensed under the
# Apache License, Version 2.0; this list is a derived subset of its data.
"""


def shortname(tactic_name: str) -> str:
    """'AI Model Access' -> 'ai-model-access', as ATLAS's STIX x_mitre_shortname."""
    return "-".join(tactic_name.lower().split())


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        atlas = yaml.safe_load(f)
    matrix = atlas["matrices"][0]
    techniques = {t["id"]: t for t in matrix.get("techniques", [])}
    entries = []
    for section in ("tactics", "techniques", "mitigations"):
        for item in matrix.get(section, []):
            entry = {"id": item["id"], "name": item["name"], "kind": item["object-type"]}
            if section == "tactics":
                entry["shortname"] = shortname(item["name"])
            if section == "techniques":
                owner = techniques.get(item.get("subtechnique-of"), item)
                entry["tactics"] = list(owner.get("tactics", []))
            entries.append(entry)
    for item in atlas.get("case-studies", []):
        entries.append({"id": item["id"], "name": item["name"], "kind": "case-study"})
    entries.sort(key=lambda e: e["id"])
    sys.stdout.write(HEADER.format(version=atlas["version"]))
    yaml.safe_dump({"version": str(atlas["version"]), "entries": entries}, sys.stdout,
                   sort_keys=False, allow_unicode=True, width=200)


if __name__ == "__main__":
    main(sys.argv[1])
