#!/bin/sh
echo "bazel coverage is not supported by taskgrid's offline Bazel setup; use CMake with --coverage" >&2
exit 1
