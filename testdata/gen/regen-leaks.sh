#!/usr/bin/env bash
# Rebuilds leakyproxy + leakdriver and regenerates every leak scenario into
# testdata/leaks/<scenario>/ (heap/goroutine profiles, /metrics scrapes,
# expected.json, meta.json). Works from any cwd. Takes ~1.5-2.5 min.
#
# Usage: testdata/gen/regen-leaks.sh [leakdriver flags, e.g. -scenarios metrics,fixed]
# Env:   GO=/path/to/go (default: go from PATH, else /usr/local/go/bin/go)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/leakyproxy"
out="$(cd "$here/.." && pwd)/leaks"

if [[ -n "${GO:-}" ]]; then
  go_bin="$GO"
elif command -v go >/dev/null 2>&1; then
  go_bin="$(command -v go)"
elif [[ -x /usr/local/go/bin/go ]]; then
  go_bin=/usr/local/go/bin/go
else
  echo "regen-leaks.sh: go toolchain not found (set GO=...)" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$module"
"$go_bin" build -trimpath -o "$tmp/leakdriver" ./cmd/leakdriver
mkdir -p "$out"
# The driver builds ./cmd/leakyproxy into its own temp dir, runs each scenario
# on 127.0.0.1 ephemeral ports and replaces $out/<scenario>/.
"$tmp/leakdriver" -module "$module" -go "$go_bin" -out "$out" "$@"
