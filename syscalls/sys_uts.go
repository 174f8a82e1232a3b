package syscalls

import (
	"sync"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_SETHOSTNAME, Entry{Name: "sethostname", Note: "the guest's own UTS name: the host's is never touched",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) { return t.setUTS(a, &t.K.uts().host) }, args: []argKind{aPtr, aUint}})
	register(unix.SYS_SETDOMAINNAME, Entry{Name: "setdomainname", Note: "the guest's own UTS name: the host's is never touched",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) { return t.setUTS(a, &t.K.uts().domain) }, args: []argKind{aPtr, aUint}})
}

// __NEW_UTS_LEN is the longest UTS name (linux/utsname.h).
const __NEW_UTS_LEN = 64

// utsName is the machine's host and domain name: the guest owns its UTS
// namespace, and a root guest may rename it.
type utsName struct {
	mu           sync.Mutex
	host, domain string
}

func (k *Kernel) uts() *utsName {
	k.utsOnce.Do(func() {
		k.utsName = &utsName{host: k.Info.Hostname, domain: "(none)"}
	})
	return k.utsName
}

// Hostname is the machine's host name now, for uname and /proc.
func (k *Kernel) Hostname() string {
	u := k.uts()
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.host
}

// Domainname is the NIS domain name, "(none)" until set.
func (k *Kernel) Domainname() string {
	u := k.uts()
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.domain
}

// SetHostname is a write of /proc/sys/kernel/hostname, with sethostname's
// checks.
func (k *Kernel) SetHostname(ctx *vfs.Context, name []byte) unix.Errno {
	return k.setName(ctx.Cred, name, &k.uts().host)
}

// SetDomainname is a write of /proc/sys/kernel/domainname.
func (k *Kernel) SetDomainname(ctx *vfs.Context, name []byte) unix.Errno {
	return k.setName(ctx.Cred, name, &k.uts().domain)
}

func (k *Kernel) setName(c posix.Cred, name []byte, field *string) unix.Errno {
	if !c.Capable(posix.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	if len(name) > __NEW_UTS_LEN {
		return unix.EINVAL
	}
	u := k.uts()
	u.mu.Lock()
	*field = string(name)
	u.mu.Unlock()
	return 0
}

func (t *Thread) setUTS(a Args, field *string) (uint64, unix.Errno) {
	if !t.capable(posix.CAP_SYS_ADMIN) {
		return 0, unix.EPERM
	}
	n := a.Int(1)
	if n < 0 || n > __NEW_UTS_LEN {
		return 0, unix.EINVAL
	}
	b := make([]byte, n)
	if e := t.mm().CopyIn(a[0], b); e != 0 {
		return 0, e
	}
	u := t.K.uts()
	u.mu.Lock()
	*field = string(b)
	u.mu.Unlock()
	return 0, 0
}
