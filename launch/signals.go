package launch

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rumpgo/rumpgo/posix"
)

// forwarded are the host signals a user sends to a service — Ctrl-C, a
// supervisor's stop, a reload — which the guest gets as if sent to it.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT}

// ForwardedAll are the signals Config.ForwardAll forwards: every one a
// process can catch but SIGCHLD, SIGPIPE and SIGURG, which the monitor's
// Go runtime needs for itself — what runc's kill can deliver to a
// container's process, and what a container's terminal raises (SIGWINCH,
// SIGTSTP, SIGTTIN, SIGTTOU).
var ForwardedAll = func() []os.Signal {
	var sigs []os.Signal
	for sig := syscall.Signal(1); sig <= 64; sig++ {
		switch sig {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGPIPE, syscall.SIGURG, 32, 33:
			// 32 and 33 are glibc's own; the kernel has them, Go does not notify them.
			continue
		}
		sigs = append(sigs, sig)
	}
	return sigs
}()

// forwardSignals delivers the forwarded host signals to the guest process
// until the returned stop is called, but those keep takes for the host. Unless all, a second SIGINT within a
// second stops the machine: the way out of a guest that ignores Ctrl-C.
func forwardSignals(g *posix.ThreadGroup, report io.Writer, all bool, keep func(os.Signal) bool) (stop func()) {
	c := make(chan os.Signal, 16)
	if all {
		signal.Notify(c, ForwardedAll...)
	} else {
		signal.Notify(c, forwarded...)
	}
	done := make(chan struct{})
	go func() {
		var lastInt time.Time
		for {
			select {
			case <-done:
				return
			case s := <-c:
				sig := s.(syscall.Signal)
				if keep != nil && keep(s) {
					continue
				}
				if sig == syscall.SIGINT && !all {
					if time.Since(lastInt) < time.Second {
						if report != nil {
							fmt.Fprintln(report, "rumpgo: second interrupt: stopping the guest")
						}
						g.ExitGroup(posix.ExitStatus{Signal: int(sig)})
						return
					}
					lastInt = time.Now()
				}
				// The sender is outside the machine: Linux reports pid 0 for
				// signals from another namespace.
				g.Send(posix.SigInfo{Signo: int32(sig), Code: posix.SI_USER})
			}
		}
	}()
	return func() {
		signal.Stop(c)
		close(done)
	}
}
