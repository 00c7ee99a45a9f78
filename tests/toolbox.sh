#!/usr/bin/env bash
# Usage: tests/toolbox.sh ROOT...
# The shell scripts' counterpart of tests/toolbox.rs: gives each test root its own /bin/sh and
# the few tools the fake helpers use, with the shared libraries ldd names, and /dev/null —
# nodeprep runs a helper of a root other than / chrooted into it. Needs root (mknod).
set -euo pipefail
TOOLS="sh cat dirname basename mkdir grep tr awk sed sleep head yes true ls"
for root in "$@"; do
  mkdir -p "$root/usr/bin" "$root/dev"
  for t in $TOOLS; do
    bin=$(type -P "$t") || { echo "toolbox: $t is missing" >&2; exit 1; }
    bin=$(readlink -f "$bin")
    [ -e "$root/usr/bin/$t" ] || cp "$bin" "$root/usr/bin/$t"
    for lib in $(ldd "$bin" | grep -o '/[^ ]*' || true); do
      [ -e "$root$lib" ] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp "$(readlink -f "$lib")" "$root$lib"
    done
  done
  [ -e "$root/dev/null" ] || mknod -m 666 "$root/dev/null" c 1 3
  [ -e "$root/bin" ] || [ -L "$root/bin" ] || ln -s usr/bin "$root/bin"
done
