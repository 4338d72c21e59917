# Two commands on a fresh machine with Python 3.11+:  make demo  and  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := data/examples/mythos.yaml
OUT := out/mythos

.PHONY: demo test bench notebooks clean

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

demo: $(VENV)/.installed
	$(BIN)/threatkit validate $(EXAMPLE)
	$(BIN)/threatkit assess $(EXAMPLE)
	mkdir -p $(OUT)
	$(BIN)/threatkit assess $(EXAMPLE) --samples 2000 --seed 1 --format csv -o $(OUT)/assessment.csv
	for p in direct-use distillation failure-mode-probing fine-tuning-abuse router-training weight-exfiltration; do \
	  $(BIN)/threatkit tree $(EXAMPLE) --pathway $$p --scenario status-quo -o $(OUT)/status-quo-$$p.svg || exit 1; \
	done
	@echo "threatkit demo: results in $(CURDIR)/$(OUT)/"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q --nbval tests notebooks templates

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/analysis.py

notebooks: $(VENV)/.installed-dev   # re-execute the stored notebooks after a change of code or data
	$(BIN)/python scripts/refresh_notebooks.py

clean:
	rm -rf $(VENV) out build dist
