#!/bin/sh
# The test set-up, README command 2 and what .ci/run runs: install the
# Debian packages the tests need (tests/debian-packages, the one list) when
# any is missing, say what this machine's KVM can do, then run go test.
#
#   sh tests/setup.sh                          # set up, then go test ./...
#   sh tests/setup.sh -count=1 -run TestShell ./tests   # other go test arguments
#   sh tests/setup.sh --no-test                # only install (README command 1)
#
# Installing needs root or sudo; on a machine that has every package already
# it needs neither, nor the network for apt.
set -eu
cd "$(dirname "$0")/.."

missing=""
for p in $(sed 's/#.*//' tests/debian-packages); do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q ' ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if command -v apt-get >/dev/null; then
		SUDO=""
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		echo "setup: installing$missing (tests/debian-packages)"
		export DEBIAN_FRONTEND=noninteractive
		$SUDO apt-get update -qq
		$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
	else
		echo "setup: no apt-get here: install the equivalents of$missing (tests/debian-packages); the tests that need them fail naming the package"
	fi
fi
[ "${1:-}" = --no-test ] && exit 0

echo "== machine"
go version
uname -r
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	echo "KVM: /dev/kvm is available; KVM tests run"
	[ -d /sys/module/kvm_pvm ] && echo "KVM: backend is PVM (kvm_pvm)"
else
	echo "KVM: /dev/kvm is NOT available; KVM tests are skipped"
fi
doctor=$(mktemp)
trap 'rm -f "$doctor"' EXIT
go build -o "$doctor" ./cmd/rumpgo
"$doctor" doctor || echo "(tests that need native guest execution are skipped; see above)"

[ $# -gt 0 ] || set -- ./...
# -timeout is a hang bound for a whole package, not a measure: ./tests
# takes about 5 minutes on a quiet machine and 11 at load 26, past go
# test's default of 10. Every test bounds its own waits; a -timeout given
# here comes later and wins.
echo "== tests: go test -timeout 40m $*"
go test -timeout 40m "$@"
