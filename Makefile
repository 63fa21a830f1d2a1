# The two commands of the README do all set-up on a fresh machine.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
WORK_DIR ?= demo_work
PYTEST_ARGS ?=

.PHONY: install demo test lint

install:
	$(PIP) install -e '.[test]'

demo: install
	spairkit demo --work-dir $(WORK_DIR)

test: install
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

lint:
	ruff check .
