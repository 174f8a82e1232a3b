// Package oci is rumpgo's OCI runtime: the command line of the
// runtime-spec that containerd's runc shim (io.containerd.runc.v2, which
// Docker uses too) drives — create, start, state, kill, delete, features,
// ps, exec and the global flags --root, --log, --log-format and
// --systemd-cgroup — so that `dockerd --add-runtime rumpgo=PATH` or
// containerd's BinaryName runs each container as a rumpgo guest.
//
// create starts the container's monitor: a process of this binary that
// becomes the container's PID (the shim waits for it and takes its exit
// status as the container's) and boots the guest with launch.Run once
// start says so. Signals sent to it (kill) go to the guest. Its network
// namespace is the container's: when the spec names one, the guest owns
// that namespace's interface (netns.go).
package oci

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Version is what --version prints.
const Version = "rumpgo-oci 0.1 (runtime-spec " + specVersion + ")"

// cli holds the global flags.
type cli struct {
	root      string
	logPath   string
	logFormat string
	stdout    io.Writer
	stderr    io.Writer
}

const usage = `usage: rumpgo-oci [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...
commands:
  create --bundle DIR [--pid-file FILE] [--console-socket SOCK] ID
  start ID
  state ID
  kill [--all] ID [SIGNAL]
  delete [--force] ID
  exec [--process FILE] [--detach] [--pid-file FILE] [--console-socket SOCK] ID [ARGS...]
  ps [--format table|json] ID
  pause ID, resume ID
  features
`

// Main runs the runtime's command line and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	fl := flag.NewFlagSet("rumpgo-oci", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fl.StringVar(&c.root, "root", DefaultRoot, "where container state lives")
	fl.StringVar(&c.logPath, "log", "", "log file")
	fl.StringVar(&c.logFormat, "log-format", "text", "text or json")
	fl.Bool("systemd-cgroup", false, "accepted: cgroups do not bound a rumpgo guest (its limits are the VM's)")
	fl.Bool("debug", false, "accepted")
	fl.String("criu", "", "accepted: checkpointing is not supported")
	fl.String("rootless", "", "accepted")
	version := fl.Bool("version", false, "print the version")
	fl.BoolVar(version, "v", false, "print the version")
	if err := fl.Parse(args); err != nil {
		fmt.Fprintf(stderr, "rumpgo-oci: %v\n%s", err, usage)
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, Version)
		fmt.Fprintln(stdout, "spec: "+specVersion)
		return 0
	}
	rest := fl.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, "rumpgo-oci: missing command\n"+usage)
		return 2
	}
	cmd, rest := rest[0], rest[1:]
	var err error
	switch cmd {
	case "create":
		err = c.create(rest)
	case "run":
		err = c.run(rest)
	case "start":
		err = c.start(rest)
	case "state":
		err = c.state(rest)
	case "kill":
		err = c.kill(rest)
	case "delete":
		err = c.delete(rest)
	case "features":
		err = c.features()
	case "ps":
		err = c.ps(rest)
	case "exec":
		return c.exec(rest)
	case initCommand:
		return monitorMain(rest)
	case execHelperCommand:
		return execHelperMain(rest)
	case "list":
		err = c.list()
	case "pause":
		err = c.pause(rest, true)
	case "resume":
		err = c.pause(rest, false)
	case "checkpoint", "restore", "update", "events":
		err = fmt.Errorf("%s: not supported by rumpgo: %s", cmd, refused[cmd])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		c.logError(err)
		return 1
	}
	return 0
}

// refused says why each command rumpgo does not have is refused.
var refused = map[string]string{
	"checkpoint": "a running guest's memory and devices cannot be saved (there is no CRIU for a VM)",
	"restore":    "nothing can be checkpointed to restore from",
	"update":     "a guest's memory, CPU count and process limit are fixed when it boots",
	"events":     "the guest's memory and CPU use and OOM kills are inside the VM, where no cgroup counts them",
}

// logError reports err on stderr and in --log, where the shim reads the
// reason a command failed.
func (c *cli) logError(err error) {
	msg := err.Error()
	fmt.Fprintf(c.stderr, "rumpgo-oci: %s\n", msg)
	c.log("error", msg)
}

func (c *cli) log(level, msg string) {
	if c.logPath == "" {
		return
	}
	f, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if c.logFormat == "json" {
		line, _ := json.Marshal(map[string]string{"level": level, "msg": msg, "time": now})
		f.Write(append(line, '\n'))
		return
	}
	fmt.Fprintf(f, "time=%q level=%s msg=%q\n", now, level, msg)
}

// parse parses a command's flags; flags may come after the ID too, as
// urfave/cli (runc's parser) allows.
func parse(fl *flag.FlagSet, args []string) ([]string, error) {
	fl.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %v", fl.Name(), err)
		}
		args = fl.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
		if fl.Name() == "exec" && len(pos) >= 1 {
			return append(pos, args...), nil // exec: ID then the command's own arguments
		}
	}
}

func oneID(cmd string, pos []string) (string, error) {
	if len(pos) != 1 {
		return "", fmt.Errorf("%s: want exactly one container ID, got %d arguments", cmd, len(pos))
	}
	return pos[0], nil
}

// lookup reads container id's record; dir is its state directory, ""
// for an invalid ID.
func (c *cli) lookup(id string) (*record, string, error) {
	dir, err := containerDir(c.root, id)
	if err != nil {
		return nil, "", err
	}
	r, err := readRecord(dir)
	return r, dir, err
}

// signalContainer sends sig to the container's monitor and, with execs, to its
// exec'd processes' helpers.
func signalContainer(dir string, r *record, sig unix.Signal, execs bool) error {
	if execs {
		for _, pid := range execPIDs(dir) {
			unix.Kill(pid, sig)
		}
	}
	if err := unix.Kill(r.PID, sig); err != nil {
		return fmt.Errorf("kill %d: %v", r.PID, err)
	}
	return nil
}

// container parses a command that takes flags and one container ID, and
// looks the container up.
func (c *cli) container(fl *flag.FlagSet, args []string) (*record, string, error) {
	pos, err := parse(fl, args)
	if err != nil {
		return nil, "", err
	}
	id, err := oneID(fl.Name(), pos)
	if err != nil {
		return nil, "", err
	}
	return c.lookup(id)
}

func (c *cli) run(args []string) error {
	return errors.New("run: use create then start (the runc shim does)")
}

func (c *cli) start(args []string) error {
	r, dir, err := c.container(flag.NewFlagSet("start", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	id := r.ID
	switch st := status(dir, r); st {
	case StatusCreated:
	case StatusStopped:
		return fmt.Errorf("container %s is stopped: cannot start it", id)
	default:
		return fmt.Errorf("container %s is %s: cannot start it again", id, st)
	}
	if err := releaseMonitor(dir, r); err != nil {
		return err
	}
	for _, h := range r.Poststart {
		if err := runHook(h, r.state(dir)); err != nil {
			c.log("warning", fmt.Sprintf("poststart hook: %v", err))
		}
	}
	return nil
}

// releaseMonitor lets a created container's monitor go on: it waits in
// an open of exec.fifo for writing, which this open for reading
// completes; the byte it then writes says it is past the handshake.
func releaseMonitor(dir string, r *record) error {
	fifo := filepath.Join(dir, "exec.fifo")
	fd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("start: %v", err)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var b [1]byte
		n, err := unix.Read(fd, b[:])
		if n == 1 {
			break
		}
		if err != nil && err != unix.EAGAIN {
			return fmt.Errorf("start: reading exec.fifo: %v", err)
		}
		if !r.alive() {
			return errors.New("start: the container's monitor ended before it started")
		}
		if time.Now().After(deadline) {
			return errors.New("start: the container's monitor did not answer within 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return os.Remove(fifo)
}

// pause freezes a running container as runc's freezer cgroup does:
// SIGSTOP stops the monitor, every vCPU and device thread of the guest
// with it; resume continues it with SIGCONT, which the monitor keeps from
// the guest (the resuming file says it is resume's).
func (c *cli) pause(args []string, pause bool) error {
	name := map[bool]string{true: "pause", false: "resume"}[pause]
	r, dir, err := c.container(flag.NewFlagSet(name, flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	want, sig, then := StatusRunning, unix.SIGSTOP, StatusPaused
	if !pause {
		want, sig, then = StatusPaused, unix.SIGCONT, StatusRunning
		if err := os.WriteFile(filepath.Join(dir, "resuming"), nil, 0o600); err != nil {
			return fmt.Errorf("resume: %v", err)
		}
	}
	if st := status(dir, r); st != want {
		os.Remove(filepath.Join(dir, "resuming"))
		return fmt.Errorf("container %s is %s, not %s", r.ID, st, want)
	}
	if err := signalContainer(dir, r, sig, false); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	// Done once it left want: it may have stopped meanwhile (a signal
	// sent while paused ends it as soon as it runs).
	for deadline := time.Now().Add(10 * time.Second); status(dir, r) == want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: container %s did not become %s within 10s", name, r.ID, then)
		}
	}
	return nil
}

func (c *cli) state(args []string) error {
	r, dir, err := c.container(flag.NewFlagSet("state", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(r.state(dir), "", "  ")
	fmt.Fprintf(c.stdout, "%s\n", out)
	return nil
}

func (c *cli) list() error {
	ents, _ := os.ReadDir(c.root)
	fmt.Fprintln(c.stdout, "ID\tPID\tSTATUS\tBUNDLE")
	for _, e := range ents {
		dir := filepath.Join(c.root, e.Name())
		if r, err := readRecord(dir); err == nil {
			fmt.Fprintf(c.stdout, "%s\t%d\t%s\t%s\n", r.ID, r.PID, status(dir, r), r.Bundle)
		}
	}
	return nil
}

func (c *cli) kill(args []string) error {
	fl := flag.NewFlagSet("kill", flag.ContinueOnError)
	all := fl.Bool("all", false, "signal every process of the container")
	fl.BoolVar(all, "a", false, "signal every process of the container")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return errors.New("kill: want ID [SIGNAL]")
	}
	sig := unix.SIGTERM
	if len(pos) == 2 {
		if sig, err = signalOf(pos[1]); err != nil {
			return fmt.Errorf("kill: %v", err)
		}
	}
	r, dir, err := c.lookup(pos[0])
	if err != nil {
		return err
	}
	if !r.alive() {
		return fmt.Errorf("container %s is not running", r.ID)
	}
	return signalContainer(dir, r, sig, *all)
}

func (c *cli) delete(args []string) error {
	fl := flag.NewFlagSet("delete", flag.ContinueOnError)
	force := fl.Bool("force", false, "kill the container first")
	fl.BoolVar(force, "f", false, "kill the container first")
	r, dir, err := c.container(fl, args)
	if err != nil {
		if _, serr := os.Stat(dir); dir != "" && (*force || serr == nil) {
			return os.RemoveAll(dir) // a half-made container's directory, or nothing
		}
		return err
	}
	id := r.ID
	if st := status(dir, r); st == StatusRunning && !*force {
		return fmt.Errorf("container %s is running: stop it first or use --force", id)
	} else if st != StatusStopped {
		signalContainer(dir, r, unix.SIGKILL, true)
		deadline := time.Now().Add(10 * time.Second)
		for r.alive() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if r.alive() {
			return fmt.Errorf("delete: container %s's monitor (pid %d) did not end after SIGKILL", id, r.PID)
		}
	}
	st := r.state(dir)
	st.Status = StatusStopped
	for _, h := range r.Poststop {
		if err := runHook(h, st); err != nil {
			c.log("warning", fmt.Sprintf("poststop hook: %v", err))
		}
	}
	return os.RemoveAll(dir)
}

func (c *cli) features() error {
	f := map[string]any{
		"ociVersionMin": "1.0.0",
		"ociVersionMax": "1.2.0",
		"hooks":         []string{"prestart", "createRuntime", "poststart", "poststop"},
		"mountOptions":  []string{"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "size", "mode"},
		"linux": map[string]any{
			"namespaces":   []string{"network", "pid", "ipc", "uts", "mount", "cgroup"},
			"capabilities": []string{},
			"cgroup":       map[string]any{"v1": false, "v2": false, "systemd": false, "systemdUser": false},
			"seccomp":      map[string]any{"enabled": false},
			"apparmor":     map[string]any{"enabled": false},
			"selinux":      map[string]any{"enabled": false},
		},
		"annotations": map[string]string{"io.github.rumpgo.runtime": "rumpgo-oci"},
	}
	for k, v := range annotations {
		f["annotations"].(map[string]string)[k] = v
	}
	out, _ := json.MarshalIndent(f, "", "  ")
	fmt.Fprintf(c.stdout, "%s\n", out)
	return nil
}

func (c *cli) ps(args []string) error {
	fl := flag.NewFlagSet("ps", flag.ContinueOnError)
	format := fl.String("format", "table", "table or json")
	fl.StringVar(format, "f", "table", "table or json")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 {
		return errors.New("ps: want ID")
	}
	r, dir, err := c.lookup(pos[0])
	if err != nil {
		return err
	}
	var pids []int
	if r.alive() {
		pids = append([]int{r.PID}, execPIDs(dir)...)
	}
	switch *format {
	case "json":
		if pids == nil {
			pids = []int{}
		}
		out, _ := json.Marshal(pids)
		fmt.Fprintf(c.stdout, "%s\n", out)
		return nil
	case "table":
		if len(pids) == 0 {
			fmt.Fprintln(c.stdout, "PID")
			return nil
		}
		list := make([]string, len(pids))
		for i, p := range pids {
			list[i] = strconv.Itoa(p)
		}
		cmd := exec.Command("ps", append([]string{"-f", "-p", strings.Join(list, ",")}, pos[1:]...)...)
		cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
		return cmd.Run()
	}
	return fmt.Errorf("ps: --format %s: want table or json", *format)
}

// runHook runs one hook with the container's state on its stdin, as the
// runtime-spec says.
func runHook(h Hook, st State) error {
	data, _ := json.Marshal(st)
	cmd := exec.Command(h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	cmd.Stdin = strings.NewReader(string(data))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("hook %s: %v", h.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timeout := time.Duration(1<<63 - 1)
	if h.Timeout != nil && *h.Timeout > 0 {
		timeout = time.Duration(*h.Timeout) * time.Second
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("hook %s: %v: %s", h.Path, err, strings.TrimSpace(out.String()))
		}
		return nil
	case <-time.After(timeout):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("hook %s: timed out after %v", h.Path, timeout)
	}
}
