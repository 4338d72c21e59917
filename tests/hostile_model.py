"""A threat model whose every piece of text is hostile: markup, script, event handlers,
javascript: and Markdown links and images, template braces, quotes, newlines and a very
long label. Shared by tests/test_hostile.py (ids cannot be hostile: the format restricts them)."""
from __future__ import annotations

import yaml

LONG = "Very long label " * 250          # 4,000 characters

# Each hostile text carries "alert" or "evil": the marks of anything that came from the model.
HOSTILE = (
    "<script>alert('s')</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(2)>',
    "[click](javascript:alert(3))",
    "![pixel](http://evil.example/p.png)",
    '<a href="javascript:alert(4)">evil link</a>',
    "{{ evil_braces }} {evil} ${evil} %(evil)s",
    "it's \"quoted\" 'evil' \\N \\G backslashes",
    "line one evil\nline two\n# heading\n<b>bold evil</b>",
    "see http://evil.example/bare and www.evil.example *em* _u_ `code` | pipe |",
    "&lt;script&gt;alert(5)&lt;/script&gt; an entity, evil",
    "<iframe src=\"javascript:alert(6)\"></iframe><style>body{background:url(http://evil/)}</style>",
)


def text(i: int) -> str:
    return HOSTILE[i % len(HOSTILE)]


def hostile_model() -> dict:
    """The model as data (yaml.safe_dump writes it as a file)."""
    entry = iter(range(1000))

    def meta() -> dict:
        k = next(entry)
        return {"name": text(k), "description": text(k + 1), "source": text(k + 2)}

    def fixed(k: int) -> dict:       # entries added later: texts of their own, the others' unchanged
        return {"name": text(k), "description": text(k + 1), "source": text(k + 2)}

    levels = lambda n, bounds: [{"level": i + 1, "name": f"{text(i + n)} {i + 1}",
                                 **({"below": b} if b is not None else {})} for i, b in enumerate(bounds)]
    risks = [f"{text(i)} risk {i}" for i in range(3)]
    leaf = lambda nid, p, **kw: {"id": nid, "label": text(next(entry)), "description": text(next(entry)),
                                 "source": text(next(entry)), "p": p, **kw}
    return {
        "threatkit": 1,
        "include": [],
        "name": text(0) + " model",
        "description": text(1),
        "scales": {
            "likelihood": levels(0, (0.3, 0.7, None)),
            "impact": levels(3, (0.3, 0.7, None)),
            "risk": [[risks[0], risks[0], risks[1]], [risks[0], risks[1], risks[2]], [risks[1], risks[2], risks[2]]],
        },
        "assets": [{"id": "asset", "capability_value": 0.9, **meta()},
                   {"id": "other", "capability_value": 0.8, **fixed(100)}],
        "tiers": [{"id": "api", "rank": 1, "queries_per_day": 10000, "exposes": ["outputs"], **meta()},
                  {"id": "weights", "rank": 3, "exposes": ["outputs", "weights"], "name": LONG}],
        "actors": [{"id": "actor", "kind": "state", "capacity": "OC4", "budget_usd": 1e7, "skill": 4, **meta()},
                   {"id": "long", "kind": "lab", "capacity": "OC3", "budget_usd": 1e6, "skill": 3, "name": LONG}],
        "pathways": [
            {"id": "distill", "fidelity": 0.5, **meta(), "tree": {
                "id": "root", "label": text(next(entry)), "description": text(next(entry)), "gate": "sand",
                "children": [
                    {"id": "access", "label": LONG, "gate": "or", "children": [
                        leaf("accounts", 0.8, cost_usd=1000, time_days=5),
                        leaf("reseller", 0.6, cost_usd=5000, time_days=2)]},
                    leaf("harvest", 0.9, cost_usd=20000, time_days=10, queries=100000),
                    leaf("train", {"low": 0.5, "mode": 0.7, "high": 0.8}, cost_usd=100000, time_days=30,
                         skill=3, requires=["outputs"])]}},
            {"id": "theft", "fidelity": 1, "persistent": True, **meta(), "tree":
                leaf("steal", 0.05, cost_usd=1e6, time_days=90, skill=5, requires=["weights"])},
        ],
        "controls": [{"id": "limit", "counters": ["harvest"], "effectiveness": 0.4, "caps_queries_per_day": 1000,
                      "cost_usd": 10000, **meta()},
                     {"id": "screen", "counters": ["accounts", "distill"], "effectiveness": 0.3, "cost_usd": 5000,
                      "name": LONG}],
        "substitutes": [{"id": "hostile-substitute", "share": [[0, 0.1], [2, 0.6]], "available_to": ["actor"],
                         "confidence": "low", **fixed(103)}],
        "scenarios": [{"id": "hostile", "asset": "asset", "actor": "actor", "tier": "api",
                       "controls": ["limit", "screen"], **meta(),
                       "exposures": [{"asset": "other", "tier": "api", "controls": ["limit"],
                                      "relative_capability": {"low": 0.7, "mode": 0.8, "high": 0.9}}]},
                      {"id": "bare", "asset": "asset", "actor": "long", "tier": "weights", **meta()}],
    }


def write_hostile_model(path) -> None:
    path.write_text(yaml.safe_dump(hostile_model(), sort_keys=False, allow_unicode=True, width=120))
