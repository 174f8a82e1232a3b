package syscalls

import (
	"strconv"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// The guest's own core dumps, as Linux's do_coredump makes them for a
// file core_pattern (the guest's /proc/sys/kernel/core_pattern, "core" by
// default): an ELF core of the dying thread in a file of the guest's
// file systems, relative to the process's working directory, at most
// RLIMIT_CORE bytes, written only when that limit is not zero and the
// process is dumpable. Its wait status then has the core-dump bit. A pipe
// pattern ("|program") has no helper to run here: no core, no bit.
// (--core, core_dump.go, is the monitor's own copy on the host.)

// guestCore writes the core for a death by info and reports whether it
// did.
func (t *Thread) guestCore(info posix.SigInfo, r *rumpglue.Regs) bool {
	k := t.K
	if k.CorePattern == nil || k.FS() == nil || !coreSignals[unix.Signal(info.Signo)] {
		return false
	}
	g := t.Task.Group
	limit := g.Limits.Get(unix.RLIMIT_CORE).Cur
	pattern, usesPID := k.CorePattern()
	if limit == 0 || pattern == "" || strings.HasPrefix(pattern, "|") || t.attrs().Dumpable() == posix.SUID_DUMP_DISABLE {
		return false
	}
	name := t.corePath(pattern, int(info.Signo), usesPID)
	fs := k.FS()
	ctx := t.vctx()
	f, e := fs.VFS.Open(ctx, fs.Context(g), vfs.Path{}, name,
		vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_NOFOLLOW | O_LARGEFILE, Mode: 0o600, Umask: t.umask()})
	if e != 0 {
		return false
	}
	defer f.Close()
	vf, ok := f.(*vfs.File)
	if !ok || vf.Type()&vfs.S_IFMT != vfs.S_IFREG {
		return false // Linux dumps only into a regular file
	}
	w := &guestCoreFile{f: vf, ctx: ctx, limit: int64(min(limit, uint64(maxCoreBytes)))}
	return k.writeCoreTo(w, t, info, []threadState{t.state(r)}) == nil
}

// corePath expands core_pattern's specifiers (man 5 core) that have a
// meaning here; core_uses_pid appends the PID when the pattern has no %p.
func (t *Thread) corePath(pattern string, sig int, usesPID bool) string {
	g := t.Task.Group
	c := t.cred()
	var b strings.Builder
	hasPID := false
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '%' || i+1 == len(pattern) {
			b.WriteByte(pattern[i])
			continue
		}
		i++
		switch pattern[i] {
		case '%':
			b.WriteByte('%')
		case 'p', 'P':
			b.WriteString(strconv.Itoa(g.PID))
			hasPID = true
		case 'i', 'I':
			b.WriteString(strconv.Itoa(t.Task.TID))
		case 'u':
			b.WriteString(strconv.FormatUint(uint64(c.EUID), 10))
		case 'g':
			b.WriteString(strconv.FormatUint(uint64(c.EGID), 10))
		case 's':
			b.WriteString(strconv.Itoa(sig))
		case 't':
			b.WriteString(strconv.FormatInt(time.Now().Unix(), 10))
		case 'h':
			b.WriteString(t.K.Hostname())
		case 'e':
			comm := t.attrs().Thread(t.Task.TID).Comm
			b.WriteString(strings.ReplaceAll(strings.TrimRight(string(comm[:]), "\x00"), "/", "!"))
		case 'c':
			b.WriteString(strconv.FormatUint(g.Limits.Get(unix.RLIMIT_CORE).Cur, 10))
		}
	}
	if usesPID && !hasPID {
		b.WriteString("." + strconv.Itoa(g.PID))
	}
	return b.String()
}

// guestCoreFile is the core file, cut at RLIMIT_CORE.
type guestCoreFile struct {
	f     *vfs.File
	ctx   *vfs.Context
	limit int64
}

func (w *guestCoreFile) WriteAt(p []byte, off int64) (int, error) {
	if off >= w.limit {
		return len(p), nil
	}
	n := int64(len(p))
	if off+n > w.limit {
		n = w.limit - off
	}
	if _, e := w.f.Pwrite(w.ctx, p[:n], off); e != 0 {
		return 0, e
	}
	return len(p), nil
}

func (w *guestCoreFile) Truncate(size int64) error {
	if e := w.f.VFS().Truncate(w.ctx, w.f.Path(), min(size, w.limit), false); e != 0 {
		return e
	}
	return nil
}
