# taskgrid — top-level entry points. Both builds (CMake and Bazel) use the
# libraries Debian ships; `make setup` installs whatever is missing.
#
#   make setup       install Debian packages, materialise third_party/prometheus-cpp
#   make build       CMake build into build/ (RelWithDebInfo)
#   make test        build, ctest, then the Bazel build and tests
#   make test-bazel  bazel test //... only
#   make demo        local cluster demo (scripts/demo.sh)
#   make bench       taskgrid vs Dask.distributed benchmarks (bench/run_bench.py)
#   make clean       remove build/ and Bazel's outputs
#
# The machines have 2 cores: everything runs with 2 jobs (JOBS=N to change).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
# Seconds per ctest test unless the test sets its own TIMEOUT property.
CTEST_TIMEOUT ?= 300
BAZEL ?= bazel
# ccache keyed on paths relative to the checkout, so a fresh clone in
# another folder reuses objects compiled before.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
# Debian's interpreter: it has dask/distributed, the pyenv python3 on PATH does not.
PYTHON ?= /usr/bin/python3

.PHONY: setup configure build test test-cmake test-bazel build-bazel demo bench clean

setup:
	bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

test-cmake: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS) --timeout $(CTEST_TIMEOUT)

test: test-cmake
	$(MAKE) --no-print-directory test-bazel

# `bazel test //...` also builds every non-test target. Exit code 4 means
# "built fine, but no test targets exist", which is not a failure.
test-bazel: setup
	$(BAZEL) test --jobs=$(JOBS) //... || { rc=$$?; [ $$rc -eq 4 ]; }

build-bazel: setup
	$(BAZEL) build --jobs=$(JOBS) //...

demo: build
	BUILD_DIR=$(BUILD_DIR) bash scripts/demo.sh

bench: build
	$(PYTHON) bench/run_bench.py --build $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
	if command -v $(BAZEL) >/dev/null; then $(BAZEL) clean; fi
