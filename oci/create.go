package oci

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// initCommand is the hidden command create starts the monitor with.
const initCommand = "__monitor"

func (c *cli) create(args []string) error {
	fl := flag.NewFlagSet("create", flag.ContinueOnError)
	bundle := fl.String("bundle", ".", "the bundle directory")
	fl.StringVar(bundle, "b", ".", "the bundle directory")
	pidFile := fl.String("pid-file", "", "write the container's PID here")
	consoleSocket := fl.String("console-socket", "", "AF_UNIX socket to send a terminal's master to")
	fl.Bool("no-pivot", false, "accepted")
	fl.Bool("no-new-keyring", false, "accepted")
	preserveFDs := fl.Int("preserve-fds", 0, "pass this many more descriptors (from 3)")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	id, err := oneID("create", pos)
	if err != nil {
		return err
	}
	if *preserveFDs != 0 {
		return errors.New("create: --preserve-fds is not supported: the guest gets stdin, stdout and stderr only")
	}
	if *bundle, err = filepath.Abs(*bundle); err != nil {
		return err
	}
	spec, err := ReadSpec(*bundle)
	if err != nil {
		return err
	}
	plan, err := Translate(spec, *bundle)
	if err != nil {
		return err
	}
	for _, w := range plan.Warnings {
		c.log("warning", w)
	}
	if plan.Terminal && *consoleSocket == "" {
		return errors.New("create: process.terminal is set but no --console-socket was given")
	}
	dir, err := containerDir(c.root, id)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.root, 0o711); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("container %s already exists", id)
		}
		return err
	}
	ok := false
	var mon *exec.Cmd
	defer func() {
		if !ok {
			if mon != nil && mon.Process != nil {
				mon.Process.Kill()
				mon.Wait()
			}
			os.RemoveAll(dir)
		}
	}()
	if err := unix.Mkfifo(filepath.Join(dir, "exec.fifo"), 0o600); err != nil {
		return fmt.Errorf("create: %v", err)
	}
	mon, err = startMonitor(dir, *bundle, plan, *consoleSocket, spec.Process.ConsoleSize)
	if err != nil {
		return err
	}
	start, _ := procStart(mon.Process.Pid)
	owner := ""
	if u, err := user.Current(); err == nil {
		owner = u.Username
	}
	r := &record{ID: id, PID: mon.Process.Pid, PIDStart: start, Bundle: *bundle, Rootfs: plan.Config.RootDir,
		Created: time.Now().UTC(), Annotations: spec.Annotations, Owner: owner}
	if spec.Hooks != nil {
		r.Poststart, r.Poststop = spec.Hooks.Poststart, spec.Hooks.Poststop
	}
	if err := writeRecord(dir, r); err != nil {
		return err
	}
	// prestart (deprecated) and createRuntime hooks run now, in the
	// runtime's namespaces, with the monitor's PID: Docker's
	// libnetwork-setkey moves the container's interface into its
	// network namespace here.
	st := r.state(dir)
	st.Status = StatusCreating
	for _, h := range append(append([]Hook(nil), plan.Hooks.Prestart...), plan.Hooks.CreateRuntime...) {
		if err := runHook(h, st); err != nil {
			return fmt.Errorf("create: %v", err)
		}
	}
	if *pidFile != "" {
		if err := writeFileAtomic(*pidFile, strconv.Itoa(r.PID)); err != nil {
			return fmt.Errorf("create: --pid-file: %v", err)
		}
	}
	ok = true
	return nil
}

func writeFileAtomic(path, text string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// startMonitor starts the container's monitor in the network namespace
// the plan names, with the container's stdio (or a new terminal), and
// waits until it has checked the bundle and waits for start.
func startMonitor(dir, bundle string, plan *Plan, consoleSocket string, size *Box) (*exec.Cmd, error) {
	// After --, the guest's command line: it does nothing here but show
	// in ps, and so in docker top (which lists the PIDs ps gives), what
	// the container runs.
	args := append([]string{"--bundle", bundle, dir, "--"}, plan.Config.Argv...)
	h := helperStart{command: initCommand, args: args, what: "create",
		terminal: plan.Terminal, consoleSocket: consoleSocket, size: size}
	switch plan.Net {
	case NetNew:
		h.start = func(cmd *exec.Cmd) error {
			cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWNET
			return cmd.Start()
		}
	case NetPath:
		h.start = func(cmd *exec.Cmd) error { return startInNetns(cmd, plan.NetnsPath) }
	}
	return startHelper(h)
}

// startInNetns starts cmd in the network namespace at path: from a
// thread that joined it and is never given back (children inherit the
// forking thread's namespace).
func startInNetns(cmd *exec.Cmd, path string) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- fmt.Errorf("network namespace %s: %v", path, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("joining network namespace %s: %v", path, err)
			return
		}
		done <- cmd.Start()
	}()
	return <-done
}
