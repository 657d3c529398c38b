# taskgrid — top-level entry points. Both builds (CMake and Bazel) use the
# libraries Debian ships; `make setup` installs whatever is missing.
#
#   make setup       install Debian packages, materialise third_party/prometheus-cpp
#   make build       CMake build into build/ (RelWithDebInfo)
#   make test        build, ctest, then the Bazel build and tests
#   make test-bazel  bazel test //... only
#   make demo        local cluster demo (scripts/demo.sh)
#   make bench       taskgrid vs Dask.distributed benchmarks (bench/run_bench.py)
#   make soak        3 clients + worker churn on a local cluster, SOAK_SECONDS
#                    (default 600); checks results, stuck tasks, RSS (tests/soak)
#   make fuzz        libFuzzer targets (clang) into build-fuzz/, fuzzed FUZZ_SECONDS each
#                    (make test fuzzes them too, and runs unit tests there under ASan+UBSan)
#   make test-asan   ASan+UBSan build in build-asan/, unit and e2e tests (ctest)
#   make test-tsan   TSan build in build-tsan/, unit and e2e tests (ctest)
#   make test-image  build deploy/Containerfile with podman and run the image
#                    (tests/deploy/image_test.sh; root, podman, runc, mmdebstrap)
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

.PHONY: setup configure build test test-cmake test-bazel build-bazel demo bench clean \
	fuzz-build fuzz test-asan test-tsan test-image soak

setup:
	bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

# The clang sanitizer tree is built before ctest so that ctest's sanitized.*
# unit tests and fuzz_bounded_run.* spend their time testing, not compiling.
test-cmake: build fuzz-build
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
	$(PYTHON) bench/python_path_bench.py --build-dir $(BUILD_DIR)

# Not in `make test`: bounded by SOAK_SECONDS (default 600), loopback only.
soak: build
	$(PYTHON) tests/soak/soak.py --build $(BUILD_DIR)

# libFuzzer needs clang: a separate build tree with coverage, ASan and UBSan
# on everything, building only the fuzz targets, the unit tests that ctest
# runs there under ASan+UBSan (fuzz/CMakeLists.txt) and what they link.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz-build: setup
	JOBS=$(JOBS) fuzz/build_fuzz_tree.sh $(CURDIR)/$(FUZZ_BUILD_DIR)

fuzz: fuzz-build
	JOBS=$(JOBS) fuzz/run_fuzz.sh --no-build $(FUZZ_SECONDS) $(CURDIR)/$(FUZZ_BUILD_DIR)

# Sanitizer builds: every CMake test (unit and e2e; the e2e tests start the
# sanitized binaries). UBSan reports fail the test instead of scrolling by.
# Every process writes its reports to build-*/sanitizer-reports/ (log_path):
# a report from a child process (a worker an e2e test started) fails the run
# even when the test itself passed, and all reports are printed at the end.
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$(1)/asan \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(1)/ubsan \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/sanitizers/tsan.supp:log_path=$(1)/tsan
test-asan test-tsan: test-%: setup
	$(eval SAN_DIR := build-$*)
	$(eval SAN := $(if $(filter asan,$*),address,thread))
	$(eval REPORTS := $(CURDIR)/$(SAN_DIR)/sanitizer-reports)
	cmake -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTASKGRID_SANITIZE=$(SAN)
	cmake --build $(SAN_DIR) -j$(JOBS)
	rm -rf $(REPORTS) && mkdir -p $(REPORTS)
	rc=0; $(call SANITIZER_ENV,$(REPORTS)) ctest --test-dir $(SAN_DIR) --output-on-failure \
	  -j$(JOBS) --timeout $(CTEST_TIMEOUT) || rc=$$?; \
	if [ -n "$$(ls -A $(REPORTS))" ]; then \
	  echo "sanitizer reports in $(REPORTS):"; cat $(REPORTS)/*; exit 1; \
	fi; exit $$rc

# Not in `make test`: the first run compiles taskgrid inside the image's build
# stage (38 minutes with one job on a busy 2-core machine); later runs reuse
# podman's layer cache while the sources are unchanged.
test-image: setup
	TASKGRID_IMAGE_JOBS=$(JOBS) bash tests/deploy/image_test.sh

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR) build-asan build-tsan
	if command -v $(BAZEL) >/dev/null; then $(BAZEL) clean; fi
