package vfs

import (
	"sync"

	"golang.org/x/sys/unix"
)

// This file is Linux's i_writecount: a regular file open for writing
// cannot be executed, and a running program's file cannot be opened for
// writing or truncated (ETXTBSY either way).

// writeKey is a file as locks name it: its device and inode.
type writeKey struct{ dev, ino uint64 }

// writeCounts are the files with writers (> 0) or running programs
// (< 0), as i_writecount.
type writeCounts struct {
	mu sync.Mutex
	n  map[writeKey]int
}

// add takes one more write access (d 1) or denial (d -1), ETXTBSY when
// the file holds the other kind; release gives one back (-d).
func (w *writeCounts) add(k writeKey, d int) unix.Errno { return w.change(k, d, true) }

func (w *writeCounts) release(k writeKey, d int) { w.change(k, d, false) }

func (w *writeCounts) change(k writeKey, d int, check bool) unix.Errno {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == nil {
		w.n = map[writeKey]int{}
	}
	c := w.n[k]
	if check && (d > 0 && c < 0 || d < 0 && c > 0) {
		return unix.ETXTBSY
	}
	if c += d; c == 0 {
		delete(w.n, k)
	} else {
		w.n[k] = c
	}
	return 0
}

func writeKeyOf(p Path) writeKey { return writeKey{p.Mnt.Dev, p.Inode.Ino()} }

// getWriteAccess is get_write_access for a file opened for writing.
func (f *File) getWriteAccess() unix.Errno {
	if e := f.v.writers.add(writeKeyOf(f.path), 1); e != 0 {
		return e
	}
	f.writeHeld = 1
	return 0
}

// DenyWrite is deny_write_access for the file of a program execve runs
// (ETXTBSY while it is open for writing): until the file closes, opening
// it for writing or truncating it is ETXTBSY.
func (f *File) DenyWrite() unix.Errno {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writeHeld != 0 {
		return 0
	}
	if e := f.v.writers.add(writeKeyOf(f.path), -1); e != 0 {
		return e
	}
	f.writeHeld = -1
	return 0
}

// putWriteAccess gives back what the file held, when it closes.
func (f *File) putWriteAccess() {
	f.mu.Lock()
	h := f.writeHeld
	f.writeHeld = 0
	f.mu.Unlock()
	if h != 0 {
		f.v.writers.release(writeKeyOf(f.path), -h)
	}
}

// textBusy reports ETXTBSY for truncating a running program's file.
func (v *VFS) textBusy(p Path) unix.Errno {
	v.writers.mu.Lock()
	defer v.writers.mu.Unlock()
	if v.writers.n[writeKeyOf(p)] < 0 {
		return unix.ETXTBSY
	}
	return 0
}
