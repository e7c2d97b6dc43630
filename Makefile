# h5mount — the outer shell. Everything a fresh Debian 12 machine needs:
#   make demo    mount a sample container and look around
#   make test    unit tests (swift test) and integration tests (pytest, real mounts)
#   make install install the release binary, the man page and shell completions
#                (PREFIX=/usr/local, DESTDIR=; BIN=path installs that binary without building)
# Other targets: deps, venv, build, release, uninstall, clean.

SHELL := /bin/bash
.DEFAULT_GOAL := build

PYTHON ?= python3
VENV := .venv
VENV_PY := $(CURDIR)/$(VENV)/bin/python
DEBUG_BIN := $(CURDIR)/.build/debug/h5mount

# Debian packages the build, the tests and the demo use.
APT_PACKAGES := libfuse3-dev fuse3 libhdf5-dev hdf5-tools liblz4-dev libdeflate-dev \
                zlib1g-dev pkg-config attr man-db

.PHONY: deps venv build release install uninstall test unit-test integration-test demo clean

# Installs only what is missing (dpkg's view), with one `apt-get update` first.
# Without root, succeeds when nothing is missing and otherwise says what to install.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "deps: installing$$missing"; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "deps: missing$$missing; run as root: apt-get install$$missing" >&2; exit 1; fi; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

# A virtualenv with the Python side of the tests (h5py is the oracle); built only when
# something is missing from it.
venv:
	@if ! $(VENV_PY) -c 'import h5py, hdf5plugin, numpy, pytest' >/dev/null 2>&1; then \
	  echo "venv: creating $(VENV)"; \
	  $(PYTHON) -m venv --clear $(VENV) && \
	  $(VENV_PY) -m pip install -q --disable-pip-version-check -r integration/requirements.txt; \
	fi

build:
	swift build

release:
	swift build -c release

# Where `make install` puts things; the completion dirs are the ones bash-completion,
# zsh and fish look in for packages.
PREFIX ?= /usr/local
DESTDIR ?=
RELEASE_BIN := $(CURDIR)/.build/release/h5mount
BIN ?= $(RELEASE_BIN)
BINDIR := $(DESTDIR)$(PREFIX)/bin
MANDIR := $(DESTDIR)$(PREFIX)/share/man/man1
BASH_COMPLETION_DIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSH_COMPLETION_DIR := $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISH_COMPLETION_DIR := $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

# The completions come from the binary itself (swift-argument-parser), so they always
# match its options. Builds the release binary unless BIN names another one.
install: $(if $(filter $(RELEASE_BIN),$(BIN)),release)
	install -d $(BINDIR) $(MANDIR) $(BASH_COMPLETION_DIR) $(ZSH_COMPLETION_DIR) $(FISH_COMPLETION_DIR)
	install -m 755 $(BIN) $(BINDIR)/h5mount
	install -m 644 docs/h5mount.1 $(MANDIR)/h5mount.1
	$(BIN) --generate-completion-script bash > $(BASH_COMPLETION_DIR)/h5mount
	$(BIN) --generate-completion-script zsh > $(ZSH_COMPLETION_DIR)/_h5mount
	$(BIN) --generate-completion-script fish > $(FISH_COMPLETION_DIR)/h5mount.fish

uninstall:
	rm -f $(BINDIR)/h5mount $(MANDIR)/h5mount.1 $(BASH_COMPLETION_DIR)/h5mount \
	      $(ZSH_COMPLETION_DIR)/_h5mount $(FISH_COMPLETION_DIR)/h5mount.fish

# Runs both tiers even when the first fails, so every summary line is printed;
# fails when either failed.
test: deps venv build
	@status=0; \
	$(MAKE) --no-print-directory unit-test || status=1; \
	$(MAKE) --no-print-directory integration-test || status=1; \
	exit $$status

# TestSupport builds fixtures with the venv's h5py.
unit-test:
	H5MOUNT_PYTHON=$(VENV_PY) swift test

integration-test:
	H5MOUNT_BIN=$(DEBUG_BIN) H5MOUNT_PYTHON=$(VENV_PY) $(VENV_PY) -m pytest -q integration

demo: deps venv build
	H5MOUNT_BIN=$(DEBUG_BIN) H5MOUNT_PYTHON=$(VENV_PY) scripts/demo.sh

clean:
	rm -rf .build $(VENV) integration/__pycache__ integration/.pytest_cache scripts/__pycache__

# The benchmark (bench/README.md): release build, the FUSE ceiling filesystem, then the
# harness. H5MOUNT_BENCH_DATA=DIR keeps the generated containers between runs;
# BENCH_ARGS=--quick makes a small run that checks the harness.
.PHONY: bench
bench: deps venv
	swift build -c release
	mkdir -p .build/bench
	cc -O2 -Wall -o .build/bench/fuse_zeros bench/fuse_zeros.c $$(pkg-config --cflags --libs fuse3)
	$(VENV_PY) bench/bench.py $(BENCH_ARGS)
