package syscalls

import (
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_PERSONALITY, Entry{Name: "personality", Support: Partial,
		Note: "queries, and Linux's own persona (PER_LINUX, PER_LINUX32: uname says i686) with the flags that change nothing here (ADDR_NO_RANDOMIZE: nothing is randomized; ADDR_COMPAT_LAYOUT, ...); others answer ENOSYS",
		fn:   sysPersonality, args: []argKind{aHex}, ret: rHex})
	register(unix.SYS_USERFAULTFD, Entry{Name: "userfaultfd", Support: Error,
		Note: "EPERM, as for a process Linux's vm.unprivileged_userfaultfd=0 refuses: user-space page-fault handling is not implemented",
		fn:   sysUserfaultfd, args: []argKind{aHex}})
}

// Personas and flags (linux/personality.h).
const (
	PER_MASK           = 0xff
	PER_LINUX          = 0x0000
	PER_LINUX32        = 0x0008
	UNAME26            = 0x0020000
	ADDR_NO_RANDOMIZE  = 0x0040000
	FDPIC_FUNCPTRS     = 0x0080000
	MMAP_PAGE_ZERO     = 0x0100000
	ADDR_COMPAT_LAYOUT = 0x0200000
	READ_IMPLIES_EXEC  = 0x0400000
	ADDR_LIMIT_32BIT   = 0x0800000
	SHORT_INODE        = 0x1000000
	WHOLE_SECONDS      = 0x2000000
	STICKY_TIMEOUTS    = 0x4000000
	ADDR_LIMIT_3GB     = 0x8000000
	personalityQuery   = 0xffffffff
)

// harmlessPersonaFlags change nothing a guest could see here: there is no
// address randomization to turn off, the mmap layout is one, and the
// timeouts and inode flags are for other systems' binaries.
const harmlessPersonaFlags = ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT | SHORT_INODE | WHOLE_SECONDS | STICKY_TIMEOUTS

func sysPersonality(t *Thread, a Args) (uint64, unix.Errno) {
	v := uint32(a[0])
	if v == personalityQuery {
		return uint64(t.attrs().SwapPersona(0, false)), 0
	}
	if p := v & PER_MASK; p != PER_LINUX && p != PER_LINUX32 || v&^PER_MASK&^harmlessPersonaFlags != 0 {
		t.K.countUnsupported(unix.SYS_PERSONALITY)
		return 0, unix.ENOSYS
	}
	return uint64(t.attrs().SwapPersona(v, true)), 0
}

// machine is uname's machine field: i686 under PER_LINUX32, as Linux's
// override_architecture.
func (t *Thread) machine() string {
	if t.attrs().SwapPersona(0, false)&PER_MASK == PER_LINUX32 {
		return "i686"
	}
	return "x86_64"
}

// userfaultfd flags (linux/userfaultfd.h).
const UFFD_USER_MODE_ONLY = 1

// CAP_SYS_PTRACE lets Linux's userfaultfd past vm.unprivileged_userfaultfd.
const CAP_SYS_PTRACE = 19

func sysUserfaultfd(t *Thread, a Args) (uint64, unix.Errno) {
	if !t.capable(CAP_SYS_PTRACE) {
		return 0, unix.EPERM
	}
	if a[0]&^(unix.O_CLOEXEC|unix.O_NONBLOCK|UFFD_USER_MODE_ONLY) != 0 {
		return 0, unix.EINVAL
	}
	return 0, unix.EPERM
}
