#!/bin/bash
# Unit tests of make bench's Python side (report, loop_delay): the table,
# ratios, "did not finish" cells and metric parsing. Debian's python3, which
# has matplotlib for the chart test.
set -euo pipefail
dir="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
exec /usr/bin/python3 -m unittest discover -s "$dir" -p '*_test.py'
