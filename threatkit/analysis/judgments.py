"""Key judgments: the first half page of a brief, in ICD 203 estimative language.

Each judgment is a statement with its probability, the estimative word whose
band holds it (the model's `scales.estimative`, ICD 203 by default), a
confidence level and the inputs it rests on.

Probabilities. With `samples`, each is the mean over Monte Carlo draws (the
chance of durable capability by day t is the mean of durable(t) over draws; a
pathway's the mean of its per-draw probability, as `assess` gives it);
without, the value at the modes. Lead and acceleration are judged as the
chance that the controls delay durable capability at all (lead > 0) and that
access gets the actor there sooner than its own work (acceleration > 0), with
their median and 90% band; without samples they have no probability.

Words. A probability takes the word whose band [low, high) holds it (the
last band is closed). ICD 203 names no band below 1% or above 99%: there the
end words stand, and the band given with them is widened to 0 or to 1.

Inputs. A judgment rests on the uncertain inputs that move it: one-at-a-time
swings (`sensitivity.sweep`, 5th to 95th percentile) of the judgment's own
quantity, the largest first, those within a tenth of the largest swing, at
most five.

Confidence (low < moderate < high), from the entries behind the judgment: the
scenario (when it gives a source or a confidence: a scenario with neither is
a hypothetical, not a claim), the actor, the tier, and the entry of each
input it rests on (a step without a source or confidence of its own takes its
pathway's). An entry counts as its `confidence`, or moderate when it has a
source but no confidence; an entry without a source counts as low whatever
it says. The judgment takes the lowest.

Unconfirmed claims. An entry is a reported but unconfirmed claim when its
confidence is low and its source says so: it contains "reported", "claimed",
"alleged", "unconfirmed" or "not confirmed". The brief says so in its premise
and in the confidence of every judgment that rests on one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from threatkit.analysis import phrases as ph
from threatkit.analysis.assess import Setting, evaluate
from threatkit.analysis.sensitivity import JUDGED_DAYS, Sweep, sweep
from threatkit.analysis.simulate import Sampler
from threatkit.analysis.timeline import (
    DEFAULT_HORIZON_DAYS,
    Answer,
    acceleration,
    days_to_durable,
    durable,
    lead,
    percentiles,
)
from threatkit.model.inputs import Input
from threatkit.model.values import ESTIMATIVE_WORDS, Band, Scales, ThreatModel

LEVELS = ("low", "moderate", "high")
CLAIM_MARKS = ("reported", "claimed", "alleged", "unconfirmed", "not confirmed")
MONTHS = {91: 3, 183: 6, 365: 12}
# the sweep outputs the judgments rest on (besides lead, acceleration and the pathways' probabilities)
JUDGED_OUTPUTS = tuple(f"{k}:{d}" for d in JUDGED_DAYS for k in ("durable", "durable_without_controls"))
MAX_INPUTS = 5
DRIVER_SHARE = 0.1          # an input drives a judgment when its swing is within a tenth of the largest

CHANCE, CHANCE_CAP = "\x00chance\x00", "\x00Chance\x00"     # where the estimative clause goes in a statement
DURABLE = ("To hold capability durably is to hold it in a form that outlives the access: a trained student "
           "model or stolen weights.")
DEFAULT_BANDS = tuple(Band(word=w, low=lo, high=hi) for w, (lo, hi) in ESTIMATIVE_WORDS.items())


def estimative(p: float, scales: Scales | None = None) -> tuple[str, tuple[float, float]]:
    """The word whose band holds `p`, and that band (widened to 0 or 1 at the ends)."""
    bands = (scales.estimative if scales is not None and scales.estimative else None) or DEFAULT_BANDS
    last = len(bands) - 1
    for i, b in enumerate(bands):
        if p < b.high or i == last:
            low = 0.0 if i == 0 and p < b.low else b.low
            high = 1.0 if i == last and p > b.high else b.high
            return b.word, (low, high)
    raise ValueError("the estimative table is empty")


# ---- entries: confidence and claims -------------------------------------------------------

def entry_confidence(entry, pathway=None) -> str:
    """low / moderate / high for one entry or step (see the module docstring)."""
    source, conf = _own(entry, pathway)
    if not source:
        return "low"
    return conf or "moderate"


def is_claim(entry, pathway=None) -> bool:
    """A reported but unconfirmed claim: marked low, and its source says it is reported or unconfirmed."""
    source, conf = _own(entry, pathway)
    return conf == "low" and bool(source) and any(m in source.lower() for m in CLAIM_MARKS)


def _own(entry, pathway) -> tuple[str | None, str | None]:
    if entry.source is None and entry.confidence is None and pathway is not None and entry is not pathway:
        return pathway.source, pathway.confidence
    return entry.source, entry.confidence


@dataclass(frozen=True)
class Support:
    """An entry a judgment rests on: what to call it, its confidence, whether it is a claim."""

    ref: str              # KIND:ID(:FIELD)
    phrase: str           # how a sentence names it: "the access it assumes", "the budget of the insider"
    confidence: str
    claim: bool
    has_source: bool
    source: str | None


def _support(ref: str, phrase: str, entry, pathway=None) -> Support:
    source, _ = _own(entry, pathway)
    return Support(ref, phrase, entry_confidence(entry, pathway), is_claim(entry, pathway), bool(source), source)


def _figures(title: str, article: bool = False) -> str:
    return f"the figures for {ph.the(title) if article else ph.common(title)}"


def _premise(model: ThreatModel, scenario: str, setting: Setting) -> list[Support]:
    s = model.scenario(scenario)
    out = []
    if s.source or s.confidence:
        out.append(_support(f"scenario:{s.id}", "the access it assumes", s))
    out.append(_support(f"actor:{setting.actor.id}", _figures(setting.actor.title, True), setting.actor))
    out.append(_support(f"tier:{setting.tier.id}", _figures(setting.tier.title), setting.tier))
    return out


def _confidence(supports: list[Support]) -> tuple[str, str]:
    """The lowest confidence among the supports, and why, in words."""
    level = min((LEVELS.index(s.confidence) for s in supports), default=1)
    claims = [s for s in supports if s.claim]
    unsourced = [s for s in supports if not s.has_source]
    low = [s for s in supports if s.confidence == "low" and s.has_source and not s.claim]
    if claims:
        names = [c.phrase for c in claims[:2]]
        why = (f"{names[0]} is a reported, unconfirmed claim" if len(names) == 1
               else f"{ph.listing(names)} are reported, unconfirmed claims")
    elif unsourced:
        names = [u.phrase for u in unsourced[:2]]
        why = f"{ph.listing(names)} {'has' if len(names) == 1 else 'have'} no source"
    elif low:
        why = f"it leans on judgement calls marked low confidence: {ph.listing([u.phrase for u in low[:2]])}"
    elif level == 1:
        why = "its inputs are sourced, with moderate confidence"
    else:
        why = "its inputs are sourced and marked high confidence"
    return LEVELS[level], why


# ---- judgments ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Judgment:
    id: str
    statement: str
    probability: float | None
    word: str | None
    band: tuple[float, float] | None
    confidence: str
    confidence_reason: str
    inputs: tuple[str, ...]
    claims: tuple[str, ...] = ()          # refs of the unconfirmed claims it rests on
    values: dict = field(default_factory=dict)

    def text(self) -> str:
        return f"{self.statement} Confidence: {self.confidence}, because {self.confidence_reason}."

    def to_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "probability": _finite(self.probability),
                "word": self.word, "band": list(self.band) if self.band else None, "confidence": self.confidence,
                "confidence_reason": self.confidence_reason, "inputs": list(self.inputs),
                "unconfirmed_claims": list(self.claims),
                "values": {k: _finite(v) for k, v in self.values.items()}}


def _finite(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass(frozen=True)
class Brief:
    """A scenario's key judgments, with the premise they rest on."""

    scenario: str
    title: str
    premise: str | None
    judgments: tuple[Judgment, ...]
    samples: int | None
    seed: int

    def __getitem__(self, judgment_id: str) -> Judgment:
        for j in self.judgments:
            if j.id == judgment_id:
                return j
        raise KeyError(f"no judgment {judgment_id!r}; this brief has: {', '.join(j.id for j in self.judgments)}")

    def to_list(self) -> list[dict]:
        return [j.to_dict() for j in self.judgments]

    def text(self) -> str:
        lines = [f"Key judgments: {self.title}", ""]
        if self.premise:
            lines += [self.premise, ""]
        lines += [DURABLE, ""]
        shared = self.shared_confidence()
        if shared:
            lines += [f"Confidence in every judgment below: {shared[0]}, because {shared[1]}.", ""]
        lines += [f"{k}. {j.statement if shared else j.text()}" for k, j in enumerate(self.judgments, 1)]
        lines += ["", self.basis()]
        return "\n".join(lines) + "\n"

    def shared_confidence(self) -> tuple[str, str] | None:
        """(level, reason) when every judgment has the same: then a brief says it once."""
        pairs = {(j.confidence, j.confidence_reason) for j in self.judgments}
        return next(iter(pairs)) if len(pairs) == 1 else None

    def basis(self) -> str:
        how = (f"means over {self.samples:,} Monte Carlo draws (seed {self.seed})" if self.samples
               else "values at the modes of the inputs (no Monte Carlo draws)")
        return (f"Probabilities are {how}; words and bands are ICD 203's. Confidence is the lowest of the "
                "sources behind each judgment: an input without a source counts as low.")

    def headline(self) -> str:
        """One line for an index: the 12-month judgment under the scenario's controls."""
        j = self["durable-12m"]
        return f"{j.statement} Confidence: {j.confidence}."


def key_judgments(model: ThreatModel, scenario: str, *, samples: int | None = None, seed: int = 0,
                  setting: Setting | None = None, threshold: float | None = None,
                  horizon: int = DEFAULT_HORIZON_DAYS, swept: Sweep | None = None,
                  drawn: Answer | None = None) -> Brief:
    """The scenario's key judgments (see the module docstring for every rule). `swept` and `drawn`
    (the Answer over the same samples and seed) are reused when a caller has them already."""
    s = model.scenario(scenario)
    setting = setting or Setting.of(model, s)
    mc = drawn or Answer.of(model, scenario, Sampler(samples, seed) if samples else Sampler(),
                            threshold=threshold, horizon=horizon, setting=setting)
    swept = swept or sweep(model, scenario, setting=setting, threshold=threshold, horizon=horizon,
                           outputs=JUDGED_OUTPUTS)
    premise_support = _premise(model, scenario, setting)
    asset = setting.asset
    actor = ph.the(setting.actor.title)
    theta = mc.with_.threshold
    scales = model.scales

    def make(jid: str, statement: str, p: float | None, output: str | None, values: dict | None = None,
             extra: list[Support] = (), verb: str = "is") -> Judgment:
        inputs = _drivers(swept, output) if output else []
        supports = premise_support + list(extra) + [_input_support(i) for i in inputs]
        level, why = _confidence(supports)
        word, band = estimative(p, scales) if p is not None else (None, None)
        if p is not None:
            clause = ph.chance(word, ph.band_text(band) + _about(p, band), verb)
            # model text is never a format string: the clause goes in by replacing sentinels
            statement = statement.replace(CHANCE, clause).replace(CHANCE_CAP, clause[:1].upper() + clause[1:])
        claims = tuple(dict.fromkeys(sp.ref for sp in supports if sp.claim))
        return Judgment(jid, ph.sentence(statement), p, word, band, level, why,
                        tuple(i.ref for i in inputs), claims, values or {})

    out: list[Judgment] = []
    days = np.array([JUDGED_DAYS], float)
    with_p = durable(mc.with_, days).mean(axis=0)
    without_p = durable(mc.without, days).mean(axis=0)
    holds = f"holds {ph.share(theta)} of {asset.title}'s capability durably"
    has_controls = bool(setting.controls)
    for k, d in enumerate(JUDGED_DAYS):
        n = MONTHS[d]
        p, p0 = float(with_p[k]), float(without_p[k])
        out.append(make(f"durable-{n}m",
                        f"{CHANCE} that {actor} {holds} within {n} months"
                        + (" with the scenario's controls in place" if has_controls else "") ,
                        p, f"durable:{d}"))
        verb = "would be"
        if not has_controls:
            text = f"The scenario has no controls to remove: without controls too, {CHANCE} that {actor} {holds} within {n} months"
            verb = "is"
        elif abs(p - p0) < 0.005 and p0 < 0.005:
            text = (f"Without the scenario's controls {CHANCE} that {actor} {holds} within {n} months: no route "
                    "in the model gets it there that fast")
            verb = "would still be"
        elif abs(p - p0) < 0.005:
            text = (f"Without the scenario's controls {CHANCE} that {actor} {holds} within {n} months: over "
                    "that span the controls make no difference")
            verb = "would still be"
        else:
            text = f"Without the scenario's controls {CHANCE} that {actor} {holds} within {n} months"
        out.append(make(f"durable-{n}m-without-controls", text, p0, f"durable_without_controls:{d}", verb=verb))

    out.append(_lead_judgment(make, mc, samples, has_controls, actor))
    out.append(_acceleration_judgment(make, mc, samples, actor, setting))
    substitutes = _substitutes_judgment(make, mc, samples, actor, setting)
    if substitutes is not None:
        out.append(substitutes)
    out += _pathway_judgments(make, model, setting, mc, samples)
    title = s.title
    return Brief(scenario, title, _premise_text(model, s, setting), tuple(out), samples, seed)


def _about(p: float, band: tuple[float, float]) -> str:
    """The model's own value after the band: '20-45%; about 31%' (left out at the ends, where the
    band already says it); one decimal where a whole percent would sit on the band's edge."""
    if not 0.01 <= p <= 0.99:
        return ""
    whole = round(p * 100)
    if any(abs(whole - edge * 100) < 1e-9 for edge in band):
        return f"; about {p * 100:.1f}%"
    return f"; about {ph.percent(p)}"


def _phrase(i: Input) -> str:
    """An input as a sentence names it."""
    from threatkit.model.inputs import CURVE, EXPOSURE, FIELD_WORDS, SHARE

    m = CURVE.match(i.field)
    if m:
        return f"the share {ph.common(i.entry.title)} transfers at curve point {int(m.group(1)) + 1}"
    share, exposure = SHARE.match(i.field), EXPOSURE.match(i.field)
    if share:
        return f"the share {ph.common(i.entry.title)} gives at month {i.entry.share[int(share.group(1))][0]:g}"
    if exposure:
        return f"the capability of the exposed model {exposure.group(1)} relative to the asset"
    what = FIELD_WORDS.get(i.field, i.field)
    if i.kind == "step":
        return f"the {what} of the step '{i.entry.title}' ({ph.common(i.pathway.title)})"
    title = ph.the(i.entry.title) if i.kind == "actor" else ph.common(i.entry.title)
    return f"the {what} of {title}"


def _drivers(swept: Sweep, output: str) -> list[Input]:
    rows = [r for r in swept.rows(output) if r.swing > 0]
    if not rows:
        return []
    top = rows[0].swing
    return [r.input for r in rows if r.swing >= DRIVER_SHARE * top][:MAX_INPUTS]


def _input_support(i: Input) -> Support:
    return _support(i.ref, _phrase(i), i.entry, i.pathway)


def _lead_judgment(make, mc: Answer, samples, has_controls: bool, actor: str) -> Judgment:
    if not has_controls:
        return make("lead", "The scenario has no controls, so they buy no lead", None, None)
    h = mc.horizon
    d, d0 = days_to_durable(mc.with_, h), days_to_durable(mc.without, h)
    leads = lead(d, d0)
    q = percentiles("lead", leads, h)
    values = {"lead_days_p5": q["lead_p5"], "lead_days_p50": q["lead_p50"], "lead_days_p95": q["lead_p95"]}
    if not samples:
        x = float(leads[0])
        text = ("The scenario's controls do not delay durable capability" if x == 0 else
                f"The scenario's controls delay durable capability by {ph.duration(x)}" if x > 0 else
                f"The scenario's controls bring durable capability forward by {ph.duration(-x)}")
        return make("lead", text, None, "lead_days", {"lead_days": x})
    p = float(np.mean(leads > 0))
    spread = f"{_span(q['lead_p5'])} to {_span(q['lead_p95'])}"
    if q["lead_p50"] > 0:
        text = (f"{CHANCE} that the scenario's controls delay durable capability; they buy about "
                f"{_span(q['lead_p50'])} (90% band: {spread})")
    else:
        text = (f"{CHANCE} that the scenario's controls delay durable capability at all; in the median "
                f"case they buy no time (90% band: {spread})")
    return make("lead", text, p, "lead_days", values)


def _span(days: float) -> str:
    if math.isinf(days):
        return "beyond the horizon" if days > 0 else "never reached without them"
    return "none" if days == 0 else ph.duration(days)


def _baseline(mc: Answer, samples) -> str:
    """What the actor would have without access, in words: own development and the substitutes."""
    inp = mc.with_
    parts = []
    if np.isfinite(inp.parity).any():
        parts.append(f"its own development in about {ph.duration(float(np.median(inp.parity)))}")
    sub = inp.days_substitute
    if sub is not None and np.isfinite(sub).any():
        parts.append(f"substitutes such as open-weight models in about {ph.duration(float(np.median(sub)))}")
    # the report's other figures are at the modes: say these are medians
    return " or ".join(parts) + (", the medians over the draws" if samples else "")


def _acceleration_judgment(make, mc: Answer, samples, actor: str, setting: Setting) -> Judgment:
    without = mc.with_.without_access
    if not np.isfinite(without).any():
        return make("acceleration",
                    f"The model has no estimate of how long {actor} would need to build this capability on its "
                    f"own, and no substitute gives it, so how much sooner access gets it there is not judged",
                    None, None)
    d = days_to_durable(mc.with_, mc.horizon)
    acc = acceleration(without, d)
    q = percentiles("acceleration", acc, mc.horizon)
    values = {"acceleration_days_p5": q["acceleration_p5"], "acceleration_days_p50": q["acceleration_p50"],
              "acceleration_days_p95": q["acceleration_p95"]}
    baseline = _baseline(mc, samples)
    if not samples:
        x = float(acc[0])
        text = (f"Access does not get {actor} to durable capability sooner than it would get there without "
                f"access ({baseline})" if not x > 0 else
                f"Access gets {actor} to durable capability {ph.duration(x)} sooner than it would get there "
                f"without access ({baseline})")
        return make("acceleration", text, None, "acceleration_days", {"acceleration_days": x})
    p = float(np.mean(np.nan_to_num(acc, nan=0.0) > 0))
    if q["acceleration_p50"] > 0:
        text = (f"{CHANCE} that access gets {actor} to durable capability sooner than it would get there without "
                f"access ({baseline}); the median gain is {ph.duration(q['acceleration_p50'])} (90% band: "
                f"{_acc_span(q['acceleration_p5'])} to {_acc_span(q['acceleration_p95'])})")
    else:
        text = (f"{CHANCE} that access gets {actor} to durable capability sooner than it would get there without "
                f"access ({baseline})")
    return make("acceleration", text, p, "acceleration_days", values)


def _substitutes_judgment(make, mc: Answer, samples, actor: str, setting: Setting) -> Judgment | None:
    """The chance that access gets the actor there before the substitutes would, and by how much."""
    if not setting.substitutes:
        return None
    sub = mc.with_.days_substitute
    names = ph.listing([ph.common(x.title) for x in setting.substitutes])
    if not np.isfinite(sub).any():
        return make("substitutes", f"The substitutes in this scenario ({names}) never give {actor} "
                                   f"{ph.share(mc.with_.threshold)} of the capability within the horizon", None,
                    None)
    d = days_to_durable(mc.with_, mc.horizon)
    with np.errstate(invalid="ignore"):
        gain = sub - d                                            # > 0: access first; nan: neither
    q = percentiles("gain", gain, mc.horizon)
    values = {"substitute_gain_days_p5": q["gain_p5"], "substitute_gain_days_p50": q["gain_p50"],
              "substitute_gain_days_p95": q["gain_p95"]}
    when = ph.duration(float(np.median(sub[np.isfinite(sub)])))
    if not samples:
        x = float(gain[0])
        text = (f"The substitutes ({names}) give {actor} as much in about {when}; access gets it there "
                f"{ph.duration(x)} before they would" if x > 0 else
                f"The substitutes ({names}) give {actor} as much in about {when}, no later than access does: "
                "denying access buys nothing against them")
        return make("substitutes", text, None, None, {"substitute_gain_days": x})
    p = float(np.mean(np.nan_to_num(gain, nan=0.0) > 0))
    tail = (f"; the median gain is {ph.duration(q['gain_p50'])} (90% band: {_acc_span(q['gain_p5'])} to "
            f"{_acc_span(q['gain_p95'])})" if q["gain_p50"] > 0 else "")
    text = (f"{CHANCE} that access gets {actor} there before the substitutes ({names}) would, which take about "
            f"{when} (the median over the draws){tail}")
    return make("substitutes", text, p, None, values)


def _acc_span(days: float) -> str:
    if math.isnan(days):
        return "undefined"
    return "none" if days <= 0 else ph.duration(days)


def _pathway_judgments(make, model: ThreatModel, setting: Setting, mc: Answer, samples) -> list[Judgment]:
    """The most likely pathway and the cheapest feasible attack."""
    pathways = mc.with_.pathways                     # on the scenario's own access: its first rows
    if not pathways:
        return []
    probs = mc.with_.p[:len(pathways)].mean(axis=1)  # mean over draws; the modes when deterministic
    trees = [evaluate(pw, setting) for pw in pathways]   # deterministic: time, cost, cheapest attack
    costs = np.array([float(t.root("cost_usd")[0]) for t in trees])
    times = np.array([float(t.root("time_days")[0]) for t in trees])
    tier = ph.the(setting.tier.title)
    actor = ph.the(setting.actor.title)
    if not (probs > 0).any():
        return [make("most-likely-pathway", f"No pathway is feasible for {actor} through {tier}: {CHANCE} "
                                           "that any attempt succeeds", 0.0, None)]
    best = int(np.argmax(probs))
    pw = pathways[best]
    lasting = ("what it yields outlives the access" if pw.persistent
               else "what it yields lasts only as long as the access")
    out = [make("most-likely-pathway",
                f"The most likely route is {ph.common(pw.title)}: {CHANCE} that an attempt succeeds. An attempt "
                f"takes about {ph.duration(times[best])} and costs about {ph.money(costs[best])}, and {lasting}", float(probs[best]), f"probability:{pw.id}",
                {"pathway": pw.id, "cost_usd": costs[best], "time_days": times[best]},
                [_support(f"pathway:{pw.id}", _figures(pw.title), pw)])]
    feasible = np.flatnonzero(np.isfinite(costs) & (probs > 0))
    cheap = int(feasible[np.argmin(costs[feasible])])
    pw, tree = pathways[cheap], trees[cheap]
    steps = [ph.common(pw.nodes[i].title) for i in tree.cheapest]
    out.append(make("cheapest-attack",
                    f"The cheapest feasible attack is {ph.common(pw.title)}, for about {ph.money(costs[cheap])}: "
                    f"{', then '.join(steps)}. {CHANCE_CAP} that an attempt succeeds",
                    float(probs[cheap]), f"probability:{pw.id}",
                    {"pathway": pw.id, "cost_usd": costs[cheap], "steps": list(tree.cheapest)},
                    [_support(f"pathway:{pw.id}", _figures(pw.title), pw)]))
    return out


def _premise_text(model: ThreatModel, scenario, setting: Setting) -> str | None:
    """Says plainly which parts of the premise are reported but unconfirmed claims, and on whose word."""
    named = ((scenario, "the access this scenario assumes"), (setting.asset, f"the description of {setting.asset.title}"),
             (setting.actor, _figures(setting.actor.title, True)), (setting.tier, _figures(setting.tier.title)))
    claims = [(what, e.source) for e, what in named if is_claim(e)]
    if not claims:
        return None
    (first, source), rest = claims[0], claims[1:]
    text = f"Premise: {first} is a reported, unconfirmed claim. Source: {_claim_part(source)}."
    if rest:
        text += f" The same holds for {ph.listing([what for what, _ in rest])}."
    return text + " These judgments say what such access would yield, not whether it happened."


def _claim_part(source: str) -> str:
    """The part of a source that carries the claim (sources list several citations with ';')."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(source):       # a ';' inside parentheses belongs to its citation
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth <= 0:
            parts.append(source[start:i].strip())
            start = i + 1
    parts.append(source[start:].strip())
    return next((p for p in parts if any(m in p.lower() for m in CLAIM_MARKS)), parts[0])
