# kanjo — two commands do everything on a fresh machine:
#   make demo   set up .venv, build the offline default encoder, train/evaluate/predict on the
#               shipped sample
#   make test   the same set-up, then the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := runs/demo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium) \
	  || echo "warning: no chromium (apt-get failed): the browser tests will be skipped"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/kanjo train examples/reviews.csv --out $(DEMO) --overwrite
	$(BIN)/kanjo evaluate $(DEMO) examples/reviews.csv --split dev
	$(BIN)/kanjo predict $(DEMO) --input examples/new_reviews.txt

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
