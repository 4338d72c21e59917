"""The per-user model cache: a hit skips parsing, any changed input file rebuilds, a corrupt
entry is rebuilt, and a directory that is not private to the user is never used."""
from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from threatkit.model import cache, load as load_module
from threatkit.model.load import load_model
from threatkit.resources import data_path

BASE = """threatkit: 1
include: []
tiers:
  - {id: api, rank: 1, queries_per_day: 100}
"""
MAIN = """threatkit: 1
include: [base.yaml]
name: Cached
assets:
  - {id: m, capability_value: 0.5}
"""


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("THREATKIT_CACHE_DIR", str(where))
    monkeypatch.delenv("THREATKIT_CACHE", raising=False)
    return where


@pytest.fixture
def model_file(tmp_path) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "main.yaml").write_text(MAIN)
    return tmp_path / "main.yaml"


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pickle"))


def no_parsing(monkeypatch) -> None:
    def refuse(*_args, **_kw):
        raise AssertionError("parsed a file that the cache holds")
    monkeypatch.setattr(load_module, "read_yaml", refuse)


def test_a_second_load_comes_from_the_cache_without_parsing(folder, model_file, monkeypatch):
    first = load_model(model_file)
    assert len(entries(folder)) == 1
    no_parsing(monkeypatch)
    second = load_model(model_file)
    assert second == first and second is not first
    assert second.tier("api").queries_per_day.mode == 100


def test_the_directory_and_entries_are_private(folder, model_file):
    load_model(model_file)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (entry,) = entries(folder)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert not list(folder.glob("*.tmp"))          # written atomically: no temporary left behind


def test_the_entry_records_every_file_that_went_in(folder, model_file):
    load_model(model_file)
    (entry,) = entries(folder)
    files = pickle.loads(entry.read_bytes())["files"]
    builtin = {str(data_path(n)) for n in load_module.BUILTIN_FILES} | {str(data_path("atlas/atlas.yaml"))}
    assert set(files) == {str(model_file.parent.resolve() / "base.yaml")} | builtin
    assert files[str(model_file.parent.resolve() / "base.yaml")] == cache.digest(BASE.encode())


def test_a_changed_include_rebuilds(folder, model_file):
    assert load_model(model_file).tier("api").queries_per_day.mode == 100
    (model_file.parent / "base.yaml").write_text(BASE.replace("100", "250"))
    assert load_model(model_file).tier("api").queries_per_day.mode == 250


def test_a_changed_model_file_rebuilds(folder, model_file):
    load_model(model_file)
    model_file.write_text(MAIN.replace("0.5", "0.75"))
    assert load_model(model_file).asset("m").capability_value.mode == 0.75


def test_a_corrupt_entry_is_ignored_and_rebuilt(folder, model_file):
    expected = load_model(model_file)
    (entry,) = entries(folder)
    for garbage in (b"", b"not a pickle", pickle.dumps({"files": {}, "model": "a string"}),
                    entry.read_bytes()[: entry.stat().st_size // 2]):
        entry.write_bytes(garbage)
        assert load_model(model_file) == expected
        assert pickle.loads(entry.read_bytes())["model"] == expected     # rebuilt in place


def test_THREATKIT_CACHE_0_turns_it_off(folder, model_file, monkeypatch):
    monkeypatch.setenv("THREATKIT_CACHE", "0")
    load_model(model_file)
    assert not folder.exists() or not entries(folder)


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o755])
def test_a_directory_others_can_reach_is_never_used(folder, model_file, monkeypatch, mode):
    folder.mkdir()
    os.chmod(folder, mode)
    load_model(model_file)
    assert not entries(folder)
    planted = folder / "planted.pickle"
    planted.write_bytes(b"x")
    assert cache.cache_dir() is None


def test_a_symlink_is_not_a_private_directory(tmp_path, model_file, monkeypatch):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv("THREATKIT_CACHE_DIR", str(tmp_path / "link"))
    assert cache.cache_dir() is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_directory_of_another_user_is_never_used(folder, model_file):
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    assert cache.cache_dir() is None
    load_model(model_file)
    assert not entries(folder)


def test_warnings_survive_the_cache(folder):
    example = Path(__file__).resolve().parent / "contract" / "model-format.yaml"
    first = load_model(example)
    assert entries(folder) and first.warnings
    assert load_model(example).warnings == first.warnings


def test_the_default_directory_follows_XDG_CACHE_HOME(tmp_path, monkeypatch):
    monkeypatch.delenv("THREATKIT_CACHE_DIR", raising=False)
    monkeypatch.delenv("THREATKIT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "threatkit"


def test_the_cli_uses_the_cache_across_processes(folder, model_file):
    run = [sys.executable, "-m", "threatkit.cli", "validate", str(model_file)]
    env = {**os.environ, "THREATKIT_CACHE_DIR": str(folder)}
    first = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    (entry,) = entries(folder)
    stamp = entry.stat().st_mtime_ns
    os.utime(entry, ns=(stamp - 10**9, stamp - 10**9))
    second = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == second.returncode == 0 and first.stdout == second.stdout
    assert entries(folder) == [entry] and entry.stat().st_mtime_ns > stamp - 10**9     # a hit marks it used


def test_only_the_most_recently_used_entries_are_kept(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    files = []
    for i in range(3):
        f = tmp_path / f"m{i}.yaml"
        f.write_text(f"threatkit: 1\ninclude: []\nname: model {i}\n")
        files.append(f)
        load_model(f)
        for e in entries(folder):          # mtimes a second apart, oldest first
            os.utime(e, (e.stat().st_mtime - 1, e.stat().st_mtime - 1))
    assert len(entries(folder)) == 2
    no_parsing(monkeypatch)
    assert load_model(files[2]).name == "model 2" and load_model(files[1]).name == "model 1"


# ---- a model kept in this process (a batch's, shared with the reports it forks) --------------

@pytest.fixture
def kept(monkeypatch):
    monkeypatch.setattr(load_module, "_KEPT", {})


def test_a_kept_model_is_the_same_object_while_its_files_are_unchanged(folder, model_file, kept, monkeypatch):
    model = load_module.keep_model(model_file)
    monkeypatch.setattr(load_module.cache, "lookup", lambda *a: pytest.fail("read the cache for a kept model"))
    assert load_model(model_file) is model
    assert load_model(str(model_file.parent / "." / model_file.name)) is model      # the same file, spelt otherwise
    assert load_module.keep_model(model_file) is model                               # kept once, not loaded again


@pytest.mark.parametrize("changed", ["main.yaml", "base.yaml"])
def test_a_kept_model_is_not_given_once_a_file_changed(folder, model_file, kept, changed):
    model = load_module.keep_model(model_file)
    target = model_file.parent / changed
    target.write_text(target.read_text().replace("queries_per_day: 100", "queries_per_day: 7")
                      .replace("name: Cached", "name: Edited"))
    again = load_model(model_file)
    assert again is not model
    assert (again.name, again.tier("api").queries_per_day.mode) == (
        ("Edited", 100.0) if changed == "main.yaml" else ("Cached", 7.0))


# ---- the pipeline behind the cache ------------------------------------------------------------

def test_a_hit_reads_no_yaml_at_any_step(folder, model_file, monkeypatch):
    from threatkit.model import read as read_module

    first = load_model(model_file)
    monkeypatch.setattr(read_module, "read_yaml", lambda *a: pytest.fail("read YAML for a cached model"))
    assert load_model(model_file) == first


def test_a_hit_shares_equal_quantities_as_the_cold_load_did(folder, tmp_path):
    leaves = ", ".join(f"{{id: s{i}, p: 0.5, cost_usd: 10}}" for i in range(20))
    model_file = tmp_path / "shared.yaml"
    model_file.write_text(f"threatkit: 1\ninclude: []\npathways:\n  - {{id: w, fidelity: 1, tree: "
                          f"{{id: r, gate: or, children: [{leaves}]}}}}\n")
    cold, cached = load_model(model_file), load_model(model_file)
    assert cached == cold and cached is not cold
    for model in (cold, cached):
        first, *rest = model.pathway("w").tree.children
        assert all(leaf.p is first.p and leaf.cost_usd is first.cost_usd for leaf in rest)


def test_an_entry_of_other_code_is_not_read(folder, model_file, monkeypatch):
    load_model(model_file)
    (entry,) = entries(folder)
    monkeypatch.setattr(cache, "_code_version", lambda: b"other code")
    model = load_model(model_file)                   # built again, under another key
    assert model.name == "Cached" and len(entries(folder)) == 2 and entry.exists()
