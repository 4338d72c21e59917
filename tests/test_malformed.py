"""The malformed-model corpus: every bad file is refused with FILE:LINE: message, never a traceback.

Each file in tests/malformed/ (helpers that are not cases live in tests/malformed/parts/)
starts with comment lines declaring what `threatkit validate` must report:

    # expect: 14: unknown key 'costs' (did you mean 'cost_usd'?)
    # expect: parts/cycle_b.yaml:4: include: cycle ...

LINE is the 1-based line of the offending key or value; the fragment must appear on an
output line that starts with `PATH:LINE:`. PATH is the case file itself unless a path
relative to tests/malformed/ is given (for problems that belong to an included file).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from threatkit.cli import main

CORPUS = Path(__file__).resolve().parent / "malformed"
CASES = sorted(CORPUS.glob("*.yaml"))  # top level only: parts/ holds helpers, not cases

_EXPECT = re.compile(r"^#\s*expect:\s*(?:(?P<file>[^\s:]+\.ya?ml):)?(?P<line>\d+):\s?(?P<fragment>.*?)\s*$")


@dataclass(frozen=True)
class Expectation:
    file: str          # as the validator prints it
    line: int
    fragment: str

    @property
    def prefix(self) -> str:
        return f"{self.file}:{self.line}:"


def expectations(case: Path) -> list[Expectation]:
    # Some cases hold bytes that are not UTF-8 on purpose; the comment lines are ASCII.
    text = case.read_bytes().decode("utf-8", errors="replace")
    found = []
    for raw in text.splitlines():
        m = _EXPECT.match(raw)
        if m:
            file = str((CORPUS / m["file"]).resolve()) if m["file"] else str(case)
            found.append(Expectation(file, int(m["line"]), m["fragment"]))
    return found


def run_validate(case: Path, capsys) -> tuple[int, str, str]:
    try:
        status = main(["validate", str(case)])
    except SystemExit as exc:  # argparse or an explicit exit
        status = exc.code
    except BaseException:  # a crash is a failure of the contract, not of the test
        pytest.fail(f"`threatkit validate {case.name}` raised instead of reporting FILE:LINE:\n"
                    f"{traceback.format_exc()}")
    out, err = capsys.readouterr()
    return status, out, err


def problem_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def test_corpus_is_big_enough():
    assert len(CASES) >= 25, [c.name for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_case_declares_expectations(case: Path):
    assert expectations(case), f"{case.name} has no '# expect: LINE: fragment' line"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_malformed_file_is_reported(case: Path, capsys):
    status, out, err = run_validate(case, capsys)
    assert "Traceback" not in out + err
    assert status == 1, f"exit status {status!r}; stdout:\n{out}\nstderr:\n{err}"
    lines = problem_lines(err)
    for exp in expectations(case):
        at_line = [line for line in lines if line.startswith(exp.prefix + " ")]
        assert any(exp.fragment in line for line in at_line), (
            f"expected a line starting {exp.prefix!r} containing {exp.fragment!r}; stderr was:\n{err}")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_no_spurious_problems(case: Path, capsys):
    """One problem is one message: no cascade of follow-on errors, no duplicates."""
    status, out, err = run_validate(case, capsys)
    expected = {(e.file, e.line) for e in expectations(case)}
    lines = problem_lines(err)
    assert len(lines) == len(expected), (
        f"expected {len(expected)} problem line(s) at {sorted(expected)}; stderr was:\n{err}")


def test_many_errors_reports_every_problem_at_once(capsys):
    case = CORPUS / "many_errors.yaml"
    status, out, err = run_validate(case, capsys)
    lines = problem_lines(err)
    wanted = expectations(case)
    assert len({e.line for e in wanted}) >= 6
    missing = [e for e in wanted if not any(line.startswith(e.prefix + " ") and e.fragment in line for line in lines)]
    assert not missing, f"not reported: {missing}; stderr was:\n{err}"
    assert status == 1


def test_python_tag_runs_no_code(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_validate(CORPUS / "python_tag.yaml", capsys)
    assert status == 1
    assert not (tmp_path / "threatkit-pwned-by-python-tag").exists()


def test_problems_are_printed_in_file_line_order(capsys):
    case = CORPUS / "many_errors.yaml"
    status, out, err = run_validate(case, capsys)
    numbers = [int(line[len(str(case)) + 1:].split(":", 1)[0]) for line in problem_lines(err)
               if line.startswith(f"{case}:")]
    assert numbers == sorted(numbers) and numbers


def test_console_script_exits_1_without_traceback(tmp_path):
    """The real entry point, in a fresh process: exit status 1, FILE:LINE on stderr."""
    case = CORPUS / "unknown_actor_reference.yaml"
    script = Path(sys.executable).with_name("threatkit")
    if script.exists():
        cmd = [str(script), "validate", str(case)]
    else:
        cmd = [sys.executable, "-m", "threatkit.cli", "validate", str(case)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{case}:25: scenarios[s].actor: unknown actor 'state-linkd'" in proc.stderr
    assert proc.stdout == ""


def test_module_entry_point_exits_1_without_traceback(tmp_path):
    case = CORPUS / "unknown_key.yaml"
    proc = subprocess.run([sys.executable, "-m", "threatkit.cli", "validate", str(case)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{case}:15: " in proc.stderr


def test_valid_and_malformed_files_together(tmp_path, capsys):
    """Each file is checked: the good one gets its summary, the bad one its problems, status 1."""
    good = tmp_path / "good.yaml"
    good.write_text("threatkit: 1\ninclude: []\ntiers:\n  - {id: api, rank: 1}\n")
    bad = CORPUS / "wrong_version.yaml"
    status = main(["validate", str(good), str(bad)])
    out, err = capsys.readouterr()
    assert status == 1
    assert out.startswith(f"{good}: ok: ")
    assert f"{bad}:3: " in err


def test_catalog_never_prints_a_raw_control_character(tmp_path):
    """`catalog actors --model` on a name holding ESC: refused at FILE:LINE, and nothing the
    process writes holds the ESC byte (it appears only as the escape text \\x1b)."""
    case = tmp_path / "esc.yaml"
    case.write_text('threatkit: 1\nactors:\n  - id: spy\n    name: "\\x1b[2J"\n    kind: state\n'
                    '    capacity: OC4\n    budget_usd: 1000\n    skill: 3\n')
    proc = subprocess.run([sys.executable, "-m", "threatkit.cli", "catalog", "actors", "--model", str(case)],
                          capture_output=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1, proc
    assert b"\x1b" not in proc.stdout + proc.stderr
    assert proc.stdout == b""
    assert proc.stderr.decode() == (f"{case}:4: actors[spy].name: found '\\x1b[2J', which holds control character "
                                    "U+001B; expected text without control characters (tab and newline are allowed)\n")


def test_control_characters_in_data_built_in_code():
    """load_data takes the same check, located by field path."""
    from threatkit import ModelError, load_data

    with pytest.raises(ModelError) as info:
        load_data({"threatkit": 1, "include": [], "name": "bell\x07", "tiers": [{"id": "api", "rank": 1}]})
    assert [p.message for p in info.value.problems] == [
        "name: found 'bell\\x07', which holds control character U+0007; expected text without control characters "
        "(tab and newline are allowed)"]
