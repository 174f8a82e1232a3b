package tty

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// Terminal ioctl commands (asm-generic/ioctls.h).
const (
	TCGETS      = 0x5401
	TCSETS      = 0x5402
	TCSETSW     = 0x5403
	TCSETSF     = 0x5404
	TCSBRK      = 0x5409
	TCXONC      = 0x540A
	TCFLSH      = 0x540B
	TIOCEXCL    = 0x540C
	TIOCNXCL    = 0x540D
	TIOCSCTTY   = 0x540E
	TIOCGPGRP   = 0x540F
	TIOCSPGRP   = 0x5410
	TIOCOUTQ    = 0x5411
	TIOCGWINSZ  = 0x5413
	TIOCSWINSZ  = 0x5414
	FIONREAD    = 0x541B
	TIOCNOTTY   = 0x5422
	TIOCSETD    = 0x5423
	TIOCGETD    = 0x5424
	TCSBRKP     = 0x5425
	TIOCGSID    = 0x5429
	TCGETS2     = 0x802c542a
	TCSETS2     = 0x402c542b
	TCSETSW2    = 0x402c542c
	TCSETSF2    = 0x402c542d
	TIOCGPTN    = 0x80045430
	TIOCSPTLCK  = 0x40045431
	TIOCGPTLCK  = 0x80045439
	TIOCGEXCL   = 0x80045440
	TIOCGPTPEER = 0x5441
)

// capSysAdmin lets TIOCSCTTY with arg 1 steal a terminal another session
// controls.
const capSysAdmin = 21

// Caller is who makes an ioctl: its thread and credentials.
type Caller struct {
	Task *posix.Task
	Cred posix.Cred
}

// Terminal is a pty end as the syscall layer sees it through /dev.
type Terminal interface {
	Pty() *Pty
	// IoctlAs runs a terminal ioctl for the caller.
	IoctlAs(c Caller, mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno)
}

func putTermios(mem posix.GuestMemory, addr uint64, t Termios, two bool) unix.Errno {
	b := make([]byte, 44)
	le := binary.LittleEndian
	le.PutUint32(b[0:], t.Iflag)
	le.PutUint32(b[4:], t.Oflag)
	le.PutUint32(b[8:], t.Cflag)
	le.PutUint32(b[12:], t.Lflag)
	b[16] = t.Line
	copy(b[17:36], t.Cc[:])
	le.PutUint32(b[36:], t.Ispeed)
	le.PutUint32(b[40:], t.Ospeed)
	if !two {
		b = b[:36]
	}
	return mem.CopyOut(addr, b)
}

// getTermios reads a struct termios (or termios2); the old struct's
// speeds follow CBAUD, as the kernel's tty_termios_baud_rate.
func getTermios(mem posix.GuestMemory, addr uint64, two bool) (Termios, unix.Errno) {
	n := 36
	if two {
		n = 44
	}
	b := make([]byte, n)
	if e := mem.CopyIn(addr, b); e != 0 {
		return Termios{}, e
	}
	le := binary.LittleEndian
	t := Termios{Iflag: le.Uint32(b[0:]), Oflag: le.Uint32(b[4:]), Cflag: le.Uint32(b[8:]), Lflag: le.Uint32(b[12:]), Line: b[16]}
	copy(t.Cc[:], b[17:36])
	if two {
		t.Ispeed, t.Ospeed = le.Uint32(b[36:]), le.Uint32(b[40:])
	} else {
		t.Ispeed = baud(t.Cflag)
		t.Ospeed = t.Ispeed
	}
	return t, 0
}

var bauds = []uint32{0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
	57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000}

func baud(cflag uint32) uint32 {
	i := cflag & unix.CBAUD
	if i&unix.CBAUDEX != 0 {
		i = i&^unix.CBAUDEX + 15
	}
	if int(i) < len(bauds) {
		return bauds[i]
	}
	return 0
}

func putInt(mem posix.GuestMemory, addr uint64, v int32) unix.Errno {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	return mem.CopyOut(addr, b[:])
}

func getInt(mem posix.GuestMemory, addr uint64) (int32, unix.Errno) {
	var b [4]byte
	e := mem.CopyIn(addr, b[:])
	return int32(binary.LittleEndian.Uint32(b[:])), e
}

// isCtty reports whether p is the controlling terminal of c's process.
func (p *Pty) isCtty(c Caller) bool { return p.m.Controlling(c.Task.Group) == p }

// ioctl is tty_ioctl and n_tty_ioctl for either end (master: the
// commands act on the slave, as Linux's tty_pair_get_tty).
func (p *Pty) ioctl(c Caller, master bool, mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	g := c.Task.Group
	// Changing the terminal from a background group is SIGTTOU's
	// (tty_check_change), for the slave end.
	change := func() unix.Errno {
		if master {
			return 0
		}
		if e, restart := p.JobCheck(c.Task, true, true); restart {
			return restartSys
		} else if e != 0 {
			return e
		}
		return 0
	}
	switch cmd {
	case TCGETS, TCGETS2:
		p.mu.Lock()
		t := p.tio
		p.mu.Unlock()
		return 0, putTermios(mem, arg, t, cmd == TCGETS2)
	case TCSETS, TCSETSW, TCSETSF, TCSETS2, TCSETSW2, TCSETSF2:
		if e := change(); e != 0 {
			return 0, e
		}
		t, e := getTermios(mem, arg, cmd == TCSETS2 || cmd == TCSETSW2 || cmd == TCSETSF2)
		if e != 0 {
			return 0, e
		}
		p.setTermios(t, cmd == TCSETSF || cmd == TCSETSF2)
		return 0, 0
	case TIOCGWINSZ:
		p.mu.Lock()
		ws := p.ws
		p.mu.Unlock()
		b := make([]byte, 8)
		le := binary.LittleEndian
		le.PutUint16(b[0:], ws.Row)
		le.PutUint16(b[2:], ws.Col)
		le.PutUint16(b[4:], ws.Xpixel)
		le.PutUint16(b[6:], ws.Ypixel)
		return 0, mem.CopyOut(arg, b)
	case TIOCSWINSZ:
		b := make([]byte, 8)
		if e := mem.CopyIn(arg, b); e != 0 {
			return 0, e
		}
		le := binary.LittleEndian
		ws := unix.Winsize{Row: le.Uint16(b[0:]), Col: le.Uint16(b[2:]), Xpixel: le.Uint16(b[4:]), Ypixel: le.Uint16(b[6:])}
		p.mu.Lock()
		changed, pgrp := p.ws != ws, p.pgrp
		p.ws = ws
		p.mu.Unlock()
		if changed && pgrp != 0 {
			p.m.killPgrp(pgrp, int(unix.SIGWINCH))
		}
		return 0, 0
	case FIONREAD:
		p.mu.Lock()
		n := len(p.out)
		if !master {
			n = len(p.raw)
			for _, l := range p.lines {
				n += len(l)
			}
		}
		p.mu.Unlock()
		return 0, putInt(mem, arg, int32(n))
	case TIOCOUTQ:
		n := 0
		if !master {
			p.mu.Lock()
			n = len(p.out)
			p.mu.Unlock()
		}
		return 0, putInt(mem, arg, int32(n))
	case TCFLSH:
		if e := change(); e != 0 {
			return 0, e
		}
		p.mu.Lock()
		in, out := arg == unix.TCIFLUSH || arg == unix.TCIOFLUSH, arg == unix.TCOFLUSH || arg == unix.TCIOFLUSH
		if master {
			in, out = out, in
		}
		if arg > unix.TCIOFLUSH {
			p.mu.Unlock()
			return 0, unix.EINVAL
		}
		if in {
			p.lines, p.edit, p.raw = nil, nil, nil
		}
		if out {
			p.out = nil
		}
		p.mu.Unlock()
		p.notify()
		return 0, 0
	case TCSBRK, TCSBRKP:
		// Output is in the master's buffer at once: drained.
		return 0, change()
	case TCXONC:
		if e := change(); e != 0 {
			return 0, e
		}
		switch arg {
		case unix.TCOOFF, unix.TCOON:
			p.mu.Lock()
			p.stoped = arg == unix.TCOOFF
			p.mu.Unlock()
			p.notify()
		case unix.TCIOFF, unix.TCION:
			// The other side is no device to send STOP/START to.
		default:
			return 0, unix.EINVAL
		}
		return 0, 0
	case TIOCGETD:
		return 0, putInt(mem, arg, 0) // N_TTY
	case TIOCSETD:
		d, e := getInt(mem, arg)
		if e != 0 {
			return 0, e
		}
		if d != 0 {
			return 0, unix.EINVAL // only N_TTY is built
		}
		return 0, 0
	case TIOCEXCL, TIOCNXCL:
		return 0, 0
	case TIOCSCTTY:
		return 0, p.sctty(c, arg)
	case TIOCNOTTY:
		if master || !p.isCtty(c) {
			return 0, unix.ENOTTY
		}
		if g.PID == g.SID() {
			p.mu.Lock()
			pgrp := p.pgrp
			p.sid, p.pgrp = 0, 0
			p.gen++
			p.mu.Unlock()
			if pgrp != 0 {
				p.m.killPgrp(pgrp, int(unix.SIGHUP))
				p.m.killPgrp(pgrp, int(unix.SIGCONT))
			}
		} else {
			p.m.mu.Lock()
			p.m.detached[g.PID] = true
			p.m.mu.Unlock()
		}
		return 0, 0
	case TIOCGPGRP, TIOCGSID:
		if !master && !p.isCtty(c) {
			return 0, unix.ENOTTY
		}
		p.mu.Lock()
		sid, pgrp := p.sid, p.pgrp
		p.mu.Unlock()
		if cmd == TIOCGSID {
			if sid == 0 {
				return 0, unix.ENOTTY
			}
			return 0, putInt(mem, arg, int32(sid))
		}
		return 0, putInt(mem, arg, int32(pgrp))
	case TIOCSPGRP:
		if e := change(); e == unix.EIO {
			return 0, unix.ENOTTY
		} else if e != 0 {
			return 0, e
		}
		p.mu.Lock()
		sid := p.sid
		p.mu.Unlock()
		if !p.isCtty(c) || sid != g.SID() {
			return 0, unix.ENOTTY
		}
		pgrp, e := getInt(mem, arg)
		if e != 0 {
			return 0, e
		}
		if pgrp < 0 {
			return 0, unix.EINVAL
		}
		members := p.m.procs.Select(func(o *posix.ThreadGroup) bool { return o.PGID() == int(pgrp) })
		if len(members) == 0 {
			return 0, unix.ESRCH
		}
		if members[0].SID() != g.SID() {
			return 0, unix.EPERM
		}
		p.mu.Lock()
		p.pgrp = int(pgrp)
		p.mu.Unlock()
		return 0, 0
	}
	if master {
		switch cmd {
		case TIOCGPTN:
			return 0, putInt(mem, arg, int32(p.Index))
		case TIOCSPTLCK:
			v, e := getInt(mem, arg)
			if e != 0 {
				return 0, e
			}
			p.mu.Lock()
			p.lock = v != 0
			p.mu.Unlock()
			return 0, 0
		case TIOCGPTLCK:
			p.mu.Lock()
			l := p.lock
			p.mu.Unlock()
			v := int32(0)
			if l {
				v = 1
			}
			return 0, putInt(mem, arg, v)
		}
	}
	return 0, unix.ENOTTY
}

// restartSys is the kernel's ERESTARTSYS: the call restarts once the
// signal it raised was handled.
const restartSys = unix.Errno(512)

// sctty is TIOCSCTTY: a session leader without a terminal takes this one
// (EPERM otherwise), stealing it from another session only with arg 1 and
// CAP_SYS_ADMIN.
func (p *Pty) sctty(c Caller, arg uint64) unix.Errno {
	g := c.Task.Group
	leader := g.PID == g.SID()
	cur := p.m.Controlling(g)
	if leader && cur == p {
		return 0
	}
	if !leader || cur != nil {
		return unix.EPERM
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sid != 0 {
		if arg != 1 || !c.Cred.Capable(capSysAdmin) {
			return unix.EPERM
		}
	}
	p.takeLocked(g)
	p.m.mu.Lock()
	delete(p.m.detached, g.PID)
	p.m.mu.Unlock()
	return 0
}

// The ends as vfs.FileImpls: streams, waitable, with the terminal's
// ioctls.

func (f *Master) ReadAt(_ *vfs.Context, b []byte, _ int64) (int, unix.Errno)  { return f.Read(b) }
func (f *Master) WriteAt(_ *vfs.Context, b []byte, _ int64) (int, unix.Errno) { return f.Write(b) }
func (f *Master) Release()                                                    { f.Close() }
func (f *Master) Stream()                                                     {}

// IoctlAs implements Terminal.
func (f *Master) IoctlAs(c Caller, mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	return f.p.ioctl(c, true, mem, cmd, arg)
}

func (f *Slave) ReadAt(_ *vfs.Context, b []byte, _ int64) (int, unix.Errno)  { return f.Read(b) }
func (f *Slave) WriteAt(_ *vfs.Context, b []byte, _ int64) (int, unix.Errno) { return f.Write(b) }
func (f *Slave) Release()                                                    { f.Close() }
func (f *Slave) Stream()                                                     {}

// IoctlAs implements Terminal.
func (f *Slave) IoctlAs(c Caller, mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	return f.p.ioctl(c, false, mem, cmd, arg)
}
