#!/bin/sh
# Runs Go standard library test binaries natively and under rumpgo and
# prints a Markdown table of the counts. Usage, from the module root:
#
#	sh tests/stdlib/run.sh sync time context os/signal runtime/pprof
#
# Native runs start in the package's directory, as `go test` does; the
# guest gets the same argv. With STDLIB_VOLUME=1 GOROOT/src is also a
# volume at the same path in the guest and the package's directory its
# working directory (-v SRC:SRC -w DIR), so tests that read testdata (theirs
# or ../testdata) find it; without, the guest sees an empty directory.
set -eu
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/rumpgo" ./cmd/rumpgo
goroot=$(go env GOROOT)
count() { grep -c "^\s*--- $1" "$2" || true; }
echo "| package | native pass/fail/skip | rumpgo pass/fail/skip | rumpgo exit | rumpgo time |"
echo "|---|---|---|---|---|"
for pkg in "$@"; do
	bin="$work/$(echo "$pkg" | tr / _).test"
	CGO_ENABLED=0 go test -c -o "$bin" "$pkg"
	(cd "$goroot/src/$pkg" && timeout 600 "$bin" -test.short -test.v >"$bin.native" 2>&1) || true
	start=$(date +%s)
	status=0
	vol=""
	if [ -n "${STDLIB_VOLUME:-}" ]; then
		vol="-v $goroot/src:$goroot/src -w $goroot/src/$pkg"
	fi
	# shellcheck disable=SC2086 # $vol is words
	(cd "$goroot/src/$pkg" && timeout 600 "$work/rumpgo" run $vol "$bin" -test.short -test.v >"$bin.guest" 2>&1) || status=$?
	secs=$(($(date +%s) - start))
	echo "| $pkg | $(count PASS "$bin.native")/$(count FAIL "$bin.native")/$(count SKIP "$bin.native") | $(count PASS "$bin.guest")/$(count FAIL "$bin.guest")/$(count SKIP "$bin.guest") | $status | ${secs}s |"
	if [ -n "${STDLIB_KEEP:-}" ]; then
		mkdir -p "$STDLIB_KEEP"
		cp "$bin.native" "$bin.guest" "$STDLIB_KEEP/"
	fi
done
