# Two entry points for a fresh Debian machine with Python 3.11:
#   make run    installs everything and launches the window
#   make test   installs everything and runs the linter and the whole test suite (Qt offscreen)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch; override (e.g. TORCH_SPEC=torch) to take another build.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

# Libraries the Qt xcb platform plugin needs for a real window on Linux (best effort: needs root + apt).
system-deps:
	@sh scripts/system-deps.sh

run: system-deps $(STAMP)
	$(BIN)/ebmlab

lint: $(STAMP)
	$(BIN)/ruff check ebmlab tests
	$(BIN)/ruff format --check ebmlab tests

# The 2-minute soak (a live window run: steps/s drift, memory, frames/s, refcounts) runs first so that
# pytest's summary is the last line; `ebmlab bench --soak 30` is the long version, outside CI.
test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen timeout -k 10 600 $(BIN)/ebmlab bench --soak 2
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/ebmlab bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
