// Package tty is pseudo-terminals: master/slave pairs (/dev/ptmx and
// /dev/pts/N) with Linux's N_TTY line discipline between them (canonical
// lines with erase and kill, echo, CR/NL mapping, ISIG's signals to the
// foreground process group, VMIN/VTIME), termios, window sizes, and
// controlling terminals (a session leader's open or TIOCSCTTY, /dev/tty,
// TIOCSPGRP, SIGTTIN/SIGTTOU for a background group, SIGHUP when the
// master goes).
//
// Like every posix object, a terminal never blocks: reads and writes that
// cannot go on answer EAGAIN and the syscall layer waits for readiness.
package tty

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// Termios is the kernel's struct termios2: the flags, the line
// discipline, the control characters and the speeds.
type Termios struct {
	Iflag, Oflag, Cflag, Lflag uint32
	Line                       uint8
	Cc                         [19]uint8
	Ispeed, Ospeed             uint32
}

// stdTermios is Linux's tty_std_termios, what a new pty's slave starts
// with: 38400 baud, 8 bits, canonical with echo and signals, ICRNL/IXON,
// ONLCR.
var stdTermios = Termios{
	Iflag:  unix.ICRNL | unix.IXON,
	Oflag:  unix.OPOST | unix.ONLCR,
	Cflag:  unix.B38400 | unix.CS8 | unix.CREAD, // the pts driver's init_termios: no HUPCL
	Lflag:  unix.ISIG | unix.ICANON | unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHOCTL | unix.ECHOKE | unix.IEXTEN,
	Cc:     [19]uint8{3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0},
	Ispeed: 38400, Ospeed: 38400,
}

// Buffer sizes: N_TTY_BUF_SIZE for the slave's input (a canonical line
// holds one less), and what the master may hold unread before the slave's
// writes wait.
const (
	inputSize  = 4096
	outputSize = 64 << 10
)

// Pty is one pseudo-terminal pair.
type Pty struct {
	m     *Manager
	Index int

	mu   sync.Mutex
	tio  Termios
	ws   unix.Winsize
	lock bool // TIOCSPTLCK: the slave cannot be opened yet

	lines  [][]byte // canonical input: finished lines (EOF ends one without a character)
	edit   []byte   // the canonical line being edited
	raw    []byte   // non-canonical input
	lnext  bool     // the next character is literal (VLNEXT)
	out    []byte   // the slave's output for the master to read
	stoped bool     // output stopped by VSTOP (IXON) or TCOOFF

	masterOpen bool
	slaves     int  // open slave descriptions
	otherGone  bool // the slave was opened and all its descriptions closed
	hungUp     bool // the master went: the slave reads 0, writes EIO

	sid, pgrp int // the session it controls and its foreground group; 0 none
	gen       int // counts changes of sid, for the leader's watcher
	closed    chan struct{}

	timer   *time.Timer // VTIME's
	expired bool

	mq, sq waiter.Queue // the master's and the slave's waiters
}

func (p *Pty) notify() {
	p.mq.Notify(waiter.AllEvents)
	p.sq.Notify(waiter.AllEvents)
}

// signal is what the line discipline sends after it let go of the lock.
type signal struct{ pgrp, sig int }

func (p *Pty) send(sigs []signal) {
	for _, s := range sigs {
		p.m.killPgrp(s.pgrp, s.sig)
	}
}

// ctl reports whether c is the control character of index i (enabled:
// _POSIX_VDISABLE is 0).
func (p *Pty) ctl(c byte, i int) bool { return p.tio.Cc[i] != 0 && c == p.tio.Cc[i] }

// inputLocked is what the master writes, through the line discipline,
// character by character; it returns how many it took and the signals to
// send.
func (p *Pty) inputLocked(b []byte) (int, []signal) {
	var sigs []signal
	t := &p.tio
	canon := t.Lflag&unix.ICANON != 0
	n := 0
	for _, c := range b {
		if !canon && len(p.raw) >= inputSize {
			break // room comes as the slave reads
		}
		n++
		if t.Iflag&unix.ISTRIP != 0 {
			c &= 0x7f
		}
		if p.lnext {
			p.lnext = false
			p.echoLocked(c, true)
			p.putLocked(c)
			continue
		}
		if t.Iflag&unix.IXON != 0 {
			if p.ctl(c, unix.VSTOP) {
				p.stoped = true
				continue
			}
			if p.ctl(c, unix.VSTART) {
				p.stoped = false
				continue
			}
			if p.stoped && t.Iflag&unix.IXANY != 0 {
				p.stoped = false
			}
		}
		switch {
		case c == '\r' && t.Iflag&unix.IGNCR != 0:
			continue
		case c == '\r' && t.Iflag&unix.ICRNL != 0:
			c = '\n'
		case c == '\n' && t.Iflag&unix.INLCR != 0:
			c = '\r'
		}
		if t.Lflag&unix.ISIG != 0 {
			sig := 0
			switch {
			case p.ctl(c, unix.VINTR):
				sig = int(unix.SIGINT)
			case p.ctl(c, unix.VQUIT):
				sig = int(unix.SIGQUIT)
			case p.ctl(c, unix.VSUSP):
				sig = int(unix.SIGTSTP)
			}
			if sig != 0 {
				if t.Lflag&unix.NOFLSH == 0 {
					p.lines, p.edit, p.raw, p.out = nil, nil, nil, nil
				}
				p.echoLocked(c, false)
				if p.pgrp != 0 {
					sigs = append(sigs, signal{p.pgrp, sig})
				}
				continue
			}
		}
		if t.Lflag&unix.IEXTEN != 0 && p.ctl(c, unix.VLNEXT) {
			p.lnext = true
			if t.Lflag&unix.ECHO != 0 && t.Lflag&unix.ECHOCTL != 0 {
				p.outputLocked([]byte("^\b"))
			}
			continue
		}
		if canon {
			if p.canonLocked(c) {
				continue
			}
		}
		p.echoLocked(c, true)
		p.putLocked(c)
	}
	return n, sigs
}

// canonLocked handles canonical mode's editing and line ends; it reports
// whether c was consumed.
func (p *Pty) canonLocked(c byte) bool {
	t := &p.tio
	echo := t.Lflag&unix.ECHO != 0
	switch {
	case p.ctl(c, unix.VERASE), t.Lflag&unix.IEXTEN != 0 && p.ctl(c, unix.VWERASE), p.ctl(c, unix.VKILL):
		kill := p.ctl(c, unix.VKILL)
		if kill && echo && t.Lflag&unix.ECHOK != 0 && t.Lflag&unix.ECHOKE == 0 {
			p.edit = p.edit[:0]
			p.echoLocked(c, false)
			p.outputLocked([]byte{'\n'})
			return true
		}
		word := !kill && !p.ctl(c, unix.VERASE)
		for seen := false; len(p.edit) > 0; {
			last := p.edit[len(p.edit)-1]
			if word {
				alnum := last == '_' || last >= '0' && last <= '9' || last|0x20 >= 'a' && last|0x20 <= 'z'
				if !alnum && seen {
					break
				}
				seen = seen || alnum
			}
			p.edit = p.edit[:len(p.edit)-1]
			if echo && t.Lflag&unix.ECHOE != 0 {
				w := 1
				if last < 0x20 && last != '\t' && t.Lflag&unix.ECHOCTL != 0 || last == 0x7f {
					w = 2
				}
				for range w {
					p.outputLocked([]byte("\b \b"))
				}
			}
			if !word && !kill {
				break
			}
		}
		return true
	case p.ctl(c, unix.VEOF):
		p.lines = append(p.lines, p.edit)
		p.edit = nil
		return true
	case c == '\n' || p.ctl(c, unix.VEOL) || t.Lflag&unix.IEXTEN != 0 && p.ctl(c, unix.VEOL2):
		if c == '\n' && !echo && t.Lflag&unix.ECHONL != 0 {
			p.outputLocked([]byte{'\n'})
		} else {
			p.echoLocked(c, true)
		}
		p.lines = append(p.lines, append(p.edit, c))
		p.edit = nil
		return true
	case t.Lflag&unix.IEXTEN != 0 && p.ctl(c, unix.VREPRINT):
		if echo {
			p.echoLocked(c, false)
			p.outputLocked([]byte{'\n'})
			for _, e := range p.edit {
				p.echoLocked(e, false)
			}
		}
		return true
	}
	return false
}

// putLocked queues an input character for the slave; a canonical line
// keeps room for its end (N_TTY_BUF_SIZE - 1 characters).
func (p *Pty) putLocked(c byte) {
	if p.tio.Lflag&unix.ICANON != 0 {
		if len(p.edit) < inputSize-1 {
			p.edit = append(p.edit, c)
		}
		return
	}
	p.raw = append(p.raw, c)
}

// echoLocked echoes an input character (ECHO; ECHOCTL shows a control
// character as ^X). always: echo even a character ECHO alone would show.
func (p *Pty) echoLocked(c byte, plain bool) {
	t := &p.tio
	if t.Lflag&unix.ECHO == 0 {
		return
	}
	if (c < 0x20 && c != '\t' && c != '\n' || c == 0x7f) && t.Lflag&unix.ECHOCTL != 0 {
		p.outputLocked([]byte{'^', c ^ 0x40})
		return
	}
	_ = plain
	p.outputLocked([]byte{c})
}

// outputLocked queues what the slave writes (and echoes) for the master,
// with OPOST's mappings.
func (p *Pty) outputLocked(b []byte) {
	t := &p.tio
	if t.Oflag&unix.OPOST == 0 {
		p.out = append(p.out, b...)
		return
	}
	for _, c := range b {
		switch {
		case c == '\n' && t.Oflag&unix.ONLCR != 0:
			p.out = append(p.out, '\r', '\n')
		case c == '\r' && t.Oflag&unix.OCRNL != 0:
			p.out = append(p.out, '\n')
		case c == '\r' && t.Oflag&unix.ONOCR != 0 && (len(p.out) == 0 || p.out[len(p.out)-1] == '\n'):
		default:
			p.out = append(p.out, c)
		}
	}
}

// slaveReadable is whether a slave's read would return now.
func (p *Pty) slaveReadableLocked() bool {
	if p.hungUp {
		return true
	}
	if p.tio.Lflag&unix.ICANON != 0 {
		return len(p.lines) > 0
	}
	vmin, vtime := int(p.tio.Cc[unix.VMIN]), p.tio.Cc[unix.VTIME]
	switch {
	case vmin == 0 && vtime == 0, p.expired:
		return true
	case vmin == 0:
		return len(p.raw) > 0
	}
	return len(p.raw) >= vmin
}

// setTermios is TCSETS*: a switch out of canonical mode makes the line
// under edit (and unread lines) readable at once, as n_tty_set_termios.
func (p *Pty) setTermios(t Termios, flush bool) {
	p.mu.Lock()
	wasCanon := p.tio.Lflag&unix.ICANON != 0
	p.tio = t
	if flush {
		p.lines, p.edit, p.raw = nil, nil, nil
	}
	if wasCanon && t.Lflag&unix.ICANON == 0 {
		for _, l := range p.lines {
			p.raw = append(p.raw, l...)
		}
		p.raw = append(p.raw, p.edit...)
		p.lines, p.edit = nil, nil
	} else if !wasCanon && t.Lflag&unix.ICANON != 0 {
		p.edit = append(p.edit, p.raw...)
		p.raw = nil
	}
	if t.Iflag&unix.IXON == 0 {
		p.stoped = false
	}
	p.mu.Unlock()
	p.notify()
}

// Manager is a machine's pseudo-terminals and the processes they signal.
type Manager struct {
	procs *posix.Processes

	mu       sync.Mutex
	ptys     map[int]*Pty
	detached map[int]bool // processes that gave up their terminal (TIOCNOTTY) without leading the session

	// Created and Gone are called as pairs appear and go, for /dev/pts.
	Created func(p *Pty, uid, gid uint32)
	Gone    func(p *Pty)
}

// NewManager returns a manager whose terminals signal procs.
func NewManager(procs *posix.Processes) *Manager {
	return &Manager{procs: procs, ptys: map[int]*Pty{}, detached: map[int]bool{}}
}

func (m *Manager) killPgrp(pgrp, sig int) {
	for _, g := range m.procs.Select(func(g *posix.ThreadGroup) bool { return g.PGID() == pgrp }) {
		g.Send(posix.SigInfo{Signo: int32(sig), Code: posix.SI_KERNEL})
	}
}

// Open is /dev/ptmx: a new pair with the lowest free index, its slave
// locked until TIOCSPTLCK, owned by uid and gid.
func (m *Manager) Open(uid, gid uint32) *Master {
	m.mu.Lock()
	i := 0
	for m.ptys[i] != nil {
		i++
	}
	p := &Pty{m: m, Index: i, tio: stdTermios, lock: true, masterOpen: true, closed: make(chan struct{})}
	m.ptys[i] = p
	m.mu.Unlock()
	if m.Created != nil {
		m.Created(p, uid, gid)
	}
	return &Master{p: p}
}

// Pty returns pair i, or nil.
func (m *Manager) Pty(i int) *Pty {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ptys[i]
}

// Controlling returns the controlling terminal of g's session, or nil.
func (m *Manager) Controlling(g *posix.ThreadGroup) *Pty {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.detached[g.PID] {
		return nil
	}
	sid := g.SID()
	for _, p := range m.ptys {
		p.mu.Lock()
		s := p.sid
		p.mu.Unlock()
		if s == sid {
			return p
		}
	}
	return nil
}

// OpenSlave is opening /dev/pts/N: EIO while locked or once the master
// went. A session leader without a terminal that opens it without
// O_NOCTTY for reading gets it as its controlling terminal.
func (p *Pty) OpenSlave(g *posix.ThreadGroup, flags int) (*Slave, unix.Errno) {
	p.mu.Lock()
	if p.lock || !p.masterOpen {
		p.mu.Unlock()
		return nil, unix.EIO
	}
	p.slaves++
	p.otherGone = false
	p.mu.Unlock()
	s := &Slave{p: p}
	s.SetFlags(flags)
	if g != nil && flags&unix.O_NOCTTY == 0 && flags&unix.O_ACCMODE != unix.O_WRONLY && g.PID == g.SID() && p.m.Controlling(g) == nil {
		p.mu.Lock()
		if p.sid == 0 {
			p.takeLocked(g)
		}
		p.mu.Unlock()
	}
	p.notify()
	return s, 0
}

// takeLocked makes p the controlling terminal of g's session (g leads
// it). When the leader exits the session loses it and the foreground
// group gets SIGHUP, as disassociate_ctty(1).
func (p *Pty) takeLocked(g *posix.ThreadGroup) {
	p.sid, p.pgrp = g.SID(), g.PGID()
	p.gen++
	gen := p.gen
	go func() {
		select {
		case <-g.Dying():
		case <-p.closed:
			return
		}
		p.mu.Lock()
		if p.gen != gen {
			p.mu.Unlock()
			return
		}
		pgrp := p.pgrp
		p.sid, p.pgrp = 0, 0
		p.gen++
		p.mu.Unlock()
		if pgrp != 0 {
			p.m.killPgrp(pgrp, int(unix.SIGHUP))
		}
	}()
}

// Readiness is the slave's.
func (p *Pty) slaveReadiness(mask uint32) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var r uint32
	if p.slaveReadableLocked() {
		r |= waiter.EPOLLIN | waiter.EPOLLRDNORM
	}
	if p.hungUp {
		// hung_up_tty_poll
		r |= waiter.EPOLLHUP | waiter.EPOLLERR | waiter.EPOLLOUT | waiter.EPOLLWRNORM
	} else if len(p.out) < outputSize && !p.stoped {
		r |= waiter.EPOLLOUT | waiter.EPOLLWRNORM
	}
	return r & (mask | waiter.EPOLLHUP | waiter.EPOLLERR)
}

func (p *Pty) masterReadiness(mask uint32) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var r uint32
	if len(p.out) > 0 {
		r |= waiter.EPOLLIN | waiter.EPOLLRDNORM
	}
	if p.otherGone {
		r |= waiter.EPOLLHUP
	}
	if p.tio.Lflag&unix.ICANON != 0 || len(p.raw) < inputSize {
		r |= waiter.EPOLLOUT | waiter.EPOLLWRNORM
	}
	return r & (mask | waiter.EPOLLHUP | waiter.EPOLLERR)
}

// Master is an open /dev/ptmx.
type Master struct{ p *Pty }

// Pty is the pair.
func (f *Master) Pty() *Pty { return f.p }

// Read takes the slave's output; EIO once every slave description closed
// and the output is drained.
func (f *Master) Read(b []byte) (int, unix.Errno) {
	p := f.p
	p.mu.Lock()
	if len(p.out) == 0 {
		gone := p.otherGone
		p.mu.Unlock()
		if gone {
			return 0, unix.EIO
		}
		return 0, unix.EAGAIN
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	if len(p.out) == 0 {
		p.out = nil
	}
	p.mu.Unlock()
	p.notify()
	return n, 0
}

// Write is typing at the terminal: the line discipline takes it.
func (f *Master) Write(b []byte) (int, unix.Errno) {
	p := f.p
	p.mu.Lock()
	n, sigs := p.inputLocked(b)
	p.mu.Unlock()
	p.notify()
	p.send(sigs)
	if n == 0 && len(b) > 0 {
		return 0, unix.EAGAIN
	}
	return n, 0
}

// Close hangs the slave up: its session leader gets SIGHUP and SIGCONT
// (tty_vhangup), its reads see end of file, writes EIO.
func (f *Master) Close() unix.Errno {
	p := f.p
	p.mu.Lock()
	p.masterOpen, p.hungUp = false, true
	sid := p.sid
	p.sid, p.pgrp = 0, 0
	p.gen++
	close(p.closed)
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	p.notify()
	if sid != 0 {
		if g := p.m.procs.Group(sid); g != nil {
			g.Send(posix.SigInfo{Signo: int32(unix.SIGHUP), Code: posix.SI_KERNEL})
			g.Send(posix.SigInfo{Signo: int32(unix.SIGCONT), Code: posix.SI_KERNEL})
		}
	}
	m := p.m
	m.mu.Lock()
	delete(m.ptys, p.Index)
	m.mu.Unlock()
	if m.Gone != nil {
		m.Gone(p)
	}
	return 0
}

func (f *Master) Readiness(mask uint32) uint32    { return f.p.masterReadiness(mask) }
func (f *Master) EventRegister(e *waiter.Entry)   { f.p.mq.EventRegister(e) }
func (f *Master) EventUnregister(e *waiter.Entry) { f.p.mq.EventUnregister(e) }

// Slave is an open /dev/pts/N.
type Slave struct {
	p *Pty
	// nonblock is the description's O_NONBLOCK: a read short of VMIN
	// returns what there is.
	nonblock atomic.Bool
}

// SetFlags follows F_SETFL's O_NONBLOCK.
func (f *Slave) SetFlags(fl int) { f.nonblock.Store(fl&unix.O_NONBLOCK != 0) }

// Pty is the pair.
func (f *Slave) Pty() *Pty { return f.p }

// Read is n_tty_read: one line at most in canonical mode (0 at an EOF
// character), VMIN/VTIME otherwise; 0 once hung up.
func (f *Slave) Read(b []byte) (int, unix.Errno) {
	p := f.p
	p.mu.Lock()
	if p.hungUp {
		p.mu.Unlock()
		return 0, 0
	}
	if p.tio.Lflag&unix.ICANON != 0 {
		if len(p.lines) == 0 {
			p.mu.Unlock()
			return 0, unix.EAGAIN
		}
		l := p.lines[0]
		n := copy(b, l)
		if n == len(l) {
			p.lines = p.lines[1:]
		} else {
			p.lines[0] = l[n:]
		}
		p.mu.Unlock()
		p.notify()
		return n, 0
	}
	vmin, vtime := int(p.tio.Cc[unix.VMIN]), p.tio.Cc[unix.VTIME]
	want := min(max(vmin, 1), len(b))
	if f.nonblock.Load() && len(p.raw) > 0 {
		want = 1
	}
	if len(p.raw) < want && !p.expired && !(vmin == 0 && vtime == 0) {
		if vtime != 0 && p.timer == nil && (vmin == 0 || len(p.raw) > 0) {
			// VTIME: the whole read's timer without VMIN, the time
			// since the first byte with it.
			p.timer = time.AfterFunc(time.Duration(vtime)*100*time.Millisecond, func() {
				p.mu.Lock()
				p.expired, p.timer = true, nil
				p.mu.Unlock()
				p.notify()
			})
		}
		p.mu.Unlock()
		return 0, unix.EAGAIN
	}
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.expired = false
	n := copy(b, p.raw)
	p.raw = p.raw[n:]
	if len(p.raw) == 0 {
		p.raw = nil
	}
	p.mu.Unlock()
	p.notify()
	return n, 0
}

// Write is the program's output: OPOST's mappings, then the master's to
// read; EIO once hung up.
func (f *Slave) Write(b []byte) (int, unix.Errno) {
	p := f.p
	p.mu.Lock()
	if p.hungUp {
		p.mu.Unlock()
		return 0, unix.EIO
	}
	if p.stoped || len(p.out) >= outputSize {
		p.mu.Unlock()
		return 0, unix.EAGAIN
	}
	n := min(len(b), outputSize-len(p.out))
	p.outputLocked(b[:n])
	p.mu.Unlock()
	p.notify()
	return n, 0
}

// Close: the master reads EIO (and polls POLLHUP) once the last slave
// description went.
func (f *Slave) Close() unix.Errno {
	p := f.p
	p.mu.Lock()
	p.slaves--
	if p.slaves == 0 && !p.hungUp {
		p.otherGone = true
	}
	p.mu.Unlock()
	p.notify()
	return 0
}

func (f *Slave) Readiness(mask uint32) uint32    { return f.p.slaveReadiness(mask) }
func (f *Slave) EventRegister(e *waiter.Entry)   { f.p.sq.EventRegister(e) }
func (f *Slave) EventUnregister(e *waiter.Entry) { f.p.sq.EventUnregister(e) }

// JobCheck is tty_check_change and the read side's __tty_check_change:
// a process of a background group of the terminal's session that reads
// (or, with TOSTOP, writes) gets SIGTTIN (SIGTTOU) sent to its group and
// the call restarts after it (restart, true); EIO when the signal is
// ignored or blocked for a read; a write goes on then. force: a change
// of the terminal (TCSETS, TIOCSPGRP), SIGTTOU's without TOSTOP.
func (p *Pty) JobCheck(t *posix.Task, write, force bool) (e unix.Errno, restart bool) {
	g := t.Group
	p.mu.Lock()
	sid, fg, tostop := p.sid, p.pgrp, p.tio.Lflag&unix.TOSTOP != 0
	p.mu.Unlock()
	if sid == 0 || sid != g.SID() || fg == 0 || g.PGID() == fg || write && !tostop && !force {
		return 0, false
	}
	sig := unix.SIGTTIN
	if write {
		sig = unix.SIGTTOU
	}
	ign, _ := g.Signals.Dispositions()
	if ign&posix.Bit(int(sig)) != 0 || t.Mask()&posix.Bit(int(sig)) != 0 {
		if write {
			return 0, false
		}
		return unix.EIO, false
	}
	p.m.killPgrp(g.PGID(), int(sig))
	return 0, true
}
