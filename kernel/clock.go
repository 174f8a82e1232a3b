package kernel

import (
	"time"
	_ "unsafe" // go:linkname

	"golang.org/x/sys/unix"
)

// Clock is syscalls.Clock for the app: the kernel's own Go runtime reads
// the monitor's time page (its vDSO) without an exit, so the app's clock
// calls cost no exit either. The clocks the runtime does not read
// (BOOTTIME, MONOTONIC_RAW, TAI, the CPU-time clocks) go to the monitor.
type Clock struct{}

// nanotime is the runtime's CLOCK_MONOTONIC, read through the vDSO.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

func (Clock) Now(id int32) (int64, bool) {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_COARSE:
		return time.Now().UnixNano(), true
	case unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_COARSE:
		return nanotime(), true
	}
	return 0, false
}
