# One entry point for people and CI.
#   make course   set up the environment and open the course in JupyterLab
#   make test     set up the environment and run the whole test suite
#   make release  regenerate release/ from source/ with nbgrader
#   make clean-notebooks  strip outputs and editor metadata from source/
#   make bench    run the benchmarks (figures recorded in docs/benchmarks.md)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(abspath $(VENV))/bin
# nbgrader calls alembic by name, so the environment's bin/ goes first on PATH.
export PATH := $(BIN):$(PATH)
ASSIGNMENTS := $(notdir $(wildcard source/[0-9]*))

.PHONY: course test lint release clean-notebooks env bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

env: $(VENV)/.installed

course: env
	@test -d my-work || cp -r release my-work
	@echo "Your notebooks are in my-work/ (a copy of release/ that git ignores)."
	$(BIN)/jupyter lab --notebook-dir=my-work

lint: env
	$(BIN)/ruff check .

# Two pytest workers: much of the suite waits on kernels and servers. Tests that share a costly
# session fixture (a graded course, a JupyterLab server) form one xdist group (tests/conftest.py).
test: env lint
	bash scripts/install_grading_deps.sh
	bash scripts/install_browser.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup

release: env
	$(BIN)/python scripts/generate_release.py $(ASSIGNMENTS)

clean-notebooks: env
	$(BIN)/python scripts/clean_notebooks.py source

bench: env
	$(BIN)/python benchmarks/cnn_speed.py
