package syscalls

import (
	"crypto/rand"
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_UNAME, Entry{Name: "uname", fn: sysUname, args: []argKind{aPtr}})
	register(unix.SYS_GETRANDOM, Entry{Name: "getrandom", fn: sysGetrandom, args: []argKind{aPtr, aUint, aHex}})
	register(unix.SYS_PRLIMIT64, Entry{Name: "prlimit64", fn: sysPrlimit64, args: []argKind{aInt, aResource, aPtr, aPtr}})
	register(unix.SYS_GETRLIMIT, Entry{Name: "getrlimit", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysPrlimit64(t, Args{0, a[0], 0, a[1]})
	}, args: []argKind{aResource, aPtr}})
	register(unix.SYS_SETRLIMIT, Entry{Name: "setrlimit", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysPrlimit64(t, Args{0, a[0], a[1], 0})
	}, args: []argKind{aResource, aPtr}})
	ids := func(f func(t *Thread) uint32) handler {
		return func(t *Thread, a Args) (uint64, unix.Errno) { return uint64(f(t)), 0 }
	}
	uid := ids(func(t *Thread) uint32 { return t.K.Info.UID })
	gid := ids(func(t *Thread) uint32 { return t.K.Info.GID })
	register(unix.SYS_GETUID, Entry{Name: "getuid", fn: uid})
	register(unix.SYS_GETEUID, Entry{Name: "geteuid", fn: uid})
	register(unix.SYS_GETGID, Entry{Name: "getgid", fn: gid})
	register(unix.SYS_GETEGID, Entry{Name: "getegid", fn: gid})
}

// Release is the kernel release the guest sees: Debian 12's, whose ABI the
// emulation follows.
const Release = "6.1.0-rumpgo"

func sysUname(t *Thread, a Args) (uint64, unix.Errno) {
	const field = 65
	var u [6 * field]byte
	for i, s := range []string{"Linux", t.K.Info.Hostname, Release, "#1 SMP PREEMPT_DYNAMIC rumpgo", "x86_64", "(none)"} {
		copy(u[i*field:(i+1)*field-1], s)
	}
	return 0, t.mm().CopyOut(a[0], u[:])
}

// getrandom flags.
const (
	GRND_NONBLOCK = 1
	GRND_RANDOM   = 2
	GRND_INSECURE = 4
)

func sysGetrandom(t *Thread, a Args) (uint64, unix.Errno) {
	if a[2]&^(GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE) != 0 || a[2]&(GRND_RANDOM|GRND_INSECURE) == GRND_RANDOM|GRND_INSECURE {
		return 0, unix.EINVAL
	}
	n := min(a[1], 33554431) // Linux's per-call cap
	buf := make([]byte, min(n, 1<<16))
	done := uint64(0)
	for done < n {
		chunk := buf[:min(uint64(len(buf)), n-done)]
		rand.Read(chunk)
		if e := t.mm().CopyOut(a[0]+done, chunk); e != 0 {
			if done > 0 {
				break
			}
			return 0, e
		}
		done += uint64(len(chunk))
	}
	return done, 0
}

func sysPrlimit64(t *Thread, a Args) (uint64, unix.Errno) {
	pid, res := a.Int(0), a.Int(1)
	if pid != 0 && pid != t.Task.Group.PID {
		return 0, unix.ESRCH
	}
	if res < 0 || res >= posix.RLIM_NLIMITS {
		return 0, unix.EINVAL
	}
	le := binary.LittleEndian
	lim := t.Task.Group.Limits
	old := lim.Get(res)
	if a[2] != 0 {
		var b [16]byte
		if e := t.mm().CopyIn(a[2], b[:]); e != 0 {
			return 0, e
		}
		if e := lim.Set(res, posix.Rlimit{Cur: le.Uint64(b[0:]), Max: le.Uint64(b[8:])}); e != 0 {
			return 0, e
		}
	}
	if a[3] != 0 {
		var b [16]byte
		le.PutUint64(b[0:], old.Cur)
		le.PutUint64(b[8:], old.Max)
		return 0, t.mm().CopyOut(a[3], b[:])
	}
	return 0, 0
}
