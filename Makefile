# h5mount — the outer shell. Everything a fresh Debian 12 machine needs:
#   make demo    mount a sample container and look around
#   make test    unit tests (swift test), integration tests (pytest, real mounts) and a
#                short fuzz run (about a minute, libFuzzer + ASan)
#   make install install the release binary, the man page and shell completions
#                (PREFIX=/usr/local, DESTDIR=; BIN=path installs that binary without building)
# Other targets: deps, venv, build, release, uninstall, clean; fuzz, fuzz-build,
# check-sanitizers (docs/fuzzing.md); sweep (the mutated-file corpus, docs/fuzzing.md).

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
	swift build -c release --product h5mount

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

# Runs every tier even when one fails, so every summary line is printed;
# fails when any failed.
test: deps venv build
	@status=0; \
	$(MAKE) --no-print-directory unit-test || status=1; \
	$(MAKE) --no-print-directory integration-test || status=1; \
	$(MAKE) --no-print-directory fuzz-smoke || status=1; \
	exit $$status

# TestSupport builds fixtures with the venv's h5py.
unit-test:
	H5MOUNT_PYTHON=$(VENV_PY) swift test

integration-test:
	H5MOUNT_BIN=$(DEBUG_BIN) H5MOUNT_PYTHON=$(VENV_PY) $(VENV_PY) -m pytest -q integration

demo: deps venv build
	H5MOUNT_BIN=$(DEBUG_BIN) H5MOUNT_PYTHON=$(VENV_PY) scripts/demo.sh

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan $(VENV) integration/__pycache__ integration/.pytest_cache scripts/__pycache__

# The benchmark (bench/README.md): release build, the FUSE ceiling filesystem, then the
# harness. H5MOUNT_BENCH_DATA=DIR keeps the generated containers between runs;
# BENCH_ARGS=--quick makes a small run that checks the harness.
.PHONY: bench
bench: deps venv
	swift build -c release --product h5mount
	mkdir -p .build/bench
	cc -O2 -Wall -o .build/bench/fuse_zeros bench/fuse_zeros.c $$(pkg-config --cflags --libs fuse3)
	cc -O2 -Wall -o .build/bench/fuse_sink bench/fuse_sink.c $$(pkg-config --cflags --libs fuse3 libdeflate hdf5) -lpthread
	$(VENV_PY) bench/bench.py $(BENCH_ARGS)

# The generated hostile corpus (docs/fuzzing.md, "The mutation sweep"): SWEEP_COUNT mutated
# containers mounted, walked and compared with h5py; prints the totals README's Reliability
# section quotes. Not part of `make test` (about 10 minutes for 300; a 12-input subset is).
SWEEP_COUNT ?= 300
.PHONY: sweep
sweep: venv build
	$(VENV_PY) integration/mutation_sweep.py --count $(SWEEP_COUNT) --bin $(DEBUG_BIN)

# Fuzzing and sanitizers (docs/fuzzing.md). h5fuzz is built with libFuzzer and ASan in its
# own scratch path; `fuzz/run.sh` runs each target for a bounded time from its committed
# seeds and fails on a crash, a broken invariant, a 10 s hang or a leak.
# FUZZ_TIME: seconds per target for `make fuzz`; FUZZ_TARGETS: a subset.
.PHONY: fuzz fuzz-build fuzz-smoke fuzz-corpus check-sanitizers
FUZZ_TIME ?= 120
FUZZ_SMOKE_TIME ?= 7
FUZZ_TARGETS ?=
SANITIZER_LOGS := $(CURDIR)/.build-asan/reports

# `--sanitize=fuzzer` makes SwiftPM link libFuzzer's main; the -Xswiftc flag names both
# sanitizers in one option (a second -sanitize= would replace the first). gold's
# "Cannot export local symbol" lines about ASan's own helpers are noise.
fuzz-build:
	@set -o pipefail; swift build --scratch-path .build-fuzz --product h5fuzz --sanitize=fuzzer \
	  -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address -Xswiftc -DFUZZING 2>&1 \
	  | grep -v 'Cannot export local symbol'

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

# What `make test` runs: every target for FUZZ_SMOKE_TIME seconds.
fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_SMOKE_TIME) $(FUZZ_TARGETS)

# Rewrites fuzz/corpus from real chunks (h5py + hdf5plugin).
fuzz-corpus: venv
	$(VENV_PY) fuzz/make_corpus.py

# Unit tests under AddressSanitizer and ThreadSanitizer, then the integration tests against
# an ASan-built h5mount; each build in its own scratch path. ASan reports of the daemons
# go to $(SANITIZER_LOGS) (a daemon's stderr is syslog), and any report fails the check.
# Not part of `make test`: about 25 minutes here from scratch (docs/fuzzing.md). Swift's
# backtracer is off: on a sanitizer's abort it fights the report and can hang the run.
check-sanitizers: deps venv
	@status=0; \
	echo "== unit tests, AddressSanitizer"; \
	H5MOUNT_PYTHON=$(VENV_PY) ASAN_OPTIONS=$(ASAN_TEST_OPTIONS):detect_leaks=0 SWIFT_BACKTRACE=enable=no \
	  swift test --sanitize=address --scratch-path .build-asan || status=1; \
	echo "== unit tests, ThreadSanitizer"; \
	H5MOUNT_PYTHON=$(VENV_PY) TSAN_OPTIONS="$(TSAN_TEST_OPTIONS)" SWIFT_BACKTRACE=enable=no \
	  swift test --sanitize=thread --scratch-path .build-tsan $(TSAN_SKIP) || status=1; \
	echo "== integration tests, ASan-built h5mount"; \
	rm -rf $(SANITIZER_LOGS); mkdir -p $(SANITIZER_LOGS); \
	swift build --sanitize=address --scratch-path .build-asan --product h5mount && \
	  H5MOUNT_BIN=$(CURDIR)/.build-asan/debug/h5mount H5MOUNT_PYTHON=$(VENV_PY) SWIFT_BACKTRACE=enable=no \
	  ASAN_OPTIONS=$(ASAN_TEST_OPTIONS):handle_segv=0:log_path=$(SANITIZER_LOGS)/asan LSAN_OPTIONS=$(LSAN_TEST_OPTIONS) \
	  $(VENV_PY) -m pytest -q integration $(SANITIZER_PYTEST_ARGS) || status=1; \
	if ls $(SANITIZER_LOGS)/asan.* >/dev/null 2>&1; then \
	  echo "check-sanitizers: AddressSanitizer reports in $(SANITIZER_LOGS):"; \
	  head -n 20 $(SANITIZER_LOGS)/asan.*; status=1; fi; \
	exit $$status
ASAN_TEST_OPTIONS := abort_on_error=1
# Leaks are checked in the daemons (integration) and the fuzz targets, not in the unit
# tests: XCTest on Linux never frees its test case objects, so everything a test holds is
# reported as leaked, from stacks that all run through XCTest.
LSAN_TEST_OPTIONS := suppressions=$(CURDIR)/sanitizers/lsan.supp
# The two suites that mount through the kernel run libfuse's own (uninstrumented) worker
# threads, which TSan stops at ("thread finished with ignores enabled"): left out there.
TSAN_SKIP := --skip MountSessionTests --skip WritableMountSessionTests
TSAN_TEST_OPTIONS := suppressions=$(CURDIR)/sanitizers/tsan.supp halt_on_error=1 second_deadlock_stack=1
# The daemons under test keep the kernel's SIGSEGV (handle_segv=0): the hostile files crash
# libhdf5 on purpose, in trial children (docs/hdf5-store.md, "Containment") or in a daemon
# run without containment (test_containment), and what containment and the tests look for
# is that signal, not ASan's report of it and its abort. Memory errors of ours are still
# caught where ASan's instrumentation sees them.
# Under ASan, RSS measures ASan's shadow memory and quarantine, not ours: the 1 GiB copy's
# absolute RSS bound cannot hold there (it measured 373 MiB against 320). The load test's
# RSS-growth bound does hold and stays in.
# The million-link group's absolute peak bound (test_bounded) is left out for the same reason
# (measured 1,058 MiB for 200,000 links under ASan before link blocks).
SANITIZER_PYTEST_ARGS ?= --deselect test_write_stress.py::test_copying_1_gib_in_keeps_the_daemon_small \
  --deselect test_bounded.py::test_a_group_of_a_million_links_lists_whole_and_the_daemon_stays_bounded
