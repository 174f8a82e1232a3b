package kernel

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/rumpglue"
	"github.com/rumpgo/rumpgo/syscalls"
	"golang.org/x/sys/unix"
)

// kern is the prototype kernel's state for its one app thread.
type kern struct {
	space          *space
	stdout, stderr io.Writer
	unsupported    map[string]int
}

// regsAt are a new program's registers, as Linux starts a process.
func regsAt(entry, sp uint64) rumpglue.Regs {
	return rumpglue.Regs{RIP: entry, RSP: sp, RFLAGS: 0x202}
}

// serve runs the app until it exits and returns its exit status.
func (k *kern) serve(st *userState) int {
	iret := false
	for {
		if runUser(st, iret) == reasonFault {
			if sig := k.fault(st); sig != 0 {
				addr := "" // CR2 means something for a page fault only
				if st.Vector == vecPF {
					addr = fmt.Sprintf(", address %#x", st.Addr)
				}
				fmt.Fprintf(k.stderr, "rumpgo guest kernel: the app was killed by %v: exception %d at rip %#x (error code %#x%s)\n",
					sig, st.Vector, st.RIP, st.ErrorCode, addr)
				return 128 + int(sig)
			}
			iret = true // the faulting instruction runs again, every register as it was
			continue
		}
		ret, exit, status := k.call(&st.Regs)
		if exit {
			return status
		}
		st.RAX = uint64(ret)
		iret = false
	}
}

// monotonicBase anchors CLOCK_MONOTONIC: the Go runtime's monotonic clock
// (the vDSO's time page) read once at start, and its reading then.
var monotonicBase, monotonicAt = func() (int64, time.Time) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano(), time.Now()
}()

// call runs one system call of the app; exit says the app is gone.
func (k *kern) call(r *rumpglue.Regs) (ret int64, exit bool, status int) {
	nr := r.RAX
	errno := func(e unix.Errno) int64 { return -int64(e) }
	switch nr {
	case unix.SYS_GETPID, unix.SYS_GETTID:
		return 1, false, 0
	case unix.SYS_GETPPID, unix.SYS_GETUID, unix.SYS_GETEUID, unix.SYS_GETGID, unix.SYS_GETEGID:
		return 0, false, 0
	case unix.SYS_WRITE:
		var w io.Writer
		switch r.RDI {
		case 1:
			w = k.stdout
		case 2:
			w = k.stderr
		default:
			return errno(unix.EBADF), false, 0
		}
		n := min(r.RDX, 1<<20)
		buf := make([]byte, n)
		if err := k.space.read(r.RSI, buf); err != nil {
			return errno(unix.EFAULT), false, 0
		}
		if _, err := w.Write(buf); err != nil {
			return errno(unix.EIO), false, 0
		}
		return int64(n), false, 0
	case unix.SYS_CLOCK_GETTIME:
		var ns int64
		switch r.RDI {
		case unix.CLOCK_REALTIME:
			ns = time.Now().UnixNano()
		case unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME:
			ns = monotonicBase + int64(time.Since(monotonicAt))
		default:
			return errno(unix.EINVAL), false, 0
		}
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], uint64(ns/1e9))
		binary.LittleEndian.PutUint64(b[8:], uint64(ns%1e9))
		if err := k.space.copy(r.RSI, b[:], func(page, b []byte) { copy(page, b) }, true); err != nil {
			return errno(unix.EFAULT), false, 0
		}
		return 0, false, 0
	case unix.SYS_EXIT, unix.SYS_EXIT_GROUP:
		return 0, true, int(r.RDI & 0xff)
	}
	k.unsupported[syscalls.Name(nr)]++
	return errno(unix.ENOSYS), false, 0
}

func (k *kern) unsupportedList() string {
	var out []string
	for name, n := range k.unsupported {
		out = append(out, fmt.Sprintf("%s×%d", name, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
