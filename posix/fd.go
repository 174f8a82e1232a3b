package posix

import (
	"sync"

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

type fdEntry struct {
	file    *OpenFile
	cloexec bool
}

// OpenFile counts the descriptors that share one File.
type OpenFile struct {
	File
	mu   sync.Mutex
	refs int
}

// FDTable maps descriptors to open files; the lowest free number is used.
type FDTable struct {
	mu  sync.Mutex
	fds []fdEntry
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
	of.mu.Unlock()
	if last {
		return of.File.Close()
	}
	return 0
}
