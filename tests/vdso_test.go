package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestVdsoTimeNowWithoutExits runs a million time.Now calls natively and
// under rumpgo --strace: the same output, and not one clock_gettime system
// call, because the guest's runtime found the vDSO through AT_SYSINFO_EHDR
// and reads the time from memory.
func TestVdsoTimeNowWithoutExits(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "timenow")

	native := run(t, os.Environ(), nil, bin)
	require.Zero(t, native.status, "stderr:\n%s", native.stderr)
	guest := run(t, os.Environ(), nil, rumpgo, "run", "--strace", bin)
	require.Zero(t, guest.status, "stderr:\n%s", tail(guest.stderr))
	require.Equal(t, native.stdout, guest.stdout)
	require.Equal(t, "calls 1000000\nmonotonic went back 0 times\ntime moved on: true\n", guest.stdout)

	var calls []string
	for _, line := range strings.Split(guest.stderr, "\n") {
		if strings.Contains(line, "clock_gettime(") || strings.Contains(line, "gettimeofday(") {
			calls = append(calls, line)
		}
	}
	require.Empty(t, calls, "time.Now must not exit to the monitor")
}

// TestVdsoTimeMatchesHost checks the guest's wall clock against the host's
// read around the run, and that it advanced, with no more than a refresh
// period (1 ms) of lag, allowing generous scheduling slack.
func TestVdsoTimeMatchesHost(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "timenow")

	before := time.Now()
	guest := run(t, os.Environ(), nil, rumpgo, "run", bin, "200000")
	after := time.Now()
	require.Zero(t, guest.status, "stderr:\n%s", tail(guest.stderr))
	require.Contains(t, guest.stdout, "monotonic went back 0 times\n")

	first, last := wallNs(t, guest.stderr)
	const slack = 50 * time.Millisecond
	require.LessOrEqual(t, first, last)
	require.GreaterOrEqual(t, first, before.Add(-slack).UnixNano(), "the guest's clock is behind the host's")
	require.LessOrEqual(t, last, after.Add(slack).UnixNano(), "the guest's clock is ahead of the host's")
}

// TestVdsoClockThroughSyscall: the system call still answers, and agrees
// with what the vDSO then reads (CLOCK_MONOTONIC never goes back across the
// two paths, which the monitor's refresh after every exit guarantees).
func TestVdsoClockThroughSyscall(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "timenow")
	guest := run(t, os.Environ(), nil, rumpgo, "run", bin, "-syscall", "2000")
	require.Zero(t, guest.status, "stderr:\n%s", tail(guest.stderr))
	require.Equal(t, "calls 2000\nmonotonic went back 0 times\n", guest.stdout)
}

func wallNs(t *testing.T, stderr string) (first, last int64) {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "wall_ns" {
			var err error
			first, err = strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			last, err = strconv.ParseInt(f[2], 10, 64)
			require.NoError(t, err)
			return first, last
		}
	}
	t.Fatalf("no wall_ns line in:\n%s", stderr)
	return 0, 0
}

// tail keeps a failure message readable when stderr is a long strace.
func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// TestVdsoGlibc runs a static glibc program natively and under rumpgo: glibc
// accepts the vDSO, and its clock_gettime, gettimeofday and time make no
// system call.
func TestVdsoGlibc(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skipf("needs gcc: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "ctime")
	out, err := exec.Command("gcc", "-O2", "-static", "-o", bin,
		filepath.Join(moduleRoot, "tests", "testdata", "ctime", "ctime.c")).CombinedOutput()
	require.NoError(t, err, "%s", out)

	native := run(t, os.Environ(), nil, bin)
	require.Zero(t, native.status, "stderr:\n%s", native.stderr)
	guest := run(t, os.Environ(), nil, rumpgo, "run", "--strace", bin)
	require.Zero(t, guest.status, "stderr:\n%s", tail(guest.stderr))
	require.Equal(t, native.stdout, guest.stdout)
	require.Equal(t, "vdso mapped: 1\nmonotonic went back 0 times\ngettimeofday and time agree: 1\nsched_getcpu works: 1\n", guest.stdout)
	for _, line := range strings.Split(guest.stderr, "\n") {
		for _, call := range []string{"clock_gettime(", "gettimeofday(", "time(", "getcpu("} {
			require.False(t, strings.HasPrefix(line, call), "a system call the vDSO answers: %s", line)
		}
	}
}

// TestVdsoClocksAgree runs cclocks natively and under rumpgo: a million
// reads of CLOCK_MONOTONIC, REALTIME, TAI, BOOTTIME, MONOTONIC_RAW and
// MONOTONIC_COARSE on four threads, through the vDSO and through the
// system call in turn, and a thread writing and stating a file, see no
// step back on any clock (a read that starts after another ended, on any
// thread, is no earlier; an mtime counts as a REALTIME reading), and a
// sleep and a timer until an absolute time on REALTIME, MONOTONIC,
// BOOTTIME and TAI end neither before it nor seconds after. Every
// eighth round goes through the system call, to keep the run near 15 s
// here; RUMPGO_CLOCKS_ARGS="1000000 4 2" alternates every other round.
func TestVdsoClocksAgree(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "cclocks")
	args := strings.Fields(os.Getenv("RUMPGO_CLOCKS_ARGS"))
	if len(args) == 0 {
		args = []string{"1000000", "4", "8"}
	}
	require.Len(t, args, 3, "RUMPGO_CLOCKS_ARGS: READS THREADS EVERY")
	reads, err := strconv.Atoi(args[0])
	require.NoError(t, err)
	threads, err := strconv.Atoi(args[1])
	require.NoError(t, err)
	want := fmt.Sprintf("%d reads on %d threads, every %s. round through the system call, the others through the vDSO\n", reads/threads*threads, threads, args[2])
	for _, c := range []string{"MONOTONIC", "REALTIME", "TAI", "BOOTTIME", "MONOTONIC_RAW", "MONOTONIC_COARSE"} {
		want += "CLOCK_" + c + " went back 0 times\n"
	}
	want += "file mtimes raised CLOCK_REALTIME's floor: 1\n"
	for _, c := range []string{"MONOTONIC", "REALTIME", "TAI", "BOOTTIME"} {
		want += "CLOCK_" + c + ": clock_nanosleep and a timer at an absolute time end on time: 1\n"
	}

	native := run(t, os.Environ(), nil, append([]string{bin}, args...)...)
	require.Zero(t, native.status, "stderr:\n%s", native.stderr)
	require.Equal(t, want, native.stdout, "natively (was the host's clock set?); stderr:\n%s", native.stderr)
	guest := run(t, os.Environ(), nil, append([]string{rumpgo, "run", bin}, args...)...)
	require.Zero(t, guest.status, "stderr:\n%s", tail(guest.stderr))
	require.Equal(t, want, guest.stdout, "under rumpgo; stderr:\n%s", tail(guest.stderr))
}
