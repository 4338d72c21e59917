"""A hostile model through every output: nothing it holds may become live.

Every text of the model (tests/hostile_model.py) carries markup, script, event handlers,
javascript: and Markdown links and images, braces, quotes, newlines or a very long label.
Each output is parsed (HTML and SVG with the standard library's parser, SVG also as XML)
and checked: no script, link, image or frame that the model brought in, no on* attribute,
no javascript: URL, no style that reaches out; and the hostile text is shown as text.
Terminal output holds no control character and no model text spans two lines.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_model import HOSTILE, LONG, hostile_model, write_hostile_model  # noqa: E402

from threatkit.analysis.assess import Setting, assess, evaluate  # noqa: E402
from threatkit.model.load import load_model  # noqa: E402

MARKS = ("alert(", "evil")                        # every hostile text holds one of these
URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction", "data", "poster", "background", "srcdoc"}
NEVER = {"img", "iframe", "frame", "frameset", "object", "embed", "base", "form", "input", "image",
         "foreignobject", "animate", "set", "audio", "video", "source", "link"}
# The scripts that threatkit's nbconvert template itself puts in a report (MathJax, in safe mode).
TEMPLATE_SCRIPT_SOURCES = ("https://cdnjs.cloudflare.com/ajax/libs/mathjax/",)
ONE_LINE = [t for t in HOSTILE if "\n" not in t]


@dataclass
class Parsed(HTMLParser):
    tags: list = field(default_factory=list)       # (tag, {attr: value})
    scripts: list = field(default_factory=list)    # (attrs, content)
    styles: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    _open: list = field(default_factory=list)

    def __post_init__(self):
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._open.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        tag, attrs = self._open[-1] if self._open else (None, {})
        if tag == "script":
            self.scripts.append((attrs, data))
        elif tag == "style":
            self.styles.append(data)
        else:
            self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


def assert_inert(markup: str, *, page_links: tuple[str, ...] = (), page_scripts: tuple[str, ...] = ()) -> Parsed:
    """Nothing in `markup` runs, loads or links anything the model brought in.
    `page_links`: relative links the page itself makes (e.g. a batch index to its reports);
    `page_scripts`: the script sources the page itself loads (e.g. a snapshot's widget renderer)."""
    parsed = Parsed()
    parsed.feed(markup)
    parsed.close()
    for tag, attrs in parsed.tags:
        assert tag not in NEVER, (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            if name in URL_ATTRIBUTES and value is not None and not (tag == "script" and value in page_scripts):
                url = re.sub(r"\s", "", value).lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:")), (tag, name, value)
                assert not any(m in url for m in MARKS), (tag, name, value)
        if tag == "a":
            href = attrs.get("href") or attrs.get("xlink:href")
            assert href is None or href.startswith("#") or href in page_links, (tag, attrs)
        if tag == "script":
            src = attrs.get("src")
            assert src is None or src.startswith(TEMPLATE_SCRIPT_SOURCES) or src in page_scripts, attrs
    for attrs, content in parsed.scripts:
        if attrs.get("type", "").endswith("+json"):      # data, not code: it must not be able to end early
            assert "<" not in content and ">" not in content, content[:300]
        else:
            assert not any(m in content for m in MARKS), content[:300]
    for content in parsed.styles:
        assert not any(m in content for m in MARKS), content[:300]
    return parsed


def assert_svg(svg: str) -> Parsed:
    ET.fromstring(svg.encode("utf-8"))       # well-formed XML: every text escaped
    return assert_inert(svg)


def shows(parsed: Parsed, *texts: str) -> None:
    """Each hostile text appears as literal text (escaped, not dropped)."""
    for t in texts:
        assert t in parsed.text, t


def one_line_of(text: str) -> str:
    return " ".join(text.split())


def cut(text: str, limit: int) -> str:
    """`text` on one line, as a table cell of at most `limit` characters shows it."""
    flat = one_line_of(text)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def a_leaf_label(model) -> str:
    return next(n.label for n in model.pathway("distill").tree.walk() if n.is_leaf and "\n" not in n.label)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.yaml"
    write_hostile_model(path)
    return path


@pytest.fixture(scope="module")
def model(model_file):
    return load_model(model_file)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "threatkit.cli", *args], capture_output=True, timeout=600,
                          cwd=cwd, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr.decode()
    return proc


def test_the_model_is_hostile_everywhere(model):
    """The model loads with its text intact: the tests below see the real hostile strings."""
    assert model.name == HOSTILE[0] + " model"
    assert {model.pathway("distill").tree.children[0].label, model.tier("weights").name} == {LONG}
    assert model.pathway("distill").name in HOSTILE and model.scales.risk[0][0].startswith(HOSTILE[0])
    assert model.substitute("hostile-substitute").name in HOSTILE and model.asset("other").name in HOSTILE
    assert model.scenario("hostile").exposures[0].asset == "other"


def test_report_shows_the_hostile_substitute_and_exposure_as_text(report, model):
    """The capability section names the substitute (in the acceleration's baseline) and the exposure's
    asset (in the ecosystem paragraph): both as text, never as markup."""
    html_text = report[0].read_text(encoding="utf-8")
    parsed = assert_inert(html_text)
    shows(parsed, one_line_of(model.substitute("hostile-substitute").title)[:30],
          one_line_of(model.asset("other").title)[:30])


# ---- the report, end to end --------------------------------------------------------------

@pytest.fixture(scope="module")
def report(model_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    cli("report", str(model_file), "--scenario", "hostile", "-o", str(out / "r.html"),
        "--notebook", str(out / "r.ipynb"), "--samples", "50")
    return out / "r.html", out / "r.ipynb"


def test_report_html_is_inert_and_shows_the_text(report, model):
    parsed = assert_inert(report[0].read_text(encoding="utf-8"))
    shows(parsed, *ONE_LINE[:8])
    pathway = model.pathway("distill")
    headings = [t for t, a in parsed.tags if t == "h4"]
    assert len(headings) == len(model.pathways)
    assert pathway.name in parsed.text and model.scenario("hostile").name in parsed.text


def test_report_markdown_outputs_render_as_text(report, model):
    """The Markdown a report displays, rendered by nbconvert: no link, image or raw HTML at all."""
    import nbformat
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    nb = nbformat.read(str(report[1]), as_version=4)
    markdown = [o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
                if "text/markdown" in o.get("data", {})]
    assert markdown
    rendered = "".join(markdown2html_mistune(m) for m in markdown)
    parsed = assert_inert(rendered)
    assert {t for t, _ in parsed.tags} <= {"p", "strong", "br"}
    s = Setting.of(model, "hostile")
    shows(parsed, one_line_of(model.name), one_line_of(s.actor.title), one_line_of(s.tier.title),
          *(one_line_of(c.title) for c in s.controls))


# ---- report sections and rich display, in process ----------------------------------------

def _rendered(obj) -> str:
    if isinstance(obj, dict):
        return obj.get("image/svg+xml") or obj.get("text/html") or ""
    for attr in ("_repr_html_", "_repr_markdown_"):
        if hasattr(obj, attr):
            out = getattr(obj, attr)()
            if attr == "_repr_markdown_":
                from nbconvert.filters.markdown_mistune import markdown2html_mistune

                return markdown2html_mistune(out)
            return out
    return getattr(obj, "data", "")


@pytest.mark.parametrize("scenario", ["hostile", "bare"])
def test_report_sections_are_inert(model_file, model, monkeypatch, scenario):
    from threatkit import report as report_module

    shown: list = []
    monkeypatch.setattr(report_module, "_display", lambda *objs, **kw: shown.extend(objs))
    r = report_module.ScenarioReport.build(model_file, scenario, samples=50)
    for section in (r.summary, r.trees, r.matrix, r.capability):
        section()
    tables = [r.recommendations(), r.sources(),
              report_module.policy_comparison(model, "bare", "hostile", samples=50)]
    outputs = [_rendered(o) for o in shown] + [t._repr_html_() for t in tables]
    texts = "".join(assert_inert(o).text for o in outputs)
    for p in model.pathways:
        for n in p.tree.walk():
            assert one_line_of(n.title) in one_line_of(texts) or n.title == LONG
        assert p.source in texts          # the sources table shows each source as text


def test_rich_display_is_inert(model):
    from threatkit.render.display import assessment_html, model_html
    from threatkit.render.matrix import RiskMatrix

    a = assess(model, "hostile")
    shows(assert_inert(assessment_html(a)), model.actor("actor").title, model.scales.risk[0][0])
    shows(assert_inert(model_html(model)), model.name)
    shows(assert_inert(RiskMatrix.of(a).to_html()), model.scales.likelihood[0].name)


# ---- SVG ---------------------------------------------------------------------------------

def test_svgs_are_inert(model, model_file):
    from threatkit.analysis.timeline import scenario_curves
    from threatkit.render.curves import CapabilityPlot
    from threatkit.render.matrix import RiskMatrix
    from threatkit.render.trees import tree_svg

    assessments = [assess(model, s) for s in model.scenarios]
    checked_backslashes = False
    for s in model.scenarios:
        setting = Setting.of(model, s)
        for p in model.pathways:
            svg = tree_svg(evaluate(p, setting))
            parsed = assert_svg(svg)
            shows(parsed, *(one_line_of(n.title) for n in p.tree.walk() if "\n" not in n.title and n.title != LONG))
            # each tooltip is its description as written: Graphviz substitutes nothing into it (\N, \G, ...);
            # it decodes character references, so those with one are left out
            tips = {ET.fromstring(f"<x t={m}/>").get("t") for m in re.findall(r'xlink:title=("[^"]*")', svg)}
            described = [n.description for n in p.tree.walk() if n.description and "&" not in n.description]
            for d in described:
                assert d in tips, d
                checked_backslashes |= "\\N" in d
        assert_svg(CapabilityPlot(scenario_curves(model, s.id, samples=50, seed=1)).to_svg())
    assert checked_backslashes
    shows(assert_svg(RiskMatrix.of(assessments).to_svg()), *(lv.name for lv in model.scales.likelihood))
    out = cli("tree", str(model_file), "--pathway", "distill", "--scenario", "hostile").stdout.decode()
    shows(assert_svg(out), a_leaf_label(model))


def test_tornado_svg_is_inert(model):
    """The tornado of each scenario (nothing moves in this model), and one drawn by hand from every
    number of the model, each with an end of its own, finite or not: every label is text."""
    from dataclasses import replace

    from threatkit.analysis.sensitivity import Row, tornado
    from threatkit.model.inputs import inputs_of
    from threatkit.render.tornado import _short, tornado_svg

    for s in model.scenarios:
        for output in ("days_to_durable", "lead_days", "acceleration_days", "probability:distill"):
            assert_svg(tornado_svg(tornado(model, s.id, output)))
    inputs = inputs_of(model, uncertain_only=False)
    ends = (1.0, float("inf"), float("nan"), -float("inf"))
    rows = tuple(Row(i, 0.0, 1.0, -k - 1.0, ends[k % len(ends)] * (k + 2)) for k, i in enumerate(inputs))
    t = replace(tornado(model, "hostile"), base=0.0, rows=rows)
    parsed = assert_svg(tornado_svg(t, top=len(rows)))
    labels = [_short(i.label) for i in inputs]
    assert any("<script>" in label for label in labels) and any('"><svg' in label for label in labels)
    shows(parsed, *labels)
    assert parsed.text.count("never") >= 2 and "undefined" in parsed.text


# ---- batch -------------------------------------------------------------------------------

def test_batch_index_and_reports_are_inert(model_file, model, tmp_path):
    out = tmp_path / "batch"
    cli("batch", str(model_file), "-o", str(out), "--samples", "50", "--jobs", "2")
    links = ("index.html",) + tuple(f"{s.id}.html" for s in model.scenarios)
    shows(assert_inert((out / "index.html").read_text(encoding="utf-8"), page_links=links), model.name)
    for s in model.scenarios:
        assert_inert((out / f"{s.id}.html").read_text(encoding="utf-8"))


def test_batch_failure_page_and_failures_list_are_inert(model, tmp_path):
    from threatkit.batch.jobs import Outcome
    from threatkit.batch.outputs import write_failure_page, write_index

    error = "\n".join(HOSTILE)             # an error message may quote model text
    failed = Outcome("hostile", "failed", error=error)
    title = f"threatkit batch: {model.name}"
    page = write_failure_page(tmp_path, failed, title).read_text(encoding="utf-8")
    shows(assert_inert(page, page_links=("index.html",)), error, model.name)
    ok = Outcome("bare", "ok", results={"overall_risk": model.scales.risk[2][2],
                                        "rows": assess(model, "bare").rows()})
    index = write_index(tmp_path, [failed, ok], title, {}).read_text(encoding="utf-8")
    shows(assert_inert(index, page_links=("hostile.html", "bare.html")), error, model.scales.risk[2][2])


# ---- the explorer ------------------------------------------------------------------------

def _widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from _widgets(child)


def test_explorer_is_inert(model):
    import ipywidgets as w

    from threatkit.widgets import LABEL_LIMIT, Explorer

    ex = Explorer(model, scenario="hostile", samples=50)
    ex.views.selected_index = 4               # the Why tab, so that it follows every change
    for actor in ("actor", "long"):
        ex.actor.value = actor
        assert "Key judgments" in ex.why_view.value
        for view in (ex.status, ex.tree_view, ex.matrix_view, ex.curve_view, ex.why_view):
            assert_inert(view.value)
        shows(assert_inert(ex.tree_view.value), a_leaf_label(model))
    widgets = list(_widgets(ex.widget))
    labels = [label for d in (ex.actor, ex.tier, ex.pathway) for label, _ in d.options]
    labels += [box.description for box in ex.controls.values()]
    assert all(not box.description_allow_html for box in ex.controls.values())
    for label in labels:
        assert "\n" not in label and len(label) <= LABEL_LIMIT and not re.search(r"[\x00-\x1f\x7f-\x9f]", label)
    assert labels[0] == one_line_of(model.actor("actor").name)       # the text itself, on one line
    assert any(label.endswith("…") for label in labels)               # the long label, cut
    (tab,) = [x for x in widgets if isinstance(x, w.Tab)]
    assert tab.titles == ("Attack tree", "Risk matrix", "Capability over time", "Numbers", "Why")   # fixed, not model text
    for x in widgets:
        if isinstance(x, w.HTML):
            assert_inert(x.value)
    for output in ex.details.outputs:
        assert_inert(output.get("data", {}).get("text/html", ""))


# ---- terminal ----------------------------------------------------------------------------

CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


@pytest.mark.parametrize("kind", ["assets", "tiers", "actors", "pathways", "controls", "substitutes", "scenarios"])
def test_catalog_tables_keep_model_text_on_one_line(model_file, kind):
    out = cli("catalog", kind, "--model", str(model_file)).stdout
    assert not CONTROL.search(out)
    lines = out.decode().splitlines()
    assert len(lines) == 1 + len(hostile_model()[kind])           # the header and one line per entry
    assert LONG.strip() not in out.decode()
    for entry in hostile_model()[kind]:
        name = entry.get("name")
        if name:
            assert any(cut(name, 80) in line for line in lines), name


def test_assess_table_keeps_model_text_on_one_line(model_file, model):
    out = cli("assess", str(model_file)).stdout
    assert not CONTROL.search(out)
    lines = out.decode().splitlines()
    routes = sum(1 + len(s.exposures) for s in model.scenarios)      # the scenario's own access and each exposure
    assert len(lines) == 1 + routes * len(model.pathways)
    assert any(model.scales.risk[0][0] in line for line in lines)


def test_explorer_snapshot_is_inert(model_file, model, tmp_path):
    """`threatkit snapshot`: the explorer as a static page, its widget state embedded as JSON."""
    import json

    from threatkit.run.snapshot import renderer_url

    out = tmp_path / "snapshot.html"
    cli("snapshot", str(model_file), "--scenario", "hostile", "-o", str(out), "--samples", "20")
    parsed = assert_inert(out.read_text(encoding="utf-8"), page_scripts=(renderer_url(),))
    (state,) = [json.loads(content) for attrs, content in parsed.scripts
                if attrs.get("type") == "application/vnd.jupyter.widget-state+json"]
    values = [m["state"] for m in state["state"].values()]
    for html_value in (v["value"] for v in values if v.get("_model_name") == "HTMLModel"):
        assert_inert(html_value)
    labels = [label for v in values for label in v.get("_options_labels", ())]
    assert one_line_of(model.actor("actor").name) in labels      # the text, as a plain label


@pytest.mark.parametrize("args", [("brief", "--samples", "50"), ("brief", "--format", "json", "--samples", "50"),
                                  ("sensitivity",), ("timeline",)])
def test_brief_sensitivity_and_timeline_print_model_text_inertly(model_file, model, args):
    # the terminal gets no escape sequence; JSON parses and carries the names as plain strings
    command, *rest = args
    scenario = [] if command == "timeline" else ["--scenario", "hostile"]
    proc = cli(command, str(model_file), *scenario, *rest)
    assert proc.returncode == 0, proc.stderr.decode()
    assert not CONTROL.search(proc.stdout) and b"Traceback" not in proc.stderr
    if "json" in rest:
        assert isinstance(json.loads(proc.stdout), list)


# ---- exports: a hostile substitute and exposure (a small model of their own) -------------------

EXPORT_TEXTS = {"script": "<script>alert(1)</script>", "formula": '=HYPERLINK("x")', "cdata": "]]></x>",
                "plus": "+cmd|' /C calc'!A0", "at": "@SUM(1+1)*evil", "minus": "-1+1 evil\n<b>two</b>"}


def _hostile_export_model():
    """A substitute whose name, description and source are hostile, and an exposure on a second
    asset whose name is: the exports' new rows, each text a payload."""
    import yaml

    from threatkit import load_text

    t = EXPORT_TEXTS
    data = {
        "threatkit": 1, "include": [], "name": t["formula"],
        "assets": [{"id": "asset", "capability_value": 0.9, "name": t["script"]},
                   {"id": "other", "capability_value": 0.8, "name": t["plus"], "description": t["cdata"]}],
        "tiers": [{"id": "api", "rank": 1, "queries_per_day": 1000, "exposes": ["outputs"], "name": t["at"]}],
        "actors": [{"id": "actor", "kind": "state", "capacity": "OC4", "budget_usd": 1e6, "skill": 4,
                    "name": t["formula"]}],
        "pathways": [{"id": "use", "fidelity": 0.5, "name": t["minus"], "atlas": ["AML.T0040"],
                      "tree": {"id": "step", "label": t["script"], "p": 0.5, "cost_usd": 10, "time_days": 1,
                               "skill": 1, "atlas": ["AML.T0040"]}}],
        "controls": [{"id": "limit", "counters": ["step"], "effectiveness": 0.5, "name": t["plus"]}],
        "substitutes": [
            {"id": "hostile-substitute", "name": t["script"], "description": t["formula"], "source": t["cdata"],
             "share": [[0, 0.1], [2, {"low": 0.3, "mode": 0.6, "high": 0.9}]], "available_to": ["actor"],
             "confidence": "low"},
            {"id": "formula-substitute", "name": t["formula"], "description": t["minus"], "source": t["at"],
             "share": [[1, 0.5]]}],
        "scenarios": [{"id": "s", "name": t["minus"], "asset": "asset", "actor": "actor", "tier": "api",
                       "controls": ["limit"], "exposures": [{"asset": "other", "tier": "api"}]}],
    }
    return load_text(yaml.safe_dump(data, allow_unicode=True), "hostile-export.yaml")


def test_stix_export_keeps_a_hostile_substitute_as_data():
    import stix2

    from threatkit.interchange import export

    text = export(_hostile_export_model(), "stix").data
    bundle = json.loads(text)                                # valid JSON whatever the text held
    stix2.parse(text, allow_custom=True)
    assert "evil\\n<b>two</b>" in text and "evil\n" not in text       # a newline in a text stays escaped
    tools = {o["x_threatkit_id"]: o for o in bundle["objects"] if o["type"] == "tool"}
    hostile = tools["hostile-substitute"]
    assert hostile["name"] == EXPORT_TEXTS["script"] and hostile["description"] == EXPORT_TEXTS["formula"]
    assert hostile["x_threatkit_source"] == EXPORT_TEXTS["cdata"]
    assert tools["formula-substitute"]["name"] == EXPORT_TEXTS["formula"]
    # the texts are values only: every key is threatkit's own, none came from the model
    keys = {k for o in bundle["objects"] for k in o}
    assert all(re.fullmatch(r"[a-z_]+", k) for k in keys)
    ids = {o["id"] for o in bundle["objects"]}
    uses = [o for o in bundle["objects"] if o["type"] == "relationship" and o["target_ref"] in
            {t["id"] for t in tools.values()}]
    assert len(uses) == 2 and all(o["source_ref"] in ids for o in uses)
    (summary,) = bundle["objects"][0]["x_threatkit_scenarios"]
    assert summary["id"] == "s" and summary["exposures"][0]["asset"] == "other"


def test_xlsx_export_keeps_a_hostile_substitute_as_text():
    import io
    import zipfile

    import openpyxl

    from threatkit.interchange import export
    from threatkit.interchange.xlsx import FORMULA_START

    data = export(_hostile_export_model(), "xlsx").data
    wb = openpyxl.load_workbook(io.BytesIO(data))
    subs = wb["Substitutes"]
    header = [c.value for c in subs[1]]
    names = [row[header.index("name")].value for row in subs.iter_rows(min_row=2)]
    sources = [row[header.index("source")].value for row in subs.iter_rows(min_row=2)]
    assert names == [EXPORT_TEXTS["script"]] * 2 + [EXPORT_TEXTS["formula"]]
    assert sources == [EXPORT_TEXTS["cdata"]] * 2 + [EXPORT_TEXTS["at"]]
    register = wb["Risk register"]
    rheader = [c.value for c in register[1]]
    assert [row[rheader.index("asset")].value for row in register.iter_rows(min_row=2)] == ["asset", "other"]
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"                       # text, never a formula
                    if cell.value.startswith(FORMULA_START):
                        assert cell.quotePrefix, cell.value           # and stays text when edited
                    seen.add(cell.value)
    assert {EXPORT_TEXTS[k] for k in ("script", "formula", "cdata", "at", "minus")} <= seen
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                root = ET.fromstring(z.read(name))                    # well-formed: "]]>" did not break out
                assert not [e for e in root.iter() if e.tag.rpartition("}")[2] in ("f", "x")], name
