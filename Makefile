# One entry point for people and CI.
#   make course   install the course (learner's dependencies only) and open it in JupyterLab
#   make test     install the course with its grading and test tools, and run the whole test suite
#   make release  regenerate release/ from source/ with nbgrader
#   make clean-notebooks  strip outputs and editor metadata from source/
#   make bench    run the benchmarks (figures recorded in docs/benchmarks.md)
#   make hub      (as root) a class on JupyterHub on this machine, on loopback: docs/running-a-class.md
#   make hub-grade ASSIGNMENT=01_computation_graphs   (as root) grade the hub's class with course grade

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

.PHONY: course test lint release clean-notebooks env learner-env bench hub hub-grade

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
	bash scripts/install_hub.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=25

release: env
	$(BIN)/python scripts/generate_release.py $(ASSIGNMENTS)

clean-notebooks: env
	$(BIN)/python scripts/clean_notebooks.py source

bench: env
	$(BIN)/python benchmarks/cnn_speed.py

# The demo class: users bp-instructor, bp-student1, bp-student2 (Unix users, passwords printed),
# their homes, nbgrader's exchange and the instructor's course under HUB_ROOT; JupyterHub on
# http://127.0.0.1:HUB_PORT until Ctrl+C.
HUB_ROOT ?= /srv/backprop-hub
HUB_PORT ?= 8000
HUB_COURSE = $(HUB_ROOT)/home/bp-instructor/backprop

hub: env
	bash scripts/install_hub.sh
	$(BIN)/python hub/prepare_class.py --root $(HUB_ROOT)
	@echo "Open http://127.0.0.1:$(HUB_PORT)/ and log in as a user above with the password beside it"
	@echo "(the instructor: Nbgrader -> Formgrader; students: Nbgrader -> Assignment List). Ctrl+C stops the hub."
	BACKPROP_HUB_ROOT=$(HUB_ROOT) BACKPROP_HUB_PORT=$(HUB_PORT) $(BIN)/jupyterhub -f hub/jupyterhub_config.py

# course grade runs as root (it sandboxes the kernels) and gives what it wrote back to the course's owner.
hub-grade: env
	@test -n "$(ASSIGNMENT)" || { echo "usage: make hub-grade ASSIGNMENT=01_computation_graphs"; exit 2; }
	cd $(HUB_COURSE) && $(BIN)/course grade $(ASSIGNMENT)
