package oci

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// engine is a daemon a test starts for itself — dockerd or containerd —
// with everything it keeps under dir, its log in dir/NAME.log, stopped
// by its PID when the test ends.
type engine struct {
	t    *testing.T
	name string
	dir  string
	cmd  *exec.Cmd
}

// startEngine runs bin with args and waits until ready says it answers.
func startEngine(t *testing.T, name, dir, bin string, args []string, ready func() bool) *engine {
	t.Helper()
	e := &engine{t: t, name: name, dir: dir}
	logf, err := os.Create(e.logPath())
	require.NoError(t, err)
	defer logf.Close()
	e.cmd = exec.Command(bin, args...)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	require.NoError(t, e.cmd.Start())
	t.Cleanup(e.stop)
	for deadline := time.Now().Add(60 * time.Second); !ready(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(e.logPath())
			t.Fatalf("%s did not answer within 60s; its log:\n%s", name, log)
		}
	}
	return e
}

func (e *engine) logPath() string { return filepath.Join(e.dir, e.name+".log") }

// stop ends the daemon by its PID, then lets go of whatever it left
// mounted in the test's mount namespace; a failed test gets its log's
// end.
func (e *engine) stop() {
	e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		e.cmd.Process.Kill()
		<-done
	}
	unmountUnder(e.dir)
	if e.t.Failed() {
		log, _ := os.ReadFile(e.logPath())
		lines := strings.Split(string(log), "\n")
		e.t.Logf("%s's log, last lines:\n%s", e.name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}

// unmountUnder detaches every mount below dir (this test's namespace).
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) > 4 && strings.HasPrefix(fl[4], dir+"/") {
			points = append(points, fl[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// runClient runs an engine's client (docker, ctr) with env added, for
// three minutes at most.
func runClient(env []string, stdin io.Reader, bin string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code, err := exitCode(cmd.Run())
	if err != nil {
		errb.WriteString(err.Error())
	}
	return result{out.String(), errb.String(), code}
}

// exitCode is a finished command's exit status, or -1 and the error
// when it did not run.
func exitCode(err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
