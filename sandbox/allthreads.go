package sandbox

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock before ABI 8 confines only the thread that calls
// landlock_restrict_self, and the Go runtime's own all-threads syscall
// (syscall.AllThreadsSyscall) refuses to run in a cgo binary, which rumpgo
// is (net, os/user). So onAllThreads does what glibc does for setuid:
// it installs a signal handler written in assembly (allthreads_amd64.s)
// for one real-time signal, sends the signal to every thread of
// /proc/self/task, waits until each has run the handler, and repeats with
// the threads created meanwhile (by threads not yet confined) until none
// is left; then it puts the old handler back.

const llSignal = 62 // a real-time signal neither Go nor glibc uses

var (
	llFD    int64
	llCount int64
	llTIDs  [1024]uint64
)

func llHandler()
func llRestorer()
func llAddrs() (handler, restorer uintptr)

// sigactionK is the kernel's struct sigaction on x86-64.
type sigactionK struct {
	handler, flags, restorer, mask uint64
}

const (
	saSiginfo  = 0x4
	saRestorer = 0x04000000
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
)

func onAllThreads(fd int) error {
	// The thread list is read through a descriptor opened now, before any
	// thread is confined: a confined thread may not open /proc/self/task
	// again. (The rule allows /proc/<pid>, but procfs makes a new inode for
	// it whenever its dentry was evicted, under load say, and the new one
	// carries no rule: 1 start in ~280 failed with EACCES.) Landlock checks
	// at open only, so reading the open directory again is always allowed.
	task, err := os.Open("/proc/self/task")
	if err != nil {
		return fmt.Errorf("sandbox: listing threads: %v", err)
	}
	defer task.Close()
	atomic.StoreInt64(&llFD, int64(fd))
	atomic.StoreInt64(&llCount, 0)
	for i := range llTIDs {
		atomic.StoreUint64(&llTIDs[i], 0)
	}
	// os/signal keeps one thread (its sigM) with every signal blocked that
	// no Notify asked for; asking for this one unblocks it there too. Go's
	// handler, installed by Notify, is then replaced by ours until the end.
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.Signal(llSignal))
	defer signal.Reset(syscall.Signal(llSignal))
	h, r := llAddrs()
	act := sigactionK{handler: uint64(h), flags: saSiginfo | saRestorer | saOnstack | saRestart, restorer: uint64(r)}
	var old sigactionK
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, llSignal, uintptr(unsafe.Pointer(&act)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return fmt.Errorf("sandbox: rt_sigaction: %v", e)
	}
	defer unix.RawSyscall6(unix.SYS_RT_SIGACTION, llSignal, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)

	pid := os.Getpid()
	done := map[int]bool{}
	seen := 0 // entries of llTIDs read
	for round := 0; round < 20; round++ {
		tids, err := threads(task)
		if err != nil {
			return err
		}
		var sent []int
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			if unix.Tgkill(pid, tid, unix.Signal(llSignal)) == nil {
				sent = append(sent, tid)
			}
		}
		if len(sent) == 0 {
			return nil // every thread is confined
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			n := int(atomic.LoadInt64(&llCount))
			if n > len(llTIDs) {
				return fmt.Errorf("sandbox: more than %d threads", len(llTIDs))
			}
			for ; seen < n; seen++ {
				v := atomic.LoadUint64(&llTIDs[seen])
				for v == 0 { // counted, not stored yet
					time.Sleep(time.Microsecond)
					v = atomic.LoadUint64(&llTIDs[seen])
				}
				tid, ret := int(v>>32), int32(uint32(v))
				if ret < 0 {
					return fmt.Errorf("sandbox: landlock_restrict_self on thread %d: %v", tid, unix.Errno(-ret))
				}
				done[tid] = true
			}
			all := true
			for _, tid := range sent {
				if !done[tid] && alive(pid, tid) {
					all = false
				}
			}
			if all {
				break
			}
			if time.Now().After(deadline) {
				for _, tid := range sent {
					if !done[tid] && alive(pid, tid) {
						return fmt.Errorf("sandbox: thread %d did not take the Landlock signal (%s)", tid, sigState(tid))
					}
				}
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	return fmt.Errorf("sandbox: threads kept appearing while confining them")
}

// threads lists the process's threads from dir, /proc/self/task opened
// before confinement, read again from its start.
func threads(dir *os.File) ([]int, error) {
	if _, err := dir.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("sandbox: listing threads: %v", err)
	}
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listing threads: %v", err)
	}
	var tids []int
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

func alive(pid, tid int) bool { return unix.Tgkill(pid, tid, 0) == nil }

// sigState is a thread's signal masks, for the error of a thread that
// cannot be confined.
func sigState(tid int) string {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "SigBlk") || strings.HasPrefix(l, "SigPnd") || strings.HasPrefix(l, "State") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}
