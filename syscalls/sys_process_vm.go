package syscalls

import (
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"golang.org/x/sys/unix"
)

// process_vm_readv and process_vm_writev copy between the caller's memory
// and another guest process's (or its own), as Linux's process_vm_rw:
// the iovecs are checked as readv's, the target must be a process the
// caller may trace (same real uid as its uids, or CAP_SYS_PTRACE), and a
// fault part-way ends the copy with what was moved.

func init() {
	register(unix.SYS_PROCESS_VM_READV, Entry{Name: "process_vm_readv", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return t.processVM(a, false)
	}, args: []argKind{aInt, aPtr, aUint, aPtr, aUint, aHex}})
	register(unix.SYS_PROCESS_VM_WRITEV, Entry{Name: "process_vm_writev", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return t.processVM(a, true)
	}, args: []argKind{aInt, aPtr, aUint, aPtr, aUint, aHex}})
}

// capSysPtrace is CAP_SYS_PTRACE.
const capSysPtrace = 19

func (t *Thread) processVM(a Args, write bool) (uint64, unix.Errno) {
	if a[5] != 0 {
		return 0, unix.EINVAL
	}
	if a[2] > iovMax || a[4] > iovMax {
		return 0, unix.EINVAL
	}
	local, e := t.iovecs(a[1], int(a[2]))
	if e != 0 {
		return 0, e
	}
	remote, e := t.iovecs(a[3], int(a[4]))
	if e != 0 {
		return 0, e
	}
	pid := a.Int(0)
	var target *posix.ThreadGroup
	if pid > 0 {
		if target = t.K.Procs.Group(pid); target == nil {
			if task := t.K.Procs.Task(pid); task != nil {
				target = task.Group
			}
		}
	}
	if target == nil || target.MM == nil {
		return 0, unix.ESRCH
	}
	if target != t.Task.Group && !t.capable(capSysPtrace) && !t.maySignal(target, 0) {
		return 0, unix.EPERM
	}
	src, dst := target.MM, t.mm()
	if write {
		src, dst = dst, src
	}
	from, to := remote, local
	if write {
		from, to = local, remote
	}
	return copyIovecs(src, dst, from, to)
}

// copyIovecs moves bytes from the from segments in src to the to
// segments in dst, in order, until either list ends or a copy faults.
func copyIovecs(src, dst *mm.AddressSpace, from, to []iovec) (uint64, unix.Errno) {
	var done uint64
	buf := make([]byte, 0, 64<<10)
	fi, ti := 0, 0
	var foff, toff uint64
	for fi < len(from) && ti < len(to) {
		f, d := from[fi], to[ti]
		n := min(f.len-foff, d.len-toff, uint64(cap(buf)))
		if n == 0 {
			if f.len == foff {
				fi, foff = fi+1, 0
			}
			if d.len == toff {
				ti, toff = ti+1, 0
			}
			continue
		}
		b := buf[:n]
		if e := src.CopyIn(f.base+foff, b); e != 0 {
			if done > 0 {
				return done, 0
			}
			return 0, unix.EFAULT
		}
		if e := dst.CopyOut(d.base+toff, b); e != 0 {
			if done > 0 {
				return done, 0
			}
			return 0, unix.EFAULT
		}
		done += n
		foff += n
		toff += n
	}
	return done, 0
}
