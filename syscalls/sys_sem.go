package syscalls

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// This file is System V semaphores: semget, semop, semtimedop and semctl,
// in the machine's IPC namespace as sys_shm.go's segments are. A semop
// applies all its operations or none; one that would block waits for the
// set to change (interrupted by a signal: EINTR, never restarted, as on
// Linux), and SEM_UNDO adjustments are applied when the process ends.

func init() {
	register(unix.SYS_SEMGET, Entry{Name: "semget", fn: sysSemget, args: []argKind{aHex, aInt, aHex}})
	register(unix.SYS_SEMOP, Entry{Name: "semop", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return t.semop(int32(a[0]), a[1], a[2], 0)
	}, args: []argKind{aInt, aPtr, aUint}})
	register(unix.SYS_SEMTIMEDOP, Entry{Name: "semtimedop", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return t.semop(int32(a[0]), a[1], a[2], a[3])
	}, args: []argKind{aInt, aPtr, aUint, aPtr}})
	register(unix.SYS_SEMCTL, Entry{Name: "semctl", Support: Partial, Note: "IPC_STAT, SEM_STAT, IPC_SET, IPC_RMID, GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT, GETZCNT; IPC_INFO and SEM_INFO answer EINVAL",
		fn: sysSemctl, args: []argKind{aInt, aInt, aInt, aHex}})
}

// semctl commands and limits (linux/sem.h).
const (
	GETPID   = 11
	GETVAL   = 12
	GETALL   = 13
	GETNCNT  = 14
	GETZCNT  = 15
	SETVAL   = 16
	SETALL   = 17
	SEM_STAT = 18
	SEM_INFO = 19
	SEM_UNDO = 0x1000
	SEMMSL   = 32000 // semaphores per set
	SEMMNI   = 32000 // sets
	SEMOPM   = 500   // operations per semop
	SEMVMX   = 32767 // largest value
	// semid64DsSize is sizeof(struct semid64_ds) on x86-64.
	semid64DsSize = 104
)

// semSet is one System V semaphore set.
type semSet struct {
	ipcObj
	vals         []int
	pids         []int32
	ncnt, zcnt   []int
	otime, ctime int64
	removed      bool
	ipcChanges
}

// sysvSem is the machine's semaphore sets and each process's SEM_UNDO
// adjustments.
type sysvSem struct {
	mu     sync.Mutex
	byID   map[int32]*semSet
	byKey  map[int32]*semSet
	nextID int32
	undo   map[*posix.ThreadGroup]map[int32][]int
}

func (k *Kernel) semSets() *sysvSem {
	k.semOnce.Do(func() {
		k.sem = &sysvSem{byID: map[int32]*semSet{}, byKey: map[int32]*semSet{}, undo: map[*posix.ThreadGroup]map[int32][]int{}}
	})
	return k.sem
}

func sysSemget(t *Thread, a Args) (uint64, unix.Errno) {
	key, nsems, flags := int32(a[0]), a.Int(1), uint32(a[2])
	sem := t.K.semSets()
	sem.mu.Lock()
	defer sem.mu.Unlock()
	if id, done, e := ipcLookup(t, sem.byKey, key, flags, func(s *semSet) bool { return nsems <= len(s.vals) }); done {
		return id, e
	}
	if nsems <= 0 || nsems > SEMMSL {
		return 0, unix.EINVAL
	}
	if len(sem.byID) >= SEMMNI {
		return 0, unix.ENOSPC
	}
	s := &semSet{
		ipcObj: t.newIPCObj(sem.nextID, key, flags),
		vals:   make([]int, nsems), pids: make([]int32, nsems), ncnt: make([]int, nsems), zcnt: make([]int, nsems),
		ctime: time.Now().Unix(),
	}
	sem.nextID++
	sem.byID[s.id] = s
	if key != IPC_PRIVATE {
		sem.byKey[key] = s
	}
	return uint64(s.id), 0
}

type sembuf struct {
	num   int
	op    int
	flags int
}

// semop runs nsops operations from sops on set id, all or none, waiting
// (until timeout, a struct timespec, when not 0) while one would block.
func (t *Thread) semop(id int32, sops, nsops, timeout uint64) (uint64, unix.Errno) {
	if nsops < 1 {
		return 0, unix.EINVAL
	}
	if nsops > SEMOPM {
		return 0, unix.E2BIG
	}
	raw := make([]byte, 6*nsops)
	if e := t.mm().CopyIn(sops, raw); e != 0 {
		return 0, e
	}
	ops := make([]sembuf, nsops)
	alter := false
	for i := range ops {
		b := raw[6*i:]
		ops[i] = sembuf{int(binary.LittleEndian.Uint16(b)), int(int16(binary.LittleEndian.Uint16(b[2:]))), int(int16(binary.LittleEndian.Uint16(b[4:])))}
		alter = alter || ops[i].op != 0
	}
	var deadline time.Time
	if timeout != 0 {
		d, e := t.timespec(timeout)
		if e != 0 {
			return 0, e
		}
		deadline = time.Now().Add(d)
	}
	sem := t.K.semSets()
	g := t.Task.Group
	for waited := false; ; waited = true {
		sem.mu.Lock()
		s := sem.byID[id]
		if s == nil || s.removed {
			sem.mu.Unlock()
			if waited {
				return 0, unix.EIDRM // removed while we waited
			}
			return 0, unix.EINVAL
		}
		want := uint32(4)
		if alter {
			want = 2
		}
		if !t.ipcAllowed(&s.ipcObj, want) {
			sem.mu.Unlock()
			return 0, unix.EACCES
		}
		blocked, e := s.try(ops)
		if e == 0 && blocked < 0 {
			pid := int32(g.PID)
			for _, op := range ops {
				s.vals[op.num] += op.op
				s.pids[op.num] = pid
				if op.flags&SEM_UNDO != 0 && op.op != 0 {
					sem.adjust(g, s, op.num, -op.op)
				}
			}
			s.otime = time.Now().Unix()
			if alter {
				s.notify()
			}
			sem.mu.Unlock()
			return 0, 0
		}
		if e == 0 && ops[blocked].flags&unix.IPC_NOWAIT != 0 {
			e = unix.EAGAIN
		}
		if e != 0 {
			sem.mu.Unlock()
			return 0, e
		}
		// Wait for the set to change, counted in semncnt or semzcnt.
		op := ops[blocked]
		counter := &s.ncnt[op.num]
		if op.op == 0 {
			counter = &s.zcnt[op.num]
		}
		*counter++
		ch := s.changes()
		sem.mu.Unlock()
		e = t.block(ch, deadline)
		sem.mu.Lock()
		*counter--
		sem.mu.Unlock()
		switch e {
		case 0:
		case unix.ETIMEDOUT:
			return 0, unix.EAGAIN
		case ERESTARTSYS:
			return 0, unix.EINTR // semop is never restarted
		default:
			return 0, e
		}
	}
}

// try checks ops against the values: the index of the first that would
// block (-1 for none), or an errno (EFBIG for a bad index, ERANGE past
// SEMVMX). Operations on one semaphore apply in order.
func (s *semSet) try(ops []sembuf) (int, unix.Errno) {
	vals := append([]int(nil), s.vals...)
	for i, op := range ops {
		if op.num < 0 || op.num >= len(vals) {
			return 0, unix.EFBIG
		}
		v := vals[op.num] + op.op
		switch {
		case op.op == 0 && vals[op.num] != 0, v < 0:
			return i, 0
		case v > SEMVMX:
			return 0, unix.ERANGE
		}
		vals[op.num] = v
	}
	return -1, 0
}

// adjust records a SEM_UNDO adjustment of g (sem.mu held).
func (sem *sysvSem) adjust(g *posix.ThreadGroup, s *semSet, num, by int) {
	sets := sem.undo[g]
	if sets == nil {
		sets = map[int32][]int{}
		sem.undo[g] = sets
	}
	adj := sets[s.id]
	if adj == nil {
		adj = make([]int, len(s.vals))
		sets[s.id] = adj
	}
	adj[num] += by
}

// semExit applies g's SEM_UNDO adjustments as it ends, as Linux's
// exit_sem does: each value moves by its adjustment, clamped to
// 0..SEMVMX.
func (k *Kernel) semExit(g *posix.ThreadGroup) {
	sem := k.semSets()
	sem.mu.Lock()
	defer sem.mu.Unlock()
	for id, adj := range sem.undo[g] {
		s := sem.byID[id]
		if s == nil || s.removed {
			continue
		}
		for i, by := range adj {
			if by != 0 {
				s.vals[i] = min(max(s.vals[i]+by, 0), SEMVMX)
				s.pids[i] = int32(g.PID)
			}
		}
		s.notify()
	}
	delete(sem.undo, g)
}

// clearUndo drops every process's adjustments for semaphore num of s
// (SETVAL, SETALL with num -1), as Linux does when a value is set.
func (sem *sysvSem) clearUndo(s *semSet, num int) {
	for _, sets := range sem.undo {
		if adj := sets[s.id]; adj != nil {
			for i := range adj {
				if num < 0 || i == num {
					adj[i] = 0
				}
			}
		}
	}
}

func sysSemctl(t *Thread, a Args) (uint64, unix.Errno) {
	num, cmd, arg := a.Int(1), a.Int(2)&^IPC_64, a[3]
	switch cmd {
	case IPC_INFO, SEM_INFO:
		t.K.countUnsupported(unix.SYS_SEMCTL)
		return 0, unix.EINVAL
	}
	sem := t.K.semSets()
	sem.mu.Lock()
	defer sem.mu.Unlock()
	s := sem.byID[int32(a[0])]
	if s == nil || s.removed {
		return 0, unix.EINVAL
	}
	n := len(s.vals)
	valid := num >= 0 && num < n
	read := func() unix.Errno {
		if !t.ipcAllowed(&s.ipcObj, 4) {
			return unix.EACCES
		}
		return 0
	}
	switch cmd {
	case GETVAL, GETPID, GETNCNT, GETZCNT:
		if !valid {
			return 0, unix.EINVAL
		}
		if e := read(); e != 0 {
			return 0, e
		}
		switch cmd {
		case GETVAL:
			return uint64(s.vals[num]), 0
		case GETPID:
			return uint64(s.pids[num]), 0
		case GETNCNT:
			return uint64(s.ncnt[num]), 0
		}
		return uint64(s.zcnt[num]), 0
	case GETALL:
		if e := read(); e != 0 {
			return 0, e
		}
		b := make([]byte, 2*n)
		for i, v := range s.vals {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
		}
		return 0, t.mm().CopyOut(arg, b)
	case SETVAL, SETALL:
		if !t.ipcAllowed(&s.ipcObj, 2) {
			return 0, unix.EACCES
		}
		vals := []int{int(int32(arg))}
		if cmd == SETALL {
			b := make([]byte, 2*n)
			if e := t.mm().CopyIn(arg, b); e != 0 {
				return 0, e
			}
			vals = make([]int, n)
			for i := range vals {
				vals[i] = int(binary.LittleEndian.Uint16(b[2*i:]))
			}
			num = -1
		} else if !valid {
			return 0, unix.EINVAL
		}
		for _, v := range vals {
			if v < 0 || v > SEMVMX {
				return 0, unix.ERANGE
			}
		}
		pid := int32(t.Task.Group.PID)
		if cmd == SETALL {
			copy(s.vals, vals)
			for i := range s.pids {
				s.pids[i] = pid
			}
		} else {
			s.vals[num], s.pids[num] = vals[0], pid
		}
		sem.clearUndo(s, num)
		s.ctime = time.Now().Unix()
		s.notify()
		return 0, 0
	case IPC_STAT, SEM_STAT:
		if e := read(); e != 0 {
			return 0, e
		}
		b := make([]byte, semid64DsSize)
		le := binary.LittleEndian
		s.putPerm(b, s.key, s.mode)
		le.PutUint64(b[48:], uint64(s.otime))
		le.PutUint64(b[64:], uint64(s.ctime))
		le.PutUint64(b[80:], uint64(n))
		return t.ipcStatOut(&s.ipcObj, arg, b, cmd == SEM_STAT)
	case IPC_SET:
		b, e := t.ipcSetArg(&s.ipcObj, arg, semid64DsSize)
		if e != 0 {
			return 0, e
		}
		s.setPerm(b)
		s.ctime = time.Now().Unix()
		return 0, 0
	case IPC_RMID:
		if !t.ipcOwner(&s.ipcObj) {
			return 0, unix.EPERM
		}
		s.removed = true
		delete(sem.byID, s.id)
		if sem.byKey[s.key] == s {
			delete(sem.byKey, s.key)
		}
		s.notify() // waiters find it gone: EIDRM
		return 0, 0
	}
	return 0, unix.EINVAL
}
