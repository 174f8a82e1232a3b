package syscalls

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// This file starts a process in a running machine from outside it: what
// an OCI runtime's exec does (runc joins the container's namespaces and
// execs there). The process has no parent in the machine — getppid says
// 0, as for a process that entered a PID namespace from outside — so no
// one in the guest waits for it; whoever spawned it watches Dying.

// SpawnRequest is the process Spawn starts.
type SpawnRequest struct {
	// Path is the program: absolute, relative to Cwd, or a name looked
	// up in Env's PATH (defaultSpawnPath without one) in the guest's
	// file systems, as runc's exec does.
	Path string
	Argv []string
	Env  []string
	Cwd  string // absolute; "" is /
	// UID, GID and Groups are the process's credentials (Groups nil is
	// GID alone).
	UID, GID uint32
	Groups   []uint32
	// FDs are its descriptors; Spawn owns the table from then on.
	FDs *posix.FDTable
	// Rlimits are set over the first process's limits (RLIMIT_* ->
	// value).
	Rlimits map[int]posix.Rlimit
}

// SpawnError is why Spawn could not start the program: the step that
// failed, the name it failed on and execve's answer there.
type SpawnError struct {
	Op    string // SpawnCwd, SpawnLookup, SpawnOpen or SpawnLoad
	Name  string
	Errno unix.Errno
}

// SpawnError's steps.
const (
	SpawnCwd    = "working directory" // Name is the directory
	SpawnLookup = "lookup"            // Name is the program as asked, looked up in PATH
	SpawnOpen   = "open"              // Name is the program's path (a #! interpreter's failure too)
	SpawnLoad   = "load"              // the ELF could not be loaded
)

func (e *SpawnError) Error() string { return "spawn: " + e.Op + " " + e.Name + ": " + e.Errno.Error() }
func (e *SpawnError) Unwrap() error { return e.Errno }

// defaultSpawnPath is the PATH looked in when the environment has none
// (runc's and Docker's default).
const defaultSpawnPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spawn starts the program of req as a new process of the machine and
// returns it running. Errors say what execve would have answered
// (ENOENT for a program not found, EACCES, ENOEXEC, ...), wrapped.
func (k *Kernel) Spawn(req SpawnRequest) (*posix.ThreadGroup, error) {
	fs := k.FS()
	if fs == nil || k.Loader == nil {
		return nil, errors.New("spawn: the machine has no file systems or loader")
	}
	g, e := k.Procs.NewProcess(nil, 0)
	if e != 0 {
		if req.FDs != nil {
			req.FDs.Release()
		}
		return nil, fmt.Errorf("spawn: %w (the process limit)", e)
	}
	abandon := func(err error) (*posix.ThreadGroup, error) {
		k.releaseProcess(g)
		g.Discard()
		return nil, err
	}
	g.FDs = req.FDs
	if g.FDs == nil {
		g.FDs = posix.NewFDTable()
	}
	if len(req.Argv) == 0 {
		return abandon(errors.New("spawn: empty argv"))
	}
	if init := k.Procs.Group(1); init != nil {
		g.Limits = init.Limits.Fork()
	}
	for r, v := range req.Rlimits {
		if _, e := g.Limits.Set(r, v, true); e != 0 {
			return abandon(fmt.Errorf("spawn: rlimit %d: %w", r, e))
		}
	}
	groups := req.Groups
	if len(groups) == 0 {
		groups = []uint32{req.GID}
	}
	posix.SetAttrs(g, posix.NewProcAttrs(req.UID, req.GID, groups, path.Base(req.Argv[0])))
	task, ok := g.NewTask()
	if !ok {
		return abandon(errors.New("spawn: no task"))
	}
	t := k.NewThread(task)
	cwd := req.Cwd
	if cwd == "" {
		cwd = "/"
	}
	fsc := fs.Context(g)
	p, e := fs.VFS.Lookup(t.vctx(), fsc, vfs.Path{}, cwd, vfs.LookupFollow|vfs.LookupDirectory)
	if e != 0 {
		task.Exit(0)
		return abandon(&SpawnError{Op: SpawnCwd, Name: cwd, Errno: e})
	}
	fsc.SetCwd(p)
	name, e := t.lookPath(req.Path, req.Env)
	if e != 0 {
		task.Exit(0)
		return abandon(&SpawnError{Op: SpawnLookup, Name: req.Path, Errno: e})
	}
	file, st, argv, e := t.openProgram(unix.AT_FDCWD, name, name, req.Argv, 0)
	if e != 0 {
		task.Exit(0)
		return abandon(&SpawnError{Op: SpawnOpen, Name: name, Errno: e})
	}
	prog, e := k.Loader.Load(ExecRequest{Process: g, File: file, Size: st.Size, Filename: name,
		Argv: argv, Env: req.Env, Cred: t.cred()})
	if e != 0 {
		file.Close()
		task.Exit(0)
		return abandon(&SpawnError{Op: SpawnLoad, Name: name, Errno: e})
	}
	g.MM = prog.MM
	g.MarkExeced()
	fs.SetExec(g, file, argv, req.Env, prog.Images)
	if err := k.Machine.Start(t, prog.MM.Pager(), prog.Regs, 0); err != nil {
		task.Exit(0)
		return abandon(fmt.Errorf("spawn: starting %s: %w", name, err))
	}
	return g, nil
}

// lookPath finds name as execvp would with env's PATH: a name with a
// slash is itself; otherwise the first PATH entry holding an executable
// of that name (EACCES when only non-executable ones were found).
func (t *Thread) lookPath(name string, env []string) (string, unix.Errno) {
	if strings.Contains(name, "/") {
		// As Go's LookPath (runc's): the file itself must be there.
		f, _, e := t.execFile(unix.AT_FDCWD, name, 0)
		if e != 0 {
			return "", e
		}
		f.Close()
		return name, 0
	}
	pathEnv := defaultSpawnPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	denied := false
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, name)
		f, _, e := t.execFile(unix.AT_FDCWD, p, 0)
		if e == 0 {
			f.Close()
			return p, 0
		}
		if e == unix.EACCES {
			denied = true
		}
	}
	if denied {
		return "", unix.EACCES
	}
	return "", unix.ENOENT
}
