package tests

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Hardening (issue 10): --timeout, a guest that issues random system
// calls, the monitor's buffers under a guest that tries to grow them, and
// what survives a SIGKILL of rumpgo. docs/security.md sums them up.

// TestTimeout: --timeout stops a guest that overstays with a clear line
// and status 124, as timeout(1); a guest that ends in time keeps its own
// status; bad values are usage errors.
func TestTimeout(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	sleeper := cProgram(t, "chardening")
	exit7 := program(t, "exit7")
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"overstays", []string{"--timeout", "1s", sleeper, "sleep"}, 124, "rumpgo: --timeout 1s: the guest was still running; stopped it\n"},
		{"ends in time", []string{"--timeout", "2m", exit7}, 7, ""},
		{"negative", []string{"--timeout", "-1s", sleeper, "sleep"}, 125, "rumpgo: --timeout -1s: want a positive duration\n"},
		{"not a duration", []string{"--timeout", "soon", sleeper, "sleep"}, 125, `invalid value "soon" for flag -timeout`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := run(t, os.Environ(), nil, append([]string{rumpgo, "run"}, tc.args...)...)
			took := time.Since(start)
			require.Equal(t, tc.status, r.status, "stderr:\n%s", r.stderr)
			if tc.status == 124 {
				require.Equal(t, tc.stderr, r.stderr)
				require.Less(t, took, 10*time.Second)
				require.GreaterOrEqual(t, took, time.Second)
			} else {
				require.Contains(t, r.stderr, tc.stderr)
			}
		})
	}
	t.Run("blocked reading stdin", func(t *testing.T) {
		// A host read that cannot be interrupted: rumpgo must still go.
		pr, pw, err := os.Pipe()
		require.NoError(t, err)
		defer pw.Close()
		cmd := exec.Command(rumpgo, "run", "--timeout", "1s", sleeper, "stdin")
		cmd.Stdin = pr
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		require.NoError(t, cmd.Start())
		pr.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("still running after 10 s; stderr:\n%s", stderr.String())
		}
		require.Equal(t, 124, cmd.ProcessState.ExitCode(), "stderr:\n%s", stderr.String())
		require.Less(t, time.Since(start), 10*time.Second)
		require.Contains(t, stderr.String(), "rumpgo: --timeout 1s: the guest was still running; stopped it")
	})
}

// guestFuzzBase lays out the host side of a guest fuzz run: BASE/vol (the
// volume, with symlinks out of it planted), BASE/sentinel (never mounted;
// its files have mtimes in the past, so the snapshot records them) and
// BASE/bin (the fuzzer itself).
func guestFuzzBase(t *testing.T, bin string) (base, prog string) {
	base = t.TempDir()
	for _, d := range []string{"vol/d1", "sentinel/dir", "bin"} {
		require.NoError(t, os.MkdirAll(filepath.Join(base, d), 0o755))
	}
	for _, f := range []string{"vol/f1", "vol/d1/f2", "sentinel/keep", "sentinel/dir/deep"} {
		require.NoError(t, os.WriteFile(filepath.Join(base, f), []byte("contents of "+f+"\n"), 0o644))
	}
	require.NoError(t, os.Symlink("../sentinel", filepath.Join(base, "vol/out")))
	require.NoError(t, os.Symlink(filepath.Join(base, "sentinel"), filepath.Join(base, "vol/abs")))
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	prog = filepath.Join(base, "bin/guestfuzz")
	require.NoError(t, os.WriteFile(prog, b, 0o755))
	past := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{"sentinel/keep", "sentinel/dir/deep", "sentinel/dir", "sentinel", "bin/guestfuzz", "bin"} {
		require.NoError(t, os.Chtimes(filepath.Join(base, p), past, past))
	}
	return base, prog
}

var survivedRE = regexp.MustCompile(`guestfuzz: survived (\d+) syscalls \((\d+) failed, (\d+) distinct numbers\)`)

// TestGuestFuzz runs tests/testdata/guestfuzz — random system call
// numbers with random arguments (bad pointers, huge lengths, every flag
// bit, paths aimed out of the volume) — for a few seconds per seed. rumpgo
// must not fail (125) or hang (--timeout: 124); the guest ends with 0, or
// with a signal and rumpgo's report of it; nothing outside the volume
// changes. RUMPGO_GUESTFUZZ_SECONDS and RUMPGO_GUESTFUZZ_SEEDS=1,2,...
// run it longer.
func TestGuestFuzz(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "guestfuzz")
	seconds := 4
	if s, err := strconv.Atoi(os.Getenv("RUMPGO_GUESTFUZZ_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	seeds := []string{"1", "2"}
	if s := os.Getenv("RUMPGO_GUESTFUZZ_SEEDS"); s != "" {
		seeds = strings.Split(s, ",")
	}
	var total atomic.Int64
	for _, seed := range seeds {
		t.Run("seed "+seed, func(t *testing.T) {
			base, prog := guestFuzzBase(t, bin)
			vol := filepath.Join(base, "vol")
			outside := func() map[string]string { return snapshotOutside(t, base, "vol") }
			before := outside()
			r := run(t, os.Environ(), nil, rumpgo, "run", "--timeout", fmt.Sprint(seconds+60, "s"),
				"-v", vol+":"+vol, prog, seed, strconv.Itoa(seconds), base)
			stderr := r.stderr
			if len(stderr) > 4000 {
				stderr = "..." + stderr[len(stderr)-4000:]
			}
			require.NotEqual(t, 124, r.status, "the guest hung: rerun with -v after BASE to see the call; stderr:\n%s", stderr)
			require.NotEqual(t, 125, r.status, "rumpgo failed; stderr:\n%s", stderr)
			require.NotContains(t, r.stderr, "panic:")
			require.NotContains(t, r.stderr, "fatal error:")
			if r.status != 0 {
				require.Greater(t, r.status, 128, "stderr:\n%s", stderr)
				require.Contains(t, r.stderr, "rumpgo: guest killed by", "a signal death comes with a report")
			} else {
				m := survivedRE.FindStringSubmatch(r.stdout)
				require.NotNil(t, m, "no count from the guest; stderr:\n%s", stderr)
				n, _ := strconv.ParseInt(m[1], 10, 64)
				require.Positive(t, n)
				total.Add(n)
				t.Logf("seed %s: %s", seed, m[0])
			}
			require.Equal(t, before, outside(), "the host outside the volume changed")
		})
	}
	t.Logf("guest fuzz: %d syscalls survived in %d runs of %d s", total.Load(), len(seeds), seconds)
}

// TestBufferLimits: a guest trying to make the monitor grow its buffers
// gets an errno instead, and the monitor's peak memory stays small.
// Without the limits the pipe case alone would hold 8 GiB (32 pipes of
// 256 MiB, which root may ask for) and the unix case grew past 2 GiB.
func TestBufferLimits(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "chardening")
	const maxRSS = 400 << 10  // KiB: the monitor, the guest's touched memory, the bounded buffers
	img := buildImage(t, bin) // for the writable layer under --tmpfs-size
	for _, tc := range []struct {
		name   string
		args   []string
		want   map[string]func(v string) bool
		maxRSS int64 // KiB; 0 is maxRSS
	}{
		{"pipes", []string{bin, "pipe"}, map[string]func(string) bool{
			"pipe_size":  eq("268435456"), // root may set 256 MiB ...
			"pipes":      eq("32"),
			"pipe_bytes": atMost(64 << 20), // ... but all pipes hold 64 MiB at most (posix.PipeHostPages)
			"pipe_stop":  eq("EAGAIN"),
		}, 0},
		{"unix sockets", []string{bin, "unix"}, map[string]func(string) bool{
			"unix_seqpacket_empty": atMost(1000), "unix_seqpacket_empty_stop": eq("EAGAIN"),
			"unix_seqpacket_byte": atMost(1000), "unix_seqpacket_byte_stop": eq("EAGAIN"),
			"unix_stream_byte": atMost(1000), "unix_stream_byte_stop": eq("EAGAIN"),
			"unix_dgram_empty": atMost(1000), "unix_dgram_empty_stop": eq("EAGAIN"),
		}, 0},
		{"tcp", []string{bin, "tcp"}, map[string]func(string) bool{
			"tcp_sndbuf": atMost(2 * 212992), "tcp_rcvbuf": atMost(2 * 212992), // net.core.[wr]mem_max, doubled
			"tcp_bytes": atMost(16 << 20), "tcp_stop": eq("EAGAIN"),
		}, 0},
		// memfds live in the monitor's memory too: the guest's RAM bounds
		// them (before: unbounded, and guestfuzz grew rumpgo to 24 GiB).
		{"memfd", []string{"--memory", "64", bin, "memfd"}, map[string]func(string) bool{
			"memfd_sendfile_bytes": atMost(64 << 20), "memfd_sendfile_stop": eq("ENOSPC"),
			"memfd_bytes": between(32<<20, 64<<20), "memfd_stop": eq("ENOSPC"),
		}, 0},
		{"tmpfs", []string{"--memory", "64", bin, "tmpfs", "/tmp"}, map[string]func(string) bool{
			"tmpfs_bytes": atMost(32 << 20), "tmpfs_stop": eq("ENOSPC"), // half of --memory
			"xattr_bytes": atMost(8 << 20), "xattr_stop": eq("ENOSPC"), // 1 KiB per inode of the limit
			"files": atMost(8192), "files_stop": eq("ENOSPC"), // one inode per page of size
		}, 0},
		// --tmpfs-size bounds each tmpfs whatever --memory is: without it
		// each of these would take 256 MiB (half of the default 512).
		{"tmpfs-size /tmp", []string{"--tmpfs-size", "16m", bin, "tmpfs", "/tmp"}, tmpfsSizeWant(16 << 20), 128 << 10},
		{"tmpfs-size /dev/shm", []string{"--tmpfs-size", "16m", bin, "tmpfs", "/dev/shm"}, tmpfsSizeWant(16 << 20), 128 << 10},
		{"tmpfs-size bare root", []string{"--tmpfs-size", "16777216", bin, "tmpfs", "/"}, tmpfsSizeWant(16 << 20), 128 << 10},
		{"tmpfs-size image layer", []string{"--tmpfs-size", "16M", img, "tmpfs", "/"}, tmpfsSizeWant(16 << 20), 128 << 10},
		{"tmpfs-size statfs", []string{"--tmpfs-size", "1g", bin, "statfs", "/dev/shm"}, map[string]func(string) bool{
			"statfs_bytes": eq("1073741824"),
		}, 0},
		{"default statfs", []string{"--memory", "64", bin, "statfs", "/tmp"}, map[string]func(string) bool{
			"statfs_bytes": eq("33554432"), // half of --memory
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, os.Environ(), nil, append([]string{rumpgo, "run"}, tc.args...)...)
			require.Equal(t, 0, r.status, "stderr:\n%s", r.stderr)
			got := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				if k, v, ok := strings.Cut(line, " "); ok {
					got[k] = v
				}
			}
			for k, ok := range tc.want {
				require.Contains(t, got, k, "stdout:\n%s", r.stdout)
				require.True(t, ok(got[k]), "%s = %s", k, got[k])
			}
			limit := tc.maxRSS
			if limit == 0 {
				limit = maxRSS
			}
			require.Less(t, r.maxRSSKiB, limit, "peak RSS of rumpgo")
			t.Logf("%s: peak RSS %d MiB; %s", tc.name, r.maxRSSKiB>>10, strings.ReplaceAll(strings.TrimSpace(r.stdout), "\n", ", "))
		})
	}
}

// tmpfsSizeWant is what filling a tmpfs of size bytes gives: close to
// size of data (the directory may hold the program itself), an inode per
// page, 1 KiB of xattrs per inode, each then ENOSPC.
func tmpfsSizeWant(size int64) map[string]func(string) bool {
	return map[string]func(string) bool{
		"tmpfs_bytes": between(size/2, size), "tmpfs_stop": eq("ENOSPC"),
		"xattr_bytes": atMost(size / 4096 * 1024), "xattr_stop": eq("ENOSPC"),
		"files": atMost(size / 4096), "files_stop": eq("ENOSPC"),
	}
}

func between(lo, hi int64) func(string) bool {
	return func(v string) bool {
		x, err := strconv.ParseInt(v, 10, 64)
		return err == nil && x >= lo && x <= hi
	}
}

// TestTmpfsSizeFlag: --tmpfs-size takes bytes or k, m, g, t; anything
// else is a usage error (125) with one line.
func TestTmpfsSizeFlag(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "chardening")
	for _, tc := range []struct {
		size   string
		status int
		stdout string
		stderr string
	}{
		{"64m", 0, "statfs_bytes 67108864\n", ""},
		{"2G", 0, "statfs_bytes 2147483648\n", ""},
		{"4096KiB", 0, "statfs_bytes 4194304\n", ""},
		{"4m", 0, "statfs_bytes 4194304\n", ""},
		// A bare program is copied into the tmpfs that holds its path.
		{"64k", 125, "", "does not fit in its tmpfs of 65536 bytes (--tmpfs-size)\n"},
		{"8388608", 0, "statfs_bytes 8388608\n", ""},
		{"64x", 125, "", "rumpgo: --tmpfs-size 64x: want a size in bytes, or with k, m, g or t (e.g. 64m)\n"},
		{"-1m", 125, "", "rumpgo: --tmpfs-size -1m: want a size in bytes, or with k, m, g or t (e.g. 64m)\n"},
		{"0", 125, "", "rumpgo: --tmpfs-size 0: want 4k to 1t\n"},
		{"2t", 125, "", "rumpgo: --tmpfs-size 2t: want 4k to 1t\n"},
	} {
		t.Run(tc.size, func(t *testing.T) {
			r := run(t, os.Environ(), nil, rumpgo, "run", "--tmpfs-size", tc.size, bin, "statfs", "/tmp")
			require.Equal(t, tc.status, r.status, "stderr:\n%s", r.stderr)
			require.Equal(t, tc.stdout, r.stdout)
			if tc.status == 125 {
				require.Contains(t, r.stderr, tc.stderr)
				require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line")
			} else {
				require.Equal(t, tc.stderr, r.stderr)
			}
		})
	}
}

func eq(want string) func(string) bool { return func(v string) bool { return v == want } }

func atMost(n int64) func(string) bool {
	return func(v string) bool {
		x, err := strconv.ParseInt(v, 10, 64)
		return err == nil && x >= 0 && x <= n
	}
}

// strayProcesses lists the processes whose command line mentions marker:
// what a killed rumpgo might have left running.
func strayProcesses(marker string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), marker) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// TestKillDurability: a guest appends numbered 64-byte records to a file
// on a volume, fsyncs each and then prints "acked N". rumpgo is killed
// with SIGKILL at a random moment, ten times: every acknowledged record
// is on the host, whole and in order; nothing of rumpgo keeps running and
// it leaves no file in its TMPDIR. The last subtest does the same to an
// image's writable layer, which lives in the monitor's memory, once the
// guest acknowledged its first record: its data is gone, the image file
// is unchanged, and the next run finds no record.
func TestKillDurability(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "chardening")
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)

	// kill starts rumpgo with args and kills it delay after it printed
	// "acked minAcked" (at once for 0): a random moment for the volume,
	// and for the writable layer a moment when something is surely in it,
	// however slowly a busy machine starts the guest. It returns the first
	// line the guest printed and the last "acked N".
	kill := func(t *testing.T, delay time.Duration, minAcked int, args ...string) (string, int) {
		tmp := t.TempDir()
		cmd := exec.Command(rumpgo, append([]string{"run"}, args...)...)
		cmd.Env = withEnv("TMPDIR", tmp)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		type result struct {
			first string
			last  int
		}
		done := make(chan result, 1)
		reached := make(chan struct{})
		go func() {
			var r result
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if r.first == "" {
					r.first = sc.Text()
				}
				if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "acked ")); err == nil {
					r.last = n
					if n == minAcked {
						close(reached)
					}
				}
			}
			io.Copy(io.Discard, stdout)
			done <- r
		}()
		if minAcked > 0 {
			select {
			case <-reached:
			case <-time.After(2 * time.Minute):
				// Not a timing bound: a guest that acknowledges nothing
				// in two minutes is broken; kill it and report.
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("no \"acked %d\" in 2 minutes; stderr:\n%s", minAcked, stderr.String())
			}
		}
		time.Sleep(delay)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		err = cmd.Wait()
		require.Error(t, err)
		require.Equal(t, syscall.SIGKILL, cmd.ProcessState.Sys().(syscall.WaitStatus).Signal(), "stderr:\n%s", stderr.String())
		// Every ack printed before the kill is in the pipe: read to its end.
		r := <-done
		require.Empty(t, strayProcesses(tmp), "processes left behind")
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		require.Empty(t, left, "files left in TMPDIR")
		return r.first, r.last
	}

	for i := 0; i < 10; i++ {
		delay := time.Duration(50+rng.Intn(450)) * time.Millisecond
		t.Run(fmt.Sprintf("volume, kill after %v", delay), func(t *testing.T) {
			vol := t.TempDir()
			_, acked := kill(t, delay, 0, "-v", vol+":/data", bin, "durable", "/data/log")
			b, err := os.ReadFile(filepath.Join(vol, "log"))
			if acked == 0 && os.IsNotExist(err) {
				return // killed before the guest opened the file
			}
			require.NoError(t, err)
			whole := len(b) / 64
			require.GreaterOrEqual(t, whole, acked, "acknowledged records lost")
			for n := 1; n <= whole; n++ {
				rec := string(b[(n-1)*64 : n*64])
				require.True(t, strings.HasPrefix(rec, fmt.Sprintf("record %d ", n)) && strings.HasSuffix(rec, ".\n"), "record %d: %q", n, rec)
			}
			t.Logf("acked %d, on the host %d whole records (%d bytes)", acked, whole, len(b))
		})
	}
	t.Run("image writable layer", func(t *testing.T) {
		img := buildImage(t, bin)
		sum := func() string { return snapshot(t, filepath.Dir(img))["test.img"] }
		before := sum()
		_, acked := kill(t, 0, 1, img, "durable", "/log")
		require.Positive(t, acked)
		require.Equal(t, before, sum(), "the image file changed")
		// A new run starts from the image alone: the records are gone.
		found, acked := kill(t, 0, 1, img, "durable", "/log")
		require.Equal(t, "found 0", found, "a fresh writable layer")
		require.Positive(t, acked)
	})
}
