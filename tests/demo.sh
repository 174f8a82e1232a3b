#!/bin/sh
# The main job: boot bundled programs as unikernels with rumpgo and show them
# working. Run from the repository root after `go build -o rumpgo ./cmd/rumpgo`.
set -e
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== a static program with no libc (runs on every KVM host)"
as --64 -o "$out/hello.o" tests/testdata/asmhello/hello.S
ld -static -o "$out/asmhello" "$out/hello.o"
./rumpgo run --strace "$out/asmhello" one two || echo "(exit status $?)"

echo "== an unmodified static Go program"
(cd tests/testdata/hello && CGO_ENABLED=0 go build -o "$out/hello" .)
if ./rumpgo doctor >/dev/null; then
	echo "from stdin" | RUMPGO_TEST_VAR=set ./rumpgo run "$out/hello" a b
	echo "(exit status $?)"
else
	./rumpgo doctor || true
	echo "Go guests need native execution, which this host's KVM does not give (README: 'Status')."
fi
