# One command to set up and start the application, one to set up and run the tests.
.PHONY: run test bench lint setup lock windows-deps

setup:
	@bash scripts/setup.sh

# `make run` starts the counter with a seeded demo district; `make run ARGS=` starts it alone.
ARGS ?= --demo
run: setup
	.venv/bin/python -m desktop $(ARGS)

test: setup
	.venv/bin/python scripts/windows_deps.py --if-reachable
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m ruff check .
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m mypy
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest

# Each figure beside its raw baseline, measured in the same run (issue 13); see README
# "Performance". The search builds a 1,000,000-person cache once (kept under /tmp), the sync
# seeds a 100,000-person district once (kept under /tmp): the first run takes about half an
# hour, later ones about ten minutes. A benchmark that misses its target says so and goes on.
bench: setup
	-.venv/bin/python bench/bench_calc.py
	-QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_start.py
	-QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_counter.py --starts 0
	-.venv/bin/python bench/bench_search.py
	-.venv/bin/python bench/bench_forms.py
	-.venv/bin/python bench/bench_sync.py
	-.venv/bin/python bench/cache_size.py

# Regenerates requirements/lock.txt from pyproject.toml's ranges (scripts/lock.sh):
# `make lock LOCK_ARGS=--upgrade` moves every pin to the newest in range.
LOCK_ARGS ?=
lock:
	@bash scripts/lock.sh $(LOCK_ARGS)

# Every locked dependency as a Windows wheel (win_amd64, CPython 3.11) into .cache/windows-wheels.
windows-deps: setup
	.venv/bin/python scripts/windows_deps.py
