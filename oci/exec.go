package oci

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rumpgo/rumpgo/launch"
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/syscalls"
	"golang.org/x/sys/unix"
)

// exec starts a process in a running container's guest. The process's
// host side is a helper (execHelperCommand): it has the process's stdio
// (or terminal), hands it to the monitor over ROOT/ID/ctl.sock, passes
// on the signals it gets, and exits with the guest process's status — so
// the shim waits for, signals and reads the status of the helper's PID
// (--pid-file) as it would of runc's exec'd process.
//
// The control protocol, one connection per process: the helper sends one
// byte with the three descriptors (SCM_RIGHTS), then an execRequest as a
// JSON line; the monitor answers {"pid":N} or {"error":"..."}, then
// {"exit":CODE,"signal":SIG} when the process ends. The helper sends
// {"signal":N} lines meanwhile; when its connection closes early (the
// helper was SIGKILLed) the guest process gets SIGKILL.

// execHelperCommand is the hidden command exec starts its process with.
const execHelperCommand = "__exec"

// execRequest is what the helper asks the monitor for.
type execRequest struct {
	Args    []string          `json:"args"`
	Env     []string          `json:"env"`
	Cwd     string            `json:"cwd"`
	UID     uint32            `json:"uid"`
	GID     uint32            `json:"gid"`
	Groups  []uint32          `json:"groups,omitempty"`
	Rlimits map[int][2]uint64 `json:"rlimits,omitempty"`
}

// execMessage is every message of the protocol; fields are set by kind.
type execMessage struct {
	PID    int    `json:"pid,omitempty"`
	Error  string `json:"error,omitempty"`
	Exit   *int   `json:"exit,omitempty"`
	Signal int    `json:"signal,omitempty"`
}

// listenControl opens ROOT/ID/ctl.sock, where exec asks the monitor for
// a new process in the guest.
func listenControl(dir string) (*net.UnixListener, error) {
	return viaDir(dir, func(name string) (*net.UnixListener, error) {
		return net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
	})
}

// viaDir calls f with a short name for dir/ctl.sock: the state
// directories the shim picks are longer than a socket address holds
// (108 bytes), so the name goes through a descriptor of dir.
func viaDir[T any](dir string, f func(string) (T, error)) (T, error) {
	var zero T
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return zero, err
	}
	defer unix.Close(fd)
	return f("/proc/self/fd/" + strconv.Itoa(fd) + "/ctl.sock")
}

// serveControl answers exec requests for the guest until the monitor
// ends.
func serveControl(ln *net.UnixListener, g *launch.Guest) {
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go serveExec(conn, g)
	}
}

func serveExec(conn *net.UnixConn, g *launch.Guest) {
	defer conn.Close()
	enc := json.NewEncoder(conn)
	fail := func(err error) { enc.Encode(execMessage{Error: err.Error()}) }
	var b [1]byte
	oob := make([]byte, unix.CmsgSpace(3*4))
	_, oobn, _, _, err := conn.ReadMsgUnix(b[:], oob)
	if err != nil {
		return
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if r, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, r...)
			}
		}
	}
	if len(fds) != 3 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		fail(fmt.Errorf("exec: want 3 descriptors, got %d", len(fds)))
		return
	}
	r := bufio.NewReader(conn)
	var req execRequest
	line, err := r.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err != nil || len(req.Args) == 0 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		fail(fmt.Errorf("exec: bad request: %v", err))
		return
	}
	c := launch.SpawnConfig{Path: req.Args[0], Argv: req.Args, Env: req.Env, Cwd: req.Cwd,
		UID: req.UID, GID: req.GID, Groups: req.Groups, Stdio: [3]int{fds[0], fds[1], fds[2]}}
	for k, v := range req.Rlimits {
		if c.Rlimits == nil {
			c.Rlimits = map[int]posix.Rlimit{}
		}
		c.Rlimits[k] = posix.Rlimit{Cur: v[0], Max: v[1]}
	}
	p, err := g.Spawn(c) // owns the descriptors, also when it fails
	if err != nil {
		fail(errors.New(execErrText(err)))
		return
	}
	enc.Encode(execMessage{PID: p.PID()})
	go func() {
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				// The helper is gone (SIGKILL, or its shim): so is its process.
				p.Signal(unix.SIGKILL)
				return
			}
			var m execMessage
			if json.Unmarshal(line, &m) == nil && m.Signal > 0 && m.Signal <= 64 {
				p.Signal(unix.Signal(m.Signal))
			}
		}
	}()
	st := p.Wait()
	code := st.Code
	enc.Encode(execMessage{Exit: &code, Signal: st.Signal})
}

// execErrText words Spawn's errors as runc's exec does: dockerd takes
// its exit status from them (127 for "no such file or directory" and
// "executable file not found", 126 for "permission denied").
func execErrText(err error) string {
	const prefix = "exec failed: unable to start container process: "
	var se *syscalls.SpawnError
	if !errors.As(err, &se) {
		return err.Error()
	}
	switch {
	case se.Op == syscalls.SpawnCwd:
		return fmt.Sprintf(prefix+"chdir to cwd (%q) set in config.json failed: %v", se.Name, se.Errno)
	case se.Op == syscalls.SpawnLookup && se.Errno == unix.ENOENT && !strings.Contains(se.Name, "/"):
		return fmt.Sprintf(prefix+"exec: %q: executable file not found in $PATH", se.Name)
	case se.Op == syscalls.SpawnLookup && se.Errno == unix.ENOENT:
		return fmt.Sprintf(prefix+"exec: %q: stat %s: %v", se.Name, se.Name, se.Errno)
	case se.Op == syscalls.SpawnLookup || se.Op == syscalls.SpawnOpen:
		return fmt.Sprintf(prefix+"exec: %q: %v", se.Name, se.Errno)
	}
	return prefix + err.Error()
}

// exec is runc's exec command: the process comes from --process (a
// process.json, what the shim passes) or from the arguments after the ID.
func (c *cli) exec(args []string) int {
	fl := flag.NewFlagSet("exec", flag.ContinueOnError)
	processFile := fl.String("process", "", "process.json of the new process")
	fl.StringVar(processFile, "p", "", "process.json of the new process")
	detach := fl.Bool("detach", false, "return once the process runs")
	fl.BoolVar(detach, "d", false, "return once the process runs")
	pidFile := fl.String("pid-file", "", "write the process's PID here")
	consoleSocket := fl.String("console-socket", "", "AF_UNIX socket to send a terminal's master to")
	cwd := fl.String("cwd", "", "working directory")
	tty := fl.Bool("tty", false, "a terminal")
	fl.BoolVar(tty, "t", false, "a terminal")
	userFlag := fl.String("user", "", "UID[:GID]")
	fl.StringVar(userFlag, "u", "", "UID[:GID]")
	var envs multiFlag
	fl.Var(&envs, "env", "NAME=VALUE")
	fl.Var(&envs, "e", "NAME=VALUE")
	preserveFDs := fl.Int("preserve-fds", 0, "")
	for _, name := range []string{"process-label", "apparmor", "cgroup"} {
		fl.String(name, "", "accepted and ignored")
	}
	var caps multiFlag
	fl.Var(&caps, "cap", "accepted and ignored")
	fl.Var(&caps, "c", "accepted and ignored")
	fl.Bool("no-new-privs", false, "accepted and ignored")
	fl.Bool("ignore-paused", false, "accepted")
	fail := func(err error) int { c.logError(err); return 1 }
	pos, err := parse(fl, args)
	if err != nil {
		return fail(err)
	}
	if len(pos) < 1 {
		return fail(errors.New("exec: want ID [COMMAND...]"))
	}
	if *preserveFDs != 0 {
		return fail(errors.New("exec: --preserve-fds is not supported: the process gets stdin, stdout and stderr only"))
	}
	r, dir, err := c.lookup(pos[0])
	if err != nil {
		return fail(err)
	}
	if st := status(dir, r); st != StatusRunning {
		return fail(fmt.Errorf("exec: container %s is %s, not running", r.ID, st))
	}
	var pr Process
	if *processFile != "" {
		data, err := os.ReadFile(*processFile)
		if err != nil {
			return fail(fmt.Errorf("exec: --process: %v", err))
		}
		if err := json.Unmarshal(data, &pr); err != nil {
			return fail(fmt.Errorf("exec: --process %s: %v", *processFile, err))
		}
	} else {
		pr.Args, pr.Terminal, pr.Cwd = pos[1:], *tty, *cwd
		if spec, err := ReadSpec(r.Bundle); err == nil && spec.Process != nil {
			pr.Env = spec.Process.Env // runc: the container's environment, then --env
			if pr.Cwd == "" {
				pr.Cwd = spec.Process.Cwd
			}
		}
		pr.Env = append(pr.Env, envs...)
		if *userFlag != "" {
			u, g, _ := strings.Cut(*userFlag, ":")
			uid, err1 := strconv.ParseUint(u, 10, 32)
			gid, err2 := uint64(0), error(nil)
			if g != "" {
				gid, err2 = strconv.ParseUint(g, 10, 32)
			}
			if err1 != nil || err2 != nil {
				return fail(fmt.Errorf("exec: --user %q: want UID[:GID] numbers", *userFlag))
			}
			pr.User.UID, pr.User.GID = uint32(uid), uint32(gid)
		}
	}
	req, err := execRequestOf(&pr)
	if err != nil {
		return fail(err)
	}
	if pr.Terminal && *consoleSocket == "" {
		return fail(errors.New("exec: process.terminal is set but no --console-socket was given"))
	}
	helper, err := startExecHelper(dir, req, pr.Terminal, *consoleSocket, pr.ConsoleSize)
	if err != nil {
		return fail(err)
	}
	pid := helper.Process.Pid
	if *pidFile != "" {
		if err := writeFileAtomic(*pidFile, strconv.Itoa(pid)); err != nil {
			helper.Process.Kill()
			helper.Wait()
			return fail(fmt.Errorf("exec: --pid-file: %v", err))
		}
	}
	if *detach {
		helper.Process.Release() // the shim, a subreaper, reaps it
		return 0
	}
	helper.Wait()
	ws := helper.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// execRequestOf checks an exec process as create checks the container's.
func execRequestOf(pr *Process) (*execRequest, error) {
	if len(pr.Args) == 0 {
		return nil, errors.New("exec: process.args is empty")
	}
	req := &execRequest{Args: pr.Args, Env: pr.Env, Cwd: pr.Cwd, UID: pr.User.UID, GID: pr.User.GID}
	if req.Cwd == "" {
		req.Cwd = "/"
	}
	if !path.IsAbs(req.Cwd) {
		return nil, fmt.Errorf("exec: process.cwd %q: not an absolute path", pr.Cwd)
	}
	if !hasKey(req.Env, "PATH") {
		req.Env = append(req.Env, "PATH="+defaultPath)
	}
	if len(pr.User.AdditionalGids) > 0 {
		req.Groups = append([]uint32{pr.User.GID}, pr.User.AdditionalGids...)
	}
	for _, rl := range pr.Rlimits {
		n, ok := rlimits[rl.Type]
		if !ok {
			return nil, fmt.Errorf("exec: process.rlimits: unknown type %q", rl.Type)
		}
		if rl.Soft > rl.Hard {
			return nil, fmt.Errorf("exec: process.rlimits %s: soft %d above hard %d", rl.Type, rl.Soft, rl.Hard)
		}
		if req.Rlimits == nil {
			req.Rlimits = map[int][2]uint64{}
		}
		req.Rlimits[n] = [2]uint64{rl.Soft, rl.Hard}
	}
	return req, nil
}

// startExecHelper starts the helper with the process's stdio (a new
// terminal's slave when terminal) and waits until the guest process
// runs, or returns why it does not.
func startExecHelper(dir string, req *execRequest, terminal bool, consoleSocket string, size *Box) (*exec.Cmd, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer reqR.Close()
	defer reqW.Close()
	// The process's argv after --, for ps and docker top, as the monitor's.
	args := append([]string{dir, "--"}, req.Args...)
	return startHelper(helperStart{command: execHelperCommand, args: args, extra: []*os.File{reqR}, what: "exec",
		terminal: terminal, consoleSocket: consoleSocket, size: size,
		started: func() {
			reqR.Close()
			json.NewEncoder(reqW).Encode(req)
			reqW.Close()
		}})
}

// execSignals are the signals the helper passes to its guest process:
// the monitor's own set (a terminal's SIGWINCH and job control
// included).
var execSignals = launch.ForwardedAll

// execHelperMain is the exec'd process on the host: fd 3 says "ok" or
// the error once the guest process runs, fd 4 carries the request.
func execHelperMain(args []string) int {
	sync := openHelperSync()
	reqFile := os.NewFile(4, "request")
	fail := sync.fail
	if len(args) < 1 { // DIR [-- the process's argv, for ps]
		return fail(errors.New("exec helper: bad arguments"))
	}
	dir := args[0]
	var req execRequest
	if err := json.NewDecoder(reqFile).Decode(&req); err != nil {
		return fail(fmt.Errorf("exec helper: request: %v", err))
	}
	reqFile.Close()
	// Signals are noted before the process exists, so none is lost.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, execSignals...)
	conn, err := viaDir(dir, func(name string) (*net.UnixConn, error) {
		return net.DialUnix("unix", nil, &net.UnixAddr{Name: name, Net: "unix"})
	})
	if err != nil {
		return fail(fmt.Errorf("exec: the container's monitor does not answer: %v", err))
	}
	defer conn.Close()
	if _, _, err := conn.WriteMsgUnix([]byte{0}, unix.UnixRights(0, 1, 2), nil); err != nil {
		return fail(fmt.Errorf("exec: %v", err))
	}
	line, _ := json.Marshal(req)
	if _, err := conn.Write(append(line, '\n')); err != nil {
		return fail(fmt.Errorf("exec: %v", err))
	}
	dec := json.NewDecoder(bufio.NewReader(conn))
	var m execMessage
	if err := dec.Decode(&m); err != nil {
		return fail(fmt.Errorf("exec: the container's monitor ended: %v", err))
	}
	if m.Error != "" {
		return fail(errors.New(m.Error))
	}
	// Our own stdio now belongs to the guest process: close what we hold
	// of it, so its readers see its end, not ours.
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	for fd := 0; fd < 3 && devnull != nil; fd++ {
		unix.Dup2(int(devnull.Fd()), fd)
	}
	record := filepath.Join(dir, "execs", strconv.Itoa(os.Getpid()))
	os.MkdirAll(filepath.Dir(record), 0o700)
	os.WriteFile(record, []byte(strconv.Itoa(m.PID)), 0o600)
	defer os.Remove(record)
	sync.ok()
	go func() {
		enc := json.NewEncoder(conn)
		for s := range sigs {
			enc.Encode(execMessage{Signal: int(s.(syscall.Signal))})
		}
	}()
	var end execMessage
	if err := dec.Decode(&end); err != nil || end.Exit == nil {
		return 128 + int(unix.SIGKILL) // the guest ended under it
	}
	if end.Signal != 0 {
		return 128 + end.Signal
	}
	return *end.Exit
}

// execPIDs are the host PIDs of the container's exec processes.
func execPIDs(dir string) []int {
	ents, _ := os.ReadDir(filepath.Join(dir, "execs"))
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if _, ok := procStart(pid); ok {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
