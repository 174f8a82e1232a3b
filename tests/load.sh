#!/bin/sh
# The suite under load: `go test -count=1 ./...` RUNS times in a row
# (default 5) while a parallel compile keeps both CPUs busy (go build -a std
# with a build cache of its own, so every round compiles everything again,
# as many jobs as CPUs). Stops at the first failing run; prints each run's
# time and the load average. Run tests/setup.sh first (README command 2).
# Like setup.sh it gives go test -timeout 40m: a package's default 10
# minutes is too short for ./tests on a loaded machine.
#
#   sh tests/load.sh              # five runs of go test -count=1 ./...
#   sh tests/load.sh 3 ./tests    # three runs of go test -count=1 ./tests
set -eu
cd "$(dirname "$0")/.."
runs=${1:-5}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- ./...

tmp=$(mktemp -d)
compile() {
	while [ ! -e "$tmp/stop" ]; do
		GOCACHE="$tmp/cache" go build -a std >/dev/null 2>&1 &
		echo $! >"$tmp/pid"
		wait $! || true
		rm -rf "$tmp/cache"
	done
}
compile &
loader=$!
stop() {
	touch "$tmp/stop"
	[ -s "$tmp/pid" ] && kill "$(cat "$tmp/pid")" 2>/dev/null || true
	wait "$loader" 2>/dev/null || true
	rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT TERM

load() { cut -d' ' -f1-3 /proc/loadavg; }
sleep 5 # let the compile get going
for i in $(seq "$runs"); do
	echo "== load run $i/$runs: go test -count=1 $* (load average $(load), a parallel compile running)"
	start=$(date +%s)
	if ! go test -count=1 -timeout 40m "$@"; then # as tests/setup.sh: a hang bound, not a measure
		echo "== load run $i/$runs FAILED after $(($(date +%s) - start)) s (load average $(load))"
		exit 1
	fi
	echo "== load run $i/$runs passed in $(($(date +%s) - start)) s (load average $(load))"
done
echo "== $runs consecutive green runs of go test -count=1 $* under a parallel compile"
