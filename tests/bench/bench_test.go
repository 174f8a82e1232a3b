package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestTiny runs the whole suite once at its tiny size (-tiny): every row
// must produce figures (or, for QEMU, say why it was skipped or did not
// finish). It proves the suite still works; it judges no timing.
func TestTiny(t *testing.T) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("needs /dev/kvm: %v", err)
	}
	f.Close()
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-tiny", "-doc", "-"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("bench -tiny exited %d\nstdout:\n%s\nstderr:\n%s", rc, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"Machine: ",
		"| hello boot-to-exit, Go hello world",
		"QEMU microVM", // measured, did not finish, or skipped: qemu-system-x86 not installed
		"| getpid round trip",
		"| time.Now()",
		"| time.Now() while another thread makes clock_gettime system calls",
		"| futex ping-pong",
		"| create and join a thread",
		"| spawn a child process",
		"| page fault: first touch",
		"| HTTP requests/s",
		"| HTTP p99 latency",
		"host process VmRSS",
		"from the image",
		"from a volume",
		"| hello on disk",
		"| target (issue 11) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the output", want)
		}
	}
}

// TestTinySizesKeepFlags: flags given explicitly win over -tiny's sizes.
func TestTinySizesKeepFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// Counts are checked after the sizes are settled, before any work.
	if rc := run([]string{"-tiny", "-runs", "0"}, &stdout, &stderr); rc != 2 {
		t.Fatalf("-tiny -runs 0: exit %d, want 2 (the explicit -runs must win)\n%s", rc, stderr.String())
	}
	stderr.Reset()
	if rc := run([]string{"-rows", "nosuch"}, &stdout, &stderr); rc != 2 || !strings.Contains(stderr.String(), "unknown group") {
		t.Fatalf("-rows nosuch: exit %d, %s", rc, stderr.String())
	}
}
