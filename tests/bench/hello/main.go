// Command hello is the boot-to-exit guest of tests/bench: a Go hello world
// that the suite runs natively, under `rumpgo run`, and as /init of a QEMU
// microVM with a stock Linux kernel — the same binary each time.
//
// As /init (PID 1, with rumpgo_bench=reboot on the kernel command line,
// which Linux hands to init as an environment variable) it waits for the
// console to drain and reboots, which ends QEMU under -no-reboot; anywhere
// else it just prints and exits.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	fmt.Println("hello, world")
	if os.Getpid() != 1 || os.Getenv("rumpgo_bench") != "reboot" {
		return
	}
	// tcdrain: TCSBRK with a non-zero argument waits until the serial
	// port has sent what was written.
	syscall.Syscall(syscall.SYS_IOCTL, 1, 0x5409 /* TCSBRK */, 1)
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART); err != nil {
		fmt.Fprintln(os.Stderr, "hello: reboot:", err)
	}
	// Should reboot fail, init exiting panics the kernel, and panic=-1
	// reboots it.
	os.Exit(1)
}
