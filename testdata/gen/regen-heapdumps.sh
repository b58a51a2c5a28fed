#!/usr/bin/env bash
# Regenerates the Go heap-dump fixtures testdata/heapdumps/<scenario>/
# (1.heapdump.gz, 2.heapdump.gz, expected.json) for every scenario of
# testdata/gen/heapdump. Works from any cwd. Takes ~10-20 s.
#
# Usage: testdata/gen/regen-heapdumps.sh [scenario...]   (default: all four)
# Env:   GO=/path/to/go (default: go from PATH, else /usr/local/go/bin/go)
#
# Needs Go >= 1.26, stdlib only (no network). gzip -9 -n keeps the gzip
# header free of names and times; the dumps themselves differ from run to
# run (Go 1.26 randomizes heap addresses, goids and timings vary), so
# expected.json is rewritten together with the dumps, never by hand.
#
# The 1 GiB benchmark dump is not made here (and is never committed):
#   (cd testdata/gen/heapdump && go run -trimpath . -scenario big -heap-mib 1024 -out /tmp/big.heapdump)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/heapdump"
out_root="$(cd "$here/.." && pwd)/heapdumps"

if [[ -n "${GO:-}" ]]; then
  go_bin="$GO"
elif command -v go >/dev/null 2>&1; then
  go_bin="$(command -v go)"
elif [[ -x /usr/local/go/bin/go ]]; then
  go_bin=/usr/local/go/bin/go
else
  echo "regen-heapdumps.sh: go toolchain not found (set GO=...)" >&2
  exit 1
fi

if [[ $# -gt 0 ]]; then
  scenarios=("$@")
else
  scenarios=(global-map goroutine-stack config-registry control)
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Its own module; GOWORK=off ignores any go.work above. -trimpath keeps this
# machine's paths out of the file names in the memprof records.
(cd "$module" && GOWORK=off GOFLAGS= "$go_bin" build -trimpath -o "$tmp/heapdump" .)

for sc in "${scenarios[@]}"; do
  work="$tmp/$sc"
  "$tmp/heapdump" -scenario "$sc" -out "$work"
  for n in 1 2; do
    gzip -9 -n -f "$work/$n.heapdump"
  done
  dest="$out_root/$sc"
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$work/1.heapdump.gz" "$work/2.heapdump.gz" "$work/expected.json" "$dest/"
  echo "regen-heapdumps.sh: wrote $dest"
done
du -sh "$out_root"
