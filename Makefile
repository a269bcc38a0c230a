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

# browser tests drive Debian's chromium (Playwright's own browser download is not used); the
# report's Japanese text needs a CJK font
BROWSER_PACKAGES := chromium fonts-noto-cjk fonts-noto-color-emoji

.PHONY: setup browser demo test lint bench clean

setup: $(STAMP) browser

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 && $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BROWSER_PACKAGES); } || \
	  echo "WARNING: could not install $(BROWSER_PACKAGES): browser tests will be skipped (and fail under CI=true)"

$(STAMP): pyproject.toml constraints.txt
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
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) runs .pytest_cache
