# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
# `make check` is the developer's loop: lint, types, and the tests but the browser's and the
# slow ones (benchmarks' code paths, long runs of real processes); `make test` runs them all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist processes; each has its own Redis and PostgreSQL databases (tests/conftest.py).
# Three on two cores: the long end-to-end runs mostly wait (paced load, processes starting, a
# server restarting), and a third process keeps both cores busy meanwhile.
WORKERS ?= 3
PYTEST := $(BIN)/pytest -q -rs -n $(WORKERS) --dist loadgroup

.PHONY: run test check lint typecheck docs unit bench browser clean

run: $(STAMP)
	$(BIN)/kesher serve

test: $(STAMP) lint typecheck docs
	$(PYTEST) --durations=25

check: $(STAMP) lint typecheck docs
	$(PYTEST) --durations=15 -m "not slow and not browser" tests/unit tests/contract tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The documentation site (mkdocs.yml): --strict fails on a broken link or anchor.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench.sandbox_load

# Headless Chromium for the browser tests, and a Hebrew font for PDFs (Debian; needs root).
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)
	test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || (apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core)

$(STAMP): pyproject.toml constraints.txt hashes.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-deps --require-hashes -r hashes.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info site
