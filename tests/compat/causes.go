package main

// causes says, per package, why tests that pass natively fail under
// rumpgo. Each was read from the failing tests' output (go run
// ./tests/compat -keep DIR keeps it); a package that starts failing for a
// new reason shows up in the list without a cause until one is written
// here.
var causes = map[string]string{
	"os/exec":       "the tests start processes (fork/execve answer ENOSYS until processes land, issue 8)",
	"testing":       "the tests run the test binary again as a child process (issue 8)",
	"os/signal":     "the tests run the test binary again (os.Executable, then exec: issue 8)",
	"syscall":       "the tests start processes (issue 8); TestPrlimitOtherProcess panics on the ENOSYS from fork, which ends the run",
	"os":            "processes (StartProcess, exec, Getppid, pidfd: issue 8), and two tests read /usr/bin, which test mode does not mount",
	"sync":          "TestMutexMisuse and TestIssue76126 run the test binary again (issue 8)",
	"crypto/tls":    "the FIPS tests run the test binary again (issue 8)",
	"net":           "TestSplice runs the test binary again (issue 8); TestUnixUnlink and TestProtocolListenError need unix sockets bound to a path to be files in the VFS",
	"runtime":       "the tests run the test binary again (issue 8); TestMincoreErrorSign wanted mincore, which answered ENOSYS in this run and exists since",
	"runtime/pprof": "TestCPUProfileWithFork and the exec-based tests need processes (issue 8)",
	"path/filepath": "TestBug3486 walks $GOROOT/src/unicode, outside the mounted module only when GOROOT differs",
}
