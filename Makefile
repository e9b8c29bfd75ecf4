# Two commands for a fresh machine: `make run` and `make test` (see README.md).
VENV ?= .venv
CORES ?= all
ARGS ?=
# The config a run, its cost estimate and its archive are of (the demo by default).
CONFIG ?= config.yaml
PYTEST_ARGS ?=
# Two test processes (pytest-xdist): one runs a workflow while the other runs unit tests.
TEST_WORKERS ?= 2

export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test lint lock benchmark bench cost simulate screenshots clean image archive restore

# The runtime (requirements.lock) and the development tools (requirements-dev.lock).
$(VENV)/.installed: requirements.lock requirements-dev.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.lock -r requirements-dev.lock
	touch $@

# `make run CONFIG=configs/hub.yaml`: any config. Resumes by itself after a killed run
# (model_recycling/runtime/resume.py). A config that needs no network (the demo) runs offline by
# itself; a Hub config reaches the Hub (rules/common.smk).
run: $(VENV)/.installed
	python -m model_recycling.runtime.resume --configfile $(CONFIG) --cores $(CORES) $(ARGS)

# The whole suite, then lint (README "Tests"). System packages are installed only when asked:
# with INSTALL_SYSTEM=1, or CI=true (.ci/run sets it), the SLURM, container and browser tests
# install what they miss as root (Debian's slurm-wlm and munge; podman, runc and debootstrap;
# chromium). Elsewhere nothing is installed: where the packages are there the tests run, where
# they are not a test skips with one line saying what is missing and how to run it.
# SKIP_SLURM=1 and SKIP_CONTAINER=1 skip those tests even where they could run.
test: $(VENV)/.installed
	pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
	$(MAKE) --no-print-directory lint

# Style, the package's layers (pyproject.toml [tool.importlinter]: a module never imports from a
# later stage), module and function sizes (dev/check_sizes.py), and Snakemake's own lint.
lint: $(VENV)/.installed
	ruff check .
	ruff format --check .
	snakefmt --check Snakefile rules/
	lint-imports
	python dev/check_sizes.py model_recycling rules
	snakemake --lint

# Regenerate both locks after editing requirements.in or requirements-dev.in (dev/lock.py).
lock: $(VENV)/.installed
	$(VENV)/bin/python dev/lock.py

benchmark: $(VENV)/.installed
	bash benchmarks/time_make.sh

# Stage costs on this machine (random BERT 6 x 384, nothing downloaded; the `stages` stage alone
# about 10 minutes on 2 cores, every stage together longer: planning at 500-4,000 candidates is
# the largest). BENCH_STAGES picks stages; sizes: BENCH_* variables (benchmarks/run.py). Writes
# benchmarks/results.json and the table in BENCHMARKS.md.
bench: $(VENV)/.installed
	python -m benchmarks.run

# The image (Dockerfile) with podman. TORCH=cpu: torch's CPU-only wheel. BASE: another base
# (dev/make_base_image.sh makes one where no registry is reachable). HOST_PIP=1: this machine's
# pip settings reach the install step through a bind mount; TORCH_CPU_INDEX= (set, empty) takes
# the CPU wheel from pip's own settings (README "Containers").
IMAGE_TAG ?= ghcr.io/model-recycling/model-recycling:0.1.0
BASE ?= python:3.11-slim-bookworm
TORCH ?= cuda
image:
	python3 dev/build_image.py --tag $(IMAGE_TAG) --base $(BASE) --torch $(TORCH) \
		$(if $(filter 1,$(HOST_PIP)),--host-pip) \
		$(if $(filter undefined,$(origin TORCH_CPU_INDEX)),,--torch-cpu-index '$(TORCH_CPU_INDEX)')

# A run archive, archives/<config>-<commit>.tar.gz (README "Archived runs"). WHEELS=1 adds a
# wheelhouse of the lock, IMAGE=1 the image IMAGE_TAG, ALLOW_DIRTY=1 archives HEAD of a dirty tree.
archive: $(VENV)/.installed
	PYTHONPATH=$(CURDIR) python scripts/archive.py --config $(CONFIG) $(if $(NAME),--name $(NAME)) \
		$(if $(filter 1,$(WHEELS)),--wheels) $(if $(filter 1,$(IMAGE)),--image $(IMAGE_TAG)) \
		$(if $(filter 1,$(ALLOW_DIRTY)),--allow-dirty)

# Unpacks ARCHIVE into the new folder DEST; installs its wheelhouse there with no index.
restore:
	PYTHONPATH=$(CURDIR) python3 scripts/restore.py $(ARCHIVE) $(DEST)

# The README's screenshots: the demo's HTML site (run `make run` first) in headless Chromium,
# checked like the micro run's (tests/system/test_browser.py).
screenshots: $(VENV)/.installed
	test -f results/demo/site_html/index.html || { echo "no results/demo/site_html: run 'make run' first"; exit 1; }
	SCREENSHOTS_DIR=$(abspath docs/screenshots) SCREENSHOTS_SITE=$(abspath results/demo/site_html) \
		pytest -q -p no:xdist tests/system/test_browser.py

# What a run will cost before it runs: jobs, hours and download volume per stage, from this
# run's own records where they exist, else benchmarks/results.json (README "What it costs").
# CONFIG=configs/hub.yaml; ARGS="--assume-candidates 2000" for architectures not listed yet.
cost: $(VENV)/.installed
	PYTHONPATH=$(CURDIR) python scripts/cost.py --configfile $(CONFIG) $(ARGS)

# Would adaptive baseline seeds and racing have given the full protocol's answer, and for how
# many cells (README "Fewer cells")? Replays both, as the pipeline runs them (top 5 and top 20 by
# probe, 1,000 task orders), on the reference's published results of roberta-base and t5-base
# (the repository's copy, tests/data/published/) and on the demo's tables where `make run` made
# them, at each family's recommended settings. ARGS: --published DIR (every pair of published
# files in DIR), --reference-models T --reference-baseline B (one pair), the rules' settings
# (--target-se 2, --confidence 0.9, --epsilon 0.5, --no-racing, ...), --synthetic 5 100.
SIMULATE_TABLES = $(wildcard results/demo/architectures/*/tables/cells.csv)
simulate: $(VENV)/.installed
	PYTHONPATH=$(CURDIR) python scripts/simulate.py --published tests/data/published \
		$(foreach t,$(SIMULATE_TABLES),--tables $(dir $(t))) $(ARGS)

clean:
	rm -rf results .snakemake
