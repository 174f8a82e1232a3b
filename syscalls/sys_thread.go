package syscalls

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_CLONE, Entry{Name: "clone", Support: Partial, Note: "threads, fork and vfork, CLONE_FILES and CLONE_FS (root and cwd; the umask stays per process); namespaces, CLONE_PARENT and CLONE_SIGHAND for a process answer ENOSYS; CLONE_PIDFD for processes (a thread's, Linux 6.9, is EINVAL)",
		fn: sysClone, args: []argKind{aCloneFlags, aPtr, aPtr, aPtr, aHex}})
	register(unix.SYS_CLONE3, Entry{Name: "clone3", Support: Partial, Note: "as clone; set_tid answers EPERM, CLONE_INTO_CGROUP EBADF (no cgroups)",
		fn: sysClone3, args: []argKind{aPtr, aUint}})
	register(unix.SYS_EXIT, Entry{Name: "exit", fn: sysExit, args: []argKind{aInt}})
	register(unix.SYS_EXIT_GROUP, Entry{Name: "exit_group", fn: sysExitGroup, args: []argKind{aInt}})
	register(unix.SYS_GETTID, Entry{Name: "gettid", fn: func(t *Thread, a Args) (uint64, unix.Errno) { return uint64(t.Task.TID), 0 }})
	register(unix.SYS_GETPID, Entry{Name: "getpid", fn: func(t *Thread, a Args) (uint64, unix.Errno) { return uint64(t.Task.Group.PID), 0 }})
	register(unix.SYS_SET_TID_ADDRESS, Entry{Name: "set_tid_address", fn: sysSetTidAddress, args: []argKind{aPtr}})
	register(unix.SYS_SET_ROBUST_LIST, Entry{Name: "set_robust_list", fn: sysSetRobustList, args: []argKind{aPtr, aUint}})
	register(unix.SYS_GET_ROBUST_LIST, Entry{Name: "get_robust_list", fn: sysGetRobustList, args: []argKind{aInt, aPtr, aPtr}})
	register(unix.SYS_RSEQ, Entry{Name: "rseq", Support: Error, Note: "ENOSYS: glibc copes; restartable sequences need preemption notification",
		fn: enosys, args: []argKind{aPtr, aUint, aHex, aHex}})
	register(unix.SYS_FUTEX, Entry{Name: "futex", Support: Partial, Note: "WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE, CMP_REQUEUE, WAKE_OP; PI ops answer ENOSYS",
		fn: sysFutex, args: []argKind{aPtr, aFutexOp, aInt, aPtr, aPtr, aHex}})
	register(unix.SYS_SCHED_YIELD, Entry{Name: "sched_yield", fn: func(t *Thread, a Args) (uint64, unix.Errno) { runtime.Gosched(); return 0, 0 }})
	register(unix.SYS_SCHED_GETAFFINITY, Entry{Name: "sched_getaffinity", fn: sysSchedGetaffinity, args: []argKind{aInt, aUint, aPtr}})
	register(unix.SYS_ARCH_PRCTL, Entry{Name: "arch_prctl", Support: Partial, Note: "ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_CPUID; GS base answers EINVAL",
		fn: sysArchPrctl, args: []argKind{aArchPrctl, aHex}})
}

func enosys(t *Thread, a Args) (uint64, unix.Errno) { return 0, unix.ENOSYS }

// putU32 writes a 32-bit value to guest memory.
func (t *Thread) putU32(addr uint64, v uint32) unix.Errno {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return t.mm().CopyOut(addr, b[:])
}

func (t *Thread) putU64(addr uint64, v uint64) unix.Errno {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return t.mm().CopyOut(addr, b[:])
}

const threadFlags = unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND

func sysClone(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a[0]
	if flags&unix.CLONE_PIDFD != 0 && flags&unix.CLONE_PARENT_SETTID != 0 {
		return 0, unix.EINVAL // clone(2) puts both at parent_tid
	}
	return t.clone(unix.SYS_CLONE, flags, a[1], a[2], a[3], a[4], a[2])
}

// cloneArgsSize0 is CLONE_ARGS_SIZE_VER0, the first struct clone_args.
const cloneArgsSize0 = 64

// CLONE_ARGS_SIZE_VER1 (set_tid) and CLONE_ARGS_SIZE_VER2 (cgroup).
const cloneArgsSize1, cloneArgsSize2 = 80, 88

// CLONE_INTO_CGROUP is clone3's flag to start the child in a cgroup.
const CLONE_INTO_CGROUP = 0x200000000

// sysClone3 reads struct clone_args: flags, pidfd, child_tid, parent_tid,
// exit_signal, stack, stack_size, tls, then (VER1+) set_tid and cgroup.
func sysClone3(t *Thread, a Args) (uint64, unix.Errno) {
	size := a[1]
	if size < cloneArgsSize0 {
		return 0, unix.EINVAL
	}
	if size > 4096 {
		return 0, unix.E2BIG // larger than a page
	}
	b := make([]byte, size)
	if e := t.mm().CopyIn(a[0], b); e != 0 {
		return 0, e
	}
	le := binary.LittleEndian
	// struct clone_args grew set_tid, set_tid_size (80 bytes) and cgroup
	// (88); bytes past what this kernel knows must be zero (E2BIG), as
	// copy_struct_from_user checks.
	for _, x := range b[min(size, cloneArgsSize2):] {
		if x != 0 {
			return 0, unix.E2BIG
		}
	}
	flags, exitSignal := le.Uint64(b[0:]), le.Uint64(b[32:])
	var setTID, setTIDSize, cgroup uint64
	if size >= cloneArgsSize1 {
		setTID, setTIDSize = le.Uint64(b[64:]), le.Uint64(b[72:])
	}
	if size >= cloneArgsSize2 {
		cgroup = le.Uint64(b[80:])
	}
	switch {
	case setTIDSize > 32 /* MAX_PID_NS_LEVEL */ || (setTID == 0) != (setTIDSize == 0):
		return 0, unix.EINVAL
	case flags&CLONE_INTO_CGROUP != 0 && (cgroup > 1<<31-1 || size < cloneArgsSize2):
		return 0, unix.EINVAL
	case setTIDSize > 0:
		// Choosing the pid needs CAP_SYS_ADMIN over the pid namespace,
		// which a guest never holds here.
		t.K.countUnsupported(unix.SYS_CLONE3)
		return 0, unix.EPERM
	case flags&CLONE_INTO_CGROUP != 0:
		t.K.countUnsupported(unix.SYS_CLONE3)
		return 0, unix.EBADF // there are no cgroup directories to name
	}
	flags &^= CLONE_INTO_CGROUP
	stack, stackSize := le.Uint64(b[40:]), le.Uint64(b[48:])
	if flags&0xff != 0 || exitSignal > posix.NSIG || (stack == 0) != (stackSize == 0) {
		return 0, unix.EINVAL // CSIGNAL bits belong in exit_signal here
	}
	sp := uint64(0)
	if stack != 0 {
		sp = stack + stackSize
	}
	return t.clone(unix.SYS_CLONE3, flags|exitSignal, sp, le.Uint64(b[24:]), le.Uint64(b[16:]), le.Uint64(b[56:]), le.Uint64(b[8:]))
}

// clone starts a thread, or a process without CLONE_THREAD
// (sys_process.go); with CLONE_PIDFD the process's pidfd goes to
// pidfdAddr.
func (t *Thread) clone(nr, flags, newSP, parentTID, childTID, tls, pidfdAddr uint64) (uint64, unix.Errno) {
	if flags&unix.CLONE_PIDFD != 0 && flags&(unix.CLONE_THREAD|unix.CLONE_DETACHED) != 0 {
		// Thread pidfds came with Linux 6.9; before, as here, EINVAL.
		if flags&unix.CLONE_THREAD != 0 {
			t.K.countUnsupported(nr)
		}
		return 0, unix.EINVAL
	}
	if flags&unix.CLONE_THREAD == 0 {
		return t.cloneProcess(nr, flags, newSP, parentTID, childTID, tls, pidfdAddr)
	}
	if flags&cloneNamespaces != 0 {
		return 0, unix.EINVAL // copy_process: no new namespace for a thread
	}
	if flags&threadFlags != threadFlags {
		t.K.countUnsupported(nr)
		return 0, unix.ENOSYS
	}
	g := t.Task.Group
	// RLIMIT_NPROC counts the user's tasks; the guest's are all there is.
	// Like Linux, a process with CAP_SYS_RESOURCE is not held to it.
	if lim := g.Limits.Get(unix.RLIMIT_NPROC).Cur; uint64(g.NumTasks()) >= lim && !t.capable(posix.CAP_SYS_RESOURCE) {
		return 0, unix.EAGAIN
	}
	child, ok := g.NewTask()
	if !ok {
		return 0, unix.EAGAIN
	}
	regs, fs := t.childStart(flags, newSP, tls)
	tid := uint32(child.TID)
	if flags&unix.CLONE_PARENT_SETTID != 0 {
		if e := t.putU32(parentTID, tid); e != 0 {
			child.Exit(0)
			return 0, e
		}
	}
	if flags&unix.CLONE_CHILD_SETTID != 0 {
		if e := t.putU32(childTID, tid); e != 0 {
			child.Exit(0)
			return 0, e
		}
	}
	if flags&unix.CLONE_CHILD_CLEARTID != 0 {
		child.ClearChildTID = childTID
	}
	child.SetMask(t.Task.Mask())
	child.Affinity.Store(t.Task.Affinity.Load()) // inherited, as on Linux
	if err := t.K.Machine.Start(t.childThread(child), g.MM.Pager(), regs, fs); err != nil {
		child.Exit(0)
		if errors.Is(err, rumpglue.ErrThreadLimit) {
			return 0, unix.EAGAIN
		}
		t.K.report("rumpgo: cannot start thread: %v", err)
		return 0, unix.EAGAIN
	}
	return uint64(tid), 0
}

// childStart is where a clone child starts: the caller's registers with
// RAX 0 (its return value), on newSP if given, with the TLS CLONE_SETTLS
// names or the caller's FS base.
func (t *Thread) childStart(flags, newSP, tls uint64) (rumpglue.Regs, uint64) {
	regs := *t.cpu.Regs()
	regs.RAX = 0
	if newSP != 0 {
		regs.RSP = newSP
	}
	fs := t.cpu.FSBase()
	if flags&unix.CLONE_SETTLS != 0 {
		fs = tls
	}
	return regs, fs
}

// exitThread ends the calling thread as exit(2) does: CLONE_CHILD_CLEARTID
// gets 0 and a futex wake, and the last thread out ends the process.
func (t *Thread) exitThread(code int) {
	if addr := t.Task.ClearChildTID; addr != 0 {
		if t.putU32(addr, 0) == 0 {
			t.K.futexes.Wake(t.futexKey(0, addr), 1, posix.FUTEX_BITSET_MATCH_ANY)
		}
	}
	t.leave(code)
}

func sysExit(t *Thread, a Args) (uint64, unix.Errno) {
	t.exitThread(a.Int(0))
	return 0, 0
}

func sysExitGroup(t *Thread, a Args) (uint64, unix.Errno) {
	t.Task.Group.ExitGroup(posix.ExitStatus{Code: a.Int(0) & 0xff})
	t.leave(0)
	return 0, 0
}

func sysSetTidAddress(t *Thread, a Args) (uint64, unix.Errno) {
	t.Task.ClearChildTID = a[0]
	return uint64(t.Task.TID), 0
}

func sysSetRobustList(t *Thread, a Args) (uint64, unix.Errno) {
	if a[1] != robustListHeadLen {
		return 0, unix.EINVAL
	}
	t.Task.RobustList, t.Task.RobustLen = a[0], a[1]
	return 0, 0
}

// Futex operations (linux/futex.h).
const (
	FUTEX_WAIT           = 0
	FUTEX_WAKE           = 1
	FUTEX_REQUEUE        = 3
	FUTEX_CMP_REQUEUE    = 4
	FUTEX_WAKE_OP        = 5
	FUTEX_WAIT_BITSET    = 9
	FUTEX_WAKE_BITSET    = 10
	FUTEX_PRIVATE_FLAG   = 128
	FUTEX_CLOCK_REALTIME = 256
	futexCmdMask         = ^(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
)

func sysFutex(t *Thread, a Args) (uint64, unix.Errno) {
	addr, op, val := a[0], a.Int(1), uint32(a[2])
	cmd := op & futexCmdMask
	switch cmd {
	case FUTEX_WAIT, FUTEX_WAIT_BITSET:
		bitset := uint32(posix.FUTEX_BITSET_MATCH_ANY)
		if cmd == FUTEX_WAIT_BITSET {
			bitset = uint32(a[5])
		}
		word, e := t.mm().Word32(addr, mm.Read)
		if e != 0 {
			return 0, e
		}
		var deadline time.Time
		if a[3] != 0 {
			ts, e := t.timespec(a[3])
			if e != 0 {
				return 0, e
			}
			if cmd == FUTEX_WAIT {
				deadline = time.Now().Add(ts)
			} else {
				clock := int32(unix.CLOCK_MONOTONIC)
				if op&FUTEX_CLOCK_REALTIME != 0 {
					clock = unix.CLOCK_REALTIME
				}
				deadline = t.K.absDeadline(clock, ts)
			}
		}
		w, e := t.K.futexes.Queue(t.futexKey(op, addr), word, val, bitset)
		if e != 0 {
			return 0, e
		}
		e = t.block(w.Woken(), deadline)
		if e != 0 && t.K.futexes.Leave(w) {
			e = 0 // a wake raced the timeout or signal and counted us
		}
		return 0, e
	case FUTEX_WAKE, FUTEX_WAKE_BITSET:
		bitset := uint32(posix.FUTEX_BITSET_MATCH_ANY)
		if cmd == FUTEX_WAKE_BITSET {
			bitset = uint32(a[5])
		}
		// Linux resolves the address before looking for waiters.
		if _, e := t.mm().Word32(addr, mm.Read); e != 0 {
			return 0, e
		}
		n := t.K.futexes.Wake(t.futexKey(op, addr), int(int32(val)), bitset)
		if n < 0 {
			return 0, unix.Errno(-n)
		}
		return uint64(n), 0
	case FUTEX_REQUEUE, FUTEX_CMP_REQUEUE:
		// futex_requeue's checks: the counts, then both addresses
		// (aligned; the first readable), then the value.
		if int32(val) < 0 || int32(a[3]) < 0 {
			return 0, unix.EINVAL
		}
		if a[4]%4 != 0 {
			return 0, unix.EINVAL
		}
		var word *uint32
		if cmd == FUTEX_CMP_REQUEUE {
			var e unix.Errno
			if word, e = t.mm().Word32(addr, mm.Read); e != 0 {
				return 0, e
			}
		}
		n, e := t.K.futexes.Requeue(t.futexKey(op, addr), int(int32(val)), int(int32(a[3])), t.futexKey(op, a[4]), cmd == FUTEX_CMP_REQUEUE, word, uint32(a[5]))
		return uint64(n), e
	case FUTEX_WAKE_OP:
		n, e := t.futexWakeOp(op, addr, a[4], int(int32(val)), int(int32(a[3])), uint32(a[5]))
		return uint64(n), e
	}
	t.K.countUnsupported(unix.SYS_FUTEX)
	return 0, unix.ENOSYS
}

// futexKey is the queue of the futex at addr: a private one
// (FUTEX_PRIVATE_FLAG) belongs to the address space, a shared one in a
// shared mapping to the frame, so processes find each other.
func (t *Thread) futexKey(op int, addr uint64) uint64 {
	if op&FUTEX_PRIVATE_FLAG != 0 {
		return t.mm().FutexKey(addr)
	}
	return t.mm().SharedFutexKey(addr)
}

// FUTEX_WAKE_OP operations and comparisons (linux/futex.h).
const (
	FUTEX_OP_SET         = 0
	FUTEX_OP_ADD         = 1
	FUTEX_OP_OR          = 2
	FUTEX_OP_ANDN        = 3
	FUTEX_OP_XOR         = 4
	FUTEX_OP_OPARG_SHIFT = 8
	FUTEX_OP_CMP_EQ      = 0
	FUTEX_OP_CMP_NE      = 1
	FUTEX_OP_CMP_LT      = 2
	FUTEX_OP_CMP_LE      = 3
	FUTEX_OP_CMP_GT      = 4
	FUTEX_OP_CMP_GE      = 5
)

// futexWakeOp atomically applies the operation encoded in val3 to the
// word at addr2, wakes n waiters on addr, and n2 more on addr2 if the old
// value passes the encoded comparison.
func (t *Thread) futexWakeOp(op int, addr, addr2 uint64, n, n2 int, val3 uint32) (int, unix.Errno) {
	wop, cmp := val3>>28, (val3>>24)&0xf
	oparg := int32(val3<<8) >> 20 // 12-bit signed fields
	cmparg := int32(val3<<20) >> 20
	if wop&FUTEX_OP_OPARG_SHIFT != 0 {
		oparg = 1 << (uint32(oparg) & 31)
		wop &^= FUTEX_OP_OPARG_SHIFT
	}
	if wop > FUTEX_OP_XOR || cmp > FUTEX_OP_CMP_GE {
		return 0, unix.ENOSYS
	}
	word, e := t.mm().Word32(addr2, mm.Write)
	if e != 0 {
		return 0, e
	}
	var old int32
	for {
		o := atomic.LoadUint32(word)
		nv := uint32(oparg)
		switch wop {
		case FUTEX_OP_ADD:
			nv = o + uint32(oparg)
		case FUTEX_OP_OR:
			nv = o | uint32(oparg)
		case FUTEX_OP_ANDN:
			nv = o &^ uint32(oparg)
		case FUTEX_OP_XOR:
			nv = o ^ uint32(oparg)
		}
		if atomic.CompareAndSwapUint32(word, o, nv) {
			old = int32(o)
			break
		}
	}
	woken := t.K.futexes.Wake(t.futexKey(op, addr), n, posix.FUTEX_BITSET_MATCH_ANY)
	pass := [...]bool{old == cmparg, old != cmparg, old < cmparg, old <= cmparg, old > cmparg, old >= cmparg}[cmp]
	if pass {
		woken += t.K.futexes.Wake(t.futexKey(op, addr2), n2, posix.FUTEX_BITSET_MATCH_ANY)
	}
	return woken, 0
}

func sysSchedGetaffinity(t *Thread, a Args) (uint64, unix.Errno) {
	n := t.K.Info.CPUs
	size := uint64((n + 63) / 64 * 8) // the kernel's cpumask size: whole longs
	if a[1] < size || a[1]%8 != 0 {
		return 0, unix.EINVAL
	}
	task := t.Task
	if pid := a.Int(0); pid != 0 && pid != t.Task.TID {
		if task = t.K.Procs.Task(pid); task == nil {
			return 0, unix.ESRCH // any task of the machine; a reaped one is gone
		}
	}
	mask := make([]byte, size)
	if set := task.Affinity.Load(); set != nil {
		copy(mask, *set)
	} else {
		for i := 0; i < n; i++ {
			mask[i/8] |= 1 << (i % 8)
		}
	}
	if e := t.mm().CopyOut(a[2], mask); e != 0 {
		return 0, e
	}
	return size, 0
}

// arch_prctl codes (asm/prctl.h).
const (
	ARCH_SET_GS    = 0x1001
	ARCH_SET_FS    = 0x1002
	ARCH_GET_FS    = 0x1003
	ARCH_GET_GS    = 0x1004
	ARCH_GET_CPUID = 0x1011
	ARCH_SET_CPUID = 0x1012
)

func sysArchPrctl(t *Thread, a Args) (uint64, unix.Errno) {
	switch a[0] {
	case ARCH_SET_FS:
		if a[1] >= mm.StackTop+mm.PageSize {
			return 0, unix.EPERM
		}
		t.cpu.SetFSBase(a[1])
		return 0, 0
	case ARCH_GET_FS:
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], t.cpu.FSBase())
		return 0, t.mm().CopyOut(a[1], b[:])
	case ARCH_GET_CPUID:
		return 1, 0
	case ARCH_SET_CPUID:
		return 0, unix.ENODEV // no CPUID faulting
	}
	return 0, unix.EINVAL
}

// sysGetRobustList reads a thread's robust list head back: the caller's
// (tid 0) or a thread of its own process.
func sysGetRobustList(t *Thread, a Args) (uint64, unix.Errno) {
	task := t.Task
	if tid := a.Int(0); tid != 0 {
		if task = t.K.Procs.Task(tid); task == nil {
			return 0, unix.ESRCH
		}
		if task.Group != t.Task.Group && !t.maySignal(task.Group, 0) {
			return 0, unix.EPERM
		}
	}
	if e := t.putU64(a[2], robustListHeadLen); e != 0 {
		return 0, e
	}
	return 0, t.putU64(a[1], task.RobustList)
}

// Robust futexes (linux/futex.h): the owner-died protocol of robust
// pthread mutexes.
const (
	FUTEX_WAITERS     = 0x80000000
	FUTEX_OWNER_DIED  = 0x40000000
	FUTEX_TID_MASK    = 0x3fffffff
	robustListLimit   = 2048 // ROBUST_LIST_LIMIT: a circular list ends here
	robustListHeadLen = 24   // struct robust_list_head
)

// exitRobustList is Linux's exit_robust_list, run as a thread ends: every
// lock on its robust list (set_robust_list) that it still owns gets
// FUTEX_OWNER_DIED and one waiter is woken, so the next locker gets
// EOWNERDEAD instead of waiting for a dead owner for ever. A bad list ends
// the walk quietly, as on Linux.
func (t *Thread) exitRobustList() {
	head := t.Task.RobustList
	if head == 0 || t.Task.RobustLen != robustListHeadLen {
		return
	}
	t.Task.RobustList = 0
	var b [robustListHeadLen]byte
	if t.mm().CopyIn(head, b[:]) != 0 {
		return
	}
	le := binary.LittleEndian
	entry, offset, pending := le.Uint64(b[0:]), int64(le.Uint64(b[8:])), le.Uint64(b[16:])
	pendingPI := pending&1 != 0
	pending &^= 1
	for i := 0; entry&^1 != head && i < robustListLimit; i++ {
		pi := entry&1 != 0
		entry &^= 1
		var nb [8]byte
		if t.mm().CopyIn(entry, nb[:]) != 0 {
			return
		}
		next := le.Uint64(nb[:])
		if entry != pending {
			t.futexOwnerDied(entry+uint64(offset), pi)
		}
		entry = next
	}
	if pending != 0 {
		t.futexOwnerDied(pending+uint64(offset), pendingPI)
	}
}

// futexOwnerDied is Linux's handle_futex_death for the lock word at addr.
func (t *Thread) futexOwnerDied(addr uint64, pi bool) {
	if addr%4 != 0 {
		return
	}
	word, e := t.mm().Word32(addr, mm.Write)
	if e != 0 {
		return
	}
	for {
		old := atomic.LoadUint32(word)
		if old&FUTEX_TID_MASK != uint32(t.Task.TID) {
			return // someone else's (or no one's) lock
		}
		if atomic.CompareAndSwapUint32(word, old, old&FUTEX_WAITERS|FUTEX_OWNER_DIED) {
			if !pi && old&FUTEX_WAITERS != 0 {
				t.K.futexes.Wake(t.futexKey(0, addr), 1, posix.FUTEX_BITSET_MATCH_ANY)
			}
			return
		}
	}
}
