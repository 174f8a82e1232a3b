#!/bin/sh
# Boot-to-exit and syscall round trip with the no-libc, no-SSE test guests,
# which run on every KVM host (also where Go guests cannot, see README).
# Usage: sh tests/bench/asm.sh   (from the repository root; prints medians)
set -e
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
go build -o "$out/rumpgo" ./cmd/rumpgo
for p in asmhello/hello asmgetpid/getpid; do
	as --64 -o "$out/p.o" "tests/testdata/$p.S"
	ld -static -o "$out/$(dirname $p)" "$out/p.o"
done
us() { s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(((e - s) / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] " (min " a[1] ", max " a[NR] ")"}'; }
echo "| measurement | native | rumpgo |"
echo "|---|---|---|"
n=$(for i in $(seq 21); do us "$out/asmhello"; done | median)
r=$(for i in $(seq 21); do us "$out/rumpgo" run "$out/asmhello"; done | median)
echo "| asm hello boot-to-exit, µs, median of 21 | $n | $r |"
n=$(for i in $(seq 5); do us "$out/asmgetpid"; done | median)
r=$(for i in $(seq 5); do us "$out/rumpgo" run "$out/asmgetpid"; done | median)
echo "| 100 000 getpid calls incl. start, µs, median of 5 | $n | $r |"
