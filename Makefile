# The two commands a new user needs: `make demo` and `make test`.
# Each installs what it needs first (scripts/install_deps.sh is idempotent).
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
TIDY_BUILD ?= build-tidy
FUZZ_SECONDS ?= 20
# The suites leave their figures here for `make hardening-report`.
export MITHRIL_REPORT_DIR := $(CURDIR)/$(BUILD)/hardening
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
JOBS ?= $(shell nproc)

.PHONY: all deps build demo demo-store test unit-test asan-test tsan-test system-test python-install python-test e2e-test fuzz-test tidy report-reset hardening-report bench clean

all: build

deps:
	@scripts/install_deps.sh

build: deps
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release -DMITHRIL_WERROR=ON
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/cli/mithril demo

demo-store: build
	@scripts/demo.sh $(BUILD)/cli/mithril

unit-test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan-test: deps
	cmake -S . -B $(ASAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DMITHRIL_WERROR=ON \
	  -DMITHRIL_SANITIZE=address,undefined -DMITHRIL_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	$(ASAN_BUILD)/tests/mithril_unit_tests --gtest_brief=1
	# The system suites against the ASan+UBSan binaries too (figures not reported twice).
	MITHRIL_REPORT_DIR= MITHRIL_BIN=$(CURDIR)/$(ASAN_BUILD)/cli/mithril python3 -m pytest -q tests/system

tsan-test: deps
	cmake -S . -B $(TSAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DMITHRIL_WERROR=ON \
	  -DMITHRIL_SANITIZE=thread -DMITHRIL_BUILD_BENCH=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target mithril_unit_tests mithril_stress mithril_cli
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/tests/mithril_unit_tests --gtest_brief=1
	# Many threads of one process on one Cache, under TSan: a race fails the stress run.
	TSAN_OPTIONS=halt_on_error=1 MITHRIL_REPORT_DIR= MITHRIL_STRESS_SECONDS=4 \
	  MITHRIL_BIN=$(CURDIR)/$(TSAN_BUILD)/cli/mithril python3 -m pytest -q tests/system/test_stress.py

system-test: build
	MITHRIL_BIN=$(CURDIR)/$(BUILD)/cli/mithril python3 -m pytest -q tests/system

python-install: deps
	python3 -m pip install -q .

python-test: python-install
	cd tests/python && python3 -m pytest -q .

e2e-test: build python-install
	MITHRIL_BIN=$(CURDIR)/$(BUILD)/cli/mithril python3 -m pytest -q tests/e2e

# libFuzzer targets (clang-19, ASan+UBSan), FUZZ_SECONDS each, from the seed corpora.
fuzz-test: deps
	CC=clang-19 CXX=clang++-19 cmake -S . -B $(FUZZ_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DMITHRIL_FUZZ=ON -DMITHRIL_SANITIZE=address,undefined -DMITHRIL_BUILD_TESTS=OFF -DMITHRIL_BUILD_BENCH=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	python3 tests/fuzz/run_fuzzers.py $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS)

# clang-tidy (.clang-tidy's checks) over all C++ of the product: src, cli,
# bench and the Python bindings, with their headers. Any finding fails.
# Configure only: the compile database is all clang-tidy needs.
tidy: deps
	cmake -S . -B $(TIDY_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release -DMITHRIL_BUILD_TESTS=OFF \
	  -DMITHRIL_BUILD_PYTHON=ON -Dpybind11_DIR="$$(python3 -m pybind11 --cmakedir)" >/dev/null
	run-clang-tidy-19 -p $(TIDY_BUILD) -j $(JOBS) -quiet -warnings-as-errors='*' \
	  '$(CURDIR)/(src|cli|bench|python/bindings)/' > $(TIDY_BUILD)/tidy.log 2>&1 \
	  || { grep -E -A3 'warning:|error:' $(TIDY_BUILD)/tidy.log; echo "clang-tidy: findings above"; exit 1; }
	@echo "clang-tidy: clean ($$(grep -c '^\[' $(TIDY_BUILD)/tidy.log) files)"

report-reset:
	rm -rf $(MITHRIL_REPORT_DIR)

hardening-report:
	python3 tests/hardening_report.py $(MITHRIL_REPORT_DIR)

test: report-reset tidy unit-test asan-test tsan-test system-test python-test e2e-test fuzz-test hardening-report

bench: build
	$(BUILD)/bench/mithril_bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(TIDY_BUILD)
