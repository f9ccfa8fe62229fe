# One entry point for people and CI.
#   make course   install the course (learner's dependencies only) and open it in JupyterLab
#   make test     install the course with its grading and test tools, and run the whole test suite
#   make release  regenerate release/ from source/ with nbgrader
#   make clean-notebooks  strip outputs and editor metadata from source/
#   make bench    run the benchmarks (figures recorded in docs/benchmarks.md)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(abspath $(VENV))/bin
# nbgrader calls alembic by name, so the environment's bin/ goes first on PATH.
export PATH := $(BIN):$(PATH)
ASSIGNMENTS := $(notdir $(wildcard source/[0-9]*))
# Extra arguments for JupyterLab, e.g. make course LAB_ARGS="--port=8890 --no-browser"
LAB_ARGS ?=
# JupyterLab refuses to start as root unless told; containers and cloud notebook VMs often run as root.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: course test lint release clean-notebooks env learner-env bench

# One stamp per install: `make course` after `make test` finds the test install (a superset) and
# installs nothing; `make test` after `make course` adds the extras.
$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed-course: pyproject.toml | $(VENV)/.created
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/.created
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-course

learner-env: $(VENV)/.installed-course

env: $(VENV)/.installed-test

course: learner-env
	@test -d my-work || cp -r release my-work
	@echo "Your notebooks are in my-work/ (a copy of release/ that git ignores)."
	@if [ "$$(id -u)" = 0 ]; then echo "Running as root: starting JupyterLab with --allow-root."; fi
	$(BIN)/jupyter lab --notebook-dir=my-work $(ROOT_ARGS) $(LAB_ARGS)

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
