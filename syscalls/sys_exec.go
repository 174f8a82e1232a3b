package syscalls

import (
	"bytes"
	"encoding/binary"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// This file is execve and execveat: the checks Linux makes, #! scripts,
// and the point of no return where the process takes its new image. The
// ELF loading itself belongs to the machine's loader (Kernel.Loader).

func init() {
	register(unix.SYS_EXECVE, Entry{Name: "execve", Support: Partial, Note: "ELF and #! scripts; set-user-ID bits are ignored",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) {
			return t.execve(unix.AT_FDCWD, a[0], a[1], a[2], 0)
		}, args: []argKind{aPath, aPtr, aPtr}})
	register(unix.SYS_EXECVEAT, Entry{Name: "execveat", Support: Partial, Note: "as execve",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) {
			return t.execve(a.Int(0), a[1], a[2], a[3], a.Int(4))
		}, args: []argKind{aDirFD, aPath, aPtr, aPtr, aHex}})
}

// Loader loads a program into a new address space for execve; launch
// implements it with boot's ELF loader.
type Loader interface {
	// Load maps the ELF in req.File (and its interpreter, found in the
	// process's root) into a new address space with the initial stack,
	// and returns the registers it starts with. Errors are execve's:
	// ENOEXEC for an ELF that is not for this machine, ENOENT for a
	// missing interpreter, ENOMEM, E2BIG.
	Load(req ExecRequest) (*Program, unix.Errno)
}

// ExecRequest is what execve asks the loader for.
type ExecRequest struct {
	Process  *posix.ThreadGroup // whose root the interpreter is found in
	File     *vfs.File          // the program, open for reading
	Size     int64
	Filename string // as execve was given it (AT_EXECFN)
	Argv     []string
	Env      []string
	Cred     posix.Cred
}

// Program is a loaded image, ready to run.
type Program struct {
	MM     *mm.AddressSpace
	Regs   rumpglue.Regs
	Images []Image // for crash reports
}

// Limits of execve's arguments (linux/binfmts.h): each string at most
// MAX_ARG_STRLEN, all of them together a quarter of the 8 MiB stack.
const (
	MAX_ARG_STRLEN  = 32 * mm.PageSize
	MAX_ARG_STRINGS = 0x7fffffff
	maxArgBytes     = mm.StackSize / 4
	// BINPRM_BUF_SIZE is how much of a file Linux reads to recognize it;
	// a #! line must fit.
	BINPRM_BUF_SIZE = 256
	// maxInterpDepth is how many #! interpreters may chain (Linux: 4).
	maxInterpDepth = 4
)

// stringVec reads a NULL-terminated vector of strings (argv, envp),
// adding their sizes to *total; E2BIG past the limits.
func (t *Thread) stringVec(addr uint64, total *int) ([]string, unix.Errno) {
	var out []string
	if addr == 0 {
		return nil, 0 // Linux takes a NULL argv or envp as empty
	}
	var b [8]byte
	for i := uint64(0); ; i++ {
		if e := t.mm().CopyIn(addr+8*i, b[:]); e != 0 {
			return nil, e
		}
		p := binary.LittleEndian.Uint64(b[:])
		if p == 0 {
			return out, 0
		}
		if len(out) >= MAX_ARG_STRINGS {
			return nil, unix.E2BIG
		}
		s, e := t.mm().CopyInString(p, MAX_ARG_STRLEN)
		if e == unix.ENAMETOOLONG {
			return nil, unix.E2BIG
		}
		if e != 0 {
			return nil, e
		}
		*total += len(s) + 1 + 8
		if *total > maxArgBytes {
			return nil, unix.E2BIG
		}
		out = append(out, s)
	}
}

// execFile opens the file execve names and checks that it may run: a
// regular file, executable by the caller, not on a noexec mount.
func (t *Thread) execFile(dirfd int, name string, flags int) (*vfs.File, vfs.Stat, unix.Errno) {
	v, fsc, e := t.vfs()
	if e != 0 {
		return nil, vfs.Stat{}, e
	}
	if name == "" {
		if flags&unix.AT_EMPTY_PATH == 0 {
			return nil, vfs.Stat{}, unix.ENOENT
		}
		// fexecve: the descriptor's own file, reopened for reading.
		name, dirfd = "/proc/self/fd/"+strconv.Itoa(dirfd), unix.AT_FDCWD
	}
	dir, e := t.dirArg(dirfd, name)
	if e != 0 {
		return nil, vfs.Stat{}, e
	}
	lf, of := vfs.LookupFollow, unix.O_RDONLY|unix.O_CLOEXEC
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		lf, of = 0, of|unix.O_NOFOLLOW
	}
	ctx := t.vctx()
	p, e := v.Lookup(ctx, fsc, dir, name, lf)
	if e != 0 {
		return nil, vfs.Stat{}, e
	}
	st, e := v.Stat(ctx, p)
	switch {
	case e != 0:
		return nil, st, e
	case vfs.FileType(st.Mode) == vfs.S_IFLNK:
		return nil, st, unix.ELOOP // AT_SYMLINK_NOFOLLOW on a link
	case vfs.FileType(st.Mode) != vfs.S_IFREG, p.Mnt.Flags&vfs.MS_NOEXEC != 0:
		return nil, st, unix.EACCES
	}
	if e := vfs.Permission(ctx.Cred, &st, vfs.MayExec); e != 0 {
		return nil, st, e
	}
	f, e := v.Open(ctx, fsc, dir, name, vfs.OpenHow{Flags: of})
	if e != 0 {
		return nil, st, e
	}
	vf, ok := f.(*vfs.File)
	if !ok {
		f.Close()
		return nil, st, unix.EACCES
	}
	// do_open_execat's deny_write_access: ETXTBSY while the file is open
	// for writing; no writer until the file (the process's exe) closes.
	if e := vf.DenyWrite(); e != 0 {
		vf.Close()
		return nil, st, e
	}
	return vf, st, 0
}

// parseShebang reads a "#!interpreter [arg]" line as Linux does: one
// optional argument, the rest of the line included, blanks trimmed.
func parseShebang(head []byte) (interp, arg string, ok bool) {
	if !bytes.HasPrefix(head, []byte("#!")) {
		return "", "", false
	}
	line := head[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	s := strings.Trim(string(line), " \t")
	if s == "" {
		return "", "", true
	}
	interp, arg, _ = strings.Cut(s, " ")
	if i := strings.IndexByte(interp, '\t'); i >= 0 {
		interp, arg = interp[:i], interp[i+1:]+" "+arg
	}
	return interp, strings.Trim(arg, " \t"), true
}

func (t *Thread) execve(dirfd int, pathAddr, argvAddr, envpAddr uint64, flags int) (uint64, unix.Errno) {
	if flags&^(unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	name, e := t.pathArg(pathAddr)
	if e != 0 {
		return 0, e
	}
	total := 0
	argv, e := t.stringVec(argvAddr, &total)
	if e != 0 {
		return 0, e
	}
	env, e := t.stringVec(envpAddr, &total)
	if e != 0 {
		return 0, e
	}
	filename := name
	if name == "" || name[0] != '/' && dirfd != unix.AT_FDCWD {
		filename = "/dev/fd/" + strconv.Itoa(dirfd)
		if name != "" {
			filename += "/" + name
		}
	}
	file, st, argv, e := t.openProgram(dirfd, name, filename, argv, flags)
	if e != 0 {
		return 0, e
	}
	if t.K.Loader == nil {
		file.Close()
		return 0, unix.ENOEXEC
	}
	g := t.Task.Group
	prog, e := t.K.Loader.Load(ExecRequest{
		Process: g, File: file, Size: st.Size, Filename: filename,
		Argv: argv, Env: env, Cred: t.cred(),
	})
	if e == 0 {
		e = t.becomeImage(prog, file, path.Base(filename), argv, env)
	}
	if e != 0 {
		file.Close()
	}
	return 0, e
}

// openProgram opens the ELF execve runs for name: a #! script's
// interpreter (its argument and the script's filename then go before
// argv[1:]), up to maxInterpDepth of them. The result is open for
// reading; argv is what the ELF gets.
func (t *Thread) openProgram(dirfd int, name, filename string, argv []string, flags int) (*vfs.File, vfs.Stat, []string, unix.Errno) {
	var file *vfs.File
	var st vfs.Stat
	var e unix.Errno
	for depth := 0; ; depth++ {
		if file, st, e = t.execFile(dirfd, name, flags); e != 0 {
			return nil, st, nil, e
		}
		head := make([]byte, BINPRM_BUF_SIZE)
		n, e := file.Pread(t.vctx(), head, 0)
		if e != 0 {
			file.Close()
			return nil, st, nil, e
		}
		head = head[:n]
		interp, arg, script := parseShebang(head)
		if !script {
			if !bytes.HasPrefix(head, []byte("\x7fELF")) {
				file.Close()
				return nil, st, nil, unix.ENOEXEC
			}
			break
		}
		file.Close()
		if depth == maxInterpDepth {
			return nil, st, nil, unix.ELOOP
		}
		if interp == "" {
			return nil, st, nil, unix.ENOEXEC
		}
		// The script's path replaces argv[0]; the interpreter and its
		// argument come first.
		next := []string{interp}
		if arg != "" {
			next = append(next, arg)
		}
		next = append(next, filename)
		if len(argv) > 1 {
			next = append(next, argv[1:]...)
		}
		argv = next
		name, dirfd, flags = interp, unix.AT_FDCWD, 0
	}
	return file, st, argv, 0
}

// becomeImage is execve's point of no return: the other threads end, the
// process moves to the new address space, close-on-exec descriptors
// close, handled signals go back to their defaults, and a vfork parent
// resumes. The process keeps file, for /proc/PID/exe.
func (t *Thread) becomeImage(prog *Program, file *vfs.File, comm string, argv, env []string) unix.Errno {
	g := t.Task.Group
	if g.KillOthers(t.Task) > 0 {
		for g.NumTasks() > 1 {
			if g.Exiting() {
				prog.MM.Release()
				return unix.EINTR // killed while waiting: the exec never happens
			}
			time.Sleep(time.Millisecond)
		}
	}
	old := g.MM
	t.cpu.SetFSBase(0)
	if err := t.cpu.SetSpace(prog.MM.Pager()); err != nil {
		prog.MM.Release()
		t.K.report("rumpgo: execve: %v", err)
		return unix.ENOMEM
	}
	g.MM = prog.MM
	old.Release()
	g.MarkExeced()
	g.FDs = g.FDs.Unshare()
	g.FDs.CloseOnExecAll()
	g.Signals.ResetForExec()
	t.Task.AltStack = posix.AltStack{Flags: posix.SS_DISABLE}
	t.Task.ClearChildTID, t.Task.RobustList, t.Task.RobustLen = 0, 0, 0
	t.attrs().Exec(comm)
	if fs := t.K.FS(); fs != nil {
		fs.SetExec(g, file, argv, env, prog.Images)
	}
	g.ReleaseVfork()
	*t.cpu.Regs() = prog.Regs
	return 0
}
