"""Loading, step 4 of 5: the sources' layers, in order -> one Layer.

Later files override earlier ones: an entry replaces the one of the same kind and id
(keeping its place in the order), the scales replace part by part, a name replaces the
name. Ids that failed to validate anywhere stay known, so that no reference to them is
reported as unknown.
"""
from __future__ import annotations

from typing import Iterable

from threatkit.model.validate import Layer
from threatkit.model.values import KINDS


def merge(layers: Iterable[Layer]) -> Layer:
    """A new layer: `layers` one over the other (none of them is changed)."""
    merged = Layer()
    for layer in layers:
        merged.scales = layer.scales.merged_over(merged.scales)
        merged.scales_origin = layer.scales_origin or merged.scales_origin
        for kind in KINDS:
            merged.entries[kind].update(layer.entries[kind])
            merged.invalid_ids[kind] |= layer.invalid_ids[kind]
        merged.invalid_steps |= layer.invalid_steps
        merged.origins.update(layer.origins)
        merged.name = layer.name or merged.name
    return merged
