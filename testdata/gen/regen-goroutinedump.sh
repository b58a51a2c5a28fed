#!/usr/bin/env bash
# Regenerate the legacy text fixtures (testdata/profiles/gen-*.txt):
# goroutine ?debug=1 and ?debug=2 dumps and a heap ?debug=1 profile, all
# from one run of testdata/gen/goroutinedump, plus a CRLF copy of the heap
# profile.
#
# Usage: testdata/gen/regen-goroutinedump.sh      (from any directory)
#
# Needs Go >= 1.26 (uses `go` from PATH, else /usr/local/go/bin/go; override
# with GO=/path/to/go). Stdlib only, so no network access is needed.
# Addresses and heap values change from run to run; the goroutine counts,
# states and "created by" functions do not.
set -euo pipefail

src="${BASH_SOURCE[0]}"
while [ -L "$src" ]; do
	dir="$(cd -P -- "$(dirname -- "$src")" && pwd)"
	src="$(readlink -- "$src")"
	[[ "$src" != /* ]] && src="$dir/$src"
done
script_dir="$(cd -P -- "$(dirname -- "$src")" && pwd)"
root="$(cd -P -- "$script_dir/../.." && pwd)"

if [ -n "${GO:-}" ]; then
	go_bin="$GO"
elif command -v go >/dev/null 2>&1; then
	go_bin="go"
else
	go_bin="/usr/local/go/bin/go"
fi

out="$root/testdata/profiles"
mkdir -p "$out"

# Its own module; GOWORK=off ignores any go.work above. -trimpath keeps
# this machine's paths out of the file names in the dumps.
cd "$root/testdata/gen/goroutinedump"
GOWORK=off GOFLAGS= "$go_bin" run -trimpath . -out "$out"

# The same heap profile with CRLF line endings, as a Windows editor or a
# text-mode download leaves it.
sed 's/$/\r/' "$out/gen-heap.debug1.txt" > "$out/gen-heap.debug1.crlf.txt"
echo "wrote $out/gen-heap.debug1.crlf.txt"
