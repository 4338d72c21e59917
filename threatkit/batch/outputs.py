"""The batch folder's own files: summary.csv and index.html, from the outcomes
(the results each notebook recorded), written atomically and sorted by scenario."""
from __future__ import annotations

import html
from pathlib import Path

from threatkit.batch.jobs import Outcome
from threatkit.files import atomic_write
from threatkit.analysis.timeline import DAYS_PER_MONTH
from threatkit.tabular import ASSESS_COLUMNS, is_stat_column, to_csv

# Per scenario, from its recorded timeline: repeated on each of its pathway rows in summary.csv.
TIMELINE_SUMMARY = ("days_to_durable", "lead_months", "acceleration_months", "days_without_access")


def timeline_summary(results: dict) -> dict:
    """Days to durable capability, the lead and acceleration in months, and the days without access
    (the earlier of own development and the substitutes), from a report's results."""
    t = results.get("timeline") or {}

    def months(days):
        return None if days is None else round(days / DAYS_PER_MONTH, 2)

    return {"days_to_durable": t.get("days_to_durable"), "lead_months": months(t.get("lead_days")),
            "acceleration_months": months(t.get("acceleration_days")),
            "days_without_access": t.get("days_without_access")}

def summary_rows(outcomes: list[Outcome]) -> list[dict]:
    rows = []
    for o in sorted(outcomes, key=lambda o: o.scenario):
        status = "ok" if o.ok else "failed"
        if o.ok and o.results.get("rows"):
            per_scenario = timeline_summary(o.results)
            for r in o.results["rows"]:
                rows.append({**r, **per_scenario, "status": status, "error": ""})
        else:
            rows.append({"scenario": o.scenario, "status": status, "error": o.error})
    return rows


def write_summary(out_dir: Path, outcomes: list[Outcome]) -> Path:
    rows = summary_rows(outcomes)
    extra = sorted({k for r in rows for k in r if is_stat_column(k)})
    return atomic_write(out_dir / "summary.csv", to_csv(rows, [*ASSESS_COLUMNS, *TIMELINE_SUMMARY, *extra,
                                                                  "status", "error"]))


_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach((th, col) => {
  th.addEventListener('click', () => {
    const table = th.closest('table'), body = table.tBodies[0];
    const asc = th.dataset.order !== 'asc';
    table.querySelectorAll('th').forEach(h => delete h.dataset.order);
    th.dataset.order = asc ? 'asc' : 'desc';
    const key = td => td.dataset.sort ?? td.textContent.trim();
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a.cells[col]), y = key(b.cells[col]);
      const nx = parseFloat(x), ny = parseFloat(y);
      const c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(r => body.appendChild(r));
  });
});
"""

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1240px; margin: 24px auto;
       padding: 0 16px; color: #1d2330; }
h1 { color: #1f4e79; border-bottom: 3px solid #1f4e79; padding-bottom: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
div.wide { overflow-x: auto; }          /* a narrow window scrolls the table instead of spilling it */
th, td { border: 1px solid #ccd; padding: 5px 9px; text-align: left; }
th { background: #eef2f7; cursor: pointer; user-select: none; }
th[data-order=asc]::after { content: " \\25B2"; } th[data-order=desc]::after { content: " \\25BC"; }
tr.failed td { background: #fdecea; }
td.judgment { font-size: 13px; min-width: 260px; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; white-space: pre-wrap; }
"""


def write_failure_page(out_dir: Path, outcome: Outcome, title: str) -> Path:
    """A report page for a scenario whose run left none (it died or ran out of time), so that
    every link of the index opens something that says what happened."""
    e = html.escape
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}: {e(outcome.scenario)} failed</title>
<style>{_CSS}</style></head>
<body><h1>{e(outcome.scenario)}: no report</h1>
<p>The report for scenario <b>{e(outcome.scenario)}</b> did not finish, so there is no notebook to show.</p>
<pre class="error">{e(outcome.error)}</pre>
<p><a href="index.html">All scenarios</a></p></body></html>
"""
    return atomic_write(out_dir / f"{outcome.scenario}.html", page)


def write_index(out_dir: Path, outcomes: list[Outcome], title: str, risk_rank: dict[str, int]) -> Path:
    """A sortable table of every scenario with its overall risk and a link to its report."""
    e = html.escape
    rows = []
    def link(scenario: str) -> str:
        return f'<a href="{e(scenario)}.html">{e(scenario)}</a>'

    for o in sorted(outcomes, key=lambda o: o.scenario):
        if o.ok:
            r = o.results
            worst = max(r.get("rows", []), key=lambda x: x.get("probability") or 0, default={})
            risk = r.get("overall_risk", "")
            t = timeline_summary(r)

            def cell(value, digits: str, absent: str) -> str:    # no number (None) sorts last
                return (f'<td data-sort="{1e12 if value is None else value}">'
                        f'{absent if value is None else format(value, digits)}</td>')
            rows.append(
                f'<tr><td>{link(o.scenario)}</td><td>{e(str(worst.get("actor", "")))}</td><td>{e(str(worst.get("tier", "")))}</td>'
                f'<td data-sort="{risk_rank.get(risk, -1)}">{e(risk)}</td>'
                f'<td>{e(str(worst.get("pathway", "")))}</td><td>{(worst.get("probability") or 0):.3f}</td>'
                + cell(t["days_to_durable"], ",.0f", "never")
                + cell(t["days_without_access"], ",.0f", "never")      # neither own development nor a substitute
                + cell(t["lead_months"], ".1f", "unbounded")           # only one side reaches it
                + cell(t["acceleration_months"], ".1f", "n/a")         # no own-development estimate, or never
                + f'<td class="judgment">{e(str(r.get("headline") or ""))}</td><td>ok</td></tr>')
        else:
            rows.append(f'<tr class="failed"><td>{link(o.scenario)}</td><td></td><td></td><td data-sort="-1"></td><td></td>'
                        f'<td></td>' + '<td data-sort="1e12"></td>' * 4 + '<td></td><td>failed</td></tr>')
    failures = [o for o in outcomes if not o.ok]
    failed_html = "".join(
        f'<h3>{link(o.scenario)}</h3><pre class="error">{e(o.error)}</pre>'
        for o in sorted(failures, key=lambda o: o.scenario))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{e(title)}</h1>
<p>{len(outcomes) - len(failures)} of {len(outcomes)} scenarios reported{"; " + str(len(failures)) + " failed" if failures else ""}.
Click a column to sort.</p>
<div class="wide"><table class="sortable"><thead><tr><th>scenario</th><th>actor</th><th>tier</th><th>overall risk</th>
<th>most likely pathway</th><th>its probability</th><th>days to durable capability</th>
<th>days without access (own development or substitutes)</th>
<th>lead from controls (months)</th><th>acceleration over no access (months)</th>
<th>key judgment (12 months, with the controls)</th><th>status</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></div>
{"<h2>Failures</h2>" + failed_html if failures else ""}
<script>{_SORT_JS}</script>
</body></html>
"""
    return atomic_write(out_dir / "index.html", page)
