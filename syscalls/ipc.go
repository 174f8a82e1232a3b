package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// This file is what System V shared memory, semaphores and message queues
// (sys_shm.go, sys_sem.go, sys_msg.go) share: an object's identity and
// permissions, struct ipc64_perm, and the key lookup of their *get calls.

// ipcObj is a System V IPC object's identity: its id, its key
// (IPC_PRIVATE for none), owner, creator and permission bits.
type ipcObj struct {
	id, key              int32
	uid, gid, cuid, cgid uint32
	mode                 uint32
}

func (o *ipcObj) ipc() *ipcObj { return o }

// newIPCObj is a new object of the caller's, with flags' permission bits.
func (t *Thread) newIPCObj(id, key int32, flags uint32) ipcObj {
	c := t.cred()
	return ipcObj{id: id, key: key, uid: c.EUID, gid: c.EGID, cuid: c.EUID, cgid: c.EGID, mode: flags & 0o777}
}

// ipcAllowed is Linux's ipcperms: the caller's access to o for the read
// (4) and write (2) bits of want.
func (t *Thread) ipcAllowed(o *ipcObj, want uint32) bool {
	c := t.cred()
	if c.Capable(posix.CAP_IPC_OWNER) {
		return true
	}
	bits := o.mode & 7
	switch {
	case c.EUID == o.uid || c.EUID == o.cuid:
		bits = o.mode >> 6 & 7
	case c.EGID == o.gid || c.EGID == o.cgid:
		bits = o.mode >> 3 & 7
	}
	return want&^bits == 0
}

// ipcOwner reports whether the caller may change or remove o (IPC_SET,
// IPC_RMID).
func (t *Thread) ipcOwner(o *ipcObj) bool {
	c := t.cred()
	return c.EUID == o.uid || c.EUID == o.cuid || c.Capable(posix.CAP_SYS_ADMIN)
}

// putPerm writes o as the struct ipc64_perm that starts every *id64_ds,
// showing key and mode (a removed object shows IPC_PRIVATE, a removed
// segment SHM_DEST too).
func (o *ipcObj) putPerm(b []byte, key int32, mode uint32) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(key))
	le.PutUint32(b[4:], o.uid)
	le.PutUint32(b[8:], o.gid)
	le.PutUint32(b[12:], o.cuid)
	le.PutUint32(b[16:], o.cgid)
	le.PutUint32(b[20:], mode)
}

// setPerm is what IPC_SET takes from a *id64_ds: owner and permission
// bits.
func (o *ipcObj) setPerm(b []byte) {
	le := binary.LittleEndian
	o.uid, o.gid = le.Uint32(b[4:]), le.Uint32(b[8:])
	o.mode = o.mode&^0o777 | le.Uint32(b[20:])&0o777
}

// ipcLookup is the first half of shmget, semget and msgget: an object
// that exists under key answers with its id (or EEXIST for IPC_EXCL,
// EINVAL when it does not fit the request, EACCES), a missing one ENOENT
// without IPC_CREAT. done is false when the caller is to create one.
func ipcLookup[T interface{ ipc() *ipcObj }](t *Thread, byKey map[int32]T, key int32, flags uint32, fits func(T) bool) (id uint64, done bool, e unix.Errno) {
	if key == IPC_PRIVATE {
		return 0, false, 0
	}
	obj, ok := byKey[key]
	switch {
	case !ok && flags&IPC_CREAT == 0:
		return 0, true, unix.ENOENT
	case !ok:
		return 0, false, 0
	case flags&IPC_CREAT != 0 && flags&IPC_EXCL != 0:
		return 0, true, unix.EEXIST
	case fits != nil && !fits(obj):
		return 0, true, unix.EINVAL
	case !t.ipcAllowed(obj.ipc(), flags>>6&7):
		return 0, true, unix.EACCES
	}
	return uint64(obj.ipc().id), true, 0
}

// ipcSetArg reads the *id64_ds of size bytes IPC_SET passes at addr, for
// o's owner only.
func (t *Thread) ipcSetArg(o *ipcObj, addr uint64, size int) ([]byte, unix.Errno) {
	if !t.ipcOwner(o) {
		return nil, unix.EPERM
	}
	b := make([]byte, size)
	return b, t.mm().CopyIn(addr, b)
}

// ipcStatOut writes an IPC_STAT answer b to addr; the *_STAT form
// (byIndex) answers o's id, IPC_STAT zero.
func (t *Thread) ipcStatOut(o *ipcObj, addr uint64, b []byte, byIndex bool) (uint64, unix.Errno) {
	if e := t.mm().CopyOut(addr, b); e != 0 {
		return 0, e
	}
	if byIndex {
		return uint64(o.id), 0
	}
	return 0, 0
}

// ipcChanges is what callers blocked on a semaphore set or a message
// queue wait for: a channel closed at every change of the object.
type ipcChanges struct{ ch chan struct{} }

// changes is the channel the next notify closes (the object's lock held).
func (c *ipcChanges) changes() <-chan struct{} {
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// notify wakes every caller waiting on changes (the object's lock held).
func (c *ipcChanges) notify() {
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}
