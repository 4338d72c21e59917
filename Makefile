# Two commands on a fresh machine with Python 3.11+:  make demo  and  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := data/examples/mythos.yaml
OUT := out/mythos

.PHONY: demo test lab bench notebooks clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "threatkit needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,dask]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/threatkit validate $(EXAMPLE)
	$(BIN)/threatkit batch $(EXAMPLE) -o $(OUT)
	@echo "threatkit demo: the reports are indexed in $(CURDIR)/$(OUT)/index.html"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q --nbval tests notebooks templates

lab: $(VENV)/.installed-lab   # JupyterLab on notebooks/ with the explorer open; make lab FILE=my-model.yaml
	$(BIN)/threatkit lab $(FILE)

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/analysis.py
	$(BIN)/python benchmarks/timeline.py
	$(BIN)/python benchmarks/sensitivity.py
	$(BIN)/python benchmarks/render.py
	$(BIN)/python benchmarks/batch.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/explorer.py
	$(BIN)/python benchmarks/huge.py

notebooks: $(VENV)/.installed-dev   # re-execute the stored notebooks after a change of code or data
	$(BIN)/python scripts/refresh_notebooks.py

clean:
	rm -rf $(VENV) out build dist
