package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	cred := func(f func(c posix.Cred) uint32) handler {
		return func(t *Thread, a Args) (uint64, unix.Errno) { return uint64(f(t.cred())), 0 }
	}
	register(unix.SYS_GETUID, Entry{Name: "getuid", fn: cred(func(c posix.Cred) uint32 { return c.RUID })})
	register(unix.SYS_GETEUID, Entry{Name: "geteuid", fn: cred(func(c posix.Cred) uint32 { return c.EUID })})
	register(unix.SYS_GETGID, Entry{Name: "getgid", fn: cred(func(c posix.Cred) uint32 { return c.RGID })})
	register(unix.SYS_GETEGID, Entry{Name: "getegid", fn: cred(func(c posix.Cred) uint32 { return c.EGID })})
	register(unix.SYS_GETRESUID, Entry{Name: "getresuid", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		c := t.cred()
		return 0, t.putIDs(a, c.RUID, c.EUID, c.SUID)
	}, args: []argKind{aPtr, aPtr, aPtr}})
	register(unix.SYS_GETRESGID, Entry{Name: "getresgid", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		c := t.cred()
		return 0, t.putIDs(a, c.RGID, c.EGID, c.SGID)
	}, args: []argKind{aPtr, aPtr, aPtr}})
	register(unix.SYS_GETGROUPS, Entry{Name: "getgroups", fn: sysGetgroups, args: []argKind{aInt, aPtr}})
	register(unix.SYS_SETGROUPS, Entry{Name: "setgroups", fn: sysSetgroups, args: []argKind{aInt, aPtr}})

	set := func(f func(c posix.Cred, a Args) (posix.Cred, unix.Errno)) handler {
		return func(t *Thread, a Args) (uint64, unix.Errno) {
			return 0, t.setCred(func(c posix.Cred) (posix.Cred, unix.Errno) { return f(c, a) })
		}
	}
	id := func(a Args, i int) uint32 { return uint32(a[i]) }
	register(unix.SYS_SETUID, Entry{Name: "setuid", fn: set(func(c posix.Cred, a Args) (posix.Cred, unix.Errno) {
		return c.SetUID(id(a, 0))
	}), args: []argKind{aInt}})
	register(unix.SYS_SETGID, Entry{Name: "setgid", fn: set(func(c posix.Cred, a Args) (posix.Cred, unix.Errno) {
		return c.SetGID(id(a, 0))
	}), args: []argKind{aInt}})
	register(unix.SYS_SETREUID, Entry{Name: "setreuid", fn: set(func(c posix.Cred, a Args) (posix.Cred, unix.Errno) {
		return c.SetREUID(id(a, 0), id(a, 1))
	}), args: []argKind{aInt, aInt}})
	register(unix.SYS_SETREGID, Entry{Name: "setregid", fn: set(func(c posix.Cred, a Args) (posix.Cred, unix.Errno) {
		return c.SetREGID(id(a, 0), id(a, 1))
	}), args: []argKind{aInt, aInt}})
	register(unix.SYS_SETRESUID, Entry{Name: "setresuid", fn: set(func(c posix.Cred, a Args) (posix.Cred, unix.Errno) {
		return c.SetRESUID(id(a, 0), id(a, 1), id(a, 2))
	}), args: []argKind{aInt, aInt, aInt}})
	register(unix.SYS_SETRESGID, Entry{Name: "setresgid", fn: set(func(c posix.Cred, a Args) (posix.Cred, unix.Errno) {
		return c.SetRESGID(id(a, 0), id(a, 1), id(a, 2))
	}), args: []argKind{aInt, aInt, aInt}})
	// setfsuid and setfsgid answer the old id whether or not they changed it.
	register(unix.SYS_SETFSUID, Entry{Name: "setfsuid", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		var old posix.Cred
		t.setCred(func(c posix.Cred) (posix.Cred, unix.Errno) { old = c; return c.SetFSUID(id(a, 0)), 0 })
		return uint64(old.FSUID), 0
	}, args: []argKind{aInt}})
	register(unix.SYS_SETFSGID, Entry{Name: "setfsgid", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		var old posix.Cred
		t.setCred(func(c posix.Cred) (posix.Cred, unix.Errno) { old = c; return c.SetFSGID(id(a, 0)), 0 })
		return uint64(old.FSGID), 0
	}, args: []argKind{aInt}})
	register(unix.SYS_CAPGET, Entry{Name: "capget", fn: sysCapget, args: []argKind{aPtr, aPtr}})
	register(unix.SYS_CAPSET, Entry{Name: "capset", fn: sysCapset, args: []argKind{aPtr, aPtr}})
	register(unix.SYS_UMASK, Entry{Name: "umask", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return uint64(t.attrs().Umask(uint32(a[0]))), 0
	}, args: []argKind{aOctal}, ret: rOctal})
}

// attrs returns the process's identity and scheduling attributes, made on
// first use from the machine's configuration.
func (t *Thread) attrs() *posix.ProcAttrs {
	info := &t.K.Info
	return posix.AttrsOf(t.Task.Group, func() *posix.ProcAttrs {
		return posix.NewProcAttrs(info.UID, info.GID, []uint32{info.GID}, info.Comm)
	})
}

func (t *Thread) cred() posix.Cred { return t.attrs().Creds.Get() }

// capable reports whether the process holds capability cap.
func (t *Thread) capable(cap int) bool { return t.cred().Capable(cap) }

// setCred changes the credentials with f, and applies what Linux does after
// the effective ids change.
func (t *Thread) setCred(f func(posix.Cred) (posix.Cred, unix.Errno)) unix.Errno {
	p := t.attrs()
	old, cur, e := p.Creds.Update(f)
	if e == 0 && posix.IDsChanged(old, cur) {
		p.CredsChanged(t.Task.TID)
	}
	return e
}

// putIDs writes three ids to the pointers in a[0..2], as getres[ug]id.
func (t *Thread) putIDs(a Args, ids ...uint32) unix.Errno {
	for i, id := range ids {
		if e := t.putU32(a[i], id); e != 0 {
			return e
		}
	}
	return 0
}

func sysGetgroups(t *Thread, a Args) (uint64, unix.Errno) {
	size := a.Int(0)
	if size < 0 {
		return 0, unix.EINVAL
	}
	groups := t.cred().Groups
	if size == 0 {
		return uint64(len(groups)), 0
	}
	if size < len(groups) {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*len(groups))
	for i, g := range groups {
		binary.LittleEndian.PutUint32(b[4*i:], g)
	}
	return uint64(len(groups)), t.mm().CopyOut(a[1], b)
}

func sysSetgroups(t *Thread, a Args) (uint64, unix.Errno) {
	size := a.Int(0)
	if !t.capable(posix.CAP_SETGID) {
		return 0, unix.EPERM
	}
	if size < 0 || size > posix.NGROUPS_MAX {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*size)
	if e := t.mm().CopyIn(a[1], b); e != 0 {
		return 0, e
	}
	groups := make([]uint32, size)
	for i := range groups {
		groups[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return 0, t.setCred(func(c posix.Cred) (posix.Cred, unix.Errno) { return c.SetGroups(groups) })
}

// Capability ABI versions (linux/capability.h): version 1 carries one
// 32-bit word per set, versions 2 and 3 two.
const (
	_LINUX_CAPABILITY_VERSION_1 = 0x19980330
	_LINUX_CAPABILITY_VERSION_2 = 0x20071026
	_LINUX_CAPABILITY_VERSION_3 = 0x20080522
)

// capHeader reads a capget/capset header: how many data structs follow, and
// the pid. An unknown version is answered with the preferred one written
// back and EINVAL.
func (t *Thread) capHeader(hdr uint64) (words int, pid int, e unix.Errno) {
	var b [8]byte
	if e := t.mm().CopyIn(hdr, b[:4]); e != 0 {
		return 0, 0, e
	}
	switch binary.LittleEndian.Uint32(b[:4]) {
	case _LINUX_CAPABILITY_VERSION_1:
		words = 1
	case _LINUX_CAPABILITY_VERSION_2, _LINUX_CAPABILITY_VERSION_3:
		words = 2
	default:
		if e := t.putU32(hdr, _LINUX_CAPABILITY_VERSION_3); e != 0 {
			return 0, 0, e
		}
		return 0, 0, unix.EINVAL
	}
	if e := t.mm().CopyIn(hdr, b[:]); e != 0 {
		return 0, 0, e
	}
	return words, int(int32(binary.LittleEndian.Uint32(b[4:]))), 0
}

func sysCapget(t *Thread, a Args) (uint64, unix.Errno) {
	words, pid, e := t.capHeader(a[0])
	if a[1] == 0 {
		// A NULL data pointer asks only for the version.
		if e == unix.EINVAL {
			return 0, 0
		}
		return 0, e
	}
	if e != 0 {
		return 0, e
	}
	if pid < 0 {
		return 0, unix.EINVAL
	}
	if pid != 0 && pid != t.Task.Group.PID && !t.Task.Group.HasTask(pid) {
		return 0, unix.ESRCH
	}
	c := t.cred()
	b := make([]byte, 12*words) // struct __user_cap_data_struct: effective, permitted, inheritable
	for i := 0; i < words; i++ {
		le := binary.LittleEndian
		le.PutUint32(b[12*i:], uint32(c.CapEff>>(32*i)))
		le.PutUint32(b[12*i+4:], uint32(c.CapPrm>>(32*i)))
		le.PutUint32(b[12*i+8:], uint32(c.CapInh>>(32*i)))
	}
	return 0, t.mm().CopyOut(a[1], b)
}

func sysCapset(t *Thread, a Args) (uint64, unix.Errno) {
	words, pid, e := t.capHeader(a[0])
	if e != 0 {
		return 0, e
	}
	if pid != 0 && pid != t.Task.TID {
		return 0, unix.EPERM // only the caller's own capabilities may be set
	}
	b := make([]byte, 12*words)
	if e := t.mm().CopyIn(a[1], b); e != 0 {
		return 0, e
	}
	var eff, prm, inh uint64
	for i := 0; i < words; i++ {
		le := binary.LittleEndian
		eff |= uint64(le.Uint32(b[12*i:])) << (32 * i)
		prm |= uint64(le.Uint32(b[12*i+4:])) << (32 * i)
		inh |= uint64(le.Uint32(b[12*i+8:])) << (32 * i)
	}
	return 0, t.setCred(func(c posix.Cred) (posix.Cred, unix.Errno) { return c.SetCaps(eff, prm, inh) })
}
