"""Numbers and names as an analyst writes them: rounded, in words, no ids where a name exists.

Used by the key judgments; pure functions of numbers and strings.
"""
from __future__ import annotations

import math

from threatkit.analysis.timeline import DAYS_PER_MONTH


def percent(p: float) -> str:
    """A probability as a whole percent; 'under 1%' / 'over 99%' at the ends, never '0%' for a chance."""
    if p <= 0:
        return "0%"
    if p >= 1:
        return "100%"
    if p < 0.01:
        return "under 1%"
    if p > 0.99:
        return "over 99%"
    return f"{round(p * 100):d}%"


def band_text(band: tuple[float, float]) -> str:
    """ICD 203 style: '20-45%'; a band widened to 0 or 1 reads 'under 5%' / 'over 95%'."""
    low, high = band
    if low <= 0:
        return f"under {_pct(high)}%"
    if high >= 1:
        return f"over {_pct(low)}%"
    return f"{_pct(low)}-{_pct(high)}%"


def _pct(x: float) -> str:
    return f"{x * 100:.0f}" if abs(x * 100 - round(x * 100)) < 1e-9 else f"{x * 100:g}"


def duration(days: float) -> str:
    """Days in the unit a reader expects: days under two months, months to one decimal under two
    years (whole months from ten), years beyond; 'never' for infinity."""
    if math.isnan(days):
        return "undefined"
    if math.isinf(days):
        return "never" if days > 0 else "-never"
    d = abs(days)
    if d < 1:
        return "no time"
    if d < 60:
        n = round(d)
        return f"{n} day{'' if n == 1 else 's'}"
    months = d / DAYS_PER_MONTH
    if months < 10:
        return f"{months:.1f} months"
    if months < 24:
        return f"{round(months)} months"
    years = d / 365.25
    return f"{years:.0f} years" if abs(years - round(years)) < 0.05 else f"{years:.1f} years"


def money(usd: float) -> str:
    """Dollars to two significant figures: $900, $9,500, $570,000, $2.0 million."""
    if not math.isfinite(usd):
        return "an unbounded sum"
    if usd < 1:
        return "almost nothing"
    digits = int(math.floor(math.log10(usd)))
    rounded = round(usd, -max(digits - 1, 0))
    if rounded >= 1e9:
        return f"${rounded / 1e9:.1f} billion"
    if rounded >= 1e6:
        return f"${rounded / 1e6:.1f} million"
    return f"${rounded:,.0f}"


def share(theta: float) -> str:
    """A capability threshold in words: 'half', 'all', or a percentage."""
    if abs(theta - 0.5) < 1e-9:
        return "at least half"
    if theta >= 1:
        return "all"
    return f"at least {theta:.0%}"


def common(name: str) -> str:
    """A name used inside a sentence: 'State-linked group' -> 'state-linked group', 'Weight
    security at RAND SL4' -> 'weight security at RAND SL4'. Only when the first word alone is
    capitalised, so 'Mythos 5', 'APT41' or 'Fancy Bear' keep their capitals."""
    words = name.split()
    if not words:
        return name
    first = words[0]
    head_title = len(first) > 1 and first[0].isupper() and not any(c.isupper() for c in first[1:])
    rest_plain = all(not w[:1].isupper() or w.isupper() for w in words[1:])   # acronyms are fine
    product = len(words) == 2 and words[1].isdigit()                           # 'Mythos 5'
    if head_title and rest_plain and not product:
        return first[0].lower() + name[1:]
    return name


def chance(word: str, band: str, verb: str = "is") -> str:
    """The estimative phrase that opens a judgment: 'it is likely (55-80%)', 'there is almost no
    chance (under 5%)', 'there is a roughly even chance (45-55%)'; `verb` e.g. 'would be'."""
    if word.endswith("chance"):
        article = "a " if word.startswith("roughly") else ""
        return f"there {verb} {article}{word} ({band})"
    return f"it {verb} {word} ({band})"


def the(name: str) -> str:
    """'the state-linked group'; a proper name stays as it is."""
    lowered = common(name)
    return f"the {lowered}" if lowered != name else name


def sentence(text: str) -> str:
    """First letter up, one final full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def listing(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
