package oci

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// create and exec each leave a process of this binary behind — the
// container's monitor (initCommand) and an exec'd process's helper
// (execHelperCommand) — that the shim then waits for and signals. Both
// are started the same way: in a session of their own, with the caller's
// stdio or a new terminal's slave (whose master goes to the console
// socket), and a pipe on fd 3 on which the child says "ok" once it is
// ready or why it is not.

// helperStart is how startHelper starts one.
type helperStart struct {
	command string   // initCommand or execHelperCommand
	args    []string // after the command
	extra   []*os.File
	// terminal: a new pty is the child's stdio, its master sent to
	// consoleSocket, sized as size says.
	terminal      bool
	consoleSocket string
	size          *Box
	// start starts cmd (nil is cmd.Start): in another network
	// namespace, say.
	start func(cmd *exec.Cmd) error
	// started runs once the child runs, before its answer is awaited.
	started func()
	// what names the child in errors: "create" or "exec".
	what string
}

// startHelper starts the child and returns it once it said "ok", or
// the reason it gave (the child is then reaped).
func startHelper(h helperStart) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer syncR.Close()
	cmd := exec.Command(self, append([]string{h.command}, h.args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = append([]*os.File{syncW}, h.extra...)
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true}
	if h.terminal {
		slave, err := newConsole(h.consoleSocket, h.size, h.what)
		if err != nil {
			syncW.Close()
			return nil, err
		}
		defer slave.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0
	}
	start := h.start
	if start == nil {
		start = (*exec.Cmd).Start
	}
	err = start(cmd)
	syncW.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: starting %s: %v", h.what, h.command, err)
	}
	if h.started != nil {
		h.started()
	}
	line, _ := bufio.NewReader(syncR).ReadString('\n')
	if line != "ok\n" {
		cmd.Process.Kill()
		cmd.Wait()
		msg := strings.TrimSpace(strings.TrimPrefix(line, "error: "))
		if msg == "" {
			msg = fmt.Sprintf("%s: %s ended during set-up", h.what, h.command)
		}
		return nil, errors.New(msg)
	}
	return cmd, nil
}

// helperSync is the child's end of fd 3.
type helperSync struct{ f *os.File }

func openHelperSync() helperSync { return helperSync{os.NewFile(3, "sync")} }

// fail says why the child cannot go on and returns its exit status.
func (s helperSync) fail(err error) int {
	fmt.Fprintf(s.f, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	return 1
}

// ok says the child is ready; the starter returns then.
func (s helperSync) ok() {
	fmt.Fprint(s.f, "ok\n")
	s.f.Close()
}

// newConsole makes a pseudo-terminal, sends its master to the console
// socket (as runc: one SCM_RIGHTS message) and returns the slave, which
// becomes the container's stdio.
func newConsole(socket string, size *Box, what string) (*os.File, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: terminal: %v", what, err)
	}
	defer master.Close()
	mfd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("%s: terminal: unlockpt: %v", what, err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("%s: terminal: ptsname: %v", what, err)
	}
	name := "/dev/pts/" + strconv.Itoa(n)
	slave, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: terminal: %v", what, err)
	}
	if size != nil && size.Width > 0 && size.Height > 0 {
		unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)})
	}
	conn, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		slave.Close()
		return nil, err
	}
	defer unix.Close(conn)
	if err := unix.Connect(conn, &unix.SockaddrUnix{Name: socket}); err != nil {
		slave.Close()
		return nil, fmt.Errorf("%s: --console-socket %s: %v", what, socket, err)
	}
	if err := unix.Sendmsg(conn, []byte(name), unix.UnixRights(mfd), nil, 0); err != nil {
		slave.Close()
		return nil, fmt.Errorf("%s: --console-socket %s: sending the terminal: %v", what, socket, err)
	}
	return slave, nil
}
