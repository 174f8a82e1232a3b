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

echo "== a Go HTTP server inside the unikernel, served to the host through -p"
if ./rumpgo doctor >/dev/null && command -v curl >/dev/null; then
	(cd tests/testdata/httpserve && CGO_ENABLED=0 go build -o "$out/httpserve" .)
	./rumpgo run -p '[::1]:18080:80' "$out/httpserve" :80 >"$out/server.log" 2>&1 &
	server=$!
	for _ in $(seq 50); do grep -q ready "$out/server.log" 2>/dev/null && break; sleep 0.1; done
	printf 'curl http://[::1]:18080/ -> '
	curl -s 'http://[::1]:18080/'
	kill -TERM "$server"
	wait "$server" || echo "(server stopped: exit status $?)"
else
	echo "(needs native guest execution and curl)"
fi

echo "== processes: a Go program running its own binary as children through os/exec"
if ./rumpgo doctor >/dev/null; then
	(cd tests/testdata/goexec && CGO_ENABLED=0 go build -o "$out/goexec" .)
	./rumpgo run "$out/goexec"
	echo "(exit status $?)"
else
	echo "(needs native guest execution)"
fi
