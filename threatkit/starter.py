"""`threatkit init`: a starter model file to edit, explained key by key."""
from __future__ import annotations

from pathlib import Path

DEFAULT_NAME = "model.yaml"

# Kept as text (not built from data) so its comments survive; tests/test_starter.py
# checks it loads, assesses and names only ids the built-in catalog has.
STARTER = """\
# A threatkit model file. Check it with `threatkit validate {name}`; every mistake is
# reported as FILE:LINE: what was found; what was expected.
# The whole format: `threatkit schema` (a JSON Schema, for editors).

threatkit: 1                 # format version (required)
name: My first threat model  # shown in reports and in the batch index

# The built-in catalog: its tiers, actors, pathways (attack trees) and controls are yours
# to use by id. Entries below with the same id as a built-in one replace it.
# List them with: threatkit catalog tiers | actors | pathways | controls | substitutes | assets
include: [builtin]

# What would be replicated: the protected model (or capability) this file is about.
assets:
  - id: my-model                       # any id of lowercase letters, digits and dashes
    name: Our frontier model           # display text
    capability_value: 0.9              # 0..1: how much its capability matters if replicated
    source: "our own judgement"        # where a number comes from (any entry may cite one)
    confidence: low                    # low | moderate | high

# A scenario: one actor with one kind of access, against a set of controls.
# `threatkit assess {name}` assesses every pathway in it; `threatkit batch {name} -o out/`
# writes an HTML report per scenario.
scenarios:
  - id: baseline
    name: A competitor on the public API, with today's controls
    asset: my-model                    # an asset id from above
    actor: competitor                  # who: `threatkit catalog actors`
    tier: public-api                   # what access: `threatkit catalog tiers`
    controls: [rate-limit, customer-screening, anomaly-detection]   # `threatkit catalog controls`
    # capability_threshold: 0.5        # the share of the capability that counts as holding it
    # harvest: adaptive                # adaptive: the actor harvests the fewest samples that clear the
    #                                  # threshold; planned: every query its harvest step plans
    # substitutes: [open-weights]      # what the actor gets without access (`threatkit catalog substitutes`);
    #                                  # absent: every one available to it; []: none
    # exposures:                       # other models the actor also reaches, e.g. another lab's:
    #   - {{asset: rival-model, tier: public-api, controls: [], relative_capability: 0.9}}
    source: "our own judgement"

# In a pathway's tree of your own, a step may say `retry: false` when it can be tried only once
# (an insider who refuses, an exploit that burns when noticed); by default a failed step is tried
# again at once, within the actor's budget and, for a step with queries, the access window.

# Add your own actors, tiers, pathways or controls under `actors:`, `tiers:`, `pathways:` and
# `controls:`; `threatkit catalog examples` lists complete example models to read
# (for instance `threatkit catalog scenarios --model example:mythos`).
"""


def starter_text(path: Path) -> str:
    return STARTER.format(name=path.name)


def write_starter(path: Path) -> Path:
    """Write the starter model at `path`, whole or not at all, and never over an existing
    file (FileExistsError): written to a temporary name, then hard-linked into place, which
    fails if the name exists, even if it appeared after any check."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(starter_text(path).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path
