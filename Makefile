# The two commands that do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest venv clean bench soak browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,aws,api,dask,geo]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@bash examples/demo.sh
	@bash examples/geo_demo.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy
	@for f in src/cirrostratus/builtins/*/*/lambda_function.py; do \
		$(BIN)/mypy --no-error-summary "$$f" || exit 1; done

# The dashboard's browser test drives Debian's chromium (Playwright's own download is not available
# here). Installed when missing and apt-get is usable; otherwise that one test skips and says why.
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium not installed: the browser test will skip"; }

pytest: $(STAMP) browser
	$(BIN)/pytest -n 2 -m "not soak"

test: lint typecheck pytest

# The long reliability profile (not in CI): kill -9 over 5,000 chained payloads, every crash
# point at 200 payloads, state.db locked past its busy timeout. Prints its figures at the end.
soak: $(STAMP)
	$(BIN)/pytest -n 0 -m soak tests/reliability

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
