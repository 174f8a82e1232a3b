package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// sendmsg, recvmsg and their multi-message forms: struct msghdr, iovecs
// and control messages.

// Layouts on x86-64 (linux/socket.h).
const (
	msghdrSize  = 56 // struct user_msghdr
	mmsghdrSize = 64 // struct mmsghdr: a msghdr and msg_len, padded
	cmsghdrSize = 16 // struct cmsghdr: len (size_t), level, type
	ucredSize   = 12
)

// msghdr is struct user_msghdr.
type msghdr struct {
	name       uint64
	namelen    int32
	iov        uint64
	iovlen     uint64
	control    uint64
	controllen uint64
	flags      int32
}

func (t *Thread) readMsghdr(addr uint64) (msghdr, unix.Errno) {
	var b [msghdrSize]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return msghdr{}, e
	}
	le := binary.LittleEndian
	return msghdr{
		name: le.Uint64(b[0:]), namelen: int32(le.Uint32(b[8:])),
		iov: le.Uint64(b[16:]), iovlen: le.Uint64(b[24:]),
		control: le.Uint64(b[32:]), controllen: le.Uint64(b[40:]),
		flags: int32(le.Uint32(b[48:])),
	}, 0
}

// msgIovecs reads the message's iovecs: more than UIO_MAXIOV is EMSGSIZE
// for the socket calls (Linux's copy_msghdr_from_user).
func (t *Thread) msgIovecs(m msghdr) ([]iovec, uint64, unix.Errno) {
	if m.iovlen > iovMax {
		return nil, 0, unix.EMSGSIZE
	}
	iov, e := t.iovecs(m.iov, int(m.iovlen))
	if e != 0 {
		return nil, 0, e
	}
	total := uint64(0)
	for _, v := range iov {
		total += v.len
	}
	return iov, total, 0
}

// cmsgAlign rounds up to the alignment of control messages (size_t).
func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// controlIn reads and checks a message's control data for socket s, as
// Linux's __scm_send: malformed headers are EINVAL; on unix sockets
// SCM_RIGHTS (at most SCM_MAX_FD open descriptors, EBADF otherwise) and
// SCM_CREDENTIALS (EPERM for an identity the caller may not claim), and
// other SOL_SOCKET types EINVAL; on other sockets SOL_SOCKET messages are
// EINVAL and protocol-level ones are ignored.
func (t *Thread) controlIn(s posix.Socket, m msghdr) (*posix.ControlMessages, unix.Errno) {
	if m.controllen == 0 {
		return nil, 0
	}
	if m.controllen > 1<<31-1 {
		return nil, unix.ENOBUFS
	}
	if m.controllen < cmsghdrSize {
		return nil, unix.EINVAL
	}
	if m.controllen > optMax*4 {
		return nil, unix.ENOBUFS // Linux: more than sock_kmalloc allows
	}
	b := make([]byte, m.controllen)
	if e := t.mm().CopyIn(m.control, b); e != 0 {
		return nil, e
	}
	ctl := &posix.ControlMessages{}
	fail := func(e unix.Errno) (*posix.ControlMessages, unix.Errno) {
		ctl.CloseRights()
		return nil, e
	}
	le := binary.LittleEndian
	for off := 0; off+cmsghdrSize <= len(b); {
		l := le.Uint64(b[off:])
		level := int32(le.Uint32(b[off+8:]))
		typ := int32(le.Uint32(b[off+12:]))
		if l < cmsghdrSize || l > uint64(len(b)-off) {
			return fail(unix.EINVAL)
		}
		data := b[off+cmsghdrSize : off+int(l)]
		if level == unix.SOL_SOCKET {
			if s.Domain() != unix.AF_UNIX {
				return fail(unix.EINVAL)
			}
			switch typ {
			case unix.SCM_RIGHTS:
				n := len(data) / 4
				if n > scmMaxFD || len(ctl.Rights)+n > scmMaxFD {
					return fail(unix.EINVAL)
				}
				var files []*posix.OpenFile
				for i := 0; i < n; i++ {
					f, e := t.file(int(int32(le.Uint32(data[4*i:]))))
					if e != 0 {
						return fail(e)
					}
					files = append(files, f)
				}
				ctl.Rights = append(ctl.Rights, posix.HoldRights(files)...)
			case unix.SCM_CREDENTIALS:
				if len(data) != ucredSize {
					return fail(unix.EINVAL)
				}
				u := posix.Ucred{PID: int32(le.Uint32(data)), UID: le.Uint32(data[4:]), GID: le.Uint32(data[8:])}
				if e := t.checkCreds(u); e != 0 {
					return fail(e)
				}
				ctl.Cred = &u
			default:
				return fail(unix.EINVAL)
			}
		}
		off += cmsgAlign(int(l))
	}
	return ctl, 0
}

// checkCreds is Linux's scm_check_creds: a process may claim its own pid
// and any of its real, effective or saved ids, or more with the
// capabilities (CAP_SYS_ADMIN for the pid, CAP_SETUID, CAP_SETGID).
func (t *Thread) checkCreds(u posix.Ucred) unix.Errno {
	c := t.cred()
	const capSysAdmin = 21
	if u.PID != int32(t.Task.Group.PID) {
		if !c.Capable(capSysAdmin) {
			return unix.EPERM
		}
		return unix.ESRCH // the guest is the only process: no such pid
	}
	if u.UID != c.RUID && u.UID != c.EUID && u.UID != c.SUID && !c.Capable(posix.CAP_SETUID) {
		return unix.EPERM
	}
	if u.GID != c.RGID && u.GID != c.EGID && u.GID != c.SGID && !c.Capable(posix.CAP_SETGID) {
		return unix.EPERM
	}
	return 0
}

// controlOut writes received control messages into the guest's buffer as
// Linux's put_cmsg and scm_detach_fds: credentials first, then the
// rights, installed as descriptors as far as the buffer holds them (the
// rest are closed and MSG_CTRUNC is set). It returns the bytes used and
// the msg_flags to add.
func (t *Thread) controlOut(ctl posix.ControlMessages, addr, size uint64, flags int) (uint64, int, unix.Errno) {
	var out []byte
	msgFlags := 0
	le := binary.LittleEndian
	put := func(level, typ int, data []byte) {
		l := cmsghdrSize + len(data)
		room := int(size) - len(out)
		if room < cmsghdrSize {
			msgFlags |= unix.MSG_CTRUNC
			return
		}
		h := make([]byte, cmsghdrSize, cmsgAlign(l))
		le.PutUint64(h, uint64(l))
		le.PutUint32(h[8:], uint32(level))
		le.PutUint32(h[12:], uint32(typ))
		h = append(h, data...)
		if l > room {
			msgFlags |= unix.MSG_CTRUNC
			le.PutUint64(h, uint64(room))
			h = h[:room]
		} else {
			h = h[:cmsgAlign(l)]
			if len(out)+len(h) > int(size) {
				h = h[:int(size)-len(out)]
			}
		}
		out = append(out, h...)
	}
	if ctl.Cred != nil {
		put(unix.SOL_SOCKET, unix.SCM_CREDENTIALS, ctl.Cred.Bytes())
	}
	for _, c := range ctl.Other {
		put(c.Level, c.Type, c.Data)
	}
	if len(ctl.Rights) > 0 {
		room := int(size) - len(out)
		fit := 0
		if room > cmsghdrSize {
			fit = min((room-cmsghdrSize)/4, len(ctl.Rights))
		}
		if fit < len(ctl.Rights) {
			msgFlags |= unix.MSG_CTRUNC
		}
		var fds []byte
		cloexec := flags&unix.MSG_CMSG_CLOEXEC != 0
		for i, of := range ctl.Rights {
			if i >= fit {
				posix.ReleaseRight(of)
				continue
			}
			fd, e := t.Task.Group.FDs.InstallRight(of, cloexec, t.fdLimit())
			if e != 0 {
				// Linux stops at the first failure and flags truncation.
				msgFlags |= unix.MSG_CTRUNC
				posix.ReleaseRight(of)
				fit = i
				continue
			}
			fds = le.AppendUint32(fds, uint32(fd))
		}
		if len(fds) > 0 {
			put(unix.SOL_SOCKET, unix.SCM_RIGHTS, fds)
		}
	}
	if len(out) > 0 {
		if e := t.mm().CopyOut(addr, out); e != 0 {
			return 0, 0, e
		}
	}
	return uint64(len(out)), msgFlags, 0
}

// sendMsg is sendmsg's body for one message header at addr.
func (t *Thread) sendMsg(s posix.Socket, f *posix.OpenFile, addr uint64, flags int) (uint64, unix.Errno) {
	m, e := t.readMsghdr(addr)
	if e != 0 {
		return 0, e
	}
	iov, total, e := t.msgIovecs(m)
	if e != 0 {
		return 0, e
	}
	var to []byte
	if m.name != 0 && m.namelen != 0 {
		if m.namelen < 0 {
			return 0, unix.EINVAL
		}
		if to, e = t.sockaddrIn(m.name, min(int(m.namelen), sockaddrStorage)); e != 0 {
			return 0, e
		}
	}
	stream := s.Type() == unix.SOCK_STREAM
	if c, ok := s.(posix.AddrChecker); ok && to != nil {
		if e := c.CheckAddr(to); e != 0 {
			return 0, e
		}
	}
	if !stream && total > ioChunk {
		return 0, unix.EMSGSIZE
	}
	ctl, e := t.controlIn(s, m)
	if e != 0 {
		return 0, e
	}
	// Gather the iovecs chunk by chunk; a message is one chunk.
	buf := make([]byte, 0, min(total, ioChunk))
	done := uint64(0)
	flush := func() (bool, unix.Errno) {
		n, e := t.sendData(s, f, buf, to, ctl, flags)
		ctl = nil
		done += uint64(n)
		all := n == len(buf)
		buf = buf[:0]
		return all, e
	}
	result := func(e unix.Errno) (uint64, unix.Errno) {
		if done > 0 {
			return done, 0
		}
		return 0, e
	}
	for _, v := range iov {
		for off := uint64(0); off < v.len; {
			c := min(v.len-off, uint64(cap(buf)-len(buf)))
			start := len(buf)
			buf = buf[:start+int(c)]
			if e := t.mm().CopyIn(v.base+off, buf[start:]); e != 0 {
				ctl.CloseRights()
				return result(e)
			}
			off += c
			if len(buf) == cap(buf) && stream && done+uint64(len(buf)) < total {
				if all, e := flush(); !all {
					return result(e)
				}
			}
		}
	}
	_, e = flush()
	return result(e)
}

// recvMsg is recvmsg's body for one message header at addr; it writes
// msg_namelen, msg_controllen and msg_flags back.
func (t *Thread) recvMsg(s posix.Socket, f *posix.OpenFile, addr uint64, flags int) (uint64, unix.Errno) {
	m, e := t.readMsghdr(addr)
	if e != 0 {
		return 0, e
	}
	if m.namelen < 0 {
		return 0, unix.EINVAL
	}
	iov, total, e := t.msgIovecs(m)
	if e != 0 {
		return 0, e
	}
	buf := make([]byte, min(total, ioChunk))
	r, e := t.recvData(s, f, buf, flags)
	if e != 0 {
		return 0, e
	}
	done := 0
	for _, v := range iov {
		if done == r.N {
			break
		}
		c := min(uint64(r.N-done), v.len)
		if e := t.mm().CopyOut(v.base, buf[done:done+int(c)]); e != 0 {
			r.Control.CloseRights()
			return 0, e
		}
		done += int(c)
	}
	le := binary.LittleEndian
	var hdr [msghdrSize]byte
	if e := t.mm().CopyIn(addr, hdr[:]); e != 0 {
		r.Control.CloseRights()
		return 0, e
	}
	namelen := 0
	if m.name != 0 && r.From != nil {
		namelen = len(r.From)
		if c := min(int(m.namelen), len(r.From)); c > 0 {
			if e := t.mm().CopyOut(m.name, r.From[:c]); e != 0 {
				r.Control.CloseRights()
				return 0, e
			}
		}
	}
	le.PutUint32(hdr[8:], uint32(namelen))
	// msg_flags starts as the call's MSG_CMSG_CLOEXEC, as Linux's
	// ____sys_recvmsg sets it.
	msgFlags := r.Flags | flags&unix.MSG_CMSG_CLOEXEC
	used := uint64(0)
	if m.control != 0 || len(r.Control.Rights) > 0 || r.Control.Cred != nil || len(r.Control.Other) > 0 {
		size := m.controllen
		if m.control == 0 {
			size = 0
		}
		u, fl, e := t.controlOut(r.Control, m.control, size, flags)
		if e != 0 {
			return 0, e
		}
		used, msgFlags = u, msgFlags|fl
	}
	le.PutUint64(hdr[40:], used)
	le.PutUint32(hdr[48:], uint32(msgFlags))
	if e := t.mm().CopyOut(addr, hdr[:]); e != 0 {
		return 0, e
	}
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM {
		return uint64(r.Total), 0
	}
	return uint64(r.N), 0
}

func sysSendmsg(t *Thread, a Args) (uint64, unix.Errno) {
	s, f, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return t.sendMsg(s, f, a[1], a.Int(2))
}

func sysRecvmsg(t *Thread, a Args) (uint64, unix.Errno) {
	s, f, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return t.recvMsg(s, f, a[1], a.Int(2))
}

// putMsgLen writes an mmsghdr's msg_len.
func (t *Thread) putMsgLen(addr uint64, n uint64) unix.Errno {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(n))
	return t.mm().CopyOut(addr+msghdrSize, b[:])
}

func sysSendmmsg(t *Thread, a Args) (uint64, unix.Errno) {
	s, f, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	vlen := min(uint32(a[2]), iovMax) // UIO_MAXIOV, as Linux clamps
	flags := a.Int(3)
	sent := uint64(0)
	for i := uint64(0); i < uint64(vlen); i++ {
		addr := a[1] + i*mmsghdrSize
		n, e := t.sendMsg(s, f, addr, flags)
		if e == 0 {
			e = t.putMsgLen(addr, n)
		}
		if e != 0 {
			if sent > 0 {
				return sent, 0
			}
			return 0, e
		}
		sent++
	}
	return sent, 0
}

func sysRecvmmsg(t *Thread, a Args) (uint64, unix.Errno) {
	s, f, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	var end time.Time
	if a[4] != 0 {
		d, e := t.timespec(a[4])
		if e != 0 {
			return 0, e
		}
		end = time.Now().Add(d)
	}
	vlen := min(uint32(a[2]), iovMax)
	flags := a.Int(3)
	got := uint64(0)
	for i := uint64(0); i < uint64(vlen); i++ {
		addr := a[1] + i*mmsghdrSize
		n, e := t.recvMsg(s, f, addr, flags&^unix.MSG_WAITFORONE)
		if e == 0 {
			e = t.putMsgLen(addr, n)
		}
		if e != 0 {
			if got > 0 {
				return got, 0
			}
			return 0, e
		}
		got++
		if flags&unix.MSG_WAITFORONE != 0 {
			flags |= unix.MSG_DONTWAIT
		}
		if !end.IsZero() && time.Now().After(end) {
			break
		}
	}
	return got, 0
}
