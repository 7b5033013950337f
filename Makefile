# webfarm.winauth: `make demo` runs the farm playbooks against the lab,
# `make test` runs every test. Both set up everything they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
LAB := PYTHONPATH=$(CURDIR)/tests/lab $(BIN)/python -m winauth_lab
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections

.PHONY: help venv deps collection lab-up lab-down lab-reset lab-status lab-env demo test sanity lint units bench compat

help:
	@echo "make demo        bring the lab up and run the farm playbooks against it (PATTERN=lb|arr|both)"
	@echo "make test        run every test (sanity, units, lab integration, lint)"
	@echo "make lab-up | lab-down | lab-reset | lab-status | lab-env"
	@echo "make bench       web_auth and app_pool on 2, 10 and 50 lab nodes beside ansible.builtin.raw"

deps:
	@tests/lab/install-deps.sh

$(VENV)/.installed: requirements.txt tests/requirements.txt | deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt -r tests/requirements.txt
	touch $@

venv: deps $(VENV)/.installed

# The older controllers of the compatibility matrix (make test runs them): one venv per ansible-core release,
# with the collection's controller requirements, from the package index.
COMPAT_RELEASES := 2.16 2.17 2.18
build/ansible-%/.installed: requirements.txt | deps
	rm -rf build/ansible-$*
	$(PYTHON) -m venv build/ansible-$*
	build/ansible-$*/bin/pip install -q --disable-pip-version-check -r requirements.txt 'ansible-core==$*.*' \
	  'pykerberos>=1.2,<2'
	touch $@

compat: $(foreach r,$(COMPAT_RELEASES),build/ansible-$(r)/.installed)

# The working tree as an installed collection (a symlink), so playbooks and
# ansible-doc use exactly these files.
collection:
	@mkdir -p build/collections/ansible_collections/webfarm
	@ln -sfn $(CURDIR) build/collections/ansible_collections/webfarm/winauth

lab-up: venv collection
	@$(LAB) up

lab-down:
	@if [ -x $(BIN)/python ]; then $(LAB) down; else PYTHONPATH=tests/lab $(PYTHON) -m winauth_lab down; fi

lab-reset: venv
	@$(LAB) reset

lab-status: venv
	@$(LAB) status

lab-env: venv
	@$(LAB) env

# PATTERN=lb|arr|both (default both). DEMO_KEEP=1 leaves the farms configured on the lab.
demo: lab-up
	@eval "$$($(LAB) env)"; PATH="$(BIN):$$PATH" tests/demo/demo.sh $(or $(PATTERN),both)

test: venv collection compat
	@eval "$$($(LAB) env)"; export MAKE_TEST_STARTED=$$(date +%s); \
	  $(BIN)/pytest -p no:cacheprovider tests

sanity: venv compat
	@$(BIN)/pytest -p no:cacheprovider tests/checks/test_sanity.py

lint: venv collection
	@$(BIN)/pytest -p no:cacheprovider tests/checks/test_repository.py -k ansible_lint

units: venv
	@$(BIN)/pytest -p no:cacheprovider tests/unit

# Not part of `make test`: adds bench nodes to the running lab (no DC restart), prints the table
# of docs/benchmark.md, restores the node count. BENCH_SIZES=2,10 BENCH_REPEAT=3 BENCH_ARGS=--write-doc
bench: venv collection
	@$(BIN)/python tests/bench/bench.py $(BENCH_ARGS)
