package posix

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestProcessLifecycle(t *testing.T) {
	p := NewProcesses()
	p.Limit = 3
	init, e := p.NewProcess(nil, 0)
	require.Zero(t, e)
	require.Equal(t, 1, init.PID)
	child, e := p.NewProcess(init, int(unix.SIGCHLD))
	require.Zero(t, e)
	grand, e := p.NewProcess(child, int(unix.SIGCHLD))
	require.Zero(t, e)
	_, e = p.NewProcess(init, int(unix.SIGCHLD))
	require.Equal(t, unix.EAGAIN, e, "past Limit")
	require.Equal(t, []int{1, 2, 3}, p.PIDs())
	require.Equal(t, 2, grand.PPID())
	require.Equal(t, 1, grand.PGID(), "a child starts in its parent's group")

	// Nothing has ended: a wait finds children but nothing to report.
	_, found, any := init.WaitChild(WaitFilter{Exited: true}, false)
	require.False(t, found)
	require.True(t, any)

	child.ExitGroup(ExitStatus{Code: 3})
	parent, info := child.Ended(1000)
	require.Same(t, init, parent)
	require.Equal(t, SigInfo{Signo: int32(unix.SIGCHLD), Code: CLD_EXITED, PID: 2, UID: 1000, Value: 3}, info)
	require.Equal(t, 1, grand.PPID(), "an orphan goes to the first process")

	// A zombie never stops or continues: a wait for those alone has no
	// child to wait for (ECHILD), where it once waited forever.
	_, found, any = init.WaitChild(WaitFilter{PID: 2, Stopped: true, Continued: true}, false)
	require.False(t, found)
	require.False(t, any, "only a zombie: WSTOPPED|WCONTINUED is ECHILD")

	z, found, _ := init.WaitChild(WaitFilter{PID: 2, Exited: true}, true)
	require.True(t, found)
	require.Equal(t, uint32(3<<8), z.WaitStatus4())
	z, found, _ = init.WaitChild(WaitFilter{Exited: true}, false)
	require.True(t, found, "WNOWAIT left it")
	require.Equal(t, 2, z.PID)
	_, found, any = init.WaitChild(WaitFilter{PID: 2, Exited: true}, false)
	require.False(t, found)
	require.False(t, any, "reaped: ECHILD")
	require.Nil(t, p.Group(2))
}

func TestWaitFilter(t *testing.T) {
	p := NewProcesses()
	init, _ := p.NewProcess(nil, 0)
	sigchld, _ := p.NewProcess(init, int(unix.SIGCHLD))
	clone, _ := p.NewProcess(init, 0)
	for _, c := range []*ThreadGroup{sigchld, clone} {
		c.ExitGroup(ExitStatus{Signal: int(unix.SIGKILL)})
		c.Ended(0)
	}
	for _, tc := range []struct {
		name string
		f    WaitFilter
		want int // PID found, 0 for none
	}{
		{"default: SIGCHLD children", WaitFilter{Exited: true}, sigchld.PID},
		{"__WCLONE: the others", WaitFilter{Exited: true, Clone: true}, clone.PID},
		{"__WALL: the lowest pid", WaitFilter{Exited: true, All: true}, sigchld.PID},
		{"by pid", WaitFilter{Exited: true, All: true, PID: clone.PID}, clone.PID},
		{"another group", WaitFilter{Exited: true, All: true, PGID: 99}, 0},
		{"only stops asked", WaitFilter{Stopped: true, All: true}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, found, _ := init.WaitChild(tc.f, true)
			require.Equal(t, tc.want != 0, found)
			require.Equal(t, tc.want, z.PID)
		})
	}
}

func TestProcessGroups(t *testing.T) {
	p := NewProcesses()
	init, _ := p.NewProcess(nil, 0)
	a, _ := p.NewProcess(init, int(unix.SIGCHLD))
	b, _ := p.NewProcess(init, int(unix.SIGCHLD))
	_, e := init.SetSID()
	require.Equal(t, unix.EPERM, e, "a group leader cannot start a session")
	require.Zero(t, init.SetPGID(a, 0), "a child gets a group of its own")
	require.Equal(t, a.PID, a.PGID())
	require.Zero(t, init.SetPGID(b, a.PID), "and another child joins it")
	require.Equal(t, a.PID, b.PGID())
	require.Equal(t, unix.EPERM, init.SetPGID(b, 77), "no such group in the session")
	require.Equal(t, unix.ESRCH, a.SetPGID(b, 0), "not a's child")
	b.MarkExeced()
	require.Equal(t, unix.EACCES, init.SetPGID(b, 0), "after execve the parent may not")
	sid, e := b.SetSID()
	require.Zero(t, e)
	require.Equal(t, b.PID, sid)
	require.Equal(t, b.PID, b.PGID())
}

func TestJobControl(t *testing.T) {
	p := NewProcesses()
	init, _ := p.NewProcess(nil, 0)
	c, _ := p.NewProcess(init, int(unix.SIGCHLD))
	parent, info := c.Stop(int(unix.SIGTSTP))
	require.Same(t, init, parent)
	require.Equal(t, int32(CLD_STOPPED), info.Code)
	cont, stopped := c.Stopped()
	require.True(t, stopped)

	z, found, _ := init.WaitChild(WaitFilter{Stopped: true}, false)
	require.True(t, found)
	require.Equal(t, uint32(unix.SIGTSTP)<<8|0x7f, z.WaitStatus4())
	_, found, _ = init.WaitChild(WaitFilter{Stopped: true}, false)
	require.False(t, found, "a stop is reported once")

	parent, info = c.Continue()
	require.Same(t, init, parent)
	require.Equal(t, int32(CLD_CONTINUED), info.Code)
	select {
	case <-cont:
	default:
		t.Fatal("SIGCONT did not release the stopped tasks")
	}
	z, found, _ = init.WaitChild(WaitFilter{Continued: true}, false)
	require.True(t, found)
	require.Equal(t, uint32(0xffff), z.WaitStatus4())

	// SA_NOCLDSTOP: no SIGCHLD for stops.
	_, e := init.Signals.Swap(int(unix.SIGCHLD), &SigAction{Flags: SA_NOCLDSTOP})
	require.Zero(t, e)
	parent, _ = c.Stop(int(unix.SIGSTOP))
	require.Nil(t, parent)
}

func TestFDTableAcrossProcesses(t *testing.T) {
	fds := NewFDTable()
	_, e := fds.Install(NewHostFile(2), 0, false, 1024)
	require.Zero(t, e)
	_, e = fds.Install(NewHostFile(2), 0, true, 1024) // close-on-exec
	require.Zero(t, e)

	child := fds.Fork()
	require.Len(t, child.FDs(), 2, "fork copies the descriptors")
	require.Same(t, child, child.Unshare(), "a table no one else uses stays")

	fds.Share() // CLONE_FILES
	mine := fds.Unshare()
	require.NotSame(t, fds, mine, "execve copies a shared table")
	mine.CloseOnExecAll()
	require.Len(t, mine.FDs(), 1)
	require.Len(t, fds.FDs(), 2, "the other process keeps its table")
}

// TestKilledBy: a sent SIGKILL ends the process and is kept for the report
// of its death; an exit, or a SIGKILL status set directly (a timeout, a
// machine failure), is no sent kill.
func TestKilledBy(t *testing.T) {
	p := NewProcesses()
	init, _ := p.NewProcess(nil, 0)
	sent, _ := p.NewProcess(init, int(unix.SIGCHLD))
	exited, _ := p.NewProcess(init, int(unix.SIGCHLD))
	direct, _ := p.NewProcess(init, int(unix.SIGCHLD))

	kill := SigInfo{Signo: int32(unix.SIGKILL), Code: SI_USER, PID: 7, UID: 1000}
	require.Zero(t, sent.Send(kill))
	require.True(t, sent.Exiting())
	require.Equal(t, ExitStatus{Signal: int(unix.SIGKILL)}, sent.Status())
	got, ok := sent.KilledBy()
	require.True(t, ok)
	require.Equal(t, kill, got)

	exited.ExitGroup(ExitStatus{Code: 1})
	exited.Send(kill) // too late: it is exiting already
	_, ok = exited.KilledBy()
	require.False(t, ok, "an exit is no kill")
	require.Equal(t, ExitStatus{Code: 1}, exited.Status())

	direct.ExitGroup(ExitStatus{Signal: int(unix.SIGKILL)})
	_, ok = direct.KilledBy()
	require.False(t, ok, "a status set directly names no sender")
}

// TestUnkillableInit: an init (SetUnkillable) drops the signals it has no
// handler for, as Linux's sig_task_ignored: SIGTERM from a process of the
// machine or the host alike, SIGKILL from inside; SIGKILL from the host
// ends it, a handled signal is queued, and a fault's forced signal makes
// it killable again.
func TestUnkillableInit(t *testing.T) {
	p := NewProcesses()
	init, _ := p.NewProcess(nil, 0)
	init.SetUnkillable(true)
	task, ok := init.NewTask()
	require.True(t, ok)
	term := func(pid int32) SigInfo { return SigInfo{Signo: int32(unix.SIGTERM), Code: SI_USER, PID: pid} }
	kill := func(pid int32) SigInfo { return SigInfo{Signo: int32(unix.SIGKILL), Code: SI_USER, PID: pid} }

	require.Zero(t, init.Send(term(5)))
	require.Zero(t, init.Send(term(0)))
	require.Zero(t, task.Send(SigInfo{Signo: int32(unix.SIGTERM), Code: SI_TKILL, PID: 1}), "Go's re-raise")
	require.Zero(t, init.Send(kill(5)))
	require.False(t, init.Exiting())
	_, _, pending := task.Dequeue()
	require.False(t, pending, "nothing queued")

	init.Signals.Swap(int(unix.SIGTERM), &SigAction{Handler: 0x1000})
	require.Zero(t, init.Send(term(5)))
	info, _, pending := task.Dequeue()
	require.True(t, pending, "a handled signal is delivered")
	require.Equal(t, int32(unix.SIGTERM), info.Signo)

	task.Force(SigInfo{Signo: int32(unix.SIGSEGV), Code: SI_KERNEL})
	require.False(t, init.Unkillable(), "a fault with no handler ends an init too")
	init.SetUnkillable(true)
	require.Zero(t, init.Send(kill(0)))
	require.True(t, init.Exiting(), "SIGKILL from outside the machine")
}
