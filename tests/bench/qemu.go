package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The hello row's third side: the same binary as /init of a QEMU microVM
// booting Debian's stock kernel from an initramfs, timed from starting
// qemu to qemu's exit (the init reboots; -no-reboot turns that into an
// exit). This is what "a VM per program" costs with a general-purpose
// kernel, the baseline a unikernel is meant to beat.

// qemuAppend is the kernel command line: the console on the serial port
// (it is how the bench sees hello's output), no boot chatter, reboot at
// once on a panic (init exiting) and through a triple fault, which needs
// no firmware; rumpgo_bench=reboot reaches init as an environment
// variable and tells tests/bench/hello to reboot.
const qemuAppend = "console=ttyS0 panic=-1 reboot=t rumpgo_bench=reboot"

// findQEMU returns qemu-system-x86_64 and a kernel, or why the row is
// skipped.
func findQEMU(kernelFlag string) (qemu, kernel, skip string) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", "", "skipped: qemu-system-x86 not installed"
	}
	if kernelFlag != "" {
		return qemu, kernelFlag, ""
	}
	// Debian's linux-image-amd64 installs /boot/vmlinuz-VERSION; take the
	// newest.
	k, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(k) == 0 {
		return "", "", "skipped: no kernel in /boot (apt-get install linux-image-amd64, or -kernel PATH)"
	}
	slices.Sort(k)
	return qemu, k[len(k)-1], ""
}

// kernelName is the kernel's version as its file name says, for the report.
func kernelName(kernel string) string { return strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-") }

// writeInitrd writes an uncompressed newc cpio holding /dev/console (so
// the kernel opens it as init's stdin, stdout and stderr) and init. Device
// nodes go in as cpio headers, so no privilege is needed.
func writeInitrd(path, initBin string) error {
	data, err := os.ReadFile(initBin)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	ino := 1
	entry := func(name string, mode uint32, rdevMajor, rdevMinor int, body []byte) {
		nlink := 1
		if mode&0o170000 == 0o040000 {
			nlink = 2
		}
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, nlink, 0, len(body), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
		ino++
		b.WriteString(name)
		b.WriteByte(0)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(body)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	entry("dev", 0o040755, 0, 0, nil)
	entry("dev/console", 0o020600, 5, 1, nil)
	entry("init", 0o100755, 0, 0, data)
	entry("TRAILER!!!", 0, 0, 0, nil)
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// qemuArgv boots kernel with initrd on a microVM with one vCPU, the
// serial port on stdout and nothing else. acpi=off: with ACPI tables this
// kernel (Debian 12's 6.1) finds no timer to calibrate against under TCG
// and hangs after "tsc: Marking TSC unstable"; without them it takes the
// MP table and boots.
func qemuArgv(qemu, kernel, initrd, accel string, quiet bool) []string {
	appendLine := qemuAppend
	if quiet {
		appendLine += " quiet"
	}
	return []string{qemu, "-M", "microvm,acpi=off", "-accel", accel, "-m", "256", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", appendLine}
}

// qemuBoot runs argv until qemu exits or timeout passes, and returns the
// wall time and everything the console showed. done is false when it was
// killed at the timeout.
func qemuBoot(argv []string, timeout time.Duration) (el time.Duration, console string, done bool, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, "", false, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err = <-exited:
		el = time.Since(start)
		if err != nil {
			return el, out.String(), true, fmt.Errorf("%s: %v\n%s%s", argv[0], err, tail(out.String(), 2000), stderr.Bytes())
		}
		return el, out.String(), true, nil
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-exited
		return time.Since(start), out.String(), false, nil
	}
}

// qemuTimes boots runs times after warm discarded ones (the first run
// pays for the page cache, as for the other hello sides) and checks that
// each printed hello's line.
func qemuTimes(runs, warm int, argv []string, timeout time.Duration) ([]float64, error) {
	var v []float64
	for i := range runs + warm {
		el, console, done, err := qemuBoot(argv, timeout)
		if err != nil {
			return nil, err
		}
		if !done {
			return nil, fmt.Errorf("no exit within %v; the console showed last: %q", timeout, lastLine(console))
		}
		if !strings.Contains(console, "hello, world") {
			return nil, fmt.Errorf("qemu exited without hello's output; the console showed last: %q", lastLine(console))
		}
		if i >= warm {
			v = append(v, float64(el.Nanoseconds()))
		}
	}
	return v, nil
}

// lastLine is the console's last line with text, printable and short.
func lastLine(console string) string {
	lines := strings.Split(strings.ReplaceAll(console, "\r", "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		s := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, lines[i])
		if s = strings.TrimSpace(s); s != "" {
			if len(s) > 160 {
				s = s[:160] + "…"
			}
			return s
		}
	}
	return "(nothing)"
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
