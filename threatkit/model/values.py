"""Validated, immutable values of a threat model.

Every class here is a frozen pydantic model that rejects unknown keys, so a
typo in a model file is an error, never a silently ignored setting. Field
descriptions feed `threatkit schema` and editor tooltips.

Numbers that an analyst may be unsure of are `Quantity` values: a scalar, a
`{low, mode, high}` range (PERT in Monte Carlo), or, for probabilities, an
ICD 203 estimative word standing for its band.
"""
from __future__ import annotations

import difflib
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    StrictInt,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
ATLAS_PATTERN = r"^AML\.[A-Z]{1,2}\d{4}(\.\d{3})?$"

# ICD 203 estimative language: word -> probability band (low, high).
ESTIMATIVE_WORDS: dict[str, tuple[float, float]] = {
    "almost no chance": (0.01, 0.05),
    "very unlikely": (0.05, 0.20),
    "unlikely": (0.20, 0.45),
    "roughly even chance": (0.45, 0.55),
    "likely": (0.55, 0.80),
    "very likely": (0.80, 0.95),
    "almost certain": (0.95, 0.99),
}
# The alternative terms ICD 203 pairs with each band.
ESTIMATIVE_SYNONYMS: dict[str, str] = {
    "remote": "almost no chance",
    "highly improbable": "very unlikely",
    "improbable": "unlikely",
    "roughly even odds": "roughly even chance",
    "probable": "likely",
    "highly probable": "very likely",
    "nearly certain": "almost certain",
}

Feature = Literal["outputs", "logprobs", "fine_tuning", "internals", "weights"]
Confidence = Literal["low", "moderate", "high"]
Id = Annotated[str, Field(pattern=ID_PATTERN, description="Identifier: lower case, digits, '.', '_', '-'; at most 64 characters.")]
AtlasId = Annotated[str, Field(pattern=ATLAS_PATTERN, description="MITRE ATLAS id, e.g. AML.T0024.002.")]


class Quantity(BaseModel):
    """An uncertain number: its range and most likely value.

    A scalar has low == mode == high. An estimative word keeps its band as
    low/high and the middle of the band as mode.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    low: float
    mode: float
    high: float
    word: str | None = Field(None, description="The estimative word this came from, if any.")

    @property
    def is_scalar(self) -> bool:
        return self.low == self.high

    @classmethod
    def scalar(cls, value: float) -> Quantity:
        return cls(low=value, mode=value, high=value)

    def __float__(self) -> float:
        return self.mode

    @model_serializer
    def _compact(self) -> Any:
        """Serialise as written: a number, a word, or a {low, mode, high} range."""
        if self.word:
            return self.word
        if self.is_scalar:
            return self.mode
        return {"low": self.low, "mode": self.mode, "high": self.high}


# Defaults, one frozen value each, shared by every entry that leaves them out.
_ZERO = Quantity.scalar(0.0)
_ONE = Quantity.scalar(1.0)


def fail(kind: str, message: str, at: tuple = ()) -> PydanticCustomError:
    """A validation error with a finished message. `at` is a path below the
    value being validated that points at the offending key (for its line)."""
    return PydanticCustomError(kind, "{msg}", {"msg": message, "at": at})


def _closest(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _parse_quantity(value: Any, *, lo: float, hi: float | None, words: bool, above: bool = False) -> Quantity:
    """`above`: the low bound is exclusive (a value must exceed `lo`)."""
    if isinstance(value, Quantity):          # parsed already (model.quantities), most values of a file
        return value
    bounds = (f"above {lo:g} and at most {hi:g}" if above and hi is not None
              else f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}")
    if isinstance(value, bool) or value is None:
        raise fail("quantity", f"expected a number{_expected_forms(words)}, found {'nothing (null)' if value is None else repr(value)}")
    if isinstance(value, (int, float)):
        q = Quantity.scalar(float(value))
    elif isinstance(value, str):
        key = " ".join(value.lower().split())
        key = ESTIMATIVE_SYNONYMS.get(key, key)
        if not words or key not in ESTIMATIVE_WORDS:
            if not words:
                raise fail("quantity", f"expected a number or a {{low, mode, high}} range, found {value!r}")
            hint = _closest(key, list(ESTIMATIVE_WORDS) + list(ESTIMATIVE_SYNONYMS))
            raise fail("quantity", f"unknown estimative word {value!r}{hint}; expected a probability, a range "
                                   f"or one of: {', '.join(ESTIMATIVE_WORDS)}")
        low, high = ESTIMATIVE_WORDS[key]
        q = Quantity(low=low, mode=round((low + high) / 2, 10), high=high, word=key)
    elif isinstance(value, dict):
        keys = set(value)
        if keys != {"low", "mode", "high"}:
            missing = sorted({"low", "mode", "high"} - keys)
            extra = sorted(keys - {"low", "mode", "high"})
            what = "; ".join(filter(None, [missing and f"missing {', '.join(missing)}", extra and f"unknown key {', '.join(map(str, extra))}"]))
            raise fail("quantity", f"a range needs exactly the keys low, mode, high ({what})")
        parts = {}
        for k in ("low", "mode", "high"):
            v = value[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise fail("quantity", f"range {k} must be a number, found {v!r}", (k,))
            parts[k] = float(v)
        if not parts["low"] <= parts["mode"] <= parts["high"]:
            raise fail("quantity", "range must have low <= mode <= high, found "
                                   f"low={parts['low']:g}, mode={parts['mode']:g}, high={parts['high']:g}")
        q = Quantity(**parts)
    else:
        raise fail("quantity", f"expected a number{_expected_forms(words)}, found a {type(value).__name__}")
    for v in (q.low, q.high):
        if v != v or v < lo or (above and v <= lo) or (hi is not None and v > hi):
            raise fail("quantity", f"value must be {bounds}, found {v:g}")
    return q


def _expected_forms(words: bool) -> str:
    return ", a {low, mode, high} range or an estimative word" if words else " or a {low, mode, high} range"


def _quantity_schema(lo: float, hi: float | None, words: bool, above: bool = False) -> dict:
    number = {"type": "number", ("exclusiveMinimum" if above else "minimum"): lo,
              **({"maximum": hi} if hi is not None else {})}
    forms: list[dict] = [number, {"type": "object", "additionalProperties": False, "required": ["low", "mode", "high"],
                                  "properties": {"low": number, "mode": number, "high": number}}]
    if words:
        forms.append({"type": "string", "enum": list(ESTIMATIVE_WORDS) + list(ESTIMATIVE_SYNONYMS)})
    return {"anyOf": forms}


def _quantity(lo: float, hi: float | None, words: bool = False, above: bool = False) -> Any:
    def parse(value: Any) -> Quantity:
        return _parse_quantity(value, lo=lo, hi=hi, words=words, above=above)

    def validate(value: Any, info: ValidationInfo) -> Quantity:
        # a file is validated with a context that parses each distinct raw value once (model/quantities.py)
        shared = getattr(info.context, "quantity", None)
        return parse(value) if shared is None else shared(parse, value)

    return Annotated[Quantity, BeforeValidator(validate), WithJsonSchema(_quantity_schema(lo, hi, words, above))]


Probability = _quantity(0.0, 1.0, words=True)
Fraction = _quantity(0.0, 1.0)
NonNegative = _quantity(0.0, None)
Positive = _quantity(1e-12, None)
RelativeShare = _quantity(0.0, 1.0, above=True)      # in (0, 1]


class Entry(BaseModel):
    """Fields every entry (and tree node) may carry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    name: str | None = Field(None, description="Display name.")
    description: str | None = Field(None, description="Free text.")
    source: str | None = Field(None, description="Citation for the numbers of this entry.")
    confidence: Confidence | None = Field(None, description="Confidence in the numbers: low, moderate or high.")

    @property
    def title(self) -> str:
        return self.name or self.id


class Level(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    level: StrictInt = Field(ge=1, description="Level number, 1 for the lowest.")
    name: str = Field(description="Level name.")
    below: float | None = Field(None, ge=0, description="Exclusive upper bound of values at this level; absent on the last level.")


def _check_levels(levels: tuple[Level, ...], what: str) -> None:
    if not levels:
        raise fail("scales", f"the {what} scale needs at least one level", (what,))
    for i, lv in enumerate(levels, start=1):
        if lv.level != i:
            raise fail("scales", f"{what} levels must be numbered 1, 2, ... in order; level {i} is numbered {lv.level}",
                       (what, i - 1, "level"))
        last = i == len(levels)
        if last and lv.below is not None:
            raise fail("scales", f"the last {what} level takes the rest and must not have 'below'", (what, i - 1, "below"))
        if not last and lv.below is None:
            raise fail("scales", f"{what} level {i} needs 'below' (only the last level takes the rest)", (what, i - 1))
    for i in range(1, len(levels) - 1):
        if levels[i].below <= levels[i - 1].below:
            raise fail("scales", f"{what} 'below' bounds must ascend: level {i + 1} has {levels[i].below:g}, "
                                 f"not above level {i}'s {levels[i - 1].below:g}", (what, i, "below"))


class Band(BaseModel):
    """An estimative word and the probability band it stands for (ICD 203)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    word: str = Field(min_length=1, description="The word, e.g. likely.")
    low: float = Field(ge=0, le=1, description="Lowest probability of the band.")
    high: float = Field(ge=0, le=1, description="Highest probability of the band.")


def _check_bands(bands: tuple[Band, ...]) -> None:
    if not bands:
        raise fail("scales", "the estimative table needs at least one word", ("estimative",))
    for i, b in enumerate(bands):
        if not b.low < b.high:
            raise fail("scales", f"estimative word {b.word!r} needs low < high, found {b.low:g} and {b.high:g}",
                       ("estimative", i))
        if i and b.low != bands[i - 1].high:
            raise fail("scales", f"estimative bands must follow on without gaps or overlaps: {b.word!r} starts at "
                                 f"{b.low:g}, {bands[i - 1].word!r} ends at {bands[i - 1].high:g}", ("estimative", i, "low"))


class Scales(BaseModel):
    """Likelihood and impact scales and the risk matrix that combines them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    likelihood: tuple[Level, ...] | None = Field(None, description="Probability upper bounds, ascending; the last level takes the rest.")
    impact: tuple[Level, ...] | None = Field(None, description="Impact (fidelity x capability value) upper bounds, ascending.")
    risk: tuple[tuple[str, ...], ...] | None = Field(None, description="Risk names: rows are likelihood levels, columns impact levels.")
    estimative: tuple[Band, ...] | None = Field(
        None, description="Words for probabilities in key judgments, with their bands, ascending and contiguous "
                          "(default: ICD 203).")

    @model_validator(mode="after")
    def _consistent(self) -> Scales:
        if self.estimative is not None:
            _check_bands(self.estimative)
        if self.likelihood is not None:
            _check_levels(self.likelihood, "likelihood")
        if self.impact is not None:
            _check_levels(self.impact, "impact")
        if self.risk is not None and self.likelihood is not None and self.impact is not None:
            rows, cols = len(self.likelihood), len(self.impact)
            if len(self.risk) != rows or any(len(r) != cols for r in self.risk):
                raise fail("scales", f"the risk matrix must have {rows} rows (likelihood levels) of {cols} names "
                                     "(impact levels)", ("risk",))
        return self

    def merged_over(self, base: Scales) -> Scales:
        """These scales, with any part left out taken from `base`."""
        # not validated here: a partial override may only fit once merged; load checks the result
        return Scales.model_construct(likelihood=self.likelihood or base.likelihood,
                                      impact=self.impact or base.impact, risk=self.risk or base.risk,
                                      estimative=self.estimative or base.estimative)


class Asset(Entry):
    """The protected model whose capability could be replicated."""

    capability_value: Fraction = Field(description="0..1: how much the asset's capability matters if replicated.")


class Tier(Entry):
    """A way of reaching the asset, and what it exposes."""

    rank: StrictInt = Field(ge=0, description="Ordinal depth of access; higher is deeper.")
    queries_per_day: NonNegative | None = Field(None, description="Queries per account per day; absent means unmetered.")
    duration_days: Positive | None = Field(None, description="How long access lasts; absent means open-ended.")
    exposes: tuple[Feature, ...] = Field((), description="What the tier exposes: outputs, logprobs, fine_tuning, internals, weights.")
    atlas: tuple[AtlasId, ...] = Field((), description="MITRE ATLAS ids of the access this tier gives.")


class Actor(Entry):
    """A threat actor: who might use the access, and with what means."""

    kind: Literal["individual", "intermediary", "competitor", "lab", "insider", "state"] = Field(description="Kind of actor.")
    capacity: Literal["OC1", "OC2", "OC3", "OC4", "OC5"] | None = Field(
        None, description="RAND operational capacity, OC1..OC5 (informational).")
    budget_usd: NonNegative = Field(description="Money the actor can spend on one pathway.")
    skill: StrictInt = Field(ge=1, le=5, description="Technical skill, 1..5.")
    accounts: Positive = Field(default_factory=lambda: _ONE, description="Accounts the actor can run in parallel.")
    independent_months: NonNegative | None = Field(
        None, description="Months the actor needs to reach the asset's full capability on its own; absent: never.")


LEAF_KEYS = ("p", "cost_usd", "time_days", "skill", "queries", "requires", "min_rank", "retry")



class Node(BaseModel):
    """A node of an attack tree: a gate with children, or a leaf step."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    label: str | None = Field(None, description="Display text.")
    name: str | None = Field(None, description="Display text (alias of label).")
    description: str | None = None
    source: str | None = Field(None, description="Citation for the numbers of this step.")
    confidence: Confidence | None = None
    gate: Literal["and", "or", "sand"] | None = Field(None, description="and, or, sand (sequential and); absent on a leaf.")
    children: tuple[Node, ...] | None = Field(None, description="Child nodes of a gate.")
    p: Probability | None = Field(None, description="Probability that the step succeeds once attempted.")
    cost_usd: NonNegative = Field(default_factory=lambda: _ZERO, description="Cost of the step.")
    time_days: NonNegative = Field(default_factory=lambda: _ZERO, description="Time the step takes, at least.")
    skill: StrictInt = Field(1, ge=1, le=5, description="Skill the step needs, 1..5.")
    queries: NonNegative | None = Field(None, description="Queries to the model the step needs.")
    requires: tuple[Feature, ...] = Field((), description="Tier features the step needs.")
    min_rank: StrictInt | None = Field(None, ge=0, description="Lowest tier rank the step works from.")
    retry: bool = Field(True, description="Whether a failed attempt is tried again at once (default true); "
                                          "false: the step can be tried once (an insider who refuses, an "
                                          "exploit that burns when noticed).")
    atlas: tuple[AtlasId, ...] = Field((), description="MITRE ATLAS technique ids of the step.")

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if data is None or data == {}:
            raise fail("tree", "empty tree node; expected a gate with children, or a leaf with p")
        if not isinstance(data, dict):
            return data
        name = data.get("id")
        if "gate" in data or "children" in data:
            if "gate" not in data:
                raise fail("tree", f"node {name!r} has children but no gate; expected gate: and, or or sand")
            if not data.get("children"):
                raise fail("tree", f"gate node {name!r} has no children; a gate needs at least one child",
                           ("children",) if "children" in data else ("gate",))
            stray = [k for k in data if k in LEAF_KEYS]
            if stray:
                raise fail("tree", f"gate node {name!r} cannot carry leaf fields ({', '.join(stray)}); "
                                   "put them on its leaves", (stray[0],))
        elif "p" not in data:
            raise fail("tree", f"leaf {name!r} has no p (probability of success); a leaf needs p, "
                               "or a gate and children")
        return data

    @model_serializer(mode="wrap")
    def _as_written(self, handler) -> Any:
        """Drop unset optional keys, and leaf defaults from gates, so a dump loads back."""
        out = handler(self)
        if isinstance(out, dict):
            out = {k: v for k, v in out.items() if v is not None and v != ()}
            if out.get("retry") is True:
                del out["retry"]             # the default
            if self.gate:
                out = {k: v for k, v in out.items() if k not in LEAF_KEYS}
        return out

    @property
    def is_leaf(self) -> bool:
        return self.gate is None

    @property
    def title(self) -> str:
        return self.label or self.name or self.id

    def walk(self):
        """This node and its descendants, depth first, parents before children."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            if node.children:
                stack.extend(reversed(node.children))


def _check_points(points: Any, key: str, unit: str, expected: str, least: float) -> None:
    """[x, share] points: a non-empty list of pairs, x >= `least` and strictly ascending (the
    shares are checked as quantities by the field itself)."""
    at = (key.rpartition(".")[2],)
    if not isinstance(points, (list, tuple)) or not points:
        from threatkit.model.errors import describe     # errors imports this module
        found = "an empty list" if isinstance(points, (list, tuple)) else describe(points)
        raise fail("points", f"{key} must be a non-empty list of [{unit}, share] points, found {found}", at)
    previous = None
    for i, point in enumerate(points):
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise fail("points", f"point {i + 1} of {key} must be a pair [{unit}, share], found {point!r}", at + (i,))
        x = point[0]
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not x >= least:
            raise fail("points", f"point {i + 1} of {key} needs {expected}, found {x!r}", at + (i, 0))
        if previous is not None and x <= previous:
            raise fail("points", f"{key} {unit} must ascend strictly: point {i + 1} has {x:g} after {previous:g}",
                       at + (i, 0))
        previous = x


class Transfer(BaseModel):
    """How much capability a pathway transfers, by the teacher samples one step collects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    samples_from: Id = Field(description="The leaf (with `queries`) whose collected queries are the teacher samples.")
    curve: tuple[tuple[float, Fraction], ...] = Field(
        description="[samples, share] points, samples strictly ascending and >= 1; the share is linear in "
                    "log10(samples) between points, flat after the last, and rises from 0 at 1 sample to the first.")

    @model_validator(mode="before")
    @classmethod
    def _points(cls, data: Any) -> Any:
        if isinstance(data, dict) and "curve" in data:
            _check_points(data["curve"], "transfer.curve", "samples", "a number of samples >= 1", 1.0)
        return data

    def share(self, samples: float) -> float:
        """The share at `samples`, at each point's mode."""
        from threatkit.analysis.transfer import share_at   # the one implementation of the interpolation
        return float(share_at(samples, [n for n, _ in self.curve], [q.mode for _, q in self.curve]))


class Pathway(Entry):
    """A transfer pathway from access to capability, as an attack tree."""

    fidelity: Fraction = Field(description="Share of the asset's capability the pathway transfers, 0..1 "
                                           "(replaced by `transfer` where given).")
    persistent: bool = Field(False, description="Whether the capability outlives access (a trained student, stolen "
                                                "weights); direct use does not. Default false.")
    needs_access: bool = Field(False, description="Whether every step goes through the tier (direct use, probing), "
                                                  "so nothing of it succeeds after access ends. A harvest step is "
                                                  "bounded by the access window anyway: a pathway that harvests, then "
                                                  "trains offline, does not need it.")
    transfer: Transfer | None = Field(None, description="Share of capability by teacher samples collected; replaces "
                                                        "`fidelity`.")
    atlas: tuple[AtlasId, ...] = Field((), description="MITRE ATLAS technique ids of the pathway.")
    tree: Node = Field(description="The attack tree; its root is the goal.")

    @model_validator(mode="after")
    def _unique_nodes(self) -> Pathway:
        ids = [node.id for node in self.tree.walk()]
        if len(set(ids)) < len(ids):
            seen: set[str] = set()
            stack: list[tuple[Node, tuple]] = [(self.tree, ("tree",))]
            while stack:                 # the same walk, now with paths: the second use's
                node, path = stack.pop()
                if node.id in seen:
                    raise fail("duplicate_node", f"node id {node.id!r} is used twice in pathway {self.id!r}; "
                                                 "node ids must be unique within a pathway", path + ("id",))
                seen.add(node.id)
                for i, child in reversed(list(enumerate(node.children or ()))):
                    stack.append((child, path + ("children", i)))
        if self.transfer is not None:
            step = self.nodes.get(self.transfer.samples_from)
            if step is None or not step.is_leaf or step.queries is None:
                what = ("no such node" if step is None else "a gate, not a leaf" if not step.is_leaf
                        else "a leaf without queries")
                raise fail("transfer", f"transfer.samples_from {self.transfer.samples_from!r} must name a leaf "
                                       f"of this pathway's tree that has queries ({what}); leaves with queries: "
                                       f"{', '.join(n.id for n in self.tree.walk() if n.is_leaf and n.queries is not None) or 'none'}",
                           ("transfer", "samples_from"))
        return self

    @cached_property
    def nodes(self) -> dict[str, Node]:
        """The tree's nodes by id."""
        return {n.id: n for n in self.tree.walk()}


class Control(Entry):
    """A control that counters steps, or caps the access, of a scenario."""

    counters: tuple[Id, ...] = Field((), description="Step ids or pathway ids the control acts on (a pathway id: every step of it).")
    effectiveness: Fraction = Field(default_factory=lambda: _ZERO, description="Multiplies a countered step's p by (1 - effectiveness).")
    detection_per_million_queries: Fraction | None = Field(None, description="Chance of detection per million queries of a countered step.")
    caps_queries_per_day: NonNegative | None = Field(None, description="Caps the tier's queries per account per day.")
    caps_accounts: Positive | None = Field(None, description="Caps the number of accounts the actor can run.")
    cost_usd: NonNegative = Field(default_factory=lambda: _ZERO, description="Cost of running the control.")
    atlas: tuple[AtlasId, ...] = Field((), description="MITRE ATLAS mitigation ids.")


class Substitute(Entry):
    """What the world offers an actor without access: an open-weight release, a domestic lab's
    model. Held for sure and for good (open weights cannot be recalled)."""

    share: tuple[tuple[float, Fraction], ...] = Field(
        description="[months, share] points, months >= 0 strictly ascending: the share of the asset's capability "
                    "the substitute gives by month since the scenario starts (0 before the first point, linear "
                    "between points, the last share after the last).")
    available_to: tuple[Id, ...] | None = Field(None, description="Actor ids it is available to; absent: every actor.")
    assets: tuple[Id, ...] | None = Field(None, description="Asset ids it substitutes for; absent: every asset.")

    @model_validator(mode="before")
    @classmethod
    def _points(cls, data: Any) -> Any:
        if isinstance(data, dict) and "share" in data:
            _check_points(data["share"], "share", "months", "a number of months >= 0", 0.0)
        return data

    def applies_to(self, actor: str, asset: str) -> bool:
        return ((self.available_to is None or actor in self.available_to)
                and (self.assets is None or asset in self.assets))


class Exposure(BaseModel):
    """Another model the scenario's actor also reaches: every pathway is evaluated on it too."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: Id = Field(description="Asset id of the other model (not the scenario's own asset).")
    tier: Id = Field(description="Tier id: how the actor reaches it.")
    controls: tuple[Id, ...] = Field((), description="Control ids in place on it (default none); they act on this "
                                                     "exposure only.")
    relative_capability: RelativeShare = Field(
        default_factory=lambda: _ONE,
        description="Its capability as a share of the scenario's asset's, in (0, 1] (default 1).")


class Scenario(Entry):
    """An asset, an actor, a tier and the controls in place."""

    asset: Id = Field(description="Asset id.")
    actor: Id = Field(description="Actor id.")
    tier: Id = Field(description="Tier id.")
    controls: tuple[Id, ...] = Field((), description="Control ids in place.")
    capability_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Share of the asset's capability that counts as holding it (default 0.5).")
    independent_months: NonNegative | None = Field(
        None, description="Overrides the actor's independent_months in this scenario.")
    harvest: Literal["adaptive", "planned"] | None = Field(
        None, description="How much a transfer STEP harvests: adaptive (default; the least whole number of "
                          "samples that clears the threshold, capped by what access allows) or planned (all "
                          "the step's queries that access allows).")
    substitutes: tuple[Id, ...] | None = Field(
        None, description="Substitute ids that apply, used as given ([] = none); absent: every substitute "
                          "available to the actor and the asset.")
    exposures: tuple[Exposure, ...] = Field((), description="Other models the actor also reaches.")

    @model_validator(mode="after")
    def _distinct_exposures(self) -> Scenario:
        seen: dict[str, int] = {}
        for i, e in enumerate(self.exposures):
            if e.asset == self.asset:
                raise fail("exposure", f"exposure {i + 1} names the scenario's own asset {e.asset!r}; an exposure "
                                       "is another model the actor reaches (the scenario's own access is its tier)",
                           ("exposures", i, "asset"))
            if e.asset in seen:
                raise fail("exposure", f"asset {e.asset!r} is exposed twice (exposures {seen[e.asset] + 1} and "
                                       f"{i + 1}); expected one exposure per other model",
                           ("exposures", i, "asset"))
            seen[e.asset] = i
        return self


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):    # YAML's `yes`/`true` must not pass for version 1
        raise fail("version", f"found {value!r}; expected 1")
    return value


KINDS = ("assets", "tiers", "actors", "pathways", "controls", "substitutes", "scenarios")


class ModelFile(BaseModel):
    """One model file as written: a subset of kinds, merged with its includes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threatkit: Annotated[Literal[1], BeforeValidator(_no_bool)] = Field(description="Format version; 1.")
    name: str | None = Field(None, description="Name of the model.")
    description: str | None = None
    source: str | None = None
    confidence: Confidence | None = None
    include: tuple[str, ...] = Field(("builtin",), description="'builtin' and/or paths to other model files, relative to this one; [] starts from nothing.")
    scales: Scales | None = Field(None, description="Likelihood and impact scales and risk matrix; built-in defaults apply where absent.")
    assets: tuple[Asset, ...] = ()
    tiers: tuple[Tier, ...] = ()
    actors: tuple[Actor, ...] = ()
    pathways: tuple[Pathway, ...] = ()
    controls: tuple[Control, ...] = ()
    substitutes: tuple[Substitute, ...] = ()
    scenarios: tuple[Scenario, ...] = ()


class ThreatModel(BaseModel):
    """A whole, resolved threat model: every reference checked, includes merged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    scales: Scales
    assets: tuple[Asset, ...] = ()
    tiers: tuple[Tier, ...] = ()
    actors: tuple[Actor, ...] = ()
    pathways: tuple[Pathway, ...] = ()
    controls: tuple[Control, ...] = ()
    substitutes: tuple[Substitute, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    _warnings: tuple = PrivateAttr(())     # set by the loader; not a key of the model file

    @property
    def warnings(self) -> tuple:
        """Problems that did not stop the model loading (each with file, line and message),
        e.g. an inherited control that counters a step an override removed."""
        return self._warnings

    def __repr__(self) -> str:
        counts = ", ".join(f"{len(getattr(self, k))} {k}" for k in KINDS)
        return f"<ThreatModel {self.name or '(unnamed)'}: {counts}>"

    @cached_property
    def _indexes(self) -> dict[str, dict[str, Any]]:
        """id -> entry for every kind, built once (the model is immutable)."""
        return {kind: {e.id: e for e in getattr(self, kind)} for kind in KINDS}

    def _index(self, kind: str) -> dict[str, Any]:
        return self._indexes[kind]

    def get(self, kind: str, id: str) -> Any:
        """The entry of `kind` with `id`; KeyError naming the closest id otherwise."""
        index = self._index(kind)
        try:
            return index[id]
        except KeyError:
            raise KeyError(f"unknown {kind[:-1]} {id!r}{_closest(id, list(index))}") from None

    def asset(self, id: str) -> Asset:
        return self.get("assets", id)

    def tier(self, id: str) -> Tier:
        return self.get("tiers", id)

    def actor(self, id: str) -> Actor:
        return self.get("actors", id)

    def pathway(self, id: str) -> Pathway:
        return self.get("pathways", id)

    def control(self, id: str) -> Control:
        return self.get("controls", id)

    def scenario(self, id: str) -> Scenario:
        return self.get("scenarios", id)

    def substitute(self, id: str) -> Substitute:
        return self.get("substitutes", id)

    def substitutes_of(self, scenario: Scenario) -> tuple[Substitute, ...]:
        """The substitutes that apply to a scenario: its `substitutes` as given, else every one
        available to its actor and asset."""
        if scenario.substitutes is not None:
            return tuple(self.substitute(i) for i in scenario.substitutes)
        return tuple(x for x in self.substitutes if x.applies_to(scenario.actor, scenario.asset))

    def with_harvest(self, harvest: str | None) -> ThreatModel:
        """This model with every scenario's `harvest` set (the CLI's --harvest); itself for None."""
        if harvest is None:
            return self
        if harvest not in ("adaptive", "planned"):
            raise ValueError(f"harvest must be adaptive or planned, found {harvest!r}")
        fields = {k: getattr(self, k) for k in type(self).model_fields}
        fields["scenarios"] = tuple(s.model_copy(update={"harvest": harvest}) for s in self.scenarios)
        out = type(self)(**fields)
        out._warnings = self._warnings
        return out
