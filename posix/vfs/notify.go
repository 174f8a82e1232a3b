package vfs

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// inotify(7): watches on files and directories, and the events vfs
// reports for the guest's own changes on every file system (what a host
// volume's other writers do is not seen). An event about a file goes to
// the file's watches, and, named, to its directory's.

// inotify event bits and watch flags (linux/inotify.h).
const (
	IN_ACCESS        = 0x00000001
	IN_MODIFY        = 0x00000002
	IN_ATTRIB        = 0x00000004
	IN_CLOSE_WRITE   = 0x00000008
	IN_CLOSE_NOWRITE = 0x00000010
	IN_OPEN          = 0x00000020
	IN_MOVED_FROM    = 0x00000040
	IN_MOVED_TO      = 0x00000080
	IN_CREATE        = 0x00000100
	IN_DELETE        = 0x00000200
	IN_DELETE_SELF   = 0x00000400
	IN_MOVE_SELF     = 0x00000800
	IN_ALL_EVENTS    = 0x00000fff
	IN_UNMOUNT       = 0x00002000
	IN_Q_OVERFLOW    = 0x00004000
	IN_IGNORED       = 0x00008000
	IN_ONLYDIR       = 0x01000000
	IN_DONT_FOLLOW   = 0x02000000
	IN_EXCL_UNLINK   = 0x04000000
	IN_MASK_CREATE   = 0x10000000
	IN_MASK_ADD      = 0x20000000
	IN_ISDIR         = 0x40000000
	IN_ONESHOT       = 0x80000000

	// InotifyWatchBits are the bits inotify_add_watch knows
	// (ALL_INOTIFY_BITS); a mask with none of them is EINVAL.
	InotifyWatchBits = IN_ALL_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ONESHOT

	inotifyEventSize  = 16    // struct inotify_event without its name
	inotifyMaxQueued  = 16384 // fs.inotify.max_queued_events
	inotifyMaxWatches = 8192  // fs.inotify.max_user_watches is larger; one instance's bound here
)

// watchKey names a file for watches: its file system and inode number.
type watchKey struct {
	fs  FileSystem
	ino uint64
}

func watchKeyOf(p Path) watchKey { return watchKey{p.Mnt.FS, p.Inode.Ino()} }

// watches are every instance's watches by file. nwatches lets the calls
// that report events skip all of this when nobody watches.
var watches struct {
	mu     sync.Mutex
	byFile map[watchKey][]*inotifyWatch
}
var nwatches atomic.Int64

type inotifyWatch struct {
	in   *Inotify
	wd   int32
	mask uint32 // events and IN_ONESHOT, IN_EXCL_UNLINK
	key  watchKey
	path Path // the watched file, for finding names in watched directories
	dir  bool
}

type inotifyEvent struct {
	wd           int32
	mask, cookie uint32
	name         string
}

func (e *inotifyEvent) size() int {
	if e.name == "" {
		return inotifyEventSize
	}
	// The name is NUL-terminated and padded to a multiple of the header,
	// as Linux's round_event_name_len.
	return inotifyEventSize + (len(e.name)+1+inotifyEventSize-1)/inotifyEventSize*inotifyEventSize
}

// Inotify is an inotify instance: its watches and its queue of events.
type Inotify struct {
	posix.StatusFlags

	mu         sync.Mutex
	byWD       map[int32]*inotifyWatch
	byFile     map[watchKey]*inotifyWatch
	lastWD     int32
	events     []inotifyEvent
	bytes      int
	overflowed bool
	q          waiter.Queue
}

// NewInotify returns an instance; flags may hold O_NONBLOCK.
func NewInotify(flags int) *Inotify {
	in := &Inotify{byWD: map[int32]*inotifyWatch{}, byFile: map[watchKey]*inotifyWatch{}}
	in.Init(unix.O_RDONLY | flags&unix.O_NONBLOCK)
	return in
}

// FDName is what /proc/self/fd shows.
func (in *Inotify) FDName() string { return "anon_inode:inotify" }

// AddWatch is inotify_add_watch on the resolved file p (the caller has
// checked the mask and read permission): a new watch descriptor, or the
// existing watch of p with its mask replaced (IN_MASK_ADD: extended;
// IN_MASK_CREATE: EEXIST).
func (in *Inotify) AddWatch(p Path, mask uint32) (int32, unix.Errno) {
	k := watchKeyOf(p)
	watches.mu.Lock()
	defer watches.mu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	keep := mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK)
	if w, ok := in.byFile[k]; ok {
		if mask&IN_MASK_CREATE != 0 {
			return 0, unix.EEXIST
		}
		if mask&IN_MASK_ADD != 0 {
			keep |= w.mask
		}
		w.mask = keep
		return w.wd, 0
	}
	if len(in.byWD) >= inotifyMaxWatches {
		return 0, unix.ENOSPC
	}
	in.lastWD++
	st, _ := p.Inode.Stat(nil)
	w := &inotifyWatch{in: in, wd: in.lastWD, mask: keep, key: k, path: p, dir: IsDir(st.Mode)}
	in.byWD[w.wd], in.byFile[k] = w, w
	if watches.byFile == nil {
		watches.byFile = map[watchKey][]*inotifyWatch{}
	}
	watches.byFile[k] = append(watches.byFile[k], w)
	nwatches.Add(1)
	return w.wd, 0
}

// RmWatch is inotify_rm_watch: EINVAL for a descriptor the instance does
// not have; the watch's last event is IN_IGNORED.
func (in *Inotify) RmWatch(wd int32) unix.Errno {
	watches.mu.Lock()
	in.mu.Lock()
	w, ok := in.byWD[wd]
	if !ok {
		in.mu.Unlock()
		watches.mu.Unlock()
		return unix.EINVAL
	}
	in.dropLocked(w)
	in.mu.Unlock()
	watches.mu.Unlock()
	in.queue(inotifyEvent{wd: wd, mask: IN_IGNORED})
	return 0
}

// dropLocked removes w (watches.mu and in.mu held).
func (in *Inotify) dropLocked(w *inotifyWatch) {
	delete(in.byWD, w.wd)
	delete(in.byFile, w.key)
	list := watches.byFile[w.key]
	for i, x := range list {
		if x == w {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(watches.byFile, w.key)
	} else {
		watches.byFile[w.key] = list
	}
	nwatches.Add(-1)
}

// queue adds an event, merged with the last one when the same and still
// unread (as Linux's inotify_merge), IN_Q_OVERFLOW once the queue is full.
func (in *Inotify) queue(ev inotifyEvent) {
	in.mu.Lock()
	if n := len(in.events); n > 0 && in.events[n-1] == ev {
		in.mu.Unlock()
		return
	}
	if len(in.events) >= inotifyMaxQueued {
		if !in.overflowed {
			in.overflowed = true
			ov := inotifyEvent{wd: -1, mask: IN_Q_OVERFLOW}
			in.events = append(in.events, ov)
			in.bytes += ov.size()
		}
		in.mu.Unlock()
		in.q.Notify(waiter.EPOLLIN)
		return
	}
	in.events = append(in.events, ev)
	in.bytes += ev.size()
	in.mu.Unlock()
	in.q.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
}

// Read returns whole events: EAGAIN when there are none, EINVAL when the
// first does not fit.
func (in *Inotify) Read(b []byte) (int, unix.Errno) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.events) == 0 {
		return 0, unix.EAGAIN
	}
	n := 0
	for len(in.events) > 0 {
		ev := in.events[0]
		sz := ev.size()
		if n+sz > len(b) {
			if n == 0 {
				return 0, unix.EINVAL
			}
			break
		}
		out := b[n : n+sz]
		clear(out)
		binary.LittleEndian.PutUint32(out[0:], uint32(ev.wd))
		binary.LittleEndian.PutUint32(out[4:], ev.mask)
		binary.LittleEndian.PutUint32(out[8:], ev.cookie)
		binary.LittleEndian.PutUint32(out[12:], uint32(sz-inotifyEventSize))
		copy(out[inotifyEventSize:], ev.name)
		n += sz
		in.events = in.events[1:]
		in.bytes -= sz
		if ev.mask == IN_Q_OVERFLOW {
			in.overflowed = false
		}
	}
	if len(in.events) == 0 {
		in.events = nil
	}
	return n, 0
}

// Write implements posix.File: inotify descriptors take no writes.
func (in *Inotify) Write([]byte) (int, unix.Errno) { return 0, unix.EINVAL }

// Close implements posix.File: the watches go with the instance.
func (in *Inotify) Close() unix.Errno {
	watches.mu.Lock()
	in.mu.Lock()
	for _, w := range in.byWD {
		in.dropLocked(w)
	}
	in.events = nil
	in.mu.Unlock()
	watches.mu.Unlock()
	return 0
}

// Ioctl implements posix.Ioctler: FIONREAD is the bytes queued.
func (in *Inotify) Ioctl(mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	const FIONREAD = 0x541B
	if cmd != FIONREAD {
		return 0, unix.ENOTTY
	}
	in.mu.Lock()
	n := in.bytes
	in.mu.Unlock()
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(n))
	return 0, mem.CopyOut(arg, b[:])
}

// Readiness implements waiter.Waitable.
func (in *Inotify) Readiness(mask uint32) uint32 {
	in.mu.Lock()
	n := len(in.events)
	in.mu.Unlock()
	if n == 0 {
		return 0
	}
	return (waiter.EPOLLIN | waiter.EPOLLRDNORM) & mask
}

// EventRegister implements waiter.Waitable.
func (in *Inotify) EventRegister(e *waiter.Entry) { in.q.EventRegister(e) }

// EventUnregister implements waiter.Waitable.
func (in *Inotify) EventUnregister(e *waiter.Entry) { in.q.EventUnregister(e) }

// cookies number the MOVED_FROM/MOVED_TO pairs.
var cookies atomic.Uint32

// notify reports mask about the file p (a directory when isDir): to p's
// watches, and named to those of dir, where p is called name, when dir
// is valid. IN_ONESHOT watches end with their first event.
func notify(p Path, isDir bool, dir Path, name string, mask, cookie uint32) {
	if nwatches.Load() == 0 {
		return
	}
	if isDir {
		mask |= IN_ISDIR
	}
	type delivery struct {
		w  *inotifyWatch
		ev inotifyEvent
	}
	var out []delivery
	var ended []*inotifyWatch
	watches.mu.Lock()
	if dir.Valid() && name != "" {
		for _, w := range watches.byFile[watchKeyOf(dir)] {
			if w.mask&mask&IN_ALL_EVENTS != 0 {
				out = append(out, delivery{w, inotifyEvent{wd: w.wd, mask: mask, cookie: cookie, name: name}})
			}
		}
	}
	if p.Valid() {
		for _, w := range watches.byFile[watchKeyOf(p)] {
			if w.mask&mask&IN_ALL_EVENTS != 0 {
				out = append(out, delivery{w, inotifyEvent{wd: w.wd, mask: mask, cookie: cookie}})
			}
		}
	}
	for _, d := range out {
		if d.w.mask&IN_ONESHOT != 0 {
			ended = append(ended, d.w)
		}
	}
	var gone []*inotifyWatch
	for _, w := range ended {
		w.in.mu.Lock()
		if w.in.byWD[w.wd] == w {
			w.in.dropLocked(w)
			gone = append(gone, w)
		}
		w.in.mu.Unlock()
	}
	watches.mu.Unlock()
	for _, d := range out {
		d.w.in.queue(d.ev)
	}
	for _, w := range gone {
		w.in.queue(inotifyEvent{wd: w.wd, mask: IN_IGNORED})
	}
}

// notify reports mask about an open file, named to the directory it
// was opened in.
func (f *File) notify(mask uint32) {
	if nwatches.Load() == 0 {
		return
	}
	notify(f.path, IsDir(f.typ), f.dir, f.name, mask, 0)
}

// notifyChanged reports mask about the file at p, a resolved path without
// its directory (chmod, chown, utimes, truncate): to p's watches, and to
// each watched directory of its file system that has it as an entry,
// named as there (Linux names it in the directory of the path used; a
// file with names in two watched directories is reported to both here).
func notifyChanged(ctx *Context, p Path, mask uint32) {
	if nwatches.Load() == 0 || !p.Valid() {
		return
	}
	st, e := p.Inode.Stat(ctx)
	isDir := e == 0 && IsDir(st.Mode)
	var dirs []Path
	watches.mu.Lock()
	for k, list := range watches.byFile {
		if k.fs == p.Mnt.FS && len(list) > 0 && list[0].dir && k.ino != p.Inode.Ino() {
			dirs = append(dirs, list[0].path)
		}
	}
	watches.mu.Unlock()
	ino := p.Inode.Ino()
	for _, d := range dirs {
		d.Inode.ReadDir(ctx, FirstPos, func(de Dirent) bool {
			if de.Ino == ino {
				notify(Path{}, isDir, d, de.Name, mask, 0)
			}
			return true
		})
	}
	notify(p, isDir, Path{}, "", mask, 0)
}

// NotifyAccess reports a read of f (IN_ACCESS), for the calls outside
// vfs that read a file's data (sendfile, splice, copy_file_range).
func (f *File) NotifyAccess() { f.notify(IN_ACCESS) }

// NotifyModify reports a write of f (IN_MODIFY), for the same calls.
func (f *File) NotifyModify() { f.notify(IN_MODIFY) }

// endWatches ends the watches of a file that is gone (after its
// IN_DELETE_SELF and its directory's IN_DELETE): each gets IN_IGNORED.
func endWatches(p Path) {
	if nwatches.Load() == 0 || !p.Valid() {
		return
	}
	watches.mu.Lock()
	list := append([]*inotifyWatch(nil), watches.byFile[watchKeyOf(p)]...)
	for _, w := range list {
		w.in.mu.Lock()
		w.in.dropLocked(w)
		w.in.mu.Unlock()
	}
	watches.mu.Unlock()
	for _, w := range list {
		w.in.queue(inotifyEvent{wd: w.wd, mask: IN_IGNORED})
	}
}

// notifyIf reports mask about p when a change of it succeeded (e == 0),
// and returns e.
func notifyIf(ctx *Context, p Path, mask uint32, e unix.Errno) unix.Errno {
	if e == 0 {
		notifyChanged(ctx, p, mask)
	}
	return e
}
