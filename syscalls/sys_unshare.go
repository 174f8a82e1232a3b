package syscalls

import (
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// unshare and ptrace: what Linux answers a process that may not use
// namespaces or trace (no CAP_SYS_ADMIN over a user namespace of its own,
// a seccomp or Yama policy forbidding ptrace), so that callers take their
// fallback path at once instead of waiting for a child that never comes.

func init() {
	register(unix.SYS_UNSHARE, Entry{Name: "unshare", Support: Partial,
		Note: "CLONE_FILES, CLONE_FS and CLONE_SYSVSEM; new namespaces answer EPERM, as for a process without CAP_SYS_ADMIN",
		fn:   sysUnshare, args: []argKind{aHex}})
	register(unix.SYS_PTRACE, Entry{Name: "ptrace", Support: Error,
		Note: "EPERM, as under a policy that forbids tracing (Yama, a container's seccomp)",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) {
			t.K.countUnsupported(unix.SYS_PTRACE)
			return 0, unix.EPERM
		}, args: []argKind{aInt, aInt, aHex, aHex}})
}

// cloneNamespaces are the flags that make new namespaces.
const cloneNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// unshareFlags are the flags unshare(2) knows (kernel/fork.c
// check_unshare_flags).
const unshareFlags = cloneNamespaces | unix.CLONE_THREAD | unix.CLONE_FS | unix.CLONE_FILES |
	unix.CLONE_SIGHAND | unix.CLONE_VM | unix.CLONE_SYSVSEM

func sysUnshare(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a[0]
	if flags&^unshareFlags != 0 {
		return 0, unix.EINVAL
	}
	if flags&cloneNamespaces != 0 {
		t.K.countUnsupported(unix.SYS_UNSHARE)
		return 0, unix.EPERM
	}
	g := t.Task.Group
	// Sharing the thread group, signal handlers or memory can only be
	// undone when there is nothing to share them with: Linux answers
	// EINVAL for a multi-threaded caller.
	if flags&(unix.CLONE_THREAD|unix.CLONE_SIGHAND|unix.CLONE_VM) != 0 && g.NumTasks() > 1 {
		return 0, unix.EINVAL
	}
	if flags&unix.CLONE_FILES != 0 {
		g.FDs = g.FDs.Unshare()
	}
	if flags&unix.CLONE_FS != 0 {
		if fs := t.K.FS(); fs != nil {
			fs.unshare(g)
		}
	}
	// CLONE_SYSVSEM: the process's SEM_UNDO adjustments are its own
	// already (sys_sem.go keeps them per process).
	return 0, 0
}

// unshare gives g a root and working directory of its own (unshare
// CLONE_FS) where it shared them with another process.
func (fs *FS) unshare(g *posix.ThreadGroup) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	p := fs.proc(g)
	c := vfs.NewFSContext(p.ctx.Root())
	c.SetCwd(p.ctx.Cwd())
	p.ctx = c
}
