package posix

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func sun(name string) []byte {
	b := make([]byte, 2+len(name))
	binary.LittleEndian.PutUint16(b, unix.AF_UNIX)
	copy(b[2:], name)
	return b
}

func TestUnixPairs(t *testing.T) {
	ns := NewUnixNamespace()
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		a, b, e := ns.UnixPair(typ, 0, Ucred{PID: 1})
		require.Zero(t, e)
		_, e = a.Write([]byte("one"))
		require.Zero(t, e)
		_, e = a.Write([]byte("two"))
		require.Zero(t, e)
		buf := make([]byte, 16)
		n, e := b.Read(buf)
		require.Zero(t, e)
		if typ == unix.SOCK_STREAM {
			require.Equal(t, "onetwo", string(buf[:n]), "a stream merges writes")
		} else {
			require.Equal(t, "one", string(buf[:n]), "messages keep their boundaries")
		}
		a.Close()
		b.Close()
	}
}

func TestUnixRightsKeepFilesOpen(t *testing.T) {
	ns := NewUnixNamespace()
	a, b, _ := ns.UnixPair(unix.SOCK_STREAM, 0, Ucred{})
	fds := NewFDTable()
	r, w := NewPipe(0)
	rfd, _ := fds.Install(r, 0, false, 64)
	fds.Install(w, 0, false, 64)
	of, _ := fds.Get(rfd)
	ctl := &ControlMessages{Rights: HoldRights([]*OpenFile{of})}
	_, e := a.SendMsg([]byte("x"), nil, ctl, 0)
	require.Zero(t, e)
	require.Zero(t, fds.Close(rfd), "the sender closes its descriptor")
	res, e := b.RecvMsg(make([]byte, 4), 0)
	require.Zero(t, e)
	require.Len(t, res.Control.Rights, 1)
	fd, e := fds.InstallRight(res.Control.Rights[0], false, 64)
	require.Zero(t, e)
	w.Write([]byte("ok"))
	got, _ := fds.Get(fd)
	buf := make([]byte, 4)
	n, e := got.Read(buf)
	require.Zero(t, e)
	require.Equal(t, "ok", string(buf[:n]), "the passed pipe end still reads")
}

func TestUnixNames(t *testing.T) {
	ns := NewUnixNamespace()
	for _, tc := range []struct {
		name    string
		bind    []byte
		connect []byte
		bindE   unix.Errno
		connE   unix.Errno
	}{
		{"abstract", sun("\x00srv"), sun("\x00srv"), 0, 0},
		{"path", sun("/tmp/s\x00junk"), sun("/tmp/s"), 0, 0},
		{"missing abstract", sun("\x00a"), sun("\x00b"), 0, unix.ECONNREFUSED},
		{"missing path", sun("/x"), sun("/y"), 0, unix.ENOENT},
		{"too long", make([]byte, 111), nil, unix.EINVAL, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := ns.NewUnixSocket(unix.SOCK_STREAM, 0, Ucred{PID: 1})
			defer l.Close()
			require.Equal(t, tc.bindE, l.Bind(tc.bind))
			if tc.bindE != 0 {
				return
			}
			require.Zero(t, l.Listen(1))
			c, _ := ns.NewUnixSocket(unix.SOCK_STREAM, 0, Ucred{PID: 1, UID: 5})
			defer c.Close()
			require.Equal(t, tc.connE, c.Connect(tc.connect))
			if tc.connE != 0 {
				return
			}
			s, _, e := l.Accept(0)
			require.Zero(t, e)
			b, _ := s.GetSockOpt(unix.SOL_SOCKET, unix.SO_PEERCRED, 12)
			require.EqualValues(t, 5, binary.LittleEndian.Uint32(b[4:]), "SO_PEERCRED is the connecter's")
			s.Close()
		})
	}
}

// TestPassCredDatagram: SCM_CREDENTIALS of a datagram or seqpacket
// message carry its sender's identity, taken or peeked (issue 22: they
// read the emptied queue slot, pid 0).
func TestPassCredDatagram(t *testing.T) {
	ns := NewUnixNamespace()
	want := Ucred{PID: 7, UID: 1000, GID: 1001}
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		a, b, e := ns.UnixPair(typ, 0, want)
		require.Zero(t, e)
		require.Zero(t, b.SetSockOpt(unix.SOL_SOCKET, unix.SO_PASSCRED, []byte{1, 0, 0, 0}))
		_, e = a.SendMsg([]byte("x"), nil, nil, 0)
		require.Zero(t, e)
		buf := make([]byte, 4)
		for _, flags := range []int{unix.MSG_PEEK, 0} {
			r, e := b.RecvMsg(buf, flags)
			require.Zero(t, e)
			require.NotNil(t, r.Control.Cred, "type %d flags %#x", typ, flags)
			require.Equal(t, want, *r.Control.Cred, "type %d flags %#x", typ, flags)
		}
	}
}
