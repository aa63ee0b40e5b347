# The two commands a new user needs: `make demo` and `make test`.
# Each installs what it needs first (scripts/install_deps.sh, idempotent):
# Debian packages, and a project virtual environment (VENV, default .venv)
# made from PYTHON (default python3) with torch 2.13.0, CPU build.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
TIDY_BUILD ?= build-tidy
FUZZ_SECONDS ?= 10
PYTHON ?= python3
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
export PYTHON VENV
# The venv first: its `python3` and the `mithril` command `pip install .` puts there.
export PATH := $(abspath $(VENV))/bin:$(PATH)
# The suites leave their figures here for `make hardening-report`.
export MITHRIL_REPORT_DIR := $(CURDIR)/$(BUILD)/hardening
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
JOBS ?= $(shell nproc)
CONFIGURE := cmake -S . $(GENERATOR) -DMITHRIL_WERROR=ON

.PHONY: all deps deps-demo build build-demo demo demo-store test unit-test asan-build asan-test asan-system-test \
        tsan-build tsan-test stress-test system-test install-lib-test python-install python-test python-lint e2e-test fuzz-test tidy \
        install-check report-reset hardening-report bench clean

all: build

# SKIP_DEPS=1: the test runner checked them once already.
deps:
	@[ -n "$(SKIP_DEPS)" ] || scripts/install_deps.sh test

deps-demo:
	@[ -n "$(SKIP_DEPS)" ] || scripts/install_deps.sh demo

build: deps
	$(CONFIGURE) -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DMITHRIL_BUILD_TESTS=ON -DMITHRIL_BUILD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS)

# The demo needs the CLI only: no test framework, no benchmarks.
build-demo: deps-demo
	$(CONFIGURE) -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DMITHRIL_BUILD_TESTS=OFF -DMITHRIL_BUILD_BENCH=OFF
	cmake --build $(BUILD) -j $(JOBS) --target mithril_cli

demo: build-demo
	$(BUILD)/cli/mithril demo --python $(PY)

demo-store: build-demo
	@scripts/demo.sh $(BUILD)/cli/mithril

# Every suite, each even when an earlier one failed, then one summary table
# (suite, passed, failed, seconds); exits non-zero when any suite failed.
test: deps
	$(PY) tests/run_suites.py

unit-test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# One clang-19 build with ASan+UBSan serves the unit and system suites and the
# libFuzzer targets (one build instead of two). -O1 without debug info: the
# usual sanitizer setting, quicker to build than -O2 -g on two cores.
# Warnings as errors come from the GCC build; clang-19 warns about
# libstdc++ 12's own deprecations.
asan-build: deps
	CC=clang-19 CXX=clang++-19 cmake -S . $(GENERATOR) -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 \
	  -DCMAKE_C_FLAGS=-O1 \
	  -DMITHRIL_SANITIZE=address,undefined -DMITHRIL_FUZZ=ON -DMITHRIL_BUILD_TESTS=ON -DMITHRIL_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)

asan-test: asan-build
	$(ASAN_BUILD)/tests/mithril_unit_tests --gtest_brief=1

# The system suites against the ASan+UBSan binaries too (figures not reported twice).
asan-system-test: asan-build
	MITHRIL_REPORT_DIR= MITHRIL_BIN=$(CURDIR)/$(ASAN_BUILD)/cli/mithril $(PY) -m pytest -q tests/system

tsan-build: deps
	$(CONFIGURE) -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMITHRIL_SANITIZE=thread -DMITHRIL_BUILD_BENCH=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target mithril_unit_tests mithril_stress mithril_cli

tsan-test: tsan-build
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/tests/mithril_unit_tests --gtest_brief=1

# Many threads of one process on one Cache, under TSan: a race fails the stress run.
stress-test: tsan-build
	TSAN_OPTIONS=halt_on_error=1 MITHRIL_REPORT_DIR= MITHRIL_STRESS_SECONDS=4 \
	  MITHRIL_BIN=$(CURDIR)/$(TSAN_BUILD)/cli/mithril $(PY) -m pytest -q tests/system/test_stress.py

system-test: build
	MITHRIL_BIN=$(CURDIR)/$(BUILD)/cli/mithril $(PY) -m pytest -q tests/system

# The installed C++ library: `cmake --install` of the Release build into a
# temporary prefix, then a small program built against it with
# find_package(mithril) and with pkg-config, and run (tests/install/consumer/);
# then the dependency rules: each layer's include view refuses what
# cmake/MithrilLayers.cmake forbids (tests/install/check_layers.py).
install-lib-test: build
	$(PY) tests/install/check_library.py --build $(BUILD)

# The wheel's build tools come with `deps` (no isolated build environment).
python-install: deps
	$(PY) -m pip install -q --no-build-isolation .

python-test: python-install
	cd tests/python && $(PY) -m pytest -q .

# ruff (lint, format) and mypy --strict over python/mithril_cache/ (pyproject.toml's
# [tool.ruff] and [tool.mypy]); no build needed: mypy reads the _core.pyi stub.
python-lint: deps
	$(PY) tests/python_lint.py

e2e-test: build python-install
	MITHRIL_BIN=$(CURDIR)/$(BUILD)/cli/mithril $(PY) -m pytest -q tests/e2e

# libFuzzer targets (clang-19, ASan+UBSan), FUZZ_SECONDS each, from the seed corpora.
fuzz-test: asan-build
	$(PY) tests/fuzz/run_fuzzers.py $(ASAN_BUILD) --seconds $(FUZZ_SECONDS)

# clang-tidy (.clang-tidy's checks) over all C++ of the product: src, cli,
# bench and the Python bindings, with their headers. Any finding fails.
# Incremental: a file whose inputs did not change since it was last clean is
# not checked again (scripts/tidy.py). Configure only: the compile database
# is all clang-tidy needs.
tidy: deps
	$(CONFIGURE) -B $(TIDY_BUILD) -DCMAKE_BUILD_TYPE=Release -DMITHRIL_BUILD_TESTS=OFF \
	  -DMITHRIL_BUILD_PYTHON=ON -Dpybind11_DIR="$$($(PY) -m pybind11 --cmakedir)" >/dev/null
	$(PY) scripts/tidy.py $(TIDY_BUILD) -j $(JOBS)

# The install script on Debian's own Python (PEP 668 applies to it), in a
# venv of its own, then the demo with that venv's torch.
install-check: build
	$(PY) tests/install/check_install.py --mithril $(CURDIR)/$(BUILD)/cli/mithril

report-reset:
	rm -rf $(MITHRIL_REPORT_DIR)

hardening-report:
	$(PY) tests/hardening_report.py $(MITHRIL_REPORT_DIR)

bench: build
	$(BUILD)/bench/mithril_bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(TIDY_BUILD) build-fuzz
