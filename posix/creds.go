package posix

import (
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// Capabilities the emulation checks (linux/capability.h).
const (
	CAP_CHOWN            = 0
	CAP_DAC_OVERRIDE     = 1
	CAP_DAC_READ_SEARCH  = 2
	CAP_FOWNER           = 3
	CAP_FSETID           = 4
	CAP_SETGID           = 6
	CAP_SETUID           = 7
	CAP_SETPCAP          = 8
	CAP_LINUX_IMMUTABLE  = 9
	CAP_NET_BIND_SERVICE = 10
	CAP_IPC_LOCK         = 14
	CAP_IPC_OWNER        = 15
	CAP_KILL             = 5
	CAP_SYS_ADMIN        = 21
	CAP_SYS_TIME         = 25
	CAP_SYS_NICE         = 23
	CAP_SYS_RESOURCE     = 24
	CAP_MKNOD            = 27
	CAP_MAC_OVERRIDE     = 32
	CAP_LAST_CAP         = 40 // CAP_CHECKPOINT_RESTORE, the last one Linux 6.1 knows
)

// Capability sets.
const (
	CapAll uint64 = 1<<(CAP_LAST_CAP+1) - 1
	// capFSSet is what Linux raises and drops with fsuid 0 (CAP_FS_SET):
	// the capabilities that bypass file permission checks.
	capFSSet uint64 = 1<<CAP_CHOWN | 1<<CAP_DAC_OVERRIDE | 1<<CAP_DAC_READ_SEARCH | 1<<CAP_FOWNER |
		1<<CAP_FSETID | 1<<CAP_LINUX_IMMUTABLE | 1<<CAP_MKNOD | 1<<CAP_MAC_OVERRIDE
)

// NGROUPS_MAX bounds the supplementary group list (linux/limits.h).
const NGROUPS_MAX = 65536

// NoID is -1 as an id argument: "leave unchanged" for setre*id and
// setres*id, invalid elsewhere.
const NoID = ^uint32(0)

// Cred is one snapshot of a process's credentials, as Linux's struct cred:
// real, effective, saved and file-system ids, supplementary groups and the
// capability sets. Its methods return the credentials a set*id call makes,
// following Linux's permission rules, and never modify the receiver.
type Cred struct {
	RUID, EUID, SUID, FSUID uint32
	RGID, EGID, SGID, FSGID uint32
	Groups                  []uint32 // sorted, as Linux keeps them

	CapEff, CapPrm, CapInh, CapBnd, CapAmb uint64
	KeepCaps                               bool // PR_SET_KEEPCAPS (SECURE_KEEP_CAPS)
}

// NewCred is the identity of a process started as uid:gid with groups: root
// holds every capability, as a process of root on Linux does; anyone else
// holds none.
func NewCred(uid, gid uint32, groups []uint32) Cred {
	c := Cred{
		RUID: uid, EUID: uid, SUID: uid, FSUID: uid,
		RGID: gid, EGID: gid, SGID: gid, FSGID: gid,
		Groups: sortedGroups(groups),
		CapBnd: CapAll,
	}
	if uid == 0 {
		c.CapEff, c.CapPrm = CapAll, CapAll
	}
	return c
}

func sortedGroups(g []uint32) []uint32 {
	g = slices.Clone(g)
	slices.Sort(g)
	return g
}

// Capable reports whether capability cap is effective.
func (c Cred) Capable(cap int) bool { return c.CapEff&(1<<cap) != 0 }

// fixSetxuid adjusts the capability sets after a uid change as Linux's
// cap_emulate_setxuid does, so that a root process that becomes another user
// loses its privileges, and one that keeps root as its saved uid can take
// them back by setting euid 0.
func (c Cred) fixSetxuid(old Cred) Cred {
	if (old.RUID == 0 || old.EUID == 0 || old.SUID == 0) && c.RUID != 0 && c.EUID != 0 && c.SUID != 0 {
		if !c.KeepCaps {
			c.CapPrm, c.CapEff = 0, 0
		}
		c.CapAmb = 0
	}
	if old.EUID == 0 && c.EUID != 0 {
		c.CapEff = 0
	}
	if old.EUID != 0 && c.EUID == 0 {
		c.CapEff = c.CapPrm
	}
	return c
}

// fixSetfsuid is the fsuid half of the same rules: fsuid 0 carries the
// file-system capabilities.
func (c Cred) fixSetfsuid(old Cred) Cred {
	if old.FSUID == 0 && c.FSUID != 0 {
		c.CapEff &^= capFSSet
	}
	if old.FSUID != 0 && c.FSUID == 0 {
		c.CapEff |= capFSSet & c.CapPrm
	}
	return c
}

// SetUID is setuid(2).
func (c Cred) SetUID(uid uint32) (Cred, unix.Errno) {
	if uid == NoID {
		return c, unix.EINVAL
	}
	n := c
	switch {
	case c.Capable(CAP_SETUID):
		n.RUID, n.SUID = uid, uid
	case uid != c.RUID && uid != c.SUID:
		return c, unix.EPERM
	}
	n.EUID, n.FSUID = uid, uid
	return n.fixSetxuid(c), 0
}

// SetREUID is setreuid(2): an unprivileged process may set the real uid to
// its real or effective one, and the effective uid to any of its three.
func (c Cred) SetREUID(ruid, euid uint32) (Cred, unix.Errno) {
	n := c
	priv := c.Capable(CAP_SETUID)
	if ruid != NoID {
		if ruid != c.RUID && ruid != c.EUID && !priv {
			return c, unix.EPERM
		}
		n.RUID = ruid
	}
	if euid != NoID {
		if euid != c.RUID && euid != c.EUID && euid != c.SUID && !priv {
			return c, unix.EPERM
		}
		n.EUID = euid
	}
	// The saved uid follows the effective one whenever the real uid is set
	// or the effective one moves away from the old real uid.
	if ruid != NoID || (euid != NoID && euid != c.RUID) {
		n.SUID = n.EUID
	}
	n.FSUID = n.EUID
	return n.fixSetxuid(c), 0
}

// SetRESUID is setresuid(2): unprivileged, each new id must be one of the
// current real, effective or saved uids.
func (c Cred) SetRESUID(ruid, euid, suid uint32) (Cred, unix.Errno) {
	if (ruid == NoID || ruid == c.RUID) && (euid == NoID || (euid == c.EUID && euid == c.FSUID)) && (suid == NoID || suid == c.SUID) {
		return c, 0
	}
	if !c.Capable(CAP_SETUID) {
		for _, id := range []uint32{ruid, euid, suid} {
			if id != NoID && id != c.RUID && id != c.EUID && id != c.SUID {
				return c, unix.EPERM
			}
		}
	}
	n := c
	if ruid != NoID {
		n.RUID = ruid
	}
	if euid != NoID {
		n.EUID = euid
	}
	if suid != NoID {
		n.SUID = suid
	}
	n.FSUID = n.EUID
	return n.fixSetxuid(c), 0
}

// SetFSUID is setfsuid(2). It never fails; the caller returns the old fsuid
// either way.
func (c Cred) SetFSUID(uid uint32) Cred {
	if uid == NoID || uid == c.FSUID {
		return c
	}
	if uid != c.RUID && uid != c.EUID && uid != c.SUID && !c.Capable(CAP_SETUID) {
		return c
	}
	n := c
	n.FSUID = uid
	return n.fixSetfsuid(c)
}

// SetGID is setgid(2).
func (c Cred) SetGID(gid uint32) (Cred, unix.Errno) {
	if gid == NoID {
		return c, unix.EINVAL
	}
	n := c
	switch {
	case c.Capable(CAP_SETGID):
		n.RGID, n.SGID = gid, gid
	case gid != c.RGID && gid != c.SGID:
		return c, unix.EPERM
	}
	n.EGID, n.FSGID = gid, gid
	return n, 0
}

// SetREGID is setregid(2), with setreuid's rules.
func (c Cred) SetREGID(rgid, egid uint32) (Cred, unix.Errno) {
	n := c
	priv := c.Capable(CAP_SETGID)
	if rgid != NoID {
		if rgid != c.RGID && rgid != c.EGID && !priv {
			return c, unix.EPERM
		}
		n.RGID = rgid
	}
	if egid != NoID {
		if egid != c.RGID && egid != c.EGID && egid != c.SGID && !priv {
			return c, unix.EPERM
		}
		n.EGID = egid
	}
	if rgid != NoID || (egid != NoID && egid != c.RGID) {
		n.SGID = n.EGID
	}
	n.FSGID = n.EGID
	return n, 0
}

// SetRESGID is setresgid(2), with setresuid's rules.
func (c Cred) SetRESGID(rgid, egid, sgid uint32) (Cred, unix.Errno) {
	if (rgid == NoID || rgid == c.RGID) && (egid == NoID || (egid == c.EGID && egid == c.FSGID)) && (sgid == NoID || sgid == c.SGID) {
		return c, 0
	}
	if !c.Capable(CAP_SETGID) {
		for _, id := range []uint32{rgid, egid, sgid} {
			if id != NoID && id != c.RGID && id != c.EGID && id != c.SGID {
				return c, unix.EPERM
			}
		}
	}
	n := c
	if rgid != NoID {
		n.RGID = rgid
	}
	if egid != NoID {
		n.EGID = egid
	}
	if sgid != NoID {
		n.SGID = sgid
	}
	n.FSGID = n.EGID
	return n, 0
}

// SetFSGID is setfsgid(2).
func (c Cred) SetFSGID(gid uint32) Cred {
	if gid == NoID || gid == c.FSGID {
		return c
	}
	if gid != c.RGID && gid != c.EGID && gid != c.SGID && !c.Capable(CAP_SETGID) {
		return c
	}
	n := c
	n.FSGID = gid
	return n
}

// SetGroups is setgroups(2): CAP_SETGID only.
func (c Cred) SetGroups(groups []uint32) (Cred, unix.Errno) {
	if !c.Capable(CAP_SETGID) {
		return c, unix.EPERM
	}
	if len(groups) > NGROUPS_MAX {
		return c, unix.EINVAL
	}
	n := c
	n.Groups = sortedGroups(groups)
	return n, 0
}

// SetCaps is capset(2) on the caller itself: the new permitted set must be
// a subset of the old one, effective of the new permitted, and inheritable
// may only grow within permitted (without CAP_SETPCAP) and the bounding set.
func (c Cred) SetCaps(eff, prm, inh uint64) (Cred, unix.Errno) {
	eff, prm, inh = eff&CapAll, prm&CapAll, inh&CapAll
	if !c.Capable(CAP_SETPCAP) && inh&^(c.CapInh|c.CapPrm) != 0 {
		return c, unix.EPERM
	}
	if inh&^(c.CapInh|c.CapBnd) != 0 || prm&^c.CapPrm != 0 || eff&^prm != 0 {
		return c, unix.EPERM
	}
	n := c
	n.CapEff, n.CapPrm, n.CapInh = eff, prm, inh
	n.CapAmb &= prm & inh
	return n, 0
}

// DropBound is PR_CAPBSET_DROP.
func (c Cred) DropBound(cap int) (Cred, unix.Errno) {
	if !c.Capable(CAP_SETPCAP) {
		return c, unix.EPERM
	}
	if cap < 0 || cap > CAP_LAST_CAP {
		return c, unix.EINVAL
	}
	n := c
	n.CapBnd &^= 1 << cap
	return n, 0
}

// Creds holds a process's credentials; updates are atomic.
type Creds struct {
	mu sync.Mutex
	c  Cred
}

// NewCreds holds c.
func NewCreds(c Cred) *Creds { return &Creds{c: c} }

// Get returns the current credentials.
func (cs *Creds) Get() Cred {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.c
}

// Update replaces the credentials with what f makes of them, unless f
// fails; it returns the credentials before and after.
func (cs *Creds) Update(f func(Cred) (Cred, unix.Errno)) (old, cur Cred, e unix.Errno) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	old = cs.c
	n, e := f(old)
	if e != 0 {
		return old, old, e
	}
	cs.c = n
	return old, n, 0
}

// IDsChanged reports whether a credential change is one after which Linux
// resets the process's dumpable flag and parent-death signal: a change of
// the effective or file-system ids, or new permitted capabilities.
func IDsChanged(old, cur Cred) bool {
	return old.EUID != cur.EUID || old.EGID != cur.EGID || old.FSUID != cur.FSUID || old.FSGID != cur.FSGID ||
		cur.CapPrm&^old.CapPrm != 0
}
