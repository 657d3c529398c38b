#!/bin/sh
# Prints, one per line and sorted, the Debian packages that own the shared
# libraries the given binaries load: the runtime image installs exactly
# those. Used by the Containerfile's build stage and by
# tests/deploy/image_prebuilt_test.sh on a Debian 12 host. Fails naming any
# library no package owns.
set -e
[ $# -gt 0 ] || { echo "usage: runtime-packages.sh BINARY..." >&2; exit 2; }
owners="$(mktemp)"
trap 'rm -f "$owners"' EXIT
libs="$(ldd "$@" | awk '$3 ~ /^\// {print $3}' | sort -u)"
# One dpkg -S for all (it reads the whole database per call); a library
# under /lib of a merged-/usr system is listed by its /usr path or target.
dpkg -S $libs >"$owners" 2>/dev/null || true
for lib in $libs; do
  grep -q ": $lib\$" "$owners" && continue
  dpkg -S "/usr$lib" 2>/dev/null >>"$owners" || dpkg -S "$(readlink -f "$lib")" 2>/dev/null >>"$owners" \
    || { echo "runtime-packages.sh: no Debian package owns $lib" >&2; exit 1; }
done
cut -d: -f1 "$owners" | sort -u
