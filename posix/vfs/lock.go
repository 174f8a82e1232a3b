package vfs

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// Advisory locks: POSIX record locks (fcntl F_SETLK, owned by a process),
// open file description locks (F_OFD_SETLK, owned by a File) and flock(2)
// locks (owned by a File). POSIX and OFD locks share one table per file
// and conflict with each other; flock locks are a separate table, as on
// Linux.

// Lock is one record lock as fcntl describes it, with an inclusive end
// (math.MaxInt64 for "to end of file").
type Lock struct {
	Type       int16 // F_RDLCK, F_WRLCK, F_UNLCK
	Start, End int64
	PID        int32 // the owner's pid; -1 for OFD locks
	owner      any
}

type lockKey struct {
	dev, ino uint64
}

type fileLocks struct {
	records []Lock
	flocks  map[*File]int // LOCK_SH or LOCK_EX
	changed chan struct{}
}

type lockTable struct {
	mu    sync.Mutex
	files map[lockKey]*fileLocks
	// waiting maps a process blocked in F_SETLKW to the process holding
	// the lock it waits for (Linux's blocked_hash), for EDEADLK.
	waiting map[any]any
}

// maxDeadlockSteps bounds the walk of the waits-for chain, as Linux's
// MAX_DEADLK_ITERATIONS.
const maxDeadlockSteps = 10

// deadlock reports whether owner waiting for holder closes a cycle of
// POSIX lock waits (t.mu held). OFD locks are never checked, as on Linux.
func (t *lockTable) deadlock(owner, holder any) bool {
	if _, ok := owner.(int); !ok {
		return false
	}
	if _, ok := holder.(int); !ok {
		return false
	}
	for i := 0; i < maxDeadlockSteps; i++ {
		if holder == owner {
			return true
		}
		next, ok := t.waiting[holder]
		if !ok {
			return false
		}
		holder = next
	}
	return false
}

func (t *lockTable) get(k lockKey) *fileLocks {
	if t.files == nil {
		t.files = map[lockKey]*fileLocks{}
	}
	fl, ok := t.files[k]
	if !ok {
		fl = &fileLocks{flocks: map[*File]int{}, changed: make(chan struct{})}
		t.files[k] = fl
	}
	return fl
}

func (fl *fileLocks) wake() {
	close(fl.changed)
	fl.changed = make(chan struct{})
}

func keyOf(f *File) lockKey { return lockKey{f.path.Mnt.Dev, f.path.Inode.Ino()} }

func overlaps(a, b Lock) bool { return a.Start <= b.End && b.Start <= a.End }

func conflicts(a, b Lock) bool {
	return a.owner != b.owner && overlaps(a, b) && (a.Type == unix.F_WRLCK || b.Type == unix.F_WRLCK)
}

// RecordOwner identifies who holds a record lock: a process (POSIX locks)
// or an open file description (OFD locks).
type RecordOwner struct {
	PID int   // POSIX locks: the process
	OFD *File // OFD locks: the description
}

func (o RecordOwner) key() any {
	if o.OFD != nil {
		return o.OFD
	}
	return o.PID
}

// TestLock is F_GETLK: the first lock that would conflict with l, or l
// with Type F_UNLCK when none would.
func (f *File) TestLock(owner RecordOwner, l Lock) Lock {
	t := &f.v.locks
	t.mu.Lock()
	defer t.mu.Unlock()
	l.owner = owner.key()
	for _, x := range t.get(keyOf(f)).records {
		if conflicts(x, l) {
			return x
		}
	}
	l.Type = unix.F_UNLCK
	return l
}

// SetLock is F_SETLK (wait false) and F_SETLKW: it takes, changes or
// releases (F_UNLCK) the range of l for owner. A conflicting lock gives
// EAGAIN, or with wait a wait through ctx.Block.
func (f *File) SetLock(ctx *Context, owner RecordOwner, l Lock, wait bool) unix.Errno {
	t := &f.v.locks
	l.owner = owner.key()
	if owner.OFD != nil {
		l.PID = -1
	} else {
		l.PID = int32(owner.PID)
	}
	defer func() {
		t.mu.Lock()
		delete(t.waiting, l.owner)
		t.mu.Unlock()
	}()
	for {
		t.mu.Lock()
		fl := t.get(keyOf(f))
		var holder any
		if l.Type != unix.F_UNLCK {
			for _, x := range fl.records {
				if conflicts(x, l) {
					holder = x.owner
					break
				}
			}
		}
		if holder == nil {
			fl.records = setRange(fl.records, l)
			fl.wake()
			t.mu.Unlock()
			return 0
		}
		if !wait || ctx == nil || ctx.Block == nil {
			t.mu.Unlock()
			return unix.EAGAIN
		}
		if t.deadlock(l.owner, holder) {
			t.mu.Unlock()
			return unix.EDEADLK
		}
		if t.waiting == nil {
			t.waiting = map[any]any{}
		}
		t.waiting[l.owner] = holder
		ch := fl.changed
		t.mu.Unlock()
		if e := ctx.Block(ch); e != 0 {
			return e
		}
	}
}

// setRange replaces owner's locks over l's range with l (or removes them
// for F_UNLCK), splitting and merging as Linux's posix_lock_inode, and
// keeps the list in Linux's order: each owner's locks together, by start,
// where its first lock was (a new owner's at the end) — the order F_GETLK
// finds conflicts in.
func setRange(recs []Lock, l Lock) []Lock {
	at := -1
	n := 0
	for _, x := range recs {
		if x.owner == l.owner {
			at = n
			break
		}
		n++
	}
	out := setRangeUnordered(recs, l)
	var mine, others []Lock
	for _, x := range out {
		if x.owner == l.owner {
			mine = append(mine, x)
		} else {
			others = append(others, x)
		}
	}
	slices.SortFunc(mine, func(a, b Lock) int { return cmp.Compare(a.Start, b.Start) })
	if at < 0 || at > len(others) {
		at = len(others)
	}
	return slices.Concat(others[:at], mine, others[at:])
}

func setRangeUnordered(recs []Lock, l Lock) []Lock {
	var out []Lock
	for _, x := range recs {
		if x.owner != l.owner || !overlaps(x, l) {
			out = append(out, x)
			continue
		}
		if x.Start < l.Start {
			left := x
			left.End = l.Start - 1
			out = append(out, left)
		}
		if x.End > l.End {
			right := x
			right.Start = l.End + 1
			out = append(out, right)
		}
	}
	if l.Type != unix.F_UNLCK {
		// Merge with adjacent locks of the same owner and type.
		merged := out[:0]
		for _, x := range out {
			if x.owner == l.owner && x.Type == l.Type &&
				(x.End != math.MaxInt64 && x.End+1 == l.Start || l.End != math.MaxInt64 && l.End+1 == x.Start) {
				l.Start, l.End = min(l.Start, x.Start), max(l.End, x.End)
				continue
			}
			merged = append(merged, x)
		}
		out = append(merged, l)
	}
	return out
}

// ReleasePOSIX drops the POSIX locks process pid holds on f's file: what
// closing any descriptor of the file does.
func (f *File) ReleasePOSIX(pid int) {
	t := &f.v.locks
	t.mu.Lock()
	defer t.mu.Unlock()
	fl, ok := t.files[keyOf(f)]
	if !ok {
		return
	}
	out := fl.records[:0]
	for _, x := range fl.records {
		if x.owner != any(pid) {
			out = append(out, x)
		}
	}
	fl.records = out
	fl.wake()
}

// releaseFile drops the OFD and flock locks of f (its last close).
func (t *lockTable) releaseFile(f *File) {
	if f.path.Inode == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := keyOf(f)
	fl, ok := t.files[k]
	if !ok {
		return
	}
	out := fl.records[:0]
	for _, x := range fl.records {
		if x.owner != any(f) {
			out = append(out, x)
		}
	}
	fl.records = out
	delete(fl.flocks, f)
	fl.wake()
	if len(fl.records) == 0 && len(fl.flocks) == 0 {
		delete(t.files, k)
	}
}

// Flock is flock(2): op is LOCK_SH, LOCK_EX or LOCK_UN, with LOCK_NB
// for EWOULDBLOCK instead of waiting. Converting a lock releases it first,
// as Linux's flock does.
func (f *File) Flock(ctx *Context, op int) unix.Errno {
	t := &f.v.locks
	nb := op&unix.LOCK_NB != 0
	op &^= unix.LOCK_NB
	switch op {
	case unix.LOCK_SH, unix.LOCK_EX, unix.LOCK_UN:
	default:
		return unix.EINVAL
	}
	t.mu.Lock()
	fl := t.get(keyOf(f))
	if cur, ok := fl.flocks[f]; ok {
		if cur == op {
			t.mu.Unlock()
			return 0
		}
		delete(fl.flocks, f)
		fl.wake()
	}
	t.mu.Unlock()
	if op == unix.LOCK_UN {
		return 0
	}
	for {
		t.mu.Lock()
		fl := t.get(keyOf(f))
		blocked := false
		for g, typ := range fl.flocks {
			if g != f && (typ == unix.LOCK_EX || op == unix.LOCK_EX) {
				blocked = true
				break
			}
		}
		if !blocked {
			fl.flocks[f] = op
			t.mu.Unlock()
			return 0
		}
		ch := fl.changed
		t.mu.Unlock()
		if nb || ctx == nil || ctx.Block == nil {
			return unix.EWOULDBLOCK
		}
		if e := ctx.Block(ch); e != 0 {
			return e
		}
	}
}
