package syscalls

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix/mm"
	"golang.org/x/sys/unix"
)

// This file is System V shared memory: shmget, shmat, shmdt and shmctl.
// Segments belong to the machine (its one IPC namespace), so processes
// attach the same memory by key or id; each is an mm.Shmem, the object
// anonymous MAP_SHARED mappings use too. Semaphores and message queues
// answer ENOSYS.

func init() {
	register(unix.SYS_SHMGET, Entry{Name: "shmget", fn: sysShmget, args: []argKind{aHex, aUint, aHex}})
	register(unix.SYS_SHMAT, Entry{Name: "shmat", fn: sysShmat, args: []argKind{aInt, aPtr, aHex}, ret: rHex})
	register(unix.SYS_SHMDT, Entry{Name: "shmdt", fn: sysShmdt, args: []argKind{aPtr}})
	register(unix.SYS_SHMCTL, Entry{Name: "shmctl", Support: Partial, Note: "IPC_STAT, SHM_STAT, IPC_SET, IPC_RMID, SHM_LOCK and SHM_UNLOCK; IPC_INFO and SHM_INFO answer EINVAL",
		fn: sysShmctl, args: []argKind{aInt, aInt, aPtr}})
}

// System V IPC constants (linux/ipc.h, linux/shm.h).
const (
	IPC_PRIVATE = 0
	IPC_CREAT   = 0o1000
	IPC_EXCL    = 0o2000
	IPC_RMID    = 0
	IPC_SET     = 1
	IPC_STAT    = 2
	IPC_INFO    = 3
	IPC_64      = 0x100
	SHM_RDONLY  = 0o10000
	SHM_RND     = 0o20000
	SHM_REMAP   = 0o40000
	SHM_EXEC    = 0o100000
	SHM_LOCK    = 11
	SHM_UNLOCK  = 12
	SHM_STAT    = 13
	SHM_INFO    = 14
	SHM_DEST    = 0o1000 // in shm_perm.mode: removed, still attached
	SHMLBA      = mm.PageSize
	SHMMNI      = 4096 // segments at once
	// shmid64DsSize is sizeof(struct shmid64_ds) on x86-64.
	shmid64DsSize = 112
)

// shmSegment is one System V segment.
type shmSegment struct {
	ipcObj
	mem                 *mm.Shmem
	size                uint64
	cpid, lpid          int32
	atime, dtime, ctime int64
	removed             bool
}

// sysvShm is the machine's segments.
type sysvShm struct {
	mu     sync.Mutex
	byID   map[int32]*shmSegment
	byKey  map[int32]*shmSegment // live, non-private keys
	nextID int32
}

func (k *Kernel) shmSegments() *sysvShm {
	k.shmOnce.Do(func() { k.shm = &sysvShm{byID: map[int32]*shmSegment{}, byKey: map[int32]*shmSegment{}} })
	return k.shm
}

// attached is shm_nattch: the address spaces mapping the segment (the
// registry holds one more reference until IPC_RMID).
func (s *shmSegment) attached() int {
	n := s.mem.Mappers()
	if !s.removed {
		n--
	}
	return n
}

func sysShmget(t *Thread, a Args) (uint64, unix.Errno) {
	key, size, flags := int32(a[0]), a[1], uint32(a[2])
	shm := t.K.shmSegments()
	shm.mu.Lock()
	defer shm.mu.Unlock()
	if id, done, e := ipcLookup(t, shm.byKey, key, flags, func(s *shmSegment) bool { return size <= s.size }); done {
		return id, e
	}
	// shmmax: what the machine could ever back.
	if size < 1 || size > t.K.Info.MemBytes {
		return 0, unix.EINVAL
	}
	for id, s := range shm.byID {
		if s.removed && s.mem.Mappers() == 0 {
			delete(shm.byID, id) // removed, and its last process ended attached
		}
	}
	if len(shm.byID) >= SHMMNI {
		return 0, unix.ENOSPC
	}
	fs := t.K.FS()
	if fs == nil || fs.Frames == nil {
		return 0, unix.ENOMEM
	}
	s := &shmSegment{
		ipcObj: t.newIPCObj(shm.nextID, key, flags), size: size,
		mem:  mm.NewShmem(fs.Frames, (size+mm.PageSize-1)&^(mm.PageSize-1)),
		cpid: int32(t.Task.Group.PID), ctime: time.Now().Unix(),
	}
	s.mem.MapRef() // the registry's, until IPC_RMID
	shm.nextID++
	shm.byID[s.id] = s
	if key != IPC_PRIVATE {
		shm.byKey[key] = s
	}
	return uint64(s.id), 0
}

func (k *Kernel) shmSegment(id int32) (*sysvShm, *shmSegment, unix.Errno) {
	shm := k.shmSegments()
	shm.mu.Lock()
	s := shm.byID[id]
	shm.mu.Unlock()
	if s == nil {
		return nil, nil, unix.EINVAL
	}
	return shm, s, 0
}

func sysShmat(t *Thread, a Args) (uint64, unix.Errno) {
	shm, s, e := t.K.shmSegment(int32(a[0]))
	if e != 0 {
		return 0, e
	}
	addr, flags := a[1], int(a[2])
	if addr%SHMLBA != 0 {
		if flags&SHM_RND == 0 {
			return 0, unix.EINVAL
		}
		addr &^= SHMLBA - 1
	}
	prot, want := unix.PROT_READ|unix.PROT_WRITE, uint32(6)
	if flags&SHM_RDONLY != 0 {
		prot, want = unix.PROT_READ, 4
	}
	if flags&SHM_EXEC != 0 {
		prot |= unix.PROT_EXEC
	}
	mflags := unix.MAP_SHARED
	if addr != 0 {
		mflags |= unix.MAP_FIXED_NOREPLACE
		if flags&SHM_REMAP != 0 {
			mflags = unix.MAP_SHARED | unix.MAP_FIXED
		}
	} else if flags&SHM_REMAP != 0 {
		return 0, unix.EINVAL
	}
	shm.mu.Lock()
	allowed := t.ipcAllowed(&s.ipcObj, want)
	shm.mu.Unlock()
	if !allowed {
		return 0, unix.EACCES
	}
	at, e := t.mm().MmapFile(addr, s.size, prot, mflags, s.mem, 0, flags&SHM_RDONLY != 0)
	if e == unix.EEXIST {
		e = unix.EINVAL // something is mapped there and SHM_REMAP was not asked
	}
	if e != 0 {
		return 0, e
	}
	shm.mu.Lock()
	s.atime, s.lpid = time.Now().Unix(), int32(t.Task.Group.PID)
	shm.mu.Unlock()
	return at, 0
}

func sysShmdt(t *Thread, a Args) (uint64, unix.Errno) {
	addr := a[0]
	f, start, off, ok := t.mm().MappedFile(addr)
	shm := t.K.shmSegments()
	shm.mu.Lock()
	var seg *shmSegment
	for _, s := range shm.byID {
		if ok && f == mm.File(s.mem) {
			seg = s
			break
		}
	}
	shm.mu.Unlock()
	if seg == nil || start != addr || off != 0 {
		return 0, unix.EINVAL
	}
	if e := t.mm().Munmap(addr, seg.size); e != 0 {
		return 0, e
	}
	shm.mu.Lock()
	seg.dtime, seg.lpid = time.Now().Unix(), int32(t.Task.Group.PID)
	if seg.removed && seg.mem.Mappers() == 0 {
		delete(shm.byID, seg.id)
	}
	shm.mu.Unlock()
	return 0, 0
}

func sysShmctl(t *Thread, a Args) (uint64, unix.Errno) {
	cmd := a.Int(1) &^ IPC_64
	switch cmd {
	case IPC_INFO, SHM_INFO:
		t.K.countUnsupported(unix.SYS_SHMCTL)
		return 0, unix.EINVAL
	}
	shm, s, e := t.K.shmSegment(int32(a[0]))
	if e != 0 {
		return 0, e
	}
	shm.mu.Lock()
	defer shm.mu.Unlock()
	switch cmd {
	case IPC_STAT, SHM_STAT:
		if !t.ipcAllowed(&s.ipcObj, 4) {
			return 0, unix.EACCES
		}
		b := make([]byte, shmid64DsSize)
		le := binary.LittleEndian
		mode := s.mode
		if s.removed {
			mode |= SHM_DEST
		}
		key := s.key
		if s.removed {
			key = IPC_PRIVATE
		}
		s.putPerm(b, key, mode)
		le.PutUint64(b[48:], s.size)
		le.PutUint64(b[56:], uint64(s.atime))
		le.PutUint64(b[64:], uint64(s.dtime))
		le.PutUint64(b[72:], uint64(s.ctime))
		le.PutUint32(b[80:], uint32(s.cpid))
		le.PutUint32(b[84:], uint32(s.lpid))
		le.PutUint64(b[88:], uint64(s.attached()))
		return t.ipcStatOut(&s.ipcObj, a[2], b, cmd == SHM_STAT)
	case IPC_SET:
		b, e := t.ipcSetArg(&s.ipcObj, a[2], shmid64DsSize)
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
		if !s.removed {
			s.removed = true
			if shm.byKey[s.key] == s {
				delete(shm.byKey, s.key)
			}
			s.mem.MapUnref() // the frames go with the last detach
			if s.mem.Mappers() == 0 {
				delete(shm.byID, s.id)
			}
		}
		return 0, 0
	case SHM_LOCK, SHM_UNLOCK:
		return 0, 0 // nothing here is ever swapped
	}
	return 0, unix.EINVAL
}
