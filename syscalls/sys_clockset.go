package syscalls

import (
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// Setting the clock: the guest's clocks are the host's, which no guest
// may change, so every setting answers EPERM, as Linux does for a process
// without CAP_SYS_TIME, after the same argument checks. Reading the
// clock's discipline (adjtimex with no modes) works.
func init() {
	const note = "EPERM, as without CAP_SYS_TIME: the clock is the host's"
	register(unix.SYS_CLOCK_SETTIME, Entry{Name: "clock_settime", Support: Error, Note: note,
		fn: sysClockSettime, args: []argKind{aClockID, aPtr}})
	register(unix.SYS_SETTIMEOFDAY, Entry{Name: "settimeofday", Support: Error, Note: note,
		fn: sysSettimeofday, args: []argKind{aPtr, aPtr}})
	register(unix.SYS_ADJTIMEX, Entry{Name: "adjtimex", Support: Partial, Note: "reads the host clock's state; changes answer EPERM, as without CAP_SYS_TIME",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) { return t.adjtimex(unix.CLOCK_REALTIME, a[0]) }, args: []argKind{aPtr}})
	register(unix.SYS_CLOCK_ADJTIME, Entry{Name: "clock_adjtime", Support: Partial, Note: "as adjtimex, for CLOCK_REALTIME",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) { return t.adjtimex(a.Int(0), a[1]) }, args: []argKind{aClockID, aPtr}})
}

func sysClockSettime(t *Thread, a Args) (uint64, unix.Errno) {
	var b [16]byte
	if e := t.mm().CopyIn(a[1], b[:]); e != 0 {
		return 0, e
	}
	if _, e := guestClock(a.Int(0)); e != 0 {
		return 0, e
	}
	if a.Int(0) != unix.CLOCK_REALTIME {
		return 0, unix.EINVAL // only CLOCK_REALTIME can be set
	}
	sec, nsec := int64(binary.LittleEndian.Uint64(b[0:])), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, unix.EINVAL
	}
	return 0, unix.EPERM
}

func sysSettimeofday(t *Thread, a Args) (uint64, unix.Errno) {
	if a[0] != 0 {
		var b [16]byte
		if e := t.mm().CopyIn(a[0], b[:]); e != 0 {
			return 0, e
		}
		sec, usec := int64(binary.LittleEndian.Uint64(b[0:])), int64(binary.LittleEndian.Uint64(b[8:]))
		if sec < 0 || usec < 0 || usec >= 1e6 {
			return 0, unix.EINVAL
		}
	}
	var tz [8]byte
	if a[1] != 0 {
		if e := t.mm().CopyIn(a[1], tz[:]); e != 0 {
			return 0, e
		}
	}
	// The permission check comes before the time zone's (security_settime64
	// in do_sys_settimeofday64); a root guest is still refused the change.
	if !t.capable(posix.CAP_SYS_TIME) {
		return 0, unix.EPERM
	}
	if west := int32(binary.LittleEndian.Uint32(tz[0:])); a[1] != 0 && (west < -15*60 || west > 15*60) {
		return 0, unix.EINVAL
	}
	return 0, unix.EPERM
}

// adjtimex modes that only read (linux/timex.h).
const (
	ADJ_OFFSET_SS_READ = 0xa001
	timexSize          = 208
)

// adjtimex answers the host clock's discipline for a query and EPERM for
// a change.
func (t *Thread) adjtimex(clock int, addr uint64) (uint64, unix.Errno) {
	if clock != unix.CLOCK_REALTIME {
		if _, e := guestClock(clock); e != 0 {
			return 0, e
		}
		return 0, unix.EOPNOTSUPP // only the system clock is disciplined
	}
	var b [timexSize]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return 0, e
	}
	if modes := binary.LittleEndian.Uint32(b[0:]); modes != 0 && modes != ADJ_OFFSET_SS_READ {
		return 0, unix.EPERM
	}
	tx, state := hostTimex, hostTimexState
	now := time.Now()
	tx.Modes = 0
	tx.Time = unix.Timeval{Sec: now.Unix(), Usec: int64(now.Nanosecond() / 1000)}
	if tx.Status&unix.STA_NANO != 0 {
		tx.Time.Usec = int64(now.Nanosecond())
	}
	out := (*[timexSize]byte)(unsafe.Pointer(&tx))[:]
	return uint64(state), t.mm().CopyOut(addr, out)
}

// hostTimex is the host clock's discipline, read when the monitor starts:
// its sandbox allows no adjtimex later. Without it the clock reads as
// unsynchronized.
var hostTimex, hostTimexState = func() (unix.Timex, int) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return unix.Timex{Status: unix.STA_UNSYNC, Maxerror: 16000000, Esterror: 16000000, Constant: 2,
			Precision: 1, Tolerance: 32768000, Tick: 10000}, unix.TIME_ERROR
	}
	return tx, state
}()
