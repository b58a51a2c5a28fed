#!/usr/bin/env bash
# Regenerate leakscope's own Go pprof fixtures (testdata/profiles/gen-*).
#
# Usage: testdata/gen/regen-profiles.sh      (from any directory)
#
# Needs Go >= 1.26 (uses `go` from PATH, else /usr/local/go/bin/go; override
# with GO=/path/to/go). Stdlib only, so no network access is needed.
# Exact sample values change on every run (heap sampling is random); the
# shape (functions, stacks, inlining, goroutine counts) does not.
set -euo pipefail

# Resolve the repo root robustly: this script lives in <root>/testdata/gen/,
# so go to its own directory's parent-of-parent, following symlinks to the
# script and working whatever the caller's cwd is.
src="${BASH_SOURCE[0]}"
while [ -L "$src" ]; do
	dir="$(cd -P -- "$(dirname -- "$src")" && pwd)"
	src="$(readlink -- "$src")"
	[[ "$src" != /* ]] && src="$dir/$src"
done
script_dir="$(cd -P -- "$(dirname -- "$src")" && pwd)"
root="$(cd -P -- "$script_dir/../.." && pwd)"
cd "$root"

if [ -n "${GO:-}" ]; then
	go_bin="$GO"
elif command -v go >/dev/null 2>&1; then
	go_bin="go"
else
	go_bin="/usr/local/go/bin/go"
fi

out="$root/testdata/profiles"
mkdir -p "$out"

# The generator is its own module (testdata/gen/profiles/go.mod), so run it
# from there. GOWORK=off: never pick up a go.work from a parent directory.
# -trimpath: file names in the profiles become module-relative
# (leakscope/testdata/gen/profiles/main.go, runtime/proc.go) instead of
# leaking this machine's checkout and GOROOT paths.
cd "$root/testdata/gen/profiles"
GOWORK=off GOFLAGS= "$go_bin" run -trimpath . -out "$out"
