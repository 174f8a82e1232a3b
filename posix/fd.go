package posix

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// File is an open file description.
type File interface {
	Read(p []byte) (int, unix.Errno)
	Write(p []byte) (int, unix.Errno)
	// Close is called when the last descriptor referring to the file goes.
	Close() unix.Errno
	// Flags are the status flags (O_ACCMODE, O_APPEND, O_NONBLOCK ...).
	Flags() int
}

// GuestMemory is the calling process's memory, for files whose calls take
// pointers (ioctl arguments).
type GuestMemory interface {
	CopyIn(addr uint64, dst []byte) unix.Errno
	CopyOut(addr uint64, src []byte) unix.Errno
}

// Ioctler is a File with ioctl commands of its own (sockets, devices).
type Ioctler interface {
	// Ioctl runs cmd with arg, reading and writing what arg points to
	// through mem; ENOTTY for commands the file does not have.
	Ioctl(mem GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno)
}

// FlagSetter is a File whose status flags fcntl(F_SETFL) can change.
type FlagSetter interface {
	// SetFlags replaces the changeable status flags (SetFlMask) with
	// those in flags; the access mode and creation flags stay.
	SetFlags(flags int)
}

// SetFlMask are the status flags F_SETFL may change, as in Linux's
// fs/fcntl.c SETFL_MASK (O_ASYNC is FASYNC).
const SetFlMask = unix.O_APPEND | unix.O_NONBLOCK | unix.O_DIRECT | unix.O_NOATIME | unix.O_ASYNC

// StatusFlags keeps a File's status flags; Files embed it to implement
// Flags and SetFlags.
type StatusFlags struct{ v atomic.Int32 }

// Init sets every flag, access mode included; Files call it once when
// they are made.
func (s *StatusFlags) Init(f int) { s.v.Store(int32(f)) }

// Flags returns the flags.
func (s *StatusFlags) Flags() int { return int(s.v.Load()) }

// SetFlags replaces the flags in SetFlMask.
func (s *StatusFlags) SetFlags(f int) {
	for {
		old := s.v.Load()
		nv := old&^SetFlMask | int32(f&SetFlMask)
		if s.v.CompareAndSwap(old, nv) {
			return
		}
	}
}

type fdEntry struct {
	file    *OpenFile
	cloexec bool
}

// OpenFile counts the descriptors that share one File.
type OpenFile struct {
	File
	mu    sync.Mutex
	refs  int
	hooks map[any]func() // run when the last descriptor goes
}

// OnLastClose runs fn (once) when the last descriptor of the file is
// closed, before the File's Close: epoll drops its watches of a file then,
// as Linux's eventpoll_release does. key identifies the hook for
// CancelLastClose; a second hook with the same key replaces the first.
// It reports false, and does nothing, when the file is already closed.
func (of *OpenFile) OnLastClose(key any, fn func()) bool {
	of.mu.Lock()
	defer of.mu.Unlock()
	if of.refs == 0 {
		return false
	}
	if of.hooks == nil {
		of.hooks = map[any]func(){}
	}
	of.hooks[key] = fn
	return true
}

// CancelLastClose removes the hook registered with key.
func (of *OpenFile) CancelLastClose(key any) {
	of.mu.Lock()
	delete(of.hooks, key)
	of.mu.Unlock()
}

// FDTable maps descriptors to open files; the lowest free number is used.
type FDTable struct {
	mu      sync.Mutex
	fds     []fdEntry
	sharers int // processes beyond the first using the table (CLONE_FILES)
}

// NewFDTable returns an empty table.
func NewFDTable() *FDTable { return &FDTable{} }

// Install puts f at the lowest free fd >= min, below limit.
func (t *FDTable) Install(f File, min int, cloexec bool, limit uint64) (int, unix.Errno) {
	return t.install(&OpenFile{File: f}, min, cloexec, limit)
}

func (t *FDTable) install(of *OpenFile, min int, cloexec bool, limit uint64) (int, unix.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fd := min
	for ; fd < len(t.fds) && t.fds[fd].file != nil; fd++ {
	}
	if uint64(fd) >= limit {
		return -1, unix.EMFILE
	}
	for fd >= len(t.fds) {
		t.fds = append(t.fds, fdEntry{})
	}
	of.mu.Lock()
	of.refs++
	of.mu.Unlock()
	t.fds[fd] = fdEntry{file: of, cloexec: cloexec}
	return fd, 0
}

// Get returns the file at fd.
func (t *FDTable) Get(fd int) (*OpenFile, unix.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		return nil, unix.EBADF
	}
	return t.fds[fd].file, 0
}

// Hold returns the file at fd with a reference of the caller's own, as
// Linux's fdget takes one for the length of a system call: closing fd
// meanwhile (another thread's close or dup2) then leaves the file open —
// a blocked read of a pipe keeps its read end, and the reader still gets
// what is written — until the holder calls Put.
func (t *FDTable) Hold(fd int) (*OpenFile, unix.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		return nil, unix.EBADF
	}
	of := t.fds[fd].file
	of.mu.Lock()
	of.refs++ // the table's own reference is still there: refs was > 0
	of.mu.Unlock()
	return of, 0
}

// Put drops a reference Hold took, closing the file if it was the last.
func (of *OpenFile) Put() { of.release() }

// MaxFDs is the size of the table as select(2) sees it (Linux's
// fdt->max_fds): a multiple of 64 covering every descriptor, at least 64.
// select ignores descriptors at or above it.
func (t *FDTable) MaxFDs() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(64, (len(t.fds)+63)&^63)
}

// CloseOnExec reads or sets FD_CLOEXEC.
func (t *FDTable) CloseOnExec(fd int, set *bool) (bool, unix.Errno) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		return false, unix.EBADF
	}
	if set != nil {
		t.fds[fd].cloexec = *set
	}
	return t.fds[fd].cloexec, 0
}

// Dup installs another descriptor for fd's file at the lowest free fd >= min.
func (t *FDTable) Dup(fd, min int, cloexec bool, limit uint64) (int, unix.Errno) {
	of, e := t.Get(fd)
	if e != 0 {
		return -1, e
	}
	return t.install(of, min, cloexec, limit)
}

// InstallOpen puts an open file another table holds (pidfd_getfd) at the
// lowest free fd >= min: one more descriptor of the same description. The
// caller holds of (Hold) so that it cannot close meanwhile.
func (t *FDTable) InstallOpen(of *OpenFile, min int, cloexec bool, limit uint64) (int, unix.Errno) {
	return t.install(of, min, cloexec, limit)
}

// Close removes fd, closing the file with its last descriptor.
func (t *FDTable) Close(fd int) unix.Errno {
	t.mu.Lock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		t.mu.Unlock()
		return unix.EBADF
	}
	of := t.fds[fd].file
	t.fds[fd] = fdEntry{}
	t.mu.Unlock()
	return of.release()
}

func (of *OpenFile) release() unix.Errno {
	of.mu.Lock()
	of.refs--
	last := of.refs == 0
	hooks := of.hooks
	if last {
		of.hooks = nil
	}
	of.mu.Unlock()
	if last {
		for _, fn := range hooks {
			fn()
		}
		return of.File.Close()
	}
	return 0
}

// FDs returns the open descriptors in increasing order, with their files
// and close-on-exec flags, for /proc/self/fd and close_range.
func (t *FDTable) FDs() []FDInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []FDInfo
	for fd, e := range t.fds {
		if e.file != nil {
			out = append(out, FDInfo{FD: fd, File: e.file, CloseOnExec: e.cloexec})
		}
	}
	return out
}

// FDInfo is one open descriptor.
type FDInfo struct {
	FD          int
	File        *OpenFile
	CloseOnExec bool
}

// Fork returns a copy of the table for a child process: the same open
// files (their offsets and status flags shared, as on Linux) under the
// same numbers and close-on-exec flags.
func (t *FDTable) Fork() *FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &FDTable{fds: make([]fdEntry, len(t.fds))}
	for i, e := range t.fds {
		if e.file != nil {
			e.file.mu.Lock()
			e.file.refs++
			e.file.mu.Unlock()
			n.fds[i] = e
		}
	}
	return n
}

// Share counts one more process using the table (clone with CLONE_FILES);
// each user calls Release when it ends.
func (t *FDTable) Share() {
	t.mu.Lock()
	t.sharers++
	t.mu.Unlock()
}

// Release closes every descriptor when the last process using the table
// ends (or execs away from a shared one).
func (t *FDTable) Release() {
	t.mu.Lock()
	if t.sharers > 0 {
		t.sharers--
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.closeIf(func(fdEntry) bool { return true })
}

// Unshare is the table a process that shared t (CLONE_FILES) keeps to
// itself from now on, as execve needs: t when no other process uses it,
// else a copy, t losing this user.
func (t *FDTable) Unshare() *FDTable {
	t.mu.Lock()
	shared := t.sharers > 0
	t.mu.Unlock()
	if !shared {
		return t
	}
	n := t.Fork()
	t.Release()
	return n
}

// CloseOnExecAll closes the descriptors marked close-on-exec (execve).
func (t *FDTable) CloseOnExecAll() {
	t.closeIf(func(e fdEntry) bool { return e.cloexec })
}

func (t *FDTable) closeIf(pick func(fdEntry) bool) {
	t.mu.Lock()
	var files []*OpenFile
	for i, e := range t.fds {
		if e.file != nil && pick(e) {
			files = append(files, e.file)
			t.fds[i] = fdEntry{}
		}
	}
	t.mu.Unlock()
	for _, of := range files {
		of.release()
	}
}
