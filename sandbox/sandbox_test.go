package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The confined checks run in a child process (this test binary again):
// a sandbox cannot be lifted, and the test process must stay free.
const childEnv = "RUMPGO_SANDBOX_TEST_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(child(dir))
	}
	os.Exit(m.Run())
}

// child confines itself to dir and tries what must fail and what must not,
// one line per attempt.
func child(dir string) int {
	st, err := Install(Policy{ReadOnly: []string{filepath.Join(dir, "ro")}, ReadWrite: []string{filepath.Join(dir, "rw")}})
	if err != nil {
		fmt.Println("install:", err)
		return 1
	}
	fmt.Println("status:", st)
	errno := func(err error) string {
		if err == nil {
			return "ok"
		}
		var e unix.Errno
		for u := err; u != nil; {
			if x, ok := u.(unix.Errno); ok {
				e = x
				break
			}
			w, ok := u.(interface{ Unwrap() error })
			if !ok {
				break
			}
			u = w.Unwrap()
		}
		if e == 0 {
			return err.Error()
		}
		return unix.ErrnoName(e)
	}
	try := func(name string, err error) { fmt.Printf("%s: %s\n", name, errno(err)) }
	try("execve", unix.Exec("/bin/true", []string{"true"}, nil))
	_, _, e := unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0)
	try("ptrace", errOrNil(e))
	try("mount", unix.Mount("none", dir, "tmpfs", 0, ""))
	_, _, e = unix.RawSyscall(unix.SYS_FORK, 0, 0, 0)
	try("fork", errOrNil(e))
	try("exec.Command", exec.Command("/bin/true").Run())
	_, _, e = unix.RawSyscall(unix.SYS_BPF, 0, 0, 0)
	try("bpf", errOrNil(e))
	c := byte('x')
	_, _, e = unix.RawSyscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafe.Pointer(&c)))
	try("ioctl TIOCSTI", errOrNil(e))
	_, _, e = unix.RawSyscall(unix.SYS_IOCTL, 0, unix.TIOCINQ, uintptr(unsafe.Pointer(new(int32))))
	if e == unix.EPERM {
		try("ioctl FIONREAD", e)
	}
	_, _, e = unix.RawSyscall(unix.SYS_IOCTL, 0, 0x40049409, 0) // BTRFS_IOC_CLONE
	try("ioctl btrfs", errOrNil(e))
	_, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	try("socket AF_PACKET", err)
	try("kill init", unix.Kill(1, 0))
	// Files: from many threads, each must be confined.
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			for _, name := range []string{"/etc/passwd", filepath.Join(dir, "secret"), filepath.Join(dir, "ro", "file")} {
				_, err := os.ReadFile(name)
				mu.Lock()
				results[name+" "+errno(err)]++
				mu.Unlock()
			}
			err := os.WriteFile(filepath.Join(dir, "ro", "new"), nil, 0o644)
			mu.Lock()
			results["write ro "+errno(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	for k := range results {
		fmt.Println("open", k)
	}
	try("write rw", os.WriteFile(filepath.Join(dir, "rw", "new"), []byte("x"), 0o644))
	return 0
}

func errOrNil(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func TestForbiddenHostSyscalls(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ro"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "rw"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ro", "file"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret"), []byte("x"), 0o644))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err)
	got := string(out)
	for _, want := range []string{
		"execve: EPERM", "ptrace: EPERM", "mount: EPERM", "fork: EPERM", "bpf: EPERM",
		"ioctl btrfs: EPERM", "ioctl TIOCSTI: EPERM", "socket AF_PACKET: EPERM", "kill init: EPERM",
		"write rw: ok",
	} {
		require.Contains(t, got, want+"\n")
	}
	require.NotContains(t, got, "exec.Command: ok")
	require.NotContains(t, got, "ioctl FIONREAD")
	if strings.Contains(got, "landlock (ABI") {
		for _, want := range []string{
			"open /etc/passwd EACCES", "open " + filepath.Join(dir, "secret") + " EACCES",
			"open " + filepath.Join(dir, "ro", "file") + " ok", "open write ro EACCES",
		} {
			require.Contains(t, got, want)
		}
		// No thread escaped: each attempt of the 32 threads got the same.
		require.NotContains(t, got, "open /etc/passwd ok")
		require.NotContains(t, got, "open write ro ok")
	}
	require.FileExists(t, filepath.Join(dir, "rw", "new"))
	require.NoFileExists(t, filepath.Join(dir, "ro", "new"))
}

func TestFilterShape(t *testing.T) {
	f := Filter()
	require.Less(t, len(f), 1024, "BPF_MAXINSNS")
	require.Equal(t, uint32(unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM)), f[len(f)-1].K, "default deny")
	for _, nr := range Allowed {
		for _, bad := range []uintptr{unix.SYS_EXECVE, unix.SYS_EXECVEAT, unix.SYS_PTRACE, unix.SYS_MOUNT,
			unix.SYS_BPF, unix.SYS_FORK, unix.SYS_VFORK, unix.SYS_UNSHARE, unix.SYS_SETNS,
			unix.SYS_PROCESS_VM_WRITEV, unix.SYS_KEXEC_LOAD, unix.SYS_INIT_MODULE} {
			require.NotEqual(t, bad, nr)
		}
	}
}
