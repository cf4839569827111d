# One command to set up and start the application, one to set up and run the tests.
.PHONY: run test bench lint setup

setup:
	@bash scripts/setup.sh

# `make run` starts the counter with a seeded demo district; `make run ARGS=` starts it alone.
ARGS ?= --demo
run: setup
	.venv/bin/python -m desktop $(ARGS)

test: setup
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m ruff check .
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m mypy
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest

bench: setup
	.venv/bin/python bench/bench_calc.py
	QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_counter.py
	.venv/bin/python bench/bench_forms.py
